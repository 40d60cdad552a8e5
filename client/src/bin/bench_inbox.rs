//! `make bench-inbox`: the app's inbox with 30,000 cases on the phone.
//!
//! The cases are written as a pull writes them (`LocalStore::apply_changes`, pages of 1,000),
//! with households, stages and declaration dates spread so that clocks are overdue, due soon
//! and on time. Then it times what the inbox screen does: building the index (every case's
//! clocks, once per change of the store), the first page, a page deep in the list (scrolling),
//! the overdue filter and searches by name, by the last four ID digits and by door plate.
//!
//! Two anchors, measured in the same run: reading and parsing the 30,000 case bodies with plain
//! rusqlite and serde_json — the least any index over them can cost — and the same cases in a
//! plain (unencrypted) store, which the app never uses: the encrypted store is the app's, opened
//! through [`Device`] with the PIN and the default Argon2id cost (`unlock` times that), and
//! `encrypted_over_plain` is what encryption costs. Prints one JSON line per measurement
//! (median of repeated runs for the fast ones). Not a test.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::json;
use serde_json::value::RawValue;
use yijian_client::inbox::{InboxIndex, InboxQuery};
use yijian_client::store::{FeedPosition, LocalStore};
use yijian_client::{Device, DeviceConfig};
use yijian_core::case::{Applicant, Case, CaseSource, Declaration, RiskType};
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{CaseId, HouseholdId, MemberId};
use yijian_core::protocol::{Change, Cursor};
use yijian_core::workflow::Stage;

const CASES: usize = 30_000;
const VILLAGE: &str = "621102105201";
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "马", "何",
];
const GIVEN: [&str; 10] = [
    "建国", "秀英", "志强", "桂兰", "海军", "玉梅", "永福", "春花", "德明", "红霞",
];
const STAGES: [Stage; 8] = [
    Stage::Declared,
    Stage::Accepted,
    Stage::Verifying,
    Stage::VerifiedQualifies,
    Stage::PubliclyNoticed,
    Stage::TownshipReviewed,
    Stage::Approved,
    Stage::Assisting,
];

fn change(kind: &str, id: String, body: String, n: u64) -> Change {
    Change {
        kind: kind.into(),
        id,
        village: VILLAGE.into(),
        hlc: Hlc {
            wall_ms: 1_760_000_000_000 + n,
            counter: 0,
            node: 1,
        },
        version: 1,
        data: RawValue::from_string(body).ok(),
    }
}

fn median_of<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    ((a.as_secs_f64() / b.as_secs_f64()) * 100.0).round() / 100.0
}

