//! `case_step`: a step of the procedure on a case, with the evidence read from the server's
//! own records, and what the step changes beside the case (appeal record, household status,
//! the next return visit).

use crate::domain::cases::{reindex_case, save_case};
use crate::store::tx::RecordTx;
use yijian_core::case::{Case, CaseEventKind};
use yijian_core::checklist::{ChecklistTemplate, default_template};
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, MonitoringStatus};
use yijian_core::ids::{CaseId, VisitId};
use yijian_core::protocol::kinds;
use yijian_core::role::{Actor, Role};
use yijian_core::support::{Appeal, AppealDecision, AppealFiler, FollowUp, Plan};
use yijian_core::visit::Visit;
use yijian_core::workflow::{self, Step, VisitEvidence};

use super::*;

fn workflow_refusal(e: &workflow::WorkflowError) -> Refusal {
    Refusal::new(
        e.code(),
        e.to_string(),
        format!("workflow step refused: {}", e.code().replace('_', " ")),
    )
}

pub(super) fn case_step(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    case_id: CaseId,
    step: &Step,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    let id = case_id.to_string();
    let (mut case, _): (Case, _) = must_load(tx, kinds::CASE, &id, "案件")?;
    let village = auth.village.clone();
    let settings = ctx.settings;
    let mut has_working_age = false;
    let mut household = None;
    if let Some(hid) = case.declaration.household_id
        && let Some((h, _)) = load::<Household>(tx, kinds::HOUSEHOLD, &hid.to_string())?
    {
        has_working_age = h.has_working_age_member(settings.today);
        household = Some(h);
    }
    // The category must fit the household's own record (脱贫不稳定户 only for a 脱贫户,
    // 边缘易致贫户 only for others), or approval would store a household that fails its rules.
    if let (Some(h), Some(category)) = (&household, approved_category(step)) {
        let mut with = h.clone();
        with.category = Some(category);
        if let Err(e) = with.validate() {
            return refuse(
                "category_mismatch",
                format!("监测对象类型与农户档案不符：{e}"),
                "the category does not fit the household's formerly-poor mark",
            );
        }
    }
    let mut note = None;
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
        Step::ProposeRiskElimination { visit_id, .. } => {
            let check = risk_check(tx, *visit_id, case_id, settings)?;
            note = Some(check.summary_zh.clone());
            Step::ProposeRiskElimination {
                visit_id: *visit_id,
                income_above_line: check.income_above_line,
                guarantees_kept: check.guarantees_kept,
            }
        }
        other => other.clone(),
    };
    let context = settings.step_context(
        &village,
        case.declared_on(),
        has_working_age,
        measures_in_place,
    );
    let next = workflow::apply(&case.state, &Actor::Staff(staff), &step, &context)
        .map_err(|e| Fail::Refused(workflow_refusal(&e)))?;
    let from = case.state.stage;
    let before = std::mem::replace(&mut case.state, next);
    let mut write = ctx.case_write(
        &village,
        Some((
            CaseEventKind::Step { step: step.kind() },
            note.or_else(|| step_note(&step)),
        )),
    );
    if let Step::RecordVerification { visit, .. } = &step {
        // Judged by when the work was done; both days are kept in the history.
        write.work_done_on = case.state.verified_on;
        if let Some(event) = write.event.as_mut() {
            event.2 = verification_note(event.2.take(), visit, settings.today);
        }
    }
    save_case(tx, &mut case, &write)?;
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
            let Some(against) = case.state.rejected_by else {
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
        Step::RecordAppealExplanation { on } => {
            if let Some(appeal_id) = case.state.appeal
                && let Some((mut appeal, v)) =
                    load::<Appeal>(tx, kinds::APPEAL, &appeal_id.to_string())?
            {
                appeal.record_explanation(*on).map_err(|e| {
                    Fail::Refused(Refusal::new("invalid", e.to_string(), "appeal not decided"))
                })?;
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
        // 先帮扶后认定: a green-channel household is watched from the first help or plan.
        _ if case.state.green_channel
            && before.monitoring_since.is_none()
            && case.state.monitoring_since.is_some() =>
        {
            Some(MonitoringStatus::Monitoring {
                since: case.state.monitoring_since.unwrap_or(ctx.settings.today),
            })
        }
        // Helped first and then not included: the household is no longer watched under this case.
        (_, workflow::Stage::Closed)
            if before.green_channel
                && before.approved_on.is_none()
                && before.monitoring_since.is_some() =>
        {
            Some(MonitoringStatus::NotMonitored)
        }
        _ => None,
    };
    if let (Some(status), Some(hid)) = (monitoring, case.declaration.household_id) {
        let id = hid.to_string();
        if let Some((mut h, hv)) = load::<Household>(tx, kinds::HOUSEHOLD, &id)? {
            h.monitoring = status;
            if case.state.approved_on.is_some()
                && let Some(c) = case.state.category
            {
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
        Step::TownshipReview { opinion, .. }
        | Step::ReviewRiskElimination { opinion, .. }
        | Step::RecordDemocraticReview { opinion, .. } => opinion,
        Step::SwitchToGreenChannel { reason } => reason,
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
    let interval = match step {
        Step::MakePlan { .. } | Step::RecordFollowUp { .. } => {
            ctx.settings.rules.follow_up_interval.amount
        }
        // 常态化关注: watched after 风险消除, or not included but at risk.
        Step::DecideRiskElimination { approve: true, .. }
        | Step::NotifyNotQualified {
            routine_attention: true,
            ..
        } => ctx.settings.policy.routine_attention_interval_days,
        _ => return Ok(()),
    };
    schedule_next_follow_up(tx, ctx, case, village, interval)
}

/// Make the next return visit of `case`, `interval` days after the last one done (or today),
/// unless one is already open.
pub(super) fn schedule_next_follow_up(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    case: &Case,
    village: &DivisionCode,
    interval: u32,
) -> Result<(), Fail> {
    let case_id = case.id().to_string();
    let facts = tx.follow_up_facts(&case_id)?;
    if facts.next_due.is_some() {
        return Ok(());
    }
    let Some(household_id) = case.declaration.household_id else {
        return Ok(());
    };
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

/// The category a step would write to the household, if any.
fn approved_category(step: &Step) -> Option<yijian_core::case::MonitoringCategory> {
    match step {
        Step::CountyApprove { category } => Some(*category),
        Step::DecideAppeal {
            upheld: true,
            category,
            ..
        } => *category,
        _ => None,
    }
}

/// A verification synced this many days after it was finalised is flagged: a week without
/// signal happens, a month means a wrong device clock or a visit kept back.
pub const LATE_SYNC_FLAG_DAYS: i64 = 15;

/// The history note of a verification: its reason, and both days when the work was done on
/// another day than it reached the server.
fn verification_note(
    reason: Option<String>,
    visit: &VisitEvidence,
    today: chrono::NaiveDate,
) -> Option<String> {
    let Some(done) = visit.finalised_on.filter(|d| *d != today) else {
        return reason;
    };
    let mut when = if done > today {
        format!("手机记录的定稿日期{done}晚于今天，按今天{today}计")
    } else {
        format!("入户核查于{done}定稿，{today}同步到服务器，按{done}计算时限")
    };
    if (today - done).num_days() > LATE_SYNC_FLAG_DAYS {
        when.push_str(&format!(
            "（同步晚于定稿{LATE_SYNC_FLAG_DAYS}天以上，请核实）"
        ));
    }
    Some(match reason {
        Some(r) => format!("{r}；{when}"),
        None => when,
    })
}

/// The evidence for 风险消除, computed by the server from the case's own finalised visit under
/// the line of the visit's year; the device's claims are not read.
fn risk_check(
    tx: &mut dyn RecordTx,
    visit_id: VisitId,
    case_id: CaseId,
    settings: &ApplySettings,
) -> Result<yijian_core::checklist::RiskCheck, Fail> {
    let (visit, template) = visit_of_case(tx, visit_id, case_id)?;
    if !visit.is_final() {
        return refuse(
            "missing_evidence",
            "风险消除核查记录尚未定稿",
            "risk-elimination visit not finalised",
        );
    }
    let evaluation = visit
        .evaluate_under(&template, &settings.policy)
        .map_err(|e| Fail::Refused(Refusal::new("invalid", e.to_string(), "visit unreadable")))?;
    Ok(evaluation.risk_check())
}

fn visit_evidence(
    tx: &mut dyn RecordTx,
    visit_id: VisitId,
    case_id: CaseId,
) -> Result<VisitEvidence, Fail> {
    let (visit, template) = visit_of_case(tx, visit_id, case_id)?;
    Ok(VisitEvidence {
        visit_id,
        finalised: visit.is_final(),
        authorisation_photo: visit.authorisation_photos(&template).first().copied(),
        finalised_on: visit.finalized_at().map(yijian_core::time::china_date),
    })
}

/// A stored visit that belongs to `case_id`, with the template it was filled against.
fn visit_of_case(
    tx: &mut dyn RecordTx,
    visit_id: VisitId,
    case_id: CaseId,
) -> Result<(Visit, ChecklistTemplate), Fail> {
    let (visit, _): (Visit, _) = must_load(tx, kinds::VISIT, &visit_id.to_string(), "核查记录")?;
    if visit.case_id() != Some(case_id) {
        return refuse(
            "invalid",
            "该核查记录不属于这个案件",
            "visit belongs to another case",
        );
    }
    let template = template_for(tx, &visit)?;
    Ok((visit, template))
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
