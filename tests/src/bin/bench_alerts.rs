//! `make bench-alerts`: a 100,000-line 医保 warning list matched against the register of one
//! city (500,000 households in 定西市's real villages), through the production command
//! `yijian-server import-alerts` on the server's default database (SQLite), the whole process
//! timed. Anchor in the same run: the same file decoded, parsed and inserted into a plain table
//! (no matching) in one transaction with the same durability settings. One JSON line per step.
//!
//! Sizes: `BENCH_HOUSEHOLDS` (default 500,000), `BENCH_ROWS` (default 100,000), `BENCH_CITY`
//! (default 6211). The register is written through `Storage::import_records`, the path the
//! tests use: issue 13's register import does not exist yet, so its figure is labelled as such.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::regions::Regions;
use yijian_server::config::DatabaseLocation;
use yijian_tests::alert_lists;
use yijian_tests::process::bench_server_binary;

fn env_usize(name: &str, default: usize) -> Result<usize> {
    std::env::var(name)
        .ok()
        .map_or(Ok(default), |v| v.parse().context(name.to_owned()))
}

fn line(v: serde_json::Value) {
    println!("{v}");
}

/// The anchor: the same bytes decoded, parsed and stored as plain rows, nothing matched.
fn anchor(file: &Path, db: &Path) -> Result<(f64, usize)> {
    let started = Instant::now();
    let bytes = std::fs::read(file)?;
    let (text, _, _) = encoding_rs::GBK.decode(&bytes);
    let mut conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE lines (line INTEGER PRIMARY KEY, id_number TEXT, name TEXT, matter TEXT,
                             amount TEXT, occurred_on TEXT, note TEXT, total TEXT);",
    )?;
    let tx = conn.transaction()?;
    let mut n = 0;
    {
        let mut insert = tx.prepare("INSERT INTO lines VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        for (i, record) in reader.records().enumerate() {
            let r = record?;
            let get = |j: usize| r.get(j).unwrap_or("").to_owned();
            insert.execute(rusqlite::params![
                i64::try_from(i)? + 2,
                get(0),
                get(1),
                get(2),
                get(3),
                get(4),
                get(5),
                get(6)
            ])?;
            n += 1;
        }
    }
    tx.commit()?;
    Ok((started.elapsed().as_secs_f64(), n))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let households = env_usize("BENCH_HOUSEHOLDS", 500_000)?;
    let rows = env_usize("BENCH_ROWS", 100_000)?;
    let city = std::env::var("BENCH_CITY").unwrap_or_else(|_| "6211".into());
    let city = DivisionCode::parse(&city)?;
    let villages: Vec<DivisionCode> = Regions::gansu()
        .iter()
        .filter(|r| r.level == Level::Village && r.code.is_within(&city))
        .map(|r| r.code.clone())
        .collect();
    if villages.is_empty() {
        bail!("no villages under {city}");
    }
    let today = yijian_core::time::china_date(Utc::now());
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("server");

    // The register.
    let started = Instant::now();
    {
        let storage = yijian_server::store::open(&DatabaseLocation::Sqlite {
            data_dir: data.clone(),
        })
        .await?;
        let mut h = 0;
        while h < households {
            let end = (h + 10_000).min(households);
            let batch = alert_lists::register_records(h..end, &villages, today)?;
            storage.import_records(batch).await?;
            h = end;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    line(serde_json::json!({
        "step": "register_via_import_records",
        "households": households,
        "members": households * 3,
        "villages": villages.len(),
        "seconds": seconds,
        "households_per_s": (households as f64 / seconds).round(),
        "note": "test path (Storage::import_records), not a production command",
    }));

    // The list, as Excel in China saves a CSV (GBK), and as a workbook.
    let (lines, expected) = alert_lists::medical_list(rows, households, &villages, today);
    let csv_file = tmp.path().join("医保预警.csv");
    std::fs::write(&csv_file, alert_lists::to_gbk_csv(&lines))?;
    let xlsx = alert_lists::to_xlsx(&lines)?;

    let (anchor_seconds, anchored) = anchor(&csv_file, &tmp.path().join("anchor.db"))?;
    if anchored != rows {
        bail!("the anchor stored {anchored} lines of {rows}");
    }
    line(serde_json::json!({
        "step": "anchor_plain_insert",
        "rows": rows,
        "seconds": anchor_seconds,
        "rows_per_s": (rows as f64 / anchor_seconds).round(),
    }));

    // Reading the workbook form of the same list (parsing only, labelled as such).
    let rules = yijian_core::support::AlertRules::gansu();
    let medical = rules.department("medical_security").context("医保 rules")?;
    let started = Instant::now();
    let parsed = yijian_server::domain::alerts::parse_file(&xlsx, medical)?;
    let xlsx_seconds = started.elapsed().as_secs_f64();
    if parsed.len() != rows {
        bail!("the workbook gave {} lines of {rows}", parsed.len());
    }
    line(serde_json::json!({
        "step": "xlsx_parse_only",
        "rows": rows,
        "bytes": xlsx.len(),
        "seconds": xlsx_seconds,
        "note": "parsing the .xlsx form of the same list, no matching",
    }));

    // The production command, the whole process.
    let started = Instant::now();
    let out = Command::new(bench_server_binary("bench-alerts")?)
        .arg("--data-dir")
        .arg(&data)
        .args(["import-alerts", "--department", "医保"])
        .arg(&csv_file)
        .env("YIJIAN_LOG", "warn")
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "import-alerts failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let want = [
        ("rows", expected.rows),
        ("matched", expected.matched()),
        ("leads_created", expected.leads_created),
        ("attached_to_open_cases", expected.attached_to_open_cases),
        ("duplicates", expected.duplicates),
        ("below_threshold", expected.below_threshold),
        ("unmatched", expected.unmatched),
        ("rejected", expected.rejected),
    ];
    for (field, n) in want {
        if summary[field] != n {
            bail!("{field}: {} instead of {n} ({summary})", summary[field]);
        }
    }
    line(serde_json::json!({
        "step": "import_alerts",
        "rows": rows,
        "households": households,
        "seconds": seconds,
        "rows_per_s": (rows as f64 / seconds).round(),
        "anchor_seconds": anchor_seconds,
        "ratio_to_anchor": (seconds / anchor_seconds * 10.0).round() / 10.0,
        "summary": summary,
    }));
    Ok(())
}