const PIN: &str = "240517";

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Write the 30,000 cases and their households as a pull does.
fn load(
    store: &mut LocalStore,
    now: chrono::DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error>> {
    let village = DivisionCode::parse(VILLAGE)?;

    let mut batch = Vec::with_capacity(2000);
    let mut n = 0u64;
    for i in 0..CASES {
        let name = format!(
            "{}{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()],
            i % 97
        );
        let mut h = Household::new(
            HouseholdId::new(),
            village.clone(),
            format!("{}社{}号", i % 9 + 1, i),
        )?;
        h.door_plate = Some(format!("{VILLAGE}-{i:05}"));
        h.add_member(Member::new(MemberId::new(), name.clone(), Relation::Head))?;
        let mut case = Case::declared(Declaration {
            case_id: CaseId::new(),
            household_id: Some(h.id),
            village: village.clone(),
            source: CaseSource::SelfDeclaredQr,
            risk_types: vec![RiskType::Illness],
            description: "看病花钱多".into(),
            applicant: Applicant {
                name,
                id_number: format!("62110219800101{:04}", i % 10_000),
                phone: Some(format!("139{i:08}")),
                address: h.address.clone(),
                household_size: Some(3),
            },
            proxy: None,
            declared_at: now - chrono::Duration::days(i64::try_from(i % 40)?),
        });
        case.state.stage = STAGES[i % STAGES.len()];
        case.receipt_no = Some(format!("621102-105-201-{i:05}"));
        n += 1;
        batch.push(change(
            "household",
            h.id.to_string(),
            serde_json::to_string(&h)?,
            n,
        ));
        n += 1;
        batch.push(change(
            "case",
            case.id().to_string(),
            serde_json::to_string(&case)?,
            n,
        ));
        if batch.len() >= 2000 {
            store.apply_changes(
                &batch,
                &FeedPosition::Pull {
                    next_cursor: Cursor(format!("s{n}")),
                },
            )?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.apply_changes(
            &batch,
            &FeedPosition::Pull {
                next_cursor: Cursor(format!("s{n}")),
            },
        )?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("yijian-bench-inbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("yijian.db");
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 2, 0, 0)
        .single()
        .ok_or("time")?;
    let today = yijian_core::time::china_date(now);
    let mut store = LocalStore::open_unencrypted(&path)?.with_clock(move || now);
    let started = Instant::now();
    load(&mut store, now)?;
    let plain_load = started.elapsed();
    println!(
        "{}",
        json!({"step": "load_plain_anchor", "cases": CASES, "households": CASES, "ms": ms(plain_load)})
    );

    // The anchor: read and parse every case body, nothing else.
    let anchor = median_of(3, || {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let mut stmt = conn
            .prepare("SELECT body FROM records WHERE kind = 'case'")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .expect("query");
        let mut parsed = 0usize;
        for body in rows.flatten() {
            if serde_json::from_str::<Case>(&body).is_ok() {
                parsed += 1;
            }
        }
        assert_eq!(parsed, CASES);
    });
    println!(
        "{}",
        json!({"step": "anchor_read_and_parse_all_cases", "ms": ms(anchor)})
    );

    let plain_build = median_of(3, || {
        InboxIndex::build(&store, today).expect("index");
    });
    println!(
        "{}",
        json!({"step": "index_build_plain_anchor", "ms": ms(plain_build)})
    );

    // The app's store: encrypted, made and opened through the device with a PIN.
    let secure_dir = dir.join("encrypted");
    let mut device = Device::at(&secure_dir, DeviceConfig::default())?;
    let engine = device.create_offline(PIN)?;
    let started = Instant::now();
    engine
        .with_store(|s| load(s, now).map_err(|e| yijian_client::Error::Corrupt(e.to_string())))?;
    let load_encrypted = started.elapsed();
    drop(engine);
    drop(device);
    println!(
        "{}",
        json!({"step": "load", "cases": CASES, "ms": ms(load_encrypted),
               "encrypted_over_plain": ratio(load_encrypted, plain_load)})
    );
    let mut unlock = None;
    let unlock_time = median_of(3, || {
        let mut device = Device::at(&secure_dir, DeviceConfig::default()).expect("device");
        let engine = device.unlock(PIN).expect("unlock");
        unlock = Some((device, engine));
    });
    let (_device, engine) = unlock.ok_or("no unlock")?;
    let kdf = yijian_client::vault::KdfParams::PHONE;
    println!(
        "{}",
        json!({"step": "unlock", "ms": ms(unlock_time), "argon2id_m_kib": kdf.m_kib,
               "argon2id_t": kdf.t, "argon2id_p": kdf.p})
    );
    let mut index = None;
    let build = median_of(3, || {
        index = Some(
            engine
                .with_store(|s| InboxIndex::build(s, today))
                .expect("index"),
        );
    });
    let index = index.ok_or("no index")?;
    println!(
        "{}",
        json!({"step": "index_build", "cases": index.len(), "ms": ms(build),
               "ratio_to_anchor": ratio(build, anchor),
               "encrypted_over_plain": ratio(build, plain_build)})
    );
    let queries: [(&str, InboxQuery); 6] = [
        ("first_page", InboxQuery::default()),
        (
            "scrolled_to_15000",
            InboxQuery {
                offset: 15_000,
                ..InboxQuery::default()
            },
        ),
        (
            "filter_overdue",
            InboxQuery {
                filter: "overdue".into(),
                ..InboxQuery::default()
            },
        ),
        (
            "search_name",
            InboxQuery {
                search: "王建国".into(),
                ..InboxQuery::default()
            },
        ),
        (
            "search_last4_id",
            InboxQuery {
                search: "0042".into(),
                ..InboxQuery::default()
            },
        ),
        (
            "search_door_plate",
            InboxQuery {
                search: "621102105201-29999".into(),
                ..InboxQuery::default()
            },
        ),
    ];
    for (name, q) in queries {
        let mut total = 0;
        let t = median_of(21, || {
            total = index.page(&q).matching;
        });
        println!("{}", json!({"step": name, "matches": total, "ms": ms(t)}));
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
