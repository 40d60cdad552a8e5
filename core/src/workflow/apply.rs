//! Taking a step: authorise the actor, check the stage and evidence, compute the next state.

use crate::division::{DivisionCode, Level};
use crate::role::{Actor, Role};
use chrono::{Months, NaiveDate};

use super::*;

/// Why a step was refused. [`WorkflowError::code`] is stable for API clients and the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("案件当前处于“{stage}”，不能进行“{step}”")]
    IllegalTransition { step: StepKind, stage: Stage },
    #[error("“{step}”须由{allowed}办理，您的角色是{role}", allowed = roles_zh(.allowed), role = .role.name_zh())]
    RoleNotAllowed {
        step: StepKind,
        role: Role,
        allowed: Vec<Role>,
    },
    #[error("“{step}”须登录后办理")]
    ResidentNotAllowed { step: StepKind },
    #[error("该案件所在村（{village}）不在您的管辖范围（{scope}）内")]
    OutOfScope {
        village: DivisionCode,
        scope: DivisionCode,
    },
    #[error("“{step}”缺少必要材料：{what}")]
    MissingEvidence { step: StepKind, what: &'static str },
    #[error("“{step}”须填写理由")]
    ReasonRequired { step: StepKind },
    #[error("公示须{rule}（张贴当天不计），最早{earliest}结束，登记的结束日期{to}太早")]
    NoticeTooShort {
        to: NaiveDate,
        earliest: NaiveDate,
        rule: String,
    },
    #[error("公示要到{to}才结束，结束后才能记录")]
    NoticeNotOver { to: NaiveDate },
    #[error("公示期间的异议尚未处理完毕")]
    ObjectionsOpen,
    #[error("一户一策至少要有一项帮扶措施")]
    NoMeasures,
    #[error("监测未满{months}个月（自{since}起，最早{earliest}可申请风险消除）")]
    MonitoredTooShort {
        months: u32,
        since: NaiveDate,
        earliest: NaiveDate,
    },
    #[error("尚无已落实的帮扶措施，不能申请风险消除")]
    NoMeasureInPlace,
    #[error("家中没有劳动年龄人口，按规定不能标注风险消除")]
    NoWorkingAgeMember,
    #[error("收入尚未稳定超过监测线，或“三保障”和饮水安全未持续保持，不能申请风险消除")]
    RiskNotGone,
    #[error("只有绿色通道案件可以先行帮扶")]
    NotGreenChannel,
    #[error("绿色通道案件的认定程序尚未完成（当前“{stage}”），完成后才能办结")]
    IdentificationPending { stage: Stage },
    #[error("日期{date}晚于今天，不能记录未来的事")]
    FutureDate { date: NaiveDate },
    #[error("该案件没有可以受理申诉的上级")]
    NoLevelAbove,
    #[error("金额不能为负数")]
    NegativeAmount,
    #[error("申诉期到{until}才结束，期满前不能办结")]
    AppealWindowOpen { until: NaiveDate },
    #[error("申诉未获支持，须先上门向农户解疑释惑，再办结")]
    ExplanationPending,
    #[error("审批通过前只有绿色通道案件可以先制定一户一策")]
    PlanBeforeApproval,
    #[error("该案件已在绿色通道中")]
    AlreadyGreenChannel,
}

impl WorkflowError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::IllegalTransition { .. } => "illegal_transition",
            WorkflowError::RoleNotAllowed { .. } => "role_not_allowed",
            WorkflowError::ResidentNotAllowed { .. } => "resident_not_allowed",
            WorkflowError::OutOfScope { .. } => "out_of_scope",
            WorkflowError::MissingEvidence { .. } => "missing_evidence",
            WorkflowError::ReasonRequired { .. } => "reason_required",
            WorkflowError::NoticeTooShort { .. } => "notice_too_short",
            WorkflowError::NoticeNotOver { .. } => "notice_not_over",
            WorkflowError::ObjectionsOpen => "objections_open",
            WorkflowError::NoMeasures => "no_measures",
            WorkflowError::MonitoredTooShort { .. } => "monitored_too_short",
            WorkflowError::NoMeasureInPlace => "no_measure_in_place",
            WorkflowError::NoWorkingAgeMember => "no_working_age_member",
            WorkflowError::RiskNotGone => "risk_not_gone",
            WorkflowError::NotGreenChannel => "not_green_channel",
            WorkflowError::IdentificationPending { .. } => "identification_pending",
            WorkflowError::FutureDate { .. } => "future_date",
            WorkflowError::NoLevelAbove => "no_level_above",
            WorkflowError::NegativeAmount => "negative_amount",
            WorkflowError::AppealWindowOpen { .. } => "appeal_window_open",
            WorkflowError::ExplanationPending => "explanation_pending",
            WorkflowError::PlanBeforeApproval => "plan_before_approval",
            WorkflowError::AlreadyGreenChannel => "already_green_channel",
        }
    }
}

