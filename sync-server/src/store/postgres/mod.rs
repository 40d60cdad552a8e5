//! PostgreSQL backend: several server processes on one database, for more than one machine's
//! worth of load.
//!
//! Uses the synchronous `postgres` client on tokio's blocking pool, so command handling
//! ([`crate::domain::apply`]) is the same code as on SQLite. Concurrent pushes lock the records they
//! touch (`SELECT … FOR UPDATE`); a transaction that loses a deadlock, a serialization race or
//! the insert race of two duplicated pushes is retried from the start, where the retried
//! command is then found already applied.
//!
//! The change feed is gap-free across processes: see the comment on `records` in
//! `migrations/server-postgres/20261128200000_sync.sql`.

use super::codec::enum_parse;
use super::rows::{NewSms, Notification, SmsRow, SmsStatus};
use super::{DatabaseFailure, StorageError};
use crate::config::PostgresConfig;
use crate::store::PoolHealth;
use crate::store::rows::CaseRow;
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::sync::Arc;
use yijian_core::division::DivisionCode;
use yijian_core::protocol::Cursor;
use yijian_core::protocol::auth::Account;
use yijian_core::schema::{self, AppliedMigration, Migration};

pub mod by_key;
mod storage;
#[cfg(test)]
mod tests;
mod tx;

use tx::{Pending, PgTx};

/// The server's PostgreSQL migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261128190000,
        name: "20261128190000_init.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261128190000_init.sql"),
    },
    Migration {
        version: 20261128200000,
        name: "20261128200000_sync.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261128200000_sync.sql"),
    },
    Migration {
        version: 20261201100000,
        name: "20261201100000_oversight.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261201100000_oversight.sql"),
    },
    Migration {
        version: 20261205090000,
        name: "20261205090000_trust.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261205090000_trust.sql"),
    },
    Migration {
        version: 20261205180000,
        name: "20261205180000_alerts.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261205180000_alerts.sql"),
    },
    Migration {
        version: 20261205190000,
        name: "20261205190000_device_keys.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261205190000_device_keys.sql"),
    },
    Migration {
        version: 20261206000000,
        name: "20261206000000_alert_village.sql",
        sql: include_str!(
            "../../../../migrations/server-postgres/20261206000000_alert_village.sql"
        ),
    },
    Migration {
        version: 20261207000000,
        name: "20261207000000_case_figures.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261207000000_case_figures.sql"),
    },
    Migration {
        version: 20261207010000,
        name: "20261207010000_scope_indexes.sql",
        sql: include_str!(
            "../../../../migrations/server-postgres/20261207010000_scope_indexes.sql"
        ),
    },
    Migration {
        version: 20261207020000,
        name: "20261207020000_users_scope.sql",
        sql: include_str!("../../../../migrations/server-postgres/20261207020000_users_scope.sql"),
    },
    Migration {
        version: 20261207030000,
        name: "20261207030000_alert_person_first.sql",
        sql: include_str!(
            "../../../../migrations/server-postgres/20261207030000_alert_person_first.sql"
        ),
    },
    Migration {
        version: 20261207040000,
        name: "20261207040000_case_closed_on.sql",
        sql: include_str!(
            "../../../../migrations/server-postgres/20261207040000_case_closed_on.sql"
        ),
    },
];

/// Arbitrary constant naming the migration lock ("yijian" in ASCII).
const MIGRATION_LOCK: i64 = 0x0000_7969_6a69_616e;

/// How often a transaction that lost a race is retried.
const RETRIES: usize = 20;

/// The name the server's sessions carry in `pg_stat_activity`, unless the URL names one.
const APPLICATION_NAME: &str = "yijian-server";

/// One pooled session and the statements it has prepared. rust-postgres prepares a statement
/// given as text on every use (a round trip of its own before the one that runs it); keeping
/// them per session halves the round trips of a pushed command, which runs a dozen statements.
/// A session that breaks is dropped by the pool with its statements.
pub(super) struct Session {
    client: Client,
    statements: Statements,
}

/// Prepared statements of one session, by their SQL text.
pub(super) type Statements = std::collections::HashMap<String, postgres::Statement>;

/// Statements kept per session at most: SQL built with values in it would otherwise grow the
/// cache without bound (such text is rare here; past the bound the cache starts again).
pub(super) const MAX_STATEMENTS: usize = 256;

