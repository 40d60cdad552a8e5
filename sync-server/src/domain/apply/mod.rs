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

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use yijian_core::calendar::HolidayCalendar;
use yijian_core::case::{Case, CaseEventKind, CaseSource, Declaration};
use yijian_core::checklist::{ChecklistTemplate, default_template};
use yijian_core::deadline::DeadlineRules;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::household::{Household, HouseholdField, MonitoringStatus};
use yijian_core::ids::{CaseId, HouseholdId, VisitId};
use yijian_core::protocol::{
    Command, CommandBody, CommandResult, FieldConflict, FieldEdit, Outcome, Wire, conflict_id,
    kinds,
};
use yijian_core::regions::Regions;
use yijian_core::role::{Actor, Role, Staff};
use yijian_core::support::{
    Appeal, AppealDecision, AppealFiler, FollowUp, PhotoMeta, PhotoOwner, Plan,
};
use yijian_core::validation::{MobileNumber, ResidentIdNumber};
use yijian_core::visit::Visit;
use yijian_core::workflow::{self, Step, StepContext, VisitEvidence};

use crate::domain::cases::{CaseWrite, reindex_case, save_case};
use crate::domain::procedure::Procedure;
use crate::store::rows::DeviceSession;
use crate::store::tx::{AppliedCommand, AuditEntry, RecordTx};
use crate::store::{Storage, StorageError};

/// What the server's configuration and clock say while a batch is applied.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub now: DateTime<Utc>,
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
    pub rules: DeadlineRules,
    pub calendar: std::sync::Arc<HolidayCalendar>,
    /// Months of monitoring before risk elimination may be proposed.
    pub min_monitoring_months: u32,
    /// Accept `PutDocument` (off in production; the sync benchmark turns it on).
    pub accept_raw_documents: bool,
}

impl ApplySettings {
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
        let results = apply_batch(tx, &session, &commands, &settings)?;
        tx.touch_device(session.device_id, settings.now)?;
        Ok(results)
    })
    .await
}

