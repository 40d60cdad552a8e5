//! What a stranger tries, over real HTTP on a server loaded with the demonstration: guessing
//! phone digits at the status lookup and the appeal form, declaring with someone else's ID
//! number to learn their receipt, guessing passwords at both sign-ins, using an expired token;
//! and the headers and limits every answer carries. Each test would fail if the hole it names
//! were open again.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use yijian_server::config::DatabaseLocation;
use yijian_server::ops::demo::{DemoCase, DemoData, seed};
use yijian_server::store::read;
use yijian_server::store::rows::CaseQuery;
use yijian_server::{PublicSettings, SecuritySettings, ServerSettings};
use yijian_tests::api::ApiDevice;
use yijian_tests::server::TestServer;
use yijian_tests::web::{Browser, Page, input_value};

/// Behind a proxy that sets `X-Forwarded-For`, so each test can speak from many addresses.
fn behind_proxy() -> ServerSettings {
    ServerSettings {
        public: PublicSettings {
            trust_forwarded_for: true,
            ..PublicSettings::default()
        },
        ..ServerSettings::default()
    }
}

async fn seeded(settings: ServerSettings) -> Result<(TestServer, tempfile::TempDir, DemoData)> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_with(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        settings,
    )
    .await?;
    let data = seed(
        Arc::clone(&server.storage),
        Arc::clone(&server.blobs),
        chrono::Utc::now(),
    )
    .await?;
    Ok((server, dir, data))
}

fn last4(c: &DemoCase) -> &str {
    &c.phone[c.phone.len() - 4..]
}

/// Every case's stage, by id: what a sweep must leave as it was.
async fn stages(server: &TestServer) -> Result<Vec<(String, String)>> {
    let rows = read(&*server.storage, |tx| {
        tx.case_rows(&CaseQuery {
            scope: "62".into(),
            ..CaseQuery::default()
        })
    })
    .await?;
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|r| (r.case_id, format!("{:?}", r.stage)))
        .collect();
    out.sort();
    Ok(out)
}

/// The banner of a refused lookup or appeal (the page without its per-request token).
fn banner(p: &Page) -> String {
    let Some(at) = p.body.find("role=\"alert\"") else {
        return String::new();
    };
    let rest = &p.body[at..];
    rest[..rest.find("</p>").unwrap_or(rest.len())].to_owned()
}

