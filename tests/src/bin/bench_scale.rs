//! `make bench-scale`: the province's register through the production command, on the real
//! parts. One JSON line per step (`seconds` everywhere).
//!
//! `SCALE=county|city|province` (default province): 安定区 with 60,000 households, 定西市 with
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
//! The sync, load and dashboard steps of issue 13 are not built yet; the binary says so on a
//! line of its own rather than print a figure from another path.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use yijian_core::division::DivisionCode;
use yijian_tests::pg::PgCluster;
use yijian_tests::register_file;

fn line(v: serde_json::Value) {
    println!("{v}");
}

/// `yijian-server` beside this binary (`make bench-scale` builds both).
fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("no directory")?.join("yijian-server");
    if !bin.exists() {
        bail!("{} missing: run `make bench-scale`", bin.display());
    }
    Ok(bin)
}

fn import(db: &[String], scope: &str, file: &Path) -> Result<(f64, serde_json::Value)> {
    let started = Instant::now();
    let out = Command::new(server_binary()?)
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

#[tokio::main]
async fn main() -> Result<()> {
    let scale = std::env::var("SCALE").unwrap_or_else(|_| "province".into());
    let (scope, households) = match scale.as_str() {
        "county" => ("621102", 60_000),
        "city" => ("6211", 500_000),
        "province" => ("62", 5_000_000),
        other => bail!("SCALE={other}: use county, city or province"),
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
    let (again, summary) = import(&["--database-url".into(), url], scope, &file)?;
    line(serde_json::json!({
        "step": "import_register_again", "database": "postgresql", "seconds": again,
        "unchanged": summary["unchanged"],
    }));
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
    for step in [
        "village_first_sync",
        "township_first_sync",
        "sync_round_1000",
        "delta_pull_load",
        "declarations_load",
        "province_dashboard",
    ] {
        line(serde_json::json!({ "step": step, "not_built": "issue 13: not built yet" }));
    }
    Ok(())
}
