//! 部门预警: departments' risk alerts.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::RiskType;
use crate::ids::{AlertId, CaseId, HouseholdId};
use crate::validation::ResidentIdNumber;

use super::*;

/// The 17 departments that push risk leads (行业部门). The first thirteen are named in the
/// domain brief; the last four (自然资源, 退役军人事务, 金融监管, 工会) complete the list as
/// sensible additional sources of hardship signals and are ours, not a published list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// 医保: medical insurance, out-of-pocket costs.
    MedicalSecurity,
    /// 卫健: health commission, serious illness.
    HealthCommission,
    /// 教育: school drop-outs, student aid.
    Education,
    /// 住建: unsafe-house ratings.
    HousingConstruction,
    /// 水利: drinking-water failures.
    WaterResources,
    /// 人社: employment, social insurance.
    HumanResourcesSocialSecurity,
    /// 民政: 低保, 特困, temporary assistance.
    CivilAffairs,
    /// 农业农村 (which now includes rural revitalisation).
    AgricultureRuralAffairs,
    /// 公安: household registration, deaths, accidents.
    PublicSecurity,
    /// 残联: disability certificates.
    DisabledPersonsFederation,
    /// 应急管理: disasters and accidents.
    EmergencyManagement,
    /// 妇联
    WomensFederation,
    /// 团委
    YouthLeague,
    /// 自然资源: geological-hazard relocation. (added)
    NaturalResources,
    /// 退役军人事务. (added)
    VeteransAffairs,
    /// 金融监管: insurance claims (e.g. 防返贫保险) and loans in arrears. (added)
    FinancialRegulation,
    /// 工会: workers in hardship. (added)
    TradeUnion,
}

impl Department {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Department::MedicalSecurity => "医保",
            Department::HealthCommission => "卫健",
            Department::Education => "教育",
            Department::HousingConstruction => "住建",
            Department::WaterResources => "水利",
            Department::HumanResourcesSocialSecurity => "人社",
            Department::CivilAffairs => "民政",
            Department::AgricultureRuralAffairs => "农业农村",
            Department::PublicSecurity => "公安",
            Department::DisabledPersonsFederation => "残联",
            Department::EmergencyManagement => "应急管理",
            Department::WomensFederation => "妇联",
            Department::YouthLeague => "团委",
            Department::NaturalResources => "自然资源",
            Department::VeteransAffairs => "退役军人事务",
            Department::FinancialRegulation => "金融监管",
            Department::TradeUnion => "工会",
        }
    }

    pub fn from_name_zh(s: &str) -> Option<Department> {
        Department::ALL
            .into_iter()
            .find(|d| d.name_zh() == s.trim())
    }

    pub const ALL: [Department; 17] = [
        Department::MedicalSecurity,
        Department::HealthCommission,
        Department::Education,
        Department::HousingConstruction,
        Department::WaterResources,
        Department::HumanResourcesSocialSecurity,
        Department::CivilAffairs,
        Department::AgricultureRuralAffairs,
        Department::PublicSecurity,
        Department::DisabledPersonsFederation,
        Department::EmergencyManagement,
        Department::WomensFederation,
        Department::YouthLeague,
        Department::NaturalResources,
        Department::VeteransAffairs,
        Department::FinancialRegulation,
        Department::TradeUnion,
    ];
}

/// Housing safety rating (房屋安全等级): A and B are safe, C and D unsafe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseRating {
    A,
    B,
    C,
    D,
}

impl HouseRating {
    pub const fn is_safe(self) -> bool {
        matches!(self, HouseRating::A | HouseRating::B)
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            HouseRating::A => "A级",
            HouseRating::B => "B级",
            HouseRating::C => "C级",
            HouseRating::D => "D级",
        }
    }
}

/// What a department's data says about a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertTrigger {
    /// Annual medical out-of-pocket cost after reimbursement, in fen.
    MedicalOutOfPocket { out_of_pocket_fen: i64 },
    /// 新纳入低保
    NewSubsistenceAllowance,
    /// 新纳入特困供养
    NewExtremePoverty,
    /// 辍学
    SchoolDropOut,
    /// 房屋安全鉴定
    UnsafeHouse { rating: HouseRating },
    /// 饮水不安全
    DrinkingWaterFailure,
    /// 新增残疾 (new disability certificate)
    Disability,
    /// 受灾 (应急管理). Added beyond the brief's list.
    DisasterLoss,
    /// 失业返乡 (人社). Added beyond the brief's list.
    JobLoss,
    /// Anything else, in the department's words.
    Other { text: String },
}

