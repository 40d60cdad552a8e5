//! What a pushed command does: the server owns the workflow.
//!
//! Each command from a device is checked against the caller's role and scope, the case
//! workflow ([`yijian_core::workflow`]) and the domain's validation, then written — or refused
//! with a reason the device shows in its quarantine. Evidence the workflow needs (is the visit
//! finalised, does the plan have measures) is read from the server's own records, never taken
//! from the device's word.
//!
//! Idempotency: every command is recorded per device with a hash of its body. The same command
//! pushed again (a retry after a cut connection, a duplicated request) gets `already_applied`
//! and changes nothing; the same id with a different body is refused loudly. A command that was
//! refused is evaluated afresh when pushed again (the quarantine's "retry"), because what made
//! it fail (a record not yet synced) may have changed.

use crate::domain::cases::CaseWrite;
use crate::domain::procedure::Procedure;
use crate::store::rows::DeviceSession;
use crate::store::tx::{AppliedCommand, AuditEntry, RecordTx};
use crate::store::{Storage, StorageError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use yijian_core::calendar::HolidayCalendar;
use yijian_core::case::CaseEventKind;
use yijian_core::deadline::DeadlineRules;
use yijian_core::division::DivisionCode;
use yijian_core::protocol::{Command, CommandBody, CommandResult, Outcome, Wire};
use yijian_core::role::{Role, Staff};
use yijian_core::workflow::{self};

mod authorize;
mod case_step;
mod declare;
mod household;
mod records;
#[cfg(test)]
mod tests;

pub use declare::receipt_number;

use authorize::{Authorized, authorize};

/// What the server's configuration and clock say while a batch is applied.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub now: DateTime<Utc>,
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
    pub rules: DeadlineRules,
    pub calendar: std::sync::Arc<HolidayCalendar>,
    /// Income lines, appeal window, departments, thresholds.
    pub policy: std::sync::Arc<yijian_core::policy::Policy>,
    /// Months of monitoring before risk elimination may be proposed.
    pub min_monitoring_months: u32,
    /// Accept `PutDocument` (off in production; the sync benchmark turns it on).
    pub accept_raw_documents: bool,
}

impl ApplySettings {
    /// The facts a workflow step is judged with, from the settings in force and the caller's
    /// records about the case.
    pub fn step_context(
        &self,
        village: &DivisionCode,
        declared_on: NaiveDate,
        household_has_working_age_member: bool,
        measures_in_place: u32,
    ) -> workflow::StepContext {
        workflow::StepContext {
            today: self.today,
            declared_on,
            village: village.clone(),
            public_notice: self.rules.public_notice_min_days,
            calendar: std::sync::Arc::clone(&self.calendar),
            appeal_window_days: self.policy.appeal_window_days,
            min_monitoring_months: self.min_monitoring_months,
            household_has_working_age_member,
            measures_in_place,
        }
    }

    /// At `now`, with the built-in calendar and rules.
    pub fn at(now: DateTime<Utc>) -> ApplySettings {
        ApplySettings::with(now, &Procedure::default())
    }

    /// At `now`, with the calendar and rules in force.
    pub fn with(now: DateTime<Utc>, procedure: &Procedure) -> ApplySettings {
        ApplySettings {
            now,
            today: yijian_core::time::china_date(now),
            rules: procedure.rules.clone(),
            calendar: std::sync::Arc::clone(&procedure.calendar),
            policy: std::sync::Arc::clone(&procedure.policy),
            min_monitoring_months: workflow::MIN_MONITORING_MONTHS,
            accept_raw_documents: false,
        }
    }
}

