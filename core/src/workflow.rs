//! The case workflow as an explicit state machine.
//!
//! A case moves through the real procedure of 防止返贫动态监测和帮扶: declared → accepted →
//! home verification → verified (qualifies or not) → cross-check → 民主评议 → 公示 → township
//! review → county approval or rejection → 一户一策 plan → assistance with follow-ups → risk
//! elimination → closed; an appeal only after a rejection, decided one level up; and the green
//! channel (先帮扶后认定) where help comes first and identification is completed afterwards.
//!
//! Every step is a row of [`RULES`]: the stages it may start from, the roles that may take it,
//! and (in [`apply`]) its preconditions and required evidence. The server owns the workflow:
//! it calls [`apply`] for every step a device pushes, with evidence read from its own records,
//! and a refused step is a typed [`WorkflowError`] that the device shows in its quarantine.

use std::fmt;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::case::{MonitoringCategory, RiskType};
use crate::division::{DivisionCode, Level};
use crate::ids::{AppealId, PhotoId, PlanId, VisitId};
use crate::role::{Actor, Role};

/// Where a case is in the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 已申报: received, waiting for the township to accept and route it.
    Declared,
    /// 已受理: routed to the village; waiting for the home visit.
    Accepted,
    /// 入户核查中: the grid worker has started the home verification.
    Verifying,
    /// 核查符合条件: the household qualifies; the identification steps follow.
    VerifiedQualifies,
    /// 核查不符合条件: the applicant must be told why.
    VerifiedNotQualified,
    /// 已告知不符合原因.
    NotQualifiedNotified,
    /// 信息比对已完成.
    CrossChecked,
    /// 民主评议已完成.
    DemocraticReviewed,
    /// 公示已完成.
    PubliclyNoticed,
    /// 乡镇复核通过，已报县审批.
    TownshipReviewed,
    /// 县级审批通过，纳入监测.
    Approved,
    /// 县级不予纳入.
    Rejected,
    /// 申诉中（提级办理）.
    Appealed,
    /// 申诉未获支持，维持不予纳入.
    RejectionUpheld,
    /// 已制定一户一策.
    PlanMade,
    /// 帮扶中（定期回访、回头帮）.
    Assisting,
    /// 风险消除已申请.
    RiskEliminationProposed,
    /// 风险消除经乡镇复核，报县审定.
    RiskEliminationReviewed,
    /// 已消除风险.
    RiskEliminated,
    /// 已办结.
    Closed,
}

impl Stage {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Stage::Declared => "已申报待受理",
            Stage::Accepted => "已受理待入户",
            Stage::Verifying => "入户核查中",
            Stage::VerifiedQualifies => "核查符合条件",
            Stage::VerifiedNotQualified => "核查不符合条件待告知",
            Stage::NotQualifiedNotified => "已告知不符合原因",
            Stage::CrossChecked => "信息比对已完成",
            Stage::DemocraticReviewed => "民主评议已完成",
            Stage::PubliclyNoticed => "公示已完成",
            Stage::TownshipReviewed => "乡镇复核通过待县审批",
            Stage::Approved => "县级审批通过",
            Stage::Rejected => "县级不予纳入",
            Stage::Appealed => "申诉办理中",
            Stage::RejectionUpheld => "申诉未获支持",
            Stage::PlanMade => "已制定帮扶计划",
            Stage::Assisting => "帮扶中",
            Stage::RiskEliminationProposed => "风险消除申请中",
            Stage::RiskEliminationReviewed => "风险消除待县审定",
            Stage::RiskEliminated => "已消除风险",
            Stage::Closed => "已办结",
        }
    }

    /// Stages before the county's decision: the identification is still under way.
    pub const fn is_before_decision(self) -> bool {
        matches!(
            self,
            Stage::Declared
                | Stage::Accepted
                | Stage::Verifying
                | Stage::VerifiedQualifies
                | Stage::CrossChecked
                | Stage::DemocraticReviewed
                | Stage::PubliclyNoticed
                | Stage::TownshipReviewed
        )
    }

    pub const ALL: [Stage; 20] = [
        Stage::Declared,
        Stage::Accepted,
        Stage::Verifying,
        Stage::VerifiedQualifies,
        Stage::VerifiedNotQualified,
        Stage::NotQualifiedNotified,
        Stage::CrossChecked,
        Stage::DemocraticReviewed,
        Stage::PubliclyNoticed,
        Stage::TownshipReviewed,
        Stage::Approved,
        Stage::Rejected,
        Stage::Appealed,
        Stage::RejectionUpheld,
        Stage::PlanMade,
        Stage::Assisting,
        Stage::RiskEliminationProposed,
        Stage::RiskEliminationReviewed,
        Stage::RiskEliminated,
        Stage::Closed,
    ];
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_zh())
    }
}

