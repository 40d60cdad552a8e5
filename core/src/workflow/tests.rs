//! Tests of the case workflow: the whole transition table, per role and per stage, and the
//! procedure's special rules.

use chrono::NaiveDate;

use super::*;
use crate::calendar::HolidayCalendar;
use crate::case::{MonitoringCategory, RiskType};
use crate::deadline::{Anchor, DeadlineRule};
use crate::division::{DivisionCode, Level};
use crate::ids::{AppealId, PhotoId, PlanId, VisitId};
use crate::role::Staff;
use crate::role::{Actor, Role};
use rstest::rstest;
use std::sync::Arc;

const VILLAGE: &str = "621102105201";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("valid code")
}

fn ctx() -> StepContext {
    StepContext {
        today: d(2026, 10, 20),
        declared_on: d(2026, 10, 1),
        village: code(VILLAGE),
        public_notice: DeadlineRule::calendar_days(5, Anchor::NoticePosted),
        calendar: Arc::new(HolidayCalendar::builtin().clone()),
        appeal_window_days: 15,
        min_monitoring_months: 6,
        household_has_working_age_member: true,
        measures_in_place: 1,
    }
}

/// A staff member of `role` whose scope is the level's ancestor of the test village.
fn staff(role: Role) -> Actor {
    let scope = match role.level() {
        Some(level) => code(VILLAGE).at_level(level).expect("ancestor"),
        None => code("62"),
    };
    Actor::Staff(Staff::new(role, scope).expect("consistent staff"))
}

fn at(stage: Stage) -> CaseState {
    let mut s = CaseState::declared(false);
    s.stage = stage;
    s.rejected_by = Some(Level::County);
    s.monitoring_since = Some(d(2026, 1, 5));
    s.approved_on = Some(d(2026, 1, 5));
    // Refused long ago and explained: the appeal window has passed.
    s.refused_on = Some(d(2026, 9, 1));
    s.appeal_explained_on = Some(d(2026, 9, 10));
    s
}

fn photo() -> Option<PhotoId> {
    Some(PhotoId::from_parts(1, 1))
}

/// A step of `kind` with valid evidence under [`ctx`].
fn valid_step(kind: StepKind) -> Step {
    match kind {
        StepKind::Accept => Step::Accept,
        StepKind::StartVerification => Step::StartVerification {
            visit_id: VisitId::from_parts(1, 1),
        },
        StepKind::RecordVerification => Step::RecordVerification {
            visit: VisitEvidence {
                visit_id: VisitId::from_parts(1, 1),
                finalised: true,
                authorisation_photo: photo(),
                finalised_on: None,
            },
            outcome: VerificationOutcome::Qualifies {
                category: MonitoringCategory::SuddenSevereHardship,
                risk_types: vec![RiskType::Illness],
            },
        },
        StepKind::NotifyNotQualified => Step::NotifyNotQualified {
            on: d(2026, 10, 19),
            method: NoticeMethod::InPerson,
            routine_attention: false,
        },
        StepKind::RecordCrossCheck => Step::RecordCrossCheck {
            on: d(2026, 10, 19),
            findings: "医保、民政数据一致".into(),
            discrepancy: false,
        },
        StepKind::RecordDemocraticReview => Step::RecordDemocraticReview {
            held_on: d(2026, 10, 10),
            participants: 23,
            agreed: true,
            minutes_photo: photo(),
            opinion: String::new(),
        },
        StepKind::RecordPublicNotice => Step::RecordPublicNotice {
            from: d(2026, 10, 12),
            to: d(2026, 10, 17),
            photo: photo(),
            objections: 0,
            objections_resolved: true,
        },
        StepKind::TownshipReview => Step::TownshipReview {
            agree: true,
            opinion: "同意".into(),
        },
        StepKind::CountyApprove => Step::CountyApprove {
            category: MonitoringCategory::SuddenSevereHardship,
        },
        StepKind::CountyReject => Step::CountyReject {
            reason: "家庭人均纯收入高于监测线".into(),
        },
        StepKind::FileAppeal => Step::FileAppeal {
            appeal_id: AppealId::from_parts(1, 1),
            reason: "医疗费用未计入".into(),
        },
        StepKind::DecideAppeal => Step::DecideAppeal {
            upheld: true,
            reason: "补充医疗票据后符合条件".into(),
            category: Some(MonitoringCategory::SuddenSevereHardship),
        },
        StepKind::RecordAppealExplanation => Step::RecordAppealExplanation {
            on: d(2026, 10, 19),
        },
        StepKind::SwitchToGreenChannel => Step::SwitchToGreenChannel {
            reason: "户主突发重病，先行救助".into(),
        },
        StepKind::MakePlan => Step::MakePlan {
            plan_id: PlanId::from_parts(1, 1),
            measures: 2,
        },
        StepKind::RecordFollowUp => Step::RecordFollowUp {
            visit_id: VisitId::from_parts(2, 2),
        },
        StepKind::ProposeRiskElimination => Step::ProposeRiskElimination {
            visit_id: VisitId::from_parts(3, 3),
            income_above_line: true,
            guarantees_kept: true,
        },
        StepKind::ReviewRiskElimination => Step::ReviewRiskElimination {
            agree: true,
            opinion: "同意".into(),
        },
        StepKind::DecideRiskElimination => Step::DecideRiskElimination {
            approve: true,
            reason: "收入稳定".into(),
        },
        StepKind::RecordEmergencyAssistance => Step::RecordEmergencyAssistance {
            on: d(2026, 10, 18),
            measure: "临时救助".into(),
            amount_fen: Some(300_000),
        },
        StepKind::Close => Step::Close,
    }
}