/// A refusal: a stable code, and the reason in Chinese (for the worker) and English (for logs
/// and API clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl Refusal {
    fn new(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Refusal {
        Refusal {
            code: code.to_owned(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    fn into_outcome(self) -> Outcome {
        Outcome::Refused {
            code: self.code,
            message_zh: self.zh,
            message_en: self.en,
        }
    }
}

/// Inside command handling: either a refusal (the command is answered) or a storage failure
/// (the whole batch is rolled back and the device retries).
#[derive(Debug)]
enum Fail {
    Refused(Refusal),
    Storage(StorageError),
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Fail {
        Fail::Storage(e)
    }
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Fail {
        Fail::Refused(r)
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Fail {
        Fail::Storage(StorageError::Json(e))
    }
}

fn refuse<T>(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Refused(Refusal::new(code, zh, en)))
}

/// Hash of a command body, for idempotency.
pub fn body_hash(body: &Wire<CommandBody>) -> Result<String, serde_json::Error> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(body)?)))
}

/// Handle a device's batch in one transaction of its own, and note that the device was heard
/// from: what `POST /v1/sync/push`, the console's step forms and the demo seed all do.
pub async fn push(
    storage: &dyn Storage,
    session: &DeviceSession,
    commands: Vec<Command>,
    settings: &ApplySettings,
) -> Result<Vec<CommandResult>, StorageError> {
    let (session, settings) = (session.clone(), settings.clone());
    crate::store::write(storage, move |tx| {
        apply_from_device(tx, &session, &commands, &settings)
    })
    .await
}

/// [`push`] at `now` under the calendar, rules and policy in force, read in the batch's own
/// transaction: what a device's push does (a separate read before it cost a transaction of its
/// own on every push).
pub async fn push_in_force(
    storage: &dyn Storage,
    session: &DeviceSession,
    commands: Vec<Command>,
    now: DateTime<Utc>,
    accept_raw_documents: bool,
) -> Result<Vec<CommandResult>, StorageError> {
    let session = session.clone();
    crate::store::write(storage, move |tx| {
        let procedure = Procedure::load(tx)?;
        let mut settings = ApplySettings::with(now, &procedure);
        settings.accept_raw_documents = accept_raw_documents;
        apply_from_device(tx, &session, &commands, &settings)
    })
    .await
}

/// A device's batch, and the note that the device was heard from, in the caller's transaction.
fn apply_from_device(
    tx: &mut dyn RecordTx,
    session: &DeviceSession,
    commands: &[Command],
    settings: &ApplySettings,
) -> Result<Vec<CommandResult>, StorageError> {
    let results = apply_batch(tx, session, commands, settings)?;
    tx.touch_device(session.device_id, settings.now)?;
    Ok(results)
}

/// Handle a batch in order inside one transaction.
pub fn apply_batch(
    tx: &mut dyn RecordTx,
    session: &DeviceSession,
    commands: &[Command],
    settings: &ApplySettings,
) -> Result<Vec<CommandResult>, StorageError> {
    let mut results = Vec::with_capacity(commands.len());
    let ids: Vec<yijian_core::ids::CommandId> = commands.iter().map(|c| c.id).collect();
    // What this device's earlier pushes did with these commands, read once for the batch; kept
    // up to date below, for a batch that names one command twice.
    let mut known = tx.applied_many(session.device_id, &ids)?;
    for (kind, ids) in named_records(commands) {
        tx.prefetch(kind, &ids)?;
    }
    for cmd in commands {
        let hash = body_hash(&cmd.body)?;
        if let Some(prev) = known.get(&cmd.id) {
            if prev.body_hash != hash {
                results.push(CommandResult {
                    id: cmd.id,
                    outcome: Wire::Known(
                        Refusal::new(
                            "command_id_reused",
                            "同一编号的操作内容不同，已拒绝（设备数据可能异常，请联系管理员）",
                            "this command id was already used with a different body",
                        )
                        .into_outcome(),
                    ),
                });
                continue;
            }
            let was: Outcome = serde_json::from_str(&prev.outcome)?;
            if matches!(was, Outcome::Applied | Outcome::AlreadyApplied) {
                results.push(CommandResult {
                    id: cmd.id,
                    outcome: Wire::Known(Outcome::AlreadyApplied),
                });
                continue;
            }
            // Refused before: evaluate again (the quarantine's retry).
        }
        let outcome = match apply_one(tx, session, cmd, settings) {
            Ok(()) => Outcome::Applied,
            Err(Fail::Refused(r)) => {
                tracing::info!(command = %cmd.id, code = %r.code, reason = %r.en, "command refused");
                r.into_outcome()
            }
            Err(Fail::Storage(e)) => return Err(e),
        };
        let applied = AppliedCommand {
            body_hash: hash,
            outcome: serde_json::to_string(&outcome)?,
        };
        tx.record_applied(session.device_id, cmd.id, &applied, settings.now)?;
        known.insert(cmd.id, applied);
        results.push(CommandResult {
            id: cmd.id,
            outcome: Wire::Known(outcome),
        });
    }
    Ok(results)
}