/// The outcome of the home verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum VerificationOutcome {
    Qualifies {
        category: MonitoringCategory,
        risk_types: Vec<RiskType>,
    },
    DoesNotQualify {
        reason: String,
    },
}

/// What the server knows about the visit offered as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitEvidence {
    pub visit_id: VisitId,
    /// The checklist was finalised (locked).
    pub finalised: bool,
    /// Photo of the household's signed authorisation (承诺授权书 with thumbprint).
    pub authorisation_photo: Option<PhotoId>,
}

/// How the applicant was told that the household does not qualify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeMethod {
    InPerson,
    Phone,
    Sms,
    Letter,
}

/// Why a case was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    RiskEliminated,
    NotQualified,
    Rejected,
}

/// One step of the procedure, with the evidence it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// 受理分派: the township accepts the declaration and routes it to the village.
    Accept,
    /// The grid worker starts the home visit.
    StartVerification { visit_id: VisitId },
    /// 入户核查结论, backed by a finalised visit with the signed authorisation.
    RecordVerification {
        visit: VisitEvidence,
        outcome: VerificationOutcome,
    },
    /// 告知不符合原因.
    NotifyNotQualified { on: NaiveDate, method: NoticeMethod },
    /// 信息比对 with the departments' data.
    RecordCrossCheck {
        on: NaiveDate,
        findings: String,
        discrepancy: bool,
    },
    /// 民主评议.
    RecordDemocraticReview {
        held_on: NaiveDate,
        participants: u32,
        agreed: bool,
        minutes_photo: Option<PhotoId>,
    },
    /// 公示 in the village, at least the rule's minimum number of days.
    RecordPublicNotice {
        from: NaiveDate,
        to: NaiveDate,
        photo: Option<PhotoId>,
        objections: u32,
        objections_resolved: bool,
    },
    /// 乡镇复核: agree and forward to the county, or return for a new verification.
    TownshipReview { agree: bool, opinion: String },
    /// 县级审批通过.
    CountyApprove { category: MonitoringCategory },
    /// 县级不予纳入, with the reason the household will be told.
    CountyReject { reason: String },
    /// 申诉, only after a rejection.
    FileAppeal { appeal_id: AppealId, reason: String },
    /// 申诉决定, taken one level above the level that rejected. An upheld appeal includes the
    /// household; `category` says under which type (needed when the verification did not
    /// already name one, as when it found the household not qualified).
    DecideAppeal {
        upheld: bool,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<MonitoringCategory>,
    },
    /// 一户一策, with at least one measure.
    MakePlan { plan_id: PlanId, measures: u32 },
    /// A follow-up visit (回访); the first one starts the assistance phase.
    RecordFollowUp { visit_id: VisitId },
    /// 风险消除申请 after a visit.
    ProposeRiskElimination {
        visit_id: VisitId,
        income_above_line: bool,
        guarantees_kept: bool,
    },
    /// 乡镇复核 of a risk-elimination proposal.
    ReviewRiskElimination { agree: bool, opinion: String },
    /// 县级审定 of a risk elimination.
    DecideRiskElimination { approve: bool, reason: String },
    /// 绿色通道: assistance delivered before the identification is complete.
    RecordEmergencyAssistance {
        on: NaiveDate,
        measure: String,
        amount_fen: Option<i64>,
    },
    /// 办结.
    Close,
}

/// The name of a step without its evidence: what [`RULES`] and errors talk about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Accept,
    StartVerification,
    RecordVerification,
    NotifyNotQualified,
    RecordCrossCheck,
    RecordDemocraticReview,
    RecordPublicNotice,
    TownshipReview,
    CountyApprove,
    CountyReject,
    FileAppeal,
    DecideAppeal,
    MakePlan,
    RecordFollowUp,
    ProposeRiskElimination,
    ReviewRiskElimination,
    DecideRiskElimination,
    RecordEmergencyAssistance,
    Close,
}

