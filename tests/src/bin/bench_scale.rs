//! `make bench-scale`: the province's register through the production command, on the real
//! parts. One JSON line per step (`seconds` everywhere).
//!
//! `SCALE=township|county|city|province` (default province; `DATABASES=postgresql` leaves the
//! SQLite steps out, `IMPORT_AGAIN=0` the second import, `LOAD_DATABASE_URL` runs only the load
//! steps on a database imported before, and the sync steps too with `LOAD_WITH_SYNC=1`):
//! 鲁家沟镇 with 4,000 households (a quick check), 安定区 with 60,000 households, 定西市 with
//! 500,000, or Gansu with 5,000,000 over its 17,718 villages, from the deterministic generator
//! (`yijian_tests::register_file`).
//!
//! Steps built so far:
//! - `generate_register`: the file (households, rows, bytes).
//! - `import_register`: `yijian-server import-register` (release build, default settings) into
//!   PostgreSQL on its durable defaults, the whole process timed; `households_per_s`, and the
//!   anchor `anchor_seconds`: PostgreSQL `COPY` of the same CSV into a plain table of text
//!   columns (no checks, no households, no index).
//! - `import_register_sqlite`: the same into the embedded SQLite (the default database).
//!
//! - `village_first_sync`, `township_first_sync` (per database): the imported register served
//!   by the real server (production code, default settings) on a real port, pulled by the app's
//!   own engine with its default settings into its encrypted store, through a byte-counting
//!   proxy (`bytes`: both directions). Anchor: the same records inserted into a fresh device
//!   store (the app's schema and indexes) in one transaction. Before them, `walk_township`
//!   walks cases for 1 in 40 of the township's households through the production code
//!   (declaration, visits with the full checklist and photo records, review, approval, plans,
//!   return visits), so the township's records are a real township's.
//! - `delta_1`, `delta_1000`: households changed on the server, pulled by the township's phone.
//! - `sync_round_1000`: 1,000 households made offline on the township's phone, then one sync
//!   round (push and the pull that follows); the median of three such rounds.
//!
//! - `index_cases`, `province_dashboard` (per database): see [`dashboard_steps`].
//!
//! - `delta_pull_load`, `declarations_load` (PostgreSQL): see [`load_step`] and
//!   [`declarations_load`].

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use std::sync::Arc;

use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::household::Household;
use yijian_core::ids::HouseholdId;
use yijian_core::protocol::kinds;
use yijian_core::regions::Regions;
use yijian_core::role::Role;
use yijian_core::validation::MobileNumber;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;
use yijian_server::store::ImportRecord;
use yijian_tests::device::PASSWORD;
use yijian_tests::pg::PgCluster;
use yijian_tests::process::bench_server_binary;
use yijian_tests::proxy::FaultProxy;
use yijian_tests::register_file;
use yijian_tests::server::TestServer;

fn line(v: serde_json::Value) {
    println!("{v}");
}

fn import(db: &[String], scope: &str, file: &Path) -> Result<(f64, serde_json::Value)> {
    let started = Instant::now();
    let out = Command::new(bench_server_binary("bench-scale")?)
        .args(db)
        .args(["import-register", "--scope", scope])
        .arg(file)
        .env("YIJIAN_LOG", "warn")
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "import-register failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((seconds, serde_json::from_slice(&out.stdout)?))
}

/// The anchor: the same CSV into a plain table with `COPY`, as fast as PostgreSQL takes rows.
async fn copy_anchor(url: &str, file: &Path) -> Result<f64> {
    use futures_util::SinkExt;
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE register_copy (household_no text, village text, door_plate text,
                address text, name text, id_number text, relation text, phone text,
                formerly_poor text, monitoring text, status_date text, category text)",
        )
        .await?;
    let started = Instant::now();
    let sink = client
        .copy_in("COPY register_copy FROM STDIN (FORMAT csv, HEADER true)")
        .await?;
    let mut sink = Box::pin(sink);
    let bytes = std::fs::read(file)?;
    for chunk in bytes.chunks(1 << 20) {
        sink.send(bytes::Bytes::copy_from_slice(chunk)).await?;
    }
    sink.as_mut().finish().await?;
    Ok(started.elapsed().as_secs_f64())
}