/// The record each command of a batch is about, by kind: read and locked for the whole batch
/// at once (see [`RecordTx::prefetch`]).
fn named_records(commands: &[Command]) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    use yijian_core::protocol::kinds;
    let mut out: std::collections::BTreeMap<&'static str, Vec<String>> = Default::default();
    for c in commands {
        let Wire::Known(body) = &c.body else {
            continue;
        };
        let (kind, id) = match body {
            CommandBody::CreateHousehold(h) => (kinds::HOUSEHOLD, h.id.to_string()),
            CommandBody::EditHousehold { household_id, .. } => {
                (kinds::HOUSEHOLD, household_id.to_string())
            }
            CommandBody::SaveVisit(v) => (kinds::VISIT, v.id().to_string()),
            CommandBody::RecordPhoto(p) => (kinds::PHOTO, p.id.to_string()),
            CommandBody::CaseStep { case_id, .. } => (kinds::CASE, case_id.to_string()),
            _ => continue,
        };
        out.entry(kind).or_default().push(id);
    }
    for ids in out.values_mut() {
        ids.sort();
        ids.dedup();
    }
    out
}

/// The context one command runs in.
struct Ctx<'a> {
    session: &'a DeviceSession,
    cmd: &'a Command,
    settings: &'a ApplySettings,
}

impl Ctx<'_> {
    /// Who acts, as colleagues read it in a case's history.
    fn actor_label(&self) -> String {
        let u = &self.session.user;
        format!("{} {}", u.role.name_zh(), u.name)
    }

    /// How a case write of this command is made.
    fn case_write<'a>(
        &'a self,
        village: &'a DivisionCode,
        event: Option<(CaseEventKind, Option<String>)>,
    ) -> CaseWrite<'a> {
        CaseWrite {
            village,
            hlc: self.cmd.hlc,
            now: self.settings.now,
            today: self.settings.today,
            rules: &self.settings.rules,
            calendar: &self.settings.calendar,
            event: event.map(|(kind, note)| (kind, Some(self.actor_label()), note)),
            work_done_on: None,
        }
    }

    fn staff(&self) -> Result<Staff, Fail> {
        self.session.user.staff().map_err(|e| {
            Fail::Refused(Refusal::new(
                "bad_account",
                format!("账号设置有误：{e}"),
                "the account's role and scope do not fit",
            ))
        })
    }

    fn require_role(&self, staff: &Staff, allowed: &[Role], what: &str) -> Result<(), Fail> {
        if !allowed.contains(&staff.role) {
            return refuse(
                "role_not_allowed",
                format!("您的角色（{}）不能{what}", staff.role.name_zh()),
                format!("role {:?} may not do this", staff.role),
            );
        }
        Ok(())
    }

    fn write<T: Serialize>(
        &self,
        tx: &mut dyn RecordTx,
        kind: &str,
        id: &str,
        village: &DivisionCode,
        body: &T,
    ) -> Result<(), Fail> {
        let text = serde_json::to_string(body)?;
        tx.put(
            kind,
            id,
            village.as_str(),
            Some(&text),
            self.cmd.hlc,
            self.settings.now,
        )?;
        Ok(())
    }

    fn audit(
        &self,
        tx: &mut dyn RecordTx,
        action: &str,
        kind: &str,
        id: &str,
        village: &DivisionCode,
        detail: serde_json::Value,
    ) -> Result<(), Fail> {
        tx.audit(&AuditEntry {
            at: self.settings.now,
            user_id: Some(self.session.user.id.to_string()),
            device_id: Some(self.session.device_id.to_string()),
            command_id: Some(self.cmd.id.to_string()),
            action: action.to_owned(),
            kind: kind.to_owned(),
            record_id: id.to_owned(),
            village: village.to_string(),
            detail: detail.to_string(),
        })?;
        Ok(())
    }
}