/// Handle a batch in order inside one transaction.
pub fn apply_batch(
    tx: &mut dyn RecordTx,
    session: &DeviceSession,
    commands: &[Command],
    settings: &ApplySettings,
) -> Result<Vec<CommandResult>, StorageError> {
    let mut results = Vec::with_capacity(commands.len());
    for cmd in commands {
        let hash = body_hash(&cmd.body)?;
        if let Some(prev) = tx.applied(session.device_id, cmd.id)? {
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
        tx.record_applied(
            session.device_id,
            cmd.id,
            &AppliedCommand {
                body_hash: hash,
                outcome: serde_json::to_string(&outcome)?,
            },
            settings.now,
        )?;
        results.push(CommandResult {
            id: cmd.id,
            outcome: Wire::Known(outcome),
        });
    }
    Ok(results)
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

    fn require_scope(&self, staff: &Staff, village: &DivisionCode) -> Result<(), Fail> {
        if !staff.covers(village) {
            return refuse(
                "out_of_scope",
                format!("{village} 不在您的管辖范围（{}）内", staff.scope),
                format!("{village} is outside the caller's scope {}", staff.scope),
            );
        }
        Ok(())
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
    match body {
        CommandBody::Declare(d) => declare(tx, &ctx, d),
        CommandBody::CaseStep { case_id, step } => case_step(tx, &ctx, *case_id, step),
        CommandBody::CreateHousehold(h) => create_household(tx, &ctx, h),
        CommandBody::EditHousehold {
            household_id,
            edits,
        } => edit_household(tx, &ctx, *household_id, edits),
        CommandBody::ResolveConflict {
            household_id,
            field,
            chosen,
        } => resolve_conflict(tx, &ctx, *household_id, field, chosen),
        CommandBody::SaveVisit(v) => save_visit(tx, &ctx, v),
        CommandBody::RecordPhoto(p) => record_photo(tx, &ctx, p),
        CommandBody::SavePlan(p) => save_plan(tx, &ctx, p),
        CommandBody::SaveFollowUp(f) => save_follow_up(tx, &ctx, f),
        CommandBody::PutDocument {
            kind,
            id,
            village,
            data,
        } => put_document(tx, &ctx, kind, id, village, data),
    }
}

/// `county(6)-township(3)-village(3)-sequence(4+)`, e.g. `621102-105-201-0007`.
pub fn receipt_number(village: &DivisionCode, seq: i64) -> String {
    let c = village.as_str();
    format!("{}-{}-{}-{seq:04}", &c[..6], &c[6..9], &c[9..])
}

fn declare(tx: &mut dyn RecordTx, ctx: &Ctx<'_>, d: &Declaration) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    match d.source {
        CaseSource::SelfDeclaredQr => {
            return refuse(
                "wrong_source",
                "群众自主申报只能通过扫码申报页提交",
                "self-declarations come only through the public form",
            );
        }
        CaseSource::DepartmentAlert => ctx.require_role(
            &staff,
            &[Role::DepartmentLiaison, Role::County],
            "提交部门预警",
        )?,
        CaseSource::ProxyFiled | CaseSource::WorkerDiscovery | CaseSource::GreenChannel => ctx
            .require_role(
                &staff,
                &[Role::VillageWorker, Role::Township, Role::County],
                "代为申报或登记线索",
            )?,
    }
    if d.village.level() != Level::Village || Regions::gansu().get(&d.village).is_none() {
        return refuse(
            "unknown_village",
            format!("村代码“{}”不存在", d.village),
            format!("unknown village {}", d.village),
        );
    }
    ctx.require_scope(&staff, &d.village)?;
    if d.applicant.name.trim().is_empty() {
        return refuse("invalid", "请填写申请人姓名", "applicant name is empty");
    }
    if let Err(e) = ResidentIdNumber::parse(&d.applicant.id_number, ctx.settings.today) {
        return refuse("invalid", e.to_string(), "invalid resident ID number");
    }
    if let Some(phone) = &d.applicant.phone
        && let Err(e) = MobileNumber::parse(phone)
    {
        return refuse("invalid", e.to_string(), "invalid mobile number");
    }
    if d.source == CaseSource::ProxyFiled {
        match &d.proxy {
            None => {
                return refuse(
                    "missing_evidence",
                    "代申报须记录代填人、与申请人关系和申请人确认（手印或签字照片）",
                    "a proxy filing needs the filler and the applicant's confirmation",
                );
            }
            Some(p) => {
                if let Err(e) = p.validate() {
                    return refuse("missing_evidence", e.to_string(), "invalid proxy filing");
                }
            }
        }
    }
    let id = d.case_id.to_string();
    if tx.get(kinds::CASE, &id)?.is_some() {
        return refuse(
            "already_exists",
            "该案件编号已存在",
            "a case with this id already exists",
        );
    }
    let mut case = Case::declared(d.clone());
    let seq = tx.next_receipt(d.village.as_str())?;
    case.receipt_no = Some(receipt_number(&d.village, seq));
    save_case(
        tx,
        &mut case,
        &ctx.case_write(&d.village, Some((CaseEventKind::Declared, None))),
    )?;
    ctx.audit(
        tx,
        "declare",
        kinds::CASE,
        &id,
        &d.village,
        serde_json::json!({"source": d.source, "receipt_no": case.receipt_no}),
    )
}

fn workflow_refusal(e: &workflow::WorkflowError) -> Refusal {
    Refusal::new(
        e.code(),
        e.to_string(),
        format!("workflow step refused: {}", e.code().replace('_', " ")),
    )
}

fn case_step(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    case_id: CaseId,
    step: &Step,
) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    let id = case_id.to_string();
    let (mut case, village): (Case, _) = must_load(tx, kinds::CASE, &id, "案件")?;
    let settings = ctx.settings;
    let mut has_working_age = false;
    if let Some(hid) = case.declaration.household_id
        && let Some((h, _)) = load::<Household>(tx, kinds::HOUSEHOLD, &hid.to_string())?
    {
        has_working_age = h.has_working_age_member(settings.today);
    }
    let mut measures_in_place = 0;
    if let Some(plan_id) = case.state.plan
        && let Some((plan, _)) = load::<Plan>(tx, kinds::PLAN, &plan_id.to_string())?
    {
        measures_in_place =
            u32::try_from(plan.measures_in_place(settings.today)).unwrap_or(u32::MAX);
    }
    // Evidence comes from the server's records, not from the device's claims.
    let step = match step {
        Step::RecordVerification { visit, outcome } => Step::RecordVerification {
            visit: visit_evidence(tx, visit.visit_id, case_id)?,
            outcome: outcome.clone(),
        },
        Step::MakePlan { plan_id, .. } => {
            let (plan, _): (Plan, _) =
                must_load(tx, kinds::PLAN, &plan_id.to_string(), "帮扶计划")?;
            if plan.case_id != case_id {
                return refuse(
                    "invalid",
                    "该帮扶计划不属于这个案件",
                    "plan belongs to another case",
                );
            }
            Step::MakePlan {
                plan_id: *plan_id,
                measures: u32::try_from(plan.measures.len()).unwrap_or(u32::MAX),
            }
        }
        other => other.clone(),
    };
    let context = StepContext {
        today: settings.today,
        village: village.clone(),
        public_notice_min_days: settings.rules.public_notice_min_days.amount,
        min_monitoring_months: settings.min_monitoring_months,
        household_has_working_age_member: has_working_age,
        measures_in_place,
    };
    let next = workflow::apply(&case.state, &Actor::Staff(staff), &step, &context)
        .map_err(|e| Fail::Refused(workflow_refusal(&e)))?;
    let from = case.state.stage;
    let before = std::mem::replace(&mut case.state, next);
    save_case(
        tx,
        &mut case,
        &ctx.case_write(
            &village,
            Some((CaseEventKind::Step { step: step.kind() }, step_note(&step))),
        ),
    )?;
    schedule_follow_up(tx, ctx, &case, &village, &step)?;
    after_step(tx, ctx, &before, &case, &village, &step)?;
    ctx.audit(
        tx,
        &format!(
            "case_step:{}",
            serde_json::to_value(step.kind())?.as_str().unwrap_or("")
        ),
        kinds::CASE,
        &id,
        &village,
        serde_json::json!({"from": from, "to": case.state.stage, "step": step}),
    )
}