fn state_for(rule: &TransitionRule, stage: Stage) -> CaseState {
    let mut s = at(stage);
    s.green_channel = rule.step == StepKind::RecordEmergencyAssistance
        || (rule.step == StepKind::MakePlan && stage.is_before_decision());
    s
}

fn allowed_roles(rule: &TransitionRule) -> Vec<Role> {
    match rule.who {
        WhoMay::Roles(r) | WhoMay::RolesOrResident(r) => r.to_vec(),
        WhoMay::OneLevelAboveRejection => vec![Role::City],
    }
}

const ALL_KINDS: [StepKind; 21] = [
    StepKind::Accept,
    StepKind::StartVerification,
    StepKind::RecordVerification,
    StepKind::NotifyNotQualified,
    StepKind::RecordCrossCheck,
    StepKind::RecordDemocraticReview,
    StepKind::RecordPublicNotice,
    StepKind::TownshipReview,
    StepKind::CountyApprove,
    StepKind::CountyReject,
    StepKind::FileAppeal,
    StepKind::DecideAppeal,
    StepKind::RecordAppealExplanation,
    StepKind::MakePlan,
    StepKind::RecordFollowUp,
    StepKind::ProposeRiskElimination,
    StepKind::ReviewRiskElimination,
    StepKind::DecideRiskElimination,
    StepKind::SwitchToGreenChannel,
    StepKind::RecordEmergencyAssistance,
    StepKind::Close,
];

#[test]
fn every_step_has_exactly_one_rule() {
    for kind in ALL_KINDS {
        assert_eq!(
            RULES.iter().filter(|r| r.step == kind).count(),
            1,
            "{kind:?}"
        );
        assert_eq!(valid_step(kind).kind(), kind);
    }
    assert_eq!(RULES.len(), ALL_KINDS.len());
}

#[test]
fn every_legal_transition_succeeds_for_every_allowed_role() {
    for rule in RULES {
        for &stage in rule.from {
            for role in allowed_roles(rule) {
                let s = state_for(rule, stage);
                let r = apply(&s, &staff(role), &valid_step(rule.step), &ctx());
                assert!(
                    r.is_ok(),
                    "{:?} from {stage:?} by {role:?}: {r:?}",
                    rule.step
                );
            }
            if let WhoMay::RolesOrResident(_) = rule.who {
                let s = state_for(rule, stage);
                assert!(apply(&s, &Actor::Resident, &valid_step(rule.step), &ctx()).is_ok());
            }
        }
    }
}

#[test]
fn every_other_role_is_refused() {
    for rule in RULES {
        let allowed = allowed_roles(rule);
        for &stage in rule.from {
            for role in Role::ALL.into_iter().filter(|r| !allowed.contains(r)) {
                let s = state_for(rule, stage);
                let err = apply(&s, &staff(role), &valid_step(rule.step), &ctx())
                    .expect_err("role must be refused");
                assert!(
                    matches!(err, WorkflowError::RoleNotAllowed { role: r, .. } if r == role),
                    "{:?} by {role:?}: {err:?}",
                    rule.step
                );
                assert_eq!(err.code(), "role_not_allowed");
            }
            if !matches!(rule.who, WhoMay::RolesOrResident(_)) {
                let s = state_for(rule, stage);
                let err = apply(&s, &Actor::Resident, &valid_step(rule.step), &ctx())
                    .expect_err("resident refused");
                assert_eq!(err, WorkflowError::ResidentNotAllowed { step: rule.step });
            }
        }
    }
}

#[test]
fn every_step_from_every_other_stage_is_illegal() {
    for rule in RULES {
        for stage in Stage::ALL.into_iter().filter(|s| !rule.from.contains(s)) {
            let s = state_for(rule, stage);
            let role = allowed_roles(rule)[0];
            let err = apply(&s, &staff(role), &valid_step(rule.step), &ctx()).expect_err("illegal");
            assert_eq!(
                err,
                WorkflowError::IllegalTransition {
                    step: rule.step,
                    stage
                }
            );
        }
    }
}

