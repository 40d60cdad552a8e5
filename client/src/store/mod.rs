//! The device's local database: one SQLCipher file under the app's data directory, opened with
//! the data key [`crate::vault`] unwraps.
//!
//! Everything a grid worker records offline lives here until the server acknowledges it, so the
//! file is opened in WAL mode with durable commits and migrated on open (see `yijian-sqlite`).
//!
//! The rules users feel are kept here, in SQL transactions, not in the sync code:
//! - a local change writes its records and its outbox command in ONE transaction
//!   ([`LocalStore::record_command`]): the app may be killed at any instant and nothing is lost
//!   or half-written;
//! - a pulled page and the cursor that follows it are written in ONE transaction
//!   ([`LocalStore::apply_changes`]), so a cut connection never skips or doubles a page;
//! - a pulled record never overwrites a record a pending command touches: the server's copy is
//!   kept aside and replaces the device's body only once the last pending command on it has
//!   been acknowledged or refused (the server's merge result then arrives through the feed);
//! - command timestamps come from a hybrid logical clock persisted with every command, so a
//!   phone clock turned back cannot reorder the worker's own edits.
//!
//! Terms: a **touch** is a record a command changes on the device, with the body the device
//! shows meanwhile; a record is **pending** while an outbox command touches it; **release** is
//! what happens to a record when its last pending command leaves the outbox.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use yijian_core::hlc::{Hlc, HlcClock};
use yijian_core::ids::{CommandId, DeviceId};
use yijian_core::protocol::{Change, Cursor};
use yijian_core::schema::Migration;

pub use yijian_core::protocol::auth::Account;

use crate::error::{Error, Result};
use crate::media::PhotoFiles;
use crate::vault::DataKey;

/// The device's migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261128190000,
        name: "20261128190000_init.sql",
        sql: include_str!("../../../migrations/client/20261128190000_init.sql"),
    },
    Migration {
        version: 20261128200000,
        name: "20261128200000_sync.sql",
        sql: include_str!("../../../migrations/client/20261128200000_sync.sql"),
    },
    Migration {
        version: 20261201090000,
        name: "20261201090000_app.sql",
        sql: include_str!("../../../migrations/client/20261201090000_app.sql"),
    },
    Migration {
        version: 20261201120000,
        name: "20261201120000_notices.sql",
        sql: include_str!("../../../migrations/client/20261201120000_notices.sql"),
    },
];

/// Page size of the encrypted store (fixed for a file's life: every open sets the same).
pub(crate) const CIPHER_PAGE_SIZE: u32 = 64 * 1024;

/// Page authentication: HMAC-SHA256, which phones' ARMv8 cores run in hardware (SHA-512 needs
/// ARMv8.2); fixed for a file's life like the page size.
pub(crate) const CIPHER_HMAC: &str = "HMAC_SHA256";

/// The store's errors are the engine's errors; the name is kept for the app crate.
pub type StoreError = Error;

/// Keys of `sync_state`.
mod key {
    pub const SERVER: &str = "server";
    pub const TOKEN: &str = "token";
    pub const DEVICE_ID: &str = "device_id";
    pub const USER: &str = "user";
    pub const TOKEN_REJECTED: &str = "token_rejected";
    pub const CURSOR: &str = "cursor";
    pub const SNAPSHOT_PAGE: &str = "snapshot_page";
    pub const SNAPSHOT_DONE: &str = "snapshot_done";
    pub const SNAPSHOT_TOTAL: &str = "snapshot_total";
    pub const LAST_SYNC_AT: &str = "last_sync_at";
    pub const LAST_SYNC_ERROR: &str = "last_sync_error";
    pub const HLC_LAST: &str = "hlc_last";
    pub const HLC_NODE: &str = "hlc_node";
}

/// Where "now" comes from; replaceable so tests can turn the phone's clock back.
type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// RFC 3339 with milliseconds in UTC: fixed width, so text order is time order.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn unix_ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

/// An open local database.
pub struct LocalStore {
    path: PathBuf,
    conn: Connection,
    clock: Clock,
    photos: PhotoFiles,
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What the device needs to talk to its server.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub server: String,
    pub token: String,
    pub device_id: DeviceId,
    pub user: Account,
    /// The server answered 401 to this token: a new login is needed before syncing again.
    pub token_rejected: bool,
}

impl fmt::Debug for Session {
    /// The token is a password: never in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("token", &"***")
            .field("device_id", &self.device_id)
            .field("user", &self.user)
            .field("token_rejected", &self.token_rejected)
            .finish()
    }
}

/// One record a command changes on the device, and the body the device shows meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    pub kind: String,
    pub id: String,
    pub village: String,
    pub body: Value,
}

