//! The device's local database: one SQLite file under the app's data directory.
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
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use yijian_core::hlc::{Hlc, HlcClock};
use yijian_core::ids::{CommandId, DeviceId};
use yijian_core::protocol::{Change, Command, CommandBody, Cursor, Wire};
use yijian_core::schema::Migration;

pub use yijian_core::protocol::auth::Account;

use crate::error::{Error, Result};

/// The device's migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261128190000,
        name: "20261128190000_init.sql",
        sql: include_str!("../../migrations/client/20261128190000_init.sql"),
    },
    Migration {
        version: 20261128200000,
        name: "20261128200000_sync.sql",
        sql: include_str!("../../migrations/client/20261128200000_sync.sql"),
    },
    Migration {
        version: 20261201090000,
        name: "20261201090000_app.sql",
        sql: include_str!("../../migrations/client/20261201090000_app.sql"),
    },
    Migration {
        version: 20261201120000,
        name: "20261201120000_notices.sql",
        sql: include_str!("../../migrations/client/20261201120000_notices.sql"),
    },
];

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
    /// Open (creating the file and its directory if needed) and migrate.
    pub fn open(path: &Path) -> Result<LocalStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = yijian_sqlite::open(path, MIGRATIONS)?;
        Ok(LocalStore {
            path: path.to_path_buf(),
            conn,
            clock: Arc::new(Utc::now),
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

    /// Where the photo files of this device live: `photos/` next to the database.
    pub fn photos_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("photos"), |d| d.join("photos"))
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

    // ---------------------------------------------------------------------------------------
    // Local changes
    // ---------------------------------------------------------------------------------------

    /// Record a local change: upsert the touched records with the bodies the device shows and
    /// append the command to the outbox, all in one transaction, with a timestamp from the
    /// persisted HLC.
    pub fn record_command(&mut self, body: CommandBody, touches: &[Touch]) -> Result<CommandId> {
        self.record_command_with(body, touches, |_| Ok(()))
    }

    /// [`LocalStore::record_command`] plus more writes (`extra`) in the same transaction.
    pub(crate) fn record_command_with(
        &mut self,
        body: CommandBody,
        touches: &[Touch],
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<CommandId> {
        let id = CommandId::new();
        self.record_command_as(id, body, touches, extra)?;
        Ok(id)
    }

    /// With a given command id (tests force a duplicate id to fail mid-transaction).
    pub(crate) fn record_command_as(
        &mut self,
        id: CommandId,
        body: CommandBody,
        touches: &[Touch],
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<Command> {
        let mut commands = self.record_batch_as(vec![(id, body, touches.to_vec())], extra)?;
        commands
            .pop()
            .ok_or_else(|| Error::Corrupt("no command recorded".into()))
    }

    /// Several local changes that belong together (a declaration and its confirmation photo,
    /// a finalised visit and its result), in ONE transaction and in this order: either all
    /// are recorded or none.
    pub fn record_batch(
        &mut self,
        commands: Vec<(CommandBody, Vec<Touch>)>,
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<Vec<CommandId>> {
        let with_ids = commands
            .into_iter()
            .map(|(body, touches)| (CommandId::new(), body, touches))
            .collect();
        Ok(self
            .record_batch_as(with_ids, extra)?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }

    fn record_batch_as(
        &mut self,
        commands: Vec<(CommandId, CommandBody, Vec<Touch>)>,
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<Vec<Command>> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let mut clock = load_clock(&tx)?;
        let mut recorded = Vec::with_capacity(commands.len());
        for (id, body, touches) in commands {
            let hlc = clock.tick(unix_ms(now));
            set_state(&tx, key::HLC_LAST, &hlc.to_string())?;
            for t in &touches {
                upsert_local(&tx, t, hlc)?;
            }
            let command = Command {
                id,
                hlc,
                body: Wire::Known(body),
            };
            let main = touches.first();
            tx.execute(
                "INSERT INTO outbox (command_id, command, record_kind, record_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.to_string(),
                    serde_json::to_string(&command)?,
                    main.map(|t| &t.kind),
                    main.map(|t| &t.id),
                    timestamp(now)
                ],
            )?;
            for t in &touches {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox_touches (command_id, kind, id) VALUES (?1, ?2, ?3)",
                    (id.to_string(), &t.kind, &t.id),
                )?;
            }
            recorded.push(command);
        }
        extra(&tx)?;
        tx.commit()?;
        Ok(recorded)
    }

    /// The last HLC timestamp this device issued or observed.
    pub fn last_hlc(&self) -> Result<Option<Hlc>> {
        parse_state(&self.conn, key::HLC_LAST)
    }

    // ---------------------------------------------------------------------------------------
    // Reading records
    // ---------------------------------------------------------------------------------------

    fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(LocalRecordRow, bool)> {
        Ok((
            LocalRecordRow {
                kind: r.get(0)?,
                id: r.get(1)?,
                village: r.get(2)?,
                body: r.get(3)?,
                hlc: r.get(4)?,
                version: r.get(5)?,
            },
            r.get(6)?,
        ))
    }

    const RECORD_SELECT: &'static str = "SELECT kind, id, village, body, hlc, version,
            EXISTS (SELECT 1 FROM outbox_touches t WHERE t.kind = records.kind AND t.id = records.id)
          FROM records";

    /// One record as the device shows it.
    pub fn record(&self, kind: &str, id: &str) -> Result<Option<LocalRecord>> {
        let row = self
            .conn
            .query_row(
                &format!("{} WHERE kind = ?1 AND id = ?2", Self::RECORD_SELECT),
                (kind, id),
                Self::record_from_row,
            )
            .optional()?;
        row.map(|(r, pending)| r.into_record(pending)).transpose()
    }

    /// Every record (of `kind`, if given), ordered by kind and id.
    pub fn records(&self, kind: Option<&str>) -> Result<Vec<LocalRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "{} WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, id",
            Self::RECORD_SELECT
        ))?;
        let rows = stmt.query_map([kind], Self::record_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (r, pending) = row?;
            out.push(r.into_record(pending)?);
        }
        Ok(out)
    }

    /// Call `f(id, body)` for every record of `kind`, with the body as stored (JSON text), so
    /// a reader can decode only the fields it needs.
    pub fn for_each_body(&self, kind: &str, mut f: impl FnMut(&str, &str)) -> Result<()> {
        self.for_each_record(kind, |id, _, body| f(id, body))
    }

    /// Call `f(id, village, body)` for every record of `kind`.
    pub fn for_each_record(&self, kind: &str, mut f: impl FnMut(&str, &str, &str)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, village, body FROM records WHERE kind = ?1")?;
        let mut rows = stmt.query([kind])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> Result<&str> {
                r.get_ref(i)?
                    .as_str()
                    .map_err(|e| Error::Corrupt(format!("records column {i}: {e}")))
            };
            let (id, village, body) = (text(0)?, text(1)?, text(2)?);
            f(id, village, body);
        }
        Ok(())
    }

    /// The outbox commands that touch one record, in push order.
    pub fn commands_touching(&self, kind: &str, id: &str) -> Result<Vec<Command>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.command FROM outbox o
               JOIN outbox_touches t ON t.command_id = o.command_id
              WHERE t.kind = ?1 AND t.id = ?2
              ORDER BY o.seq",
        )?;
        let rows = stmt.query_map((kind, id), |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// Ids of the records of `kind` that a pending command touches.
    pub fn pending_ids(&self, kind: &str) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT id FROM outbox_touches WHERE kind = ?1")?;
        let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records of `kind` whose JSON `path` equals `value`, through the expression indexes of
    /// the app migration. `path` is written into the SQL as a literal (SQLite matches an
    /// expression index only against the same literal expression), so it must be a constant of
    /// this crate, e.g. `$.household_id` for visits.
    pub fn records_where(
        &self,
        kind: &'static str,
        path: &'static str,
        value: &str,
    ) -> Result<Vec<LocalRecord>> {
        let literal = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.' || b == b'$')
        };
        if !path.starts_with("$.") || !literal(path) || !literal(kind) {
            return Err(Error::Corrupt(format!(
                "bad record query {kind:?} {path:?}"
            )));
        }
        // Both literals, so the planner can match the partial expression index.
        let mut stmt = self.conn.prepare_cached(&format!(
            "{} WHERE kind = '{kind}' AND json_extract(body, '{path}') = ?1 ORDER BY id",
            Self::RECORD_SELECT
        ))?;
        let rows = stmt.query_map([value], Self::record_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (r, pending) = row?;
            out.push(r.into_record(pending)?);
        }
        Ok(out)
    }

    /// A record decoded as `T`, with its village.
    pub fn typed<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(T, String)>> {
        self.record(kind, id)?
            .map(|r| {
                serde_json::from_value(r.body)
                    .map(|t| (t, r.village))
                    .map_err(|e| Error::Corrupt(format!("{kind} {id}: {e}")))
            })
            .transpose()
    }

    // ---------------------------------------------------------------------------------------
    // Outbox and quarantine
    // ---------------------------------------------------------------------------------------

    /// Up to `limit` outbox commands after `after_seq`, in order.
    pub fn outbox(&self, after_seq: i64, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, command_id, command, record_kind, record_id, attempts, last_error
               FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![after_seq, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, command, record_kind, record_id, attempts, last_error) = row?;
            out.push(OutboxEntry {
                seq,
                command_id: command_id(&id)?,
                command: RawValue::from_string(command)?,
                record_kind,
                record_id,
                attempts,
                last_error,
            });
        }
        Ok(out)
    }

    pub fn outbox_len(&self) -> Result<u64> {
        count(&self.conn, "SELECT count(*) FROM outbox")
    }

    /// Apply the decisions about one pushed batch, in one transaction.
    pub fn apply_push_actions(&mut self, actions: &[OutboxAction]) -> Result<PushTally> {
        let now = timestamp(self.now());
        let tx = self.conn.transaction()?;
        let mut tally = PushTally::default();
        for action in actions {
            match action {
                OutboxAction::Ack(id) => {
                    let id = id.to_string();
                    let touches = touches_of(&tx, &id)?;
                    let deleted = tx
                        .prepare_cached("DELETE FROM outbox WHERE command_id = ?1")?
                        .execute([&id])?;
                    if deleted == 0 {
                        continue;
                    }
                    for (kind, rid) in &touches {
                        release(&tx, kind, rid)?;
                    }
                    tally.acknowledged += 1;
                }
                OutboxAction::Quarantine {
                    id,
                    code,
                    message_zh,
                    message_en,
                } => {
                    let id = id.to_string();
                    let touches = touches_of(&tx, &id)?;
                    let moved = tx.execute(
                        "INSERT INTO quarantine (command_id, command, record_kind, record_id,
                                touches, code, message_zh, message_en, created_at, quarantined_at)
                         SELECT command_id, command, record_kind, record_id, ?2, ?3, ?4, ?5,
                                created_at, ?6
                           FROM outbox WHERE command_id = ?1
                         ON CONFLICT (command_id) DO UPDATE
                            SET code = excluded.code, message_zh = excluded.message_zh,
                                message_en = excluded.message_en,
                                quarantined_at = excluded.quarantined_at",
                        params![
                            id,
                            serde_json::to_string(&touches)?,
                            code,
                            message_zh,
                            message_en,
                            now
                        ],
                    )?;
                    if moved == 0 {
                        continue;
                    }
                    tx.execute("DELETE FROM outbox WHERE command_id = ?1", [&id])?;
                    // The device's change was not accepted: the server's copy wins.
                    for (kind, rid) in &touches {
                        tx.execute(
                            "UPDATE records SET restore_on_release = 1 WHERE kind = ?1 AND id = ?2",
                            (kind, rid),
                        )?;
                        release(&tx, kind, rid)?;
                    }
                    tally.quarantined += 1;
                }
                OutboxAction::Keep { id, error } => {
                    tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2
                          WHERE command_id = ?1",
                        (id.to_string(), error),
                    )?;
                    tally.kept += 1;
                }
            }
        }
        tx.commit()?;
        Ok(tally)
    }

    /// A push of these commands failed as a whole (no connection, 5xx): count the attempt.
    pub fn note_push_failure(&mut self, ids: &[CommandId], error: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE command_id = ?1",
                (id.to_string(), error),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Commands the server refused, oldest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedCommand>> {
        let mut stmt = self.conn.prepare(
            "SELECT command_id, command, record_kind, record_id, code, message_zh, message_en,
                    created_at, quarantined_at
               FROM quarantine ORDER BY quarantined_at, created_at, command_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, command, record_kind, record_id, code, zh, en, created, quarantined) = row?;
            out.push(QuarantinedCommand {
                command_id: command_id(&id)?,
                command: serde_json::from_str(&command)?,
                record_kind,
                record_id,
                code,
                message_zh: zh,
                message_en: en,
                created_at: created,
                quarantined_at: quarantined,
            });
        }
        Ok(out)
    }

    pub fn quarantine_len(&self) -> Result<u64> {
        count(&self.conn, "SELECT count(*) FROM quarantine")
    }

    /// Put a refused command back at the end of the outbox, unchanged (the server evaluates a
    /// refused command afresh: what made it fail may have changed). Its records become pending
    /// again, so a pull does not overwrite what the worker sees until the server answers.
    pub fn retry_quarantined(&mut self, id: CommandId) -> Result<()> {
        let tx = self.conn.transaction()?;
        let touches = quarantined_touches(&tx, id)?;
        tx.execute(
            "INSERT INTO outbox (command_id, command, record_kind, record_id, created_at)
             SELECT command_id, command, record_kind, record_id, created_at
               FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
        )?;
        for (kind, rid) in &touches {
            tx.execute(
                "INSERT OR IGNORE INTO outbox_touches (command_id, kind, id) VALUES (?1, ?2, ?3)",
                (id.to_string(), kind, rid),
            )?;
        }
        tx.execute(
            "DELETE FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Retry every quarantined command, oldest first; returns how many.
    pub fn retry_all_quarantined(&mut self) -> Result<usize> {
        let all = self.quarantine()?;
        for q in &all {
            self.retry_quarantined(q.command_id)?;
        }
        Ok(all.len())
    }

    /// Drop a refused command for good (the worker decided it was wrong).
    /// Records the command made that exist only on this device go with it (and the bytes of
    /// a photo whose record goes), so the device shows what the server holds.
    pub fn discard_quarantined(&mut self, id: CommandId) -> Result<()> {
        let tx = self.conn.transaction()?;
        let touches = quarantined_touches(&tx, id)?;
        for (kind, rid) in &touches {
            if is_pending(&tx, kind, rid)? {
                continue;
            }
            tx.execute(
                "DELETE FROM records WHERE kind = ?1 AND id = ?2 AND version = 0",
                (kind, rid),
            )?;
            tx.execute(
                "DELETE FROM photos WHERE owner_kind = ?1 AND owner_id = ?2 AND status <> 'done'",
                (kind, rid),
            )?;
        }
        tx.execute(
            "DELETE FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Pulling
    // ---------------------------------------------------------------------------------------

    /// Where pulling continues.
    pub fn pull_state(&self) -> Result<PullState> {
        if let Some(cursor) = get_state(&self.conn, key::CURSOR)? {
            return Ok(PullState::Feed {
                cursor: Cursor(cursor),
            });
        }
        Ok(PullState::Snapshot {
            page: get_state(&self.conn, key::SNAPSHOT_PAGE)?,
            done: parse_state(&self.conn, key::SNAPSHOT_DONE)?.unwrap_or(0),
            total: parse_state(&self.conn, key::SNAPSHOT_TOTAL)?.unwrap_or(0),
        })
    }

    /// Forget where pulling stands, to rebuild the device's view from a new snapshot (the
    /// server no longer knows the saved cursor). Records the server sent are dropped (the
    /// snapshot brings back the ones that still exist); pending and device-only records stay.
    pub fn restart_pull(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM records
              WHERE version > 0
                AND NOT EXISTS (SELECT 1 FROM outbox_touches t
                                 WHERE t.kind = records.kind AND t.id = records.id)",
            [],
        )?;
        // Pending records keep their body; whatever the server holds now arrives anew.
        tx.execute(
            "UPDATE records SET version = 0, server_body = NULL, server_hlc = NULL,
                    server_version = NULL, restore_on_release = 0",
            [],
        )?;
        for k in [
            key::CURSOR,
            key::SNAPSHOT_PAGE,
            key::SNAPSHOT_DONE,
            key::SNAPSHOT_TOTAL,
        ] {
            delete_state(&tx, k)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Write a pulled page and where the feed continues, in one transaction.
    pub fn apply_changes(
        &mut self,
        changes: &[Change],
        position: &FeedPosition,
    ) -> Result<ApplyTally> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let mut tally = ApplyTally::default();
        // With nothing waiting to be sent (a first sync, most pulls) no record can be pending:
        // one query instead of one per record.
        let any_pending: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM outbox_touches)", [], |r| {
                r.get(0)
            })?;
        for c in changes {
            if apply_change(&tx, c, any_pending)? {
                tally.kept_aside += 1;
            } else {
                tally.applied += 1;
            }
        }
        if let Some(max) = changes.iter().map(|c| c.hlc).max() {
            let mut clock = load_clock(&tx)?;
            let seen = clock.observe(max, unix_ms(now));
            set_state(&tx, key::HLC_LAST, &seen.to_string())?;
        }
        match position {
            FeedPosition::Pull { next_cursor } => set_state(&tx, key::CURSOR, &next_cursor.0)?,
            FeedPosition::Snapshot {
                next_page: Some(page),
                total,
                ..
            } => {
                let done: u64 = parse_state(&tx, key::SNAPSHOT_DONE)?.unwrap_or(0);
                set_state(&tx, key::SNAPSHOT_PAGE, page)?;
                set_state(
                    &tx,
                    key::SNAPSHOT_DONE,
                    &(done + changes.len() as u64).to_string(),
                )?;
                set_state(&tx, key::SNAPSHOT_TOTAL, &total.to_string())?;
            }
            FeedPosition::Snapshot {
                next_page: None,
                resume_cursor,
                ..
            } => {
                set_state(&tx, key::CURSOR, &resume_cursor.0)?;
                delete_state(&tx, key::SNAPSHOT_PAGE)?;
                delete_state(&tx, key::SNAPSHOT_DONE)?;
                delete_state(&tx, key::SNAPSHOT_TOTAL)?;
            }
        }
        tx.commit()?;
        Ok(tally)
    }

    // ---------------------------------------------------------------------------------------
    // Session and sync bookkeeping
    // ---------------------------------------------------------------------------------------

    /// The signed-in session, if any.
    pub fn session(&self) -> Result<Option<Session>> {
        let (Some(server), Some(token), Some(device), Some(user)) = (
            get_state(&self.conn, key::SERVER)?,
            get_state(&self.conn, key::TOKEN)?,
            get_state(&self.conn, key::DEVICE_ID)?,
            get_state(&self.conn, key::USER)?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Session {
            server,
            token,
            device_id: DeviceId::parse(&device).map_err(|e| Error::Corrupt(e.to_string()))?,
            user: serde_json::from_str(&user)?,
            token_rejected: get_state(&self.conn, key::TOKEN_REJECTED)?.is_some(),
        }))
    }

    /// Remember a login. A different user on this device starts from an empty view (their
    /// scope differs); that is refused while the previous user's work is still unsent.
    pub fn save_session(&mut self, session: &Session) -> Result<()> {
        let tx = self.conn.transaction()?;
        let previous: Option<Account> = get_state(&tx, key::USER)?
            .map(|u| serde_json::from_str(&u))
            .transpose()?;
        let server_changed = get_state(&tx, key::SERVER)?
            .is_some_and(|s| s.trim_end_matches('/') != session.server.trim_end_matches('/'));
        let user_changed = previous.as_ref().is_some_and(|p| p.id != session.user.id);
        if user_changed || server_changed {
            let unsent = count(&tx, "SELECT count(*) FROM outbox")?
                + count(&tx, "SELECT count(*) FROM quarantine")?;
            if unsent > 0 {
                return Err(Error::invalid(format!(
                    "本机还有{unsent}条上一位用户未同步的记录，请先用原账号同步后再换账号登录"
                )));
            }
            tx.execute_batch(
                "DELETE FROM records; DELETE FROM photos; DELETE FROM notices;
                 DELETE FROM sync_state WHERE key IN
                    ('cursor', 'snapshot_page', 'snapshot_done', 'snapshot_total',
                     'last_sync_at', 'last_sync_error');",
            )?;
        }
        set_state(&tx, key::SERVER, &session.server)?;
        set_state(&tx, key::TOKEN, &session.token)?;
        set_state(&tx, key::DEVICE_ID, &session.device_id.to_string())?;
        set_state(&tx, key::USER, &serde_json::to_string(&session.user)?)?;
        delete_state(&tx, key::TOKEN_REJECTED)?;
        tx.commit()?;
        Ok(())
    }

    /// The id this device had on `server` (kept across logouts and revoked tokens), offered at
    /// the next login so the server keeps treating it as the same device.
    pub fn previous_device_id(&self, server: &str) -> Result<Option<String>> {
        let same_server = get_state(&self.conn, key::SERVER)?
            .is_some_and(|s| s.trim_end_matches('/') == server.trim_end_matches('/'));
        if !same_server {
            return Ok(None);
        }
        get_state(&self.conn, key::DEVICE_ID)
    }

    /// The server said 401 to the token: stop syncing until the worker logs in again.
    pub fn mark_token_rejected(&self) -> Result<()> {
        set_state(&self.conn, key::TOKEN_REJECTED, &timestamp(self.now()))
    }

    /// Forget the token (logout). Records, outbox and quarantine stay.
    pub fn clear_token(&self) -> Result<()> {
        delete_state(&self.conn, key::TOKEN)?;
        delete_state(&self.conn, key::TOKEN_REJECTED)
    }

    /// Remember how the last sync ended.
    pub fn note_sync_result(&self, error: Option<&str>) -> Result<()> {
        match error {
            None => {
                set_state(&self.conn, key::LAST_SYNC_AT, &timestamp(self.now()))?;
                delete_state(&self.conn, key::LAST_SYNC_ERROR)
            }
            Some(e) => set_state(&self.conn, key::LAST_SYNC_ERROR, e),
        }
    }

    /// Counts for a status line.
    pub fn status(&self) -> Result<Status> {
        let session = self.session()?;
        let c = &self.conn;
        let snapshot = match self.pull_state()? {
            PullState::Snapshot { done, total, page } if page.is_some() => Some((done, total)),
            _ => None,
        };
        Ok(Status {
            logged_in: session.as_ref().is_some_and(|s| !s.token_rejected),
            token_rejected: session.as_ref().is_some_and(|s| s.token_rejected),
            server: get_state(c, key::SERVER)?,
            device_id: get_state(c, key::DEVICE_ID)?,
            user: get_state(c, key::USER)?
                .map(|u| serde_json::from_str(&u))
                .transpose()?,
            outbox: count(c, "SELECT count(*) FROM outbox")?,
            quarantine: count(c, "SELECT count(*) FROM quarantine")?,
            records: count(c, "SELECT count(*) FROM records")?,
            photos_pending: count(
                c,
                "SELECT count(*) FROM photos WHERE status IN ('waiting', 'uploading')",
            )?,
            photos_failed: count(c, "SELECT count(*) FROM photos WHERE status = 'failed'")?,
            photos_done: count(c, "SELECT count(*) FROM photos WHERE status = 'done'")?,
            last_sync_at: get_state(c, key::LAST_SYNC_AT)?,
            last_sync_error: get_state(c, key::LAST_SYNC_ERROR)?,
            cursor: get_state(c, key::CURSOR)?,
            snapshot,
        })
    }

    // ---------------------------------------------------------------------------------------
    // Photo queue
    // ---------------------------------------------------------------------------------------

    /// Queue a photo's bytes (inside the transaction that records its metadata command).
    /// The same bytes recorded twice are queued once.
    pub(crate) fn queue_photo_in(
        tx: &Transaction<'_>,
        sha256: &str,
        path: &Path,
        bytes: u64,
        owner: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<()> {
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, path, bytes, owner_kind, owner_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                sha256,
                path.to_string_lossy(),
                i64::try_from(bytes).unwrap_or(i64::MAX),
                owner.0,
                owner.1,
                timestamp(now)
            ],
        )?;
        Ok(())
    }

    const PHOTO_SELECT: &'static str = "SELECT sha256, path, bytes, owner_kind, owner_id, status,
            uploaded_bytes, attempts, last_error, next_attempt_at FROM photos";

    fn photo_rows(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<PhotoJob>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sha, path, bytes, ok, oid, status, up, attempts, err, next) = row?;
            out.push(PhotoJob {
                sha256: sha,
                path: PathBuf::from(path),
                bytes: u64::try_from(bytes).unwrap_or(0),
                owner_kind: ok,
                owner_id: oid,
                status: PhotoStatus::parse(&status)?,
                uploaded_bytes: u64::try_from(up).unwrap_or(0),
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                last_error: err,
                next_attempt_at: next,
            });
        }
        Ok(out)
    }

    /// Upload state of the photo file `sha256`, if it is in the queue.
    pub fn photo_status(&self, sha256: &str) -> Result<Option<PhotoStatus>> {
        let status: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()?;
        status.map(|s| PhotoStatus::parse(&s)).transpose()
    }

    /// Every photo in the queue, oldest first.
    pub fn photos(&self) -> Result<Vec<PhotoJob>> {
        self.photo_rows(
            &format!("{} ORDER BY created_at, sha256", Self::PHOTO_SELECT),
            [],
        )
    }

    /// Photos to upload now: not done or failed, not backing off, and whose metadata record
    /// the server has acknowledged (not pending, not quarantined).
    pub fn photos_due(&self, now: DateTime<Utc>) -> Result<Vec<PhotoJob>> {
        self.photo_rows(
            &format!(
                "{} WHERE status IN ('waiting', 'uploading')
                   AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                   AND NOT EXISTS (SELECT 1 FROM outbox_touches t
                                    WHERE t.kind = photos.owner_kind AND t.id = photos.owner_id)
                   AND NOT EXISTS (SELECT 1 FROM quarantine q
                                    WHERE q.record_kind = photos.owner_kind
                                      AND q.record_id = photos.owner_id)
                 ORDER BY created_at, sha256",
                Self::PHOTO_SELECT
            ),
            [timestamp(now)],
        )
    }

    /// When the earliest photo that is backing off may be tried again.
    pub fn next_photo_attempt(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT min(next_attempt_at) FROM photos
              WHERE status IN ('waiting', 'uploading') AND next_attempt_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    fn set_photo(&self, sha256: &str, status: PhotoStatus, uploaded: Option<u64>) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = ?2, uploaded_bytes = coalesce(?3, uploaded_bytes)
              WHERE sha256 = ?1",
            params![
                sha256,
                status.as_str(),
                uploaded.map(|u| i64::try_from(u).unwrap_or(i64::MAX))
            ],
        )?;
        Ok(())
    }

    /// Bytes the server holds so far.
    pub fn photo_progress(&self, sha256: &str, uploaded: u64) -> Result<()> {
        self.set_photo(sha256, PhotoStatus::Uploading, Some(uploaded))
    }

    pub fn photo_done(&self, sha256: &str, bytes: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = 'done', uploaded_bytes = ?2, last_error = NULL,
                    next_attempt_at = NULL
              WHERE sha256 = ?1",
            params![sha256, i64::try_from(bytes).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    /// The server will not take this photo (too large, not an image, damaged): stop trying.
    pub fn photo_failed(&self, sha256: &str, message: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = 'failed', attempts = attempts + 1, last_error = ?2,
                    next_attempt_at = NULL
              WHERE sha256 = ?1",
            (sha256, message),
        )?;
        Ok(())
    }

    /// A transient failure: count it and wait until `next_at`.
    pub fn photo_retry_later(
        &self,
        sha256: &str,
        error: &str,
        next_at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
              WHERE sha256 = ?1",
            (sha256, error, timestamp(next_at)),
        )?;
        Ok(())
    }

    /// Try a failed photo again (after the worker retook or replaced the file).
    pub fn retry_photo(&self, sha256: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = 'waiting', attempts = 0, last_error = NULL,
                    next_attempt_at = NULL
              WHERE sha256 = ?1",
            [sha256],
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

#[cfg(test)]
mod tests;