#[test]
fn staff_outside_the_village_is_refused() {
    let other_township = Actor::Staff(Staff::new(Role::Township, code("621102106")).expect("ok"));
    let err = apply(&at(Stage::Declared), &other_township, &Step::Accept, &ctx())
        .expect_err("out of scope");
    assert_eq!(err.code(), "out_of_scope");
    assert_eq!(
        err.to_string(),
        "该案件所在村（621102105201）不在您的管辖范围（621102106）内"
    );
}

#[test]
fn illegal_transition_message_is_chinese() {
    let err = apply(
        &at(Stage::Declared),
        &staff(Role::County),
        &valid_step(StepKind::CountyApprove),
        &ctx(),
    )
    .expect_err("illegal");
    assert_eq!(
        err.to_string(),
        "案件当前处于“已申报待受理”，不能进行“县级审批通过”"
    );
}

/// Walk a case through `steps`, each by the given actor, asserting the stages reached.
fn walk(mut s: CaseState, steps: &[(Role, Step, Stage)], c: &StepContext) -> CaseState {
    for (role, step, expect) in steps {
        s = apply(&s, &staff(*role), step, c).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        assert_eq!(s.stage, *expect, "after {step:?}");
    }
    s
}

fn identification_to_approval() -> Vec<(Role, Step, Stage)> {
    vec![
        (Role::Township, Step::Accept, Stage::Accepted),
        (
            Role::VillageWorker,
            valid_step(StepKind::StartVerification),
            Stage::Verifying,
        ),
        (
            Role::VillageWorker,
            valid_step(StepKind::RecordVerification),
            Stage::VerifiedQualifies,
        ),
        (
            Role::Township,
            valid_step(StepKind::RecordCrossCheck),
            Stage::CrossChecked,
        ),
        (
            Role::VillageWorker,
            valid_step(StepKind::RecordDemocraticReview),
            Stage::DemocraticReviewed,
        ),
        (
            Role::VillageWorker,
            valid_step(StepKind::RecordPublicNotice),
            Stage::PubliclyNoticed,
        ),
        (
            Role::Township,
            valid_step(StepKind::TownshipReview),
            Stage::TownshipReviewed,
        ),
        (
            Role::County,
            valid_step(StepKind::CountyApprove),
            Stage::Approved,
        ),
    ]
}

#[test]
fn qualifies_approved_plan_follow_ups_risk_eliminated_closed() {
    let mut c = ctx();
    let s = walk(
        CaseState::declared(false),
        &identification_to_approval(),
        &c,
    );
    assert_eq!(s.approved_on, Some(d(2026, 10, 20)));
    assert_eq!(s.monitoring_since, Some(d(2026, 10, 20)));
    let s = walk(
        s,
        &[
            (
                Role::VillageWorker,
                valid_step(StepKind::MakePlan),
                Stage::PlanMade,
            ),
            (
                Role::VillageWorker,
                valid_step(StepKind::RecordFollowUp),
                Stage::Assisting,
            ),
            (
                Role::VillageWorker,
                valid_step(StepKind::RecordFollowUp),
                Stage::Assisting,
            ),
        ],
        &c,
    );
    assert_eq!(s.follow_ups, 2);
    // Too early: 6 months from 20 October 2026 is 20 April 2027.
    c.today = d(2027, 4, 19);
    let err = apply(
        &s,
        &staff(Role::VillageWorker),
        &valid_step(StepKind::ProposeRiskElimination),
        &c,
    )
    .expect_err("too early");
    assert_eq!(
        err,
        WorkflowError::MonitoredTooShort {
            months: 6,
            since: d(2026, 10, 20),
            earliest: d(2027, 4, 20)
        }
    );
    c.today = d(2027, 4, 20);
    let s = walk(
        s,
        &[
            (
                Role::VillageWorker,
                valid_step(StepKind::ProposeRiskElimination),
                Stage::RiskEliminationProposed,
            ),
            // Risk elimination has its own 民主评议 and 公示 in the village.
            (
                Role::VillageWorker,
                valid_step(StepKind::RecordDemocraticReview),
                Stage::RiskEliminationAssessed,
            ),
            (
                Role::VillageWorker,
                valid_step(StepKind::RecordPublicNotice),
                Stage::RiskEliminationNoticed,
            ),
            (
                Role::Township,
                valid_step(StepKind::ReviewRiskElimination),
                Stage::RiskEliminationReviewed,
            ),
            (
                Role::County,
                valid_step(StepKind::DecideRiskElimination),
                Stage::RiskEliminated,
            ),
            (Role::Township, Step::Close, Stage::Closed),
        ],
        &c,
    );
    assert_eq!(s.closed, Some(CloseReason::RiskEliminated));
}

