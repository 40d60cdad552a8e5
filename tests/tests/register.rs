//! The household register imported with `yijian-server import-register` into the database of a
//! running server, on SQLite and on PostgreSQL: a generated township's register in GBK (as
//! Excel writes CSV here) becomes households a village worker's phone pulls, with members'
//! ID numbers indexed for the department warnings; the same file again changes nothing and
//! sends nothing to phones; a newer export updates in place; a file with too many bad rows
//! writes nothing, one within the allowed share writes the good households and reports the bad
//! rows by line and column; an Excel workbook is read like the CSV.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, Result, bail};
use yijian_core::household::Household;
use yijian_core::protocol::kinds;
use yijian_core::role::Role;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::register::household_id_for;
use yijian_server::store::read;
use yijian_tests::api::ApiDevice;
use yijian_tests::pg::PgCluster;
use yijian_tests::process::server_binary;
use yijian_tests::register_file::{self, HEADER};
use yijian_tests::server::TestServer;

const TOWNSHIP: &str = "621102105"; // 鲁家沟镇
const PASSWORD: &str = "register-pass-2026";
const HOUSEHOLDS: usize = 1_200;

struct Run {
    ok: bool,
    summary: serde_json::Value,
    stderr: String,
}

fn import(db: &[String], args: &[&str]) -> Result<Run> {
    let out = Command::new(server_binary()?)
        .args(db)
        .arg("import-register")
        .args(args)
        .env("YIJIAN_LOG", "warn")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != 1 {
        bail!("stdout should be one JSON line: {stdout:?}; stderr: {stderr}");
    }
    Ok(Run {
        ok: out.status.success(),
        summary: serde_json::from_str(lines[0])?,
        stderr,
    })
}

/// Every household record a device of `login` pulls from `cursor`, by id, and the cursor
/// after them.
async fn pulled_households(
    base: &str,
    login: &str,
    from: Option<String>,
) -> Result<(BTreeMap<String, Household>, Option<String>)> {
    let device = ApiDevice::login(base, login, PASSWORD).await?;
    let mut cursor = from;
    let mut out = BTreeMap::new();
    loop {
        let page = device.pull(cursor.as_deref(), 500).await?;
        for c in &page.changes {
            if c.kind == kinds::HOUSEHOLD
                && let Some(data) = &c.data
            {
                out.insert(c.id.clone(), serde_json::from_str(data.get())?);
            }
        }
        cursor = Some(page.next_cursor.0.clone());
        if !page.has_more {
            break;
        }
    }
    Ok((out, cursor))
}

fn count(run: &Run, field: &str) -> u64 {
    run.summary[field].as_u64().unwrap_or(u64::MAX)
}

