//! [`RecordTx`] over one PostgreSQL transaction: what domain logic reads and writes.

use super::by_key;
use crate::store::StorageError;
use crate::store::codec::{enum_parse, enum_text, scope_range};
use crate::store::figures::{FigureDelta, FigureRead, Tally};
use crate::store::rows::CaseRow;
use crate::store::rows::FollowUpFacts;
use crate::store::rows::StepDone;
use crate::store::rows::{
    AlertBatchRow, AlertOutcome, AlertRowRecord, DepartmentKey, SpotCheckMonth, SpotCheckRow,
};
use crate::store::rows::{
    CaseQuery, DeadlineNotice, NewSms, Notification, SmsRow, SmsStatus, SmsUpdate, Throttle,
    UnitContact,
};
use crate::store::tx::{AppliedCommand, AuditEntry, RecordTx, RecordWrite, StoredRecord};
use chrono::{DateTime, NaiveDate, Utc};
use postgres::Transaction;
use std::collections::BTreeMap;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId};
use yijian_core::protocol::auth::Account;
use yijian_core::role::Role;

use super::*;

pub(super) struct PgTx<'a, 'b> {
    pub(super) tx: &'a mut Transaction<'b>,
    /// Writing: rows read are locked. Off in read-only transactions, where locks are refused.
    pub(super) locking: bool,
    /// The session's prepared statements (see [`super::Session`]).
    pub(super) statements: &'a mut super::Statements,
    /// Appends nothing in the transaction reads back before it ends, written together by
    /// [`PgTx::flush`] before the commit (a push of 500 commands would otherwise make 1,000
    /// more round trips).
    pub(super) pending: Pending,
    /// Records read and locked by [`RecordTx::prefetch`], `None` for those that do not exist,
    /// by (kind, id); a deferred write of this transaction keeps the entry at the state it
    /// wrote, any other write drops it.
    pub(super) prefetched: std::collections::HashMap<(String, String), Option<StoredRecord>>,
}

/// Writes a [`PgTx`] holds until [`PgTx::flush`].
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Writes of prefetched records, whose versions are known without asking (the rows are
    /// locked): written in one statement before the next statement of any kind, so nothing
    /// this transaction reads can miss them.
    records: Vec<DeferredWrite>,
    audit: Vec<AuditEntry>,
    /// By (device, command): a push naming one command twice keeps the last outcome.
    applied: BTreeMap<(String, String), (AppliedCommand, DateTime<Utc>)>,
}

/// A record write held in [`Pending`], with the version it gets.
#[derive(Debug)]
struct DeferredWrite {
    kind: String,
    id: String,
    village: String,
    body: Option<String>,
    hlc: String,
    version: i64,
    at: DateTime<Utc>,
}

/// The advisory lock that serialises the transactions touching one record, also before the
/// record exists.
fn record_lock(kind: &str, id: &str) -> String {
    format!("record:{kind}:{id}")
}

/// The advisory lock that serialises two copies of one pushed command.
fn command_lock(device: DeviceId, command: CommandId) -> String {
    format!("command:{device}:{command}")
}