#[test]
fn does_not_qualify_then_told_then_closed() {
    let not_qualified = Step::RecordVerification {
        visit: VisitEvidence {
            visit_id: VisitId::from_parts(1, 1),
            finalised: true,
            authorisation_photo: photo(),
            finalised_on: None,
        },
        outcome: VerificationOutcome::DoesNotQualify {
            reason: "家庭人均纯收入1.2万元，高于监测线".into(),
        },
    };
    let s = walk(
        CaseState::declared(false),
        &[
            (Role::Township, Step::Accept, Stage::Accepted),
            (
                Role::VillageWorker,
                valid_step(StepKind::StartVerification),
                Stage::Verifying,
            ),
            (
                Role::VillageWorker,
                not_qualified,
                Stage::VerifiedNotQualified,
            ),
        ],
        &ctx(),
    );
    assert_eq!(s.verified_on, Some(ctx().today));
    // Cannot close before the applicant is told.
    assert!(matches!(
        apply(&s, &staff(Role::Township), &Step::Close, &ctx()),
        Err(WorkflowError::IllegalTransition { .. })
    ));
    let s = walk(
        s,
        &[(
            Role::VillageWorker,
            valid_step(StepKind::NotifyNotQualified),
            Stage::NotQualifiedNotified,
        )],
        &ctx(),
    );
    // The village refused: the appeal goes to the township, and the case stays open for it.
    assert_eq!(s.rejected_by, Some(Level::Village));
    assert_eq!(s.refused_on, Some(d(2026, 10, 19)));
    let err = apply(&s, &staff(Role::Township), &Step::Close, &ctx()).expect_err("window");
    assert_eq!(
        err,
        WorkflowError::AppealWindowOpen {
            until: d(2026, 11, 3)
        }
    );
    assert_eq!(err.to_string(), "申诉期到2026-11-03才结束，期满前不能办结");
    let mut later = ctx();
    later.today = d(2026, 11, 4);
    let s = walk(s, &[(Role::Township, Step::Close, Stage::Closed)], &later);
    assert_eq!(s.closed, Some(CloseReason::NotQualified));
}

#[test]
fn not_qualifying_needs_a_reason() {
    let step = Step::RecordVerification {
        visit: VisitEvidence {
            visit_id: VisitId::from_parts(1, 1),
            finalised: true,
            authorisation_photo: photo(),
            finalised_on: None,
        },
        outcome: VerificationOutcome::DoesNotQualify {
            reason: "  ".into(),
        },
    };
    let err = apply(
        &at(Stage::Verifying),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    )
    .expect_err("reason required");
    assert_eq!(err.code(), "reason_required");
}

#[rstest]
#[case(false, photo(), "已定稿的入户核查表")]
#[case(true, None, "农户签字按手印的承诺授权书照片")]
fn verification_needs_final_visit_and_authorisation(
    #[case] finalised: bool,
    #[case] authorisation_photo: Option<PhotoId>,
    #[case] what: &str,
) {
    let step = Step::RecordVerification {
        visit: VisitEvidence {
            visit_id: VisitId::from_parts(1, 1),
            finalised,
            authorisation_photo,
            finalised_on: None,
        },
        outcome: VerificationOutcome::Qualifies {
            category: MonitoringCategory::MarginalAtRisk,
            risk_types: vec![],
        },
    };
    let err = apply(
        &at(Stage::Verifying),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    )
    .expect_err("missing evidence");
    assert!(matches!(err, WorkflowError::MissingEvidence { what: w, .. } if w == what));
}