/// Opens sessions for the pool, each with its own prepared statements.
#[derive(Debug)]
struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Session;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Session, postgres::Error> {
        Ok(Session {
            client: self.config.connect(NoTls)?,
            statements: Statements::new(),
        })
    }

    fn is_valid(&self, s: &mut Session) -> Result<(), postgres::Error> {
        s.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, s: &mut Session) -> bool {
        s.client.is_closed()
    }
}

/// The bounded pool: at most `max_connections` sessions, each made durable and given the
/// statement timeout when it opens; a checkout finding them all busy waits up to the acquire
/// timeout and then fails as "storage unavailable" (503), which devices retry.
struct Pool {
    inner: Option<r2d2::Pool<Manager>>,
    url: String,
    max_connections: u32,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // The synchronous client blocks on its own runtime when dropped, which panics on a
        // tokio worker thread (where the last `Arc` of the storage usually goes away).
        if let Some(inner) = self.inner.take() {
            std::thread::spawn(move || drop(inner));
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("url", &crate::config::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// What every new session runs before its first use.
#[derive(Debug)]
struct SessionSetup {
    statement_timeout_ms: u64,
}

impl r2d2::CustomizeConnection<Session, postgres::Error> for SessionSetup {
    fn on_acquire(&self, session: &mut Session) -> Result<(), postgres::Error> {
        let client = &mut session.client;
        durable(client)?;
        // No parallel workers: the server's statements are short and many, and starting two
        // workers costs about 10 ms, a hundred times a delta pull's own work (a province's load
        // spent most of PostgreSQL's time starting them).
        client.batch_execute(&format!(
            "SET statement_timeout = {}; SET max_parallel_workers_per_gather = 0",
            self.statement_timeout_ms
        ))
    }
}

/// Pool failures (all connections busy past the timeout, database unreachable) arrive here.
#[derive(Debug)]
struct PoolErrors;

impl r2d2::HandleError<postgres::Error> for PoolErrors {
    fn handle_error(&self, error: postgres::Error) {
        tracing::warn!(error = %error, "postgres connection failed");
    }
}

impl Pool {
    fn open(url: &str, settings: &PostgresConfig) -> Result<Pool, StorageError> {
        let mut config: postgres::Config =
            url.parse()
                .map_err(|e: postgres::Error| StorageError::Database {
                    backend: "postgres",
                    failure: DatabaseFailure::Other,
                    message: format!("bad connection string: {e}"),
                })?;
        if config.get_application_name().is_none() {
            config.application_name(APPLICATION_NAME);
        }
        let max_connections = settings.max_connections.get();
        let inner = r2d2::Pool::builder()
            .max_size(max_connections)
            // Sessions open on demand: an idle process holds none beyond what it used.
            .min_idle(Some(0))
            .idle_timeout(Some(std::time::Duration::from_secs(600)))
            .connection_timeout(std::time::Duration::from_secs(
                settings.acquire_timeout_secs.get(),
            ))
            .connection_customizer(Box::new(SessionSetup {
                statement_timeout_ms: settings.statement_timeout_secs.get().saturating_mul(1000),
            }))
            .error_handler(Box::new(PoolErrors))
            .build_unchecked(Manager { config });
        Ok(Pool {
            inner: Some(inner),
            url: url.to_owned(),
            max_connections,
        })
    }

    fn get(&self) -> Result<r2d2::PooledConnection<Manager>, StorageError> {
        let inner = self
            .inner
            .as_ref()
            .ok_or_else(|| StorageError::Task("postgres pool closed".into()))?;
        inner.get().map_err(|e| StorageError::Database {
            backend: "postgres",
            failure: DatabaseFailure::Other,
            message: format!("no database connection: {e}"),
        })
    }

    fn state(&self) -> (u32, u32) {
        self.inner.as_ref().map_or((0, 0), |p| {
            let s = p.state();
            (s.connections, s.idle_connections)
        })
    }
}

/// A device deletes a command from its outbox once the server has answered "applied", so a
/// commit must be on disk before the answer. PostgreSQL's default (`synchronous_commit = on`,
/// with `fsync` on) promises that; a server configured to trade it away (`off`, or `local`
/// where a standby exists) is overridden for this session. Stronger settings (`remote_write`,
/// `remote_apply`, waiting for a standby) are kept as configured.
fn durable(c: &mut Client) -> Result<(), postgres::Error> {
    let setting: String = c.query_one("SHOW synchronous_commit", &[])?.get(0);
    if setting == "off" {
        c.batch_execute("SET synchronous_commit = on")?;
    }
    let fsync: String = c.query_one("SHOW fsync", &[])?.get(0);
    if fsync != "on" {
        tracing::warn!(
            "PostgreSQL runs with fsync off: a power cut can lose pushes the server acknowledged"
        );
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pool: Arc<Pool>,
}

impl PostgresStorage {
    /// Connect with the default pool settings and migrate.
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        PostgresStorage::connect_with(url, &PostgresConfig::default()).await
    }

    /// Connect with `settings` (pool size and timeouts) and migrate.
    pub async fn connect_with(
        url: &str,
        settings: &PostgresConfig,
    ) -> Result<PostgresStorage, StorageError> {
        let storage = PostgresStorage {
            pool: Arc::new(Pool::open(url, settings)?),
        };
        storage
            .with_client(|c| {
                migrate(c, MIGRATIONS)?;
                Ok(())
            })
            .await?;
        Ok(storage)
    }

    /// Run `f` with a pooled connection on the blocking pool.
    async fn with_client<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Client) -> Result<T, StorageError> + Send + 'static,
    {
        self.with_session(move |s| f(&mut s.client)).await
    }

    /// Run `f` with a pooled session (its client and prepared statements) on the blocking pool.
    pub(super) async fn with_session<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session) -> Result<T, StorageError> + Send + 'static,
    {
        let pool = Arc::clone(&self.pool);
        tokio::task::spawn_blocking(move || {
            let mut session = pool.get()?;
            f(&mut session)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// The pool as `/healthz` shows it, with the timeout a session actually runs under.
    async fn pool_health(&self) -> Result<PoolHealth, StorageError> {
        let pool = Arc::clone(&self.pool);
        let (statement_timeout, parallel_workers) = self
            .with_client(|c| {
                let show = |c: &mut Client, what: &str| -> Result<String, StorageError> {
                    Ok(c.query_one(&format!("SHOW {what}"), &[])?.get(0))
                };
                Ok((
                    show(c, "statement_timeout")?,
                    show(c, "max_parallel_workers_per_gather")?,
                ))
            })
            .await?;
        let (open, idle) = pool.state();
        Ok(PoolHealth {
            max_connections: pool.max_connections,
            open,
            idle,
            statement_timeout,
            parallel_workers,
        })
    }

    /// Run `f` in a transaction, retrying it when it lost a race with another transaction.
    async fn in_tx<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: Fn(&mut PgTx<'_, '_>) -> Result<T, StorageError> + Send + 'static,
    {
        self.with_session(move |session| {
            let Session { client, statements } = session;
            let mut attempt = 0;
            loop {
                let mut tx = client.transaction()?;
                let r = {
                    let mut work = PgTx {
                        tx: &mut tx,
                        locking: true,
                        statements,
                        pending: Pending::default(),
                        prefetched: std::collections::HashMap::new(),
                    };
                    f(&mut work).and_then(|v| {
                        work.flush()?;
                        Ok(v)
                    })
                }
                .and_then(|v| {
                    tx.commit()?;
                    Ok(v)
                });
                match r {
                    Err(e) if attempt < RETRIES && e.is_conflict() => {
                        attempt += 1;
                        tracing::debug!(attempt, error = %e, "retrying transaction");
                        std::thread::sleep(std::time::Duration::from_millis((attempt as u64) * 3));
                    }
                    other => return other,
                }
            }
        })
        .await
    }
}

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> StorageError {
        let failure = match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::UNIQUE_VIOLATION =>
            {
                DatabaseFailure::Conflict
            }
            Some(c) if c.code().starts_with("23") => DatabaseFailure::Constraint,
            _ => DatabaseFailure::Other,
        };
        StorageError::Database {
            backend: "postgres",
            failure,
            // The driver's Display says only "db error"; the server's own message says why.
            message: match e.as_db_error() {
                Some(db) => format!("{}: {}", db.code().code(), db.message()),
                None => e.to_string(),
            },
        }
    }
}

/// Apply the pending migrations under an advisory lock, all in one transaction.
pub fn migrate(client: &mut Client, all: &[Migration]) -> Result<usize, StorageError> {
    let mut tx = client.transaction()?;
    // Building an index on a province's tables takes longer than any request may.
    tx.batch_execute("SET LOCAL statement_timeout = 0")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );",
    )?;
    let applied: Vec<AppliedMigration> = tx
        .query(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )?
        .iter()
        .map(|r| AppliedMigration {
            version: r.get(0),
            checksum: r.get(1),
        })
        .collect();
    let todo = schema::pending(all, &applied)?;
    for m in &todo {
        tx.batch_execute(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum()],
        )?;
        tracing::info!(migration = m.name, "applied postgres migration");
    }
    tx.commit()?;
    Ok(todo.len())
}