type Params<'p> = &'p [&'p (dyn postgres::types::ToSql + Sync)];

/// Every statement goes through the session's prepared statements.
impl PgTx<'_, '_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.tx.prepare(sql)?;
        if self.statements.len() >= super::MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<postgres::Row>, StorageError> {
        self.write_deferred()?;
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<postgres::Row, StorageError> {
        self.write_deferred()?;
        let s = self.statement(sql)?;
        Ok(self.tx.query_one(&s, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<postgres::Row>, StorageError> {
        self.write_deferred()?;
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, StorageError> {
        self.write_deferred()?;
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }

    /// Write the deferred record writes: the last state of each record in one statement (a
    /// record written twice in a transaction shows no one its middle state), then the
    /// households' member index. A version other than the one foretold means a writer that
    /// took no lock changed the row meanwhile: the transaction is run again.
    fn write_deferred(&mut self) -> Result<(), StorageError> {
        if self.pending.records.is_empty() {
            return Ok(());
        }
        let writes = std::mem::take(&mut self.pending.records);
        // The last write of each record, in the order records were first written; whether
        // the row existed before this transaction (its first version here is above 1).
        let mut order: Vec<(String, String)> = Vec::new();
        let mut last: std::collections::HashMap<(String, String), (&DeferredWrite, bool)> =
            std::collections::HashMap::new();
        for w in &writes {
            let key = (w.kind.clone(), w.id.clone());
            match last.get_mut(&key) {
                Some(entry) => entry.0 = w,
                None => {
                    order.push(key.clone());
                    last.insert(key, (w, w.version > 1));
                }
            }
        }
        let rows: Vec<(&DeferredWrite, bool)> = order.iter().map(|k| last[k]).collect();
        let col = |f: fn(&DeferredWrite) -> &str| -> Vec<&str> {
            rows.iter().map(|(w, _)| f(w)).collect()
        };
        let bodies: Vec<Option<&str>> = rows.iter().map(|(w, _)| w.body.as_deref()).collect();
        let versions: Vec<i64> = rows.iter().map(|(w, _)| w.version).collect();
        let at: Vec<DateTime<Utc>> = rows.iter().map(|(w, _)| w.at).collect();
        let sql = "INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
             SELECT k, i, v, b, h, n, u
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
                         $7::timestamptz[]) WITH ORDINALITY AS t(k, i, v, b, h, n, u, o)
             ORDER BY o
             ON CONFLICT (kind, id) DO UPDATE SET
                body = excluded.body, hlc = excluded.hlc, version = excluded.version,
                change_tx = pg_current_xact_id(), change_seq = nextval('records_change_seq'),
                updated_at = excluded.updated_at
             WHERE records.village = excluded.village AND records.version < excluded.version
             RETURNING kind, id, version";
        let statement = self.statement(sql)?;
        let written = self.tx.query(
            &statement,
            &[
                &col(|w| &w.kind),
                &col(|w| &w.id),
                &col(|w| &w.village),
                &bodies,
                &col(|w| &w.hlc),
                &versions,
                &at,
            ],
        )?;
        let stored: std::collections::HashMap<(String, String), i64> = written
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        if let Some((w, _)) = rows
            .iter()
            .find(|(w, _)| stored.get(&(w.kind.clone(), w.id.clone())) != Some(&w.version))
        {
            return Err(StorageError::Database {
                backend: "postgres",
                failure: crate::store::DatabaseFailure::Conflict,
                message: format!("{} {} changed by a writer without its lock", w.kind, w.id),
            });
        }
        let households: Vec<&(&DeferredWrite, bool)> = rows
            .iter()
            .filter(|(w, _)| w.kind == yijian_core::protocol::kinds::HOUSEHOLD)
            .collect();
        if households.is_empty() {
            return Ok(());
        }
        let existed: Vec<&str> = households
            .iter()
            .filter(|(_, existed)| *existed)
            .map(|(w, _)| w.id.as_str())
            .collect();
        if !existed.is_empty() {
            let statement =
                self.statement("DELETE FROM member_ids WHERE household_id = ANY($1)")?;
            self.tx.execute(&statement, &[&existed])?;
        }
        let (mut numbers, mut owners, mut places) = (Vec::new(), Vec::new(), Vec::new());
        for (w, _) in &households {
            for n in crate::store::codec::member_id_numbers(w.body.as_deref()) {
                numbers.push(n);
                owners.push(w.id.as_str());
                places.push(w.village.as_str());
            }
        }
        if !numbers.is_empty() {
            let statement = self.statement(
                "INSERT INTO member_ids (id_number, household_id, village)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT DO NOTHING",
            )?;
            self.tx.execute(&statement, &[&numbers, &owners, &places])?;
        }
        Ok(())
    }
}

impl PgTx<'_, '_> {
    /// Write what [`Pending`] holds: before the commit, and before any read of those tables.
    pub(super) fn flush(&mut self) -> Result<(), StorageError> {
        self.write_deferred()?;
        let audit = std::mem::take(&mut self.pending.audit);
        if !audit.is_empty() {
            let col = |f: fn(&AuditEntry) -> Option<&str>| -> Vec<Option<&str>> {
                audit.iter().map(f).collect()
            };
            let at: Vec<DateTime<Utc>> = audit.iter().map(|e| e.at).collect();
            // In the order they were made: `seq` numbers the trail.
            self.execute(
                "INSERT INTO audit (at, user_id, device_id, command_id, action, kind, record_id, village, detail)
                 SELECT a, u, d, c, ac, k, r, v, de
                 FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[], $9::text[])
                      WITH ORDINALITY AS t(a, u, d, c, ac, k, r, v, de, n)
                 ORDER BY n",
                &[
                    &at,
                    &col(|e| e.user_id.as_deref()),
                    &col(|e| e.device_id.as_deref()),
                    &col(|e| e.command_id.as_deref()),
                    &col(|e| Some(e.action.as_str())),
                    &col(|e| Some(e.kind.as_str())),
                    &col(|e| Some(e.record_id.as_str())),
                    &col(|e| Some(e.village.as_str())),
                    &col(|e| Some(e.detail.as_str())),
                ],
            )?;
        }
        let applied = std::mem::take(&mut self.pending.applied);
        if !applied.is_empty() {
            let devices: Vec<&str> = applied.keys().map(|(d, _)| d.as_str()).collect();
            let commands: Vec<&str> = applied.keys().map(|(_, c)| c.as_str()).collect();
            let hashes: Vec<&str> = applied
                .values()
                .map(|(a, _)| a.body_hash.as_str())
                .collect();
            let outcomes: Vec<&str> = applied.values().map(|(a, _)| a.outcome.as_str()).collect();
            let at: Vec<DateTime<Utc>> = applied.values().map(|(_, at)| *at).collect();
            self.execute(
                "INSERT INTO applied_commands (device_id, command_id, body_hash, outcome, applied_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                 ON CONFLICT (device_id, command_id) DO UPDATE SET
                    outcome = excluded.outcome, applied_at = excluded.applied_at",
                &[&devices, &commands, &hashes, &outcomes, &at],
            )?;
        }
        Ok(())
    }

    /// Serialise every transaction that touches `key` — also when the row does not exist yet,
    /// which `FOR UPDATE` cannot lock — until this transaction ends.
    fn lock(&mut self, key: &str) -> Result<(), StorageError> {
        if !self.locking {
            return Ok(());
        }
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&key],
        )?;
        Ok(())
    }

    /// [`Self::lock`] for several keys in one statement, taken in a fixed order so that two
    /// transactions taking overlapping sets cannot deadlock.
    fn lock_all(&mut self, keys: &[String]) -> Result<(), StorageError> {
        if !self.locking {
            return Ok(());
        }
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
             FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k) AS keys",
            &[&keys],
        )?;
        Ok(())
    }
}

