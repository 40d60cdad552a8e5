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
    #[error("公示期为{days}天，不足规定的{min}天")]
    NoticeTooShort { days: i64, min: u32 },
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
            next.verification = Some(outcome.clone());
            next.verification_visit = Some(visit.visit_id);
            next.verified_on = Some(today);
        }
        Step::NotifyNotQualified { on, .. } => {
            not_future(*on, today)?;
            next.stage = Stage::NotQualifiedNotified;
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
            ..
        } => {
            not_future(*held_on, today)?;
            if *participants == 0 || minutes_photo.is_none() {
                return Err(WorkflowError::MissingEvidence {
                    step: kind,
                    what: "参会人数和会议记录照片",
                });
            }
            next.stage = Stage::DemocraticReviewed;
        }
        Step::RecordPublicNotice {
            from,
            to,
            photo,
            objections,
            objections_resolved,
        } => {
            let days = (*to - *from).num_days() + 1;
            if days < i64::from(ctx.public_notice_min_days) {
                return Err(WorkflowError::NoticeTooShort {
                    days,
                    min: ctx.public_notice_min_days,
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
            next.stage = Stage::PubliclyNoticed;
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
            next.stage = Stage::Approved;
            next.category = Some(*category);
            next.approved_on = Some(today);
            next.monitoring_since = Some(next.monitoring_since.unwrap_or(today));
        }
        Step::CountyReject { reason } => {
            reason_given(kind, reason)?;
            next.stage = Stage::Rejected;
            next.rejected_by = Some(Level::County);
            next.rejection_reason = Some(reason.clone());
        }
        Step::FileAppeal { appeal_id, reason } => {
            reason_given(kind, reason)?;
            next.stage = Stage::Appealed;
            next.appeal = Some(*appeal_id);
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
                next.stage = Stage::Approved;
                next.approved_on = Some(today);
                next.monitoring_since = Some(next.monitoring_since.unwrap_or(today));
                next.rejection_reason = None;
            } else {
                next.stage = Stage::RejectionUpheld;
            }
        }
        Step::MakePlan { plan_id, measures } => {
            if *measures == 0 {
                return Err(WorkflowError::NoMeasures);
            }
            next.plan = Some(*plan_id);
            next.stage = Stage::PlanMade;
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