impl Touch {
    pub fn new(
        kind: impl Into<String>,
        id: impl ToString,
        village: impl ToString,
        body: &impl Serialize,
    ) -> Result<Touch> {
        Ok(Touch {
            kind: kind.into(),
            id: id.to_string(),
            village: village.to_string(),
            body: serde_json::to_value(body)?,
        })
    }
}

/// A record as the device holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalRecord {
    pub kind: String,
    pub id: String,
    pub village: String,
    pub body: Value,
    pub hlc: Hlc,
    /// The server version the body is based on; 0: the record exists only on this device.
    pub version: i64,
    /// A command touching it waits in the outbox.
    pub pending: bool,
}

/// One command waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub seq: i64,
    pub command_id: CommandId,
    /// The command exactly as stored (and pushed).
    pub command: Box<RawValue>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// A command the server refused, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantinedCommand {
    pub command_id: CommandId,
    pub command: Value,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
    pub created_at: String,
    pub quarantined_at: String,
}

/// What to do with one pushed command, decided from the server's answer (see
/// [`crate::sync::plan::plan_push`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxAction {
    /// Applied now or before: leave the outbox.
    Ack(CommandId),
    /// Refused: move to the quarantine with the server's reason.
    Quarantine {
        id: CommandId,
        code: String,
        message_zh: String,
        message_en: String,
    },
    /// No usable answer: keep it, count the attempt.
    Keep { id: CommandId, error: String },
}

/// How many commands each action took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PushTally {
    pub acknowledged: u64,
    pub quarantined: u64,
    pub kept: u64,
}

/// Where the feed continues after a page: saved with the page's rows.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedPosition {
    /// A change-feed page.
    Pull { next_cursor: Cursor },
    /// A snapshot page; `next_page: None` ends the snapshot and switches to the feed at
    /// `resume_cursor`.
    Snapshot {
        next_page: Option<String>,
        resume_cursor: Cursor,
        total: u64,
    },
}

/// Where pulling stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullState {
    /// First sync not started or in progress: fetch this snapshot page (`None`: the first).
    Snapshot {
        page: Option<String>,
        done: u64,
        total: u64,
    },
    /// Snapshot complete: follow the change feed from here.
    Feed { cursor: Cursor },
}

/// What a pulled page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyTally {
    /// Written to the device's view.
    pub applied: u64,
    /// Kept aside because a local change to the record is pending.
    pub kept_aside: u64,
}

/// Upload state of one photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    Waiting,
    Uploading,
    Done,
    Failed,
}

impl PhotoStatus {
    fn as_str(self) -> &'static str {
        match self {
            PhotoStatus::Waiting => "waiting",
            PhotoStatus::Uploading => "uploading",
            PhotoStatus::Done => "done",
            PhotoStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<PhotoStatus> {
        Ok(match s {
            "waiting" => PhotoStatus::Waiting,
            "uploading" => PhotoStatus::Uploading,
            "done" => PhotoStatus::Done,
            "failed" => PhotoStatus::Failed,
            other => return Err(Error::Corrupt(format!("photo status {other:?}"))),
        })
    }
}

/// One photo in the upload queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoJob {
    pub sha256: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub owner_kind: String,
    pub owner_id: String,
    pub status: PhotoStatus,
    pub uploaded_bytes: u64,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
}

/// What the device has not yet sent or received; `yijian status` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub logged_in: bool,
    pub token_rejected: bool,
    pub server: Option<String>,
    pub device_id: Option<String>,
    pub user: Option<Account>,
    pub outbox: u64,
    pub quarantine: u64,
    pub records: u64,
    pub photos_pending: u64,
    pub photos_failed: u64,
    pub photos_done: u64,
    pub last_sync_at: Option<String>,
    pub last_sync_error: Option<String>,
    pub cursor: Option<String>,
    /// First sync under way: `(records done, records total)`.
    pub snapshot: Option<(u64, u64)>,
}

fn get_state(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

fn set_state(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )?;
    Ok(())
}

fn delete_state(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM sync_state WHERE key = ?1", [key])?;
    Ok(())
}

fn parse_state<T: std::str::FromStr>(conn: &Connection, key: &str) -> Result<Option<T>>
where
    T::Err: fmt::Display,
{
    get_state(conn, key)?
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| Error::Corrupt(format!("sync_state {key}: {e}")))
        })
        .transpose()
}

