//! Where a case is in the procedure.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a case is in the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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
    /// 不予纳入: by the county's decision, or by the village's 民主评议 (`rejected_by` says
    /// which); the household may appeal one level up.
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
    /// 风险消除民主评议已完成 (the village agreed).
    RiskEliminationAssessed,
    /// 风险消除公示已完成.
    RiskEliminationNoticed,
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
            Stage::Rejected => "不予纳入",
            Stage::Appealed => "申诉办理中",
            Stage::RejectionUpheld => "申诉未获支持",
            Stage::PlanMade => "已制定帮扶计划",
            Stage::Assisting => "帮扶中",
            Stage::RiskEliminationProposed => "风险消除申请中",
            Stage::RiskEliminationAssessed => "风险消除民主评议已完成",
            Stage::RiskEliminationNoticed => "风险消除公示已完成",
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

    pub const ALL: [Stage; 22] = [
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
        Stage::RiskEliminationAssessed,
        Stage::RiskEliminationNoticed,
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
