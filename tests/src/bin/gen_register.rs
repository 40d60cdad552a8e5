//! `gen-register [--households N] [--scope CODE] [--gbk] OUT.csv`: a deterministic household
//! register in the national system's export form (see `yijian_tests::register_file`), for
//! trying `yijian-server import-register` and for `make bench-scale`. Default: the province,
//! 5,000,000 households over Gansu's 17,718 real villages.

use std::io::{BufWriter, Write};

use anyhow::{Context, Result, bail};
use yijian_core::division::DivisionCode;

fn main() -> Result<()> {
    let mut households = 5_000_000usize;
    let mut scope = "62".to_owned();
    let mut gbk = false;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--households" => {
                households = args.next().context("--households N")?.parse()?;
            }
            "--scope" => scope = args.next().context("--scope CODE")?,
            "--gbk" => gbk = true,
            other if other.starts_with('-') => bail!("unknown option {other}"),
            path => out = Some(path.to_owned()),
        }
    }
    let out = out.context("usage: gen-register [--households N] [--scope CODE] [--gbk] OUT.csv")?;
    let scope = DivisionCode::parse(&scope).map_err(|e| anyhow::anyhow!("{scope}: {e}"))?;
    let today = yijian_core::time::china_date(chrono::Utc::now());
    let started = std::time::Instant::now();
    let (h, rows) = if gbk {
        let mut text = Vec::new();
        let counts =
            yijian_tests::register_file::write_register(&scope, households, today, &mut text)?;
        let (bytes, _, _) = encoding_rs::GBK.encode(std::str::from_utf8(&text)?);
        std::fs::write(&out, &bytes)?;
        counts
    } else {
        let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
        let counts =
            yijian_tests::register_file::write_register(&scope, households, today, &mut file)?;
        file.flush()?;
        counts
    };
    println!(
        "{}",
        serde_json::json!({
            "step": "generate_register",
            "households": h,
            "rows": rows,
            "file": out,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