/// What a step changes beside the case: the appeal record, and the household's monitoring
/// status (纳入监测 on approval, 风险消除 on the county's decision), written in the same
/// transaction so the household file never disagrees with its case.
fn after_step(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    before: &workflow::CaseState,
    case: &Case,
    village: &DivisionCode,
    step: &Step,
) -> Result<(), Fail> {
    let now = ctx.settings.now;
    match step {
        Step::FileAppeal { appeal_id, reason } => {
            let Some(against) = before.rejected_by else {
                return Ok(());
            };
            let appeal = Appeal::file(
                *appeal_id,
                case.id(),
                now,
                AppealFiler::Staff {
                    user: ctx.session.user.id,
                },
                reason.trim(),
                against,
            )
            .map_err(|e| Fail::Refused(Refusal::new("invalid", e.to_string(), "invalid appeal")))?;
            ctx.write(tx, kinds::APPEAL, &appeal_id.to_string(), village, &appeal)?;
            if let Some(scope) = village.at_level(appeal.decided_by_level) {
                let receipt = case.receipt_no.clone().unwrap_or_default();
                let name = yijian_core::validation::mask_name(&case.declaration.applicant.name);
                let place = crate::domain::resident::village_name(village);
                crate::domain::resident::tell_staff(
                    tx,
                    Role::for_level(appeal.decided_by_level),
                    &scope,
                    crate::sms::Template::AppealFiled,
                    &[
                        ("village", place.as_str()),
                        ("name", name.as_str()),
                        ("receipt", receipt.as_str()),
                    ],
                    &case.id().to_string(),
                    &appeal_id.to_string(),
                    now,
                )?;
            }
        }
        Step::DecideAppeal { upheld, reason, .. } => {
            if let Some(appeal_id) = case.state.appeal
                && let Some((mut appeal, v)) =
                    load::<Appeal>(tx, kinds::APPEAL, &appeal_id.to_string())?
            {
                appeal.decision = Some(AppealDecision {
                    upheld: *upheld,
                    reason: reason.trim().to_owned(),
                    decided_at: now,
                    decided_by: ctx.session.user.id,
                });
                ctx.write(tx, kinds::APPEAL, &appeal_id.to_string(), &v, &appeal)?;
            }
        }
        _ => {}
    }
    let monitoring = match (before.stage, case.state.stage) {
        (_, workflow::Stage::RiskEliminated) if before.stage != workflow::Stage::RiskEliminated => {
            Some(MonitoringStatus::RiskEliminated {
                on: ctx.settings.today,
            })
        }
        _ if before.approved_on.is_none() && case.state.approved_on.is_some() => {
            Some(MonitoringStatus::Monitoring {
                since: case.state.monitoring_since.unwrap_or(ctx.settings.today),
            })
        }
        _ => None,
    };
    if let (Some(status), Some(hid)) = (monitoring, case.declaration.household_id) {
        let id = hid.to_string();
        if let Some((mut h, hv)) = load::<Household>(tx, kinds::HOUSEHOLD, &id)? {
            h.monitoring = status;
            if let Some(c) = case.state.category {
                h.category = Some(c);
            }
            ctx.write(tx, kinds::HOUSEHOLD, &id, &hv, &h)?;
            ctx.audit(
                tx,
                "household_monitoring",
                kinds::HOUSEHOLD,
                &id,
                &hv,
                serde_json::json!({"case": case.id(), "monitoring": status, "category": h.category}),
            )?;
        }
    }
    Ok(())
}

