//! Storage: one trait whose methods are domain actions, one backend per database.
//!
//! The backend is chosen once at start from the configuration (`--data-dir` → SQLite,
//! `postgres://` → PostgreSQL) and put in [`crate::AppState`] as `Arc<dyn Storage>`. Each
//! backend applies its own migrations (from `migrations/server-sqlite` or
//! `migrations/server-postgres`) when it opens, so a started server always has its schema.

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use serde::Serialize;
use yijian_core::schema::SchemaError;

use crate::config::DatabaseLocation;

/// What `/healthz` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageHealth {
    pub backend: &'static str,
    /// Number of schema migrations applied.
    pub migrations: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("schema: {0}")]
    Schema(#[from] SchemaError),
    #[error("{0}")]
    Open(#[from] yijian_sqlite::OpenError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("background task failed: {0}")]
    Task(String),
}

/// The server's storage. Methods are named for what the domain does, not for SQL.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// A cheap round trip to the database.
    async fn health(&self) -> Result<StorageHealth, StorageError>;
}

/// Open (and migrate) the storage the configuration names.
pub async fn open(location: &DatabaseLocation) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match location {
        DatabaseLocation::Sqlite { data_dir } => {
            Arc::new(sqlite::SqliteStorage::open_in(data_dir).await?)
        }
        DatabaseLocation::Postgres { url } => {
            Arc::new(postgres::PostgresStorage::connect(url).await?)
        }
    })
}