impl StepKind {
    pub const fn name_zh(self) -> &'static str {
        match self {
            StepKind::Accept => "受理分派",
            StepKind::StartVerification => "开始入户核查",
            StepKind::RecordVerification => "提交核查结论",
            StepKind::NotifyNotQualified => "告知不符合原因",
            StepKind::RecordCrossCheck => "信息比对",
            StepKind::RecordDemocraticReview => "民主评议",
            StepKind::RecordPublicNotice => "公示",
            StepKind::TownshipReview => "乡镇复核",
            StepKind::CountyApprove => "县级审批通过",
            StepKind::CountyReject => "县级不予纳入",
            StepKind::FileAppeal => "提出申诉",
            StepKind::DecideAppeal => "申诉决定",
            StepKind::MakePlan => "制定一户一策",
            StepKind::RecordFollowUp => "帮扶回访",
            StepKind::ProposeRiskElimination => "申请风险消除",
            StepKind::ReviewRiskElimination => "乡镇复核风险消除",
            StepKind::DecideRiskElimination => "县级审定风险消除",
            StepKind::RecordEmergencyAssistance => "绿色通道先行帮扶",
            StepKind::Close => "办结",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_zh())
    }
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Accept => StepKind::Accept,
            Step::StartVerification { .. } => StepKind::StartVerification,
            Step::RecordVerification { .. } => StepKind::RecordVerification,
            Step::NotifyNotQualified { .. } => StepKind::NotifyNotQualified,
            Step::RecordCrossCheck { .. } => StepKind::RecordCrossCheck,
            Step::RecordDemocraticReview { .. } => StepKind::RecordDemocraticReview,
            Step::RecordPublicNotice { .. } => StepKind::RecordPublicNotice,
            Step::TownshipReview { .. } => StepKind::TownshipReview,
            Step::CountyApprove { .. } => StepKind::CountyApprove,
            Step::CountyReject { .. } => StepKind::CountyReject,
            Step::FileAppeal { .. } => StepKind::FileAppeal,
            Step::DecideAppeal { .. } => StepKind::DecideAppeal,
            Step::MakePlan { .. } => StepKind::MakePlan,
            Step::RecordFollowUp { .. } => StepKind::RecordFollowUp,
            Step::ProposeRiskElimination { .. } => StepKind::ProposeRiskElimination,
            Step::ReviewRiskElimination { .. } => StepKind::ReviewRiskElimination,
            Step::DecideRiskElimination { .. } => StepKind::DecideRiskElimination,
            Step::RecordEmergencyAssistance { .. } => StepKind::RecordEmergencyAssistance,
            Step::Close => StepKind::Close,
        }
    }
}

/// Who may take a step, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoMay {
    /// Staff of these roles whose scope covers the case's village.
    Roles(&'static [Role]),
    /// These roles, or the resident through the public pages.
    RolesOrResident(&'static [Role]),
    /// The role one level above the level that rejected the case (提级办理).
    OneLevelAboveRejection,
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionRule {
    pub step: StepKind,
    /// Stages the step may start from.
    pub from: &'static [Stage],
    pub who: WhoMay,
    /// The preconditions and evidence, in words (the checks themselves are in [`apply`]).
    pub requires_zh: &'static str,
}

const BEFORE_DECISION: &[Stage] = &[
    Stage::Declared,
    Stage::Accepted,
    Stage::Verifying,
    Stage::VerifiedQualifies,
    Stage::CrossChecked,
    Stage::DemocraticReviewed,
    Stage::PubliclyNoticed,
    Stage::TownshipReviewed,
];

/// Every transition of the procedure.
pub const RULES: &[TransitionRule] = &[
    TransitionRule {
        step: StepKind::Accept,
        from: &[Stage::Declared],
        who: WhoMay::Roles(&[Role::Township]),
        requires_zh: "无",
    },
    TransitionRule {
        step: StepKind::StartVerification,
        from: &[Stage::Accepted],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "入户核查记录",
    },
    TransitionRule {
        step: StepKind::RecordVerification,
        from: &[Stage::Verifying],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "已定稿的入户核查表、农户签字按手印的承诺授权书照片；不符合时写明原因",
    },
    TransitionRule {
        step: StepKind::NotifyNotQualified,
        from: &[Stage::VerifiedNotQualified],
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township]),
        requires_zh: "告知日期与方式",
    },
    TransitionRule {
        step: StepKind::RecordCrossCheck,
        from: &[Stage::VerifiedQualifies],
        who: WhoMay::Roles(&[Role::Township]),
        requires_zh: "比对日期与结果",
    },
    TransitionRule {
        step: StepKind::RecordDemocraticReview,
        from: &[Stage::CrossChecked],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "评议日期、参会人数、会议记录照片",
    },
    TransitionRule {
        step: StepKind::RecordPublicNotice,
        from: &[Stage::DemocraticReviewed],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "公示起止日期（不少于规定天数且已结束）、公示照片、异议已处理",
    },
    TransitionRule {
        step: StepKind::TownshipReview,
        from: &[Stage::PubliclyNoticed],
        who: WhoMay::Roles(&[Role::Township]),
        requires_zh: "复核意见；退回时须写明原因",
    },
    TransitionRule {
        step: StepKind::CountyApprove,
        from: &[Stage::TownshipReviewed],
        who: WhoMay::Roles(&[Role::County]),
        requires_zh: "监测对象类型",
    },
    TransitionRule {
        step: StepKind::CountyReject,
        from: &[Stage::TownshipReviewed],
        who: WhoMay::Roles(&[Role::County]),
        requires_zh: "不予纳入的理由",
    },
    TransitionRule {
        step: StepKind::FileAppeal,
        from: &[Stage::Rejected],
        who: WhoMay::RolesOrResident(&[Role::VillageWorker, Role::Township]),
        requires_zh: "申诉理由",
    },
    TransitionRule {
        step: StepKind::DecideAppeal,
        from: &[Stage::Appealed],
        who: WhoMay::OneLevelAboveRejection,
        requires_zh: "决定理由（由作出不予纳入决定的上一级办理）",
    },
    TransitionRule {
        step: StepKind::MakePlan,
        from: &[Stage::Approved],
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township]),
        requires_zh: "至少一项帮扶措施",
    },
    TransitionRule {
        step: StepKind::RecordFollowUp,
        from: &[Stage::PlanMade, Stage::Assisting],
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township]),
        requires_zh: "回访记录",
    },
    TransitionRule {
        step: StepKind::ProposeRiskElimination,
        from: &[Stage::Assisting],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "监测满6个月、至少一项措施已落实、收入稳定超过监测线、“三保障”和饮水安全持续保持；家中须有劳动年龄人口",
    },
    TransitionRule {
        step: StepKind::ReviewRiskElimination,
        from: &[Stage::RiskEliminationProposed],
        who: WhoMay::Roles(&[Role::Township]),
        requires_zh: "复核意见",
    },
    TransitionRule {
        step: StepKind::DecideRiskElimination,
        from: &[Stage::RiskEliminationReviewed],
        who: WhoMay::Roles(&[Role::County]),
        requires_zh: "审定意见",
    },
    TransitionRule {
        step: StepKind::RecordEmergencyAssistance,
        from: BEFORE_DECISION,
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township, Role::County]),
        requires_zh: "仅限绿色通道案件；帮扶措施与日期",
    },
    TransitionRule {
        step: StepKind::Close,
        from: &[
            Stage::RiskEliminated,
            Stage::NotQualifiedNotified,
            Stage::Rejected,
            Stage::RejectionUpheld,
        ],
        who: WhoMay::Roles(&[Role::Township, Role::County]),
        requires_zh: "认定程序已走完",
    },
];