/// The reason or opinion a step carries, for the case's history.
fn step_note(step: &Step) -> Option<String> {
    let text = match step {
        Step::RecordVerification {
            outcome: workflow::VerificationOutcome::DoesNotQualify { reason },
            ..
        }
        | Step::CountyReject { reason }
        | Step::FileAppeal { reason, .. }
        | Step::DecideAppeal { reason, .. }
        | Step::DecideRiskElimination { reason, .. } => reason,
        Step::TownshipReview { opinion, .. } | Step::ReviewRiskElimination { opinion, .. } => {
            opinion
        }
        Step::RecordCrossCheck { findings, .. } => findings,
        Step::RecordEmergencyAssistance { measure, .. } => measure,
        _ => return None,
    };
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The plan starts the return visits and each visit done schedules the next: the server makes
/// the next follow-up record when none is open, so the follow-up clock always has a date.
fn schedule_follow_up(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    case: &Case,
    village: &DivisionCode,
    step: &Step,
) -> Result<(), Fail> {
    if !matches!(step, Step::MakePlan { .. } | Step::RecordFollowUp { .. }) {
        return Ok(());
    }
    let case_id = case.id().to_string();
    let facts = tx.follow_up_facts(&case_id)?;
    if facts.next_due.is_some() {
        return Ok(());
    }
    let Some(household_id) = case.declaration.household_id else {
        return Ok(());
    };
    let interval = ctx.settings.rules.follow_up_interval.amount;
    let from = facts.last_done.unwrap_or(ctx.settings.today);
    let Ok(f) = FollowUp::first_after(
        yijian_core::ids::FollowUpId::new(),
        case.id(),
        household_id,
        from,
        interval,
    ) else {
        return Ok(());
    };
    ctx.write(tx, kinds::FOLLOW_UP, &f.id.to_string(), village, &f)?;
    tx.index_follow_up(&f.id.to_string(), &case_id, f.due_on, None)?;
    reindex_case(tx, &case_id, &ctx.case_write(village, None))?;
    Ok(())
}

fn visit_evidence(
    tx: &mut dyn RecordTx,
    visit_id: VisitId,
    case_id: CaseId,
) -> Result<VisitEvidence, Fail> {
    let (visit, _): (Visit, _) = must_load(tx, kinds::VISIT, &visit_id.to_string(), "核查记录")?;
    if visit.case_id() != Some(case_id) {
        return refuse(
            "invalid",
            "该核查记录不属于这个案件",
            "visit belongs to another case",
        );
    }
    let template = template_for(tx, &visit)?;
    Ok(VisitEvidence {
        visit_id,
        finalised: visit.is_final(),
        authorisation_photo: visit.authorisation_photos(&template).first().copied(),
    })
}

fn template_for(tx: &mut dyn RecordTx, visit: &Visit) -> Result<ChecklistTemplate, Fail> {
    let default = default_template();
    if visit.template_id() == default.id && visit.template_version() == default.version {
        return Ok(default);
    }
    match load::<ChecklistTemplate>(tx, kinds::TEMPLATE, &visit.template_id().to_string())? {
        Some((t, _)) if t.version == visit.template_version() => Ok(t),
        _ => refuse(
            "unknown_template",
            "服务器上找不到这份核查表模板的版本",
            "checklist template version not found",
        ),
    }
}

fn create_household(tx: &mut dyn RecordTx, ctx: &Ctx<'_>, h: &Household) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "建立农户档案",
    )?;
    ctx.require_scope(&staff, &h.village)?;
    if let Err(e) = h.validate() {
        return refuse("invalid", e.to_string(), "invalid household");
    }
    let id = h.id.to_string();
    if tx.get(kinds::HOUSEHOLD, &id)?.is_some() {
        return refuse(
            "already_exists",
            "该农户档案已存在",
            "household already exists",
        );
    }
    ctx.write(tx, kinds::HOUSEHOLD, &id, &h.village, h)?;
    ctx.audit(
        tx,
        "create_household",
        kinds::HOUSEHOLD,
        &id,
        &h.village,
        serde_json::json!({}),
    )
}

