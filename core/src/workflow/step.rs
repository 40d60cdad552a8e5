//! The steps staff take on a case, and what each carries.

use crate::case::{MonitoringCategory, RiskType};
use crate::ids::{AppealId, PhotoId, PlanId, VisitId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// The day the visit was finalised at the household (Beijing time), as the device's clock
    /// said: the work is judged by this day, not by the day a signal carried it to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalised_on: Option<NaiveDate>,
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
    /// 告知不符合原因. `routine_attention`: not included, but the household is watched with
    /// regular return visits (常态化关注).
    NotifyNotQualified {
        on: NaiveDate,
        method: NoticeMethod,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        routine_attention: bool,
    },
    /// 信息比对 with the departments' data.
    RecordCrossCheck {
        on: NaiveDate,
        findings: String,
        discrepancy: bool,
    },
    /// 民主评议, of an inclusion or of a risk elimination. A review that does not agree needs
    /// its opinion: it refuses the inclusion (appealable to the township) or sends a risk
    /// elimination back to assistance.
    RecordDemocraticReview {
        held_on: NaiveDate,
        participants: u32,
        agreed: bool,
        minutes_photo: Option<PhotoId>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        opinion: String,
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
    /// 申诉, after any refusal: the village's (核查不符合、民主评议不同意) or the county's.
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
    /// 上门解疑释惑: a cadre explained an appeal's outcome at the household.
    RecordAppealExplanation { on: NaiveDate },
    /// 一户一策, with at least one measure. In the green channel it may come before the
    /// county's decision (先帮扶后认定).
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
    /// Switch a case to the green channel (绿色通道) before the decision: help first, the
    /// identification afterwards.
    SwitchToGreenChannel { reason: String },
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
    RecordAppealExplanation,
    MakePlan,
    RecordFollowUp,
    ProposeRiskElimination,
    ReviewRiskElimination,
    DecideRiskElimination,
    SwitchToGreenChannel,
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
            StepKind::RecordAppealExplanation => "上门解疑释惑",
            StepKind::MakePlan => "制定一户一策",
            StepKind::RecordFollowUp => "帮扶回访",
            StepKind::ProposeRiskElimination => "申请风险消除",
            StepKind::ReviewRiskElimination => "乡镇复核风险消除",
            StepKind::DecideRiskElimination => "县级审定风险消除",
            StepKind::SwitchToGreenChannel => "转入绿色通道",
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
            Step::RecordAppealExplanation { .. } => StepKind::RecordAppealExplanation,
            Step::MakePlan { .. } => StepKind::MakePlan,
            Step::RecordFollowUp { .. } => StepKind::RecordFollowUp,
            Step::ProposeRiskElimination { .. } => StepKind::ProposeRiskElimination,
            Step::ReviewRiskElimination { .. } => StepKind::ReviewRiskElimination,
            Step::DecideRiskElimination { .. } => StepKind::DecideRiskElimination,
            Step::SwitchToGreenChannel { .. } => StepKind::SwitchToGreenChannel,
            Step::RecordEmergencyAssistance { .. } => StepKind::RecordEmergencyAssistance,
            Step::Close => StepKind::Close,
        }
    }
}