#[test]
fn rejected_then_appeal_decided_one_level_up() {
    let mut steps = identification_to_approval();
    steps.pop();
    steps.push((
        Role::County,
        valid_step(StepKind::CountyReject),
        Stage::Rejected,
    ));
    let s = walk(CaseState::declared(false), &steps, &ctx());
    assert_eq!(s.rejected_by, Some(Level::County));
    // The resident appeals through the public status page.
    let s = apply(
        &s,
        &Actor::Resident,
        &valid_step(StepKind::FileAppeal),
        &ctx(),
    )
    .expect("appeal");
    assert_eq!(s.stage, Stage::Appealed);
    // The county that rejected cannot decide its own appeal; the province is not "one up".
    for role in [Role::County, Role::Province, Role::Township] {
        let err = apply(
            &s,
            &staff(role),
            &valid_step(StepKind::DecideAppeal),
            &ctx(),
        )
        .expect_err("wrong level");
        assert!(
            matches!(&err, WorkflowError::RoleNotAllowed { allowed, .. } if allowed == &vec![Role::City]),
            "{err:?}"
        );
    }
    let upheld = apply(
        &s,
        &staff(Role::City),
        &valid_step(StepKind::DecideAppeal),
        &ctx(),
    )
    .expect("city decides");
    assert_eq!(upheld.stage, Stage::Approved);
    assert_eq!(
        upheld.category,
        Some(MonitoringCategory::SuddenSevereHardship)
    );
    // The verification named a category: an upheld appeal without one takes it.
    let from_verification = apply(
        &s,
        &staff(Role::City),
        &Step::DecideAppeal {
            upheld: true,
            reason: "补充票据后符合".into(),
            category: None,
        },
        &ctx(),
    )
    .expect("category from the verification");
    assert!(from_verification.category.is_some());
    // Found not qualified at the door: upholding the appeal must say which category.
    let mut not_qualified = s.clone();
    not_qualified.verification = Some(VerificationOutcome::DoesNotQualify {
        reason: "收入高于监测线".into(),
    });
    not_qualified.category = None;
    let err = apply(
        &not_qualified,
        &staff(Role::City),
        &Step::DecideAppeal {
            upheld: true,
            reason: "医疗支出未扣除".into(),
            category: None,
        },
        &ctx(),
    )
    .expect_err("no category");
    assert_eq!(err.code(), "missing_evidence");
    let dismissed = apply(
        &s,
        &staff(Role::City),
        &Step::DecideAppeal {
            upheld: false,
            reason: "复核后仍高于监测线".into(),
            category: None,
        },
        &ctx(),
    )
    .expect("dismissed");
    assert_eq!(dismissed.stage, Stage::RejectionUpheld);
    // A cadre explains the outcome at the household before the case may close.
    assert_eq!(
        apply(&dismissed, &staff(Role::County), &Step::Close, &ctx()).err(),
        Some(WorkflowError::ExplanationPending)
    );
    let explained = walk(
        dismissed,
        &[(
            Role::VillageWorker,
            valid_step(StepKind::RecordAppealExplanation),
            Stage::RejectionUpheld,
        )],
        &ctx(),
    );
    assert_eq!(explained.appeal_explained_on, Some(d(2026, 10, 19)));
    let closed = apply(&explained, &staff(Role::County), &Step::Close, &ctx()).expect("close");
    assert_eq!(closed.closed, Some(CloseReason::Rejected));
}

#[test]
fn appeal_only_after_a_refusal() {
    for stage in Stage::ALL
        .into_iter()
        .filter(|s| !matches!(s, Stage::Rejected | Stage::NotQualifiedNotified))
    {
        let err = apply(
            &at(stage),
            &Actor::Resident,
            &valid_step(StepKind::FileAppeal),
            &ctx(),
        )
        .expect_err("appeal only after rejection");
        assert_eq!(err.code(), "illegal_transition");
    }
}

#[test]
fn township_can_return_for_a_new_verification() {
    let step = Step::TownshipReview {
        agree: false,
        opinion: "收入核算漏项，请重新入户".into(),
    };
    let s = apply(
        &at(Stage::PubliclyNoticed),
        &staff(Role::Township),
        &step,
        &ctx(),
    )
    .expect("ok");
    assert_eq!(s.stage, Stage::Verifying);
    assert_eq!(s.verification, None);
    let no_reason = Step::TownshipReview {
        agree: false,
        opinion: String::new(),
    };
    assert!(
        apply(
            &at(Stage::PubliclyNoticed),
            &staff(Role::Township),
            &no_reason,
            &ctx()
        )
        .is_err()
    );
}

#[rstest]
// Posted on the 12th, the five days are the 13th to the 17th: the posting day is not counted
// (民法典 第二百零一条: 开始的当日不计入), the same rule the deadline clock uses.
#[case(d(2026, 10, 12), d(2026, 10, 16), Some(WorkflowError::NoticeTooShort { to: d(2026, 10, 16), earliest: d(2026, 10, 17), rule: "不少于5天".into() }))]
#[case(d(2026, 10, 14), d(2026, 10, 20), Some(WorkflowError::NoticeNotOver { to: d(2026, 10, 20) }))]
#[case(d(2026, 10, 12), d(2026, 10, 17), None)]
fn public_notice_lasts_at_least_the_minimum(
    #[case] from: NaiveDate,
    #[case] to: NaiveDate,
    #[case] err: Option<WorkflowError>,
) {
    let step = Step::RecordPublicNotice {
        from,
        to,
        photo: photo(),
        objections: 0,
        objections_resolved: false,
    };
    let r = apply(
        &at(Stage::DemocraticReviewed),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    );
    assert_eq!(r.err(), err);
}

