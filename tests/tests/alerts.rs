//! The second intake end to end: a department's warning list in GBK, as Excel writes it,
//! imported with `yijian-server import-alerts` into the database of a running server, on SQLite
//! and on PostgreSQL. Every outcome appears once (lead, attached to the open case, duplicate
//! within the file, below the threshold, unmatched, rejected), the lead is a real case of source
//! 部门预警 in its village's queue with texts to the grid workers, the attached warning is in the
//! open case's history, and a run interrupted halfway, then run again, completes without a line
//! or a case counted twice.

use std::process::Command;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use yijian_core::case::{Case, CaseEventKind, CaseSource};
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{HouseholdId, MemberId};
use yijian_core::protocol::kinds;
use yijian_core::role::Role;
use yijian_core::validation::{ResidentIdNumber, id_check_char};
use yijian_core::workflow::Stage;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::alerts::{self, Sender};
use yijian_server::domain::procedure::Procedure;
use yijian_server::store::rows::CaseQuery;
use yijian_server::store::{ImportRecord, read};
use yijian_tests::pg::PgCluster;
use yijian_tests::process::server_binary;
use yijian_tests::server::TestServer;

const VILLAGE: &str = "621102105201"; // 南川村, 鲁家沟镇
const PASSWORD: &str = "alerts-pass-2026";

fn id(body: &str) -> String {
    format!("{body}{}", id_check_char(body).expect("17 digits"))
}

fn household(formerly_poor: bool, members: &[(&str, &str)]) -> Result<Household> {
    let mut h = Household::new(HouseholdId::new(), DivisionCode::parse(VILLAGE)?, "一社")?;
    h.formerly_poor = formerly_poor;
    let today = yijian_core::time::china_date(Utc::now());
    for (i, (name, number)) in members.iter().enumerate() {
        let relation = if i == 0 {
            Relation::Head
        } else {
            Relation::Spouse
        };
        h.add_member(
            Member::new(MemberId::new(), *name, relation)
                .with_id_number(ResidentIdNumber::parse(number, today)?),
        )?;
    }
    Ok(h)
}

fn cli(db: &[String], args: &[&str]) -> Result<(serde_json::Value, String)> {
    let out = Command::new(server_binary()?)
        .args(db)
        .arg("import-alerts")
        .args(args)
        .env("YIJIAN_LOG", "warn")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("import-alerts failed: {stderr}");
    }
    let stdout = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != 1 {
        bail!("stdout should be one JSON line: {stdout:?}");
    }
    Ok((serde_json::from_str(lines[0])?, stderr))
}

async fn cases(server: &TestServer) -> Result<Vec<yijian_server::store::rows::CaseRow>> {
    cases_in(server, VILLAGE).await
}

/// Every case (open or closed) under `scope`.
async fn cases_in(
    server: &TestServer,
    scope: &str,
) -> Result<Vec<yijian_server::store::rows::CaseRow>> {
    let scope = scope.to_owned();
    Ok(read(&*server.storage, move |tx| {
        tx.case_rows(&CaseQuery {
            scope: scope.clone(),
            open_only: false,
            due_by: None,
            limit: None,
        })
    })
    .await?)
}

