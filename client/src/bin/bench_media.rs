//! Timing of the photo pipeline and the QR decoder, printed as JSON lines.
//!
//! Not a test: run `cargo run --release -p yijian-client --bin bench_media` on the machine to
//! measure. The photo figures use the two 12 MP phone photos in `bench/photos` (skipped with a
//! message when absent) and, when the `vipsthumbnail` command exists, time it on the same
//! file in the same run as the anchor (`ratio` = pipeline / vipsthumbnail wall time;
//! `cpu_ratio` = the same for CPU time, since vipsthumbnail uses every core). The QR figures
//! decode the zxing blackbox set copied into `client/tests/data/qr-blackbox`.
//!
//! Flags: `--qr` (QR figures only), `--missed` (list the QR images not decoded), `--stages`
//! (also time the DCT-scaled JPEG decode alone, the pipeline's largest stage).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::json;

const RUNS: usize = 7;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p95(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1]
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// CPU seconds used so far by this process (all threads) and by its waited-for children, from
/// `/proc/self/stat` (Linux; `None` elsewhere). vipsthumbnail spreads its work over the cores, so
/// wall time alone hides what it costs a phone's battery.
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime is field 14 of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|v| v.parse().ok())
        .collect();
    // USER_HZ is 100 on every Linux build that matters here.
    let tick = 100.0;
    (f.len() == 4).then(|| ((f[0] + f[1]) / tick, (f[2] + f[3]) / tick))
}

fn has_vipsthumbnail() -> bool {
    Command::new("vipsthumbnail")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn bench_photo(path: &Path, vips: bool) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let Ok(bytes) = std::fs::read(path) else {
        println!(
            "{}",
            json!({"bench": "photo", "file": name, "skipped": "file not found"})
        );
        return;
    };
    let mut times = Vec::new();
    let mut last = None;
    let cpu_before = cpu_seconds();
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = yijian_client::photo::process_photo(&bytes);
        times.push(ms(t));
        last = Some(out);
    }
    let pipeline_cpu_ms = cpu_before
        .zip(cpu_seconds())
        .map(|(a, b)| (b.0 - a.0) * 1000.0 / RUNS as f64);
    let (width, height, out_bytes) = match last {
        Some(Ok(p)) => (p.width, p.height, p.jpeg.len()),
        Some(Err(e)) => {
            println!(
                "{}",
                json!({"bench": "photo", "file": name, "error": e.to_string()})
            );
            return;
        }
        None => return,
    };
    let pipeline = median(times);
    let mut vips_ms = None;
    let mut vips_cpu_ms = None;
    if vips {
        let dir = std::env::temp_dir().join("yijian_bench_media");
        let _ = std::fs::create_dir_all(&dir);
        let out = dir.join("vips.jpg");
        let mut t_v = Vec::new();
        let cpu_before = cpu_seconds();
        for _ in 0..RUNS {
            let t = Instant::now();
            let ok = Command::new("vipsthumbnail")
                .arg(path)
                .args(["--size", "1600x1600", "-o"])
                .arg(format!("{}[Q=80,strip]", out.display()))
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                t_v.push(ms(t));
            }
        }
        if !t_v.is_empty() {
            vips_cpu_ms = cpu_before
                .zip(cpu_seconds())
                .map(|(a, b)| (b.1 - a.1) * 1000.0 / t_v.len() as f64);
            vips_ms = Some(median(t_v));
        }
    }
    println!(
        "{}",
        json!({
            "bench": "photo", "file": name, "runs": RUNS,
            "pipeline_median_ms": (pipeline * 10.0).round() / 10.0,
            "vipsthumbnail_median_ms": vips_ms.map(|v| (v * 10.0).round() / 10.0),
            "ratio": vips_ms.map(|v| (pipeline / v * 100.0).round() / 100.0),
            "pipeline_cpu_ms": pipeline_cpu_ms.map(|v| v.round()),
            "vipsthumbnail_cpu_ms": vips_cpu_ms.map(|v| v.round()),
            "cpu_ratio": pipeline_cpu_ms.zip(vips_cpu_ms).map(|(p, v)| (p / v * 100.0).round() / 100.0),
            "width": width, "height": height, "bytes": out_bytes,
        })
    );
}

fn bench_stages(path: &Path) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let mut dec_t = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut dec = jpeg_decoder::Decoder::new(std::io::Cursor::new(&bytes));
        let _ = dec.read_info();
        let _ = dec.scale(1600, u16::MAX);
        let _ = dec.decode();
        dec_t.push(ms(t));
    }
    println!(
        "{}",
        json!({"bench": "stage_decode_half", "median_ms": median(dec_t)})
    );
}

fn bench_qr(dir: &Path) {
    let mut cases: Vec<(PathBuf, String)> = Vec::new();
    for set in 1..=6 {
        let Ok(entries) = std::fs::read_dir(dir.join(format!("qrcode-{set}"))) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "png")
                && let Ok(text) = std::fs::read_to_string(p.with_extension("txt"))
            {
                cases.push((p, text));
            }
        }
    }
    cases.sort();
    let (mut correct, mut wrong, mut times, mut missed) = (0, Vec::new(), Vec::new(), Vec::new());
    for (path, expected) in &cases {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let t = Instant::now();
        let got = yijian_client::qr::decode_qr(&bytes);
        times.push(ms(t));
        match got {
            Ok(Some(text)) if &text == expected => correct += 1,
            Ok(Some(_)) => wrong.push(path.display().to_string()),
            _ => missed.push(path.display().to_string()),
        }
    }
    if std::env::args().any(|a| a == "--missed") {
        println!("{}", json!({"missed": missed}));
    }
    if times.is_empty() {
        println!(
            "{}",
            json!({"bench": "qr", "skipped": "no blackbox images"})
        );
        return;
    }
    println!(
        "{}",
        json!({
            "bench": "qr", "images": cases.len(), "correct": correct, "wrong": wrong,
            "median_ms": (median(times.clone()) * 100.0).round() / 100.0,
            "p95_ms": (p95(times.clone()) * 100.0).round() / 100.0,
            "max_ms": (times.iter().copied().fold(0.0, f64::max) * 100.0).round() / 100.0,
        })
    );
}

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The two 12 MP photos live in the project (`bench/photos`, sources in its README).
    let photos = manifest.join("../bench/photos");
    let only_qr = std::env::args().any(|a| a == "--qr");
    if !only_qr {
        let vips = has_vipsthumbnail();
        if !vips {
            println!(
                "{}",
                json!({"bench": "photo", "note": "vipsthumbnail not installed: no anchor"})
            );
        }
        for f in ["pixel_12mp_gps.jpg", "xiaomi_mi9t_12mp_orient6.jpg"] {
            bench_photo(&photos.join(f), vips);
            if std::env::args().any(|a| a == "--stages") {
                bench_stages(&photos.join(f));
            }
        }
    }
    bench_qr(&manifest.join("tests/data/qr-blackbox"));
}
