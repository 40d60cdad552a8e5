//! The server on each of its databases, started for real: embedded SQLite in a data directory,
//! and a throwaway PostgreSQL cluster — including two server processes migrating one database
//! at the same moment.

use yijian_server::config::DatabaseLocation;
use yijian_server::store;
use yijian_tests::pg::PgCluster;
use yijian_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_server_answers_healthz() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(DatabaseLocation::Sqlite {
        data_dir: dir.path().join("data"),
    })
    .await?;
    let (status, body) = server.get("/healthz").await?;
    assert_eq!(status, 200);
    assert_eq!(body["backend"], "sqlite");
    assert_eq!(body["migrations"], store::sqlite::MIGRATIONS.len());
    server.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_answers_healthz_and_concurrent_starts_migrate_once() -> anyhow::Result<()>
{
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_health").await?;
    let location = DatabaseLocation::Postgres { url: url.clone() };

    // Two processes' worth of storage opening the same empty database at once: the advisory
    // lock makes one apply the migrations and the other see them applied.
    let (a, b) = tokio::join!(store::open(&location), store::open(&location));
    let (a, b) = (a?, b?);
    assert_eq!(
        a.health().await?.migrations,
        i64::try_from(store::postgres::MIGRATIONS.len())?
    );
    assert_eq!(
        b.health().await?.migrations,
        i64::try_from(store::postgres::MIGRATIONS.len())?
    );

    let server = TestServer::start(location).await?;
    let (status, body) = server.get("/healthz").await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["backend"], "postgres");
    assert_eq!(body["migrations"], store::postgres::MIGRATIONS.len());
    server.stop().await?;
    Ok(())
}

/// The change feed's promise on PostgreSQL, forced step by step: a transaction that took its
/// sequence number first but commits last is not skipped by a device that pulled in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feed_waits_for_an_earlier_transaction_that_commits_late() -> anyhow::Result<()> {
    use yijian_core::division::DivisionCode;
    use yijian_core::hlc::Hlc;
    use yijian_server::store::ImportRecord;

    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_feed").await?;
    let storage = store::open(&DatabaseLocation::Postgres { url: url.clone() }).await?;
    let village = DivisionCode::parse("621102105201")?;
    let hlc = Hlc {
        wall_ms: 1_765_000_000_000,
        counter: 0,
        node: 1,
    };
    let record = |id: &str| ImportRecord {
        kind: "household".into(),
        id: id.into(),
        village: village.to_string(),
        body: Some(format!("{{\"id\":\"{id}\"}}")),
        hlc,
    };
    storage.import_records(vec![record("before")]).await?;
    let start = storage.pull(&village, None, 100).await?;
    assert_eq!(start.changes.len(), 1);
    let cursor = start.next_cursor;

    // Transaction A writes first (lower transaction id, lower sequence) and stays open.
    let (mut a, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let tx_a = a.transaction().await?;
    tx_a.execute(
        "INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
         VALUES ('household', 'early', $1, '{\"id\":\"early\"}', $2, 1, now())",
        &[&village.as_str(), &hlc.to_string()],
    )
    .await?;
    // Transaction B writes later and commits at once.
    storage.import_records(vec![record("late")]).await?;

    // A device pulls now: it must not be given B, or its cursor would pass A's position and
    // A, committed a moment later, would never reach it.
    let between = storage.pull(&village, Some(&cursor), 100).await?;
    assert!(
        between.changes.is_empty(),
        "the feed ran past a running transaction: {:?}",
        between.changes.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    assert_eq!(between.next_cursor, cursor, "the cursor must not move");

    tx_a.commit().await?;
    let after = storage
        .pull(&village, Some(&between.next_cursor), 100)
        .await?;
    let ids: Vec<&str> = after.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["early", "late"], "both, in commit-safe order");
    Ok(())
}

/// A province runs several processes on one PostgreSQL, so each keeps a bounded pool: sixty
/// requests at once through the real binary, configured from its file for three connections
/// and given a two-host connection string, never open a fourth session (counted by the
/// database itself), all succeed by waiting their turn, and every session runs under the
/// configured statement timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_pool_stays_within_its_configured_size_under_a_burst() -> anyhow::Result<()> {
    use anyhow::Context;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    use yijian_tests::process::ServerProcess;

    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_pool").await?;
    // Two hosts, the first of them down, as a primary and its standby are named: a session goes
    // to whichever host accepts it and takes writes.
    let down = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let (_, rest) = url.split_once("@127.0.0.1:").context("cluster url")?;
    let two_hosts =
        format!("postgres://yijian@{down},127.0.0.1:{rest}?target_session_attrs=read-write");
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::spawn_configured(
        dir.path(),
        &two_hosts,
        "[postgres]\nmax_connections = 3\nstatement_timeout_secs = 7\n",
        "server.log",
    )?;

    // The database's own count of the server's sessions, sampled throughout the burst.
    let (monitor, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let most = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (most, done) = (Arc::clone(&most), Arc::clone(&done));
        tokio::spawn(async move {
            let mut samples = 0u32;
            while !done.load(Ordering::Relaxed) {
                let row = monitor
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE application_name = 'yijian-server'",
                        &[],
                    )
                    .await?;
                most.fetch_max(row.get(0), Ordering::Relaxed);
                samples += 1;
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            anyhow::Ok(samples)
        })
    };

    let http = reqwest::Client::new();
    let burst = (0..60).map(|_| {
        let (http, url) = (http.clone(), format!("{}/healthz", server.url()));
        tokio::spawn(async move { http.get(url).send().await?.error_for_status() })
    });
    let mut answered = 0;
    for r in futures_join(burst).await {
        r??;
        answered += 1;
    }
    done.store(true, Ordering::Relaxed);
    let samples = sampler.await??;
    assert_eq!(answered, 60);
    assert!(samples > 0, "the sampler never ran");
    let most = most.load(Ordering::Relaxed);
    assert!(most >= 1, "no server session was ever seen");
    assert!(most <= 3, "{most} sessions open at once; the pool allows 3");

    let health: serde_json::Value = http
        .get(format!("{}/healthz", server.url()))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(health["pool"]["max_connections"], 3, "{health}");
    assert_eq!(health["pool"]["statement_timeout"], "7s", "{health}");
    // Short statements many at once: no parallel workers (their start-up cost a province's
    // delta pull ten times its own work).
    assert_eq!(health["pool"]["parallel_workers"], "0", "{health}");
    assert!(
        health["pool"]["open"]
            .as_u64()
            .is_some_and(|n| (1..=3).contains(&n)),
        "{health}"
    );
    Ok(())
}

