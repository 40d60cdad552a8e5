//! `make bench-sync`: the sync machinery measured with the reference township workload.
//!
//! Loads `bench/gen_workload.py`'s township (6,000 households, 30,000 documents) into a real
//! server on loopback, then times a device engine through a byte-counting TCP proxy and prints
//! one JSON line per step: `initial_sync` (first sync of all 30,000), `delta_1` and
//! `delta_1000` (server-side edits pulled), `push_1000` (1,000 documents made offline, pushed).
//! `bytes` is everything on the wire, both directions. An anchor measured in the same run —
//! inserting the 30,000 documents into SQLite in one rusqlite transaction — puts the figures in
//! proportion on whatever machine runs it; the first sync into a plain store (not the app's
//! encrypted one) says what encryption costs (`initial_sync_encrypted_over_plain`). Not a test: it asserts nothing about speed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use yijian_client::store::LocalStore;
use yijian_client::{Device, DeviceConfig, EngineConfig};
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::role::Role;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;
use yijian_server::store::ImportRecord;
use yijian_tests::device::PASSWORD;
use yijian_tests::proxy::FaultProxy;
use yijian_tests::server::TestServer;

const TOWNSHIP: &str = "621102105";

fn workload(dir: &Path) -> Result<PathBuf> {
    if let Ok(existing) = std::env::var("YIJIAN_WORKLOAD_DIR") {
        return Ok(PathBuf::from(existing));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/gen_workload.py");
    let out = dir.join("workload");
    let status = std::process::Command::new("python3")
        .arg(&script)
        .arg("--out")
        .arg(&out)
        .status()
        .context("running python3 bench/gen_workload.py")?;
    if !status.success() {
        bail!("gen_workload.py failed");
    }
    Ok(out)
}

fn docs(path: &Path) -> Result<Vec<(String, Value)>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| Ok((l.to_owned(), serde_json::from_str(l)?)))
        .collect()
}

fn import(lines: &[(String, Value)], node: u32) -> Result<Vec<ImportRecord>> {
    let now = u64::try_from(chrono::Utc::now().timestamp_millis())?;
    lines
        .iter()
        .enumerate()
        .map(|(i, (line, v))| {
            Ok(ImportRecord {
                kind: format!("doc:{}", v["type"].as_str().context("type")?),
                id: v["id"].as_str().context("id")?.to_owned(),
                village: v["region_code"].as_str().context("region_code")?.to_owned(),
                body: Some(line.clone()),
                hlc: Hlc {
                    wall_ms: now,
                    counter: u32::try_from(i)?,
                    node,
                },
            })
        })
        .collect()
}

fn line(step: &str, records: u64, seconds: f64, bytes: u64) {
    println!(
        "{}",
        json!({"step": step, "records": records, "seconds": (seconds * 10_000.0).round() / 10_000.0, "bytes": bytes})
    );
}

