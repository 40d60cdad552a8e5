//! Cases: a declaration or a lead about one household, followed from the first word to closure.
//!
//! The vocabulary comes from the procedure of 防止返贫动态监测和帮扶: how a case started
//! ([`CaseSource`]), what kind of hardship it is about ([`RiskType`]) and which monitoring
//! category a household is placed in ([`MonitoringCategory`]). The stage a case is in, and how
//! it may move, live in [`crate::workflow`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::division::{DivisionCode, Level};
use crate::ids::{CaseId, HouseholdId};
use crate::support::ProxyFiling;
use crate::workflow::{CaseState, Stage, StepKind};

/// How a case started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    /// 群众自主申报: the resident scanned the village's QR code.
    SelfDeclaredQr,
    /// 代申报: a cadre filed on the resident's behalf on the cadre's phone.
    ProxyFiled,
    /// 网格员排查: the grid worker found the risk on a routine visit.
    WorkerDiscovery,
    /// 部门预警: a department's data flagged the household.
    DepartmentAlert,
    /// 绿色通道: sudden severe hardship; help first, identification afterwards.
    GreenChannel,
}

impl CaseSource {
    pub const fn name_zh(self) -> &'static str {
        match self {
            CaseSource::SelfDeclaredQr => "群众扫码自主申报",
            CaseSource::ProxyFiled => "干部代申报",
            CaseSource::WorkerDiscovery => "网格员排查发现",
            CaseSource::DepartmentAlert => "行业部门预警",
            CaseSource::GreenChannel => "绿色通道",
        }
    }

    /// Whether the case is a declaration by or for the household (as opposed to a lead).
    pub const fn kind(self) -> CaseKind {
        match self {
            CaseSource::SelfDeclaredQr | CaseSource::ProxyFiled | CaseSource::GreenChannel => {
                CaseKind::Declaration
            }
            CaseSource::WorkerDiscovery | CaseSource::DepartmentAlert => CaseKind::Lead,
        }
    }

    pub const ALL: [CaseSource; 5] = [
        CaseSource::SelfDeclaredQr,
        CaseSource::ProxyFiled,
        CaseSource::WorkerDiscovery,
        CaseSource::DepartmentAlert,
        CaseSource::GreenChannel,
    ];
}

/// A declaration comes from the household; a lead from someone else's observation or data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Declaration,
    Lead,
}

/// 风险类型.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskType {
    /// 因病
    Illness,
    /// 因学
    Schooling,
    /// 因残
    Disability,
    /// 因灾(自然灾害)
    Disaster,
    /// 因意外事故
    Accident,
    /// 因产业项目失败
    FailedEnterprise,
    /// 因务工就业不稳
    UnstableEmployment,
    /// 缺劳动力
    LackOfLabour,
    /// 住房安全
    HousingSafety,
    /// 饮水安全
    DrinkingWater,
    /// 其他
    Other,
}

impl RiskType {
    pub const fn name_zh(self) -> &'static str {
        match self {
            RiskType::Illness => "因病",
            RiskType::Schooling => "因学",
            RiskType::Disability => "因残",
            RiskType::Disaster => "因灾",
            RiskType::Accident => "因意外事故",
            RiskType::FailedEnterprise => "因产业项目失败",
            RiskType::UnstableEmployment => "因务工就业不稳",
            RiskType::LackOfLabour => "缺劳动力",
            RiskType::HousingSafety => "住房安全",
            RiskType::DrinkingWater => "饮水安全",
            RiskType::Other => "其他",
        }
    }

    /// Parse the Chinese name (as printed on forms) back to the type.
    pub fn from_name_zh(s: &str) -> Option<RiskType> {
        RiskType::ALL.into_iter().find(|r| r.name_zh() == s.trim())
    }

    pub const ALL: [RiskType; 11] = [
        RiskType::Illness,
        RiskType::Schooling,
        RiskType::Disability,
        RiskType::Disaster,
        RiskType::Accident,
        RiskType::FailedEnterprise,
        RiskType::UnstableEmployment,
        RiskType::LackOfLabour,
        RiskType::HousingSafety,
        RiskType::DrinkingWater,
        RiskType::Other,
    ];
}

/// 监测对象类型: the category a household is monitored under once included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringCategory {
    /// 脱贫不稳定户
    UnstableFormerlyPoor,
    /// 边缘易致贫户
    MarginalAtRisk,
    /// 突发严重困难户
    SuddenSevereHardship,
}

impl MonitoringCategory {
    pub const fn name_zh(self) -> &'static str {
        match self {
            MonitoringCategory::UnstableFormerlyPoor => "脱贫不稳定户",
            MonitoringCategory::MarginalAtRisk => "边缘易致贫户",
            MonitoringCategory::SuddenSevereHardship => "突发严重困难户",
        }
    }
}

/// Who is declaring: the applicant's own details, as typed on the form or by the cadre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applicant {
    pub name: String,
    /// 18-digit resident ID number; validated on the device and again on the server
    /// (`validation::ResidentIdNumber`), kept as typed so nothing a user entered is lost.
    pub id_number: String,
    pub phone: Option<String>,
    pub address: String,
    pub household_size: Option<u32>,
}