impl PgTx<'_, '_> {
    /// Keep `member_ids` in step with a household's members (see the migration).
    fn index_members(
        &mut self,
        household_id: &str,
        village: &str,
        body: Option<&str>,
        existed: bool,
    ) -> Result<(), StorageError> {
        if existed {
            self.execute(
                "DELETE FROM member_ids WHERE household_id = $1",
                &[&household_id],
            )?;
        }
        for id_number in crate::store::codec::member_id_numbers(body) {
            self.execute(
                "INSERT INTO member_ids (id_number, household_id, village) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&id_number, &household_id, &village],
            )?;
        }
        Ok(())
    }

    fn bodies<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<T>, StorageError> {
        self.query(sql, params)?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.get::<_, String>(0))?))
            .collect()
    }

    fn body<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<T>, StorageError> {
        self.query_opt(sql, params)?
            .map(|r| Ok(serde_json::from_str(&r.get::<_, String>(0))?))
            .transpose()
    }
}

impl RecordTx for PgTx<'_, '_> {
    fn get(&mut self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        // Locked when it was prefetched, and unchanged since (this transaction's writes drop
        // the entry; other transactions wait for the lock).
        if let Some(hit) = self.prefetched.get(&(kind.to_owned(), id.to_owned())) {
            return Ok(hit.clone());
        }
        self.lock(&record_lock(kind, id))?;
        let sql = if self.locking {
            "SELECT village, body, hlc, version FROM records WHERE kind = $1 AND id = $2 FOR UPDATE"
        } else {
            "SELECT village, body, hlc, version FROM records WHERE kind = $1 AND id = $2"
        };
        let row = self.query_opt(sql, &[&kind, &id])?;
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

    fn prefetch(&mut self, kind: &str, ids: &[String]) -> Result<(), StorageError> {
        if !self.locking || ids.is_empty() {
            return Ok(());
        }
        let found = self.get_many(kind, ids)?;
        for id in ids {
            self.prefetched.insert((kind.to_owned(), id.clone()), None);
        }
        for r in found {
            self.prefetched
                .insert((r.kind.clone(), r.id.clone()), Some(r));
        }
        Ok(())
    }

    fn get_many(&mut self, kind: &str, ids: &[String]) -> Result<Vec<StoredRecord>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The same advisory locks `get` takes, in one statement.
        let keys: Vec<String> = ids.iter().map(|id| record_lock(kind, id)).collect();
        self.lock_all(&keys)?;
        // Rows are locked in the order of the ids; sorted, two pushes lock in the same order
        // (the advisory locks above already serialise them, this is the second belt).
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let sql = if self.locking {
            by_key::RECORDS_LOCKED
        } else {
            by_key::RECORDS
        };
        self.query(sql, &[&kind, &ids])?
            .into_iter()
            .map(|r| {
                let hlc: String = r.get(3);
                Ok(StoredRecord {
                    kind: kind.to_owned(),
                    id: r.get(0),
                    village: r.get(1),
                    body: r.get(2),
                    hlc: hlc.parse().map_err(corrupt("record hlc"))?,
                    version: r.get(4),
                })
            })
            .collect()
    }

