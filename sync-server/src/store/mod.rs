//! Storage: one trait whose methods are domain actions, one backend per database.
//!
//! The backend is chosen once at start from the configuration (`--data-dir` → SQLite,
//! `postgres://` → PostgreSQL) and put in [`crate::AppState`] as `Arc<dyn Storage>`. Each
//! backend applies its own migrations (from `migrations/server-sqlite` or
//! `migrations/server-postgres`) when it opens, so a started server always has its schema.
//!
//! Storage knows nothing of the procedure: domain logic (what a pushed command does, a
//! resident's declaration, the deadline job) runs *inside* a transaction through [`write`] and
//! [`read`], written once against the synchronous [`tx::RecordTx`] that both backends implement
//! over one database transaction (rusqlite, and the synchronous `postgres` client, each on
//! tokio's blocking pool). Nothing in this module imports the domain.

pub mod codec;
pub mod figures;
pub mod postgres;
pub mod rows;
pub mod sqlite;
pub mod tx;

use std::any::Any;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{DeviceId, UserId};
use yijian_core::protocol::{Change, Cursor};
use yijian_core::schema::SchemaError;

use crate::config::{DatabaseLocation, PostgresConfig};
use crate::store::rows::DeviceSession;
use yijian_core::protocol::auth::Account;

/// What `/healthz` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageHealth {
    pub backend: &'static str,
    /// Number of schema migrations applied.
    pub migrations: i64,
    /// The connection pool (PostgreSQL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolHealth>,
}

/// A PostgreSQL process's connections, for operators sizing `[postgres] max_connections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolHealth {
    pub max_connections: u32,
    /// Sessions open now (busy and idle).
    pub open: u32,
    pub idle: u32,
    /// As a session reports it (`SHOW statement_timeout`).
    pub statement_timeout: String,
    /// Parallel workers a statement may start (`SHOW max_parallel_workers_per_gather`): 0, as
    /// the sessions set it.
    pub parallel_workers: String,
}

/// How a database failed, in words that do not depend on the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseFailure {
    /// Lost a race with another transaction (serialization failure, deadlock, a unique key
    /// taken meanwhile): running the same transaction again may succeed.
    Conflict,
    /// A constraint of the schema refused the write.
    Constraint,
    /// Anything else (connection lost, disk full, a bug in SQL).
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database refused or failed; `backend` is `"sqlite"` or `"postgres"`.
    #[error("{backend}: {message}")]
    Database {
        backend: &'static str,
        failure: DatabaseFailure,
        message: String,
    },
    #[error("schema: {0}")]
    Schema(#[from] SchemaError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0} already exists")]
    Duplicate(String),
    /// A write named another village for a stored record; records never move between villages.
    #[error("the village of {kind} {id} cannot change")]
    VillageChange { kind: String, id: String },
    #[error("bad cursor {0:?}")]
    BadCursor(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("background task failed: {0}")]
    Task(String),
}

impl StorageError {
    /// Whether running the same transaction again may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StorageError::Database {
                failure: DatabaseFailure::Conflict,
                ..
            }
        )
    }
}

/// One page of the change feed of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub changes: Vec<Change>,
    /// Where the next page starts (equal to the request's cursor when nothing new).
    pub next_cursor: Cursor,
    pub has_more: bool,
}

/// Where a first sync stands: inside `village`, after the feed position `after` (records of a
/// scope are sent village by village, each village in feed order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMark {
    pub village: String,
    pub after: Cursor,
}

impl SnapshotMark {
    /// A mark the phone sent back, checked against the asker's scope: a forged mark naming a
    /// village outside it must not read that village.
    pub fn in_scope(&self, scope: &DivisionCode) -> Result<(), StorageError> {
        // Any code inside the scope (records carry village codes, but a mark must never send
        // a phone into a loop of refused pages because a record carried another length).
        let village = &self.village;
        if village.len() <= 12
            && village.bytes().all(|b| b.is_ascii_digit())
            && village.starts_with(scope.as_str())
        {
            Ok(())
        } else {
            Err(StorageError::BadCursor(format!(
                "snapshot village {village}"
            )))
        }
    }
}

