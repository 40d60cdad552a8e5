//! SQLite backend: the embedded default, one file `yijian.db` in the data directory.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. One writer connection
//! (SQLite has one writer at a time anyway, and commit order is then `change_seq` order, which
//! makes the change feed gap-free) and a few reader connections, which WAL lets read while the
//! writer commits.

use super::codec::enum_parse;
use super::rows::{NewSms, Notification, SmsRow, SmsStatus};
use super::{DatabaseFailure, StorageError};
use crate::store::rows::CaseRow;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use yijian_core::division::DivisionCode;
use yijian_core::protocol::Cursor;
use yijian_core::protocol::auth::Account;
use yijian_core::schema::Migration;

mod storage;
#[cfg(test)]
mod tests;
mod tx;

use tx::SqliteTx;

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
    Migration {
        version: 20261205090000,
        name: "20261205090000_trust.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261205090000_trust.sql"),
    },
    Migration {
        version: 20261205180000,
        name: "20261205180000_alerts.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261205180000_alerts.sql"),
    },
    Migration {
        version: 20261205190000,
        name: "20261205190000_device_keys.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261205190000_device_keys.sql"),
    },
    Migration {
        version: 20261206000000,
        name: "20261206000000_alert_village.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261206000000_alert_village.sql"),
    },
    Migration {
        version: 20261207000000,
        name: "20261207000000_case_figures.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261207000000_case_figures.sql"),
    },
    Migration {
        version: 20261207020000,
        name: "20261207020000_users_scope.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261207020000_users_scope.sql"),
    },
    Migration {
        version: 20261207040000,
        name: "20261207040000_case_closed_on.sql",
        sql: include_str!("../../../../migrations/server-sqlite/20261207040000_case_closed_on.sql"),
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