/// The township every scale contains (鲁家沟镇, 安定区) and its first village.
const TOWNSHIP: &str = "621102105";

/// The anchor: `changes` inserted into a fresh device store in one transaction.
fn anchor_device_insert(dir: &Path, changes: &[yijian_core::protocol::Change]) -> Result<f64> {
    let mut store = yijian_client::store::LocalStore::open(
        &dir.join("anchor.db"),
        &yijian_client::vault::DataKey::generate()?,
    )?;
    let started = Instant::now();
    store.apply_changes(
        changes,
        &yijian_client::store::FeedPosition::Pull {
            next_cursor: yijian_core::protocol::Cursor("anchor".to_owned()),
        },
    )?;
    Ok(started.elapsed().as_secs_f64())
}

/// A phone as the app makes one: default engine settings, encrypted store, PIN set.
async fn phone(dir: &Path, url: &str, login: &str) -> Result<Arc<yijian_client::sync::SyncEngine>> {
    let mut device = yijian_client::Device::at(dir, yijian_client::DeviceConfig::default())?;
    device.login(url, login, PASSWORD, "bench-scale").await?;
    device.set_pin("240517")?;
    device.engine().context("store")
}

///
/// `run` numbers this run's two accounts apart from earlier runs' on the same database (0 on a
/// fresh one).
async fn sync_steps(
    location: DatabaseLocation,
    database: &str,
    dir: &Path,
    run: u64,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let server = TestServer::start_with(location, ServerSettings::default()).await?;
    let township = DivisionCode::parse(TOWNSHIP).map_err(|e| anyhow::anyhow!("{e}"))?;
    let village = Regions::gansu()
        .villages_in(&township)
        .next()
        .context("a village")?
        .code
        .clone();
    let (village_login, township_login) = (
        (13_800_009_001 + run * 2).to_string(),
        (13_800_009_002 + run * 2).to_string(),
    );
    server
        .create_user(
            &village_login,
            Role::VillageWorker,
            village.as_str(),
            PASSWORD,
        )
        .await?;
    server
        .create_user(&township_login, Role::Township, TOWNSHIP, PASSWORD)
        .await?;
    // Cases with their history in the township, about 1 in 40 households as in the field:
    // declared, visited (the full checklist and its photos), reviewed, approved, planned and
    // followed up, each step a command of the staff member whose job it is.
    let households = server.storage.count_records(&township).await?;
    let started = Instant::now();
    let walked = yijian_server::ops::demo::walk_township(
        Arc::clone(&server.storage),
        &*server.blobs,
        &township,
        usize::try_from(households / 40).unwrap_or(0).clamp(10, 600),
        13_700_000_000 + run * 1_000,
        u32::try_from(run).unwrap_or(0),
        chrono::Utc::now(),
    )
    .await?;
    line(serde_json::json!({
        "step": "walk_township", "database": database,
        "seconds": started.elapsed().as_secs_f64(),
        "cases": walked.cases, "acts": walked.acts,
        "path": "declarations through the form's code, every later step a command pushed as its staff member",
    }));
    let proxy = FaultProxy::start(server.addr, 0).await?;
    let note = "the register's households, and cases with their history (visits with the full \
                checklist, photo records, plans, return visits); photo bytes are fetched when \
                viewed, not in the sync";
    let mut township_engine = None;
    for (step, scope, login) in [
        ("village_first_sync", &village, village_login.as_str()),
        ("township_first_sync", &township, township_login.as_str()),
    ] {
        let all = server.storage.pull(scope, None, 1_000_000).await?.changes;
        let anchor = anchor_device_insert(&dir.join(format!("{step}-anchor")), &all)?;
        let engine = phone(&dir.join(step), &proxy.url(), login).await?;
        proxy.stats.reset_bytes();
        let started = Instant::now();
        let report = engine.sync_once().await?;
        let seconds = started.elapsed().as_secs_f64();
        if report.pulled != all.len() as u64 {
            bail!("{step}: pulled {} of {} records", report.pulled, all.len());
        }
        line(serde_json::json!({
            "step": step, "database": database, "seconds": seconds,
            "records": report.pulled, "bytes": proxy.stats.total_bytes(),
            "anchor_seconds": anchor, "over_anchor": seconds / anchor,
            "anchor": "the same records into a fresh device store in one transaction",
            "note": note,
        }));
        township_engine = Some(engine);
    }
    let engine = township_engine.context("township phone")?;
    // Server-side changes: a household's phone number, as an edit at the township would.
    let households: Vec<_> = server
        .storage
        .pull(&township, None, 1000)
        .await?
        .changes
        .into_iter()
        .filter(|c| c.kind == kinds::HOUSEHOLD)
        .collect();
    for (step, n) in [("delta_1", 1usize), ("delta_1000", 1000)] {
        let mut records = Vec::new();
        for (i, c) in households.iter().take(n).enumerate() {
            let mut h: Household = serde_json::from_str(c.data.as_ref().context("body")?.get())?;
            h.phone = MobileNumber::parse(&format!("1390000{:04}", i + 1 + n)).ok();
            records.push(ImportRecord {
                kind: kinds::HOUSEHOLD.to_owned(),
                id: c.id.clone(),
                village: c.village.clone(),
                body: Some(serde_json::to_string(&h)?),
                hlc: Hlc {
                    wall_ms: 2,
                    counter: 0,
                    node: 0,
                },
            });
        }
        server.storage.import_records(records).await?;
        proxy.stats.reset_bytes();
        let started = Instant::now();
        let report = engine.sync_once().await?;
        let seconds = started.elapsed().as_secs_f64();
        line(serde_json::json!({
            "step": step, "database": database, "seconds": seconds,
            "records": report.pulled, "bytes": proxy.stats.total_bytes(),
        }));
    }
    // 1,000 households registered offline on the township's phone, then one round; three
    // times, the median reported (one round is a handful of fsyncs on a shared disk).
    let mut rounds = Vec::new();
    for round in 0..3 {
        let offline: Vec<Household> = (0..1000)
            .map(|i| {
                Household::new(
                    HouseholdId::new(),
                    village.clone(),
                    format!("新登记{}号", round * 1000 + i + 1),
                )
            })
            .collect::<Result<_, _>>()?;
        engine.with_store(|s| {
            for h in &offline {
                s.create_household(h)?;
            }
            Ok(())
        })?;
        proxy.stats.reset_bytes();
        let started = Instant::now();
        let report = engine.sync_once().await?;
        let seconds = started.elapsed().as_secs_f64();
        if report.pushed.acknowledged != 1000 || report.pulled < 1000 {
            bail!("sync_round_1000: a round pushed or pulled too little: {report:?}");
        }
        rounds.push((seconds, report, proxy.stats.total_bytes()));
    }
    let all: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (seconds, report, bytes) = &rounds[1];
    line(serde_json::json!({
        "step": "sync_round_1000", "database": database, "seconds": seconds,
        "rounds_seconds": all, "note": "median of 3 rounds, each after 1,000 new offline households",
        "pushed": report.pushed.acknowledged, "pulled": report.pulled,
        "bytes": bytes,
    }));
    Ok(())
}