    /// One `INSERT … SELECT FROM unnest(…)` for the records and one pair of statements for the
    /// households' `member_ids`, instead of several round trips per record.
    fn put_many(
        &mut self,
        records: &[RecordWrite<'_>],
        hlc: Hlc,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StorageError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        for r in records {
            self.prefetched
                .remove(&(r.kind.to_owned(), r.id.to_owned()));
        }
        let kinds: Vec<&str> = records.iter().map(|r| r.kind).collect();
        let ids: Vec<&str> = records.iter().map(|r| r.id).collect();
        let villages: Vec<&str> = records.iter().map(|r| r.village).collect();
        let bodies: Vec<Option<&str>> = records.iter().map(|r| r.body).collect();
        let rows = self.query(
            "INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
             SELECT k, i, v, b, $5, 1, $6
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(k, i, v, b)
             ON CONFLICT (kind, id) DO UPDATE SET
                body = excluded.body, hlc = excluded.hlc,
                version = records.version + 1,
                change_tx = pg_current_xact_id(), change_seq = nextval('records_change_seq'),
                updated_at = excluded.updated_at
             WHERE records.village = excluded.village
             RETURNING kind, id, version",
            &[&kinds, &ids, &villages, &bodies, &hlc.to_string(), &now],
        )?;
        let versions: std::collections::HashMap<(String, String), i64> = rows
            .into_iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let v = versions
                .get(&(r.kind.to_owned(), r.id.to_owned()))
                .ok_or_else(|| StorageError::VillageChange {
                    kind: r.kind.to_owned(),
                    id: r.id.to_owned(),
                })?;
            out.push(*v);
        }
        let households: Vec<&RecordWrite<'_>> = records
            .iter()
            .filter(|r| r.kind == yijian_core::protocol::kinds::HOUSEHOLD)
            .collect();
        if !households.is_empty() {
            let household_ids: Vec<&str> = households.iter().map(|r| r.id).collect();
            self.execute(
                "DELETE FROM member_ids WHERE household_id = ANY($1)",
                &[&household_ids],
            )?;
            let (mut numbers, mut owners, mut places) = (Vec::new(), Vec::new(), Vec::new());
            for h in &households {
                for n in crate::store::codec::member_id_numbers(h.body) {
                    numbers.push(n);
                    owners.push(h.id);
                    places.push(h.village);
                }
            }
            self.execute(
                "INSERT INTO member_ids (id_number, household_id, village)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT DO NOTHING",
                &[&numbers, &owners, &places],
            )?;
        }
        Ok(out)
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
        let key = (kind.to_owned(), id.to_owned());
        if let Some(known) = self.prefetched.get(&key) {
            // Read and locked by `prefetch`: the version is known, the write can wait for the
            // next statement (a push of 500 new households is then one INSERT, not 500).
            let version = match known {
                None => 1,
                Some(r) if r.village == village => r.version + 1,
                Some(_) => {
                    return Err(StorageError::VillageChange {
                        kind: kind.to_owned(),
                        id: id.to_owned(),
                    });
                }
            };
            self.pending.records.push(DeferredWrite {
                kind: kind.to_owned(),
                id: id.to_owned(),
                village: village.to_owned(),
                body: body.map(str::to_owned),
                hlc: hlc.to_string(),
                version,
                at: now,
            });
            self.prefetched.insert(
                key,
                Some(StoredRecord {
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                    village: village.to_owned(),
                    body: body.map(str::to_owned),
                    hlc,
                    version,
                }),
            );
            return Ok(version);
        }
        // A record's village never changes: an update naming another village matches no row.
        let row = self.query_opt(
            "INSERT INTO records (kind, id, village, body, hlc, version, updated_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6)
             ON CONFLICT (kind, id) DO UPDATE SET
                body = excluded.body, hlc = excluded.hlc,
                version = records.version + 1,
                change_tx = pg_current_xact_id(), change_seq = nextval('records_change_seq'),
                updated_at = excluded.updated_at
             WHERE records.village = excluded.village
             RETURNING version",
            &[&kind, &id, &village, &body, &hlc.to_string(), &now],
        )?;
        let version = row
            .map(|r| r.get(0))
            .ok_or_else(|| StorageError::VillageChange {
                kind: kind.to_owned(),
                id: id.to_owned(),
            })?;
        if kind == yijian_core::protocol::kinds::HOUSEHOLD {
            // Version 1: the household was just created and has no members indexed yet.
            self.index_members(id, village, body, version > 1)?;
        }
        Ok(version)
    }

