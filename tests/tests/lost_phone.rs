//! A lost phone reveals nothing: the device's store, its WAL, its photos and its drafts are
//! encrypted; the store opens only with the PIN or, online, the password; too many wrong PINs
//! leave only the password; a revoked phone erases itself and the server records it. Real
//! server on a real port, both databases, the engine the app and the CLI use.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, ensure};
use chrono::{DateTime, Utc};
use yijian_client::vault::{KEY_FILE, KeyFile};
use yijian_client::{DeviceConfig, DeviceStage, EngineConfig, Error, ErrorKind};
use yijian_core::case::{Applicant, CaseSource, Declaration, RiskType};
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{CaseId, HouseholdId, MemberId, PhotoId};
use yijian_core::role::Role;
use yijian_core::support::{ConfirmationKind, PhotoOwner, ProxyFiling};
use yijian_core::validation::ResidentIdNumber;
use yijian_server::ServerSettings;
use yijian_tests::device::{Backend, Device, PASSWORD, PIN, jpeg_like, server_on};

const VILLAGE: &str = "621102105201";
const NAME: &str = "马兰花";
const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13912345678";
const HEAD: &str = "施永强";
const HEAD_ID: &str = "620102198001011234";

fn village() -> DivisionCode {
    DivisionCode::parse(VILLAGE).expect("village code")
}

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push((path.display().to_string(), std::fs::read(&path)?));
        }
    }
    Ok(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A head of household with an ID number whose check digit is valid.
fn head_id() -> ResidentIdNumber {
    let mut base = HEAD_ID[..17].to_owned();
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = base
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    base.push(b"10X98765432"[(sum % 11) as usize] as char);
    ResidentIdNumber::parse(&base, Utc::now().date_naive()).expect("valid id")
}

async fn a_lost_phone_holds_no_readable_household_data(backend: Backend) -> Result<()> {
    let (_home, server) = server_on(backend, ServerSettings::default()).await?;
    server
        .create_user("13800000001", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    let d = Device::login(&server.url(), "13800000001", EngineConfig::default()).await?;
    // A household with its head, a proxy declaration with its thumbprint photo, a draft.
    let mut h = Household::new(HouseholdId::new(), village(), "南川村4社")?;
    let mut head = Member::new(MemberId::new(), HEAD, Relation::Head);
    head.id_number = Some(head_id());
    h.add_member(head)?;
    d.store(|s| s.create_household(&h))?;
    let case_id = CaseId::new();
    let photo_id = PhotoId::new();
    let declaration = Declaration {
        case_id,
        household_id: None,
        village: village(),
        source: CaseSource::ProxyFiled,
        risk_types: vec![RiskType::Illness],
        description: "老伴住院，自付医疗费很高".into(),
        applicant: Applicant {
            name: NAME.into(),
            id_number: ID_NUMBER.into(),
            phone: Some(PHONE.into()),
            address: "南川村3社".into(),
            household_size: Some(2),
        },
        proxy: Some(ProxyFiling {
            filled_by: d.user_id()?,
            filler_name: "王网格".into(),
            relation_to_applicant: "网格员".into(),
            read_back_done: true,
            confirmation: ConfirmationKind::Thumbprint,
            confirmation_photo: Some(photo_id),
        }),
        declared_at: Utc::now(),
    };
    d.store(|s| s.declare(&declaration))?;
    let photo = jpeg_like(60_000, 9);
    let outside = tempfile::tempdir()?;
    let file = outside.path().join("thumbprint.jpg");
    std::fs::write(&file, &photo)?;
    d.store(|s| {
        s.record_photo_as(
            photo_id,
            &file,
            PhotoOwner::ProxyConfirmation { case_id },
            1200,
            1600,
            Some(Utc::now()),
        )
    })?;
    // A second photo stays waiting (not synced): queued photos are sealed too.
    let later = outside.path().join("house.jpg");
    let waiting = jpeg_like(50_000, 11);
    std::fs::write(&later, &waiting)?;
    d.engine.sync_once().await?;
    d.store(|s| {
        s.record_photo(
            &later,
            PhotoOwner::Household { household_id: h.id },
            1600,
            1200,
            None,
        )
    })?;
    d.store(|s| {
        s.put_draft(
            "proxy",
            &serde_json::json!({"applicant_name": NAME, "id_number": ID_NUMBER, "phone": PHONE}),
        )
    })?;
    ensure!(d.store(|s| s.status())?.photos_pending >= 1);
    // What was written is there for the worker.
    let records = d.store(|s| s.records(None))?;
    ensure!(serde_json::to_string(&records)?.contains(HEAD));

    let dir = d.dir.path().to_path_buf();
    let files = files_under(&dir)?;
    ensure!(
        files.len() >= 4,
        "db, keys and photos: {files:?}",
        files = files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let head_number = head_id();
    let secrets: [(&str, &[u8]); 6] = [
        ("applicant name", NAME.as_bytes()),
        ("applicant id number", ID_NUMBER.as_bytes()),
        ("phone", PHONE.as_bytes()),
        ("head's name", HEAD.as_bytes()),
        ("head's id number", head_number.as_str().as_bytes()),
        ("photo content", &photo[1000..1064]),
    ];
    for (path, bytes) in &files {
        for (what, secret) in &secrets {
            ensure!(!contains(bytes, secret), "{path} contains the {what}");
        }
        ensure!(
            !contains(bytes, &waiting[1000..1064]),
            "{path} holds the waiting photo"
        );
        ensure!(
            !bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            "{path} is a plain JPEG"
        );
        ensure!(
            !bytes.starts_with(b"SQLite format 3"),
            "{path} is a plain SQLite file"
        );
    }
    ensure!(
        files.iter().any(|(p, _)| p.ends_with("yijian.db-wal")),
        "the WAL is among the files checked"
    );

    // Without the key the database does not open; with a wrong PIN neither.
    let conn = rusqlite::Connection::open(dir.join("yijian.db"))?;
    ensure!(
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
            .is_err()
    );
    drop(conn);
    drop(d.engine);
    drop(d.phone);
    let mut again = yijian_client::Device::at(&dir, DeviceConfig::default())?;
    assert_eq!(again.stage(), DeviceStage::NeedsPin);
    let wrong = again.unlock("135790").expect_err("wrong pin");
    assert_eq!(wrong.field_name(), Some("pin"), "{wrong}");
    let engine = again.unlock(PIN)?;
    let records = engine.with_store(|s| s.records(None))?;
    ensure!(serde_json::to_string(&records)?.contains(HEAD));
    server.stop().await
}

async fn a_forgotten_pin_comes_back_with_the_password_and_the_unsent_work_syncs(
    backend: Backend,
) -> Result<()> {
    let (_home, server) = server_on(backend, ServerSettings::default()).await?;
    server
        .create_user("13800000001", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    let d = Device::login(&server.url(), "13800000001", EngineConfig::default()).await?;
    d.engine.sync_once().await?;
    let device_id = d.store(|s| s.session())?.context("session")?.device_id;
    let h = Household::new(HouseholdId::new(), village(), "南川村5社")?;
    d.store(|s| s.create_household(&h))?;
    let dir = d.dir;
    drop(d.engine);
    drop(d.phone);

    // The worker forgot the PIN: signs in again with the password, online.
    let mut phone = yijian_client::Device::at(dir.path(), DeviceConfig::default())?;
    assert_eq!(phone.stage(), DeviceStage::NeedsPin);
    phone
        .login(&server.url(), "13800000001", PASSWORD, "测试手机")
        .await?;
    assert_eq!(
        phone.stage(),
        DeviceStage::NeedsNewPin,
        "a new PIN is chosen"
    );
    let engine = phone.engine().context("open")?;
    assert_eq!(
        engine.with_store(|s| s.outbox_len())?,
        1,
        "the unsent work is intact"
    );
    let again = engine
        .with_store(|s| s.session())?
        .context("session")?
        .device_id;
    assert_eq!(again, device_id, "still the same device on the server");
    phone.set_pin("975310")?;
    let report = engine.sync_once().await?;
    assert_eq!(report.pushed.acknowledged, 1);
    drop(engine);
    drop(phone);
    let mut phone = yijian_client::Device::at(dir.path(), DeviceConfig::default())?;
    assert!(phone.unlock(PIN).is_err(), "the old PIN no longer opens it");
    phone.unlock("975310")?;
    server.stop().await
}

async fn ten_wrong_pins_leave_only_the_password(backend: Backend) -> Result<()> {
    let (_home, server) = server_on(backend, ServerSettings::default()).await?;
    server
        .create_user("13800000001", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    let d = Device::login(&server.url(), "13800000001", EngineConfig::default()).await?;
    let h = Household::new(HouseholdId::new(), village(), "南川村6社")?;
    d.store(|s| s.create_household(&h))?;
    let dir = d.dir;
    drop(d.engine);
    drop(d.phone);

    let now: Arc<Mutex<DateTime<Utc>>> = Arc::new(Mutex::new(Utc::now()));
    let clock = {
        let now = Arc::clone(&now);
        move || *now.lock().expect("clock")
    };
    let mut phone =
        yijian_client::Device::at(dir.path(), DeviceConfig::default())?.with_clock(clock);
    let mut last = None;
    for n in 1..=10 {
        let e = phone.unlock("000001").expect_err("wrong");
        if n < 10 {
            assert!(
                matches!(e, Error::Field { .. } | Error::Locked { .. }),
                "{n}: {e:?}"
            );
            // During a wait even the right PIN is not checked.
            if matches!(e, Error::Locked { .. }) {
                assert!(matches!(phone.unlock(PIN), Err(Error::Locked { .. })));
            }
        }
        *now.lock().expect("clock") += chrono::Duration::hours(1);
        last = Some(e);
    }
    assert!(matches!(last, Some(Error::LockedOut)), "{last:?}");
    assert_eq!(last.map(|e| e.kind()), Some(ErrorKind::Locked));
    // The right PIN is refused now, and the PIN wrap is gone from the key file.
    assert!(matches!(phone.unlock(PIN), Err(Error::LockedOut)));
    assert_eq!(phone.stage(), DeviceStage::NeedsPassword);
    let keys = KeyFile::load(dir.path())?.context("key file")?;
    ensure!(keys.pin.is_none() && keys.locked_out);
    ensure!(dir.path().join(KEY_FILE).exists());
    // The password brings the store back, unsent work included.
    phone
        .login(&server.url(), "13800000001", PASSWORD, "测试手机")
        .await?;
    let engine = phone.engine().context("open")?;
    assert_eq!(engine.with_store(|s| s.outbox_len())?, 1);
    phone.set_pin("975310")?;
    assert_eq!(phone.stage(), DeviceStage::Open);
    server.stop().await
}

async fn a_revoked_phone_erases_itself_and_the_console_sees_the_wipe(
    backend: Backend,
) -> Result<()> {
    let (_home, server) = server_on(backend, ServerSettings::default()).await?;
    let user = server
        .create_user("13800000001", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    let mut d = Device::login(&server.url(), "13800000001", EngineConfig::default()).await?;
    d.engine.sync_once().await?;
    let photo = tempfile::tempdir()?;
    let h = Household::new(HouseholdId::new(), village(), "南川村7社")?;
    d.store(|s| s.create_household(&h))?;
    let file = photo.path().join("house.jpg");
    std::fs::write(&file, jpeg_like(30_000, 5))?;
    d.store(|s| {
        s.record_photo(
            &file,
            PhotoOwner::Household { household_id: h.id },
            1600,
            1200,
            None,
        )
    })?;
    let device_id = d.store(|s| s.session())?.context("session")?.device_id;
    assert!(server.storage.revoke_device(device_id).await?);

    let err = d.engine.sync_once().await.expect_err("revoked");
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err:?}");
    d.phone.on_error(&err).await?;
    let left: Vec<String> = files_under(d.dir.path())?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(left.len(), 1, "only the note of why: {left:?}");
    ensure!(left[0].ends_with("wiped.json"));
    let note = d.phone.wipe_note().context("wipe note")?;
    ensure!(note.reason_zh.contains("停用"));
    assert_eq!(d.phone.stage(), DeviceStage::Empty);
    let devices = server.storage.list_devices(user.id).await?;
    let row = devices
        .iter()
        .find(|x| x.id == device_id)
        .context("device row")?;
    ensure!(row.revoked && row.wiped_at.is_some(), "{row:?}");
    server.stop().await
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_backends!(
    a_lost_phone_holds_no_readable_household_data,
    a_forgotten_pin_comes_back_with_the_password_and_the_unsent_work_syncs,
    ten_wrong_pins_leave_only_the_password,
    a_revoked_phone_erases_itself_and_the_console_sees_the_wipe,
);