/// The anchor: the 30,000 documents inserted into a fresh SQLite file in one transaction.
fn anchor_sqlite_insert(dir: &Path, base: &[(String, Value)]) -> Result<f64> {
    let conn = rusqlite::Connection::open(dir.join("anchor.db"))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE docs (id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL);",
    )?;
    let started = Instant::now();
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare("INSERT INTO docs (id, type, body) VALUES (?1, ?2, ?3)")?;
        for (line, v) in base {
            stmt.execute((v["id"].as_str(), v["type"].as_str(), line))?;
        }
    }
    tx.commit()?;
    Ok(started.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let wl = workload(tmp.path())?;
    let base = docs(&wl.join("base.jsonl"))?;
    let update_1 = docs(&wl.join("update_1.jsonl"))?;
    let update_1000 = docs(&wl.join("update_1000.jsonl"))?;
    let push_1000 = docs(&wl.join("push_1000.jsonl"))?;

    let server = TestServer::start_with(
        DatabaseLocation::Sqlite {
            data_dir: tmp.path().join("server"),
        },
        ServerSettings {
            accept_raw_documents: true,
            ..ServerSettings::default()
        },
    )
    .await?;
    server
        .create_user("13800000001", Role::Township, TOWNSHIP, PASSWORD)
        .await?;
    server.storage.import_records(import(&base, 1)?).await?;
    let proxy = FaultProxy::start(server.addr, 0).await?;

    let engine_config = EngineConfig {
        snapshot_limit: 5000,
        pull_limit: 5000,
        push_batch: 1000,
        ..EngineConfig::default()
    };
    // YIJIAN_BENCH_DIRECT=1 skips the counting proxy (bytes then read 0): to see what the
    // proxy itself costs.
    let url = if std::env::var_os("YIJIAN_BENCH_DIRECT").is_some() {
        server.url()
    } else {
        proxy.url()
    };
    let anchor = anchor_sqlite_insert(tmp.path(), &base)?;
    println!(
        "{}",
        json!({"step": "anchor_sqlite_insert", "records": base.len(), "seconds": (anchor * 10_000.0).round() / 10_000.0})
    );

    // The same first sync into a plain store (not what the app does): what encryption costs.
    let mut plain = Device::at(
        &tmp.path().join("plain-device"),
        DeviceConfig {
            engine: engine_config.clone(),
            plain_store_for_benchmark: true,
            ..DeviceConfig::default()
        },
    )?;
    plain
        .login(&url, "13800000001", PASSWORD, "bench-plain")
        .await?;
    let plain_engine = plain.engine().context("plain store")?;
    proxy.stats.reset_bytes();
    let t = Instant::now();
    let r = plain_engine.sync_once().await?;
    let plain_seconds = t.elapsed().as_secs_f64();
    line(
        "initial_sync_plain_store_anchor",
        r.pulled,
        plain_seconds,
        proxy.stats.total_bytes(),
    );
    drop(plain_engine);
    drop(plain);

    // The app's store: encrypted, opened through the device with its PIN.
    let mut device = Device::at(
        &tmp.path().join("device"),
        DeviceConfig {
            engine: engine_config,
            ..DeviceConfig::default()
        },
    )?;
    device.login(&url, "13800000001", PASSWORD, "bench").await?;
    device.set_pin("240517")?;
    let engine = device.engine().context("store")?;
    proxy.stats.reset_bytes();
    let t = Instant::now();
    let r = engine.sync_once().await?;
    let seconds = t.elapsed().as_secs_f64();
    line("initial_sync", r.pulled, seconds, proxy.stats.total_bytes());
    println!(
        "{}",
        json!({"step": "initial_sync_encrypted_over_plain",
               "ratio": ((seconds / plain_seconds) * 100.0).round() / 100.0})
    );
    if r.pulled != base.len() as u64 {
        bail!(
            "initial sync brought {} of {} records",
            r.pulled,
            base.len()
        );
    }

    // YIJIAN_BENCH_DIAG=1: where the time of a first-sync page goes (stderr).
    if std::env::var_os("YIJIAN_BENCH_DIAG").is_some() {
        let token = engine
            .with_store(|s| s.session())?
            .map(|s| s.token)
            .unwrap_or_default();
        let http = reqwest::Client::builder().zstd(true).build()?;
        let t = Instant::now();
        let resp = http
            .get(format!("{}/v1/sync/snapshot?limit=5000", server.url()))
            .bearer_auth(&token)
            .send()
            .await?;
        let t_headers = t.elapsed();
        let body = resp.bytes().await?;
        let t_body = t.elapsed();
        let page: yijian_core::protocol::SnapshotPage = serde_json::from_slice(&body)?;
        eprintln!(
            "diag: snapshot page: headers {t_headers:?}, body {t_body:?} ({} bytes), parsed {:?} ({} records)",
            body.len(),
            t.elapsed(),
            page.records.len()
        );
        let mut fresh = LocalStore::open(
            &tmp.path().join("diag/yijian.db"),
            &yijian_client::vault::DataKey::generate()?,
        )?;
        let t = Instant::now();
        fresh.apply_changes(
            &page.records,
            &yijian_client::store::FeedPosition::Pull {
                next_cursor: page.resume_cursor.clone(),
            },
        )?;
        eprintln!("diag: apply 5000 on a fresh store: {:?}", t.elapsed());
        let scope = DivisionCode::parse(TOWNSHIP)?;
        let cursor = engine
            .with_store(|s| s.status())?
            .cursor
            .map(yijian_core::protocol::Cursor);
        let t = Instant::now();
        let p = server.storage.pull(&scope, cursor.as_ref(), 5000).await?;
        eprintln!(
            "diag: server pull at head: {:?} ({} changes)",
            t.elapsed(),
            p.changes.len()
        );
        let t = Instant::now();
        let p = server.storage.pull(&scope, None, 5000).await?;
        eprintln!(
            "diag: server pull from start: {:?} ({} changes)",
            t.elapsed(),
            p.changes.len()
        );
        let t = Instant::now();
        let n = server.storage.count_records(&scope).await?;
        eprintln!("diag: count_records: {:?} ({n})", t.elapsed());
        let t = Instant::now();
        engine.with_store(|s| s.status())?;
        eprintln!("diag: device status: {:?}", t.elapsed());
        let t = Instant::now();
        engine.push_now().await?;
        eprintln!("diag: empty push: {:?}", t.elapsed());
        let t = Instant::now();
        engine.sync_once().await?;
        eprintln!("diag: empty sync: {:?}", t.elapsed());
    }

    for (step, set, node) in [("delta_1", &update_1, 2), ("delta_1000", &update_1000, 3)] {
        server.storage.import_records(import(set, node)?).await?;
        proxy.stats.reset_bytes();
        let t = Instant::now();
        let r = engine.sync_once().await?;
        line(
            step,
            r.pulled,
            t.elapsed().as_secs_f64(),
            proxy.stats.total_bytes(),
        );
        if r.pulled != set.len() as u64 {
            bail!("{step} brought {} of {} records", r.pulled, set.len());
        }
    }

    engine.with_store(|s| {
        for (_, v) in &push_1000 {
            let village = DivisionCode::parse(v["region_code"].as_str().unwrap_or_default())
                .map_err(|e| yijian_client::Error::Invalid(e.to_string()))?;
            s.put_document(
                v["type"].as_str().unwrap_or_default(),
                v["id"].as_str().unwrap_or_default(),
                &village,
                v.clone(),
            )?;
        }
        Ok(())
    })?;
    if std::env::var_os("YIJIAN_BENCH_DIAG").is_some() {
        // The server's share of a push: the same kind of 1,000 commands applied directly.
        let token = engine
            .with_store(|s| s.session())?
            .map(|s| s.token)
            .unwrap_or_default();
        let session = server
            .storage
            .session(
                &yijian_server::domain::accounts::token_hash(&token),
                chrono::Utc::now(),
            )
            .await?
            .context("session")?;
        let commands: Vec<yijian_core::protocol::Command> = push_1000
            .iter()
            .enumerate()
            .map(|(i, (_, v))| yijian_core::protocol::Command {
                id: yijian_core::ids::CommandId::new(),
                hlc: Hlc {
                    wall_ms: 1,
                    counter: u32::try_from(i).unwrap_or(0),
                    node: 9,
                },
                body: yijian_core::protocol::Wire::Known(
                    yijian_core::protocol::CommandBody::PutDocument {
                        kind: format!("diag_{}", v["type"].as_str().unwrap_or_default()),
                        id: v["id"].as_str().unwrap_or_default().to_owned(),
                        village: DivisionCode::parse(v["region_code"].as_str().unwrap_or_default())
                            .unwrap_or_else(|_| DivisionCode::parse("62").expect("62")),
                        data: v.clone(),
                    },
                ),
            })
            .collect();
        let text = serde_json::to_vec(&commands)?;
        let t = Instant::now();
        let parsed: Vec<yijian_core::protocol::Command> = serde_json::from_slice(&text)?;
        eprintln!(
            "diag: parse 1000 commands: {:?} ({} bytes)",
            t.elapsed(),
            text.len()
        );
        let mut settings = yijian_server::domain::apply::ApplySettings::at(chrono::Utc::now());
        settings.accept_raw_documents = true;
        let t = Instant::now();
        yijian_server::domain::apply::push(&*server.storage, &session, parsed, &settings).await?;
        eprintln!("diag: server applies 1000 commands: {:?}", t.elapsed());
    }

    proxy.stats.reset_bytes();
    let t = Instant::now();
    let r = engine.push_now().await?;
    line(
        "push_1000",
        r.pushed.acknowledged,
        t.elapsed().as_secs_f64(),
        proxy.stats.total_bytes(),
    );
    if r.pushed.acknowledged != push_1000.len() as u64 || r.outbox_left != 0 {
        bail!(
            "push acknowledged {} of {}",
            r.pushed.acknowledged,
            push_1000.len()
        );
    }
    server.stop().await?;
    Ok(())
}