impl AlertTrigger {
    pub const fn name_zh(&self) -> &'static str {
        match self {
            AlertTrigger::MedicalOutOfPocket { .. } => "医疗自付费用高",
            AlertTrigger::NewSubsistenceAllowance => "新纳入低保",
            AlertTrigger::NewExtremePoverty => "新纳入特困",
            AlertTrigger::SchoolDropOut => "辍学",
            AlertTrigger::UnsafeHouse { .. } => "住房不安全",
            AlertTrigger::DrinkingWaterFailure => "饮水不安全",
            AlertTrigger::Disability => "新增残疾",
            AlertTrigger::DisasterLoss => "受灾",
            AlertTrigger::JobLoss => "失业返乡",
            AlertTrigger::Other { .. } => "其他",
        }
    }

    /// A medical out-of-pocket alert from whole yuan, as departments report it.
    pub const fn medical_out_of_pocket_yuan(yuan: i64) -> AlertTrigger {
        AlertTrigger::MedicalOutOfPocket {
            out_of_pocket_fen: yuan.saturating_mul(FEN_PER_YUAN),
        }
    }

    /// The risk type a case opened from this alert starts with; the worker's visit may
    /// change it.
    pub const fn suggested_risk_type(&self) -> RiskType {
        match self {
            AlertTrigger::MedicalOutOfPocket { .. } => RiskType::Illness,
            // 特困 people have no labour capacity and no one obliged to support them.
            AlertTrigger::NewExtremePoverty => RiskType::LackOfLabour,
            AlertTrigger::SchoolDropOut => RiskType::Schooling,
            AlertTrigger::UnsafeHouse { .. } => RiskType::HousingSafety,
            AlertTrigger::DrinkingWaterFailure => RiskType::DrinkingWater,
            AlertTrigger::Disability => RiskType::Disability,
            AlertTrigger::DisasterLoss => RiskType::Disaster,
            AlertTrigger::JobLoss => RiskType::UnstableEmployment,
            // 低保 says the income is low, not why.
            AlertTrigger::NewSubsistenceAllowance | AlertTrigger::Other { .. } => RiskType::Other,
        }
    }

    /// Whether the alert is strong enough to open a lead: a medical out-of-pocket cost
    /// strictly over [`MEDICAL_OUT_OF_POCKET_THRESHOLD_YUAN`], a house rated C or D; every
    /// other trigger is an event that counts by itself.
    pub const fn meets_threshold(&self) -> bool {
        match self {
            AlertTrigger::MedicalOutOfPocket { out_of_pocket_fen } => {
                *out_of_pocket_fen > MEDICAL_OUT_OF_POCKET_THRESHOLD_YUAN * FEN_PER_YUAN
            }
            AlertTrigger::UnsafeHouse { rating } => !rating.is_safe(),
            _ => true,
        }
    }
}

/// One risk alert pushed by a department (部门预警), matched to a household by ID number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    pub department: Department,
    pub subject_id_number: ResidentIdNumber,
    pub subject_name: String,
    pub trigger: AlertTrigger,
    pub reported_on: NaiveDate,
    /// The household whose member has this ID number, once matched.
    pub matched_household: Option<HouseholdId>,
    /// The case opened from the alert, if any.
    pub case_id: Option<CaseId>,
}

impl Alert {
    pub fn validate(&self) -> Result<(), SupportError> {
        if self.subject_name.trim().is_empty() {
            return Err(SupportError::EmptySubjectName);
        }
        match &self.trigger {
            AlertTrigger::MedicalOutOfPocket { out_of_pocket_fen } if *out_of_pocket_fen < 0 => {
                Err(SupportError::NegativeOutOfPocket)
            }
            AlertTrigger::Other { text } if text.trim().is_empty() => {
                Err(SupportError::EmptyAlertText)
            }
            _ => Ok(()),
        }
    }
}
