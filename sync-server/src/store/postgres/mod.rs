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

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use postgres::error::SqlState;
use postgres::{Client, NoTls, Transaction};
use serde_json::value::RawValue;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId, UserId};
use yijian_core::protocol::{Change, Cursor};
use yijian_core::schema::{self, AppliedMigration, Migration};

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
];

/// Arbitrary constant naming the migration lock ("yijian" in ASCII).
const MIGRATION_LOCK: i64 = 0x0000_7969_6a69_616e;

/// Connections kept open per process.
const POOL_SIZE: usize = 8;

/// How often a transaction that lost a race is retried.
const RETRIES: usize = 20;

struct Pool {
    url: String,
    idle: Mutex<Vec<Client>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // The synchronous client blocks on its own runtime when dropped, which panics on a
        // tokio worker thread (where the last `Arc` of the storage usually goes away).
        let idle = self.idle.get_mut().map(std::mem::take).unwrap_or_default();
        if !idle.is_empty() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("url", &crate::config::redact_url(&self.url))
            .finish()
    }
}

impl Pool {
    fn get(&self) -> Result<Client, StorageError> {
        let idle = self
            .idle
            .lock()
            .map_err(|_| StorageError::Task("postgres pool lock poisoned".into()))?
            .pop();
        match idle {
            Some(c) if !c.is_closed() => Ok(c),
            _ => Ok(Client::connect(&self.url, NoTls)?),
        }
    }

    fn put(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < POOL_SIZE
        {
            idle.push(client);
        }
    }
}

#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pool: Arc<Pool>,
}