#[test]
fn open_objections_block_the_notice() {
    let step = Step::RecordPublicNotice {
        from: d(2026, 10, 1),
        to: d(2026, 10, 10),
        photo: photo(),
        objections: 2,
        objections_resolved: false,
    };
    let r = apply(
        &at(Stage::DemocraticReviewed),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    );
    assert_eq!(r.err(), Some(WorkflowError::ObjectionsOpen));
}

#[test]
fn plan_needs_a_measure() {
    let step = Step::MakePlan {
        plan_id: PlanId::from_parts(1, 1),
        measures: 0,
    };
    let r = apply(
        &at(Stage::Approved),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    );
    assert_eq!(r.err(), Some(WorkflowError::NoMeasures));
}

#[rstest]
#[case::no_working_age(false, 1, true, WorkflowError::NoWorkingAgeMember)]
#[case::no_measure(true, 0, true, WorkflowError::NoMeasureInPlace)]
#[case::income_below(true, 1, false, WorkflowError::RiskNotGone)]
fn risk_elimination_rules(
    #[case] working_age: bool,
    #[case] measures: u32,
    #[case] income_above_line: bool,
    #[case] expected: WorkflowError,
) {
    let mut c = ctx();
    c.household_has_working_age_member = working_age;
    c.measures_in_place = measures;
    let step = Step::ProposeRiskElimination {
        visit_id: VisitId::from_parts(3, 3),
        income_above_line,
        guarantees_kept: true,
    };
    let r = apply(
        &at(Stage::Assisting),
        &staff(Role::VillageWorker),
        &step,
        &c,
    );
    assert_eq!(r.err(), Some(expected));
}

#[test]
fn household_without_working_age_member_is_never_closed_out() {
    // Even if a proposal got through, the county's decision re-checks the rule.
    let mut c = ctx();
    c.household_has_working_age_member = false;
    let r = apply(
        &at(Stage::RiskEliminationReviewed),
        &staff(Role::County),
        &valid_step(StepKind::DecideRiskElimination),
        &c,
    );
    assert_eq!(r.err(), Some(WorkflowError::NoWorkingAgeMember));
}

#[test]
fn green_channel_helps_first_and_closes_only_after_identification() {
    let mut s = CaseState::declared(true);
    s = apply(
        &s,
        &staff(Role::Township),
        &valid_step(StepKind::RecordEmergencyAssistance),
        &ctx(),
    )
    .expect("help at once, before acceptance");
    assert_eq!(s.stage, Stage::Declared);
    assert_eq!(s.emergency_assistance_on, Some(d(2026, 10, 18)));
    assert_eq!(s.monitoring_since, Some(d(2026, 10, 18)));
    // Closing now is refused with the specific reason, at every stage before the decision.
    for stage in [
        Stage::Declared,
        Stage::Verifying,
        Stage::TownshipReviewed,
        Stage::VerifiedNotQualified,
    ] {
        let mut early = s.clone();
        early.stage = stage;
        let err = apply(&early, &staff(Role::County), &Step::Close, &ctx()).expect_err("pending");
        assert_eq!(err, WorkflowError::IdentificationPending { stage });
    }
    // The identification steps are completed afterwards, then the case runs normally.
    let s = walk(s, &identification_to_approval(), &ctx());
    assert!(s.identification_complete());
    assert_eq!(s.emergency_assistance_on, Some(d(2026, 10, 18)));
    // Monitoring counts from the emergency help, not from the later approval.
    assert_eq!(s.monitoring_since, Some(d(2026, 10, 18)));
    // No more "emergency" help once decided: it goes through the plan.
    let err = apply(
        &s,
        &staff(Role::Township),
        &valid_step(StepKind::RecordEmergencyAssistance),
        &ctx(),
    )
    .expect_err("after decision");
    assert_eq!(err.code(), "illegal_transition");
}

#[test]
fn only_green_channel_cases_get_help_before_approval() {
    let s = CaseState::declared(false);
    let err = apply(
        &s,
        &staff(Role::Township),
        &valid_step(StepKind::RecordEmergencyAssistance),
        &ctx(),
    )
    .expect_err("not green");
    assert_eq!(err, WorkflowError::NotGreenChannel);
    assert!(
        !available_steps(&s, &staff(Role::Township), &code(VILLAGE))
            .contains(&StepKind::RecordEmergencyAssistance)
    );
}

#[test]
fn available_steps_follow_the_table() {
    let v = code(VILLAGE);
    assert_eq!(
        available_steps(&at(Stage::Declared), &staff(Role::Township), &v),
        vec![StepKind::Accept, StepKind::SwitchToGreenChannel]
    );
    assert_eq!(
        available_steps(&at(Stage::Declared), &staff(Role::VillageWorker), &v),
        vec![StepKind::SwitchToGreenChannel]
    );
    assert_eq!(
        available_steps(&at(Stage::TownshipReviewed), &staff(Role::County), &v),
        vec![
            StepKind::CountyApprove,
            StepKind::CountyReject,
            StepKind::SwitchToGreenChannel
        ]
    );
    assert_eq!(
        available_steps(&at(Stage::Appealed), &staff(Role::City), &v),
        vec![StepKind::DecideAppeal]
    );
    let other_county = Actor::Staff(Staff::new(Role::County, code("621121")).expect("ok"));
    assert!(available_steps(&at(Stage::TownshipReviewed), &other_county, &v).is_empty());
}

