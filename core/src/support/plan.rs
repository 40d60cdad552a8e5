//! 一户一策: the plan of one household and its measures.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, HouseholdId, MeasureId, PlanId, UserId};

use super::*;

/// 低保 tiers (一类/二类/三类): the higher the need, the lower the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowanceTier {
    ClassOne,
    ClassTwo,
    ClassThree,
}

impl AllowanceTier {
    pub const fn name_zh(self) -> &'static str {
        match self {
            AllowanceTier::ClassOne => "一类",
            AllowanceTier::ClassTwo => "二类",
            AllowanceTier::ClassThree => "三类",
        }
    }
}

/// What kind of help a measure is (帮扶措施类型).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeasureKind {
    /// 医疗救助
    MedicalAssistance,
    /// 临时救助: the amount goes in [`Measure::amount_fen`] and is required.
    TemporaryAssistance,
    /// 低保, with its tier.
    SubsistenceAllowance { tier: AllowanceTier },
    /// 就业帮扶: whether a job has been found, and its monthly wage in fen when known.
    Employment {
        job_found: bool,
        monthly_wage_fen: Option<i64>,
    },
    /// 产业帮扶: the project, e.g. 地膜玉米, 肉牛养殖.
    Industry { project: String },
    /// 教育资助
    EducationAid,
    /// 住房改造 (危房改造)
    HousingRenovation,
    /// 饮水工程
    DrinkingWater,
    /// 保险 (e.g. 防返贫保险)
    Insurance,
    /// 公益岗位
    PublicWelfarePost,
    /// 其他, named.
    Other { name: String },
}

impl MeasureKind {
    pub const fn name_zh(&self) -> &'static str {
        match self {
            MeasureKind::MedicalAssistance => "医疗救助",
            MeasureKind::TemporaryAssistance => "临时救助",
            MeasureKind::SubsistenceAllowance { .. } => "低保",
            MeasureKind::Employment { .. } => "就业帮扶",
            MeasureKind::Industry { .. } => "产业帮扶",
            MeasureKind::EducationAid => "教育资助",
            MeasureKind::HousingRenovation => "住房改造",
            MeasureKind::DrinkingWater => "饮水工程",
            MeasureKind::Insurance => "保险",
            MeasureKind::PublicWelfarePost => "公益岗位",
            MeasureKind::Other { .. } => "其他",
        }
    }
}

/// One assistance measure of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub id: MeasureId,
    pub kind: MeasureKind,
    pub description: String,
    /// Money paid or granted, in fen.
    pub amount_fen: Option<i64>,
    /// 责任单位
    pub responsible_unit: String,
    /// 责任人
    pub responsible_person: String,
    pub due_on: Option<NaiveDate>,
    /// When the measure was in place (落实). May precede the plan: under the green channel
    /// help comes first and identification afterwards.
    pub done_on: Option<NaiveDate>,
}

impl Measure {
    /// Whether the measure is in place on `today` (done on or before it).
    pub fn is_in_place(&self, today: NaiveDate) -> bool {
        self.done_on.is_some_and(|d| d <= today)
    }

    /// Check this measure; `position` (1-based) names it in messages.
    pub fn validate(&self, position: usize) -> Result<(), SupportError> {
        let kind = self.kind.name_zh();
        match self.amount_fen {
            Some(a) if a < 0 => return Err(SupportError::NegativeAmount { position, kind }),
            None if self.kind == MeasureKind::TemporaryAssistance => {
                return Err(SupportError::MissingAmount { position });
            }
            _ => {}
        }
        match &self.kind {
            MeasureKind::Employment {
                job_found,
                monthly_wage_fen: Some(w),
            } => {
                if *w < 0 {
                    return Err(SupportError::NegativeWage { position });
                }
                if !job_found {
                    return Err(SupportError::WageWithoutJob { position });
                }
            }
            MeasureKind::Industry { project: text } | MeasureKind::Other { name: text }
                if text.trim().is_empty() =>
            {
                return Err(SupportError::MissingDetail { position, kind });
            }
            _ => {}
        }
        if self.responsible_unit.trim().is_empty() {
            return Err(SupportError::MissingResponsibleUnit { position });
        }
        if self.responsible_person.trim().is_empty() {
            return Err(SupportError::MissingResponsiblePerson { position });
        }
        Ok(())
    }
}

/// 一户一策: the plan made for a household within 10 days of its inclusion in monitoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub case_id: CaseId,
    pub household_id: HouseholdId,
    pub made_on: NaiveDate,
    pub made_by: UserId,
    pub measures: Vec<Measure>,
}

impl Plan {
    /// At least one measure; each measure valid; measure ids unique.
    pub fn validate(&self) -> Result<(), SupportError> {
        if self.measures.is_empty() {
            return Err(SupportError::NoMeasures);
        }
        for (i, m) in self.measures.iter().enumerate() {
            m.validate(i + 1)?;
            if self.measures[..i].iter().any(|o| o.id == m.id) {
                return Err(SupportError::DuplicateMeasure(m.id));
            }
        }
        Ok(())
    }

    /// How many measures are in place on `today` (risk elimination needs at least one).
    pub fn measures_in_place(&self, today: NaiveDate) -> usize {
        self.measures
            .iter()
            .filter(|m| m.is_in_place(today))
            .count()
    }
}
