//! The QR decoder on field-like photos, beside zxing-cpp (not a test; `make bench-qr`).
//!
//! Draws the seeded set of field photos (`yijian_tests::field_qr`: the server's own door-plate
//! and sheet codes at 3–4 px per module in 12 MP frames, turned, tilted, dim with a bright
//! spot, blurred, noisy, JPEG 30–50), writes them to `target/field-qr/`, and reads each one:
//!
//! * `photo` — the app's path for a photo taken of a door plate: `decode_qr` on the JPEG bytes
//!   (JPEG decode included);
//! * `frame` — the decoder on the frame as grey values, `decode_qr_luma`, the function behind
//!   the camera's command, timed alone (the JPEG decoded beforehand);
//! * `zxing-cpp` — the same files through `bench/zxing_read.py` (PyPI `zxing-cpp`), its read
//!   timed alone, in the same run;
//!
//! then the zxing blackbox set (`client/tests/data/qr-blackbox`) through both decoders. One
//! JSON line per set and decoder: read, wrong (a text other than the printed one), of, and
//! median / p90 / max milliseconds. `--count N` (default 60), `--seed S`, `--missed`,
//! `--reuse` (read the photos of the same seed and count back from `target/field-qr/`),
//! `--field-only`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::json;
use yijian_tests::field_qr;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    (v[i] * 100.0).round() / 100.0
}

/// Counts for one decoder over one set.
#[derive(Default)]
struct Tally {
    read: usize,
    wrong: Vec<String>,
    missed: Vec<String>,
    ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, name: &str, expected: &str, got: Option<&str>, ms: f64) {
        self.ms.push(ms);
        match got {
            Some(t) if t == expected => self.read += 1,
            Some(_) => self.wrong.push(name.to_owned()),
            None => self.missed.push(name.to_owned()),
        }
    }

    fn print(&self, set: &str, decoder: &str, of: usize) {
        let mut line = json!({
            "bench": "qr", "set": set, "decoder": decoder, "read": self.read,
            "wrong": self.wrong.len(), "of": of,
            "median_ms": quantile(self.ms.clone(), 0.5),
            "p90_ms": quantile(self.ms.clone(), 0.9),
            "max_ms": quantile(self.ms.clone(), 1.0),
        });
        if std::env::args().any(|a| a == "--missed") {
            line["missed"] = json!(self.missed);
            line["wrong_files"] = json!(self.wrong);
        }
        println!("{line}");
    }
}

/// zxing-cpp's reading of `files`: text (or none) and milliseconds, by file. `None` when the
/// reader cannot run (zxing-cpp not installed: `make bench-qr` installs it).
fn zxing(files: &[PathBuf]) -> Option<Vec<(Option<String>, f64)>> {
    let python = std::env::var("YIJIAN_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/zxing_read.py");
    let out = Command::new(python).arg(script).args(files).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "zxing-cpp reader failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (lines.len() == files.len()).then(|| {
        lines
            .iter()
            .map(|l| {
                (
                    l["text"].as_str().map(str::to_owned),
                    l["ms"].as_f64().unwrap_or(0.0),
                )
            })
            .collect()
    })
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn field_set(count: usize, seed: u64) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/field-qr");
    let stamp = dir.join("seed");
    let wanted = format!("{seed} {count}");
    let photos = if std::env::args().any(|a| a == "--reuse")
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted)
    {
        // The same seed and count draw the same photos: read them back instead.
        let manifest: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
        )
        .expect("manifest json");
        manifest
            .iter()
            .map(|m| field_qr::FieldPhoto::read_back(m, &dir))
            .collect()
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("target/field-qr");
        let t = Instant::now();
        let photos = field_qr::generate(seed, count, field_qr::WIDTH, field_qr::HEIGHT);
        eprintln!("drew {count} photos in {:.1} s", t.elapsed().as_secs_f64());
        photos
    };
    let mut files = Vec::new();
    let mut manifest = Vec::new();
    for (i, p) in photos.iter().enumerate() {
        let name = p.name(i);
        let path = dir.join(format!("{name}.jpg"));
        std::fs::write(&path, &p.jpeg).expect("write photo");
        files.push(path);
        manifest.push(json!({
            "file": format!("{name}.jpg"), "text": p.text, "source": p.source,
            "damage": p.damage.iter().map(|d| d.name()).collect::<Vec<_>>(),
            "module_px": p.module_px, "rotation_deg": p.rotation_deg, "tilt": p.tilt,
            "jpeg_quality": p.jpeg_quality,
        }));
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("json"),
    )
    .expect("manifest");
    std::fs::write(&stamp, &wanted).expect("seed stamp");

    let (mut photo, mut frame) = (Tally::default(), Tally::default());
    for (i, p) in photos.iter().enumerate() {
        let name = p.name(i);
        let t = Instant::now();
        let got = yijian_client::qr::decode_qr(&p.jpeg).ok().flatten();
        photo.add(&name, &p.text, got.as_deref(), ms_since(t));

        let grey = image::load_from_memory(&p.jpeg).expect("jpeg").to_luma8();
        let (w, h) = grey.dimensions();
        let luma = grey.into_raw();
        let t = Instant::now();
        let got = yijian_client::qr::decode_qr_luma(luma, w, h).ok().flatten();
        frame.add(&name, &p.text, got.as_deref(), ms_since(t));
    }
    photo.print("field", "yijian_photo", photos.len());
    frame.print("field", "yijian_frame", photos.len());
    match zxing(&files) {
        Some(results) => {
            let mut z = Tally::default();
            for (i, (p, (text, ms))) in photos.iter().zip(results).enumerate() {
                z.add(&p.name(i), &p.text, text.as_deref(), ms);
            }
            z.print("field", "zxing_cpp", photos.len());
        }
        None => println!(
            "{}",
            json!({"bench": "qr", "set": "field", "decoder": "zxing_cpp", "skipped": "zxing-cpp not available"})
        ),
    }
}

fn blackbox_set() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/tests/data/qr-blackbox");
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
    let mut ours = Tally::default();
    for (path, expected) in &cases {
        let bytes = std::fs::read(path).expect("blackbox image");
        let t = Instant::now();
        let got = yijian_client::qr::decode_qr(&bytes).ok().flatten();
        ours.add(
            &path.display().to_string(),
            expected,
            got.as_deref(),
            ms_since(t),
        );
    }
    ours.print("zxing_blackbox", "yijian_photo", cases.len());
    let files: Vec<PathBuf> = cases.iter().map(|c| c.0.clone()).collect();
    if let Some(results) = zxing(&files) {
        let mut z = Tally::default();
        for ((path, expected), (text, ms)) in cases.iter().zip(results) {
            z.add(&path.display().to_string(), expected, text.as_deref(), ms);
        }
        z.print("zxing_blackbox", "zxing_cpp", cases.len());
    }
}

fn main() {
    let count = arg("--count").and_then(|c| c.parse().ok()).unwrap_or(60);
    let seed = arg("--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_206);
    field_set(count, seed);
    if !std::env::args().any(|a| a == "--field-only") {
        blackbox_set();
    }
}