async fn run(database: DatabaseLocation, db_args: Vec<String>) -> Result<()> {
    let server = TestServer::start_with(database, ServerSettings::default()).await?;
    server
        .create_user("13700001111", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    server
        .create_user("13700002222", Role::Township, "621102105", PASSWORD)
        .await?;
    // 张大山 (脱贫户; his wife's old 15-digit number is on the department's list), 李小河 (一般农户).
    let zhang = id("62110219600101001");
    let wife = id("62110219620202002");
    let wife_15 = format!("{}{}", &wife[..6], &wife[8..17]);
    let li = id("62110219700303003");
    let stranger = id("62110219800404004");
    let h1 = household(true, &[("张大山", &zhang), ("王秀英", &wife)])?;
    let h2 = household(false, &[("李小河", &li)])?;
    let hlc = yijian_core::hlc::Hlc {
        wall_ms: 1,
        counter: 0,
        node: 0,
    };
    server
        .storage
        .import_records(
            [&h1, &h2]
                .iter()
                .map(|h| {
                    Ok(ImportRecord {
                        kind: kinds::HOUSEHOLD.into(),
                        id: h.id.to_string(),
                        village: VILLAGE.into(),
                        body: Some(serde_json::to_string(h)?),
                        hlc,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        )
        .await?;

    // The seed's example (self-paid ¥19,151.81 of ¥70,447.56) for a formerly poor household and
    // for an ordinary one; the first line again; someone not in the register; a broken line;
    // the wife's old number with an Excel serial date (a lead was made by line 2 in this very
    // file, so this one is added to it).
    let csv = format!(
        "身份证号,姓名,预警事项,金额（元）,发生日期,备注,医疗总费用（元）\r\n\
         {zhang},张大山,医疗自付费用高,\"19,151.81元\",2026-11-30,住院,\"70,447.56\"\r\n\
         {li},李小河,医疗自付费用高,19151.81,2026/11/30,,\r\n\
         {zhang},张大山,医疗自付费用高,\"19,151.81元\",2026-11-30,住院,\"70,447.56\"\r\n\
         {stranger},赵四,医疗自付费用高,30000,20261128,,\r\n\
         12345,,买彩票,很多,明天,,\r\n\
         {wife_15},王秀英,门诊慢特病自付费用高,600,46350,,\r\n"
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("医保202611.csv");
    std::fs::write(&file, &gbk)?;
    let path = file.to_str().context("path")?;

    // Interrupted halfway: the first three lines were handled before the process died.
    let procedure = Procedure::current(&*server.storage).await?;
    let sender = Sender {
        department: "medical_security".into(),
        scope: DivisionCode::parse("62")?,
        channel: "cli",
        by: "command line".into(),
    };
    let batch = alerts::file_batch_id(&sender, &gbk);
    let rules = yijian_core::support::AlertRules::gansu();
    let lines = alerts::parse_csv(
        &alerts::decode(&gbk)?,
        rules.department("medical_security").context("rules")?,
    )?;
    let first_three = alerts::keyed_lines(&batch, lines.into_iter().take(3).collect());
    alerts::import_lines(
        &*server.storage,
        &sender,
        &batch,
        "医保202611.csv",
        first_three,
        &rules,
        &procedure,
        Utc::now(),
    )
    .await?;

    let expected = serde_json::json!({
        "rows": 6, "matched": 4, "leads_created": 1, "attached_to_open_cases": 1,
        "duplicates": 1, "below_threshold": 1, "unmatched": 1, "rejected": 1, "batch": batch,
    });
    for run in ["completing the interrupted run", "the same file once more"] {
        let (summary, report) = cli(&db_args, &["--department", "医保", path])?;
        if summary != expected {
            bail!("{run}: {summary} != {expected}");
        }
        for says in [
            "第5行 未匹配到农户",
            "第6行 格式有误被退回",
            "身份证号“12345”有误",
            "预警事项“买彩票”不在本部门的预警规则中",
        ] {
            if !report.contains(says) {
                bail!("{run}: the report lacks {says:?}:\n{report}");
            }
        }
    }

    // One lead, for 张大山's household, in the village's queue; nothing for 李小河.
    let rows = cases(&server).await?;
    if rows.len() != 1 {
        bail!("expected one case, found {}", rows.len());
    }
    let row = &rows[0];
    if row.source != CaseSource::DepartmentAlert
        || row.household_id.as_deref() != Some(&h1.id.to_string())
        || !row.open
        || row.clock_due_on.is_none()
    {
        bail!("the lead is not as expected: {row:?}");
    }
    let body = server
        .storage
        .record(kinds::CASE, &row.case_id)
        .await?
        .and_then(|r| r.body)
        .context("case record")?;
    let case: Case = serde_json::from_str(&body)?;
    if !case.declaration.description.contains("19151.81元")
        || !case.declaration.description.contains("70,447.56")
    {
        bail!(
            "the lead lacks the warning's facts: {}",
            case.declaration.description
        );
    }
    let attached = case
        .history
        .iter()
        .filter(|e| e.kind == CaseEventKind::DepartmentWarning)
        .count();
    if attached != 1
        || !case.history.iter().any(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.contains("门诊慢特病自付费用高 600元（2026年11月24日）"))
        })
    {
        bail!(
            "the attached warning is not in the history: {:?}",
            case.history
        );
    }
    // The grid workers were texted.
    let sms = read(&*server.storage, |tx| {
        tx.recent_sms(&DivisionCode::parse("62").expect("62"), None, 50)
    })
    .await?;
    for phone in ["13700001111", "13700002222"] {
        if !sms
            .iter()
            .any(|m| m.sms.phone == phone && m.sms.text_zh.contains("医保部门预警"))
        {
            bail!("no text to {phone}: {sms:?}");
        }
    }

    // The API: a key per department, lines with the department system's own row ids.
    let (key, secret) = alerts::issue_key(
        &*server.storage,
        "medical_security",
        &DivisionCode::parse("621102")?,
        "医保局系统",
        "test",
        Utc::now(),
    )
    .await?;
    let http = reqwest::Client::new();
    let body = serde_json::json!({"rows": [
        {"row_id": "yb-2026-0001", "id_number": li, "name": "李小河", "matter": "医疗自付费用高",
         "amount": "25,000元", "occurred_on": "2026-11-30", "note": "",
         "extras": {"医疗总费用（元）": "80000"}},
        {"row_id": "yb-2026-0002", "id_number": "12", "name": "", "matter": "医疗自付费用高",
         "amount": "1", "occurred_on": "2026-11-30", "note": ""},
    ]});
    let url = format!("{}/v1/alerts", server.url());
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = http
            .post(&url)
            .bearer_auth(&secret)
            .json(&body)
            .send()
            .await?;
        if r.status() != 200 {
            bail!("POST /v1/alerts: {} {}", r.status(), r.text().await?);
        }
        let v: serde_json::Value = r.json().await?;
        answers.push(v["summary"].clone());
    }
    let s = &answers[0];
    if answers[0] != answers[1] || s["leads_created"] != 1 || s["rejected"] != 1 || s["rows"] != 2 {
        bail!("the API's answers: {answers:?}");
    }
    if cases(&server).await?.len() != 2 {
        bail!("a retried request made a second case");
    }
    for (token, what) in [("yjdk_0000", "a made-up key"), ("", "no key")] {
        let r = http
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        if r.status() != 401 {
            bail!("{what}: {}", r.status());
        }
    }
    {
        let mut k = key.clone();
        k.revoked_at = Some(Utc::now());
        yijian_server::store::write(&*server.storage, move |tx| tx.put_department_key(&k)).await?;
    }
    let r = http
        .post(&url)
        .bearer_auth(&secret)
        .json(&body)
        .send()
        .await?;
    if r.status() != 401 {
        bail!("a revoked key: {}", r.status());
    }

    // A file that is not a list at all, and one of another department's template.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, b"\xff\xfe\x00garbage\xff")?;
    let out = Command::new(server_binary()?)
        .args(&db_args)
        .args([
            "import-alerts",
            "--department",
            "医保",
            bad.to_str().context("p")?,
        ])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !err.contains("文件编码无法识别") {
        bail!("a binary file: {} {err}", out.status);
    }
    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, "姓名,金额\n张三,5\n")?;
    let out = Command::new(server_binary()?)
        .args(&db_args)
        .args([
            "import-alerts",
            "--department",
            "医保",
            wrong.to_str().context("p")?,
        ])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !err.contains("表头缺少“身份证号”列") {
        bail!("a wrong header: {} {err}", out.status);
    }
    if cases(&server).await?.len() != 2 {
        bail!("a refused file made a case");
    }

    // The township's dashboard counts 医保's warnings and what became of them; the person the
    // register lacks is listed to the township and becomes a lead in one of its villages.
    let mut b = yijian_tests::web::Browser::new(&server.url())?;
    b.sign_in_with("13700002222", PASSWORD).await?;
    let dash = b.get("/console").await?;
    let row = dash
        .body
        .split("data-department=\"medical_security\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .context("no 医保 row on the dashboard")?;
    // matched 5 (lead, attached, duplicate, below, and the API's lead), warnings 3, leads 2,
    // attached 1, cases 2, none approved yet.
    if !row.contains("<td>5</td><td>3</td><td>2</td><td>1</td><td>2</td><td>0</td>") {
        bail!("the dashboard's 医保 row: {row}");
    }
    let list = b.get("/console/alerts/unmatched").await?;
    if list.status != 200 || !list.body.contains("赵四") || !list.body.contains(&stranger) {
        bail!("the unmatched list: {} {}", list.status, list.body);
    }
    let csrf = yijian_tests::web::input_value(&list.body, "csrf").context("csrf")?;
    let row_key = list
        .body
        .split("name=\"row_key\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("no row to turn into a lead")?
        .to_owned();
    for (village, should) in [("620102001001", false), (VILLAGE, true), (VILLAGE, false)] {
        let before = cases(&server).await?.len();
        let p = b
            .post(
                "/console/alerts/unmatched/lead",
                &[
                    ("csrf", &csrf),
                    ("department", "medical_security"),
                    ("row_key", &row_key),
                    ("village", village),
                ],
            )
            .await?;
        let made = cases(&server).await?.len() > before;
        if made != should {
            bail!("a lead in {village}: made {made}, {:?}", p.location);
        }
    }
    let lead = cases(&server)
        .await?
        .into_iter()
        .find(|c| c.household_id.is_none())
        .context("the lead from the unmatched line")?;
    if lead.source != CaseSource::DepartmentAlert || lead.applicant_name != "赵四" || !lead.open {
        bail!("the unmatched lead: {lead:?}");
    }
    let list = b.get("/console/alerts/unmatched").await?;
    if !list
        .body
        .contains(&format!("/console/cases/{}", lead.case_id))
    {
        bail!("the list does not link the new lead");
    }
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_department_list_in_gbk_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    run(
        DatabaseLocation::Sqlite {
            data_dir: data.clone(),
        },
        vec!["--data-dir".into(), data.to_string_lossy().into_owned()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_department_list_in_gbk_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("alerts").await?;
    let arg = url.clone();
    run(
        DatabaseLocation::Postgres { url },
        vec!["--database-url".into(), arg],
    )
    .await
}

/// 常态抽查复核 on the demonstration data: two processes' jobs draw a county's month once, the
/// sample is the seeded one, each drawn case has a re-check visit for a worker who did not work
/// on it, and a re-check that finds the risk still there takes the household up again.
async fn spot_checks(database: DatabaseLocation) -> Result<()> {
    use yijian_server::domain::spot_checks;
    let server = TestServer::start_with(database, ServerSettings::default()).await?;
    let blobs = tempfile::tempdir()?;
    let now = Utc::now();
    yijian_server::ops::demo::seed(
        std::sync::Arc::clone(&server.storage),
        std::sync::Arc::new(
            yijian_server::blobstore::DiskBlobStore::open(blobs.path().to_path_buf()).await?,
        ),
        now,
    )
    .await?;
    let all = read(&*server.storage, |tx| tx.spot_checks_in("62")).await?;
    if all.is_empty() {
        bail!("the demo drew no spot check");
    }
    // Both "processes" again for the same months: nothing more is drawn.
    let today = yijian_core::time::china_date(now);
    for month in [spot_checks::previous_month(today), today] {
        let (a, b) = tokio::join!(
            spot_checks::run_month(&*server.storage, month, now),
            spot_checks::run_month(&*server.storage, month, now)
        );
        if a? + b? != 0 {
            bail!("a month was drawn twice");
        }
    }
    let months = read(&*server.storage, |tx| tx.spot_check_months()).await?;
    // Each county's month took every case of the county closed in that month as not qualified,
    // rejected or risk-eliminated: counted here from all the cases, as the console lists them.
    let cases = read(&*server.storage, |tx| {
        tx.case_rows(&CaseQuery {
            scope: "62".into(),
            ..CaseQuery::default()
        })
    })
    .await?;
    for m in &months {
        let closed_then = cases
            .iter()
            .filter(|c| {
                c.village.starts_with(&m.county)
                    && c.closed_on
                        .is_some_and(|d| spot_checks::month_key(d) == m.month)
                    && matches!(
                        c.stage,
                        Stage::NotQualifiedNotified
                            | Stage::Rejected
                            | Stage::RejectionUpheld
                            | Stage::RiskEliminated
                    )
            })
            .count();
        if i64::try_from(closed_then)? != m.eligible {
            bail!("{m:?}: {closed_then} cases closed in the month");
        }
    }
    for m in &months {
        if m.seed != spot_checks::seed_of(&m.county, &m.month) {
            bail!("month {m:?} not seeded by county and month");
        }
        let drawn = all.iter().filter(|c| c.month == m.month).count();
        if i64::try_from(drawn)? != m.drawn {
            bail!("{m:?}: {drawn} rows");
        }
    }
    // Re-check the first drawn case with risks still present, as the app records it.
    let check = all.first().context("a check")?.clone();
    let worker = read(&*server.storage, {
        let v = check.village.clone();
        move |tx| {
            tx.users_with(
                Role::VillageWorker,
                &DivisionCode::parse(&v).expect("village"),
            )
        }
    })
    .await?
    .into_iter()
    .next()
    .context("a worker in the village")?;
    if let Some(assigned) = &check.assigned_to {
        let audit = read(&*server.storage, {
            let id = check.case_id.clone();
            move |tx| tx.audit_of(kinds::CASE, &id)
        })
        .await?;
        if audit
            .iter()
            .any(|a| a.user_id.as_deref() == Some(assigned.as_str()))
        {
            bail!("the re-check went to someone who worked on the case");
        }
    }
    let api = yijian_tests::api::ApiDevice::login(
        &server.url(),
        &worker.login,
        yijian_server::ops::demo::DEMO_PASSWORD,
    )
    .await?;
    let body = server
        .storage
        .record(kinds::FOLLOW_UP, &check.follow_up_id)
        .await?
        .and_then(|r| r.body)
        .context("the re-check's follow-up")?;
    let mut f: yijian_core::support::FollowUp = serde_json::from_str(&body)?;
    f.done_on = Some(today);
    f.note = "人均纯收入5200元（监测线7800元），仍存在：住房不安全".into();
    let mut clock = yijian_core::hlc::HlcClock::new(9);
    let cmd = yijian_core::protocol::Command {
        id: yijian_core::ids::CommandId::new(),
        hlc: clock.tick(u64::try_from(Utc::now().timestamp_millis())?),
        body: yijian_core::protocol::Wire::Known(yijian_core::protocol::CommandBody::SaveFollowUp(
            f,
        )),
    };
    let pushed = api.push(&[cmd]).await?;
    if !matches!(
        pushed.results[0].outcome,
        yijian_core::protocol::Wire::Known(yijian_core::protocol::Outcome::Applied)
    ) {
        bail!(
            "the re-check was not applied: {:?}",
            pushed.results[0].outcome
        );
    }
    let after = read(&*server.storage, |tx| tx.spot_checks_in("62")).await?;
    let done = after
        .iter()
        .find(|c| c.follow_up_id == check.follow_up_id)
        .context("check")?;
    let new_case = done.new_case_id.clone().context("no new lead")?;
    if done.result != "differs" {
        bail!("result {}", done.result);
    }
    let row = read(&*server.storage, move |tx| tx.case_row(&new_case))
        .await?
        .context("new case row")?;
    if !row.open || row.source != CaseSource::WorkerDiscovery {
        bail!("the new lead: {row:?}");
    }
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn spot_checks_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    spot_checks(DatabaseLocation::Sqlite {
        data_dir: dir.path().join("data"),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn spot_checks_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("spotchecks").await?;
    spot_checks(DatabaseLocation::Postgres { url }).await
}

/// A 100,000-line list as a department's Excel export (a title row, number and date cells,
/// amounts as `25,000.00元`, dates as `2026/11/30` and `20261130`) against a register of 3,000
/// households: every outcome's count is the one the generator built in, every lead is one case,
/// and the same workbook sent again changes nothing. A cut-off workbook is refused whole.
async fn hundred_thousand_lines(database: DatabaseLocation, db_args: Vec<String>) -> Result<()> {
    use yijian_tests::alert_lists;
    let server = TestServer::start_with(database, ServerSettings::default()).await?;
    let county = DivisionCode::parse("621102")?;
    let villages: Vec<DivisionCode> = yijian_core::regions::Regions::gansu()
        .iter()
        .filter(|r| r.level == yijian_core::division::Level::Village && r.code.is_within(&county))
        .map(|r| r.code.clone())
        .collect();
    let today = yijian_core::time::china_date(Utc::now());
    let households = 3_000;
    let register = alert_lists::register_records(0..households, &villages, today)?;
    server.storage.import_records(register).await?;

    let (lines, want) = alert_lists::medical_list(100_000, households, &villages, today);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("医保预警名单.xlsx");
    let xlsx = alert_lists::to_xlsx(&lines)?;
    std::fs::write(&file, &xlsx)?;
    let path = file.to_str().context("path")?;

    // Cut off halfway through the upload: refused whole, nothing stored.
    let cut = dir.path().join("cut.xlsx");
    std::fs::write(&cut, &xlsx[..xlsx.len() / 2])?;
    let out = Command::new(server_binary()?)
        .args(&db_args)
        .args([
            "import-alerts",
            "--department",
            "医保",
            cut.to_str().context("p")?,
        ])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !err.contains("Excel文件无法读取") {
        bail!("a cut-off workbook: {} {err}", out.status);
    }
    if !cases_in(&server, "621102").await?.is_empty() {
        bail!("a refused workbook made cases");
    }

    let expected = |summary: &serde_json::Value| -> Result<()> {
        for (field, n) in [
            ("rows", want.rows),
            ("matched", want.matched()),
            ("leads_created", want.leads_created),
            ("attached_to_open_cases", want.attached_to_open_cases),
            ("duplicates", want.duplicates),
            ("below_threshold", want.below_threshold),
            ("unmatched", want.unmatched),
            ("rejected", want.rejected),
        ] {
            if summary[field] != n {
                bail!("{field}: {} instead of {n} ({summary})", summary[field]);
            }
        }
        Ok(())
    };
    let (first, report) = cli(&db_args, &["--department", "医保", path])?;
    expected(&first)?;
    // The report names every rejected and unmatched line, by its row in the workbook.
    let reported = report.lines().filter(|l| l.starts_with('第')).count();
    if reported != want.rejected + want.unmatched {
        bail!(
            "{reported} lines reported, {} expected",
            want.rejected + want.unmatched
        );
    }
    let leads = cases_in(&server, "621102").await?;
    if leads.len() != want.leads_created
        || leads
            .iter()
            .any(|c| c.source != CaseSource::DepartmentAlert || !c.open)
    {
        bail!(
            "{} cases for {} leads, or one not an open 部门预警 case",
            leads.len(),
            want.leads_created
        );
    }
    let (again, _) = cli(&db_args, &["--department", "医保", path])?;
    if again != first {
        bail!("the same workbook again: {again} != {first}");
    }
    if cases_in(&server, "621102").await?.len() != want.leads_created {
        bail!("the same workbook again made cases");
    }
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_line_workbook_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    hundred_thousand_lines(
        DatabaseLocation::Sqlite {
            data_dir: data.clone(),
        },
        vec!["--data-dir".into(), data.to_string_lossy().into_owned()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_line_workbook_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("alerts100k").await?;
    let arg = url.clone();
    hundred_thousand_lines(
        DatabaseLocation::Postgres { url },
        vec!["--database-url".into(), arg],
    )
    .await
}
