//! `make bench-scale`: the province's register through the production command, on the real
//! parts. One JSON line per step (`seconds` everywhere).
//!
//! `SCALE=township|county|city|province` (default province): 鲁家沟镇 with 4,000 households (a
//! quick check), 安定区 with 60,000 households, 定西市 with
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
//!   store (the app's schema and indexes) in one transaction. The records are households only
//!   (cases, visits and photo records are not generated yet), and the line says so.
//! - `delta_1`, `delta_1000`: households changed on the server, pulled by the township's phone.
//! - `sync_round_1000`: 1,000 households made offline on the township's phone, then one sync
//!   round (push and the pull that follows).
//!
//! The load and dashboard steps of issue 13 are not built yet; the binary says so on a line of
//! its own rather than print a figure from another path.

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

async fn sync_steps(location: DatabaseLocation, database: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let server = TestServer::start_with(location, ServerSettings::default()).await?;
    let township = DivisionCode::parse(TOWNSHIP).map_err(|e| anyhow::anyhow!("{e}"))?;
    let village = Regions::gansu()
        .villages_in(&township)
        .next()
        .context("a village")?
        .code
        .clone();
    let (village_login, township_login) = ("13800009001", "13800009002");
    server
        .create_user(
            village_login,
            Role::VillageWorker,
            village.as_str(),
            PASSWORD,
        )
        .await?;
    server
        .create_user(township_login, Role::Township, TOWNSHIP, PASSWORD)
        .await?;
    let proxy = FaultProxy::start(server.addr, 0).await?;
    let note = "households only: cases, visits and photo records are not generated yet";
    let mut township_engine = None;
    for (step, scope, login) in [
        ("village_first_sync", &village, village_login),
        ("township_first_sync", &township, township_login),
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
    // 1,000 households registered offline on the township's phone, then one round.
    let offline: Vec<Household> = (0..1000)
        .map(|i| {
            Household::new(
                HouseholdId::new(),
                village.clone(),
                format!("新登记{}号", i + 1),
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
    line(serde_json::json!({
        "step": "sync_round_1000", "database": database, "seconds": seconds,
        "pushed": report.pushed.acknowledged, "pulled": report.pulled,
        "bytes": proxy.stats.total_bytes(),
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
    let (again, summary) = import(&["--database-url".into(), url.clone()], scope, &file)?;
    line(serde_json::json!({
        "step": "import_register_again", "database": "postgresql", "seconds": again,
        "unchanged": summary["unchanged"],
    }));
    sync_steps(
        DatabaseLocation::Postgres { url },
        "postgresql",
        &dir.path().join("pg-phones"),
    )
    .await?;
    drop(cluster);

    let data = dir.path().join("sqlite");
    let (seconds, summary) = import(
        &["--data-dir".into(), data.to_string_lossy().into_owned()],
        scope,
        &file,
    )?;
    #[allow(clippy::cast_precision_loss)]
    let per_s = h as f64 / seconds;
    line(serde_json::json!({
        "step": "import_register_sqlite", "database": "sqlite", "seconds": seconds,
        "households": summary["households"], "households_per_s": per_s,
    }));
    sync_steps(
        DatabaseLocation::Sqlite { data_dir: data },
        "sqlite",
        &dir.path().join("sqlite-phones"),
    )
    .await?;
    for step in ["delta_pull_load", "declarations_load", "province_dashboard"] {
        line(serde_json::json!({ "step": step, "not_built": "issue 13: not built yet" }));
    }
    Ok(())
}