fn load<T: DeserializeOwned>(
    tx: &mut dyn RecordTx,
    kind: &str,
    id: &str,
) -> Result<Option<(T, DivisionCode)>, Fail> {
    let Some(rec) = tx.get(kind, id)? else {
        return Ok(None);
    };
    let Some(body) = rec.body else {
        return Ok(None);
    };
    let value: T = serde_json::from_str(&body)
        .map_err(|e| StorageError::Corrupt(format!("{kind} {id}: {e}")))?;
    let village = DivisionCode::parse(&rec.village)
        .map_err(|e| StorageError::Corrupt(format!("{kind} {id} village: {e}")))?;
    Ok(Some((value, village)))
}

fn must_load<T: DeserializeOwned>(
    tx: &mut dyn RecordTx,
    kind: &str,
    id: &str,
    what_zh: &str,
) -> Result<(T, DivisionCode), Fail> {
    match load(tx, kind, id)? {
        Some(found) => Ok(found),
        None => refuse(
            "not_found",
            format!("服务器上找不到该{what_zh}（{id}），请先同步它"),
            format!("{kind} {id} not found on the server"),
        ),
    }
}

fn apply_one(
    tx: &mut dyn RecordTx,
    session: &DeviceSession,
    cmd: &Command,
    settings: &ApplySettings,
) -> Result<(), Fail> {
    let ctx = Ctx {
        session,
        cmd,
        settings,
    };
    let body = match &cmd.body {
        Wire::Known(body) => body,
        Wire::Unknown { kind, .. } => {
            return refuse(
                "unknown_command",
                format!("服务器不认识“{kind}”这种操作，请升级服务器后重试"),
                format!("unknown command type {kind:?}"),
            );
        }
    };
    // Whose records these are, from the server's own copies, before anything else.
    let auth = authorize(tx, &ctx, body)?;
    let a = &auth;
    match body {
        CommandBody::Declare(d) => declare::declare(tx, &ctx, a, d),
        CommandBody::CaseStep { case_id, step } => {
            case_step::case_step(tx, &ctx, a, *case_id, step)
        }
        CommandBody::CreateHousehold(h) => household::create_household(tx, &ctx, a, h),
        CommandBody::EditHousehold {
            household_id,
            edits,
        } => household::edit_household(tx, &ctx, a, *household_id, edits),
        CommandBody::ResolveConflict {
            household_id,
            field,
            chosen,
        } => household::resolve_conflict(tx, &ctx, a, *household_id, field, chosen),
        CommandBody::SaveVisit(v) => records::save_visit(tx, &ctx, a, v),
        CommandBody::RecordPhoto(p) => records::record_photo(tx, &ctx, a, p),
        CommandBody::SavePlan(p) => records::save_plan(tx, &ctx, a, p),
        CommandBody::SaveFollowUp(f) => records::save_follow_up(tx, &ctx, a, f),
        CommandBody::PutDocument { kind, id, data, .. } => {
            records::put_document(tx, &ctx, a, kind, id, data)
        }
    }
}