/// The rule for a step.
pub fn rule(step: StepKind) -> &'static TransitionRule {
    // Every StepKind has exactly one row (checked by a test); the first row is a safe default.
    RULES.iter().find(|r| r.step == step).unwrap_or(&RULES[0])
}

/// Records the workflow keeps about a case. Everything the console's timeline needs beyond
/// this lives in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub stage: Stage,
    /// Opened through the green channel (先帮扶后认定).
    pub green_channel: bool,
    /// First date of emergency assistance delivered before approval.
    pub emergency_assistance_on: Option<NaiveDate>,
    pub verification: Option<VerificationOutcome>,
    pub verification_visit: Option<VisitId>,
    /// Date the result of the verification was recorded (the clock for telling the applicant).
    pub verified_on: Option<NaiveDate>,
    pub approved_on: Option<NaiveDate>,
    pub category: Option<MonitoringCategory>,
    /// The level whose decision rejected the case, and why.
    pub rejected_by: Option<Level>,
    pub rejection_reason: Option<String>,
    pub appeal: Option<AppealId>,
    pub plan: Option<PlanId>,
    /// Monitoring counts from approval (or from emergency assistance in the green channel).
    pub monitoring_since: Option<NaiveDate>,
    pub follow_ups: u32,
    pub closed: Option<CloseReason>,
}

impl CaseState {
    /// A new case, as declared.
    pub fn declared(green_channel: bool) -> CaseState {
        CaseState {
            stage: Stage::Declared,
            green_channel,
            emergency_assistance_on: None,
            verification: None,
            verification_visit: None,
            verified_on: None,
            approved_on: None,
            category: None,
            rejected_by: None,
            rejection_reason: None,
            appeal: None,
            plan: None,
            monitoring_since: None,
            follow_ups: 0,
            closed: None,
        }
    }

    /// Whether the identification steps have reached a decision (approved, or finally not
    /// included). A green-channel case may not close before this.
    pub fn identification_complete(&self) -> bool {
        !self.stage.is_before_decision() && self.stage != Stage::VerifiedNotQualified
    }
}

/// Months a household is monitored before its risk may be declared gone (Gansu's practice:
/// at least half a year of stable income after the measures took effect).
pub const MIN_MONITORING_MONTHS: u32 = 6;

/// Facts about the world the workflow needs and does not own, supplied by the caller from its
/// records (the server never takes these from the device's word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepContext {
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
    /// The case's village.
    pub village: DivisionCode,
    /// Minimum length of the public notice (公示), in days.
    pub public_notice_min_days: u32,
    /// Minimum months of monitoring before risk elimination.
    pub min_monitoring_months: u32,
    /// Whether the household has a working-age member (see `household`).
    pub household_has_working_age_member: bool,
    /// Plan measures done on or before today.
    pub measures_in_place: u32,
}

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

#[cfg(test)]
mod tests;