fn roles_zh(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.name_zh())
        .collect::<Vec<_>>()
        .join("或")
}

/// Check who is acting against a rule; returns nothing when allowed.
fn authorise(
    rule: &TransitionRule,
    state: &CaseState,
    actor: &Actor,
    village: &DivisionCode,
) -> Result<(), WorkflowError> {
    let step = rule.step;
    let staff = match actor {
        Actor::System => return Ok(()),
        Actor::Resident => {
            return match rule.who {
                WhoMay::RolesOrResident(_) => Ok(()),
                _ => Err(WorkflowError::ResidentNotAllowed { step }),
            };
        }
        Actor::Staff(staff) => staff,
    };
    let allowed: Vec<Role> = match rule.who {
        WhoMay::Roles(roles) | WhoMay::RolesOrResident(roles) => roles.to_vec(),
        WhoMay::OneLevelAboveRejection => {
            let above = state
                .rejected_by
                .and_then(Level::parent)
                .ok_or(WorkflowError::NoLevelAbove)?;
            vec![Role::for_level(above)]
        }
    };
    if !allowed.contains(&staff.role) {
        return Err(WorkflowError::RoleNotAllowed {
            step,
            role: staff.role,
            allowed,
        });
    }
    if !staff.covers(village) {
        return Err(WorkflowError::OutOfScope {
            village: village.clone(),
            scope: staff.scope.clone(),
        });
    }
    Ok(())
}

fn not_future(date: NaiveDate, today: NaiveDate) -> Result<(), WorkflowError> {
    if date > today {
        return Err(WorkflowError::FutureDate { date });
    }
    Ok(())
}

fn reason_given(step: StepKind, reason: &str) -> Result<(), WorkflowError> {
    if reason.trim().is_empty() {
        return Err(WorkflowError::ReasonRequired { step });
    }
    Ok(())
}

/// Whether `actor` may take `step` now (ignoring the step's evidence): the console shows these.
pub fn available_steps(state: &CaseState, actor: &Actor, village: &DivisionCode) -> Vec<StepKind> {
    RULES
        .iter()
        .filter(|r| r.from.contains(&state.stage))
        .filter(|r| r.step != StepKind::RecordEmergencyAssistance || state.green_channel)
        .filter(|r| r.step != StepKind::SwitchToGreenChannel || !state.green_channel)
        .filter(|r| {
            r.step != StepKind::MakePlan
                || state.stage == Stage::Approved
                || (state.green_channel && state.plan.is_none())
        })
        .filter(|r| authorise(r, state, actor, village).is_ok())
        .map(|r| r.step)
        .collect()
}