async fn lookup(b: &mut Browser, receipt: &str, digits: &str) -> Result<Page> {
    let form = b.get("/s").await?;
    let t = input_value(&form.body, "t").context("status token")?;
    b.post("/s", &[("t", &t), ("receipt", receipt), ("last4", digits)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_sweeps_of_status_and_appeal_find_nothing_and_change_no_case() -> Result<()> {
    let (server, _dir, data) = seeded(behind_proxy()).await?;
    let mine = data
        .cases
        .iter()
        .find(|c| c.stage == "rejected")
        .context("a rejected case of the attacker's own")?;
    let victim = data
        .cases
        .iter()
        .find(|c| c.stage == "rejected" && c.case_id != mine.case_id)
        .or_else(|| data.cases.iter().find(|c| c.stage == "accepted"))
        .context("someone else's case")?;
    let before = stages(&server).await?;

    // The attacker's own, genuine appeal form (a token from a lookup of their own case).
    let mut attacker = Browser::new(&server.url())?;
    attacker.forwarded_for = Some("203.0.113.7".into());
    let own = lookup(&mut attacker, &mine.receipt_no, last4(mine)).await?;
    assert_eq!(own.status, 200, "the attacker's own lookup works");
    let token = input_value(&own.body, "t").context("appeal token")?;

    // 300 guesses at the appeal form for the victim's receipt with the attacker's token.
    let mut refused = Vec::new();
    let mut throttled = 0;
    for guess in 0..300u32 {
        let digits = format!("{guess:04}");
        let p = attacker
            .post(
                "/s/appeal",
                &[
                    ("t", &token),
                    ("receipt", &victim.receipt_no),
                    ("last4", &digits),
                    ("reason", "不服"),
                ],
            )
            .await?;
        match p.status {
            429 => throttled += 1,
            404 => refused.push(banner(&p)),
            other => bail!("guess {digits} at the appeal form answered {other}"),
        }
        if p.body.contains(&victim.applicant) || p.body.contains("id=\"stage\"") {
            bail!("guess {digits} showed the victim's case");
        }
    }
    // The real digits were among the first guesses only if they are below 0010; either way no
    // guess got through, and after ten wrong ones the address is held back.
    assert!(
        refused.len() <= 10,
        "{} guesses answered before the limit",
        refused.len()
    );
    assert_eq!(throttled, 300 - refused.len());

    // Another address sweeps the status lookup.
    let mut prober = Browser::new(&server.url())?;
    prober.forwarded_for = Some("198.51.100.9".into());
    let mut answered = 0;
    for guess in 0..300u32 {
        let p = lookup(
            &mut prober,
            &victim.receipt_no,
            &format!("{:04}", 9999 - guess),
        )
        .await?;
        match p.status {
            429 => {}
            404 => answered += 1,
            200 => bail!("a guess found the victim's status"),
            other => bail!("status lookup answered {other}"),
        }
    }
    assert!(
        answered <= 10,
        "{answered} lookups answered before the limit"
    );

    // "Not found", "wrong digits" and "cannot appeal" read the same.
    let mut fresh = Browser::new(&server.url())?;
    fresh.forwarded_for = Some("192.0.2.50".into());
    let wrong_digits = lookup(&mut fresh, &victim.receipt_no, "0000").await?;
    let no_such = lookup(&mut fresh, "621102-105-201-9999", "0000").await?;
    assert_eq!(wrong_digits.status, 404);
    assert_eq!(no_such.status, 404);
    assert_eq!(banner(&wrong_digits), banner(&no_such));
    // Nothing changed, and the real resident, from their own phone, is not locked out.
    assert_eq!(stages(&server).await?, before, "a sweep changed a case");
    let mut resident = Browser::new(&server.url())?;
    resident.forwarded_for = Some("100.64.0.1".into());
    let p = lookup(&mut resident, &victim.receipt_no, last4(victim)).await?;
    assert_eq!(
        p.status, 200,
        "the resident is locked out by someone else's guesses"
    );
    server.stop().await?;
    Ok(())
}

async fn declare(b: &mut Browser, n: u32) -> Result<Page> {
    let path = "/d/621102105201";
    let id_base = format!("62110219800101{n:03}");
    let id = format!(
        "{id_base}{}",
        yijian_core::validation::id_check_char(&id_base).context("check digit")?
    );
    let phone = format!("1391111{n:04}");
    let form = b.get(path).await?;
    let t = input_value(&form.body, "t").context("form token")?;
    b.post(
        path,
        &[
            ("t", t.as_str()),
            ("applicant_name", "限流测试"),
            ("id_number", id.as_str()),
            ("phone", phone.as_str()),
            ("address", "一社"),
            ("household_size", "3"),
            ("risk_types", "illness"),
            ("description", "看病花钱多"),
            ("consent", "1"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_limits_hold_for_declarations_and_lookups() -> Result<()> {
    let mut settings = behind_proxy();
    settings.public.declarations_per_ip_per_hour = 2;
    settings.public.lookups_per_ip_per_hour = 3;
    let (server, _dir, data) = seeded(settings).await?;
    let mut one = Browser::new(&server.url())?;
    one.forwarded_for = Some("203.0.113.20".into());
    for n in 0..2 {
        let p = declare(&mut one, n).await?;
        assert!(p.status == 303, "declaration {n}: {} {}", p.status, p.body);
    }
    let p = declare(&mut one, 2).await?;
    assert_eq!(
        p.status, 429,
        "a third declaration from one address in an hour"
    );
    assert!(p.body.contains("限流测试"), "what was typed is kept");
    let mut other = Browser::new(&server.url())?;
    other.forwarded_for = Some("203.0.113.21".into());
    assert_eq!(declare(&mut other, 3).await?.status, 303, "another address");

    let case = data.cases.first().context("a case")?;
    for n in 0..3 {
        let p = lookup(&mut one, &case.receipt_no, last4(case)).await?;
        assert_eq!(p.status, 200, "lookup {n}");
    }
    assert_eq!(
        lookup(&mut one, &case.receipt_no, last4(case))
            .await?
            .status,
        429
    );
    assert_eq!(
        lookup(&mut other, &case.receipt_no, last4(case))
            .await?
            .status,
        200
    );
    server.stop().await?;
    Ok(())
}

async fn api_login(
    base: &str,
    login: &str,
    password: &str,
    from: &str,
    device: Option<yijian_core::ids::DeviceId>,
) -> Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .header("x-forwarded-for", from)
        .json(&serde_json::json!({
            "login": login, "password": password, "device_name": "测试", "device_id": device
        }))
        .send()
        .await?;
    Ok((
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_slowed_per_address_and_per_account_and_the_owner_gets_in()
-> Result<()> {
    let (server, _dir, _data) = seeded(behind_proxy()).await?;
    let base = server.url();
    // Before the attack the owner signed in on a phone and in a browser.
    let (status, body) = api_login(&base, "13800000031", "yijian2026", "10.0.0.1", None).await?;
    assert_eq!(status, 200);
    let device: yijian_core::ids::DeviceId = serde_json::from_value(body["device_id"].clone())?;
    let mut owners_browser = Browser::new(&base)?;
    owners_browser.forwarded_for = Some("10.0.0.2".into());
    owners_browser.sign_in("13800000031").await?;
    assert!(
        owners_browser.cookies.contains_key("yj_k"),
        "the console marks the browser"
    );

    // One address, many spellings of one account: the address is held back after five.
    let spellings = [
        "13800000031",
        "+8613800000031",
        "138 0000 0031",
        "+86 138-0000-0031",
    ];
    let mut held = false;
    for i in 0..8 {
        let (status, body) = api_login(
            &base,
            spellings[i % spellings.len()],
            "wrong",
            "198.51.100.1",
            None,
        )
        .await?;
        if status == 429 {
            held = true;
            assert!(
                body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("后再试"))
            );
            break;
        }
        assert_eq!(status, 401, "attempt {i}");
    }
    assert!(
        held,
        "eight wrong passwords from one address were all checked"
    );
    // Even the right password from that address waits (it is not checked at all).
    let (status, _) = api_login(&base, "13800000031", "yijian2026", "198.51.100.1", None).await?;
    assert_eq!(status, 429);

    // Many addresses against one account: after ten failures the account waits…
    for i in 0..12 {
        let (status, _) = api_login(
            &base,
            "13800000031",
            "wrong",
            &format!("198.51.100.{}", 10 + i),
            None,
        )
        .await?;
        assert!(status == 401 || status == 429, "{status}");
    }
    let (status, _) = api_login(&base, "13800000031", "yijian2026", "192.0.2.99", None).await?;
    assert_eq!(
        status, 429,
        "the account's delay holds for an unknown phone"
    );
    // The console shares the limiter: a fresh browser waits with the account…
    let mut browser = Browser::new(&base)?;
    browser.forwarded_for = Some("192.0.2.100".into());
    let form = browser.get("/console/login").await?;
    let t = input_value(&form.body, "t").context("login token")?;
    let p = browser
        .post(
            "/console/login",
            &[
                ("login", "138 0000 0031"),
                ("password", "yijian2026"),
                ("next", "/console"),
                ("t", &t),
            ],
        )
        .await?;
    assert_eq!(p.status, 429, "a fresh browser skips the account's delay");
    assert!(p.body.contains("登录失败次数过多"));
    // …but the browser the owner used before gets in (the console's mark in it)…
    owners_browser.cookies.remove("yj_s");
    owners_browser.sign_in("13800000031").await?;

    // The attack goes on; the owner's own phone, which proves where the owner signed in
    // before, is not held back either.
    for i in 0..12 {
        let (status, _) = api_login(
            &base,
            "13800000031",
            "wrong",
            &format!("198.51.100.{}", 40 + i),
            None,
        )
        .await?;
        assert!(status == 401 || status == 429, "{status}");
    }
    let (status, _) = api_login(&base, "13800000031", "yijian2026", "192.0.2.98", None).await?;
    assert_eq!(
        status, 429,
        "the account's delay holds again for an unknown phone"
    );
    let (status, body) = api_login(
        &base,
        "13800000031",
        "yijian2026",
        "192.0.2.99",
        Some(device),
    )
    .await?;
    assert_eq!(status, 200, "the owner is kept out: {body}");

    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_and_the_phone_signs_in_again_as_itself() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_with(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        ServerSettings {
            security: SecuritySettings {
                device_token_ttl: std::time::Duration::ZERO,
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
    )
    .await?;
    server
        .create_user(
            "13800000001",
            yijian_core::role::Role::VillageWorker,
            "621102105201",
            "pw-pw-pw-1",
        )
        .await?;
    let d = ApiDevice::login(&server.url(), "13800000001", "pw-pw-pw-1").await?;
    let (status, _) = d.pull_raw(None, 10).await?;
    assert_eq!(status, 401, "a token past its lifetime still works");
    let again = ApiDevice::login_as(
        &server.url(),
        "13800000001",
        "pw-pw-pw-1",
        Some(d.device_id),
    )
    .await?;
    assert_eq!(
        again.device_id, d.device_id,
        "the phone keeps its id, so its outbox is its own"
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_bodies_over_the_limit_get_413() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_with(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        ServerSettings {
            max_body_bytes: 4096,
            security: SecuritySettings {
                secure_cookies: true,
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
    )
    .await?;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{}/d/621102105201", server.url()))
        .send()
        .await?;
    let h = page.headers();
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert_eq!(
        h.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
    let csp = h.get("content-security-policy").context("csp")?.to_str()?;
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(h.get("strict-transport-security").is_some());
    for c in h.get_all("set-cookie") {
        assert!(c.to_str()?.contains("; Secure"), "{c:?}");
    }
    let api = http.get(format!("{}/healthz", server.url())).send().await?;
    assert_eq!(
        api.headers()
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );

    server
        .create_user(
            "13800000001",
            yijian_core::role::Role::VillageWorker,
            "621102105201",
            "pw-pw-pw-1",
        )
        .await?;
    let d = ApiDevice::login(&server.url(), "13800000001", "pw-pw-pw-1").await?;
    let big = serde_json::json!({"protocol": 1, "device_id": d.device_id, "commands": [], "pad": "x".repeat(10_000)});
    let resp = http
        .post(format!("{}/v1/sync/push", server.url()))
        .bearer_auth(&d.token)
        .json(&big)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 413);
    let body: serde_json::Value = resp.json().await?;
    assert_eq!(body["code"], "too_large");
    server.stop().await?;
    Ok(())
}
