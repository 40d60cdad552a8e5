//! PostgreSQL backend: for more than one machine's worth of load, several server processes on
//! one database.
//!
//! Migrations run inside a transaction holding an advisory lock, so two processes started at
//! once cannot both apply the same migration.

use tokio_postgres::{Client, NoTls};
use yijian_core::schema::{self, AppliedMigration, Migration};

use super::{Storage, StorageError, StorageHealth};

/// The server's PostgreSQL migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 20261128190000,
    name: "20261128190000_init.sql",
    sql: include_str!("../../../migrations/server-postgres/20261128190000_init.sql"),
}];

/// Arbitrary constant naming the migration lock ("yijian" in ASCII).
const MIGRATION_LOCK: i64 = 0x0000_7969_6a69_616e;

#[derive(Debug)]
pub struct PostgresStorage {
    client: Client,
}

impl PostgresStorage {
    /// Connect and migrate.
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(error = %e, "postgres connection ended");
            }
        });
        migrate(&mut client, MIGRATIONS).await?;
        Ok(PostgresStorage { client })
    }
}

/// Apply the pending migrations under an advisory lock, all in one transaction.
pub async fn migrate(client: &mut Client, all: &[Migration]) -> Result<usize, StorageError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );",
    )
    .await?;
    let applied: Vec<AppliedMigration> = tx
        .query(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?
        .iter()
        .map(|r| AppliedMigration {
            version: r.get(0),
            checksum: r.get(1),
        })
        .collect();
    let todo = schema::pending(all, &applied)?;
    for m in &todo {
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum()],
        )
        .await?;
        tracing::info!(migration = m.name, "applied postgres migration");
    }
    tx.commit().await?;
    Ok(todo.len())
}

#[async_trait::async_trait]
impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        let row = self
            .client
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .await?;
        Ok(StorageHealth {
            backend: "postgres",
            migrations: row.get(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/server-postgres");
        yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
    }
}
