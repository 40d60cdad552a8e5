//! 部门预警: departments' risk alerts.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::RiskType;
use crate::ids::{AlertId, CaseId, HouseholdId};
use crate::policy::{Policy, Population};
use crate::validation::ResidentIdNumber;

use super::*;

/// A department that pushes risk leads (行业部门), by the stable code of the province's list
/// ([`Policy::departments`]). The list is data: the built-in one is the 17 member units of 旺苍县's
/// monitoring task force (see `assets/policy/gansu.json` for the source), and a province
/// administrator replaces it with its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Department(String);

impl Department {
    /// The department of `code`, if the province's list has it.
    pub fn of(code: &str, policy: &Policy) -> Option<Department> {
        policy
            .departments
            .iter()
            .any(|d| d.code == code)
            .then(|| Department(code.to_owned()))
    }

    /// The department the list names `name` (e.g. "医保").
    pub fn from_name_zh(name: &str, policy: &Policy) -> Option<Department> {
        policy
            .departments
            .iter()
            .find(|d| d.name_zh == name.trim())
            .map(|d| Department(d.code.clone()))
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// Its name in the province's list (the code when the list no longer has it).
    pub fn name_zh<'a>(&'a self, policy: &'a Policy) -> &'a str {
        policy.department_name(&self.0)
    }
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

    /// Whether the alert is strong enough to open a lead: a medical out-of-pocket cost at or
    /// over the province's threshold for the person's population (a rule as data, see
    /// [`Policy::medical_out_of_pocket_yuan`]), a house rated C or D; every other trigger is an
    /// event that counts by itself.
    pub fn meets_threshold(&self, policy: &Policy, population: Population) -> bool {
        match self {
            AlertTrigger::MedicalOutOfPocket { out_of_pocket_fen } => {
                policy.medical_cost_reaches_threshold(population, *out_of_pocket_fen)
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