#[test]
fn future_dates_are_refused() {
    let step = Step::NotifyNotQualified {
        on: d(2026, 10, 21),
        method: NoticeMethod::Sms,
        routine_attention: false,
    };
    let r = apply(
        &at(Stage::VerifiedNotQualified),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    );
    assert_eq!(
        r.err(),
        Some(WorkflowError::FutureDate {
            date: d(2026, 10, 21)
        })
    );
}

#[test]
fn steps_and_states_round_trip_as_json() {
    for kind in ALL_KINDS {
        let step = valid_step(kind);
        let json = serde_json::to_string(&step).expect("ser");
        assert_eq!(serde_json::from_str::<Step>(&json).expect("de"), step);
    }
    let s = at(Stage::Assisting);
    let json = serde_json::to_value(&s).expect("ser");
    assert_eq!(json["stage"], "assisting");
    assert_eq!(serde_json::from_value::<CaseState>(json).expect("de"), s);
}

fn review(agreed: bool, opinion: &str) -> Step {
    Step::RecordDemocraticReview {
        held_on: d(2026, 10, 10),
        participants: 19,
        agreed,
        minutes_photo: photo(),
        opinion: opinion.into(),
    }
}

#[test]
fn a_democratic_review_that_disagrees_refuses_and_the_township_hears_the_appeal() {
    let at_review = at(Stage::CrossChecked);
    let mut fresh = at_review.clone();
    fresh.rejected_by = None;
    fresh.refused_on = None;
    // Disagreeing needs the opinion the household will be told.
    assert_eq!(
        apply(
            &fresh,
            &staff(Role::VillageWorker),
            &review(false, " "),
            &ctx()
        )
        .err(),
        Some(WorkflowError::ReasonRequired {
            step: StepKind::RecordDemocraticReview
        })
    );
    let refused = apply(
        &fresh,
        &staff(Role::VillageWorker),
        &review(false, "评议认为家中有稳定务工收入"),
        &ctx(),
    )
    .expect("recorded");
    assert_eq!(refused.stage, Stage::Rejected, "not moved on to 公示");
    assert_eq!(refused.rejected_by, Some(Level::Village));
    assert_eq!(refused.refused_on, Some(d(2026, 10, 10)));
    let appealed = apply(
        &refused,
        &Actor::Resident,
        &valid_step(StepKind::FileAppeal),
        &ctx(),
    )
    .expect("appeal");
    // 提级办理: the township decides, not the county.
    assert_eq!(
        available_steps(&appealed, &staff(Role::Township), &code(VILLAGE)),
        vec![StepKind::DecideAppeal]
    );
    assert!(
        apply(
            &appealed,
            &staff(Role::County),
            &valid_step(StepKind::DecideAppeal),
            &ctx()
        )
        .is_err()
    );
    let upheld = apply(
        &appealed,
        &staff(Role::Township),
        &valid_step(StepKind::DecideAppeal),
        &ctx(),
    )
    .expect("township decides");
    // The identification resumes; the county still decides the inclusion.
    assert_eq!(upheld.stage, Stage::VerifiedQualifies);
    assert_eq!(upheld.rejected_by, None);
    assert_eq!(upheld.approved_on, Some(d(2026, 1, 5)), "unchanged");
}

#[test]
fn a_household_the_village_found_not_qualified_may_appeal_to_the_township() {
    let mut told = at(Stage::NotQualifiedNotified);
    told.rejected_by = Some(Level::Village);
    told.verification = Some(VerificationOutcome::DoesNotQualify {
        reason: "收入高于监测线".into(),
    });
    told.category = None;
    let appealed = apply(
        &told,
        &staff(Role::VillageWorker),
        &valid_step(StepKind::FileAppeal),
        &ctx(),
    )
    .expect("appeal filed by the worker on the household's behalf");
    assert_eq!(appealed.stage, Stage::Appealed);
    let upheld = apply(
        &appealed,
        &staff(Role::Township),
        &valid_step(StepKind::DecideAppeal),
        &ctx(),
    )
    .expect("upheld");
    assert_eq!(upheld.stage, Stage::VerifiedQualifies);
    assert_eq!(
        upheld.category,
        Some(MonitoringCategory::SuddenSevereHardship)
    );
    // Cases told 不符合 before refusals were recorded by level belong to the village.
    let mut legacy = told.clone();
    legacy.rejected_by = None;
    let appealed = apply(
        &legacy,
        &Actor::Resident,
        &valid_step(StepKind::FileAppeal),
        &ctx(),
    )
    .expect("legacy appeal");
    assert_eq!(appealed.rejected_by, Some(Level::Village));
}