    fn applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
    ) -> Result<Option<AppliedCommand>, StorageError> {
        // Two copies of one push running at once: the second waits here, then finds the first
        // one's result.
        self.lock(&command_lock(device, command))?;
        self.flush()?;
        Ok(self
            .query_opt(
                "SELECT body_hash, outcome FROM applied_commands WHERE device_id = $1 AND command_id = $2",
                &[&device.to_string(), &command.to_string()],
            )?
            .map(|r| AppliedCommand {
                body_hash: r.get(0),
                outcome: r.get(1),
            }))
    }

    fn applied_many(
        &mut self,
        device: DeviceId,
        commands: &[CommandId],
    ) -> Result<std::collections::HashMap<CommandId, AppliedCommand>, StorageError> {
        if commands.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        // The locks `applied` takes, in one statement and in a fixed order (two copies of one
        // push cannot deadlock; the second waits, then finds the first one's results).
        let keys: Vec<String> = commands.iter().map(|c| command_lock(device, *c)).collect();
        self.lock_all(&keys)?;
        self.flush()?;
        let ids: Vec<String> = commands.iter().map(ToString::to_string).collect();
        self.query(by_key::APPLIED_COMMANDS, &[&device.to_string(), &ids])?
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                Ok((
                    id.parse().map_err(corrupt("command id"))?,
                    AppliedCommand {
                        body_hash: r.get(1),
                        outcome: r.get(2),
                    },
                ))
            })
            .collect()
    }

    fn record_applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
        applied: &AppliedCommand,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        if self.locking {
            self.pending.applied.insert(
                (device.to_string(), command.to_string()),
                (applied.clone(), now),
            );
            return Ok(());
        }
        // A read-only transaction: refused by the database, as it should be.
        self.execute(
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
        self.execute(
            "INSERT INTO blob_owners (sha256, village) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&sha256, &village],
        )?;
        Ok(())
    }

    fn blob_owners(&mut self, sha256: &str) -> Result<Vec<String>, StorageError> {
        Ok(self
            .tx
            .query(
                "SELECT village FROM blob_owners WHERE sha256 = $1",
                &[&sha256],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
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
        if self.locking {
            self.pending.audit.push(e.clone());
            return Ok(());
        }
        // A read-only transaction: refused by the database, as it should be.
        self.execute(
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
        let rows = self.query(
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
        let row = self.query_opt(
            &format!("SELECT {CASE_COLUMNS} FROM case_index WHERE case_id = $1"),
            &[&case_id],
        )?;
        row.as_ref().map(pg_case_from_row).transpose()
    }

    fn write_case_row(&mut self, r: &CaseRow) -> Result<(), StorageError> {
        let stage = enum_text(&r.stage)?;
        let source = enum_text(&r.source)?;
        let risks = serde_json::to_string(&r.risk_types)?;
        let clock_step = r.clock_step.as_ref().map(enum_text).transpose()?;
        let clock_owner = r.clock_owner.as_ref().map(enum_text).transpose()?;
        self.execute(
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
        let rows = self.query(
            &format!(
                "SELECT {CASE_COLUMNS} FROM case_index
                  WHERE village ~>=~ $1 AND village ~<~ $2
                    AND (NOT $3 OR open)
                    AND ($4::date IS NULL OR clock_due_on <= $4)
                  ORDER BY clock_due_on IS NULL, clock_due_on, declared_at
                  LIMIT $5"
            ),
            &[&lo, &hi, &q.open_only, &q.due_by, &limit],
        )?;
        rows.iter().map(pg_case_from_row).collect()
    }

    fn cases_closed_between(
        &mut self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<CaseRow>, StorageError> {
        let rows = self.query(
            &format!(
                "SELECT {CASE_COLUMNS} FROM case_index
                  WHERE closed_on >= $1 AND closed_on < $2
                  ORDER BY case_id"
            ),
            &[&from, &until],
        )?;
        rows.iter().map(pg_case_from_row).collect()
    }

    fn open_case_of(&mut self, id_number: &str) -> Result<Option<CaseRow>, StorageError> {
        // Two declarations of one resident at once: the second waits and then finds the first.
        self.lock(&format!("resident:{id_number}"))?;
        let row = self.query_opt(
            &format!(
                "SELECT {CASE_COLUMNS} FROM case_index WHERE id_number = $1 AND open
                  ORDER BY declared_at LIMIT 1"
            ),
            &[&id_number],
        )?;
        row.as_ref().map(pg_case_from_row).transpose()
    }

    fn case_by_receipt(&mut self, receipt_no: &str) -> Result<Option<CaseRow>, StorageError> {
        let row = self.query_opt(
            &format!("SELECT {CASE_COLUMNS} FROM case_index WHERE receipt_no = $1"),
            &[&receipt_no],
        )?;
        row.as_ref().map(pg_case_from_row).transpose()
    }

    fn insert_step_done(&mut self, d: &StepDone) -> Result<bool, StorageError> {
        let inserted = self.execute(
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
        Ok(inserted == 1)
    }

    fn steps_done(&mut self, scope: &str, since: NaiveDate) -> Result<Vec<StepDone>, StorageError> {
        let scope = DivisionCode::parse(scope).map_err(corrupt("steps scope"))?;
        let (lo, hi) = scope_range(&scope);
        let rows = self.query(
            "SELECT case_id, village, step, due_on, done_on FROM steps_done
              WHERE village ~>=~ $1 AND village ~<~ $2 AND done_on >= $3",
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

    fn add_figures(&mut self, deltas: &[FigureDelta]) -> Result<(), StorageError> {
        if deltas.is_empty() {
            return Ok(());
        }
        let code_lens: Vec<i16> = deltas.iter().map(|d| d.code_len).collect();
        let divisions: Vec<&str> = deltas.iter().map(|d| d.division.as_str()).collect();
        let figures: Vec<&str> = deltas.iter().map(|d| d.figure).collect();
        let keys: Vec<&str> = deltas.iter().map(|d| d.key.as_str()).collect();
        let ns: Vec<i64> = deltas.iter().map(|d| d.n).collect();
        // One statement for the whole change; rows come in key order, so two transactions lock
        // shared rows (their county's) in the same order.
        self.execute(
            "INSERT INTO case_figures (code_len, division, figure, key, n)
             SELECT * FROM unnest($1::int2[], $2::text[], $3::text[], $4::text[], $5::int8[])
             ON CONFLICT (code_len, division, figure, key)
             DO UPDATE SET n = case_figures.n + excluded.n",
            &[&code_lens, &divisions, &figures, &keys, &ns],
        )?;
        Ok(())
    }

    fn figures_in(
        &mut self,
        scope: &DivisionCode,
    ) -> Result<BTreeMap<String, Tally>, StorageError> {
        let read = FigureRead::of(scope);
        let (lo, hi) = scope_range(scope);
        let group_len = i32::from(read.group_len);
        let rows = self.query(
            "SELECT substr(division, 1, $4), figure, key, SUM(n)::int8 FROM case_figures
              WHERE code_len = $1 AND division >= $2 AND division < $3
              GROUP BY 1, 2, 3 HAVING SUM(n) <> 0",
            &[&read.kept_len, &lo, &hi, &group_len],
        )?;
        let mut out: BTreeMap<String, Tally> = BTreeMap::new();
        for r in rows {
            out.entry(r.get(0))
                .or_default()
                .insert((r.get(1), r.get(2)), r.get(3));
        }
        Ok(out)
    }

    fn figures_missing(&mut self) -> Result<bool, StorageError> {
        self.lock("case_figures:build")?;
        let row = self.query_one(
            "SELECT EXISTS (SELECT 1 FROM case_index) AND NOT EXISTS (SELECT 1 FROM case_figures)",
            &[],
        )?;
        Ok(row.get(0))
    }

    fn clear_figures(&mut self) -> Result<(), StorageError> {
        self.execute("DELETE FROM case_figures", &[])?;
        Ok(())
    }

    fn index_follow_up(
        &mut self,
        follow_up_id: &str,
        case_id: &str,
        due_on: NaiveDate,
        done_on: Option<NaiveDate>,
    ) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO follow_up_index (follow_up_id, case_id, due_on, done_on)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (follow_up_id) DO UPDATE SET case_id = excluded.case_id,
                due_on = excluded.due_on, done_on = excluded.done_on",
            &[&follow_up_id, &case_id, &due_on, &done_on],
        )?;
        Ok(())
    }

    fn follow_up_facts(&mut self, case_id: &str) -> Result<FollowUpFacts, StorageError> {
        let r = self.query_one(
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
        self.flush()?;
        let rows = self.query(
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
        let rows = self.query(
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
        self.execute(
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
        self.execute(
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
            self.execute("DELETE FROM rate_hits WHERE window_start < $1", &[&old])?;
        }
        Ok(u32::try_from(hits).unwrap_or(0))
    }

    fn hits_so_far(&mut self, key: &str, window_start: DateTime<Utc>) -> Result<u32, StorageError> {
        let hits: Option<i32> = self
            .tx
            .query_opt(
                "SELECT hits FROM rate_hits WHERE key = $1 AND window_start = $2",
                &[&key, &window_start],
            )?
            .map(|r| r.get(0));
        Ok(hits.map_or(0, |h| u32::try_from(h).unwrap_or(0)))
    }

    fn enqueue_sms(&mut self, m: &NewSms, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.execute(
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
        let rows = self.query(
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
            SmsUpdate::Sent { provider_id, at } => self.execute(
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
                self.execute(
                    "UPDATE sms_outbox SET status = $2, last_error = $3, next_attempt_at = $4,
                            attempts = attempts + 1, lease_until = NULL, claimed_from = NULL
                      WHERE id = $1",
                    &[&id, &status, error, next_attempt_at],
                )?
            }
            SmsUpdate::Failed { error } => self.execute(
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
        scope: &DivisionCode,
        status: Option<SmsStatus>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError> {
        let status = status.map(SmsStatus::as_str);
        let (lo, hi) = scope_range(scope);
        let whole_province = scope.level() == yijian_core::division::Level::Province;
        let rows = self.query(
            &format!(
                "SELECT {SMS_COLUMNS} FROM sms_outbox
                  WHERE ($1::text IS NULL OR status = $1)
                    AND (CASE WHEN case_id IS NULL THEN $5
                         ELSE EXISTS (SELECT 1 FROM case_index ci
                                       WHERE ci.case_id = sms_outbox.case_id
                                         AND ci.village ~>=~ $3 AND ci.village ~<~ $4) END)
                  ORDER BY id DESC LIMIT $2"
            ),
            &[&status, &i64::from(limit), &lo, &hi, &whole_province],
        )?;
        rows.iter().map(pg_sms_from_row).collect()
    }

    fn notice_once(&mut self, n: &DeadlineNotice) -> Result<bool, StorageError> {
        let escalated = n.escalated_to.as_ref().map(enum_text).transpose()?;
        let inserted = self.execute(
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
        let rows = self.query(
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

    fn clocks_to_notice(&mut self, due_by: NaiveDate) -> Result<Vec<CaseRow>, StorageError> {
        let rows = self.query(
            &format!(
                "SELECT {CASE_COLUMNS} FROM case_index c
                  WHERE c.open AND c.clock_due_on <= $1 AND c.clock_owner IS NOT NULL
                    AND NOT EXISTS (
                        SELECT 1 FROM deadline_notices n
                         WHERE n.case_id = c.case_id AND n.step = c.clock_step
                           AND n.due_on = c.clock_due_on AND n.kind = 'overdue')
                  ORDER BY c.clock_due_on, c.declared_at"
            ),
            &[&due_by],
        )?;
        rows.iter().map(pg_case_from_row).collect()
    }

    fn notice_keys_of(
        &mut self,
        case_ids: &[String],
    ) -> Result<crate::store::tx::NoticeKeys, StorageError> {
        let rows = self.query(
            "SELECT case_id, step, due_on, kind FROM deadline_notices WHERE case_id = ANY($1)",
            &[&case_ids],
        )?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.get(0),
                    enum_parse(r.get(1))?,
                    r.get(2),
                    enum_parse(r.get(3))?,
                ))
            })
            .collect()
    }

    fn notify(&mut self, n: &Notification) -> Result<(), StorageError> {
        self.execute(
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
        let rows = self.query(
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
        let rows = self.query(
            "SELECT id, role, scope, case_id, kind, text_zh, at FROM notifications
              WHERE role = $1 AND scope = $2 AND id > $3 ORDER BY id LIMIT $4",
            &[&enum_text(&role)?, &scope, &after, &i64::from(limit)],
        )?;
        rows.iter().map(pg_notification_from_row).collect()
    }

    fn touch_device(&mut self, device: DeviceId, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.execute(
            "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
            &[&now, &device.to_string()],
        )?;
        Ok(())
    }

    fn throttle(&mut self, key: &str) -> Result<Option<Throttle>, StorageError> {
        Ok(self
            .tx
            .query_opt(
                "SELECT key, failures, blocked_until, updated_at FROM login_throttle WHERE key = $1",
                &[&key],
            )?
            .map(|r| Throttle {
                key: r.get(0),
                failures: u32::try_from(r.get::<_, i32>(1)).unwrap_or(0),
                blocked_until: r.get(2),
                updated_at: r.get(3),
            }))
    }

    fn put_throttle(&mut self, t: &Throttle) -> Result<(), StorageError> {
        let failures = i32::try_from(t.failures).unwrap_or(i32::MAX);
        self.execute(
            "INSERT INTO login_throttle (key, failures, blocked_until, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                blocked_until = excluded.blocked_until, updated_at = excluded.updated_at",
            &[&t.key, &failures, &t.blocked_until, &t.updated_at],
        )?;
        Ok(())
    }

    fn clear_throttle(&mut self, key: &str) -> Result<(), StorageError> {
        self.execute("DELETE FROM login_throttle WHERE key = $1", &[&key])?;
        Ok(())
    }

    fn households_with_member(
        &mut self,
        id_number: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        Ok(self
            .tx
            .query(
                "SELECT household_id, village FROM member_ids WHERE id_number = $1 ORDER BY household_id",
                &[&id_number],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn alert_row(
        &mut self,
        department: &str,
        row_key: &str,
    ) -> Result<Option<AlertRowRecord>, StorageError> {
        // Two processes handling the same line: the second waits here, then finds the first's.
        self.lock(&format!("alert:{department}:{row_key}"))?;
        self.body(
            "SELECT body FROM alert_rows WHERE department = $1 AND row_key = $2",
            &[&department, &row_key],
        )
    }

    fn alert_rows_among(
        &mut self,
        department: &str,
        row_keys: &[String],
    ) -> Result<std::collections::HashMap<String, AlertRowRecord>, StorageError> {
        if self.locking {
            // In one order, so that two processes with overlapping lines cannot deadlock.
            let mut keys: Vec<String> = row_keys
                .iter()
                .map(|k| format!("alert:{department}:{k}"))
                .collect();
            keys.sort();
            self.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
                   FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
                &[&keys],
            )?;
        }
        let rows: Vec<AlertRowRecord> =
            self.bodies(by_key::ALERT_ROWS, &[&department, &row_keys])?;
        Ok(rows.into_iter().map(|r| (r.row_key.clone(), r)).collect())
    }

    fn households_with_members(
        &mut self,
        id_numbers: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<(String, String)>>, StorageError> {
        let mut out: std::collections::HashMap<String, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for r in self.query(
            "SELECT id_number, household_id, village FROM member_ids
              WHERE id_number = ANY($1) ORDER BY id_number, household_id",
            &[&id_numbers],
        )? {
            out.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
        }
        Ok(out)
    }

    fn record_bodies(
        &mut self,
        kind: &str,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StorageError> {
        Ok(self
            .tx
            .query(by_key::RECORDS, &[&kind, &ids])?
            .iter()
            .filter_map(|r| Some((r.get(0), r.get::<_, Option<String>>(2)?)))
            .collect())
    }

    fn batch_fingerprints(
        &mut self,
        batch_id: &str,
    ) -> Result<std::collections::HashSet<String>, StorageError> {
        Ok(self
            .tx
            .query(
                "SELECT fingerprint FROM alert_rows WHERE batch_id = $1 AND fingerprint IS NOT NULL",
                &[&batch_id],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn insert_alert_row(&mut self, row: &AlertRowRecord) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO alert_rows (department, row_key, batch_id, line, id_number, matter,
                                     occurred_on, fingerprint, outcome, case_id, body, village)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &row.department,
                &row.row_key,
                &row.batch_id,
                &row.line,
                &row.id_number,
                &row.matter,
                &row.occurred_on,
                &row.fingerprint,
                &row.outcome.as_str(),
                &row.case_id,
                &serde_json::to_string(row)?,
                &row.village,
            ],
        )?;
        Ok(())
    }

    fn update_alert_row(&mut self, row: &AlertRowRecord) -> Result<(), StorageError> {
        self.execute(
            "UPDATE alert_rows SET case_id = $3, village = $4, body = $5
              WHERE department = $1 AND row_key = $2",
            &[
                &row.department,
                &row.row_key,
                &row.case_id,
                &row.village,
                &serde_json::to_string(row)?,
            ],
        )?;
        Ok(())
    }

    fn unmatched_alert_rows(
        &mut self,
        lo: &str,
        hi: &str,
        limit: i64,
    ) -> Result<Vec<AlertRowRecord>, StorageError> {
        self.bodies(
            "SELECT body FROM alert_rows
              WHERE outcome = 'unmatched' AND id_number >= $1 AND id_number < $2
              ORDER BY id_number LIMIT $3",
            &[&lo, &hi, &limit],
        )
    }

    fn alert_rows_of(&mut self, batch_id: &str) -> Result<Vec<AlertRowRecord>, StorageError> {
        self.bodies(
            "SELECT body FROM alert_rows WHERE batch_id = $1 ORDER BY line",
            &[&batch_id],
        )
    }

    fn alert_take_up_in(
        &mut self,
        scope: &DivisionCode,
    ) -> Result<crate::store::rows::AlertTakeUp, StorageError> {
        let (lo, hi) = scope_range(scope);
        let mut take_up = crate::store::rows::AlertTakeUp::default();
        for r in self.query(
            "SELECT department, outcome, COUNT(*) FROM alert_rows
              WHERE village ~>=~ $1 AND village ~<~ $2 GROUP BY department, outcome",
            &[&lo, &hi],
        )? {
            let outcome: String = r.get(1);
            let outcome = AlertOutcome::parse(&outcome)
                .ok_or_else(|| StorageError::Corrupt(format!("alert outcome {outcome}")))?;
            take_up.counts.push((r.get(0), outcome, r.get(2)));
        }
        take_up.cases = self
            .tx
            .query(
                "SELECT DISTINCT a.department, a.case_id, ci.approved_on IS NOT NULL
                   FROM alert_rows a LEFT JOIN case_index ci ON ci.case_id = a.case_id
                  WHERE a.village ~>=~ $1 AND a.village ~<~ $2 AND a.case_id IS NOT NULL
                    AND a.outcome IN ('lead_created', 'attached')",
                &[&lo, &hi],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        Ok(take_up)
    }

    fn warning_taken_up(
        &mut self,
        department: &str,
        id_number: &str,
        matter: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StorageError> {
        // Two lines about one person in one run: the second waits for the first.
        self.lock(&format!("warning:{department}:{id_number}:{matter}"))?;
        Ok(self
            .tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM alert_rows
                                 WHERE department = $1 AND id_number = $2 AND matter = $3
                                   AND occurred_on >= $4 AND occurred_on <= $5
                                   AND outcome IN ('lead_created', 'attached'))",
                &[&department, &id_number, &matter, &from, &to],
            )?
            .get(0))
    }

    fn alert_leads(&mut self) -> Result<Vec<(String, String)>, StorageError> {
        Ok(self
            .tx
            .query(
                "SELECT department, case_id FROM alert_rows
                  WHERE outcome = 'lead_created' AND case_id IS NOT NULL",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn put_alert_batch(&mut self, b: &AlertBatchRow) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO alert_batches (id, department, scope, received_at, body)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[
                &b.id,
                &b.department,
                &b.scope,
                &b.received_at,
                &serde_json::to_string(b)?,
            ],
        )?;
        Ok(())
    }

    fn alert_batch(&mut self, id: &str) -> Result<Option<AlertBatchRow>, StorageError> {
        self.body("SELECT body FROM alert_batches WHERE id = $1", &[&id])
    }

    fn alert_batches(&mut self, limit: u32) -> Result<Vec<AlertBatchRow>, StorageError> {
        self.bodies(
            "SELECT body FROM alert_batches ORDER BY received_at DESC, id LIMIT $1",
            &[&i64::from(limit)],
        )
    }

    fn put_department_key(&mut self, k: &DepartmentKey) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO department_keys (id, key_hash, revoked_at, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, body = excluded.body",
            &[
                &k.id,
                &k.key_hash,
                &k.revoked_at,
                &serde_json::to_string(k)?,
            ],
        )?;
        Ok(())
    }

    fn department_key_by_hash(
        &mut self,
        hash: &str,
    ) -> Result<Option<DepartmentKey>, StorageError> {
        self.body(
            "SELECT body FROM department_keys WHERE key_hash = $1",
            &[&hash],
        )
    }

    fn department_keys(&mut self) -> Result<Vec<DepartmentKey>, StorageError> {
        self.bodies("SELECT body FROM department_keys ORDER BY id", &[])
    }

    fn set_liaison_department(
        &mut self,
        user_id: &str,
        department: Option<&str>,
    ) -> Result<(), StorageError> {
        match department {
            Some(d) => self.execute(
                "INSERT INTO department_liaisons (user_id, department) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET department = excluded.department",
                &[&user_id, &d],
            )?,
            None => self.execute(
                "DELETE FROM department_liaisons WHERE user_id = $1",
                &[&user_id],
            )?,
        };
        Ok(())
    }

    fn liaison_department(&mut self, user_id: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .tx
            .query_opt(
                "SELECT department FROM department_liaisons WHERE user_id = $1",
                &[&user_id],
            )?
            .map(|r| r.get(0)))
    }

    fn claim_spot_check_month(&mut self, m: &SpotCheckMonth) -> Result<bool, StorageError> {
        let inserted = self.execute(
            "INSERT INTO spot_check_months (county, month, body) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&m.county, &m.month, &serde_json::to_string(m)?],
        )?;
        Ok(inserted == 1)
    }

    fn spot_check_months(&mut self) -> Result<Vec<SpotCheckMonth>, StorageError> {
        self.bodies(
            "SELECT body FROM spot_check_months ORDER BY month DESC, county",
            &[],
        )
    }

    fn put_spot_check(&mut self, c: &SpotCheckRow) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO spot_checks (case_id, month, village, follow_up_id, body)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (case_id, month) DO UPDATE SET body = excluded.body",
            &[
                &c.case_id,
                &c.month,
                &c.village,
                &c.follow_up_id,
                &serde_json::to_string(c)?,
            ],
        )?;
        Ok(())
    }

    fn spot_check_by_follow_up(
        &mut self,
        follow_up_id: &str,
    ) -> Result<Option<SpotCheckRow>, StorageError> {
        self.body(
            "SELECT body FROM spot_checks WHERE follow_up_id = $1",
            &[&follow_up_id],
        )
    }

    fn spot_checks_in(&mut self, scope: &str) -> Result<Vec<SpotCheckRow>, StorageError> {
        let scope = DivisionCode::parse(scope).map_err(corrupt("spot check scope"))?;
        let (lo, hi) = scope_range(&scope);
        self.bodies(
            "SELECT body FROM spot_checks WHERE village ~>=~ $1 AND village ~<~ $2
              ORDER BY month DESC, village, case_id",
            &[&lo, &hi],
        )
    }
}