/// The device's HLC, resumed from the last persisted timestamp. The node id is random per
/// installation, made once.
fn load_clock(conn: &Connection) -> Result<HlcClock> {
    let node = match parse_state::<u32>(conn, key::HLC_NODE)? {
        Some(n) => n,
        None => {
            let n = getrandom::u32().map_err(|e| Error::Corrupt(format!("random: {e}")))?;
            set_state(conn, key::HLC_NODE, &n.to_string())?;
            n
        }
    };
    Ok(match parse_state::<Hlc>(conn, key::HLC_LAST)? {
        Some(last) => HlcClock::resume(node, last),
        None => HlcClock::new(node),
    })
}

fn is_pending(conn: &Connection, kind: &str, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox_touches WHERE kind = ?1 AND id = ?2)")?
        .query_row((kind, id), |r| r.get(0))?)
}

/// Write the device's new body of a touched record. The first local change of a record that
/// came from the server keeps the server's copy aside, so a refusal can restore it.
fn upsert_local(conn: &Connection, t: &Touch, hlc: Hlc) -> Result<()> {
    if !is_pending(conn, &t.kind, &t.id)? {
        conn.execute(
            "UPDATE records
                SET server_body = body, server_hlc = hlc, server_version = version,
                    restore_on_release = 0
              WHERE kind = ?1 AND id = ?2 AND version > 0",
            (&t.kind, &t.id),
        )?;
    }
    conn.execute(
        "INSERT INTO records (kind, id, village, body, hlc, version)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)
         ON CONFLICT (kind, id) DO UPDATE
            SET village = excluded.village, body = excluded.body, hlc = excluded.hlc",
        params![
            t.kind,
            t.id,
            t.village,
            serde_json::to_string(&t.body)?,
            hlc.to_string()
        ],
    )?;
    Ok(())
}

/// A record's last pending command has left the outbox: if the server's copy must win (it
/// changed meanwhile, or the device's change was refused), put it back.
fn release(conn: &Connection, kind: &str, id: &str) -> Result<()> {
    if is_pending(conn, kind, id)? {
        return Ok(());
    }
    // Deleted on the server meanwhile.
    conn.prepare_cached(
        "DELETE FROM records
          WHERE kind = ?1 AND id = ?2 AND restore_on_release = 1
            AND server_version IS NOT NULL AND server_body IS NULL",
    )?
    .execute((kind, id))?;
    conn.prepare_cached(
        "UPDATE records
            SET body = server_body, hlc = server_hlc, version = server_version
          WHERE kind = ?1 AND id = ?2 AND restore_on_release = 1
            AND server_version IS NOT NULL AND server_body IS NOT NULL",
    )?
    .execute((kind, id))?;
    conn.prepare_cached(
        "UPDATE records
            SET server_body = NULL, server_hlc = NULL, server_version = NULL,
                restore_on_release = 0
          WHERE kind = ?1 AND id = ?2",
    )?
    .execute((kind, id))?;
    Ok(())
}

/// Apply one pulled change; `true` when it was kept aside for a pending record.
fn apply_change(conn: &Connection, c: &Change, any_pending: bool) -> Result<bool> {
    let data = c.data.as_ref().map(|d| d.get());
    let hlc = c.hlc.to_string();
    if any_pending && is_pending(conn, &c.kind, &c.id)? {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM records WHERE kind = ?1 AND id = ?2)",
            (&c.kind, &c.id),
            |r| r.get(0),
        )?;
        if exists {
            conn.execute(
                "UPDATE records
                    SET server_body = ?3, server_hlc = ?4, server_version = ?5,
                        restore_on_release = 1
                  WHERE kind = ?1 AND id = ?2
                    AND (server_version IS NULL OR server_version <= ?5)",
                params![c.kind, c.id, data, hlc, c.version],
            )?;
            return Ok(true);
        }
    }
    match data {
        None => {
            conn.execute(
                "DELETE FROM records WHERE kind = ?1 AND id = ?2 AND version <= ?3",
                params![c.kind, c.id, c.version],
            )?;
        }
        Some(body) => {
            // A page fetched again after a cut carries the same versions: harmless. An older
            // version never replaces a newer one.
            conn.prepare_cached(
                "INSERT INTO records (kind, id, village, body, hlc, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (kind, id) DO UPDATE
                    SET village = excluded.village, body = excluded.body, hlc = excluded.hlc,
                        version = excluded.version, server_body = NULL, server_hlc = NULL,
                        server_version = NULL, restore_on_release = 0
                  WHERE excluded.version >= records.version",
            )?
            .execute(params![c.kind, c.id, c.village, body, hlc, c.version])?;
        }
    }
    Ok(false)
}