/// A new case as the device (or the public form) creates it. The server adds the receipt
/// number and owns the workflow state from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    pub case_id: CaseId,
    /// `None` until the declaration is matched to (or creates) a household record.
    pub household_id: Option<HouseholdId>,
    /// The village (12-digit code) the case belongs to; decides who may see it.
    pub village: DivisionCode,
    pub source: CaseSource,
    pub risk_types: Vec<RiskType>,
    /// What the applicant or informant said, in their words.
    pub description: String,
    pub applicant: Applicant,
    /// 代申报: who filled it, their relation, and the applicant's confirmation.
    pub proxy: Option<ProxyFiling>,
    pub declared_at: DateTime<Utc>,
}

/// A case as stored and synced: the declaration, its receipt, and where it is in the procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub declaration: Declaration,
    /// Human-readable receipt number given to the resident.
    pub receipt_no: Option<String>,
    pub state: CaseState,
    /// What happened to the case, oldest first, written by the server as it applies each step.
    /// The phone's timeline reads it offline; the console reads the fuller audit trail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<CaseEvent>,
}

/// What one entry of a case's history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CaseEventKind {
    /// The declaration was received.
    Declared,
    /// A workflow step was taken.
    Step { step: StepKind },
    /// An overdue case was escalated to the level above (督办).
    Escalated { to: Level },
    /// A department's warning about the household arrived while the case was open: kept as
    /// evidence in the case (the note has the facts) instead of opening a second case.
    DepartmentWarning,
}

/// One entry of a case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: CaseEventKind,
    /// The stage the case was in after the event.
    pub stage: Stage,
    /// Who acted, as shown to colleagues: "乡镇审核人员 张三"; `None` for the resident or the
    /// system.
    pub by: Option<String>,
    /// A reason or opinion given with the step.
    pub note: Option<String>,
}

impl CaseEvent {
    /// The event in words, e.g. "县级审批通过".
    pub fn label_zh(&self) -> String {
        match self.kind {
            CaseEventKind::Declared => "提交申报".to_owned(),
            CaseEventKind::Step { step } => step.name_zh().to_owned(),
            CaseEventKind::Escalated { to } => format!("逾期督办（报{}级）", to.name_zh()),
            CaseEventKind::DepartmentWarning => "收到部门预警".to_owned(),
        }
    }
}

impl Case {
    /// A case just declared: green-channel cases start with the green-channel flag.
    pub fn declared(declaration: Declaration) -> Case {
        let green = declaration.source == CaseSource::GreenChannel;
        Case {
            declaration,
            receipt_no: None,
            state: CaseState::declared(green),
            history: Vec::new(),
        }
    }

    pub fn id(&self) -> CaseId {
        self.declaration.case_id
    }

    pub fn village(&self) -> &DivisionCode {
        &self.declaration.village
    }

    /// The date in Asia/Shanghai that starts every statutory clock of this case.
    pub fn declared_on(&self) -> NaiveDate {
        crate::time::china_date(self.declaration.declared_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_types_round_trip_chinese_names() {
        for r in RiskType::ALL {
            assert_eq!(RiskType::from_name_zh(r.name_zh()), Some(r));
        }
        assert_eq!(RiskType::from_name_zh("不存在"), None);
    }

    #[test]
    fn green_channel_cases_start_flagged_and_date_in_beijing() {
        use chrono::TimeZone;
        let declaration = Declaration {
            case_id: CaseId::from_parts(1, 1),
            household_id: None,
            village: DivisionCode::parse("621102105201").expect("valid"),
            source: CaseSource::GreenChannel,
            risk_types: vec![RiskType::Accident],
            description: "车祸重伤".into(),
            applicant: Applicant {
                name: "李强".into(),
                id_number: "11010519491231002X".into(),
                phone: None,
                address: "3社".into(),
                household_size: Some(4),
            },
            proxy: None,
            // 23:30 UTC on 13 Feb is 07:30 on 14 Feb in Beijing.
            declared_at: Utc
                .with_ymd_and_hms(2026, 2, 13, 23, 30, 0)
                .single()
                .expect("valid"),
        };
        let case = Case::declared(declaration);
        assert!(case.state.green_channel);
        assert_eq!(
            case.declared_on(),
            NaiveDate::from_ymd_opt(2026, 2, 14).expect("date")
        );
        assert_eq!(case.id(), CaseId::from_parts(1, 1));
    }

    #[test]
    fn sources_split_into_declarations_and_leads() {
        assert_eq!(CaseSource::SelfDeclaredQr.kind(), CaseKind::Declaration);
        assert_eq!(CaseSource::DepartmentAlert.kind(), CaseKind::Lead);
        assert_eq!(
            serde_json::to_string(&CaseSource::SelfDeclaredQr).expect("ser"),
            "\"self_declared_qr\""
        );
    }
}
