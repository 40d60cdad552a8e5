//! The transaction interface that command handling is written against.
//!
//! Both backends implement [`RecordTx`] over one open database transaction. It is synchronous
//! on purpose: a push runs on tokio's blocking pool, so the command logic in
//! [`crate::domain::apply`] is plain code that reads and writes records, and is written once.

use chrono::{DateTime, NaiveDate, Utc};
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId};
use yijian_core::role::Role;

use super::StorageError;
use super::rows::{
    CaseQuery, DeadlineNotice, NewSms, Notification, SmsRow, SmsStatus, SmsUpdate, Throttle,
    UnitContact,
};
use crate::store::figures::{Deltas, FigureDelta, Tally, case_facts, step_fact};
use crate::store::rows::CaseRow;
use crate::store::rows::FollowUpFacts;
use crate::store::rows::NoticeKind;
use crate::store::rows::StepDone;
use crate::store::rows::{
    AlertBatchRow, AlertRowRecord, DepartmentKey, SpotCheckMonth, SpotCheckRow,
};
use std::collections::BTreeMap;
use yijian_core::division::Level;
use yijian_core::protocol::auth::Account;
use yijian_core::regions::Regions;

/// Deadline notices given, as (case, step, due date, kind).
pub type NoticeKeys =
    std::collections::HashSet<(String, yijian_core::deadline::Step, NaiveDate, NoticeKind)>;

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub kind: String,
    pub id: String,
    pub village: String,
    /// JSON text; `None` when deleted.
    pub body: Option<String>,
    pub hlc: Hlc,
    pub version: i64,
}

/// A command already handled for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCommand {
    pub body_hash: String,
    /// JSON of the `protocol::Outcome` given then.
    pub outcome: String,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub command_id: Option<String>,
    /// What was done, e.g. `declare`, `case_step:county_approve`, `edit_household`.
    pub action: String,
    pub kind: String,
    pub record_id: String,
    pub village: String,
    /// JSON with what changed.
    pub detail: String,
}

/// One record to write with [`RecordTx::put_many`].
#[derive(Debug, Clone, Copy)]
pub struct RecordWrite<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub village: &'a str,
    pub body: Option<&'a str>,
}

