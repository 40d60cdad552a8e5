//! `make bench-form`: the resident's declaration form under load, on SQLite.
//!
//! A real server on loopback (embedded SQLite in a temporary directory, limits raised so every
//! submission is a real declaration); 100 clients at once, each doing what a resident's phone
//! does: fetch the form (its token and cookie), then post a complete declaration of a new
//! person and follow nothing (the 303 to the receipt is the answer). Each POST creates the
//! household, the case, its receipt number, the audit line and three texts in one transaction.
//!
//! Prints one JSON line per measurement: `anchor_healthz` (GET /healthz by the same 100
//! clients: the server's floor on this machine, measured in the same run), `form_get`, and
//! `declare_post` with submissions per second and latency percentiles, plus the ratio of
//! declarations per second to the anchor's requests per second. Not a test: it asserts nothing
//! about speed.
//!
//! Options: `--clients N` (100), `--seconds S` (10 per measurement).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::sync::Mutex;
use yijian_server::config::DatabaseLocation;
use yijian_server::{PublicSettings, ServerSettings};
use yijian_tests::load::{Declared, declaration_form, declare};
use yijian_tests::server::TestServer;

const VILLAGE: &str = "621102105201";

#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    errors: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn report(step: &str, samples: &Samples, elapsed: Duration, clients: usize) -> serde_json::Value {
    let mut l = samples.latencies.clone();
    l.sort();
    json!({
        "step": step,
        "clients": clients,
        "requests": l.len(),
        "errors": samples.errors,
        "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "per_second": ((l.len() as f64 / elapsed.as_secs_f64()) * 10.0).round() / 10.0,
        "p50_ms": (percentile(&l, 0.50) * 10.0).round() / 10.0,
        "p99_ms": (percentile(&l, 0.99) * 10.0).round() / 10.0,
        "max_ms": (percentile(&l, 1.0) * 10.0).round() / 10.0,
    })
}

/// Run `clients` loops of `one` for `seconds`; the samples of all.
async fn load<F, Fut>(clients: usize, seconds: u64, one: F) -> (Samples, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Duration>> + Send,
{
    let samples = Arc::new(Mutex::new(Samples::default()));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let one = Arc::new(one);
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (samples, counter, one) =
            (Arc::clone(&samples), Arc::clone(&counter), Arc::clone(&one));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let r = one(n).await;
                let mut s = samples.lock().await;
                match r {
                    Ok(d) => s.latencies.push(d),
                    Err(_) => s.errors += 1,
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let samples = std::mem::take(&mut *samples.lock().await);
    (samples, elapsed)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> Result<u64> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).context("value")?.parse()?),
            None => Ok(default),
        }
    };
    let clients = usize::try_from(arg("--clients", 100)?)?;
    let seconds = arg("--seconds", 10)?;

    let dir = tempfile::tempdir()?;
    let settings = ServerSettings {
        public: PublicSettings {
            declarations_per_ip_per_hour: u32::MAX,
            declarations_per_phone_per_day: u32::MAX,
            lookups_per_ip_per_hour: u32::MAX,
            ..PublicSettings::default()
        },
        ..ServerSettings::default()
    };
    let server = TestServer::start_with(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        settings,
    )
    .await?;
    let base = server.url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients)
        .build()?;

    // The anchor: the cheapest request, by the same clients, in the same run.
    let (h, b) = (http.clone(), base.clone());
    let (anchor, anchor_time) = load(clients, seconds, move |_| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            let t = Instant::now();
            let r = h.get(format!("{b}/healthz")).send().await?;
            if !r.status().is_success() {
                bail!("{}", r.status());
            }
            r.bytes().await?;
            Ok(t.elapsed())
        }
    })
    .await;
    let anchor_json = report("anchor_healthz", &anchor, anchor_time, clients);
    println!("{anchor_json}");

    let (h, b) = (http.clone(), base.clone());
    let (get, get_time) = load(clients, seconds, move |_| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            let t = Instant::now();
            declaration_form(&h, &b, VILLAGE).await?;
            Ok(t.elapsed())
        }
    })
    .await;
    println!("{}", report("form_get", &get, get_time, clients));

    let (h, b) = (http.clone(), base.clone());
    let (post, post_time) = load(clients, seconds, move |n| {
        let (h, b) = (h.clone(), b.clone());
        // Every resident is new to this server: a case already in progress is a fault.
        async move {
            match declare(&h, &b, VILLAGE, n).await? {
                Declared::Receipt(took) => Ok(took),
                Declared::AlreadyOpen(_) => bail!("resident {n} already had a case in progress"),
            }
        }
    })
    .await;
    let mut post_json = report("declare_post", &post, post_time, clients);
    let anchor_rate = anchor_json["per_second"].as_f64().unwrap_or(0.0);
    let post_rate = post_json["per_second"].as_f64().unwrap_or(0.0);
    if anchor_rate > 0.0 {
        post_json["ratio_to_anchor"] = json!(((post_rate / anchor_rate) * 1000.0).round() / 1000.0);
    }
    let cases = yijian_server::store::read(&*server.storage, |tx| {
        tx.case_rows(&yijian_server::store::rows::CaseQuery {
            scope: "62".into(),
            ..Default::default()
        })
    })
    .await?
    .len();
    post_json["cases_stored"] = json!(cases);
    println!("{post_json}");
    server.stop().await?;
    Ok(())
}