async fn register(database: DatabaseLocation, db: Vec<String>) -> Result<()> {
    let server = TestServer::start_with(database, ServerSettings::default()).await?;
    let base = format!("http://{}", server.addr);
    let today = yijian_core::time::china_date(chrono::Utc::now());
    let scope = yijian_core::division::DivisionCode::parse(TOWNSHIP)?;
    let per_village = register_file::households_per_village(&scope, HOUSEHOLDS);
    let (village, in_village) = per_village[0].clone();
    server
        .create_user(
            "13700001111",
            Role::VillageWorker,
            village.as_str(),
            PASSWORD,
        )
        .await?;

    // The township's register as the national system exports it, saved by Excel in GBK.
    let mut text = Vec::new();
    let (households, rows) = register_file::write_register(&scope, HOUSEHOLDS, today, &mut text)?;
    assert_eq!(households, HOUSEHOLDS);
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(std::str::from_utf8(&text)?);
    assert!(!unmappable);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("鲁家沟镇监测户.csv");
    std::fs::write(&file, &gbk)?;
    let path = file.to_str().context("path")?;

    let first = import(&db, &["--scope", TOWNSHIP, "--batch-size", "250", path])?;
    assert!(first.ok, "{}", first.stderr);
    assert_eq!(count(&first, "rows"), rows as u64);
    assert_eq!(count(&first, "created"), HOUSEHOLDS as u64);
    assert_eq!(count(&first, "bad_rows"), 0, "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains(&format!("已写入{HOUSEHOLDS}/{HOUSEHOLDS}户")),
        "{}",
        first.stderr
    );

    // The village worker's phone gets exactly its village's households, members and all.
    let (pulled, cursor) = pulled_households(&base, "13700001111", None).await?;
    assert_eq!(pulled.len(), in_village);
    let mut generator = register_file::Generator::new();
    let expected = generator.household(&village, 0, 0, today);
    let h = pulled
        .get(&household_id_for(&expected.household_no).to_string())
        .context("the village's first household")?;
    assert_eq!(h.members.len(), expected.people.len());
    assert_eq!(h.door_plate.as_deref(), Some(expected.door_plate.as_str()));
    let head = h.head_member().context("head")?;
    assert_eq!(head.name, expected.people[0].name);
    // Members' ID numbers are indexed for the department warnings' matching.
    let number = expected.people[0].id_number.clone();
    let found = read(&*server.storage, move |tx| {
        tx.households_with_member(&number)
    })
    .await?;
    assert_eq!(found, vec![(h.id.to_string(), village.to_string())]);

    // Each batch is in the audit trail with the file's hash and who ran it.
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&gbk))
    };
    let record_id = format!("register:{sha}:0");
    let audit = read(&*server.storage, move |tx| {
        tx.audit_of(kinds::HOUSEHOLD, &record_id)
    })
    .await?;
    assert_eq!(audit.len(), 1, "{audit:?}");
    let detail: serde_json::Value = serde_json::from_str(&audit[0].detail)?;
    assert_eq!(detail["file_sha256"], sha.as_str());
    assert_eq!(detail["created"], 250);
    assert_eq!(detail["by"], "command line");

    // The same file again: nothing written, nothing new for phones.
    let records = server.storage.count_records(&scope).await?;
    let again = import(&db, &["--scope", TOWNSHIP, path])?;
    assert!(again.ok, "{}", again.stderr);
    assert_eq!(
        (
            count(&again, "created"),
            count(&again, "updated"),
            count(&again, "unchanged")
        ),
        (0, 0, HOUSEHOLDS as u64)
    );
    assert_eq!(server.storage.count_records(&scope).await?, records);
    let (changed, _) = pulled_households(&base, "13700001111", cursor).await?;
    assert!(
        changed.is_empty(),
        "{} households sent again",
        changed.len()
    );

    // A newer export: the first household's spouse renamed and a grandchild born; the worker
    // had meanwhile recorded the spouse's illness on the phone, which stays.
    let spouse = &expected.people[1];
    let mut stored = h.clone();
    stored.members[1].health = yijian_core::household::Health::SeriousIllness;
    server
        .storage
        .import_records(vec![yijian_server::store::ImportRecord {
            kind: kinds::HOUSEHOLD.into(),
            id: stored.id.to_string(),
            village: village.to_string(),
            body: Some(serde_json::to_string(&stored)?),
            hlc: yijian_core::hlc::Hlc {
                wall_ms: 2,
                counter: 0,
                node: 0,
            },
        }])
        .await?;
    let text = String::from_utf8(text)?;
    let grandchild_id = {
        let body = format!("{}20260101001", &village.as_str()[..6]);
        format!(
            "{body}{}",
            yijian_core::validation::id_check_char(&body).context("17")?
        )
    };
    let newer = text.replacen(
        &format!(",{},{},", spouse.name, spouse.id_number),
        &format!(",王改名,{},", spouse.id_number),
        1,
    ) + &format!(
        "{},{},{},,张小宝,{grandchild_id},孙子女,,否,,,\n",
        expected.household_no, village, expected.door_plate
    );
    let newer_file = dir.path().join("newer.csv");
    std::fs::write(&newer_file, newer)?;
    let updated = import(
        &db,
        &["--scope", TOWNSHIP, newer_file.to_str().context("path")?],
    )?;
    assert!(updated.ok, "{}", updated.stderr);
    assert_eq!(
        (count(&updated, "created"), count(&updated, "updated")),
        (0, 1),
        "{}",
        updated.summary
    );
    let (after, _) = pulled_households(&base, "13700001111", None).await?;
    let h2 = &after[&h.id.to_string()];
    assert_eq!(h2.members.len(), h.members.len() + 1);
    assert_eq!(h2.members[1].id, h.members[1].id);
    assert_eq!(h2.members[1].name, "王改名");
    assert_eq!(
        h2.members[1].health,
        yijian_core::household::Health::SeriousIllness
    );

    // Too many bad rows (two of six): nothing is written, every bad row is reported.
    let bad = format!(
        "{HEADER}\n\
         9000000000000001,{village},1号,,赵一,{},户主,,否,,,\n\
         9000000000000002,{village},2号,,钱二,12345,户主,,否,,,\n\
         9000000000000003,{village},3号,,孙三,{},表哥,,否,,,\n\
         9000000000000004,{village},4号,,李四,{},户主,,否,,,\n\
         9000000000000005,{village},5号,,周五,{},户主,,否,,,\n\
         9000000000000006,{village},6号,,吴六,{},户主,,否,,,\n",
        fresh_id(&village, 1)?,
        fresh_id(&village, 3)?,
        fresh_id(&village, 4)?,
        fresh_id(&village, 5)?,
        fresh_id(&village, 6)?,
    );
    let bad_file = dir.path().join("bad.csv");
    std::fs::write(&bad_file, &bad)?;
    let bad_path = bad_file.to_str().context("path")?;
    let before = server.storage.count_records(&scope).await?;
    let refused = import(&db, &["--scope", TOWNSHIP, bad_path])?;
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("第3行 身份证号：身份证号应为18位"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("第4行 与户主关系：“表哥”不是可用的与户主关系"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("未导入任何农户"),
        "{}",
        refused.stderr
    );
    assert_eq!(server.storage.count_records(&scope).await?, before);
    // Allowed up to half: the four good households are written, the two bad left out.
    let partial = import(
        &db,
        &["--scope", TOWNSHIP, "--max-error-share", "0.5", bad_path],
    )?;
    assert!(partial.ok, "{}", partial.stderr);
    assert_eq!(count(&partial, "created"), 4);
    assert_eq!(count(&partial, "households_left_out"), 2);
    assert_eq!(server.storage.count_records(&scope).await?, before + 4);

    // An Excel workbook with a title row, the ID numbers typed as text.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "鲁家沟镇2026年监测户名单")?;
    for (c, h) in HEADER.split(',').enumerate() {
        sheet.write_string(1, u16::try_from(c)?, h)?;
    }
    let xlsx_row = [
        "9000000000000100",
        village.as_str(),
        "7号",
        "",
        "郑七",
        &fresh_id(&village, 7)?,
        "户主",
        "13912345678",
        "是",
        "监测中",
        "2025-06-01",
        "脱贫不稳定户",
    ];
    for (c, v) in xlsx_row.iter().enumerate() {
        sheet.write_string(2, u16::try_from(c)?, *v)?;
    }
    let xlsx = dir.path().join("register.xlsx");
    book.save(&xlsx)?;
    let from_excel = import(&db, &["--scope", TOWNSHIP, xlsx.to_str().context("path")?])?;
    assert!(from_excel.ok, "{}", from_excel.stderr);
    assert_eq!(count(&from_excel, "created"), 1, "{}", from_excel.stderr);
    let id = household_id_for("9000000000000100").to_string();
    let stored = server
        .storage
        .record(kinds::HOUSEHOLD, &id)
        .await?
        .and_then(|r| r.body)
        .context("the workbook's household")?;
    let h: Household = serde_json::from_str(&stored)?;
    assert!(h.monitoring.is_monitored() && h.formerly_poor);

    // Cases with their history in the imported township (what `bench-scale` syncs): the
    // township's phone pulls every case, its visits with the full checklist, photo records,
    // plans and return visits.
    let walked = yijian_server::ops::demo::walk_township(
        std::sync::Arc::clone(&server.storage),
        &*server.blobs,
        &scope,
        10,
        13_700_100_000,
        0,
        chrono::Utc::now(),
    )
    .await?;
    assert_eq!(walked.cases, 10);
    server
        .create_user("13700002222", Role::Township, TOWNSHIP, PASSWORD)
        .await?;
    let device = ApiDevice::login(&base, "13700002222", PASSWORD).await?;
    let mut kinds_pulled: BTreeMap<String, usize> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    let mut finished_visits = 0;
    loop {
        let page = device.pull(cursor.as_deref(), 500).await?;
        for c in page.changes.iter().filter(|c| c.data.is_some()) {
            *kinds_pulled.entry(c.kind.clone()).or_default() += 1;
            if c.kind == kinds::VISIT {
                let v: yijian_core::visit::Visit =
                    serde_json::from_str(c.data.as_ref().context("visit")?.get())?;
                if v.is_final() {
                    finished_visits += 1;
                    assert!(v.answers().len() >= 30, "{} answers", v.answers().len());
                }
            }
        }
        cursor = Some(page.next_cursor.0.clone());
        if !page.has_more {
            break;
        }
    }
    assert_eq!(kinds_pulled.get(kinds::CASE), Some(&10), "{kinds_pulled:?}");
    assert!(finished_visits >= 8, "{finished_visits} finished visits");
    for kind in [kinds::PHOTO, kinds::PLAN, kinds::FOLLOW_UP] {
        assert!(
            kinds_pulled.get(kind).is_some_and(|n| *n > 0),
            "{kind}: {kinds_pulled:?}"
        );
    }
    Ok(())
}

/// An ID number no generated person has (born 1901).
fn fresh_id(village: &yijian_core::division::DivisionCode, n: u32) -> Result<String> {
    let body = format!("{}19010101{:03}", &village.as_str()[..6], n * 2 + 1);
    Ok(format!(
        "{body}{}",
        yijian_core::validation::id_check_char(&body).context("17 digits")?
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_townships_register_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    register(
        DatabaseLocation::Sqlite {
            data_dir: data.clone(),
        },
        vec!["--data-dir".into(), data.to_string_lossy().into_owned()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_townships_register_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("register").await?;
    let arg = url.clone();
    register(
        DatabaseLocation::Postgres { url },
        vec!["--database-url".into(), arg],
    )
    .await
}
