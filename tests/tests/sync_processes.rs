//! The real server binary under hostile conditions: killed with SIGKILL in the middle of
//! pushes and started again on the same data; and two server processes on one PostgreSQL
//! database with 8 concurrent pushers and 4 pullers, where every puller must end with every
//! change (the feed has no gaps when commits land out of sequence order).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use yijian_core::division::DivisionCode;
use yijian_core::ids::HouseholdId;
use yijian_core::protocol::{Command, Outcome, Wire};
use yijian_core::role::Role;
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::accounts::NewUser;
use yijian_tests::api::{ApiDevice, new_household_command};
use yijian_tests::pg::PgCluster;
use yijian_tests::process::ServerProcess;

const VILLAGE: &str = "621102105201";
/// The password the test phones (`yijian_tests::device`) sign in with.
const PW: &str = yijian_tests::device::PASSWORD;

fn create_household_cmd() -> (HouseholdId, Command) {
    new_household_command(VILLAGE, 7).expect("household")
}

async fn add_user(
    location: &DatabaseLocation,
    login: &str,
    role: Role,
    scope: &str,
) -> anyhow::Result<()> {
    let storage = yijian_server::store::open(location).await?;
    let (user, hash) = NewUser {
        login: login.into(),
        name: "测试".into(),
        role,
        scope: DivisionCode::parse(scope)?,
        password: PW.into(),
    }
    .prepare()?;
    storage.create_user(&user, &hash).await?;
    Ok(())
}

/// Pull everything after `cursor`, returning household ids seen and the new cursor.
async fn drain(
    dev: &ApiDevice,
    cursor: &mut Option<String>,
    seen: &mut BTreeSet<String>,
) -> anyhow::Result<()> {
    loop {
        let page = dev.pull(cursor.as_deref(), 500).await?;
        for c in &page.changes {
            if c.kind == "household" {
                seen.insert(c.id.clone());
            }
        }
        *cursor = Some(page.next_cursor.0);
        if !page.has_more {
            return Ok(());
        }
    }
}