/// Reads and writes inside one transaction.
pub trait RecordTx {
    /// The record, locked for the rest of the transaction where the database needs that.
    fn get(&mut self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError>;

    /// Insert or replace a record; moves it to the head of the change feed. Returns its new
    /// version.
    fn put(
        &mut self,
        kind: &str,
        id: &str,
        village: &str,
        body: Option<&str>,
        hlc: Hlc,
        now: DateTime<Utc>,
    ) -> Result<i64, StorageError>;

    /// Read and lock these records now, for the [`RecordTx::get`]s that follow in this
    /// transaction (a push's commands name them): one round trip for all instead of two per
    /// `get`. A database that gains nothing from it (SQLite, in process) ignores it.
    fn prefetch(&mut self, _kind: &str, _ids: &[String]) -> Result<(), StorageError> {
        Ok(())
    }

    /// [`RecordTx::get`] for many records of one kind (those that exist), locked alike. A
    /// database may answer in one round trip (the register import reads 1,000 at a time).
    fn get_many(&mut self, kind: &str, ids: &[String]) -> Result<Vec<StoredRecord>, StorageError> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.get(kind, id)?);
        }
        Ok(out)
    }

    /// [`RecordTx::put`] for many records with distinct (kind, id), as the same transaction;
    /// returns their new versions in order.
    fn put_many(
        &mut self,
        records: &[RecordWrite<'_>],
        hlc: Hlc,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StorageError> {
        records
            .iter()
            .map(|r| self.put(r.kind, r.id, r.village, r.body, hlc, now))
            .collect()
    }

    fn applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
    ) -> Result<Option<AppliedCommand>, StorageError>;

    /// [`RecordTx::applied`] for a whole push: the commands of `commands` this device sent
    /// before, by id. (PostgreSQL reads them in one statement instead of one per command.)
    fn applied_many(
        &mut self,
        device: DeviceId,
        commands: &[CommandId],
    ) -> Result<std::collections::HashMap<CommandId, AppliedCommand>, StorageError> {
        let mut out = std::collections::HashMap::new();
        for c in commands {
            if let Some(a) = self.applied(device, *c)? {
                out.insert(*c, a);
            }
        }
        Ok(out)
    }

    fn record_applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
        applied: &AppliedCommand,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Record that the blob `sha256` belongs to `village` (a photo record names it).
    fn link_blob(&mut self, sha256: &str, village: &str) -> Result<(), StorageError>;

    /// The villages whose photo records name the blob `sha256`.
    fn blob_owners(&mut self, sha256: &str) -> Result<Vec<String>, StorageError>;

    /// The next receipt sequence number of a village (1, 2, …).
    fn next_receipt(&mut self, village: &str) -> Result<i64, StorageError>;

    fn audit(&mut self, entry: &AuditEntry) -> Result<(), StorageError>;

    /// Every live record of `kind` in one village (the records of a household file).
    fn records_in_village(
        &mut self,
        kind: &str,
        village: &str,
    ) -> Result<Vec<StoredRecord>, StorageError>;

    // -- The case index (see `crate::domain::cases`) ----------------------------------------------

    /// A case's index row.
    fn case_row(&mut self, case_id: &str) -> Result<Option<CaseRow>, StorageError>;

    /// Insert or replace a case's index row, and add its difference to the dashboard's rollup
    /// ([`crate::store::figures`]) in the same transaction.
    fn index_case(&mut self, row: &CaseRow) -> Result<(), StorageError> {
        let old = self.case_row(&row.case_id)?;
        self.write_case_row(row)?;
        let mut deltas = Deltas::default();
        deltas.case_change(old.as_ref(), row)?;
        self.add_figures(&deltas.into_vec())
    }

    /// Insert or replace a case's index row only (use [`RecordTx::index_case`]).
    fn write_case_row(&mut self, row: &CaseRow) -> Result<(), StorageError>;

    /// Index rows by scope and filter, by due date (no clock last), then declaration.
    fn case_rows(&mut self, q: &CaseQuery) -> Result<Vec<CaseRow>, StorageError>;

    /// Index rows of the cases closed on a day in `from..until`, by case id.
    fn cases_closed_between(
        &mut self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<CaseRow>, StorageError>;

    /// The open case of a resident by ID number, if there is one.
    fn open_case_of(&mut self, id_number: &str) -> Result<Option<CaseRow>, StorageError>;

    /// The case with this receipt number.
    fn case_by_receipt(&mut self, receipt_no: &str) -> Result<Option<CaseRow>, StorageError>;

    /// Record that a clock was completed, and count it in the rollup (once, however often the
    /// same completion is logged).
    fn log_step(&mut self, done: &StepDone) -> Result<(), StorageError> {
        if self.insert_step_done(done)? {
            let mut deltas = Deltas::default();
            deltas.add(&done.village, &[step_fact(done)?], 1);
            self.add_figures(&deltas.into_vec())?;
        }
        Ok(())
    }

    /// Store a completed clock; `false` when it was stored before (use [`RecordTx::log_step`]).
    fn insert_step_done(&mut self, done: &StepDone) -> Result<bool, StorageError>;

    // -- The dashboard's rollup (see `crate::store::figures`) --------------------------------

    /// Add counts to `case_figures`.
    fn add_figures(&mut self, deltas: &[FigureDelta]) -> Result<(), StorageError>;

    /// The counts a dashboard of `scope` needs, per child (per [`FigureRead::of`]); for a
    /// village, the village itself.
    fn figures_in(&mut self, scope: &DivisionCode)
    -> Result<BTreeMap<String, Tally>, StorageError>;

    /// Whether cases are indexed but not counted (a database from before the rollup). On
    /// PostgreSQL this also serialises the processes that ask, so one of them builds it.
    fn figures_missing(&mut self) -> Result<bool, StorageError>;

    /// Empty `case_figures`.
    fn clear_figures(&mut self) -> Result<(), StorageError>;

    /// Count every indexed case and completed clock afresh.
    fn rebuild_figures(&mut self) -> Result<(), StorageError> {
        self.clear_figures()?;
        let mut deltas = Deltas::default();
        // The regions the server knows (Gansu's): every indexed case lies in one of them.
        let provinces: Vec<String> = Regions::gansu()
            .iter()
            .filter(|r| r.code.level() == Level::Province)
            .map(|r| r.code.to_string())
            .collect();
        for province in &provinces {
            let q = CaseQuery {
                scope: province.clone(),
                open_only: false,
                due_by: None,
                limit: None,
            };
            for row in self.case_rows(&q)? {
                deltas.add(&row.village, &case_facts(&row)?, 1);
            }
            // Before any case could have been declared, and a date every database can hold.
            let ever = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
            for done in self.steps_done(province, ever)? {
                deltas.add(&done.village, &[step_fact(&done)?], 1);
            }
        }
        for chunk in deltas.into_vec().chunks(10_000) {
            self.add_figures(chunk)?;
        }
        Ok(())
    }

    /// Clocks completed in `scope` on or after `since`.
    fn steps_done(&mut self, scope: &str, since: NaiveDate) -> Result<Vec<StepDone>, StorageError>;

    /// Insert or replace a follow-up's schedule.
    fn index_follow_up(
        &mut self,
        follow_up_id: &str,
        case_id: &str,
        due_on: NaiveDate,
        done_on: Option<NaiveDate>,
    ) -> Result<(), StorageError>;

    fn follow_up_facts(&mut self, case_id: &str) -> Result<FollowUpFacts, StorageError>;

    /// The audit trail of one record, oldest first.
    fn audit_of(&mut self, kind: &str, record_id: &str) -> Result<Vec<AuditEntry>, StorageError>;

    // -- People and settings ----------------------------------------------------------------

    /// Active users of `role` whose scope is exactly `scope`.
    fn users_with(
        &mut self,
        role: Role,
        scope: &DivisionCode,
    ) -> Result<Vec<Account>, StorageError>;

    fn setting(&mut self, key: &str) -> Result<Option<String>, StorageError>;

    fn put_setting(
        &mut self,
        key: &str,
        value: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    fn unit_contact(&mut self, division: &str) -> Result<Option<UnitContact>, StorageError>;

    fn put_unit_contact(&mut self, contact: &UnitContact) -> Result<(), StorageError>;

    /// Count one hit of `key` in the window starting at `window_start`; returns the hits so
    /// far in that window, this one included.
    fn hit(&mut self, key: &str, window_start: DateTime<Utc>) -> Result<u32, StorageError>;

    /// The hits of `key` in the window starting at `window_start`, without counting one.
    fn hits_so_far(&mut self, key: &str, window_start: DateTime<Utc>) -> Result<u32, StorageError>;

    // -- SMS outbox -------------------------------------------------------------------------

    /// Queue a text; the same `out_id` twice is queued once.
    fn enqueue_sms(&mut self, sms: &NewSms, now: DateTime<Utc>) -> Result<(), StorageError>;

    /// Claim up to `limit` texts due at `now` (pending or unknown, or whose sender's lease ran
    /// out), leased until `lease_until`.
    fn claim_sms(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError>;

    fn update_sms(&mut self, id: i64, update: &SmsUpdate) -> Result<(), StorageError>;

    /// The newest texts about cases within `scope` (and, for the whole province, texts about no
    /// case), for the console.
    fn recent_sms(
        &mut self,
        scope: &DivisionCode,
        status: Option<SmsStatus>,
        limit: u32,
    ) -> Result<Vec<SmsRow>, StorageError>;

    // -- Deadline notices and notifications ---------------------------------------------------

    /// Record a notice unless it was made before; `true` when it is new.
    fn notice_once(&mut self, notice: &DeadlineNotice) -> Result<bool, StorageError>;

    fn notices_of(&mut self, case_id: &str) -> Result<Vec<DeadlineNotice>, StorageError>;

    /// Index rows of open cases whose clock, owned by someone, ends by `due_by` and was not yet
    /// escalated as overdue, by due date: what the deadline job may still have to announce.
    /// (An escalated clock needs nothing more; a province keeps tens of thousands of them.)
    fn clocks_to_notice(&mut self, due_by: NaiveDate) -> Result<Vec<CaseRow>, StorageError>;

    /// The notices already given for any of `case_ids`, as (case, step, due date, kind): what the
    /// deadline job skips without opening a transaction per case.
    fn notice_keys_of(&mut self, case_ids: &[String]) -> Result<NoticeKeys, StorageError> {
        let mut keys = NoticeKeys::new();
        for id in case_ids {
            for n in self.notices_of(id)? {
                keys.insert((n.case_id, n.step, n.due_on, n.kind));
            }
        }
        Ok(keys)
    }

    fn notify(&mut self, n: &Notification) -> Result<(), StorageError>;

    /// The newest notifications addressed to `role` at `scope`.
    fn notifications(
        &mut self,
        role: Role,
        scope: &str,
        limit: u32,
    ) -> Result<Vec<Notification>, StorageError>;

    /// Notifications addressed to `role` at `scope` with an id above `after`, oldest first, at
    /// most `limit`: what a device has not fetched yet.
    fn notifications_after(
        &mut self,
        role: Role,
        scope: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Notification>, StorageError>;

    /// Record that a device was heard from (the console's "last seen").
    fn touch_device(&mut self, device: DeviceId, now: DateTime<Utc>) -> Result<(), StorageError>;

    // -- Sign-in throttling ---------------------------------------------------------------------

    fn throttle(&mut self, key: &str) -> Result<Option<Throttle>, StorageError>;

    fn put_throttle(&mut self, t: &Throttle) -> Result<(), StorageError>;

    fn clear_throttle(&mut self, key: &str) -> Result<(), StorageError>;

    // -- Department warnings and spot checks (see `crate::domain::alerts`) -------------------

    /// The households (id, village) that have a member with this canonical ID number.
    fn households_with_member(
        &mut self,
        id_number: &str,
    ) -> Result<Vec<(String, String)>, StorageError>;

    fn alert_row(
        &mut self,
        department: &str,
        row_key: &str,
    ) -> Result<Option<AlertRowRecord>, StorageError>;

    fn insert_alert_row(&mut self, row: &AlertRowRecord) -> Result<(), StorageError>;

    /// Rewrite a stored line (an unmatched line turned into a lead names its case).
    fn update_alert_row(&mut self, row: &AlertRowRecord) -> Result<(), StorageError>;

    /// Unmatched lines of people whose ID number lies in `lo..hi` (where they are registered),
    /// by ID number.
    fn unmatched_alert_rows(
        &mut self,
        lo: &str,
        hi: &str,
        limit: i64,
    ) -> Result<Vec<AlertRowRecord>, StorageError>;

    /// The lines of a batch, by line number.
    fn alert_rows_of(&mut self, batch_id: &str) -> Result<Vec<AlertRowRecord>, StorageError>;

    /// The stored lines among `row_keys` of a department: a chunk at a time, so a database
    /// across a network answers in one round trip. Handling the same lines in two processes at
    /// once, the second waits for the first here (where the database can lock).
    fn alert_rows_among(
        &mut self,
        department: &str,
        row_keys: &[String],
    ) -> Result<std::collections::HashMap<String, AlertRowRecord>, StorageError> {
        let mut out = std::collections::HashMap::new();
        for k in row_keys {
            if let Some(r) = self.alert_row(department, k)? {
                out.insert(k.clone(), r);
            }
        }
        Ok(out)
    }

    /// [`RecordTx::households_with_member`] for many ID numbers at once.
    fn households_with_members(
        &mut self,
        id_numbers: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<(String, String)>>, StorageError> {
        let mut out = std::collections::HashMap::new();
        for n in id_numbers {
            let found = self.households_with_member(n)?;
            if !found.is_empty() {
                out.insert(n.clone(), found);
            }
        }
        Ok(out)
    }

    /// The bodies of records of one kind, to read (no lock taken on them).
    fn record_bodies(
        &mut self,
        kind: &str,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StorageError> {
        let mut out = std::collections::HashMap::new();
        for id in ids {
            if let Some(body) = self.get(kind, id)?.and_then(|r| r.body) {
                out.insert(id.clone(), body);
            }
        }
        Ok(out)
    }

    /// The fingerprints of a batch's stored lines (a batch resumed after an interruption).
    fn batch_fingerprints(
        &mut self,
        batch_id: &str,
    ) -> Result<std::collections::HashSet<String>, StorageError> {
        Ok(self
            .alert_rows_of(batch_id)?
            .into_iter()
            .filter_map(|r| r.fingerprint)
            .collect())
    }

    /// Per department, the outcomes of warnings matched to households in `scope` and the
    /// cases they made or joined.
    fn alert_take_up_in(
        &mut self,
        scope: &DivisionCode,
    ) -> Result<crate::store::rows::AlertTakeUp, StorageError>;

    /// Whether a warning of this department, person and matter dated within `from..=to` was
    /// taken up (a lead made, or added to an open case).
    fn warning_taken_up(
        &mut self,
        department: &str,
        id_number: &str,
        matter: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StorageError>;

    /// The (department, case id) of every line that made a lead.
    fn alert_leads(&mut self) -> Result<Vec<(String, String)>, StorageError>;

    /// Insert or replace a batch.
    fn put_alert_batch(&mut self, batch: &AlertBatchRow) -> Result<(), StorageError>;

    fn alert_batch(&mut self, id: &str) -> Result<Option<AlertBatchRow>, StorageError>;

    /// The newest batches first.
    fn alert_batches(&mut self, limit: u32) -> Result<Vec<AlertBatchRow>, StorageError>;

    /// Insert or replace a department's API key (revoking is a replace with `revoked_at`).
    fn put_department_key(&mut self, key: &DepartmentKey) -> Result<(), StorageError>;

    fn department_key_by_hash(&mut self, hash: &str)
    -> Result<Option<DepartmentKey>, StorageError>;

    fn department_keys(&mut self) -> Result<Vec<DepartmentKey>, StorageError>;

    /// Set (or with `None` clear) the department a liaison account speaks for.
    fn set_liaison_department(
        &mut self,
        user_id: &str,
        department: Option<&str>,
    ) -> Result<(), StorageError>;

    fn liaison_department(&mut self, user_id: &str) -> Result<Option<String>, StorageError>;

    /// Record a county's draw for a month; `false` when it was made before (by this or another
    /// process): the caller then draws nothing.
    fn claim_spot_check_month(&mut self, month: &SpotCheckMonth) -> Result<bool, StorageError>;

    fn spot_check_months(&mut self) -> Result<Vec<SpotCheckMonth>, StorageError>;

    /// Insert or replace one drawn case.
    fn put_spot_check(&mut self, check: &SpotCheckRow) -> Result<(), StorageError>;

    fn spot_check_by_follow_up(
        &mut self,
        follow_up_id: &str,
    ) -> Result<Option<SpotCheckRow>, StorageError>;

    /// The drawn cases whose village is within `scope`.
    fn spot_checks_in(&mut self, scope: &str) -> Result<Vec<SpotCheckRow>, StorageError>;
}