fn corrupt<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StorageError + '_ {
    move |e| StorageError::Corrupt(format!("{what}: {e}"))
}

fn user_from_row(r: &postgres::Row, offset: usize) -> Result<Account, StorageError> {
    let id: String = r.get(offset);
    let role: String = r.get(offset + 3);
    let scope: String = r.get(offset + 4);
    Ok(Account {
        id: id.parse().map_err(corrupt("user id"))?,
        login: r.get(offset + 1),
        name: r.get(offset + 2),
        role: serde_json::from_value(serde_json::Value::String(role))
            .map_err(corrupt("user role"))?,
        scope: DivisionCode::parse(&scope).map_err(corrupt("user scope"))?,
    })
}

/// The cursor of a PostgreSQL feed: `p<change_tx>.<change_seq>`.
fn parse_cursor(cursor: Option<&Cursor>) -> Result<(String, i64), StorageError> {
    let Some(Cursor(c)) = cursor else {
        return Ok(("0".into(), 0));
    };
    let bad = || StorageError::BadCursor(c.clone());
    let (tx, seq) = c
        .strip_prefix('p')
        .and_then(|r| r.split_once('.'))
        .ok_or_else(bad)?;
    if tx.is_empty() || !tx.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok((tx.to_owned(), seq.parse().map_err(|_| bad())?))
}

