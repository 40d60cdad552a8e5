//! [`RecordTx`] over one SQLite transaction: what domain logic reads and writes.

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
use crate::store::tx::{AppliedCommand, AuditEntry, RecordTx, StoredRecord};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId};
use yijian_core::protocol::auth::Account;
use yijian_core::role::Role;

use super::*;

pub(super) struct SqliteTx<'a> {
    pub(super) tx: &'a rusqlite::Transaction<'a>,
    pub(super) next_seq: Option<i64>,
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
        // A record's village never changes: an update naming another village matches no row.
        self.tx
            .query_row(
                "INSERT INTO records (kind, id, village, body, hlc, version, change_seq, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
                 ON CONFLICT (kind, id) DO UPDATE SET
                    body = excluded.body, hlc = excluded.hlc,
                    version = records.version + 1, change_seq = excluded.change_seq,
                    updated_at = excluded.updated_at
                 WHERE records.village = excluded.village
                 RETURNING version",
                params![kind, id, village, body, hlc.to_string(), seq, ts(now)],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StorageError::VillageChange {
                kind: kind.to_owned(),
                id: id.to_owned(),
            })
            .and_then(|version| {
                if kind == yijian_core::protocol::kinds::HOUSEHOLD {
                    self.index_members(id, village, body)?;
                }
                Ok(version)
            })
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

    fn blob_owners(&mut self, sha256: &str) -> Result<Vec<String>, StorageError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT village FROM blob_owners WHERE sha256 = ?1")?;
        let rows = stmt.query_map([sha256], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
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

    fn write_case_row(&mut self, r: &CaseRow) -> Result<(), StorageError> {
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

    fn cases_closed_between(
        &mut self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<CaseRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM case_index
              WHERE closed_on >= ?1 AND closed_on < ?2
              ORDER BY case_id"
        ))?;
        let mut rows = stmt.query(params![day(from), day(until)])?;
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

    fn insert_step_done(&mut self, d: &StepDone) -> Result<bool, StorageError> {
        let inserted = self.tx.execute(
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
        Ok(inserted == 1)
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

    fn add_figures(&mut self, deltas: &[FigureDelta]) -> Result<(), StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO case_figures (code_len, division, figure, key, n)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (code_len, division, figure, key) DO UPDATE SET n = n + excluded.n",
        )?;
        for d in deltas {
            stmt.execute(params![d.code_len, d.division, d.figure, d.key, d.n])?;
        }
        Ok(())
    }

    fn figures_in(
        &mut self,
        scope: &DivisionCode,
    ) -> Result<BTreeMap<String, Tally>, StorageError> {
        let read = FigureRead::of(scope);
        let (lo, hi) = scope_range(scope);
        let mut stmt = self.tx.prepare_cached(
            "SELECT substr(division, 1, ?4), figure, key, SUM(n) FROM case_figures
              WHERE code_len = ?1 AND division >= ?2 AND division < ?3
              GROUP BY 1, 2, 3 HAVING SUM(n) <> 0",
        )?;
        let rows = stmt.query_map(params![read.kept_len, lo, hi, read.group_len], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out: BTreeMap<String, Tally> = BTreeMap::new();
        for row in rows {
            let (group, figure, key, n) = row?;
            out.entry(group).or_default().insert((figure, key), n);
        }
        Ok(out)
    }

    fn figures_missing(&mut self) -> Result<bool, StorageError> {
        Ok(self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM case_index) AND NOT EXISTS (SELECT 1 FROM case_figures)",
            [],
            |r| r.get(0),
        )?)
    }

    fn clear_figures(&mut self) -> Result<(), StorageError> {
        self.tx.execute("DELETE FROM case_figures", [])?;
        Ok(())
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

    fn hits_so_far(&mut self, key: &str, window_start: DateTime<Utc>) -> Result<u32, StorageError> {
        let hits: Option<i64> = self
            .tx
            .query_row(
                "SELECT hits FROM rate_hits WHERE key = ?1 AND window_start = ?2",
                params![key, ts(window_start)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(hits.map_or(0, |h| u32::try_from(h).unwrap_or(u32::MAX)))
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
        scope: &DivisionCode,
        status: Option<SmsStatus>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError> {
        let (lo, hi) = scope_range(scope);
        let whole_province = scope.level() == yijian_core::division::Level::Province;
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {SMS_COLUMNS} FROM sms_outbox
              WHERE (?1 IS NULL OR status = ?1)
                AND (CASE WHEN case_id IS NULL THEN ?5
                     ELSE EXISTS (SELECT 1 FROM case_index ci
                                   WHERE ci.case_id = sms_outbox.case_id
                                     AND ci.village >= ?3 AND ci.village < ?4) END)
              ORDER BY id DESC LIMIT ?2"
        ))?;
        let mut rows = stmt.query(params![
            status.map(SmsStatus::as_str),
            limit,
            lo,
            hi,
            whole_province
        ])?;
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

    fn clocks_to_notice(&mut self, due_by: NaiveDate) -> Result<Vec<CaseRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM case_index c
              WHERE c.open = 1 AND c.clock_due_on <= ?1 AND c.clock_owner IS NOT NULL
                AND NOT EXISTS (
                    SELECT 1 FROM deadline_notices n
                     WHERE n.case_id = c.case_id AND n.step = c.clock_step
                       AND n.due_on = c.clock_due_on AND n.kind = 'overdue')
              ORDER BY c.clock_due_on, c.declared_at"
        ))?;
        let mut rows = stmt.query([day(due_by)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(case_from_row(r)?);
        }
        Ok(out)
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

    fn throttle(&mut self, key: &str) -> Result<Option<Throttle>, StorageError> {
        self.tx
            .query_row(
                "SELECT key, failures, blocked_until, updated_at FROM login_throttle WHERE key = ?1",
                [key],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?
            .map(|(key, failures, blocked, updated)| {
                Ok(Throttle {
                    key,
                    failures,
                    blocked_until: blocked.as_deref().map(parse_ts).transpose()?,
                    updated_at: parse_ts(&updated)?,
                })
            })
            .transpose()
    }

    fn put_throttle(&mut self, t: &Throttle) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO login_throttle (key, failures, blocked_until, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                blocked_until = excluded.blocked_until, updated_at = excluded.updated_at",
            params![t.key, t.failures, t.blocked_until.map(ts), ts(t.updated_at)],
        )?;
        Ok(())
    }

    fn clear_throttle(&mut self, key: &str) -> Result<(), StorageError> {
        self.tx
            .execute("DELETE FROM login_throttle WHERE key = ?1", [key])?;
        Ok(())
    }

    fn households_with_member(
        &mut self,
        id_number: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT household_id, village FROM member_ids WHERE id_number = ?1 ORDER BY household_id",
        )?;
        let rows = stmt.query_map([id_number], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn alert_row(
        &mut self,
        department: &str,
        row_key: &str,
    ) -> Result<Option<AlertRowRecord>, StorageError> {
        self.tx
            .query_row(
                "SELECT body FROM alert_rows WHERE department = ?1 AND row_key = ?2",
                params![department, row_key],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|b| Ok(serde_json::from_str(&b)?))
            .transpose()
    }

    fn insert_alert_row(&mut self, row: &AlertRowRecord) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO alert_rows (department, row_key, batch_id, line, id_number, matter,
                                     occurred_on, fingerprint, outcome, case_id, body, village)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                row.department,
                row.row_key,
                row.batch_id,
                row.line,
                row.id_number,
                row.matter,
                row.occurred_on.map(day),
                row.fingerprint,
                row.outcome.as_str(),
                row.case_id,
                serde_json::to_string(row)?,
                row.village
            ],
        )?;
        Ok(())
    }

    fn update_alert_row(&mut self, row: &AlertRowRecord) -> Result<(), StorageError> {
        self.tx.execute(
            "UPDATE alert_rows SET case_id = ?3, village = ?4, body = ?5
              WHERE department = ?1 AND row_key = ?2",
            params![
                row.department,
                row.row_key,
                row.case_id,
                row.village,
                serde_json::to_string(row)?
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
        let mut stmt = self.tx.prepare_cached(
            "SELECT body FROM alert_rows
              WHERE outcome = 'unmatched' AND id_number >= ?1 AND id_number < ?2
              ORDER BY id_number LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![lo, hi, limit], |r| r.get::<_, String>(0))?;
        rows.map(|b| Ok(serde_json::from_str(&b?)?)).collect()
    }

    fn alert_rows_of(&mut self, batch_id: &str) -> Result<Vec<AlertRowRecord>, StorageError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT body FROM alert_rows WHERE batch_id = ?1 ORDER BY line")?;
        let rows = stmt.query_map([batch_id], |r| r.get::<_, String>(0))?;
        rows.map(|b| Ok(serde_json::from_str(&b?)?)).collect()
    }

    fn alert_take_up_in(
        &mut self,
        scope: &DivisionCode,
    ) -> Result<crate::store::rows::AlertTakeUp, StorageError> {
        let (lo, hi) = scope_range(scope);
        let mut take_up = crate::store::rows::AlertTakeUp::default();
        let mut stmt = self.tx.prepare_cached(
            "SELECT department, outcome, COUNT(*) FROM alert_rows
              WHERE village >= ?1 AND village < ?2 GROUP BY department, outcome",
        )?;
        let rows = stmt.query_map(params![lo, hi], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (department, outcome, n) = row?;
            let outcome = AlertOutcome::parse(&outcome)
                .ok_or_else(|| StorageError::Corrupt(format!("alert outcome {outcome}")))?;
            take_up.counts.push((department, outcome, n));
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT DISTINCT a.department, a.case_id, ci.approved_on IS NOT NULL
               FROM alert_rows a LEFT JOIN case_index ci ON ci.case_id = a.case_id
              WHERE a.village >= ?1 AND a.village < ?2 AND a.case_id IS NOT NULL
                AND a.outcome IN ('lead_created', 'attached')",
        )?;
        let rows = stmt.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        take_up.cases = rows.collect::<Result<_, _>>()?;
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
        Ok(self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM alert_rows
                             WHERE department = ?1 AND id_number = ?2 AND matter = ?3
                               AND occurred_on >= ?4 AND occurred_on <= ?5
                               AND outcome IN ('lead_created', 'attached'))",
            params![department, id_number, matter, day(from), day(to)],
            |r| r.get(0),
        )?)
    }

    fn alert_leads(&mut self) -> Result<Vec<(String, String)>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT department, case_id FROM alert_rows
              WHERE outcome = 'lead_created' AND case_id IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_alert_batch(&mut self, b: &AlertBatchRow) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO alert_batches (id, department, scope, received_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            params![
                b.id,
                b.department,
                b.scope,
                ts(b.received_at),
                serde_json::to_string(b)?
            ],
        )?;
        Ok(())
    }

    fn alert_batch(&mut self, id: &str) -> Result<Option<AlertBatchRow>, StorageError> {
        self.tx
            .query_row("SELECT body FROM alert_batches WHERE id = ?1", [id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|b| Ok(serde_json::from_str(&b)?))
            .transpose()
    }

    fn alert_batches(&mut self, limit: u32) -> Result<Vec<AlertBatchRow>, StorageError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT body FROM alert_batches ORDER BY received_at DESC, id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| r.get::<_, String>(0))?;
        rows.map(|b| Ok(serde_json::from_str(&b?)?)).collect()
    }

    fn put_department_key(&mut self, k: &DepartmentKey) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO department_keys (id, key_hash, revoked_at, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, body = excluded.body",
            params![
                k.id,
                k.key_hash,
                k.revoked_at.map(ts),
                serde_json::to_string(k)?
            ],
        )?;
        Ok(())
    }

    fn department_key_by_hash(
        &mut self,
        hash: &str,
    ) -> Result<Option<DepartmentKey>, StorageError> {
        self.tx
            .query_row(
                "SELECT body FROM department_keys WHERE key_hash = ?1",
                [hash],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|b| Ok(serde_json::from_str(&b)?))
            .transpose()
    }

    fn department_keys(&mut self) -> Result<Vec<DepartmentKey>, StorageError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT body FROM department_keys ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|b| Ok(serde_json::from_str(&b?)?)).collect()
    }

    fn set_liaison_department(
        &mut self,
        user_id: &str,
        department: Option<&str>,
    ) -> Result<(), StorageError> {
        match department {
            Some(d) => self.tx.execute(
                "INSERT INTO department_liaisons (user_id, department) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET department = excluded.department",
                params![user_id, d],
            )?,
            None => self.tx.execute(
                "DELETE FROM department_liaisons WHERE user_id = ?1",
                [user_id],
            )?,
        };
        Ok(())
    }

    fn liaison_department(&mut self, user_id: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .tx
            .query_row(
                "SELECT department FROM department_liaisons WHERE user_id = ?1",
                [user_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn claim_spot_check_month(&mut self, m: &SpotCheckMonth) -> Result<bool, StorageError> {
        let inserted = self.tx.execute(
            "INSERT INTO spot_check_months (county, month, body) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![m.county, m.month, serde_json::to_string(m)?],
        )?;
        Ok(inserted == 1)
    }

    fn spot_check_months(&mut self) -> Result<Vec<SpotCheckMonth>, StorageError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT body FROM spot_check_months ORDER BY month DESC, county")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|b| Ok(serde_json::from_str(&b?)?)).collect()
    }

    fn put_spot_check(&mut self, c: &SpotCheckRow) -> Result<(), StorageError> {
        self.tx.execute(
            "INSERT INTO spot_checks (case_id, month, village, follow_up_id, body)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (case_id, month) DO UPDATE SET body = excluded.body",
            params![
                c.case_id,
                c.month,
                c.village,
                c.follow_up_id,
                serde_json::to_string(c)?
            ],
        )?;
        Ok(())
    }

    fn spot_check_by_follow_up(
        &mut self,
        follow_up_id: &str,
    ) -> Result<Option<SpotCheckRow>, StorageError> {
        self.tx
            .query_row(
                "SELECT body FROM spot_checks WHERE follow_up_id = ?1",
                [follow_up_id],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|b| Ok(serde_json::from_str(&b)?))
            .transpose()
    }

    fn spot_checks_in(&mut self, scope: &str) -> Result<Vec<SpotCheckRow>, StorageError> {
        let scope = DivisionCode::parse(scope).map_err(corrupt("spot check scope"))?;
        let (lo, hi) = scope_range(&scope);
        let mut stmt = self.tx.prepare_cached(
            "SELECT body FROM spot_checks WHERE village >= ?1 AND village < ?2
              ORDER BY month DESC, village, case_id",
        )?;
        let rows = stmt.query_map(params![lo, hi], |r| r.get::<_, String>(0))?;
        rows.map(|b| Ok(serde_json::from_str(&b?)?)).collect()
    }
}

impl SqliteTx<'_> {
    /// Keep `member_ids` in step with a household's members (see the migration).
    fn index_members(
        &mut self,
        household_id: &str,
        village: &str,
        body: Option<&str>,
    ) -> Result<(), StorageError> {
        self.tx.execute(
            "DELETE FROM member_ids WHERE household_id = ?1",
            [household_id],
        )?;
        for id_number in crate::store::codec::member_id_numbers(body) {
            self.tx.execute(
                "INSERT OR IGNORE INTO member_ids (id_number, household_id, village) VALUES (?1, ?2, ?3)",
                params![id_number, household_id, village],
            )?;
        }
        Ok(())
    }
}
