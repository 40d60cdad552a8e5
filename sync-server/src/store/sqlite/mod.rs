//! SQLite backend: the embedded default, one file `yijian.db` in the data directory.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. One writer connection
//! (SQLite has one writer at a time anyway, and commit order is then `change_seq` order, which
//! makes the change feed gap-free) and a few reader connections, which WAL lets read while the
//! writer commits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::value::RawValue;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId, UserId};
use yijian_core::protocol::{Change, Cursor};
use yijian_core::schema::Migration;

use super::codec::{enum_parse, enum_text, scope_range};
use super::rows::{
    CaseQuery, DeadlineNotice, NewSms, Notification, SmsRow, SmsStatus, SmsUpdate, UnitContact,
};
use super::tx::{AppliedCommand, AuditEntry, RecordTx, StoredRecord};
use super::{
    Credentials, DatabaseFailure, DeviceInfo, FeedPage, ImportRecord, Storage, StorageError,
    StorageHealth,
};
use crate::store::rows::CaseRow;
use crate::store::rows::DeviceSession;
use crate::store::rows::FollowUpFacts;
use crate::store::rows::StepDone;
use yijian_core::protocol::auth::Account;
use yijian_core::role::Role;

/// The server's SQLite migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261128190000,
        name: "20261128190000_init.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261128190000_init.sql"),
    },
    Migration {
        version: 20261128200000,
        name: "20261128200000_sync.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261128200000_sync.sql"),
    },
    Migration {
        version: 20261201100000,
        name: "20261201100000_oversight.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261201100000_oversight.sql"),
    },
];

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> StorageError {
        let failure = match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
                DatabaseFailure::Conflict
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                DatabaseFailure::Constraint
            }
            _ => DatabaseFailure::Other,
        };
        StorageError::Database {
            backend: "sqlite",
            failure,
            message: e.to_string(),
        }
    }
}

impl From<yijian_sqlite::OpenError> for StorageError {
    fn from(e: yijian_sqlite::OpenError) -> StorageError {
        StorageError::Database {
            backend: "sqlite",
            failure: DatabaseFailure::Other,
            message: e.to_string(),
        }
    }
}

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "yijian.db";

const READERS: usize = 4;

#[derive(Debug, Clone)]
pub struct SqliteStorage {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
}

