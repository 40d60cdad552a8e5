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