fn edit_household(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    household_id: HouseholdId,
    edits: &[FieldEdit],
) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "修改农户档案",
    )?;
    let id = household_id.to_string();
    let (mut h, village): (Household, _) = must_load(tx, kinds::HOUSEHOLD, &id, "农户档案")?;
    ctx.require_scope(&staff, &village)?;
    let mut conflicts = Vec::new();
    let mut applied = Vec::new();
    for edit in edits {
        let field = HouseholdField::from_key(&edit.field).map_err(|e| {
            Fail::Refused(Refusal::new(
                "invalid",
                e.to_string(),
                "unknown household field",
            ))
        })?;
        let current = h.field_value(field);
        if current == edit.base {
            h.set_field(field, edit.value.clone()).map_err(|e| {
                Fail::Refused(Refusal::new(
                    "invalid",
                    e.to_string(),
                    "invalid field value",
                ))
            })?;
            applied.push(edit.field.clone());
        } else if current != edit.value {
            // Someone else changed this field from the same base: keep both for a person.
            conflicts.push(FieldConflict {
                household_id,
                field: edit.field.clone(),
                base: edit.base.clone(),
                theirs: current,
                mine: edit.value.clone(),
                resolved: false,
            });
        }
    }
    if !applied.is_empty() {
        ctx.write(tx, kinds::HOUSEHOLD, &id, &village, &h)?;
    }
    for c in &conflicts {
        ctx.write(
            tx,
            kinds::CONFLICT,
            &conflict_id(household_id, &c.field),
            &village,
            c,
        )?;
    }
    ctx.audit(
        tx,
        "edit_household",
        kinds::HOUSEHOLD,
        &id,
        &village,
        serde_json::json!({"applied": applied, "conflicts": conflicts.iter().map(|c| &c.field).collect::<Vec<_>>()}),
    )
}

fn resolve_conflict(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    household_id: HouseholdId,
    field_key: &str,
    chosen: &serde_json::Value,
) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "处理档案冲突",
    )?;
    let cid = conflict_id(household_id, field_key);
    let (mut conflict, village): (FieldConflict, _) =
        must_load(tx, kinds::CONFLICT, &cid, "档案冲突")?;
    ctx.require_scope(&staff, &village)?;
    let id = household_id.to_string();
    let (mut h, _): (Household, _) = must_load(tx, kinds::HOUSEHOLD, &id, "农户档案")?;
    let field = HouseholdField::from_key(field_key).map_err(|e| {
        Fail::Refused(Refusal::new(
            "invalid",
            e.to_string(),
            "unknown household field",
        ))
    })?;
    h.set_field(field, chosen.clone()).map_err(|e| {
        Fail::Refused(Refusal::new(
            "invalid",
            e.to_string(),
            "invalid field value",
        ))
    })?;
    conflict.resolved = true;
    ctx.write(tx, kinds::HOUSEHOLD, &id, &village, &h)?;
    ctx.write(tx, kinds::CONFLICT, &cid, &village, &conflict)?;
    ctx.audit(
        tx,
        "resolve_conflict",
        kinds::HOUSEHOLD,
        &id,
        &village,
        serde_json::json!({"field": field_key, "chosen": chosen}),
    )
}

fn village_of_household(tx: &mut dyn RecordTx, id: HouseholdId) -> Result<DivisionCode, Fail> {
    let (_, village): (Household, _) =
        must_load(tx, kinds::HOUSEHOLD, &id.to_string(), "农户档案")?;
    Ok(village)
}

fn village_of_case(tx: &mut dyn RecordTx, id: CaseId) -> Result<DivisionCode, Fail> {
    let (_, village): (Case, _) = must_load(tx, kinds::CASE, &id.to_string(), "案件")?;
    Ok(village)
}

fn save_visit(tx: &mut dyn RecordTx, ctx: &Ctx<'_>, v: &Visit) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "提交入户核查",
    )?;
    let village = village_of_household(tx, v.household_id())?;
    ctx.require_scope(&staff, &village)?;
    if v.visitor() != ctx.session.user.id {
        return refuse(
            "invalid",
            "核查人必须是当前登录的账号",
            "the visitor must be the signed-in user",
        );
    }
    let id = v.id().to_string();
    if let Some((old, _)) = load::<Visit>(tx, kinds::VISIT, &id)?
        && old.is_final()
    {
        return refuse(
            "visit_final",
            "已定稿的核查表不能修改，如需更正请新建更正版本",
            "a finalised visit cannot be changed; make a correction instead",
        );
    }
    ctx.write(tx, kinds::VISIT, &id, &village, v)?;
    ctx.audit(
        tx,
        if v.is_final() {
            "finalise_visit"
        } else {
            "save_visit"
        },
        kinds::VISIT,
        &id,
        &village,
        serde_json::json!({"household": v.household_id(), "case": v.case_id()}),
    )
}