/// Kill the server with SIGKILL while a device pushes, start it again on the same data and
/// port, and keep killing until a kill has provably landed inside a push: a request cut
/// before its answer, or a retry answered "already applied" (the batch had committed, its
/// answer was lost). Then nothing is lost and nothing applied twice.
async fn sigkill_mid_push(location: DatabaseLocation, args: Vec<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    add_user(&location, "13800000001", Role::VillageWorker, VILLAGE).await?;
    let with_listen = |listen: &str| {
        let mut a = vec!["--listen".to_owned(), listen.to_owned()];
        a.extend(args.iter().cloned());
        a
    };
    let mut server =
        ServerProcess::spawn(&with_listen("127.0.0.1:0"), dir.path().join("server1.log"))?;
    let addr = server.addr;
    let device = ApiDevice::login(&server.url(), "13800000001", PW).await?;

    let batches: Vec<Vec<(HouseholdId, Command)>> = (0..150)
        .map(|_| (0..20).map(|_| create_household_cmd()).collect())
        .collect();
    let progress = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let already = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let expected: BTreeSet<String> = batches
        .iter()
        .flatten()
        .map(|(id, _)| id.to_string())
        .collect();
    let pushing = {
        let device = device.clone();
        let batches = batches.clone();
        let (progress, in_flight, cut, already) = (
            Arc::clone(&progress),
            Arc::clone(&in_flight),
            Arc::clone(&cut),
            Arc::clone(&already),
        );
        tokio::spawn(async move {
            let mut answered = 0usize;
            for batch in &batches {
                let cmds: Vec<Command> = batch.iter().map(|(_, c)| c.clone()).collect();
                // A device retries until the server answers; a retry of a batch that did
                // commit before the kill must come back "already applied".
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    in_flight.store(true, Ordering::SeqCst);
                    let r = device.push(&cmds).await;
                    in_flight.store(false, Ordering::SeqCst);
                    match r {
                        Ok(r) => {
                            for x in &r.results {
                                match &x.outcome {
                                    Wire::Known(Outcome::Applied) => answered += 1,
                                    Wire::Known(Outcome::AlreadyApplied) => {
                                        already.fetch_add(1, Ordering::SeqCst);
                                        answered += 1;
                                    }
                                    other => panic!("unexpected outcome {other:?}"),
                                }
                            }
                            progress.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Err(_) if Instant::now() < deadline => {
                            cut.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => panic!("server never came back: {e}"),
                    }
                }
            }
            answered
        })
    };
    // Kill while a push is on the wire, and start again on the same port; at least twice, and
    // until a kill has landed inside a push (at most eight times).
    let mut kills = 0;
    let mut after = 10usize;
    while kills < 2 || (cut.load(Ordering::SeqCst) == 0 && kills < 8) {
        while progress.load(Ordering::SeqCst) < after || !in_flight.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        server.kill9()?;
        kills += 1;
        assert!(
            progress.load(Ordering::SeqCst) < batches.len(),
            "killed while pushing"
        );
        server = ServerProcess::spawn(
            &with_listen(&addr.to_string()),
            dir.path().join(format!("server{}.log", kills + 1)),
        )?;
        after = progress.load(Ordering::SeqCst) + 10;
    }
    let answered = pushing.await?;
    assert_eq!(answered, expected.len(), "every command acknowledged");
    let (cuts, retried) = (cut.load(Ordering::SeqCst), already.load(Ordering::SeqCst));
    eprintln!(
        "sigkill: {kills} kills, {cuts} pushes cut, {retried} commands answered \"already applied\""
    );
    assert!(
        cuts + retried > 0,
        "no kill landed inside a push ({kills} kills): the test proved nothing"
    );

    let mut seen = BTreeSet::new();
    drain(&device.via(&server.url()), &mut None, &mut seen).await?;
    assert_eq!(seen, expected, "no household lost");
    // Applied exactly once: every household was written once (version 1), never twice.
    let mut cursor: Option<String> = None;
    loop {
        let page = device
            .via(&server.url())
            .pull(cursor.as_deref(), 500)
            .await?;
        for c in page.changes.iter().filter(|c| c.kind == "household") {
            assert_eq!(c.version, 1, "household {} written more than once", c.id);
        }
        cursor = Some(page.next_cursor.0);
        if !page.has_more {
            break;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_push_loses_and_duplicates_nothing_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    sigkill_mid_push(
        DatabaseLocation::Sqlite {
            data_dir: data.clone(),
        },
        vec!["--data-dir".to_owned(), data.display().to_string()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_push_loses_and_duplicates_nothing_on_postgres() -> anyhow::Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_kill").await?;
    let dir = tempfile::tempdir()?;
    sigkill_mid_push(
        DatabaseLocation::Postgres { url: url.clone() },
        vec![
            "--database-url".to_owned(),
            url,
            "--data-dir".to_owned(),
            dir.path().display().to_string(),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_postgres_eight_pushers_four_pullers() -> anyhow::Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_multi").await?;
    let location = DatabaseLocation::Postgres { url: url.clone() };
    for i in 0..8 {
        add_user(
            &location,
            &format!("1380000010{i}"),
            Role::VillageWorker,
            VILLAGE,
        )
        .await?;
    }
    add_user(&location, "13800000200", Role::Township, "621102105").await?;
    let dir = tempfile::tempdir()?;
    let args = vec![
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--database-url".to_owned(),
        url.clone(),
    ];
    let s1 = ServerProcess::spawn(&args, dir.path().join("s1.log"))?;
    let s2 = ServerProcess::spawn(&args, dir.path().join("s2.log"))?;
    let urls = Arc::new([s1.url(), s2.url()]);

    let mut pushers = Vec::new();
    for i in 0..8 {
        let dev = ApiDevice::login(&urls[i % 2], &format!("1380000010{i}"), PW).await?;
        let urls = Arc::clone(&urls);
        pushers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for b in 0..25 {
                let batch: Vec<(HouseholdId, Command)> =
                    (0..8).map(|_| create_household_cmd()).collect();
                let cmds: Vec<Command> = batch.iter().map(|(_, c)| c.clone()).collect();
                let r = dev.via(&urls[(i + b) % 2]).push(&cmds).await?;
                anyhow::ensure!(
                    r.results
                        .iter()
                        .all(|x| matches!(x.outcome, Wire::Known(Outcome::Applied)))
                );
                ids.extend(batch.into_iter().map(|(id, _)| id.to_string()));
            }
            Ok::<_, anyhow::Error>(ids)
        }));
    }
    let done = Arc::new(AtomicBool::new(false));
    let mut pullers = Vec::new();
    for p in 0..4 {
        let dev = ApiDevice::login(&urls[p % 2], "13800000200", PW).await?;
        let urls = Arc::clone(&urls);
        let done = Arc::clone(&done);
        pullers.push(tokio::spawn(async move {
            let mut cursor = None;
            let mut seen = BTreeSet::new();
            let mut n = 0usize;
            // Pull continuously while the pushers write, alternating servers.
            while !done.load(Ordering::Relaxed) {
                drain(&dev.via(&urls[(p + n) % 2]), &mut cursor, &mut seen).await?;
                n += 1;
            }
            // One last pull after every push has been answered.
            drain(&dev.via(&urls[(p + n) % 2]), &mut cursor, &mut seen).await?;
            Ok::<_, anyhow::Error>(seen)
        }));
    }
    let mut all = BTreeSet::new();
    for p in pushers {
        all.extend(p.await??);
    }
    done.store(true, Ordering::Relaxed);
    assert_eq!(all.len(), 8 * 25 * 8);
    for p in pullers {
        let seen = p.await??;
        let missing: Vec<_> = all.difference(&seen).take(5).collect();
        assert!(
            missing.is_empty(),
            "a puller skipped changes, e.g. {missing:?}"
        );
        assert_eq!(seen, all);
    }
    Ok(())
}

/// A province's database has a hot standby that every commit waits for. The primary crashes
/// while three devices push through the real server; the standby is promoted; the server,
/// given both hosts with `target_session_attrs=read-write`, finds the new primary by itself;
/// every device finishes, and every command the server acknowledged before, during and after
/// the crash is in the promoted database. The time from the crash to the first answered push
/// is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standby_takes_over_without_losing_an_acknowledged_push() -> anyhow::Result<()> {
    use std::sync::Mutex;

    let primary = PgCluster::start_primary()?;
    let standby = PgCluster::start_standby_of(&primary)?;
    let url = primary.create_database("yijian_ha").await?;
    let location = DatabaseLocation::Postgres { url };
    const DEVICES: usize = 3;
    for i in 0..DEVICES {
        add_user(
            &location,
            &format!("1380000030{i}"),
            Role::VillageWorker,
            VILLAGE,
        )
        .await?;
    }
    let both = format!(
        "postgres://yijian@127.0.0.1:{},127.0.0.1:{}/yijian_ha?target_session_attrs=read-write&connect_timeout=2",
        primary.port, standby.port
    );
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::spawn_configured(
        dir.path(),
        &both,
        "[postgres]\nacquire_timeout_secs = 2\n",
        "server.log",
    )?;

    let acknowledged = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let pushed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let crashed_at = Arc::new(Mutex::new(None::<Instant>));
    let recovered_after = Arc::new(Mutex::new(None::<Duration>));
    let mut expected = BTreeSet::new();
    let mut devices = Vec::new();
    for i in 0..DEVICES {
        let device = ApiDevice::login(&server.url(), &format!("1380000030{i}"), PW).await?;
        let batches: Vec<Vec<(HouseholdId, Command)>> = (0..40)
            .map(|_| (0..10).map(|_| create_household_cmd()).collect())
            .collect();
        expected.extend(batches.iter().flatten().map(|(id, _)| id.to_string()));
        let (acknowledged, pushed, in_flight, crashed_at, recovered_after) = (
            Arc::clone(&acknowledged),
            Arc::clone(&pushed),
            Arc::clone(&in_flight),
            Arc::clone(&crashed_at),
            Arc::clone(&recovered_after),
        );
        devices.push(tokio::spawn(async move {
            let mut failures = 0usize;
            for batch in &batches {
                let cmds: Vec<Command> = batch.iter().map(|(_, c)| c.clone()).collect();
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let answer = device.push(&cmds).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    match answer {
                        Ok(r) => {
                            let mut acked = acknowledged.lock().expect("lock");
                            for (x, (id, _)) in r.results.iter().zip(batch) {
                                match &x.outcome {
                                    Wire::Known(Outcome::Applied | Outcome::AlreadyApplied) => {
                                        acked.insert(id.to_string());
                                    }
                                    other => anyhow::bail!("unexpected outcome {other:?}"),
                                }
                            }
                            drop(acked);
                            if let Some(t) = *crashed_at.lock().expect("lock") {
                                recovered_after
                                    .lock()
                                    .expect("lock")
                                    .get_or_insert(t.elapsed());
                            }
                            pushed.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Err(_) if Instant::now() < deadline => {
                            failures += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => anyhow::bail!("the server never came back: {e}"),
                    }
                }
            }
            anyhow::Ok((device, failures))
        }));
    }

    // Crash the primary once a third of the pushes are answered, while one is on its way,
    // then promote the standby.
    while pushed.load(Ordering::SeqCst) < DEVICES * 40 / 3 || in_flight.load(Ordering::SeqCst) == 0
    {
        tokio::task::yield_now().await;
    }
    let before_crash = acknowledged.lock().expect("lock").clone();
    primary.crash()?;
    *crashed_at.lock().expect("lock") = Some(Instant::now());
    standby.promote()?;

    let mut failures = 0;
    let mut last_device = None;
    for d in devices {
        let (device, f) = d.await??;
        failures += f;
        last_device = Some(device);
    }
    let device = last_device.expect("a device");
    let recovered = recovered_after
        .lock()
        .expect("lock")
        .expect("a push after the crash");
    eprintln!(
        "failover: first push answered {} ms after the primary crashed; refused meanwhile and retried: {failures} push(es)",
        recovered.as_millis()
    );

    let acked = acknowledged.lock().expect("lock").clone();
    assert_eq!(acked, expected, "every command acknowledged in the end");
    assert!(
        before_crash.len() >= 100,
        "{} acknowledged before the crash",
        before_crash.len()
    );
    let mut seen = BTreeSet::new();
    drain(&device, &mut None, &mut seen).await?;
    let missing: Vec<_> = before_crash.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "{} households acknowledged before the crash are not in the promoted database",
        missing.len()
    );
    assert_eq!(seen, expected, "nothing lost, nothing extra");
    drop(server);
    Ok(())
}

/// A province's shape: two server processes on one PostgreSQL behind Debian's nginx over
/// HTTPS (a certificate from the province's own authority, HTTP/1.1 keep-alive upstream).
/// Four devices push a thousand households through it at once; both processes serve; then a
/// phone running the app's own engine, trusting that authority, pulls every one of them.
/// A phone that does not trust the authority is refused: TLS is checked, not waved through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_behind_nginx_over_https() -> anyhow::Result<()> {
    use yijian_client::sync::EngineConfig;
    use yijian_tests::device::{Device, count};
    use yijian_tests::nginx::Nginx;

    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_nginx").await?;
    let location = DatabaseLocation::Postgres { url: url.clone() };
    const PUSHERS: usize = 4;
    for i in 0..=PUSHERS {
        add_user(
            &location,
            &format!("1380000040{i}"),
            Role::VillageWorker,
            VILLAGE,
        )
        .await?;
    }
    let dir = tempfile::tempdir()?;
    let proxied = "[public]\ntrust_forwarded_for = true\n";
    let a = ServerProcess::spawn_configured(dir.path(), &url, proxied, "a.log")?;
    let b = ServerProcess::spawn_configured(dir.path(), &url, proxied, "b.log")?;
    let nginx = Nginx::start(&[a.addr, b.addr])?;

    let untrusting = Device::login(&nginx.url(), "13800000404", EngineConfig::default()).await;
    assert!(
        untrusting.is_err(),
        "a phone that does not trust the authority signed in"
    );

    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(nginx.ca_pem.as_bytes())?)
        .build()?;
    let mut pushers = Vec::new();
    let mut expected = BTreeSet::new();
    for i in 0..PUSHERS {
        let device = ApiDevice::login_with(
            https.clone(),
            &nginx.url(),
            &format!("1380000040{i}"),
            PW,
            None,
        )
        .await?;
        let batches: Vec<Vec<(HouseholdId, Command)>> = (0..25)
            .map(|_| (0..10).map(|_| create_household_cmd()).collect())
            .collect();
        expected.extend(batches.iter().flatten().map(|(id, _)| id.to_string()));
        pushers.push(tokio::spawn(async move {
            for batch in batches {
                let cmds: Vec<Command> = batch.into_iter().map(|(_, c)| c).collect();
                for r in device.push(&cmds).await?.results {
                    anyhow::ensure!(
                        matches!(r.outcome, Wire::Known(Outcome::Applied)),
                        "{:?}",
                        r.outcome
                    );
                }
            }
            anyhow::Ok(())
        }));
    }
    for p in pushers {
        p.await??;
    }

    let phone = Device::login(
        &nginx.url(),
        "13800000404",
        EngineConfig {
            extra_root_certificates: vec![nginx.ca_pem.clone()],
            ..EngineConfig::default()
        },
    )
    .await?;
    phone.engine.sync_once().await?;
    let records = phone.records()?;
    assert_eq!(count(&records, "household"), expected.len());
    let pulled: BTreeSet<String> = records
        .keys()
        .filter(|(kind, _)| kind == "household")
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(pulled, expected, "the phone has every household pushed");

    let log = nginx.access_log()?;
    let served = |addr: std::net::SocketAddr| {
        log.lines()
            .filter(|l| l.starts_with(&format!("{addr} ")))
            .count()
    };
    let (by_a, by_b) = (served(a.addr), served(b.addr));
    eprintln!("nginx: {by_a} requests to one process, {by_b} to the other");
    assert!(by_a > 0 && by_b > 0, "both processes serve:\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.split(' ').nth(1).is_some_and(|s| s.starts_with('5'))),
        "no request failed:\n{log}"
    );
    Ok(())
}

/// `make bench-scale`'s `delta_pull_load` at small size: phones of a township's villages pulling
/// and pushing on their own schedules through nginx to two server processes on PostgreSQL. No
/// request fails, and every household a push was told was applied is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_under_load_behind_nginx_lose_nothing() -> anyhow::Result<()> {
    use anyhow::Context;
    use yijian_tests::load;
    use yijian_tests::nginx::Nginx;

    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_load").await?;
    let storage =
        yijian_server::store::open(&DatabaseLocation::Postgres { url: url.clone() }).await?;
    let township = DivisionCode::parse("621102105")?;
    let villages: Vec<DivisionCode> = yijian_core::regions::Regions::gansu()
        .villages_in(&township)
        .map(|r| r.code.clone())
        .collect();
    let phones = load::make_devices(&*storage, &villages, 40, 13_900_000_000).await?;

    let dir = tempfile::tempdir()?;
    let proxied = "[public]\ntrust_forwarded_for = true\n";
    let a = ServerProcess::spawn_configured(dir.path(), &url, proxied, "a.log")?;
    let b = ServerProcess::spawn_configured(dir.path(), &url, proxied, "b.log")?;
    let nginx = Nginx::start(&[a.addr, b.addr])?;
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(nginx.ca_pem.as_bytes())?)
        .build()?;
    let cursors = load::first_pulls(&http, &nginx.url(), &phones, 8).await?;
    assert_eq!(cursors.len(), 40);
    let report = load::run(http, &nginx.url(), phones, cursors, 40.0, 3.0, 3).await?;
    assert_eq!(report.errors, 0, "{:?}", report.error_samples);
    assert!(report.pulls > 50 && report.pushes > 25, "{report:?}");
    assert_eq!(report.requests, report.pulls + report.pushes);
    assert_eq!(report.created.len(), report.pushes);
    for id in &report.created {
        assert!(
            storage
                .record(yijian_core::protocol::kinds::HOUSEHOLD, id)
                .await?
                .and_then(|r| r.body)
                .is_some(),
            "household {id} was acknowledged but is not stored"
        );
    }
    // Both processes served the phones.
    let log = nginx.access_log()?;
    for upstream in [a.addr, b.addr] {
        assert!(
            log.contains(&format!("{upstream} 200 GET /v1/sync/pull")),
            "{upstream} served no pull"
        );
    }

    // `declarations_load` at small size: residents declare through nginx as the benchmark's do;
    // a second declaration of one ID number is the page for a case in progress, not a new case.
    let resident = |n: u8| -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(nginx.ca_pem.as_bytes())?)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 9, 0, n)))
            .build()?)
    };
    let village = villages[0].to_string();
    let base = nginx.url();
    for n in [1, 2] {
        let answer = load::declare(&resident(1)?, &base, &village, n).await?;
        assert!(
            matches!(answer, load::Declared::Receipt(_)),
            "{n}: {answer:?}"
        );
    }
    let again = load::declare(&resident(2)?, &base, &village, 1).await?;
    assert!(matches!(again, load::Declared::AlreadyOpen(_)), "{again:?}");

    // Behind nginx a resident cannot pick their own address to escape a limit: nginx sets
    // X-Forwarded-For to the address it saw, and the server takes that hop. Wrong status lookups,
    // each claiming another address, are still counted as one address's.
    use yijian_server::web::public::LOOKUP_MISSES_PER_IP_PER_DAY as MISSES;
    let mut guesser = yijian_tests::web::Browser::trusting(&nginx.url(), &nginx.ca_pem)?;
    let form = guesser.get("/s").await?;
    let t = yijian_tests::web::input_value(&form.body, "t").context("status token")?;
    let mut answers = Vec::new();
    for i in 0..=MISSES {
        guesser.forwarded_for = Some(format!("198.51.100.{i}"));
        let p = guesser
            .post(
                "/s",
                &[
                    ("t", t.as_str()),
                    ("receipt", "Y2612010001"),
                    ("last4", "0000"),
                ],
            )
            .await?;
        answers.push(p.status);
    }
    let mut expected = vec![404; MISSES as usize];
    expected.push(429);
    assert_eq!(
        answers, expected,
        "forged addresses escaped the lookup limit"
    );
    Ok(())
}