/// `index_cases` and `province_dashboard`: the register's cases (2.5 % of households, every stage)
/// written through `index_case`/`log_step`, then the dashboard of the whole `scope` as a user of
/// that level sees it: 50 requests to the real console page, one after another, signed in.
/// Anchor: the per-request recount the console did before the rollup (read the scope's case
/// index rows and completed clocks, compute), timed in the same run; the two results compared.
async fn dashboard_steps(
    location: DatabaseLocation,
    database: &str,
    scope: &DivisionCode,
    households: usize,
    today: chrono::NaiveDate,
) -> Result<()> {
    let started = Instant::now();
    let cases = register_file::generated_cases(scope, households, today);
    let generated = started.elapsed().as_secs_f64();
    let storage = yijian_server::store::open(&location).await?;
    let started = Instant::now();
    register_file::index_cases(&*storage, &cases).await?;
    let seconds = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let per_s = cases.len() as f64 / seconds;
    line(serde_json::json!({
        "step": "index_cases", "database": database, "seconds": seconds,
        "cases": cases.len(), "cases_per_s": per_s, "generate_seconds": generated,
        "path": "case index rows through RecordTx::index_case/log_step (the commands' write path, \
                 which keeps the rollup), 500 per transaction; not the procedure's commands",
    }));
    drop(cases);

    let server = TestServer::start_with(location, ServerSettings::default()).await?;
    let login = "13800009003";
    server
        .create_user(
            login,
            Role::for_level(scope.level()),
            scope.as_str(),
            PASSWORD,
        )
        .await?;
    let mut browser = yijian_tests::web::Browser::new(&server.url())?;
    browser.sign_in_with(login, PASSWORD).await?;
    let path = format!("/console?scope={scope}");
    let first = browser.get(&path).await?;
    if first.status != 200 {
        bail!("dashboard of {scope}: {}", first.status);
    }
    let started = Instant::now();
    let mut ms = Vec::with_capacity(50);
    for _ in 0..50 {
        let t = Instant::now();
        let page = browser.get(&path).await?;
        if page.status != 200 {
            bail!("dashboard of {scope}: {}", page.status);
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let seconds = started.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);

    let procedure = yijian_server::domain::procedure::Procedure::current(&*storage).await?;
    let today = yijian_core::time::china_date(chrono::Utc::now());
    let mut recounts = Vec::new();
    let mut recounted = None;
    for _ in 0..3 {
        let t = Instant::now();
        let s = scope.to_string();
        let (rows, done) = yijian_server::store::read(&*storage, move |tx| {
            let rows = tx.case_rows(&yijian_server::store::rows::CaseQuery {
                scope: s.clone(),
                open_only: false,
                due_by: None,
                limit: None,
            })?;
            let since = yijian_server::store::figures::on_time_window_start(today);
            Ok((rows, tx.steps_done(&s, since)?))
        })
        .await?;
        recounted = Some(yijian_server::web::console::stats::recount(
            scope,
            &rows,
            &done,
            today,
            &procedure.calendar,
        ));
        recounts.push(t.elapsed().as_secs_f64());
    }
    recounts.sort_by(f64::total_cmp);
    let s = scope.clone();
    let groups = yijian_server::store::read(&*storage, move |tx| tx.figures_in(&s)).await?;
    let from_rollup = yijian_server::web::console::stats::from_figures(
        scope,
        &groups,
        today,
        &procedure.calendar,
    );
    line(serde_json::json!({
        "step": "province_dashboard", "database": database, "scope": scope.as_str(),
        "seconds": seconds, "requests": ms.len(),
        "p50_ms": ms[ms.len() / 2], "p99_ms": ms[ms.len() * 99 / 100],
        "anchor_seconds": recounts[1],
        "anchor": "the recount per request the console did before (rows + clocks read, computed; median of 3)",
        "equals_recount": recounted.as_ref() == Some(&from_rollup),
        "total_cases": from_rollup.total,
    }));
    server.stop().await?;
    Ok(())
}

/// `delta_pull_load`: 2,000 phones of different villages (fewer villages below a city: they
/// share) pulling their changes and now and then pushing a new household, for `LOAD_SECONDS`
/// (default 60) at 500 requests/s in all, over HTTPS through Debian's nginx to two release
/// `yijian-server` processes on the imported PostgreSQL. Every acknowledged household is then
/// looked up in the database.
///
/// `run` (below 2,000) numbers this run's phones and residents apart from earlier runs' on the
/// same database (0 on a fresh one): 10,000 of each per run.
async fn load_step(url: &str, scope: &DivisionCode, dir: &Path, run: u64) -> Result<()> {
    use yijian_tests::load;
    use yijian_tests::nginx::Nginx;
    use yijian_tests::process::ServerProcess;

    let seconds: f64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let (devices, rate) = (2_000usize, 500.0);
    std::fs::create_dir_all(dir)?;
    let location = DatabaseLocation::Postgres {
        url: url.to_owned(),
    };
    let storage = yijian_server::store::open(&location).await?;
    let villages: Vec<DivisionCode> = Regions::gansu()
        .villages_in(scope)
        .map(|r| r.code.clone())
        .collect();
    // Spread the phones over the scope rather than its first villages.
    let step = (villages.len() / devices).max(1);
    let villages: Vec<DivisionCode> = villages.into_iter().step_by(step).collect();
    let phones =
        load::make_devices(&*storage, &villages, devices, 13_900_000_000 + run * 10_000).await?;
    drop(storage);

    let binary = bench_server_binary("bench-scale")?;
    // The deadline job every 10 s instead of 5 minutes, so it runs over the province's cases
    // several times during the load; the SMS sender runs as configured by default.
    let proxied = "[public]\ntrust_forwarded_for = true\n\n[deadlines]\ninterval_secs = 10\n";
    let a = ServerProcess::spawn_configured_binary(&binary, dir, url, proxied, "a.log")?;
    let b = ServerProcess::spawn_configured_binary(&binary, dir, url, proxied, "b.log")?;
    let nginx = Nginx::start(&[a.addr, b.addr])?;
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(nginx.ca_pem.as_bytes())?)
        .pool_max_idle_per_host(256)
        .build()?;
    let started = Instant::now();
    let cursors = load::first_pulls(&http, &nginx.url(), &phones, 16).await?;
    let setup = started.elapsed().as_secs_f64();
    let report = load::run(http, &nginx.url(), phones, cursors, rate, seconds, 10).await?;

    // Every household a push was told was applied is in the database.
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(conn);
    let found: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM records WHERE kind = 'household' AND id = ANY($1)",
            &[&report.created],
        )
        .await?
        .get(0);
    drop(client);
    conn.await??;
    let delta = serde_json::json!({
        "step": "delta_pull_load", "database": "postgresql",
        "seconds": report.seconds, "devices": report.devices, "processes": 2,
        "requests": report.requests, "requests_per_s": report.requests_per_s,
        "pulls": report.pulls, "pushes": report.pushes,
        "p50_ms": report.p50_ms, "p99_ms": report.p99_ms, "max_ms": report.max_ms,
        "errors": report.errors, "error_samples": report.error_samples,
        "acknowledged_found": found, "acknowledged": report.created.len(),
        "first_pulls_seconds": setup,
        "target": "≥ 500 requests/s, p99 ≤ 50 ms, 0 errors",
        "note": "the phones' client, nginx, both servers and PostgreSQL share this machine's cores",
    });
    line(delta);
    // Residents of earlier runs have open cases: a second declaration is (rightly) not taken.
    let first_resident = run * 10_000;
    declarations_load(
        url,
        &nginx.url(),
        &nginx.ca_pem,
        &villages,
        seconds / 2.0,
        first_resident,
    )
    .await
}

