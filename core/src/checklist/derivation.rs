//! The derivation table: which items are the household size, income, costs and rigid
//! spending, and which checks decide 两不愁、三保障 and 饮水安全.

use serde::{Deserialize, Serialize};

use crate::case::{MonitoringCategory, RiskType};

use super::*;

/// Which items feed which derived result. A new template version keeps the derivation by
/// naming its own item keys here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Derivation {
    /// Integer item: people living together (共同生活人口), the divisor of per-person income.
    pub household_size: Option<String>,
    /// Money items added up as the household's annual income.
    pub income: Vec<String>,
    /// Money items subtracted from income to get net income (生产经营支出).
    pub deductions: Vec<String>,
    /// Money items of rigid spending after reimbursement (医疗自付、教育支出). Reported beside
    /// net income; they do not change the comparison with the monitoring line.
    pub rigid_spending: Vec<String>,
    /// Multi-choice item whose option values are [`RiskType`] names (`illness`, …).
    pub risk_types: Option<String>,
    /// Choice item whose option values are [`MonitoringCategory`] names.
    pub category: Option<String>,
    /// Choice item whose option values include both [`Conclusion`] names.
    pub conclusion: Option<String>,
    /// Rules deciding 两不愁、三保障、饮水安全 and other risks.
    pub checks: Vec<Check>,
}

/// One rule: it passes when `pass_if` is true, fails when false, and is unknown while the
/// items it reads are unanswered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Check {
    pub key: String,
    pub aspect: Aspect,
    pub label_zh: String,
    pub pass_if: Condition,
    /// The problem in words, listed when the check fails.
    pub problem_zh: String,
}

/// What a check is about. An aspect passes when all its checks pass.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// 两不愁: 吃不愁.
    Food,
    /// 两不愁: 穿不愁 (four-season clothing and bedding).
    Clothing,
    /// 三保障: 义务教育有保障.
    CompulsoryEducation,
    /// 三保障: 基本医疗有保障.
    BasicMedical,
    /// 三保障: 住房安全有保障.
    SafeHousing,
    /// 饮水安全: 水量.
    WaterQuantity,
    /// 饮水安全: 水质.
    WaterQuality,
    /// 饮水安全: 用水方便程度.
    WaterConvenience,
    /// 饮水安全: 供水保证率.
    WaterReliability,
    /// Any other risk worth a line in the problem list.
    Other,
}

impl Aspect {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Aspect::Food => "吃不愁",
            Aspect::Clothing => "穿不愁",
            Aspect::CompulsoryEducation => "义务教育有保障",
            Aspect::BasicMedical => "基本医疗有保障",
            Aspect::SafeHousing => "住房安全有保障",
            Aspect::WaterQuantity => "饮水水量",
            Aspect::WaterQuality => "饮水水质",
            Aspect::WaterConvenience => "取水方便程度",
            Aspect::WaterReliability => "供水保证率",
            Aspect::Other => "其他风险",
        }
    }

    /// The four tests of 饮水安全; failing any one makes the water unsafe.
    pub const WATER_TESTS: [Aspect; 4] = [
        Aspect::WaterQuantity,
        Aspect::WaterQuality,
        Aspect::WaterConvenience,
        Aspect::WaterReliability,
    ];
}

/// The verification's conclusion. The conclusion item's option values are these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// 符合监测对象识别条件.
    Qualifies,
    /// 不符合 (the reason must be given, and told to the applicant).
    DoesNotQualify,
}

impl Conclusion {
    /// The option value in the template and in answers.
    pub const fn value(self) -> &'static str {
        match self {
            Conclusion::Qualifies => "qualifies",
            Conclusion::DoesNotQualify => "does_not_qualify",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Conclusion::Qualifies => "符合监测对象识别条件",
            Conclusion::DoesNotQualify => "不符合监测对象识别条件",
        }
    }
}

/// The option value of a [`RiskType`] in checklist answers (its snake_case name).
pub fn risk_type_value(risk: RiskType) -> String {
    crate::codec::enum_text(&risk).unwrap_or_default()
}

/// The option value of a [`MonitoringCategory`] in checklist answers.
pub fn category_value(category: MonitoringCategory) -> String {
    crate::codec::enum_text(&category).unwrap_or_default()
}