/// Await every task, in order.
async fn futures_join<T>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let tasks: Vec<_> = tasks.collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await);
    }
    out
}

/// Rows a plan read and threw away by a filter (`EXPLAIN ANALYZE`'s "Rows Removed by
/// Filter", over all its nodes), and the rows the statement returns.
async fn rows_filtered_out(
    db: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> anyhow::Result<(u64, usize)> {
    let mut removed = 0;
    for line in db.query(&format!("EXPLAIN ANALYZE {sql}"), params).await? {
        let line: String = line.get(0);
        if let Some((_, n)) = line.split_once("Rows Removed by Filter:") {
            removed += n.trim().parse::<u64>()?;
        }
    }
    Ok((removed, db.query(sql, params).await?.len()))
}

/// The keyed lookups of a push (records to lock, commands already applied) and of a
/// department's upload (its rows) stay one index descent per key when the planner's
/// statistics say the kind, device or department is rare: as after a province's register is
/// imported and analysed and the cases come later. The plain `= ANY` form on the same table is
/// run too, to show the skew is real (it reads every case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lookups_by_key_stay_index_lookups_when_statistics_lag() -> anyhow::Result<()> {
    use yijian_server::store::postgres::by_key;
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_plans").await?;
    let storage = store::open(&DatabaseLocation::Postgres { url: url.clone() }).await?;
    drop(storage);
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(conn);
    // What the statistics see: households only, one device's commands, one department's rows.
    db.batch_execute(
        "INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
           SELECT 'household', 'h' || g, '621102105201', '{}', '0', 1, now()
             FROM generate_series(1, 20000) g;
         INSERT INTO applied_commands (device_id, command_id, body_hash, outcome, applied_at)
           SELECT 'old-device', 'c' || g, 'x', '{}', now() FROM generate_series(1, 20000) g;
         INSERT INTO alert_rows (department, row_key, batch_id, line, outcome, body)
           SELECT 'civil', 'r' || g, 'b', g, 'matched', '{}' FROM generate_series(1, 20000) g;
         ANALYZE records; ANALYZE applied_commands; ANALYZE alert_rows;
         INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
           SELECT 'case', 'k' || g, '621102105201', '{\"n\":' || g || '}', '0', 1, now()
             FROM generate_series(1, 3000) g;
         INSERT INTO applied_commands (device_id, command_id, body_hash, outcome, applied_at)
           SELECT 'new-device', 'c' || g, 'x', '{}', now() FROM generate_series(1, 3000) g;
         INSERT INTO alert_rows (department, row_key, batch_id, line, outcome, body)
           SELECT 'health', 'r' || g, 'b', g, 'matched', '{}' FROM generate_series(1, 3000) g;",
    )
    .await?;
    let keys = vec!["k2999".to_owned(), "k17".to_owned(), "k-missing".to_owned()];

    let (plain_removed, plain_found) = rows_filtered_out(
        &db,
        "SELECT id FROM records WHERE kind = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
        &[&"case", &keys],
    )
    .await?;
    assert_eq!(plain_found, 2);
    assert!(
        plain_removed > 1000,
        "the statistics were meant to mislead the plain form; it filtered {plain_removed} rows"
    );

    for (sql, first, keys) in [
        (by_key::RECORDS_LOCKED, "case", keys.clone()),
        (by_key::RECORDS, "case", keys.clone()),
        (
            by_key::APPLIED_COMMANDS,
            "new-device",
            vec!["c5".to_owned(), "c2999".to_owned(), "c9999".to_owned()],
        ),
        (
            by_key::ALERT_ROWS,
            "health",
            vec!["r5".to_owned(), "r2999".to_owned(), "r9999".to_owned()],
        ),
    ] {
        let (removed, found) = rows_filtered_out(&db, sql, &[&first, &keys]).await?;
        assert_eq!(found, 2, "{sql}");
        assert_eq!(removed, 0, "{sql} read rows it did not need");
    }
    // The rows themselves: locked lookups give each record once, in the order of the keys.
    let rows = db
        .query(by_key::RECORDS_LOCKED, &[&"case", &keys])
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(2)))
        .collect::<Vec<_>>();
    assert_eq!(
        rows,
        vec![
            ("k2999".to_owned(), Some(r#"{"n":2999}"#.to_owned())),
            ("k17".to_owned(), Some(r#"{"n":17}"#.to_owned())),
        ]
    );
    drop(db);
    task.await??;
    Ok(())
}