/// The columns of `case_index`, in the order [`pg_case_from_row`] reads them.
const CASE_COLUMNS: &str = "case_id, village, household_id, stage, open, source, green_channel,
    risk_types, applicant_name, id_number, phone, receipt_no, declared_at, declared_on,
    first_visit_on, verified_on, approved_on, closed_on, plan_made_on, clock_step, clock_owner,
    clock_due_on, updated_at";

const SMS_COLUMNS: &str = "id, out_id, phone, template, params, text_zh, case_id, status,
    claimed_from, attempts, next_attempt_at, last_error, provider_id, created_at, sent_at";

fn pg_case_from_row(r: &postgres::Row) -> Result<CaseRow, StorageError> {
    let risks: String = r.get(7);
    let clock_step: Option<String> = r.get(19);
    let clock_owner: Option<String> = r.get(20);
    Ok(CaseRow {
        case_id: r.get(0),
        village: r.get(1),
        household_id: r.get(2),
        stage: enum_parse(r.get(3))?,
        open: r.get(4),
        source: enum_parse(r.get(5))?,
        green_channel: r.get(6),
        risk_types: serde_json::from_str(&risks)?,
        applicant_name: r.get(8),
        id_number: r.get(9),
        phone: r.get(10),
        receipt_no: r.get(11),
        declared_at: r.get(12),
        declared_on: r.get(13),
        first_visit_on: r.get(14),
        verified_on: r.get(15),
        approved_on: r.get(16),
        closed_on: r.get(17),
        plan_made_on: r.get(18),
        clock_step: clock_step.as_deref().map(enum_parse).transpose()?,
        clock_owner: clock_owner.as_deref().map(enum_parse).transpose()?,
        clock_due_on: r.get(21),
        updated_at: r.get(22),
    })
}

fn pg_notification_from_row(r: &postgres::Row) -> Result<Notification, StorageError> {
    Ok(Notification {
        id: r.get(0),
        role: enum_parse(r.get(1))?,
        scope: r.get(2),
        case_id: r.get(3),
        kind: r.get(4),
        text_zh: r.get(5),
        at: r.get(6),
    })
}

fn pg_sms_from_row(r: &postgres::Row) -> Result<SmsRow, StorageError> {
    let status = |s: &str| {
        SmsStatus::parse(s).ok_or_else(|| StorageError::Corrupt(format!("sms status {s:?}")))
    };
    let params: String = r.get(4);
    let claimed: Option<String> = r.get(8);
    let attempts: i32 = r.get(9);
    Ok(SmsRow {
        id: r.get(0),
        sms: NewSms {
            out_id: r.get(1),
            phone: r.get(2),
            template: r.get(3),
            params: serde_json::from_str(&params)?,
            text_zh: r.get(5),
            case_id: r.get(6),
            created_at: r.get(13),
        },
        status: status(r.get(7))?,
        claimed_from: claimed.as_deref().map(status).transpose()?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: r.get(10),
        last_error: r.get(11),
        provider_id: r.get(12),
        sent_at: r.get(14),
    })
}
