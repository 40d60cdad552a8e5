//! Many phones at once: the devices' steady-state traffic (delta pulls and small pushes) against
//! real server processes, for `make bench-scale`'s `delta_pull_load` and the test that runs the
//! same code at small size.
//!
//! Each simulated phone is a village worker's signed-in device of its own village. Accounts and
//! device tokens are written straight into the storage (2,000 password logins would only measure
//! the sign-in limiter and argon2); everything after that goes over HTTP the way the app's engine
//! does it: `GET /v1/sync/pull` with the device's cursor, `POST /v1/sync/push` with one command.
//!
//! The load is open-loop: every phone has its own schedule (one request per `devices ÷ rate`
//! seconds, phones staggered evenly), so a slow server makes requests queue up and shows in the
//! latency instead of quietly lowering the rate as a closed loop would.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex;
use yijian_core::division::DivisionCode;
use yijian_core::ids::{DeviceId, UserId};
use yijian_core::protocol::auth::Account;
use yijian_core::protocol::{Outcome, PROTOCOL_VERSION, PushRequest, Wire};
use yijian_core::role::Role;
use yijian_server::domain::accounts::{hash_password, new_device_token, token_hash};
use yijian_server::store::Storage;

use crate::api::new_household_command;

/// One simulated phone.
#[derive(Debug, Clone)]
pub struct LoadDevice {
    pub login: String,
    pub village: String,
    pub device_id: DeviceId,
    pub token: String,
}

/// Village workers `login_base + i` (`i < n`), one per village of `villages` in turn, each with a
/// signed-in device, written into `storage`.
pub async fn make_devices(
    storage: &dyn Storage,
    villages: &[DivisionCode],
    n: usize,
    login_base: u64,
) -> Result<Vec<LoadDevice>> {
    anyhow::ensure!(!villages.is_empty(), "no villages for the phones");
    // One hash for all: hashing is what sign-in measures, not this.
    let hash = hash_password("yijian2026").map_err(|e| anyhow::anyhow!("{e}"))?;
    let accounts: Vec<Account> = (0..n)
        .map(|i| Account {
            id: UserId::new(),
            login: format!("{}", login_base + i as u64),
            name: format!("压测网格员{i}"),
            role: Role::VillageWorker,
            scope: villages[i % villages.len()].clone(),
        })
        .collect();
    storage
        .create_users(accounts.iter().map(|a| (a.clone(), hash.clone())).collect())
        .await?;
    let now = Utc::now();
    let mut devices = Vec::with_capacity(n);
    for a in accounts {
        let (token, token_hashed) = new_device_token().map_err(|e| anyhow::anyhow!("{e}"))?;
        debug_assert_eq!(token_hash(&token), token_hashed);
        let device_id = DeviceId::new();
        storage
            .create_device(
                device_id,
                a.id,
                "压测手机",
                &token_hashed,
                now,
                now + chrono::Duration::days(1),
            )
            .await?;
        devices.push(LoadDevice {
            login: a.login,
            village: a.scope.to_string(),
            device_id,
            token,
        });
    }
    Ok(devices)
}

/// What a load run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    pub devices: usize,
    pub seconds: f64,
    pub requests: usize,
    pub requests_per_s: f64,
    pub pulls: usize,
    pub pushes: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: usize,
    /// The first few errors, for the log.
    pub error_samples: Vec<String>,
    /// Households the pushes created (each acknowledged as applied).
    pub created: Vec<String>,
}

#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    pulls: usize,
    pushes: usize,
    errors: usize,
    samples: Vec<String>,
    created: Vec<String>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.samples.len() < 5 {
            self.samples.push(what);
        }
    }
}

async fn pull(
    http: &reqwest::Client,
    base: &str,
    device: &LoadDevice,
    cursor: Option<&str>,
) -> Result<(String, bool)> {
    let mut url = format!("{base}/v1/sync/pull?limit=500");
    if let Some(c) = cursor {
        url.push_str("&cursor=");
        url.push_str(c);
    }
    let resp = http.get(url).bearer_auth(&device.token).send().await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "pull: {status} {body}");
    Ok((
        body["next_cursor"]
            .as_str()
            .context("next_cursor")?
            .to_owned(),
        body["has_more"].as_bool().unwrap_or(false),
    ))
}