/// One page of a first sync: live records only, and where the next page starts (`None` after
/// the scope's last village).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotSlice {
    pub records: Vec<Change>,
    pub next: Option<SnapshotMark>,
}

/// A record written by the server itself (demo seed, benchmark load, server-side edits).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    pub kind: String,
    pub id: String,
    pub village: String,
    /// JSON text; `None` deletes.
    pub body: Option<String>,
    pub hlc: Hlc,
}

/// A user's stored credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: Account,
    pub password_hash: String,
    pub disabled: bool,
}

/// A device as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub id: DeviceId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// When the revoked device confirmed it erased its data.
    pub wiped_at: Option<DateTime<Utc>>,
}

/// Domain logic to run inside one transaction, written once against [`tx::RecordTx`]. It may
/// run more than once (PostgreSQL retries a transaction that lost a race), so it must not have
/// effects outside the transaction.
pub type TxWork =
    Arc<dyn Fn(&mut dyn tx::RecordTx) -> Result<Box<dyn Any + Send>, StorageError> + Send + Sync>;

/// Run `work` in one writing transaction and return what it returned.
pub async fn write<T: Send + 'static>(
    storage: &dyn Storage,
    work: impl Fn(&mut dyn tx::RecordTx) -> Result<T, StorageError> + Send + Sync + 'static,
) -> Result<T, StorageError> {
    let out = storage
        .transact(Arc::new(move |tx| {
            work(tx).map(|v| Box::new(v) as Box<dyn Any + Send>)
        }))
        .await?;
    downcast(out)
}

/// Run `work` in one read-only transaction (a consistent view; nothing may be written).
pub async fn read<T: Send + 'static>(
    storage: &dyn Storage,
    work: impl Fn(&mut dyn tx::RecordTx) -> Result<T, StorageError> + Send + Sync + 'static,
) -> Result<T, StorageError> {
    let out = storage
        .read_only(Arc::new(move |tx| {
            work(tx).map(|v| Box::new(v) as Box<dyn Any + Send>)
        }))
        .await?;
    downcast(out)
}

fn downcast<T: 'static>(out: Box<dyn Any + Send>) -> Result<T, StorageError> {
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| StorageError::Task("transaction returned another type".into()))
}