/// `declarations_load`: residents declaring through the public form (fetch the form, post a
/// complete declaration), 100 at a time, each resident a new HTTPS connection from an address of
/// their own (the form's per-address and per-phone limits stay at their defaults), to the same
/// two processes, whose SMS sender and deadline job keep running. Timed: the POSTs.
async fn declarations_load(
    url: &str,
    base: &str,
    ca_pem: &str,
    villages: &[DivisionCode],
    seconds: f64,
    first_resident: u64,
) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())?;
    let count_cases = || async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let conn = tokio::spawn(conn);
        let cases: i64 = client
            .query_one("SELECT COUNT(*) FROM case_index", &[])
            .await?
            .get(0);
        let texts: i64 = client
            .query_one("SELECT COUNT(*) FROM sms_outbox", &[])
            .await?
            .get(0);
        let sent: i64 = client
            .query_one("SELECT COUNT(*) FROM sms_outbox WHERE status = 'sent'", &[])
            .await?
            .get(0);
        drop(client);
        conn.await??;
        anyhow::Ok((cases, texts, sent))
    };
    let (cases_before, texts_before, _) = count_cases().await?;
    let counter = Arc::new(AtomicU64::new(first_resident));
    let villages = Arc::new(villages.to_vec());
    // (milliseconds of each declaration taken, errors, error samples, already in progress)
    let latencies = Arc::new(tokio::sync::Mutex::new((
        Vec::<f64>::new(),
        0usize,
        Vec::<String>::new(),
        0usize,
    )));
    let started = Instant::now();
    let until = started + std::time::Duration::from_secs_f64(seconds);
    let mut residents = Vec::new();
    for _ in 0..100 {
        let (ca, base, counter, villages, latencies) = (
            ca.clone(),
            base.to_owned(),
            Arc::clone(&counter),
            Arc::clone(&villages),
            Arc::clone(&latencies),
        );
        residents.push(tokio::spawn(async move {
            while Instant::now() < until {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let village = villages[(n as usize * 7919) % villages.len()].to_string();
                // Each resident their own phone: a connection from an address of their own
                // (127.x.y.z: nginx passes the address it sees, whatever a client claims).
                let ip = std::net::Ipv4Addr::new(
                    127,
                    1 + ((n >> 16) & 127) as u8,
                    ((n >> 8) & 255) as u8,
                    1 + (n % 254) as u8,
                );
                let r = match reqwest::Client::builder()
                    .add_root_certificate(ca.clone())
                    .redirect(reqwest::redirect::Policy::none())
                    .local_address(std::net::IpAddr::V4(ip))
                    .build()
                {
                    Ok(http) => yijian_tests::load::declare(&http, &base, &village, n).await,
                    Err(e) => Err(e.into()),
                };
                let mut l = latencies.lock().await;
                match r {
                    Ok(yijian_tests::load::Declared::Receipt(d)) => {
                        l.0.push(d.as_secs_f64() * 1000.0);
                    }
                    // Answered, but not the work a declaration does: counted apart.
                    Ok(yijian_tests::load::Declared::AlreadyOpen(_)) => l.3 += 1,
                    Err(e) => {
                        l.1 += 1;
                        if l.2.len() < 5 {
                            l.2.push(format!("{e:#}"));
                        }
                    }
                }
            }
        }));
    }
    for r in residents {
        r.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (mut ms, errors, samples, already_open) = std::mem::take(&mut *latencies.lock().await);
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ms.get(((ms.len() as f64 * q) as usize).min(ms.len().saturating_sub(1)))
            .copied()
    };
    // Give the SMS sender a moment to drain what the last declarations queued.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (cases_after, texts_after, sent) = count_cases().await?;
    line(serde_json::json!({
        "step": "declarations_load", "database": "postgresql", "seconds": seconds,
        "clients": 100, "processes": 2,
        "requests": ms.len(), "requests_per_s": ms.len() as f64 / seconds,
        "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": ms.last(),
        "errors": errors, "error_samples": samples,
        "cases_created": cases_after - cases_before,
        "already_open": already_open,
        "already_open_means": "the ID number has a case in progress from an earlier run on a reused database: the form says so and texts the receipt again, as it should",
        "texts_queued": texts_after - texts_before, "texts_sent_total": sent,
        "path": "GET the form, POST the declaration (timed), through nginx, each resident a new connection, default limits",
    }));
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let scale = std::env::var("SCALE").unwrap_or_else(|_| "province".into());
    let (scope, households) = match scale.as_str() {
        "township" => ("621102105", 4_000),
        "county" => ("621102", 60_000),
        "city" => ("6211", 500_000),
        "province" => ("62", 5_000_000),
        other => bail!("SCALE={other}: use township, county, city or province"),
    };
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    line(serde_json::json!({
        "step": "machine", "scale": scale, "cores": cores,
        "loadavg": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    }));
    let dir = tempfile::tempdir()?;
    let scope_code = DivisionCode::parse(scope).map_err(|e| anyhow::anyhow!("{e}"))?;
    // `LOAD_DATABASE_URL=postgres://…` runs only the load steps, on a database a previous run
    // imported (the province's import alone takes about 14 minutes): for working on the load.
    if let Ok(url) = std::env::var("LOAD_DATABASE_URL") {
        // Phones and residents of their own each time: earlier runs' are in the database.
        let run = chrono::Utc::now().timestamp().unsigned_abs() % 2_000 + 1;
        if std::env::var("LOAD_WITH_SYNC").is_ok_and(|v| v == "1") {
            let location = DatabaseLocation::Postgres { url: url.clone() };
            sync_steps(location, "postgresql", &dir.path().join("pg-phones"), run).await?;
        }
        return load_step(&url, &scope_code, &dir.path().join("load"), run).await;
    }
    let file = dir.path().join("register.csv");
    let today = yijian_core::time::china_date(chrono::Utc::now());
    let started = Instant::now();
    let (h, rows) = {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&file)?);
        let counts = register_file::write_register(
            &DivisionCode::parse(scope).map_err(|e| anyhow::anyhow!("{e}"))?,
            households,
            today,
            &mut out,
        )?;
        std::io::Write::flush(&mut out)?;
        counts
    };
    line(serde_json::json!({
        "step": "generate_register", "seconds": started.elapsed().as_secs_f64(),
        "households": h, "rows": rows, "bytes": std::fs::metadata(&file)?.len(),
    }));

    let cluster = PgCluster::start_durable()?;
    let url = cluster.create_database("scale").await?;
    let (seconds, summary) = import(&["--database-url".into(), url.clone()], scope, &file)?;
    let anchor_url = cluster.create_database("anchor").await?;
    let anchor = copy_anchor(&anchor_url, &file).await?;
    #[allow(clippy::cast_precision_loss)]
    let per_s = h as f64 / seconds;
    line(serde_json::json!({
        "step": "import_register", "database": "postgresql", "seconds": seconds,
        "households": summary["households"], "members": summary["members"],
        "households_per_s": per_s, "anchor_seconds": anchor,
        "anchor": "COPY of the same CSV into a plain table",
        "bytes": std::fs::metadata(&file)?.len(),
    }));
    // `IMPORT_AGAIN=0` leaves out the second import (about 8 minutes for a province).
    if std::env::var("IMPORT_AGAIN").map_or(true, |v| v != "0") {
        let (again, summary) = import(&["--database-url".into(), url.clone()], scope, &file)?;
        line(serde_json::json!({
            "step": "import_register_again", "database": "postgresql", "seconds": again,
            "unchanged": summary["unchanged"],
        }));
    }
    sync_steps(
        DatabaseLocation::Postgres { url: url.clone() },
        "postgresql",
        &dir.path().join("pg-phones"),
        0,
    )
    .await?;
    dashboard_steps(
        DatabaseLocation::Postgres { url: url.clone() },
        "postgresql",
        &scope_code,
        households,
        today,
    )
    .await?;
    load_step(&url, &scope_code, &dir.path().join("load"), 0).await?;
    drop(cluster);

    // `DATABASES=postgresql` leaves SQLite out (a province's SQLite import alone takes about
    // 20 minutes here, and a province runs on PostgreSQL).
    let databases = std::env::var("DATABASES").unwrap_or_else(|_| "postgresql,sqlite".into());
    if databases.split(',').any(|d| d.trim() == "sqlite") {
        sqlite_steps(dir.path(), scope, &scope_code, &file, h, households, today).await?;
    } else {
        line(serde_json::json!({ "step": "sqlite", "skipped": "DATABASES leaves SQLite out" }));
    }
    Ok(())
}

/// The import, sync and dashboard steps on the embedded SQLite.
async fn sqlite_steps(
    dir: &Path,
    scope: &str,
    scope_code: &DivisionCode,
    file: &Path,
    h: usize,
    households: usize,
    today: chrono::NaiveDate,
) -> Result<()> {
    let data = dir.join("sqlite");
    let (seconds, summary) = import(
        &["--data-dir".into(), data.to_string_lossy().into_owned()],
        scope,
        file,
    )?;
    #[allow(clippy::cast_precision_loss)]
    let per_s = h as f64 / seconds;
    line(serde_json::json!({
        "step": "import_register_sqlite", "database": "sqlite", "seconds": seconds,
        "households": summary["households"], "households_per_s": per_s,
    }));
    sync_steps(
        DatabaseLocation::Sqlite {
            data_dir: data.clone(),
        },
        "sqlite",
        &dir.join("sqlite-phones"),
        0,
    )
    .await?;
    dashboard_steps(
        DatabaseLocation::Sqlite { data_dir: data },
        "sqlite",
        scope_code,
        households,
        today,
    )
    .await
}