/// Bring every phone to the head of its village's feed (not measured), `parallel` at a time.
pub async fn first_pulls(
    http: &reqwest::Client,
    base: &str,
    devices: &[LoadDevice],
    parallel: usize,
) -> Result<Vec<String>> {
    let results: Vec<Result<String>> = futures_util::stream::iter(devices.iter())
        .map(|d| async move {
            let mut cursor: Option<String> = None;
            loop {
                let (next, more) = pull(http, base, d, cursor.as_deref()).await?;
                cursor = Some(next);
                if !more {
                    return cursor.context("cursor");
                }
            }
        })
        .buffered(parallel)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Run the phones for `seconds` at `rate` requests per second in all; every `push_every`-th
/// request of a phone pushes one new household of its village, the others pull its changes.
pub async fn run(
    http: reqwest::Client,
    base: &str,
    devices: Vec<LoadDevice>,
    cursors: Vec<String>,
    rate: f64,
    seconds: f64,
    push_every: u32,
) -> Result<LoadReport> {
    let n = devices.len();
    let period = Duration::from_secs_f64(n as f64 / rate);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let node = Arc::new(AtomicU32::new(1));
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(n);
    for (i, (device, cursor)) in devices.into_iter().zip(cursors).enumerate() {
        let (http, base, tally) = (http.clone(), base.to_owned(), Arc::clone(&tally));
        let node = node.fetch_add(1, Ordering::Relaxed);
        let first = started + period.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            let mut cursor = cursor;
            let mut due = first;
            let mut k = 0u32;
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                k += 1;
                let t = Instant::now();
                // Phones push in turn, so pushes are spread evenly over the run.
                if (k + i as u32) % push_every == 0 {
                    let outcome = push_one(&http, &base, &device, node).await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let mut tally = tally.lock().await;
                    tally.latencies_ms.push(ms);
                    tally.pushes += 1;
                    match outcome {
                        Ok(id) => tally.created.push(id),
                        Err(e) => tally.error(format!("push by {}: {e:#}", device.login)),
                    }
                } else {
                    let outcome = pull(&http, &base, &device, Some(&cursor)).await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let mut tally = tally.lock().await;
                    tally.latencies_ms.push(ms);
                    tally.pulls += 1;
                    match outcome {
                        Ok((next, _)) => cursor = next,
                        Err(e) => tally.error(format!("pull by {}: {e:#}", device.login)),
                    }
                }
                due += period;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("a phone still running"))?
        .into_inner();
    tally.latencies_ms.sort_by(f64::total_cmp);
    let at = |q: f64| -> f64 {
        let v = &tally.latencies_ms;
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
    };
    let requests = tally.latencies_ms.len();
    Ok(LoadReport {
        devices: n,
        seconds,
        requests,
        requests_per_s: requests as f64 / seconds,
        pulls: tally.pulls,
        pushes: tally.pushes,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: tally.latencies_ms.last().copied().unwrap_or(0.0),
        errors: tally.errors,
        error_samples: tally.samples,
        created: tally.created,
    })
}

/// Push one new household of the device's village; its id when the server applied it.
async fn push_one(
    http: &reqwest::Client,
    base: &str,
    device: &LoadDevice,
    node: u32,
) -> Result<String> {
    let (id, command) = new_household_command(&device.village, node)?;
    let req = PushRequest {
        protocol: PROTOCOL_VERSION,
        device_id: device.device_id,
        commands: vec![command],
    };
    let resp = http
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(&device.token)
        .json(&req)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "push: {status} {body}");
    let response: yijian_core::protocol::PushResponse = serde_json::from_value(body)?;
    let applied = response
        .results
        .first()
        .is_some_and(|r| matches!(r.outcome, Wire::Known(Outcome::Applied)));
    anyhow::ensure!(applied, "push not applied: {:?}", response.results);
    Ok(id.to_string())
}

/// A valid ID number of 安定区 for simulated resident `n`, unique for each `n` below 24 million
/// (birth dates walk forward from 1950, 900 sequence numbers a day). It may be one the register
/// generator gave a member: then a registered resident declares, as happens in the field.
pub fn resident_id_number(n: u64) -> Result<String> {
    let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).context("date")?
        + chrono::Duration::days(i64::try_from(n / 900).unwrap_or(0));
    let body = format!("621102{}{:03}", birth.format("%Y%m%d"), 100 + n % 900);
    let check = yijian_core::validation::id_check_char(&body).context("check digit")?;
    Ok(format!("{body}{check}"))
}

/// The declaration form of `village`: its token and the cookie it is bound to.
pub async fn declaration_form(
    http: &reqwest::Client,
    base: &str,
    village: &str,
) -> Result<(String, String)> {
    let resp = http.get(format!("{base}/d/{village}")).send().await?;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("form cookie")?
        .to_owned();
    let body = resp.text().await?;
    let at = body.find("name=\"t\" value=\"").context("token")? + 16;
    let token = body[at..at + body[at..].find('"').context("token end")?].to_owned();
    Ok((token, cookie))
}

/// What the form did with a resident's declaration, and how long the POST took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Declared {
    /// A new case: the receipt's redirect.
    Receipt(Duration),
    /// The ID number already has a case in progress: the page says so (the receipt goes again
    /// to the phone on file). Residents of an earlier run on a reused database meet this.
    AlreadyOpen(Duration),
}

/// Resident `n` declares in `village` as a phone does: the form, then a complete declaration.
/// Times the POST alone (the page was on the phone already); an error unless the server
/// answered with the receipt's redirect or the page for a case already in progress.
pub async fn declare(
    http: &reqwest::Client,
    base: &str,
    village: &str,
    n: u64,
) -> Result<Declared> {
    let (token, cookie) = declaration_form(http, base, village).await?;
    let id = resident_id_number(n)?;
    let phone = format!("139{:08}", n % 100_000_000);
    let fields = [
        ("t", token.as_str()),
        ("applicant_name", "王秀兰"),
        ("phone", phone.as_str()),
        ("id_number", id.as_str()),
        ("address", "3社12号"),
        ("household_size", "3"),
        ("risk_types", "illness"),
        ("description", "老伴住院，花了很多钱"),
        ("consent", "1"),
    ];
    let t = Instant::now();
    let r = http
        .post(format!("{base}/d/{village}"))
        .header("cookie", cookie)
        .form(&fields)
        .send()
        .await?;
    let status = r.status();
    let page = r.text().await?;
    let took = t.elapsed();
    if status.as_u16() == 200 && page.contains("id=\"already-declared\"") {
        return Ok(Declared::AlreadyOpen(took));
    }
    if status.as_u16() != 303 {
        // What the page told the resident (its alerts), so a run's errors say why.
        let told: Vec<&str> = page
            .split("role=\"alert\"")
            .skip(1)
            .filter_map(|s| {
                s.split_once('>')
                    .map(|(_, t)| t.split('<').next().unwrap_or(""))
            })
            .filter(|t| !t.trim().is_empty())
            .collect();
        anyhow::bail!("POST answered {status}: {}", told.join(" / "));
    }
    Ok(Declared::Receipt(took))
}