/// The server's storage. Methods are named for what the domain does, not for SQL.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// A cheap round trip to the database.
    async fn health(&self) -> Result<StorageHealth, StorageError>;

    /// Add users with their password hashes, all or none, in one transaction;
    /// [`StorageError::Duplicate`] if a login is taken.
    async fn create_users(&self, users: Vec<(Account, String)>) -> Result<(), StorageError>;

    /// Add one user; [`StorageError::Duplicate`] if the login is taken.
    async fn create_user(&self, user: &Account, password_hash: &str) -> Result<(), StorageError> {
        self.create_users(vec![(user.clone(), password_hash.to_owned())])
            .await
    }

    /// The user signing in with `login`, with the password hash.
    async fn credentials(&self, login: &str) -> Result<Option<Credentials>, StorageError>;

    async fn list_users(&self) -> Result<Vec<Account>, StorageError>;

    /// Record a login from a device; its token works until `expires_at`.
    async fn create_device(
        &self,
        device_id: DeviceId,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Give one of `user_id`'s devices a new token (and lift a revocation): a new login from a
    /// device that had one before. `false` if the device is unknown or another user's.
    async fn reauthorize_device(
        &self,
        device_id: DeviceId,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StorageError>;

    /// The live session a token belongs to at `now`: `None` if unknown, revoked, expired, or
    /// the user disabled.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DeviceSession>, StorageError>;

    /// Revoke a device's token and forget its escrow key; `false` if there was no such live
    /// device.
    async fn revoke_device(&self, device_id: DeviceId) -> Result<bool, StorageError>;

    /// The device whose token this is, if it was revoked (it is told to erase its data).
    async fn revoked_device(&self, token_hash: &str) -> Result<Option<DeviceId>, StorageError>;

    /// The device's escrow key (base64), made from `fresh` on the first call.
    async fn device_escrow_key(
        &self,
        device_id: DeviceId,
        fresh: &str,
    ) -> Result<String, StorageError>;

    /// A revoked device says it erased its data.
    async fn confirm_wipe(
        &self,
        device_id: DeviceId,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    async fn list_devices(&self, user_id: UserId) -> Result<Vec<DeviceInfo>, StorageError>;

    /// The change feed of `scope` after `cursor` (from the start when `None`).
    async fn pull(
        &self,
        scope: &DivisionCode,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<FeedPage, StorageError>;

    /// The feed position a first sync starting now continues from: every change committed
    /// after this call, or not yet visible to it, comes after it in the feed.
    async fn feed_head(&self) -> Result<Cursor, StorageError>;

    /// A page of `scope`'s live records for a first sync, village by village and each village
    /// in feed order, from `from` (the scope's first village when `None`). Each query reads
    /// one village's slice of the scope index and stops at the page's end, so a page costs the
    /// same in a township as in a village; reading a wide scope in feed order would collect and
    /// sort (PostgreSQL) or walk past (SQLite) the whole scope on every page. A record written
    /// meanwhile may come twice (in the page and again in the feed after [`Storage::feed_head`]);
    /// the phone keeps the higher version.
    async fn snapshot_page(
        &self,
        scope: &DivisionCode,
        from: Option<&SnapshotMark>,
        limit: u32,
    ) -> Result<SnapshotSlice, StorageError>;

    /// How many live records `scope` holds (for first-sync progress).
    async fn count_records(&self, scope: &DivisionCode) -> Result<u64, StorageError>;

    /// Write records as the server (one transaction).
    async fn import_records(&self, records: Vec<ImportRecord>) -> Result<(), StorageError>;

    /// Whether a user whose scope is `scope` may read the blob: a photo record in the scope
    /// names it.
    async fn blob_visible(&self, sha256: &str, scope: &DivisionCode) -> Result<bool, StorageError>;

    /// Link a blob to a village outside a push (the photo records of imports and tests).
    async fn link_blob(&self, sha256: &str, village: &DivisionCode) -> Result<(), StorageError>;

    /// The current body of one record.
    async fn record(&self, kind: &str, id: &str) -> Result<Option<tx::StoredRecord>, StorageError>;

    /// Run domain logic in one writing transaction (see [`write`]).
    async fn transact(&self, work: TxWork) -> Result<Box<dyn Any + Send>, StorageError>;

    /// Run domain logic in one read-only transaction (see [`read`]).
    async fn read_only(&self, work: TxWork) -> Result<Box<dyn Any + Send>, StorageError>;
}

/// Open (and migrate) the storage the configuration names.
pub async fn open(location: &DatabaseLocation) -> Result<Arc<dyn Storage>, StorageError> {
    open_with(location, &PostgresConfig::default()).await
}

/// [`open`] with the PostgreSQL pool's settings from the configuration (unused on SQLite).
pub async fn open_with(
    location: &DatabaseLocation,
    postgres: &PostgresConfig,
) -> Result<Arc<dyn Storage>, StorageError> {
    let storage: Arc<dyn Storage> = match location {
        DatabaseLocation::Sqlite { data_dir } => {
            Arc::new(sqlite::SqliteStorage::open_in(data_dir).await?)
        }
        DatabaseLocation::Postgres { url } => {
            Arc::new(postgres::PostgresStorage::connect_with(url, postgres).await?)
        }
    };
    build_figures_if_missing(&*storage).await?;
    Ok(storage)
}

/// Count a database's cases into the dashboard's rollup once, when it was filled before the
/// rollup existed (every later change keeps it up to date).
async fn build_figures_if_missing(storage: &dyn Storage) -> Result<(), StorageError> {
    let built = write(storage, |tx| {
        if !tx.figures_missing()? {
            return Ok(false);
        }
        tx.rebuild_figures()?;
        Ok(true)
    })
    .await?;
    if built {
        tracing::info!("counted the existing cases into the dashboard's rollup (case_figures)");
    }
    Ok(())
}