impl PostgresStorage {
    /// Connect and migrate.
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        let storage = PostgresStorage {
            pool: Arc::new(Pool {
                url: url.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
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
        let pool = Arc::clone(&self.pool);
        tokio::task::spawn_blocking(move || {
            let mut client = pool.get()?;
            let r = f(&mut client);
            pool.put(client);
            r
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Run `f` in a transaction, retrying it when it lost a race with another transaction.
    async fn in_tx<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: Fn(&mut Transaction<'_>) -> Result<T, StorageError> + Send + 'static,
    {
        self.with_client(move |c| {
            let mut attempt = 0;
            loop {
                let mut tx = c.transaction()?;
                let r = f(&mut tx).and_then(|v| {
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

struct PgTx<'a, 'b> {
    tx: &'a mut Transaction<'b>,
    /// Writing: rows read are locked. Off in read-only transactions, where locks are refused.
    locking: bool,
}

impl PgTx<'_, '_> {
    /// Serialise every transaction that touches `key` — also when the row does not exist yet,
    /// which `FOR UPDATE` cannot lock — until this transaction ends.
    fn lock(&mut self, key: &str) -> Result<(), StorageError> {
        if !self.locking {
            return Ok(());
        }
        self.tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&key],
        )?;
        Ok(())
    }
}

impl RecordTx for PgTx<'_, '_> {
    fn get(&mut self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        self.lock(&format!("record:{kind}:{id}"))?;
        let sql = if self.locking {
            "SELECT village, body, hlc, version FROM records WHERE kind = $1 AND id = $2 FOR UPDATE"
        } else {
            "SELECT village, body, hlc, version FROM records WHERE kind = $1 AND id = $2"
        };
        let row = self.tx.query_opt(sql, &[&kind, &id])?;
        row.map(|r| {
            let hlc: String = r.get(2);
            Ok(StoredRecord {
                kind: kind.to_owned(),
                id: id.to_owned(),
                village: r.get(0),
                body: r.get(1),
                hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                version: r.get(3),
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
        let row = self.tx.query_one(
            "INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6)
             ON CONFLICT (kind, id) DO UPDATE SET
                village = excluded.village, body = excluded.body, hlc = excluded.hlc,
                version = records.version + 1,
                change_tx = pg_current_xact_id(), change_seq = nextval('records_change_seq'),
                updated_at = excluded.updated_at
             RETURNING version",
            &[&kind, &id, &village, &body, &hlc.to_string(), &now],
        )?;
        Ok(row.get(0))
    }

    fn applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
    ) -> Result<Option<AppliedCommand>, StorageError> {
        // Two copies of one push running at once: the second waits here, then finds the first
        // one's result.
        self.lock(&format!("command:{device}:{command}"))?;
        Ok(self
            .tx
            .query_opt(
                "SELECT body_hash, outcome FROM applied_commands WHERE device_id = $1 AND command_id = $2",
                &[&device.to_string(), &command.to_string()],
            )?
            .map(|r| AppliedCommand {
                body_hash: r.get(0),
                outcome: r.get(1),
            }))
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
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (device_id, command_id) DO UPDATE SET
                outcome = excluded.outcome, applied_at = excluded.applied_at",
            &[
                &device.to_string(),
                &command.to_string(),
                &applied.body_hash,
                &applied.outcome,
                &now,
            ],
        )?;
        Ok(())
    }

    fn link_blob(&mut self, sha256: &str, village: &str) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO blob_owners (sha256, village) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&sha256, &village],
        )?;
        Ok(())
    }

    fn next_receipt(&mut self, village: &str) -> Result<i64, StorageError> {
        Ok(self
            .tx
            .query_one(
                "INSERT INTO receipt_counters (village, last) VALUES ($1, 1)
                 ON CONFLICT (village) DO UPDATE SET last = receipt_counters.last + 1
                 RETURNING last",
                &[&village],
            )?
            .get(0))
    }

    fn audit(&mut self, e: &AuditEntry) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO audit (at, user_id, device_id, command_id, action, kind, record_id, village, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &e.at,
                &e.user_id,
                &e.device_id,
                &e.command_id,
                &e.action,
                &e.kind,
                &e.record_id,
                &e.village,
                &e.detail,
            ],
        )?;
        Ok(())
    }

    fn records_in_village(
        &mut self,
        kind: &str,
        village: &str,
    ) -> Result<Vec<StoredRecord>, StorageError> {
        let rows = self.tx.query(
            "SELECT id, body, hlc, version FROM records
              WHERE village = $1 AND kind = $2 AND body IS NOT NULL
              ORDER BY change_tx, change_seq",
            &[&village, &kind],
        )?;
        rows.iter()
            .map(|r| {
                let hlc: String = r.get(2);
                Ok(StoredRecord {
                    kind: kind.to_owned(),
                    id: r.get(0),
                    village: village.to_owned(),
                    body: r.get(1),
                    hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                    version: r.get(3),
                })
            })
            .collect()
    }

    fn case_row(&mut self, case_id: &str) -> Result<Option<CaseRow>, StorageError> {
        let row = self.tx.query_opt(
            &format!("SELECT {CASE_COLUMNS} FROM case_index WHERE case_id = $1"),
            &[&case_id],
        )?;
        row.as_ref().map(pg_case_from_row).transpose()
    }

    fn index_case(&mut self, r: &CaseRow) -> Result<(), StorageError> {
        let stage = enum_text(&r.stage)?;
        let source = enum_text(&r.source)?;
        let risks = serde_json::to_string(&r.risk_types)?;
        let clock_step = r.clock_step.as_ref().map(enum_text).transpose()?;
        let clock_owner = r.clock_owner.as_ref().map(enum_text).transpose()?;
        self.tx.execute(
            &format!(
                "INSERT INTO case_index ({CASE_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                         $17, $18, $19, $20, $21, $22, $23)
                 ON CONFLICT (case_id) DO UPDATE SET
                    village = excluded.village, household_id = excluded.household_id,
                    stage = excluded.stage, open = excluded.open, source = excluded.source,
                    green_channel = excluded.green_channel, risk_types = excluded.risk_types,
                    applicant_name = excluded.applicant_name, id_number = excluded.id_number,
                    phone = excluded.phone, receipt_no = excluded.receipt_no,
                    declared_at = excluded.declared_at, declared_on = excluded.declared_on,
                    first_visit_on = excluded.first_visit_on, verified_on = excluded.verified_on,
                    approved_on = excluded.approved_on, closed_on = excluded.closed_on,
                    plan_made_on = excluded.plan_made_on, clock_step = excluded.clock_step,
                    clock_owner = excluded.clock_owner, clock_due_on = excluded.clock_due_on,
                    updated_at = excluded.updated_at"
            ),
            &[
                &r.case_id,
                &r.village,
                &r.household_id,
                &stage,
                &r.open,
                &source,
                &r.green_channel,
                &risks,
                &r.applicant_name,
                &r.id_number,
                &r.phone,
                &r.receipt_no,
                &r.declared_at,
                &r.declared_on,
                &r.first_visit_on,
                &r.verified_on,
                &r.approved_on,
                &r.closed_on,
                &r.plan_made_on,
                &clock_step,
                &clock_owner,
                &r.clock_due_on,
                &r.updated_at,
            ],
        )?;
        Ok(())
    }

    fn case_rows(&mut self, q: &CaseQuery) -> Result<Vec<CaseRow>, StorageError> {
        let scope = DivisionCode::parse(&q.scope).map_err(corrupt("case query scope"))?;
        let (lo, hi) = scope_range(&scope);
        let limit = q.limit.map_or(i64::MAX, i64::from);
        let rows = self.tx.query(
            &format!(
                "SELECT {CASE_COLUMNS} FROM case_index
                  WHERE village >= $1 AND village < $2
                    AND (NOT $3 OR open)
                    AND ($4::date IS NULL OR clock_due_on <= $4)
                  ORDER BY clock_due_on IS NULL, clock_due_on, declared_at
                  LIMIT $5"
            ),
            &[&lo, &hi, &q.open_only, &q.due_by, &limit],
        )?;
        rows.iter().map(pg_case_from_row).collect()
    }

    fn open_case_of(&mut self, id_number: &str) -> Result<Option<CaseRow>, StorageError> {
        // Two declarations of one resident at once: the second waits and then finds the first.
        self.lock(&format!("resident:{id_number}"))?;
        let row = self.tx.query_opt(
            &format!(
                "SELECT {CASE_COLUMNS} FROM case_index WHERE id_number = $1 AND open
                  ORDER BY declared_at LIMIT 1"
            ),
            &[&id_number],
        )?;
        row.as_ref().map(pg_case_from_row).transpose()
    }

    fn case_by_receipt(&mut self, receipt_no: &str) -> Result<Option<CaseRow>, StorageError> {
        let row = self.tx.query_opt(
            &format!("SELECT {CASE_COLUMNS} FROM case_index WHERE receipt_no = $1"),
            &[&receipt_no],
        )?;
        row.as_ref().map(pg_case_from_row).transpose()
    }

    fn log_step(&mut self, d: &StepDone) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO steps_done (case_id, village, step, due_on, done_on)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[
                &d.case_id,
                &d.village,
                &enum_text(&d.step)?,
                &d.due_on,
                &d.done_on,
            ],
        )?;
        Ok(())
    }

    fn steps_done(&mut self, scope: &str, since: NaiveDate) -> Result<Vec<StepDone>, StorageError> {
        let scope = DivisionCode::parse(scope).map_err(corrupt("steps scope"))?;
        let (lo, hi) = scope_range(&scope);
        let rows = self.tx.query(
            "SELECT case_id, village, step, due_on, done_on FROM steps_done
              WHERE village >= $1 AND village < $2 AND done_on >= $3",
            &[&lo, &hi, &since],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StepDone {
                    case_id: r.get(0),
                    village: r.get(1),
                    step: enum_parse(r.get(2))?,
                    due_on: r.get(3),
                    done_on: r.get(4),
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
            "INSERT INTO follow_up_index (follow_up_id, case_id, due_on, done_on)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (follow_up_id) DO UPDATE SET case_id = excluded.case_id,
                due_on = excluded.due_on, done_on = excluded.done_on",
            &[&follow_up_id, &case_id, &due_on, &done_on],
        )?;
        Ok(())
    }

    fn follow_up_facts(&mut self, case_id: &str) -> Result<FollowUpFacts, StorageError> {
        let r = self.tx.query_one(
            "SELECT (SELECT min(due_on) FROM follow_up_index WHERE case_id = $1 AND done_on IS NULL),
                    (SELECT max(done_on) FROM follow_up_index WHERE case_id = $1)",
            &[&case_id],
        )?;
        Ok(FollowUpFacts {
            next_due: r.get(0),
            last_done: r.get(1),
        })
    }

    fn audit_of(&mut self, kind: &str, record_id: &str) -> Result<Vec<AuditEntry>, StorageError> {
        let rows = self.tx.query(
            "SELECT at, user_id, device_id, command_id, action, kind, record_id, village, detail
               FROM audit WHERE kind = $1 AND record_id = $2 ORDER BY seq",
            &[&kind, &record_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                user_id: r.get(1),
                device_id: r.get(2),
                command_id: r.get(3),
                action: r.get(4),
                kind: r.get(5),
                record_id: r.get(6),
                village: r.get(7),
                detail: r.get(8),
            })
            .collect())
    }

    fn users_with(
        &mut self,
        role: Role,
        scope: &DivisionCode,
    ) -> Result<Vec<Account>, StorageError> {
        let rows = self.tx.query(
            "SELECT id, login, name, role, scope FROM users
              WHERE role = $1 AND scope = $2 AND disabled_at IS NULL ORDER BY login",
            &[&enum_text(&role)?, &scope.as_str()],
        )?;
        rows.iter().map(|r| user_from_row(r, 0)).collect()
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .tx
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    fn put_setting(
        &mut self,
        key: &str,
        value: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            &[&key, &value, &now, &by],
        )?;
        Ok(())
    }

    fn unit_contact(&mut self, division: &str) -> Result<Option<UnitContact>, StorageError> {
        Ok(self
            .tx
            .query_opt(
                "SELECT division, name, phone FROM unit_contacts WHERE division = $1",
                &[&division],
            )?
            .map(|r| UnitContact {
                division: r.get(0),
                name: r.get(1),
                phone: r.get(2),
            }))
    }

    fn put_unit_contact(&mut self, c: &UnitContact) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO unit_contacts (division, name, phone) VALUES ($1, $2, $3)
             ON CONFLICT (division) DO UPDATE SET name = excluded.name, phone = excluded.phone",
            &[&c.division, &c.name, &c.phone],
        )?;
        Ok(())
    }

    fn hit(&mut self, key: &str, window_start: DateTime<Utc>) -> Result<u32, StorageError> {
        let hits: i32 = self
            .tx
            .query_one(
                "INSERT INTO rate_hits (key, window_start, hits) VALUES ($1, $2, 1)
                 ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_hits.hits + 1
                 RETURNING hits",
                &[&key, &window_start],
            )?
            .get(0);
        if hits == 1 && getrandom::u32().is_ok_and(|n| n % 64 == 0) {
            let old = window_start - chrono::Duration::days(1);
            self.tx
                .execute("DELETE FROM rate_hits WHERE window_start < $1", &[&old])?;
        }
        Ok(u32::try_from(hits).unwrap_or(0))
    }

    fn enqueue_sms(&mut self, m: &NewSms, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO sms_outbox (out_id, phone, template, params, text_zh, case_id,
                                     next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (out_id) DO NOTHING",
            &[
                &m.out_id,
                &m.phone,
                &m.template,
                &m.params.to_string(),
                &m.text_zh,
                &m.case_id,
                &now,
                &m.created_at,
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
        let rows = self.tx.query(
            &format!(
                "UPDATE sms_outbox o
                    SET status = 'sending',
                        claimed_from = CASE WHEN o.status = 'sending'
                                            THEN coalesce(o.claimed_from, 'unknown')
                                            ELSE o.status END,
                        lease_until = $2
                  WHERE o.id IN (SELECT id FROM sms_outbox
                                  WHERE status IN ('pending', 'unknown', 'sending')
                                    AND next_attempt_at <= $1
                                    AND (status <> 'sending' OR lease_until < $1)
                                  ORDER BY next_attempt_at, id LIMIT $3
                                  FOR UPDATE SKIP LOCKED)
                  RETURNING {SMS_COLUMNS}"
            ),
            &[&now, &lease_until, &i64::from(limit)],
        )?;
        let mut out = rows
            .iter()
            .map(pg_sms_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|s| s.id);
        Ok(out)
    }

    fn update_sms(&mut self, id: i64, u: &SmsUpdate) -> Result<(), StorageError> {
        match u {
            SmsUpdate::Sent { provider_id, at } => self.tx.execute(
                "UPDATE sms_outbox SET status = 'sent', provider_id = $2, sent_at = $3,
                        attempts = attempts + 1, lease_until = NULL, claimed_from = NULL,
                        last_error = NULL
                  WHERE id = $1",
                &[&id, provider_id, at],
            )?,
            SmsUpdate::Retry {
                error,
                next_attempt_at,
                unknown,
            } => {
                let status = if *unknown { "unknown" } else { "pending" };
                self.tx.execute(
                    "UPDATE sms_outbox SET status = $2, last_error = $3, next_attempt_at = $4,
                            attempts = attempts + 1, lease_until = NULL, claimed_from = NULL
                      WHERE id = $1",
                    &[&id, &status, error, next_attempt_at],
                )?
            }
            SmsUpdate::Failed { error } => self.tx.execute(
                "UPDATE sms_outbox SET status = 'failed', last_error = $2,
                        attempts = attempts + 1, lease_until = NULL, claimed_from = NULL
                  WHERE id = $1",
                &[&id, error],
            )?,
        };
        Ok(())
    }

    fn recent_sms(
        &mut self,
        status: Option<SmsStatus>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError> {
        let status = status.map(SmsStatus::as_str);
        let rows = self.tx.query(
            &format!(
                "SELECT {SMS_COLUMNS} FROM sms_outbox WHERE $1::text IS NULL OR status = $1
                  ORDER BY id DESC LIMIT $2"
            ),
            &[&status, &i64::from(limit)],
        )?;
        rows.iter().map(pg_sms_from_row).collect()
    }

    fn notice_once(&mut self, n: &DeadlineNotice) -> Result<bool, StorageError> {
        let escalated = n.escalated_to.as_ref().map(enum_text).transpose()?;
        let inserted = self.tx.execute(
            "INSERT INTO deadline_notices (case_id, village, step, due_on, kind, owner,
                                           escalated_to, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &n.case_id,
                &n.village,
                &enum_text(&n.step)?,
                &n.due_on,
                &n.kind.as_str(),
                &enum_text(&n.owner)?,
                &escalated,
                &n.at,
            ],
        )?;
        Ok(inserted == 1)
    }

    fn notices_of(&mut self, case_id: &str) -> Result<Vec<DeadlineNotice>, StorageError> {
        let rows = self.tx.query(
            "SELECT case_id, village, step, due_on, kind, owner, escalated_to, at
               FROM deadline_notices WHERE case_id = $1 ORDER BY at",
            &[&case_id],
        )?;
        rows.iter()
            .map(|r| {
                let escalated: Option<String> = r.get(6);
                Ok(DeadlineNotice {
                    case_id: r.get(0),
                    village: r.get(1),
                    step: enum_parse(r.get(2))?,
                    due_on: r.get(3),
                    kind: enum_parse(r.get(4))?,
                    owner: enum_parse(r.get(5))?,
                    escalated_to: escalated.as_deref().map(enum_parse).transpose()?,
                    at: r.get(7),
                })
            })
            .collect()
    }

    fn notify(&mut self, n: &Notification) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO notifications (role, scope, case_id, kind, text_zh, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &enum_text(&n.role)?,
                &n.scope,
                &n.case_id,
                &n.kind,
                &n.text_zh,
                &n.at,
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
        let rows = self.tx.query(
            "SELECT id, role, scope, case_id, kind, text_zh, at FROM notifications
              WHERE role = $1 AND scope = $2 ORDER BY id DESC LIMIT $3",
            &[&enum_text(&role)?, &scope, &i64::from(limit)],
        )?;
        rows.iter().map(pg_notification_from_row).collect()
    }

    fn notifications_after(
        &mut self,
        role: Role,
        scope: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Notification>, StorageError> {
        let rows = self.tx.query(
            "SELECT id, role, scope, case_id, kind, text_zh, at FROM notifications
              WHERE role = $1 AND scope = $2 AND id > $3 ORDER BY id LIMIT $4",
            &[&enum_text(&role)?, &scope, &after, &i64::from(limit)],
        )?;
        rows.iter().map(pg_notification_from_row).collect()
    }

    fn touch_device(&mut self, device: DeviceId, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx.execute(
            "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
            &[&now, &device.to_string()],
        )?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        self.with_client(|c| {
            let row = c.query_one("SELECT count(*) FROM schema_migrations", &[])?;
            Ok(StorageHealth {
                backend: "postgres",
                migrations: row.get(0),
            })
        })
        .await
    }

    async fn create_users(&self, users: Vec<(Account, String)>) -> Result<(), StorageError> {
        self.with_client(move |c| {
            let mut tx = c.transaction()?;
            for (user, hash) in &users {
                let r = tx.execute(
                    "INSERT INTO users (id, login, name, role, scope, password_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, now())",
                    &[
                        &user.id.to_string(),
                        &user.login,
                        &user.name,
                        &enum_text(&user.role)?,
                        &user.scope.to_string(),
                        hash,
                    ],
                );
                match r {
                    Ok(_) => {}
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
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
        self.with_client(move |c| {
            c.query_opt(
                "SELECT id, login, name, role, scope, password_hash, disabled_at IS NOT NULL
                 FROM users WHERE login = $1",
                &[&login],
            )?
            .map(|r| {
                Ok(Credentials {
                    user: user_from_row(&r, 0)?,
                    password_hash: r.get(5),
                    disabled: r.get(6),
                })
            })
            .transpose()
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<Account>, StorageError> {
        self.with_client(|c| {
            c.query(
                "SELECT id, login, name, role, scope FROM users ORDER BY scope, login",
                &[],
            )?
            .iter()
            .map(|r| user_from_row(r, 0))
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
        self.with_client(move |c| {
            c.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&device_id.to_string(), &user_id.to_string(), &name, &token_hash, &now],
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
        self.with_client(move |c| {
            let n = c.execute(
                "UPDATE devices SET token_hash = $1, name = $2, revoked_at = NULL, last_seen_at = $3
                 WHERE id = $4 AND user_id = $5",
                &[&token_hash, &name, &now, &device_id.to_string(), &user_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<DeviceSession>, StorageError> {
        let token_hash = token_hash.to_owned();
        self.with_client(move |c| {
            c.query_opt(
                "SELECT d.id, u.id, u.login, u.name, u.role, u.scope
                 FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
                &[&token_hash],
            )?
            .map(|r| {
                let device: String = r.get(0);
                Ok(DeviceSession {
                    device_id: device.parse().map_err(corrupt("device id"))?,
                    user: user_from_row(&r, 1)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn revoke_device(&self, device_id: DeviceId) -> Result<bool, StorageError> {
        self.with_client(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                &[&device_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_devices(&self, user_id: UserId) -> Result<Vec<DeviceInfo>, StorageError> {
        self.with_client(move |c| {
            c.query(
                "SELECT id, name, created_at, last_seen_at, revoked_at IS NOT NULL
                 FROM devices WHERE user_id = $1 ORDER BY created_at",
                &[&user_id.to_string()],
            )?
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                Ok(DeviceInfo {
                    id: id.parse().map_err(corrupt("device id"))?,
                    user_id,
                    name: r.get(1),
                    created_at: r.get(2),
                    last_seen_at: r.get(3),
                    revoked: r.get(4),
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
        let (after_tx, after_seq) = parse_cursor(cursor)?;
        let (lo, hi) = scope_range(scope);
        self.with_client(move |c| {
            let rows = c.query(
                // The text form is named apart: an output column called `change_tx` would make
                // ORDER BY sort by the text ("1000" < "735") instead of the transaction id.
                "SELECT kind, id, village, body, hlc, version, change_tx::text AS tx_text, change_seq
                 FROM records
                 WHERE (change_tx, change_seq) > ($1::text::xid8, $2)
                   AND change_tx < pg_snapshot_xmin(pg_current_snapshot())
                   AND village >= $3 AND village < $4
                 ORDER BY records.change_tx, records.change_seq
                 LIMIT $5",
                &[&after_tx, &after_seq, &lo, &hi, &(i64::from(limit) + 1)],
            )?;
            let has_more = rows.len() > limit as usize;
            let mut next = (after_tx, after_seq);
            let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
            for r in rows.iter().take(limit as usize) {
                let body: Option<String> = r.get(3);
                let hlc: String = r.get(4);
                next = (r.get(6), r.get(7));
                changes.push(Change {
                    kind: r.get(0),
                    id: r.get(1),
                    village: r.get(2),
                    hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                    version: r.get(5),
                    data: body
                        .map(RawValue::from_string)
                        .transpose()
                        .map_err(corrupt("record body"))?,
                });
            }
            Ok(FeedPage {
                changes,
                next_cursor: Cursor(format!("p{}.{}", next.0, next.1)),
                has_more,
            })
        })
        .await
    }

    async fn count_records(&self, scope: &DivisionCode) -> Result<u64, StorageError> {
        let (lo, hi) = scope_range(scope);
        self.with_client(move |c| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM records WHERE village >= $1 AND village < $2 AND body IS NOT NULL",
                    &[&lo, &hi],
                )?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn import_records(&self, records: Vec<ImportRecord>) -> Result<(), StorageError> {
        self.in_tx(move |tx| {
            let now = Utc::now();
            let mut rtx = PgTx { tx, locking: true };
            for r in &records {
                rtx.put(&r.kind, &r.id, &r.village, r.body.as_deref(), r.hlc, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.in_tx(move |tx| PgTx { tx, locking: true }.get(&kind, &id))
            .await
    }

    async fn blob_visible(&self, sha256: &str, scope: &DivisionCode) -> Result<bool, StorageError> {
        let sha256 = sha256.to_owned();
        let (lo, hi) = scope_range(scope);
        self.with_client(move |c| {
            Ok(c.query_one(
                "SELECT EXISTS (SELECT 1 FROM blob_owners
                                WHERE sha256 = $1 AND village >= $2 AND village < $3)",
                &[&sha256, &lo, &hi],
            )?
            .get(0))
        })
        .await
    }

    async fn link_blob(&self, sha256: &str, village: &DivisionCode) -> Result<(), StorageError> {
        let (sha256, village) = (sha256.to_owned(), village.to_string());
        self.in_tx(move |tx| PgTx { tx, locking: true }.link_blob(&sha256, &village))
            .await
    }

    async fn transact(
        &self,
        work: super::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.in_tx(move |tx| work(&mut PgTx { tx, locking: true }))
            .await
    }

    async fn read_only(
        &self,
        work: super::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.with_client(move |c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let out = work(&mut PgTx {
                tx: &mut tx,
                locking: false,
            })?;
            tx.commit()?;
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
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/server-postgres");
        yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
    }

    #[test]
    fn cursors_parse_strictly() {
        assert_eq!(parse_cursor(None).expect("start"), ("0".into(), 0));
        let c = Cursor("p1234.56".into());
        assert_eq!(parse_cursor(Some(&c)).expect("ok"), ("1234".into(), 56));
        for bad in ["s12", "p.1", "p12", "p1x.2", "p1.x"] {
            assert!(parse_cursor(Some(&Cursor(bad.into()))).is_err(), "{bad}");
        }
    }
}