fn record_photo(tx: &mut dyn RecordTx, ctx: &Ctx<'_>, p: &PhotoMeta) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    if let Err(e) = p.validate() {
        return refuse("invalid", e.to_string(), "invalid photo metadata");
    }
    let village = match &p.owner {
        PhotoOwner::VisitItem { visit_id, .. } => {
            let (v, _): (Visit, _) =
                must_load(tx, kinds::VISIT, &visit_id.to_string(), "核查记录")?;
            village_of_household(tx, v.household_id())?
        }
        PhotoOwner::Household { household_id } => village_of_household(tx, *household_id)?,
        PhotoOwner::Case { case_id }
        | PhotoOwner::ProxyConfirmation { case_id }
        | PhotoOwner::PublicNotice { case_id } => village_of_case(tx, *case_id)?,
    };
    ctx.require_scope(&staff, &village)?;
    let id = p.id.to_string();
    ctx.write(tx, kinds::PHOTO, &id, &village, p)?;
    tx.link_blob(p.sha256.as_str(), village.as_str())?;
    if let Some(thumb) = &p.thumb_sha256 {
        tx.link_blob(thumb.as_str(), village.as_str())?;
    }
    ctx.audit(
        tx,
        "record_photo",
        kinds::PHOTO,
        &id,
        &village,
        serde_json::json!({"sha256": p.sha256}),
    )
}

fn save_plan(tx: &mut dyn RecordTx, ctx: &Ctx<'_>, p: &Plan) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "制定帮扶计划",
    )?;
    if let Err(e) = p.validate() {
        return refuse("invalid", e.to_string(), "invalid plan");
    }
    let village = village_of_case(tx, p.case_id)?;
    ctx.require_scope(&staff, &village)?;
    let id = p.id.to_string();
    ctx.write(tx, kinds::PLAN, &id, &village, p)?;
    // A plan in force dates the case's follow-up clock.
    reindex_case(tx, &p.case_id.to_string(), &ctx.case_write(&village, None))?;
    ctx.audit(
        tx,
        "save_plan",
        kinds::PLAN,
        &id,
        &village,
        serde_json::json!({"measures": p.measures.len()}),
    )
}

fn save_follow_up(tx: &mut dyn RecordTx, ctx: &Ctx<'_>, f: &FollowUp) -> Result<(), Fail> {
    let staff = ctx.staff()?;
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "记录回访",
    )?;
    let village = village_of_case(tx, f.case_id)?;
    ctx.require_scope(&staff, &village)?;
    let id = f.id.to_string();
    ctx.write(tx, kinds::FOLLOW_UP, &id, &village, f)?;
    tx.index_follow_up(&id, &f.case_id.to_string(), f.due_on, f.done_on)?;
    reindex_case(tx, &f.case_id.to_string(), &ctx.case_write(&village, None))?;
    ctx.audit(
        tx,
        "save_follow_up",
        kinds::FOLLOW_UP,
        &id,
        &village,
        serde_json::json!({}),
    )
}

fn put_document(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    kind: &str,
    id: &str,
    village: &DivisionCode,
    data: &serde_json::Value,
) -> Result<(), Fail> {
    if !ctx.settings.accept_raw_documents {
        return refuse(
            "raw_documents_disabled",
            "服务器未开启自由文档同步",
            "this server does not accept raw documents",
        );
    }
    let staff = ctx.staff()?;
    ctx.require_scope(&staff, village)?;
    if kind.is_empty() || id.is_empty() || kind.len() > 64 || id.len() > 128 {
        return refuse("invalid", "文档类型或编号不正确", "bad document kind or id");
    }
    let stored_kind = format!("{}{kind}", kinds::DOCUMENT_PREFIX);
    ctx.write(tx, &stored_kind, id, village, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_numbers_are_readable() {
        let v = DivisionCode::parse("621102105201").expect("code");
        assert_eq!(receipt_number(&v, 7), "621102-105-201-0007");
        assert_eq!(receipt_number(&v, 12345), "621102-105-201-12345");
    }
}