#[test]
fn a_qr_case_switched_to_the_green_channel_gets_its_plan_before_the_decision() {
    let declared = CaseState::declared(false);
    // Not in the green channel: no plan before approval.
    assert_eq!(
        apply(
            &declared,
            &staff(Role::Township),
            &valid_step(StepKind::MakePlan),
            &ctx()
        )
        .err(),
        Some(WorkflowError::PlanBeforeApproval)
    );
    assert!(
        !available_steps(&declared, &staff(Role::Township), &code(VILLAGE))
            .contains(&StepKind::MakePlan)
    );
    assert_eq!(
        apply(
            &declared,
            &staff(Role::Township),
            &Step::SwitchToGreenChannel { reason: " ".into() },
            &ctx()
        )
        .err(),
        Some(WorkflowError::ReasonRequired {
            step: StepKind::SwitchToGreenChannel
        })
    );
    let green = apply(
        &declared,
        &staff(Role::Township),
        &valid_step(StepKind::SwitchToGreenChannel),
        &ctx(),
    )
    .expect("switched");
    assert!(green.green_channel);
    assert_eq!(green.stage, Stage::Declared);
    assert_eq!(
        apply(
            &green,
            &staff(Role::Township),
            &valid_step(StepKind::SwitchToGreenChannel),
            &ctx()
        )
        .err(),
        Some(WorkflowError::AlreadyGreenChannel)
    );
    let planned = apply(
        &green,
        &staff(Role::Township),
        &valid_step(StepKind::MakePlan),
        &ctx(),
    )
    .expect("plan first");
    assert_eq!(
        planned.stage,
        Stage::Declared,
        "identification still to come"
    );
    assert_eq!(planned.monitoring_since, Some(ctx().today));
    assert!(
        !available_steps(&planned, &staff(Role::Township), &code(VILLAGE))
            .contains(&StepKind::MakePlan),
        "one plan"
    );
    let mut steps = identification_to_approval();
    if let Some(last) = steps.last_mut() {
        last.2 = Stage::PlanMade;
    }
    let approved = walk(planned, &steps, &ctx());
    assert_eq!(approved.stage, Stage::PlanMade);
    // After the decision the switch means nothing.
    assert_eq!(
        apply(
            &at(Stage::Approved),
            &staff(Role::Township),
            &valid_step(StepKind::SwitchToGreenChannel),
            &ctx()
        )
        .err()
        .map(|e| e.code()),
        Some("illegal_transition")
    );
}

#[test]
fn a_risk_elimination_the_village_does_not_agree_with_goes_back_to_assistance() {
    let proposed = at(Stage::RiskEliminationProposed);
    let back = apply(
        &proposed,
        &staff(Role::VillageWorker),
        &review(false, "务工收入不稳定"),
        &ctx(),
    )
    .expect("recorded");
    assert_eq!(back.stage, Stage::Assisting);
    // Township review waits for the 公示.
    assert_eq!(
        apply(
            &at(Stage::RiskEliminationAssessed),
            &staff(Role::Township),
            &valid_step(StepKind::ReviewRiskElimination),
            &ctx()
        )
        .err()
        .map(|e| e.code()),
        Some("illegal_transition")
    );
}

#[rstest]
// Finalised offline on the 15th, synced on the 20th: judged by the 15th.
#[case::offline_then_synced(Some(d(2026, 10, 15)), d(2026, 10, 15))]
// A clock in the future is not believed.
#[case::future_clock(Some(d(2027, 1, 1)), d(2026, 10, 20))]
// Nor one before the case existed.
#[case::before_declaration(Some(d(2026, 9, 1)), d(2026, 10, 1))]
#[case::older_device(None, d(2026, 10, 20))]
fn the_verification_is_dated_by_when_the_work_was_done(
    #[case] finalised_on: Option<NaiveDate>,
    #[case] expected: NaiveDate,
) {
    let step = Step::RecordVerification {
        visit: VisitEvidence {
            visit_id: VisitId::from_parts(1, 1),
            finalised: true,
            authorisation_photo: photo(),
            finalised_on,
        },
        outcome: VerificationOutcome::DoesNotQualify {
            reason: "收入高于监测线".into(),
        },
    };
    let s = apply(
        &at(Stage::Verifying),
        &staff(Role::VillageWorker),
        &step,
        &ctx(),
    )
    .expect("recorded");
    assert_eq!(s.verified_on, Some(expected));
}