/// Take one step. Returns the new state, or why the step is refused; the input is unchanged.
pub fn apply(
    state: &CaseState,
    actor: &Actor,
    step: &Step,
    ctx: &StepContext,
) -> Result<CaseState, WorkflowError> {
    let kind = step.kind();
    let rule = rule(kind);
    if !rule.from.contains(&state.stage) {
        if kind == StepKind::Close && state.green_channel && !state.identification_complete() {
            return Err(WorkflowError::IdentificationPending { stage: state.stage });
        }
        return Err(WorkflowError::IllegalTransition {
            step: kind,
            stage: state.stage,
        });
    }
    authorise(rule, state, actor, &ctx.village)?;

    let mut next = state.clone();
    let today = ctx.today;
    match step {
        Step::Accept => next.stage = Stage::Accepted,
        Step::StartVerification { visit_id } => {
            next.verification_visit = Some(*visit_id);
            next.stage = Stage::Verifying;
        }
        Step::RecordVerification { visit, outcome } => {
            if !visit.finalised {
                return Err(WorkflowError::MissingEvidence {
                    step: kind,
                    what: "已定稿的入户核查表",
                });
            }
            if visit.authorisation_photo.is_none() {
                return Err(WorkflowError::MissingEvidence {
                    step: kind,
                    what: "农户签字按手印的承诺授权书照片",
                });
            }
            next.stage = match outcome {
                VerificationOutcome::Qualifies { category, .. } => {
                    next.category = Some(*category);
                    Stage::VerifiedQualifies
                }
                VerificationOutcome::DoesNotQualify { reason } => {
                    reason_given(kind, reason)?;
                    Stage::VerifiedNotQualified
                }
            };
            if let VerificationOutcome::DoesNotQualify { reason } = outcome {
                // The village's refusal: appealable to the township (提级办理).
                next.rejected_by = Some(Level::Village);
                next.rejection_reason = Some(reason.trim().to_owned());
            }
            next.verification = Some(outcome.clone());
            next.verification_visit = Some(visit.visit_id);
            // The work is judged by the day it was done at the household; a device clock is
            // believed only within the case's life (not before the declaration, not after today).
            next.verified_on = Some(
                visit
                    .finalised_on
                    .map_or(today, |on| on.clamp(ctx.declared_on.min(today), today)),
            );
        }
        Step::NotifyNotQualified { on, .. } => {
            not_future(*on, today)?;
            next.stage = Stage::NotQualifiedNotified;
            next.refused_on = Some(*on);
        }
        Step::RecordCrossCheck { on, findings, .. } => {
            not_future(*on, today)?;
            reason_given(kind, findings)?;
            next.stage = Stage::CrossChecked;
        }
        Step::RecordDemocraticReview {
            held_on,
            participants,
            minutes_photo,
            agreed,
            opinion,
        } => {
            not_future(*held_on, today)?;
            if *participants == 0 || minutes_photo.is_none() {
                return Err(WorkflowError::MissingEvidence {
                    step: kind,
                    what: "参会人数和会议记录照片",
                });
            }
            let eliminating = state.stage == Stage::RiskEliminationProposed;
            next.stage = match (eliminating, *agreed) {
                (false, true) => Stage::DemocraticReviewed,
                (true, true) => Stage::RiskEliminationAssessed,
                (false, false) => {
                    reason_given(kind, opinion)?;
                    next.rejected_by = Some(Level::Village);
                    next.rejection_reason = Some(opinion.trim().to_owned());
                    next.refused_on = Some(*held_on);
                    Stage::Rejected
                }
                (true, false) => {
                    reason_given(kind, opinion)?;
                    Stage::Assisting
                }
            };
        }
        Step::RecordPublicNotice {
            from,
            to,
            photo,
            objections,
            objections_resolved,
        } => {
            let earliest = ctx.public_notice.due_date(*from, &ctx.calendar);
            if *to < earliest {
                return Err(WorkflowError::NoticeTooShort {
                    to: *to,
                    earliest,
                    rule: format!(
                        "不少于{}{}",
                        ctx.public_notice.amount,
                        ctx.public_notice.unit.name_zh()
                    ),
                });
            }
            if *to >= today {
                return Err(WorkflowError::NoticeNotOver { to: *to });
            }
            if photo.is_none() {
                return Err(WorkflowError::MissingEvidence {
                    step: kind,
                    what: "公示照片",
                });
            }
            if *objections > 0 && !objections_resolved {
                return Err(WorkflowError::ObjectionsOpen);
            }
            next.stage = if state.stage == Stage::RiskEliminationAssessed {
                Stage::RiskEliminationNoticed
            } else {
                Stage::PubliclyNoticed
            };
        }
        Step::TownshipReview { agree, opinion } => {
            if *agree {
                next.stage = Stage::TownshipReviewed;
            } else {
                reason_given(kind, opinion)?;
                // Returned to the village for a new home verification.
                next.stage = Stage::Verifying;
                next.verification = None;
                next.verified_on = None;
            }
        }
        Step::CountyApprove { category } => {
            // A green-channel plan made before the decision stands.
            next.stage = if next.plan.is_some() {
                Stage::PlanMade
            } else {
                Stage::Approved
            };
            next.category = Some(*category);
            next.approved_on = Some(today);
            next.monitoring_since = Some(next.monitoring_since.unwrap_or(today));
        }
        Step::CountyReject { reason } => {
            reason_given(kind, reason)?;
            next.stage = Stage::Rejected;
            next.rejected_by = Some(Level::County);
            next.rejection_reason = Some(reason.clone());
            next.refused_on = Some(today);
        }
        Step::FileAppeal { appeal_id, reason } => {
            reason_given(kind, reason)?;
            next.stage = Stage::Appealed;
            next.appeal = Some(*appeal_id);
            // Cases told 不符合 before refusals were recorded by level were the village's.
            next.rejected_by = next.rejected_by.or(Some(Level::Village));
        }
        Step::DecideAppeal {
            upheld,
            reason,
            category,
        } => {
            reason_given(kind, reason)?;
            if *upheld {
                let verified = match &state.verification {
                    Some(VerificationOutcome::Qualifies { category, .. }) => Some(*category),
                    _ => None,
                };
                let Some(category) = category.or(state.category).or(verified) else {
                    return Err(WorkflowError::MissingEvidence {
                        step: kind,
                        what: "纳入的监测对象类型",
                    });
                };
                next.category = Some(category);
                next.rejection_reason = None;
                next.refused_on = None;
                if state.rejected_by == Some(Level::Village) {
                    // The township found the household qualifies: the identification goes on
                    // from where a qualifying verification leads (比对、评议、公示、审批).
                    next.rejected_by = None;
                    next.stage = Stage::VerifiedQualifies;
                } else {
                    next.stage = if next.plan.is_some() {
                        Stage::PlanMade
                    } else {
                        Stage::Approved
                    };
                    next.approved_on = Some(today);
                    next.monitoring_since = Some(next.monitoring_since.unwrap_or(today));
                }
            } else {
                next.stage = Stage::RejectionUpheld;
                next.refused_on = Some(today);
            }
        }
        Step::RecordAppealExplanation { on } => {
            not_future(*on, today)?;
            next.appeal_explained_on = Some(*on);
        }
        Step::SwitchToGreenChannel { reason } => {
            if state.green_channel {
                return Err(WorkflowError::AlreadyGreenChannel);
            }
            reason_given(kind, reason)?;
            next.green_channel = true;
        }
        Step::MakePlan { plan_id, measures } => {
            if *measures == 0 {
                return Err(WorkflowError::NoMeasures);
            }
            next.plan = Some(*plan_id);
            if state.stage == Stage::Approved {
                next.stage = Stage::PlanMade;
            } else {
                if !state.green_channel {
                    return Err(WorkflowError::PlanBeforeApproval);
                }
                // Helped, and watched, from the day the plan is made (先帮扶后认定).
                next.monitoring_since = Some(next.monitoring_since.unwrap_or(today));
            }
        }
        Step::RecordFollowUp { .. } => {
            next.follow_ups += 1;
            next.stage = Stage::Assisting;
        }
        Step::ProposeRiskElimination {
            income_above_line,
            guarantees_kept,
            ..
        } => {
            if !ctx.household_has_working_age_member {
                return Err(WorkflowError::NoWorkingAgeMember);
            }
            let since = next.monitoring_since.or(next.approved_on).unwrap_or(today);
            let earliest = since
                .checked_add_months(Months::new(ctx.min_monitoring_months))
                .unwrap_or(NaiveDate::MAX);
            if today < earliest {
                return Err(WorkflowError::MonitoredTooShort {
                    months: ctx.min_monitoring_months,
                    since,
                    earliest,
                });
            }
            if ctx.measures_in_place == 0 {
                return Err(WorkflowError::NoMeasureInPlace);
            }
            if !income_above_line || !guarantees_kept {
                return Err(WorkflowError::RiskNotGone);
            }
            next.stage = Stage::RiskEliminationProposed;
        }
        Step::ReviewRiskElimination { agree, opinion } => {
            if *agree {
                next.stage = Stage::RiskEliminationReviewed;
            } else {
                reason_given(kind, opinion)?;
                next.stage = Stage::Assisting;
            }
        }
        Step::DecideRiskElimination { approve, reason } => {
            if *approve {
                // Checked again at the decision: the household may have changed meanwhile.
                if !ctx.household_has_working_age_member {
                    return Err(WorkflowError::NoWorkingAgeMember);
                }
                next.stage = Stage::RiskEliminated;
            } else {
                reason_given(kind, reason)?;
                next.stage = Stage::Assisting;
            }
        }
        Step::RecordEmergencyAssistance {
            on,
            measure,
            amount_fen,
        } => {
            if !state.green_channel {
                return Err(WorkflowError::NotGreenChannel);
            }
            not_future(*on, today)?;
            if measure.trim().is_empty() {
                return Err(WorkflowError::MissingEvidence {
                    step: kind,
                    what: "帮扶措施",
                });
            }
            if amount_fen.is_some_and(|a| a < 0) {
                return Err(WorkflowError::NegativeAmount);
            }
            next.emergency_assistance_on = Some(next.emergency_assistance_on.unwrap_or(*on));
            // The household is helped, and watched, from the day help arrives.
            next.monitoring_since = Some(next.monitoring_since.unwrap_or(*on));
        }
        Step::Close => {
            match state.stage {
                Stage::Rejected | Stage::NotQualifiedNotified => {
                    if let Some(until) = state.appeal_open_until(ctx.appeal_window_days)
                        && today <= until
                    {
                        return Err(WorkflowError::AppealWindowOpen { until });
                    }
                }
                Stage::RejectionUpheld if state.appeal_explained_on.is_none() => {
                    return Err(WorkflowError::ExplanationPending);
                }
                _ => {}
            }
            next.closed = Some(match state.stage {
                Stage::RiskEliminated => CloseReason::RiskEliminated,
                Stage::NotQualifiedNotified => CloseReason::NotQualified,
                _ => CloseReason::Rejected,
            });
            next.stage = Stage::Closed;
        }
    }
    Ok(next)
}