impl SqliteStorage {
    /// Create the data directory if needed, open `yijian.db` and migrate it.
    pub async fn open_in(data_dir: &Path) -> Result<SqliteStorage, StorageError> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&data_dir)?;
            let path = data_dir.join(DB_FILE);
            let writer = yijian_sqlite::open(&path, MIGRATIONS)?;
            let readers = (0..READERS)
                .map(|_| {
                    let c = Connection::open(&path)?;
                    yijian_sqlite::configure(&c)?;
                    Ok(Mutex::new(c))
                })
                .collect::<Result<Vec<_>, rusqlite::Error>>()?;
            Ok(SqliteStorage {
                path,
                writer: Arc::new(Mutex::new(writer)),
                readers: Arc::new(readers),
            })
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` with the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let conn = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StorageError::Task("sqlite writer lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Run `f` with a reader connection (whichever is free) on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let free = readers.iter().find_map(|m| m.try_lock().ok());
            let guard = match free {
                Some(g) => g,
                None => readers[0]
                    .lock()
                    .map_err(|_| StorageError::Task("sqlite reader lock poisoned".into()))?,
            };
            f(&guard)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    #[cfg(test)]
    pub(crate) async fn with_writer<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        self.write(f).await
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("timestamp {s:?}: {e}")))
}

fn corrupt<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StorageError + '_ {
    move |e| StorageError::Corrupt(format!("{what}: {e}"))
}

fn user_from_row(
    id: String,
    login: String,
    name: String,
    role: String,
    scope: String,
) -> Result<Account, StorageError> {
    Ok(Account {
        id: id.parse().map_err(corrupt("user id"))?,
        login,
        name,
        role: serde_json::from_value(serde_json::Value::String(role))
            .map_err(corrupt("user role"))?,
        scope: DivisionCode::parse(&scope).map_err(corrupt("user scope"))?,
    })
}

/// The cursor of an SQLite feed: `s<change_seq>`.
fn parse_cursor(cursor: Option<&Cursor>) -> Result<i64, StorageError> {
    match cursor {
        None => Ok(0),
        Some(Cursor(c)) => c
            .strip_prefix('s')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StorageError::BadCursor(c.clone())),
    }
}

/// The columns of `case_index`, in the order [`case_from_row`] reads them.
const CASE_COLUMNS: &str = "case_id, village, household_id, stage, open, source, green_channel,
    risk_types, applicant_name, id_number, phone, receipt_no, declared_at, declared_on,
    first_visit_on, verified_on, approved_on, closed_on, plan_made_on, clock_step, clock_owner,
    clock_due_on, updated_at";

const SMS_COLUMNS: &str = "id, out_id, phone, template, params, text_zh, case_id, status,
    claimed_from, attempts, next_attempt_at, last_error, provider_id, created_at, sent_at";

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_day(s: &str) -> Result<NaiveDate, StorageError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StorageError::Corrupt(format!("date {s:?}: {e}")))
}

fn case_from_row(r: &rusqlite::Row<'_>) -> Result<CaseRow, StorageError> {
    let opt_day = |i: usize| -> Result<Option<NaiveDate>, StorageError> {
        r.get::<_, Option<String>>(i)?
            .as_deref()
            .map(parse_day)
            .transpose()
    };
    Ok(CaseRow {
        case_id: r.get(0)?,
        village: r.get(1)?,
        household_id: r.get(2)?,
        stage: enum_parse(&r.get::<_, String>(3)?)?,
        open: r.get(4)?,
        source: enum_parse(&r.get::<_, String>(5)?)?,
        green_channel: r.get(6)?,
        risk_types: serde_json::from_str(&r.get::<_, String>(7)?)?,
        applicant_name: r.get(8)?,
        id_number: r.get(9)?,
        phone: r.get(10)?,
        receipt_no: r.get(11)?,
        declared_at: parse_ts(&r.get::<_, String>(12)?)?,
        declared_on: parse_day(&r.get::<_, String>(13)?)?,
        first_visit_on: opt_day(14)?,
        verified_on: opt_day(15)?,
        approved_on: opt_day(16)?,
        closed_on: opt_day(17)?,
        plan_made_on: opt_day(18)?,
        clock_step: r
            .get::<_, Option<String>>(19)?
            .as_deref()
            .map(enum_parse)
            .transpose()?,
        clock_owner: r
            .get::<_, Option<String>>(20)?
            .as_deref()
            .map(enum_parse)
            .transpose()?,
        clock_due_on: opt_day(21)?,
        updated_at: parse_ts(&r.get::<_, String>(22)?)?,
    })
}

fn notification_from_row(r: &rusqlite::Row<'_>) -> Result<Notification, StorageError> {
    Ok(Notification {
        id: r.get(0)?,
        role: enum_parse(&r.get::<_, String>(1)?)?,
        scope: r.get(2)?,
        case_id: r.get(3)?,
        kind: r.get(4)?,
        text_zh: r.get(5)?,
        at: parse_ts(&r.get::<_, String>(6)?)?,
    })
}

fn sms_from_row(r: &rusqlite::Row<'_>) -> Result<SmsRow, StorageError> {
    let status = |s: String| {
        SmsStatus::parse(&s).ok_or_else(|| StorageError::Corrupt(format!("sms status {s:?}")))
    };
    Ok(SmsRow {
        id: r.get(0)?,
        sms: NewSms {
            out_id: r.get(1)?,
            phone: r.get(2)?,
            template: r.get(3)?,
            params: serde_json::from_str(&r.get::<_, String>(4)?)?,
            text_zh: r.get(5)?,
            case_id: r.get(6)?,
            created_at: parse_ts(&r.get::<_, String>(13)?)?,
        },
        status: status(r.get(7)?)?,
        claimed_from: r.get::<_, Option<String>>(8)?.map(status).transpose()?,
        attempts: r.get(9)?,
        next_attempt_at: parse_ts(&r.get::<_, String>(10)?)?,
        last_error: r.get(11)?,
        provider_id: r.get(12)?,
        sent_at: r
            .get::<_, Option<String>>(14)?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
    })
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    next_seq: Option<i64>,
}

impl RecordTx for SqliteTx<'_> {
    fn get(&mut self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        self.tx
            .query_row(
                "SELECT village, body, hlc, version FROM records WHERE kind = ?1 AND id = ?2",
                params![kind, id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?
            .map(|(village, body, hlc, version)| {
                Ok(StoredRecord {
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                    village,
                    body,
                    hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                    version,
                })
            })
            .transpose()
    }

    fn put(
        &mut self,
        kind: &str,
        id: &str,
        village: &str,
        body: Option<&str>,
        hlc: Hlc,
        now: DateTime<Utc>,
    ) -> Result<i64, StorageError> {
        let seq = match self.next_seq {
            Some(s) => s,
            None => self.tx.query_row(
                "SELECT coalesce(max(change_seq), 0) + 1 FROM records",
                [],
                |r| r.get(0),
            )?,
        };
        self.next_seq = Some(seq + 1);
        Ok(self.tx.query_row(
            "INSERT INTO records (kind, id, village, body, hlc, version, change_seq, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
             ON CONFLICT (kind, id) DO UPDATE SET
                village = excluded.village, body = excluded.body, hlc = excluded.hlc,
                version = records.version + 1, change_seq = excluded.change_seq,
                updated_at = excluded.updated_at
             RETURNING version",
            params![kind, id, village, body, hlc.to_string(), seq, ts(now)],
            |r| r.get(0),
        )?)
    }

    fn applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
    ) -> Result<Option<AppliedCommand>, StorageError> {
        Ok(self
            .tx
            .query_row(
                "SELECT body_hash, outcome FROM applied_commands WHERE device_id = ?1 AND command_id = ?2",
                params![device.to_string(), command.to_string()],
                |r| {
                    Ok(AppliedCommand {
                        body_hash: r.get(0)?,
                        outcome: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn record_applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
        applied: &AppliedCommand,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO applied_commands (device_id, command_id, body_hash, outcome, applied_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (device_id, command_id) DO UPDATE SET
                outcome = excluded.outcome, applied_at = excluded.applied_at",
            params![
                device.to_string(),
                command.to_string(),
                applied.body_hash,
                applied.outcome,
                ts(now)
            ],
        )?;
        Ok(())
    }

    fn link_blob(&mut self, sha256: &str, village: &str) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO blob_owners (sha256, village) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![sha256, village],
        )?;
        Ok(())
    }

    fn next_receipt(&mut self, village: &str) -> Result<i64, StorageError> {
        Ok(self.tx.query_row(
            "INSERT INTO receipt_counters (village, last) VALUES (?1, 1)
             ON CONFLICT (village) DO UPDATE SET last = last + 1
             RETURNING last",
            [village],
            |r| r.get(0),
        )?)
    }

    fn audit(&mut self, e: &AuditEntry) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO audit (at, user_id, device_id, command_id, action, kind, record_id, village, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                ts(e.at),
                e.user_id,
                e.device_id,
                e.command_id,
                e.action,
                e.kind,
                e.record_id,
                e.village,
                e.detail
            ],
        )?;
        Ok(())
    }

    fn records_in_village(
        &mut self,
        kind: &str,
        village: &str,
    ) -> Result<Vec<StoredRecord>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, body, hlc, version FROM records
              WHERE village = ?1 AND kind = ?2 AND body IS NOT NULL ORDER BY change_seq",
        )?;
        let rows = stmt.query_map(params![village, kind], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (id, body, hlc, version) = row?;
            Ok(StoredRecord {
                kind: kind.to_owned(),
                id,
                village: village.to_owned(),
                body,
                hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                version,
            })
        })
        .collect()
    }

    fn case_row(&mut self, case_id: &str) -> Result<Option<CaseRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM case_index WHERE case_id = ?1"
        ))?;
        let mut rows = stmt.query([case_id])?;
        rows.next()?.map(case_from_row).transpose()
    }

    fn index_case(&mut self, r: &CaseRow) -> Result<(), StorageError> {
        self.tx
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO case_index ({CASE_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21, ?22, ?23)"
            ))?
            .execute(params![
                r.case_id,
                r.village,
                r.household_id,
                enum_text(&r.stage)?,
                r.open,
                enum_text(&r.source)?,
                r.green_channel,
                serde_json::to_string(&r.risk_types)?,
                r.applicant_name,
                r.id_number,
                r.phone,
                r.receipt_no,
                ts(r.declared_at),
                day(r.declared_on),
                r.first_visit_on.map(day),
                r.verified_on.map(day),
                r.approved_on.map(day),
                r.closed_on.map(day),
                r.plan_made_on.map(day),
                r.clock_step.as_ref().map(enum_text).transpose()?,
                r.clock_owner.as_ref().map(enum_text).transpose()?,
                r.clock_due_on.map(day),
                ts(r.updated_at),
            ])?;
        Ok(())
    }

    fn case_rows(&mut self, q: &CaseQuery) -> Result<Vec<CaseRow>, StorageError> {
        let scope = DivisionCode::parse(&q.scope).map_err(corrupt("case query scope"))?;
        let (lo, hi) = scope_range(&scope);
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM case_index
              WHERE village >= ?1 AND village < ?2
                AND (?3 = 0 OR open = 1)
                AND (?4 IS NULL OR clock_due_on <= ?4)
              ORDER BY clock_due_on IS NULL, clock_due_on, declared_at
              LIMIT ?5"
        ))?;
        let mut rows = stmt.query(params![
            lo,
            hi,
            q.open_only,
            q.due_by.map(day),
            q.limit.map_or(-1, i64::from)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(case_from_row(r)?);
        }
        Ok(out)
    }

    fn open_case_of(&mut self, id_number: &str) -> Result<Option<CaseRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM case_index WHERE id_number = ?1 AND open = 1
              ORDER BY declared_at LIMIT 1"
        ))?;
        let mut rows = stmt.query([id_number])?;
        rows.next()?.map(case_from_row).transpose()
    }

    fn case_by_receipt(&mut self, receipt_no: &str) -> Result<Option<CaseRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM case_index WHERE receipt_no = ?1"
        ))?;
        let mut rows = stmt.query([receipt_no])?;
        rows.next()?.map(case_from_row).transpose()
    }

    fn log_step(&mut self, d: &StepDone) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO steps_done (case_id, village, step, due_on, done_on)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                d.case_id,
                d.village,
                enum_text(&d.step)?,
                day(d.due_on),
                day(d.done_on)
            ],
        )?;
        Ok(())
    }

    fn steps_done(&mut self, scope: &str, since: NaiveDate) -> Result<Vec<StepDone>, StorageError> {
        let scope = DivisionCode::parse(scope).map_err(corrupt("steps scope"))?;
        let (lo, hi) = scope_range(&scope);
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, village, step, due_on, done_on FROM steps_done
              WHERE village >= ?1 AND village < ?2 AND done_on >= ?3",
        )?;
        let rows = stmt.query_map(params![lo, hi, day(since)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (case_id, village, step, due_on, done_on) = row?;
            Ok(StepDone {
                case_id,
                village,
                step: enum_parse(&step)?,
                due_on: parse_day(&due_on)?,
                done_on: parse_day(&done_on)?,
            })
        })
        .collect()
    }

    fn index_follow_up(
        &mut self,
        follow_up_id: &str,
        case_id: &str,
        due_on: NaiveDate,
        done_on: Option<NaiveDate>,
    ) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO follow_up_index (follow_up_id, case_id, due_on, done_on)
             VALUES (?1, ?2, ?3, ?4)",
            params![follow_up_id, case_id, day(due_on), done_on.map(day)],
        )?;
        Ok(())
    }

    fn follow_up_facts(&mut self, case_id: &str) -> Result<FollowUpFacts, StorageError> {
        let (next, last): (Option<String>, Option<String>) = self.tx.query_row(
            "SELECT (SELECT min(due_on) FROM follow_up_index WHERE case_id = ?1 AND done_on IS NULL),
                    (SELECT max(done_on) FROM follow_up_index WHERE case_id = ?1)",
            [case_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(FollowUpFacts {
            next_due: next.as_deref().map(parse_day).transpose()?,
            last_done: last.as_deref().map(parse_day).transpose()?,
        })
    }

    fn audit_of(&mut self, kind: &str, record_id: &str) -> Result<Vec<AuditEntry>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT at, user_id, device_id, command_id, action, kind, record_id, village, detail
               FROM audit WHERE kind = ?1 AND record_id = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![kind, record_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })?;
        rows.map(|row| {
            let (at, user_id, device_id, command_id, action, kind, record_id, village, detail) =
                row?;
            Ok(AuditEntry {
                at: parse_ts(&at)?,
                user_id,
                device_id,
                command_id,
                action,
                kind,
                record_id,
                village,
                detail,
            })
        })
        .collect()
    }

    fn users_with(
        &mut self,
        role: Role,
        scope: &DivisionCode,
    ) -> Result<Vec<Account>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, login, name, role, scope FROM users
              WHERE role = ?1 AND scope = ?2 AND disabled_at IS NULL ORDER BY login",
        )?;
        let rows = stmt.query_map(params![enum_text(&role)?, scope.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.map(|row| {
            let (id, login, name, role, scope) = row?;
            user_from_row(id, login, name, role, scope)
        })
        .collect()
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .tx
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn put_setting(
        &mut self,
        key: &str,
        value: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            params![key, value, ts(now), by],
        )?;
        Ok(())
    }

    fn unit_contact(&mut self, division: &str) -> Result<Option<UnitContact>, StorageError> {
        Ok(self
            .tx
            .query_row(
                "SELECT division, name, phone FROM unit_contacts WHERE division = ?1",
                [division],
                |r| {
                    Ok(UnitContact {
                        division: r.get(0)?,
                        name: r.get(1)?,
                        phone: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn put_unit_contact(&mut self, c: &UnitContact) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO unit_contacts (division, name, phone) VALUES (?1, ?2, ?3)",
            params![c.division, c.name, c.phone],
        )?;
        Ok(())
    }

    fn hit(&mut self, key: &str, window_start: DateTime<Utc>) -> Result<u32, StorageError> {
        let hits: i64 = self.tx.query_row(
            "INSERT INTO rate_hits (key, window_start, hits) VALUES (?1, ?2, 1)
             ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1
             RETURNING hits",
            params![key, ts(window_start)],
            |r| r.get(0),
        )?;
        // Old windows are of no use: drop them now and then (1 in ~64 hits).
        if hits == 1 && getrandom::u32().is_ok_and(|n| n % 64 == 0) {
            self.tx.execute(
                "DELETE FROM rate_hits WHERE window_start < ?1",
                [ts(window_start - chrono::Duration::days(1))],
            )?;
        }
        Ok(u32::try_from(hits).unwrap_or(u32::MAX))
    }

    fn enqueue_sms(&mut self, m: &NewSms, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO sms_outbox (out_id, phone, template, params, text_zh, case_id,
                                     next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (out_id) DO NOTHING",
            params![
                m.out_id,
                m.phone,
                m.template,
                m.params.to_string(),
                m.text_zh,
                m.case_id,
                ts(now),
                ts(m.created_at)
            ],
        )?;
        Ok(())
    }

    fn claim_sms(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "UPDATE sms_outbox
                SET status = 'sending',
                    claimed_from = CASE WHEN status = 'sending' THEN coalesce(claimed_from, 'unknown')
                                        ELSE status END,
                    lease_until = ?2
              WHERE id IN (SELECT id FROM sms_outbox
                            WHERE status IN ('pending', 'unknown', 'sending')
                              AND next_attempt_at <= ?1
                              AND (status <> 'sending' OR lease_until < ?1)
                            ORDER BY next_attempt_at, id LIMIT ?3)
              RETURNING {SMS_COLUMNS}"
        ))?;
        let mut rows = stmt.query(params![ts(now), ts(lease_until), limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(sms_from_row(r)?);
        }
        out.sort_by_key(|s| s.id);
        Ok(out)
    }

    fn update_sms(&mut self, id: i64, u: &SmsUpdate) -> Result<(), StorageError> {
        match u {
            SmsUpdate::Sent { provider_id, at } => self.tx.execute(
                "UPDATE sms_outbox SET status = 'sent', provider_id = ?2, sent_at = ?3,
                        attempts = attempts + 1, lease_until = NULL, claimed_from = NULL,
                        last_error = NULL
                  WHERE id = ?1",
                params![id, provider_id, ts(*at)],
            )?,
            SmsUpdate::Retry {
                error,
                next_attempt_at,
                unknown,
            } => self.tx.execute(
                "UPDATE sms_outbox SET status = ?2, last_error = ?3, next_attempt_at = ?4,
                        attempts = attempts + 1, lease_until = NULL, claimed_from = NULL
                  WHERE id = ?1",
                params![
                    id,
                    if *unknown { "unknown" } else { "pending" },
                    error,
                    ts(*next_attempt_at)
                ],
            )?,
            SmsUpdate::Failed { error } => self.tx.execute(
                "UPDATE sms_outbox SET status = 'failed', last_error = ?2,
                        attempts = attempts + 1, lease_until = NULL, claimed_from = NULL
                  WHERE id = ?1",
                params![id, error],
            )?,
        };
        Ok(())
    }

    fn recent_sms(
        &mut self,
        status: Option<SmsStatus>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {SMS_COLUMNS} FROM sms_outbox WHERE ?1 IS NULL OR status = ?1
              ORDER BY id DESC LIMIT ?2"
        ))?;
        let mut rows = stmt.query(params![status.map(SmsStatus::as_str), limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(sms_from_row(r)?);
        }
        Ok(out)
    }

    fn notice_once(&mut self, n: &DeadlineNotice) -> Result<bool, StorageError> {
        let inserted = self.tx.execute(
            "INSERT INTO deadline_notices (case_id, village, step, due_on, kind, owner,
                                           escalated_to, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            params![
                n.case_id,
                n.village,
                enum_text(&n.step)?,
                day(n.due_on),
                n.kind.as_str(),
                enum_text(&n.owner)?,
                n.escalated_to.as_ref().map(enum_text).transpose()?,
                ts(n.at)
            ],
        )?;
        Ok(inserted == 1)
    }

    fn notices_of(&mut self, case_id: &str) -> Result<Vec<DeadlineNotice>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, village, step, due_on, kind, owner, escalated_to, at
               FROM deadline_notices WHERE case_id = ?1 ORDER BY at",
        )?;
        let rows = stmt.query_map([case_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        rows.map(|row| {
            let (case_id, village, step, due_on, kind, owner, escalated_to, at) = row?;
            Ok(DeadlineNotice {
                case_id,
                village,
                step: enum_parse(&step)?,
                due_on: parse_day(&due_on)?,
                kind: enum_parse(&kind)?,
                owner: enum_parse(&owner)?,
                escalated_to: escalated_to.as_deref().map(enum_parse).transpose()?,
                at: parse_ts(&at)?,
            })
        })
        .collect()
    }

    fn notify(&mut self, n: &Notification) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO notifications (role, scope, case_id, kind, text_zh, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                enum_text(&n.role)?,
                n.scope,
                n.case_id,
                n.kind,
                n.text_zh,
                ts(n.at)
            ],
        )?;
        Ok(())
    }

    fn notifications(
        &mut self,
        role: Role,
        scope: &str,
        limit: u32,
    ) -> Result<Vec<Notification>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, role, scope, case_id, kind, text_zh, at FROM notifications
              WHERE role = ?1 AND scope = ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let mut rows = stmt.query(params![enum_text(&role)?, scope, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(notification_from_row(r)?);
        }
        Ok(out)
    }

    fn notifications_after(
        &mut self,
        role: Role,
        scope: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Notification>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, role, scope, case_id, kind, text_zh, at FROM notifications
              WHERE role = ?1 AND scope = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
        )?;
        let mut rows = stmt.query(params![enum_text(&role)?, scope, after, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(notification_from_row(r)?);
        }
        Ok(out)
    }

    fn touch_device(&mut self, device: DeviceId, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx.execute(
            "UPDATE devices SET last_seen_at = ?1 WHERE id = ?2",
            params![ts(now), device.to_string()],
        )?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        self.read(|c| {
            Ok(StorageHealth {
                backend: "sqlite",
                migrations: yijian_sqlite::applied_count(c)?,
            })
        })
        .await
    }

    async fn create_users(&self, users: Vec<(Account, String)>) -> Result<(), StorageError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            for (user, hash) in &users {
                let r = tx.execute(
                    "INSERT INTO users (id, login, name, role, scope, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user.id.to_string(),
                        user.login,
                        user.name,
                        enum_text(&user.role)?,
                        user.scope.to_string(),
                        hash,
                        ts(Utc::now())
                    ],
                );
                match r {
                    Ok(_) => {}
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        return Err(StorageError::Duplicate(format!("login {}", user.login)));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn credentials(&self, login: &str) -> Result<Option<Credentials>, StorageError> {
        let login = login.to_owned();
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT id, login, name, role, scope, password_hash, disabled_at IS NOT NULL
                     FROM users WHERE login = ?1",
                    [login],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, bool>(6)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(id, login, name, role, scope, password_hash, disabled)| {
                Ok(Credentials {
                    user: user_from_row(id, login, name, role, scope)?,
                    password_hash,
                    disabled,
                })
            })
            .transpose()
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<Account>, StorageError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT id, login, name, role, scope FROM users ORDER BY scope, login")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.map(|row| {
                let (id, login, name, role, scope) = row?;
                user_from_row(id, login, name, role, scope)
            })
            .collect()
        })
        .await
    }

    async fn create_device(
        &self,
        device_id: DeviceId,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let name = name.to_owned();
        let token_hash = token_hash.to_owned();
        self.write(move |c| {
            c.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device_id.to_string(), user_id.to_string(), name, token_hash, ts(now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn reauthorize_device(
        &self,
        device_id: DeviceId,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let name = name.to_owned();
        let token_hash = token_hash.to_owned();
        self.write(move |c| {
            let n = c.execute(
                "UPDATE devices SET token_hash = ?1, name = ?2, revoked_at = NULL, last_seen_at = ?3
                 WHERE id = ?4 AND user_id = ?5",
                params![token_hash, name, ts(now), device_id.to_string(), user_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<DeviceSession>, StorageError> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT d.id, u.id, u.login, u.name, u.role, u.scope
                     FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
                    [token_hash],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(device, id, login, name, role, scope)| {
                Ok(DeviceSession {
                    device_id: device.parse().map_err(corrupt("device id"))?,
                    user: user_from_row(id, login, name, role, scope)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn revoke_device(&self, device_id: DeviceId) -> Result<bool, StorageError> {
        self.write(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![ts(Utc::now()), device_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_devices(&self, user_id: UserId) -> Result<Vec<DeviceInfo>, StorageError> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, name, created_at, last_seen_at, revoked_at IS NOT NULL
                 FROM devices WHERE user_id = ?1 ORDER BY created_at",
            )?;
            let rows = stmt.query_map([user_id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (id, name, created, seen, revoked) = row?;
                Ok(DeviceInfo {
                    id: id.parse().map_err(corrupt("device id"))?,
                    user_id,
                    name,
                    created_at: parse_ts(&created)?,
                    last_seen_at: seen.as_deref().map(parse_ts).transpose()?,
                    revoked,
                })
            })
            .collect()
        })
        .await
    }

    async fn pull(
        &self,
        scope: &DivisionCode,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<FeedPage, StorageError> {
        let after = parse_cursor(cursor)?;
        let (lo, hi) = scope_range(scope);
        let village_scope = scope.level() == yijian_core::division::Level::Village;
        self.read(move |c| {
            // A village reads its own slice of (village, change_seq); a wider scope walks the
            // feed in change_seq order and filters ('+village' keeps the planner off the
            // village index, which would sort the whole scope on every page).
            let mut stmt = if village_scope {
                c.prepare_cached(
                    "SELECT kind, id, village, body, hlc, version, change_seq FROM records
                     WHERE village = ?2 AND change_seq > ?1 AND ?3 IS NOT NULL
                     ORDER BY change_seq LIMIT ?4",
                )?
            } else {
                c.prepare_cached(
                    "SELECT kind, id, village, body, hlc, version, change_seq FROM records
                     WHERE change_seq > ?1 AND +village >= ?2 AND +village < ?3
                     ORDER BY change_seq LIMIT ?4",
                )?
            };
            let mut rows = stmt.query(params![after, lo, hi, i64::from(limit) + 1])?;
            let mut changes = Vec::with_capacity(limit as usize);
            let mut last = after;
            let mut has_more = false;
            while let Some(r) = rows.next()? {
                if changes.len() == limit as usize {
                    has_more = true;
                    break;
                }
                let body: Option<String> = r.get(3)?;
                let hlc: String = r.get(4)?;
                last = r.get(6)?;
                changes.push(Change {
                    kind: r.get(0)?,
                    id: r.get(1)?,
                    village: r.get(2)?,
                    hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                    version: r.get(5)?,
                    data: body
                        .map(RawValue::from_string)
                        .transpose()
                        .map_err(corrupt("record body"))?,
                });
            }
            Ok(FeedPage {
                changes,
                next_cursor: Cursor(format!("s{last}")),
                has_more,
            })
        })
        .await
    }

    async fn count_records(&self, scope: &DivisionCode) -> Result<u64, StorageError> {
        let (lo, hi) = scope_range(scope);
        self.read(move |c| {
            let n: i64 = c.query_row(
                // Both counts come from indexes without touching the bodies: testing
                // `body IS NOT NULL` row by row reads every record of the scope.
                "SELECT (SELECT count(*) FROM records WHERE village >= ?1 AND village < ?2)
                      - (SELECT count(*) FROM records INDEXED BY records_deleted_village
                         WHERE village >= ?1 AND village < ?2 AND body IS NULL)",
                params![lo, hi],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn import_records(&self, records: Vec<ImportRecord>) -> Result<(), StorageError> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut rtx = SqliteTx {
                    tx: &tx,
                    next_seq: None,
                };
                let now = Utc::now();
                for r in &records {
                    rtx.put(&r.kind, &r.id, &r.village, r.body.as_deref(), r.hlc, now)?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn blob_visible(&self, sha256: &str, scope: &DivisionCode) -> Result<bool, StorageError> {
        let sha256 = sha256.to_owned();
        let (lo, hi) = scope_range(scope);
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM blob_owners
                                WHERE sha256 = ?1 AND village >= ?2 AND village < ?3)",
                params![sha256, lo, hi],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn link_blob(&self, sha256: &str, village: &DivisionCode) -> Result<(), StorageError> {
        let (sha256, village) = (sha256.to_owned(), village.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            SqliteTx {
                tx: &tx,
                next_seq: None,
            }
            .link_blob(&sha256, &village)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.write(move |c| {
            let tx = c.transaction()?;
            let r = SqliteTx {
                tx: &tx,
                next_seq: None,
            }
            .get(&kind, &id)?;
            tx.commit()?;
            Ok(r)
        })
        .await
    }

    async fn transact(
        &self,
        work: super::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = work(&mut SqliteTx {
                tx: &tx,
                next_seq: None,
            })?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn read_only(
        &self,
        work: super::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.read(move |c| {
            // A read transaction on a reader connection: one consistent view under WAL.
            let tx = c.unchecked_transaction()?;
            let out = work(&mut SqliteTx {
                tx: &tx,
                next_seq: None,
            })?;
            tx.rollback()?;
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/server-sqlite");
        yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
    }

    #[tokio::test]
    async fn opens_migrates_once_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("nested/data");
        let s = SqliteStorage::open_in(&data).await.expect("open");
        assert!(s.path().exists());
        assert_eq!(
            s.health().await.expect("health").migrations,
            MIGRATIONS.len() as i64
        );
        drop(s);
        let again = SqliteStorage::open_in(&data).await.expect("reopen");
        assert_eq!(
            again.health().await.expect("health").migrations,
            MIGRATIONS.len() as i64
        );
        let mode: String = again
            .with_writer(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn refuses_a_database_from_a_newer_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open_in(dir.path()).await.expect("open");
        s.with_writer(|c| {
            c.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (99991231000000, 'future.sql', 'x')",
                [],
            )?;
            Ok(())
        })
        .await
        .expect("insert");
        drop(s);
        let err = SqliteStorage::open_in(dir.path())
            .await
            .expect_err("newer db");
        assert!(err.to_string().contains("newer version"), "{err}");
    }

    #[tokio::test]
    async fn creating_users_is_all_or_nothing() {
        use crate::domain::accounts::NewUser;
        use yijian_core::role::Role;
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open_in(dir.path()).await.expect("open");
        let user = |login: &str| {
            NewUser {
                login: login.into(),
                name: "测试".into(),
                role: Role::County,
                scope: DivisionCode::parse("621102").expect("code"),
                password: "long enough".into(),
            }
            .prepare()
            .expect("valid")
        };
        let (a, ha) = user("13800000001");
        let (b, hb) = user("13800000002");
        let (dup, hd) = user("13800000001");
        let err = s
            .create_users(vec![(a.clone(), ha.clone()), (b, hb), (dup, hd)])
            .await
            .expect_err("duplicate login");
        assert!(matches!(err, StorageError::Duplicate(_)), "{err}");
        assert!(
            s.list_users().await.expect("list").is_empty(),
            "nobody written"
        );
        s.create_user(&a, &ha).await.expect("one user");
        assert_eq!(s.list_users().await.expect("list"), vec![a]);
    }

    #[tokio::test]
    async fn audit_trail_is_append_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open_in(dir.path()).await.expect("open");
        let err = s
            .with_writer(|c| {
                c.execute(
                    "INSERT INTO audit (at, action, kind, record_id, village, detail) VALUES ('t', 'a', 'k', 'r', 'v', '{}')",
                    [],
                )?;
                c.execute("UPDATE audit SET action = 'forged'", [])?;
                Ok(())
            })
            .await
            .expect_err("update refused");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
