//! Who may take each step, at which stage, and where it leads.

use crate::role::Role;

use super::*;

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
        from: &[Stage::CrossChecked, Stage::RiskEliminationProposed],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "评议日期、参会人数、会议记录照片；不同意时写明评议意见（纳入被否决的可向乡镇申诉，风险消除被否决的继续帮扶）",
    },
    TransitionRule {
        step: StepKind::RecordPublicNotice,
        from: &[Stage::DemocraticReviewed, Stage::RiskEliminationAssessed],
        who: WhoMay::Roles(&[Role::VillageWorker]),
        requires_zh: "公示起止日期（自张贴次日起算不少于规定天数且已结束）、公示照片、异议已处理",
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
        from: &[Stage::Rejected, Stage::NotQualifiedNotified],
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
        step: StepKind::RecordAppealExplanation,
        from: &[Stage::RejectionUpheld],
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township]),
        requires_zh: "上门解释的日期",
    },
    TransitionRule {
        step: StepKind::MakePlan,
        from: &[
            Stage::Approved,
            Stage::Declared,
            Stage::Accepted,
            Stage::Verifying,
            Stage::VerifiedQualifies,
            Stage::CrossChecked,
            Stage::DemocraticReviewed,
            Stage::PubliclyNoticed,
            Stage::TownshipReviewed,
        ],
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township]),
        requires_zh: "至少一项帮扶措施；审批前仅限绿色通道案件（先帮扶后认定）",
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
        requires_zh: "本案件已定稿的风险消除核查记录（服务器据此计算：扣除刚性支出后人均收入不低于当年监测线、两不愁三保障和饮水安全均有保障）、监测满6个月、至少一项措施已落实；家中须有劳动年龄人口。之后须经村民主评议和公示",
    },
    TransitionRule {
        step: StepKind::ReviewRiskElimination,
        from: &[Stage::RiskEliminationNoticed],
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
        step: StepKind::SwitchToGreenChannel,
        from: BEFORE_DECISION,
        who: WhoMay::Roles(&[Role::VillageWorker, Role::Township, Role::County]),
        requires_zh: "转入理由（如突发重大困难须先行救助）",
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
        requires_zh: "认定程序已走完；不予纳入的须过申诉期；申诉未获支持的须已上门解疑释惑",
    },
];

/// The rule for a step.
pub fn rule(step: StepKind) -> &'static TransitionRule {
    // Every StepKind has exactly one row (checked by a test); the first row is a safe default.
    RULES.iter().find(|r| r.step == step).unwrap_or(&RULES[0])
}