/// The records a quarantined command touches; an error if it is not in the quarantine.
fn quarantined_touches(conn: &Connection, id: CommandId) -> Result<Vec<(String, String)>> {
    let touches: Option<String> = conn
        .query_row(
            "SELECT touches FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(touches) = touches else {
        return Err(Error::invalid(format!("隔离区中没有这条记录（{id}）")));
    };
    Ok(serde_json::from_str(&touches)?)
}

fn command_id(s: &str) -> Result<CommandId> {
    CommandId::parse(s).map_err(|e| Error::Corrupt(e.to_string()))
}

fn touches_of(conn: &Connection, command: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, id FROM outbox_touches WHERE command_id = ?1 ORDER BY kind, id",
    )?;
    let rows = stmt.query_map([command], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    let n: i64 = conn.query_row(sql, [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

impl LocalStore {
    /// Open the encrypted store at `path` with its data key (creating the file and its
    /// directory if needed) and migrate. A wrong key is [`Error::WrongKey`]; nothing is written.
    pub fn open(path: &Path, key: &DataKey) -> Result<LocalStore> {
        LocalStore::open_with(path, Some(key))
    }

    /// A plain store, with plain photo files: only the benchmarks' anchor ("what encryption
    /// costs") and the upgrade of a store made before encryption use it.
    #[doc(hidden)]
    pub fn open_unencrypted(path: &Path) -> Result<LocalStore> {
        LocalStore::open_with(path, None)
    }

    fn open_with(path: &Path, key: Option<&DataKey>) -> Result<LocalStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut conn = Connection::open(path)?;
        if let Some(key) = key {
            conn.execute_batch(&key.sqlcipher_pragma())?;
            // 16 KiB pages: SQLCipher's cost is mostly per page (a cipher and an HMAC set up
            // for each), and the inbox reads whole tables; measured by `make bench-inbox`.
            conn.execute_batch(&format!(
                "PRAGMA cipher_page_size = {CIPHER_PAGE_SIZE}; \
                 PRAGMA cipher_hmac_algorithm = {CIPHER_HMAC};"
            ))?;
            // SQLCipher reads the key lazily: a wrong one shows at the first read.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|_| Error::WrongKey)?;
        }
        // Sorts and temporary indexes stay in memory: no plain temporary file on the flash.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        if key.is_some() {
            // Every page read from flash (or the OS cache) is decrypted and its HMAC checked;
            // a page cache of 32 MiB keeps a village's working set decrypted once per open
            // instead of once per screen (a 2 GB phone has it; SQLite's default is 2 MiB).
            conn.pragma_update(None, "cache_size", -32 * 1024)?;
        }
        yijian_sqlite::configure(&conn)?;
        yijian_sqlite::migrate(&mut conn, MIGRATIONS)?;
        let photos_dir = path
            .parent()
            .map_or_else(|| PathBuf::from("photos"), |d| d.join("photos"));
        Ok(LocalStore {
            path: path.to_path_buf(),
            conn,
            clock: Arc::new(Utc::now),
            photos: PhotoFiles::new(photos_dir, key.map(DataKey::photo_cipher)),
        })
    }

    /// Use another clock (tests: a phone whose clock is turned back).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The photo files of this device (`photos/` next to the database).
    pub fn photo_files(&self) -> PhotoFiles {
        self.photos.clone()
    }

    /// Rows written through this store since it was opened. It only grows, and it changes with
    /// every write, so a view computed from the records (the inbox) stays valid while it does
    /// not change.
    pub fn write_count(&self) -> u64 {
        self.conn.total_changes()
    }

    /// The connection, for the modules of this crate that keep their own tables.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection for a module's own transaction.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The device's idea of now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Number of schema migrations applied.
    pub fn schema_version_count(&self) -> Result<i64> {
        Ok(yijian_sqlite::applied_count(&self.conn)?)
    }

    /// A device-level setting (server address, device id, …).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM device_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn delete_meta(&self, key: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM device_meta WHERE key = ?1", [key])?;
        Ok(())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO device_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )?;
        Ok(())
    }
}

/// A records row before its JSON is parsed.
struct LocalRecordRow {
    kind: String,
    id: String,
    village: String,
    body: String,
    hlc: String,
    version: i64,
}

impl LocalRecordRow {
    fn into_record(self, pending: bool) -> Result<LocalRecord> {
        Ok(LocalRecord {
            body: serde_json::from_str(&self.body)?,
            hlc: self
                .hlc
                .parse()
                .map_err(|e: yijian_core::hlc::HlcParseError| Error::Corrupt(e.to_string()))?,
            kind: self.kind,
            id: self.id,
            village: self.village,
            version: self.version,
            pending,
        })
    }
}

mod changes;
mod outbox;
mod photos;
mod pull;
mod reading;
mod session;
#[cfg(test)]
mod tests;
