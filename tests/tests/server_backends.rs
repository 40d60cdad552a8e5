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
