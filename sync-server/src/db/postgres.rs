//! PostgreSQL backend: several server processes on one database, for more than one machine's
//! worth of load.
//!
//! Uses the synchronous `postgres` client on tokio's blocking pool, so command handling
//! ([`crate::apply`]) is the same code as on SQLite. Concurrent pushes lock the records they
//! touch (`SELECT … FOR UPDATE`); a transaction that loses a deadlock, a serialization race or
//! the insert race of two duplicated pushes is retried from the start, where the retried
//! command is then found already applied.
//!
//! The change feed is gap-free across processes: see the comment on `records` in
//! `migrations/server-postgres/20261128200000_sync.sql`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::{Client, NoTls, Transaction};
use serde_json::value::RawValue;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId, UserId};
use yijian_core::protocol::{Change, Command, CommandResult, Cursor};
use yijian_core::schema::{self, AppliedMigration, Migration};

use super::sqlite::{role_text, scope_range};
use super::tx::{AppliedCommand, AuditEntry, RecordTx, StoredRecord};
use super::{
    Credentials, DeviceInfo, FeedPage, ImportRecord, Storage, StorageError, StorageHealth,
};
use crate::accounts::{DeviceSession, User};
use crate::apply::{self, ApplySettings};

/// The server's PostgreSQL migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261128190000,
        name: "20261128190000_init.sql",
        sql: include_str!("../../../migrations/server-postgres/20261128190000_init.sql"),
    },
    Migration {
        version: 20261128200000,
        name: "20261128200000_sync.sql",
        sql: include_str!("../../../migrations/server-postgres/20261128200000_sync.sql"),
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
                    Err(StorageError::Postgres(e)) if attempt < RETRIES && is_race(&e) => {
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

fn is_race(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    )
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

fn user_from_row(r: &postgres::Row, offset: usize) -> Result<User, StorageError> {
    let id: String = r.get(offset);
    let role: String = r.get(offset + 3);
    let scope: String = r.get(offset + 4);
    Ok(User {
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

struct PgTx<'a, 'b> {
    tx: &'a mut Transaction<'b>,
}

impl PgTx<'_, '_> {
    /// Serialise every transaction that touches `key` — also when the row does not exist yet,
    /// which `FOR UPDATE` cannot lock — until this transaction ends.
    fn lock(&mut self, key: &str) -> Result<(), StorageError> {
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
        let row = self.tx.query_opt(
            "SELECT village, body, hlc, version FROM records WHERE kind = $1 AND id = $2 FOR UPDATE",
            &[&kind, &id],
        )?;
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

    async fn create_users(&self, users: Vec<(User, String)>) -> Result<(), StorageError> {
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
                        &role_text(user)?,
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

    async fn list_users(&self) -> Result<Vec<User>, StorageError> {
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

    async fn push(
        &self,
        session: &DeviceSession,
        commands: Vec<Command>,
        settings: &ApplySettings,
    ) -> Result<Vec<CommandResult>, StorageError> {
        let session = session.clone();
        let settings = settings.clone();
        self.in_tx(move |tx| {
            let results = apply::apply_batch(&mut PgTx { tx }, &session, &commands, &settings)?;
            tx.execute(
                "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
                &[&settings.now, &session.device_id.to_string()],
            )?;
            Ok(results)
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
            let mut rtx = PgTx { tx };
            for r in &records {
                rtx.put(&r.kind, &r.id, &r.village, r.body.as_deref(), r.hlc, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.in_tx(move |tx| PgTx { tx }.get(&kind, &id)).await
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
        self.in_tx(move |tx| PgTx { tx }.link_blob(&sha256, &village))
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
