//! What happens around and after identification: the one-household-one-plan (一户一策) and its
//! measures, return visits (回访), appeals (申诉), photo metadata, departments' risk alerts
//! (部门预警) and the record of a proxy filing (代申报).
//!
//! Money is always an integer number of fen (分); a yuan amount from a department's data is
//! converted once at the edge.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::case::RiskType;
use crate::division::Level;
use crate::ids::{
    AlertId, AppealId, CaseId, FollowUpId, HouseholdId, MeasureId, PhotoId, PlanId, UserId, VisitId,
};
use crate::validation::{MobileNumber, ResidentIdNumber};

/// Fen in one yuan.
pub const FEN_PER_YUAN: i64 = 100;

/// The example alert threshold from the medical-insurance department: a person's annual
/// out-of-pocket medical cost (after reimbursement) over ¥20,000. It is an example figure;
/// it will become configurable per province.
pub const MEDICAL_OUT_OF_POCKET_THRESHOLD_YUAN: i64 = 20_000;

/// Why a plan, follow-up, appeal, alert or proxy filing is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupportError {
    #[error("一户一策至少要有一项帮扶措施")]
    NoMeasures,
    #[error("帮扶措施编号重复：{0}")]
    DuplicateMeasure(MeasureId),
    #[error("第{position}项帮扶措施（{kind}）的金额不能为负数")]
    NegativeAmount { position: usize, kind: &'static str },
    #[error("第{position}项帮扶措施是临时救助，须填写救助金额")]
    MissingAmount { position: usize },
    #[error("第{position}项帮扶措施是就业帮扶，月工资不能为负数")]
    NegativeWage { position: usize },
    #[error("第{position}项帮扶措施是就业帮扶，尚未落实工作时不应填写月工资")]
    WageWithoutJob { position: usize },
    #[error("第{position}项帮扶措施（{kind}）须写明具体内容")]
    MissingDetail { position: usize, kind: &'static str },
    #[error("第{position}项帮扶措施须填写责任单位")]
    MissingResponsibleUnit { position: usize },
    #[error("第{position}项帮扶措施须填写责任人")]
    MissingResponsiblePerson { position: usize },
    #[error("回访间隔应至少为1天")]
    ZeroInterval,
    #[error("回访日期超出了可计算的范围")]
    DateOutOfRange,
    #[error("上一次回访尚未完成，不能按完成日期安排下一次")]
    FollowUpNotDone,
    #[error("这次回访已于{0}完成")]
    FollowUpAlreadyDone(NaiveDate),
    #[error("{}级作出的决定没有上一级可以提级办理", .0.name_zh())]
    NoLevelAbove(Level),
    #[error("申诉应由{}级办理，记录的是{}级", .expected.name_zh(), .found.name_zh())]
    WrongAppealLevel { expected: Level, found: Level },
    #[error("申诉理由不能为空")]
    EmptyAppealReason,
    #[error("申诉人姓名不能为空")]
    EmptyAppellantName,
    #[error("申诉已经办结，不能重复作出决定")]
    AppealAlreadyDecided,
    #[error("申诉处理意见不能为空")]
    EmptyDecisionReason,
    #[error("申诉的处理时间不能早于申诉时间")]
    DecisionBeforeFiling,
    #[error("申诉尚未作出决定，不能登记入户解释")]
    ExplainedBeforeDecision,
    #[error("预警对象姓名不能为空")]
    EmptySubjectName,
    #[error("医疗自付金额不能为负数")]
    NegativeOutOfPocket,
    #[error("预警说明不能为空")]
    EmptyAlertText,
    #[error("代申报填写后须向申请人逐项读回核对，并经申请人确认")]
    NotReadBack,
    #[error("代申报须上传申请人按手印或签字确认的照片")]
    MissingConfirmationPhoto,
    #[error("代申报须填写代填人姓名")]
    EmptyFillerName,
    #[error("代申报须填写代填人与申请人的关系")]
    EmptyFillerRelation,
    #[error("照片的{0}不能为0")]
    EmptyPhoto(&'static str),
    #[error("照片所属核查项不能为空")]
    EmptyItemKey,
}

// ---------------------------------------------------------------------------------------------
// 一户一策
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 回访
// ---------------------------------------------------------------------------------------------

/// The date `interval_days` after `from`.
pub fn follow_up_due(from: NaiveDate, interval_days: u32) -> Result<NaiveDate, SupportError> {
    if interval_days == 0 {
        return Err(SupportError::ZeroInterval);
    }
    from.checked_add_days(chrono::Days::new(u64::from(interval_days)))
        .ok_or(SupportError::DateOutOfRange)
}

/// A return visit (回访), scheduled and later done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub id: FollowUpId,
    pub case_id: CaseId,
    pub household_id: HouseholdId,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    /// The visit record made when the follow-up was done on site.
    pub visit_id: Option<VisitId>,
    pub note: String,
    pub by: Option<UserId>,
}

impl FollowUp {
    /// A follow-up due on `due_on`, not yet done.
    pub fn scheduled(
        id: FollowUpId,
        case_id: CaseId,
        household_id: HouseholdId,
        due_on: NaiveDate,
    ) -> FollowUp {
        FollowUp {
            id,
            case_id,
            household_id,
            due_on,
            done_on: None,
            visit_id: None,
            note: String::new(),
            by: None,
        }
    }

    /// The first follow-up, `interval_days` after `from` (e.g. the plan's date).
    pub fn first_after(
        id: FollowUpId,
        case_id: CaseId,
        household_id: HouseholdId,
        from: NaiveDate,
        interval_days: u32,
    ) -> Result<FollowUp, SupportError> {
        Ok(FollowUp::scheduled(
            id,
            case_id,
            household_id,
            follow_up_due(from, interval_days)?,
        ))
    }

    /// The next follow-up, `interval_days` after this one was actually done (a late visit
    /// moves the cadence, so visits are never bunched up to catch up).
    pub fn next(&self, id: FollowUpId, interval_days: u32) -> Result<FollowUp, SupportError> {
        let done = self.done_on.ok_or(SupportError::FollowUpNotDone)?;
        FollowUp::first_after(id, self.case_id, self.household_id, done, interval_days)
    }

    /// Record that the follow-up was done.
    pub fn complete(
        &mut self,
        on: NaiveDate,
        by: UserId,
        visit_id: Option<VisitId>,
        note: impl Into<String>,
    ) -> Result<(), SupportError> {
        if let Some(done) = self.done_on {
            return Err(SupportError::FollowUpAlreadyDone(done));
        }
        self.done_on = Some(on);
        self.by = Some(by);
        self.visit_id = visit_id;
        self.note = note.into();
        Ok(())
    }

    /// Not done and `today` is past the due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.done_on.is_none() && today > self.due_on
    }
}

// ---------------------------------------------------------------------------------------------
// 申诉
// ---------------------------------------------------------------------------------------------

/// Who filed an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppealFiler {
    /// The household itself, without an account; the phone is optional for people who have
    /// none (a cadre visits to explain the outcome anyway).
    Resident {
        name: String,
        phone: Option<MobileNumber>,
    },
    /// A staff member filing on the household's behalf.
    Staff { user: UserId },
}

/// The outcome of an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealDecision {
    /// `true`: the appeal is upheld (申诉成立) and the rejection is reversed; `false`: the
    /// rejection stands (维持原决定).
    pub upheld: bool,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
    pub decided_by: UserId,
}

/// An appeal (申诉) against a rejection, handled one level above the level that rejected
/// (提级办理); a cadre then visits the household to explain the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub id: AppealId,
    pub case_id: CaseId,
    pub filed_at: DateTime<Utc>,
    pub filed_by: AppealFiler,
    pub reason: String,
    /// The level whose decision is appealed.
    pub against_level: Level,
    /// Always the level directly above `against_level`.
    pub decided_by_level: Level,
    pub decision: Option<AppealDecision>,
    /// The date a cadre explained the outcome at the household.
    pub explained_to_household_on: Option<NaiveDate>,
}

impl Appeal {
    /// File an appeal against a decision taken at `against_level`; it goes one level up. There
    /// is nothing above the province.
    pub fn file(
        id: AppealId,
        case_id: CaseId,
        filed_at: DateTime<Utc>,
        filed_by: AppealFiler,
        reason: impl Into<String>,
        against_level: Level,
    ) -> Result<Appeal, SupportError> {
        let decided_by_level = against_level
            .parent()
            .ok_or(SupportError::NoLevelAbove(against_level))?;
        let appeal = Appeal {
            id,
            case_id,
            filed_at,
            filed_by,
            reason: reason.into().trim().to_owned(),
            against_level,
            decided_by_level,
            decision: None,
            explained_to_household_on: None,
        };
        appeal.validate()?;
        Ok(appeal)
    }

    /// Check a stored or received appeal: the deciding level is one above, the reasons are
    /// given, the decision does not precede the filing, an explanation follows a decision.
    pub fn validate(&self) -> Result<(), SupportError> {
        let expected = self
            .against_level
            .parent()
            .ok_or(SupportError::NoLevelAbove(self.against_level))?;
        if self.decided_by_level != expected {
            return Err(SupportError::WrongAppealLevel {
                expected,
                found: self.decided_by_level,
            });
        }
        if self.reason.trim().is_empty() {
            return Err(SupportError::EmptyAppealReason);
        }
        if let AppealFiler::Resident { name, .. } = &self.filed_by
            && name.trim().is_empty()
        {
            return Err(SupportError::EmptyAppellantName);
        }
        if let Some(d) = &self.decision {
            check_decision(self.filed_at, d)?;
        } else if self.explained_to_household_on.is_some() {
            return Err(SupportError::ExplainedBeforeDecision);
        }
        Ok(())
    }

    /// Record the decision of the level above; only once.
    pub fn decide(&mut self, decision: AppealDecision) -> Result<(), SupportError> {
        if self.decision.is_some() {
            return Err(SupportError::AppealAlreadyDecided);
        }
        check_decision(self.filed_at, &decision)?;
        self.decision = Some(decision);
        Ok(())
    }

    /// Record that a cadre explained the outcome at the household.
    pub fn record_explanation(&mut self, on: NaiveDate) -> Result<(), SupportError> {
        if self.decision.is_none() {
            return Err(SupportError::ExplainedBeforeDecision);
        }
        self.explained_to_household_on = Some(on);
        Ok(())
    }

    /// Decided and explained to the household.
    pub fn is_closed(&self) -> bool {
        self.decision.is_some() && self.explained_to_household_on.is_some()
    }
}

fn check_decision(filed_at: DateTime<Utc>, d: &AppealDecision) -> Result<(), SupportError> {
    if d.reason.trim().is_empty() {
        return Err(SupportError::EmptyDecisionReason);
    }
    if d.decided_at < filed_at {
        return Err(SupportError::DecisionBeforeFiling);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 照片
// ---------------------------------------------------------------------------------------------

/// Why a string is not a SHA-256 digest in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Sha256HexError {
    #[error("SHA-256摘要应为64位十六进制字符，实际为{0}位")]
    WrongLength(usize),
    #[error("SHA-256摘要只能包含小写十六进制字符（0-9、a-f）")]
    NotLowerHex,
}

/// A SHA-256 digest as 64 lowercase hex characters: the name of a photo's bytes on the device,
/// on the wire and in the blob store. Only the canonical spelling is accepted, so one content
/// has exactly one name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(s: &str) -> Result<Sha256Hex, Sha256HexError> {
        if s.len() != 64 {
            return Err(Sha256HexError::WrongLength(s.chars().count()));
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Sha256HexError::NotLowerHex);
        }
        Ok(Sha256Hex(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Sha256Hex {
    type Err = Sha256HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256Hex::parse(s)
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = Sha256HexError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Sha256Hex::parse(&s)
    }
}

impl From<Sha256Hex> for String {
    fn from(h: Sha256Hex) -> String {
        h.0
    }
}

/// Photo formats accepted. Photos are re-encoded as JPEG on the device when taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PhotoMime {
    #[serde(rename = "image/jpeg")]
    Jpeg,
}

impl PhotoMime {
    pub const fn as_str(self) -> &'static str {
        match self {
            PhotoMime::Jpeg => "image/jpeg",
        }
    }
}

/// What a photo documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhotoOwner {
    /// One item of a visit's checklist (house, water source, medical bills, …).
    VisitItem {
        visit_id: VisitId,
        item_key: String,
    },
    Case {
        case_id: CaseId,
    },
    Household {
        household_id: HouseholdId,
    },
    /// The applicant's thumbprint or signature confirming a proxy filing.
    ProxyConfirmation {
        case_id: CaseId,
    },
    /// The public notice (公示) posted in the village.
    PublicNotice {
        case_id: CaseId,
    },
}

/// A photo's metadata; the bytes travel separately, named by their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoMeta {
    pub id: PhotoId,
    pub sha256: Sha256Hex,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub mime: PhotoMime,
    /// From the camera; device clocks may be wrong, so this is evidence, not an ordering.
    pub taken_at: Option<DateTime<Utc>>,
    pub owner: PhotoOwner,
    pub thumb_sha256: Option<Sha256Hex>,
}

impl PhotoMeta {
    /// Non-empty file and picture; a checklist item is named.
    pub fn validate(&self) -> Result<(), SupportError> {
        if self.bytes == 0 {
            return Err(SupportError::EmptyPhoto("文件大小"));
        }
        if self.width == 0 {
            return Err(SupportError::EmptyPhoto("宽度"));
        }
        if self.height == 0 {
            return Err(SupportError::EmptyPhoto("高度"));
        }
        if let PhotoOwner::VisitItem { item_key, .. } = &self.owner
            && item_key.trim().is_empty()
        {
            return Err(SupportError::EmptyItemKey);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// 部门预警
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 代申报
// ---------------------------------------------------------------------------------------------

/// How the applicant confirmed a proxy filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationKind {
    /// 按手印
    Thumbprint,
    /// 签字
    Signature,
}

impl ConfirmationKind {
    pub const fn name_zh(self) -> &'static str {
        match self {
            ConfirmationKind::Thumbprint => "按手印",
            ConfirmationKind::Signature => "签字",
        }
    }
}

/// The record of a declaration filed by a cadre on an applicant's behalf (代申报): the cadre
/// fills the form, reads it back to the applicant, and the applicant confirms with a
/// thumbprint or signature that is photographed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyFiling {
    pub filled_by: UserId,
    pub filler_name: String,
    /// e.g. 驻村干部, 帮扶干部, 网格员, 亲属.
    pub relation_to_applicant: String,
    pub read_back_done: bool,
    pub confirmation: ConfirmationKind,
    /// `None` while the filing is a draft on the cadre's phone; required to submit.
    pub confirmation_photo: Option<PhotoId>,
}

impl ProxyFiling {
    /// Ready to submit: the filler is named, the form was read back, and the confirmation
    /// photo is attached.
    pub fn validate(&self) -> Result<(), SupportError> {
        if self.filler_name.trim().is_empty() {
            return Err(SupportError::EmptyFillerName);
        }
        if self.relation_to_applicant.trim().is_empty() {
            return Err(SupportError::EmptyFillerRelation);
        }
        if !self.read_back_done {
            return Err(SupportError::NotReadBack);
        }
        if self.confirmation_photo.is_none() {
            return Err(SupportError::MissingConfirmationPhoto);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::id_check_char;
    use chrono::TimeZone;
    use rstest::rstest;
    use serde_json::json;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid time")
    }

    fn user() -> UserId {
        UserId::from_parts(1_700_000_000_000, 7)
    }

    fn case_id() -> CaseId {
        CaseId::from_parts(1_700_000_000_000, 1)
    }

    fn household_id() -> HouseholdId {
        HouseholdId::from_parts(1_700_000_000_000, 2)
    }

    fn measure(n: u128, kind: MeasureKind, amount_fen: Option<i64>) -> Measure {
        Measure {
            id: MeasureId::from_parts(1_700_000_000_000, n),
            kind,
            description: "说明".into(),
            amount_fen,
            responsible_unit: "凤翔镇人民政府".into(),
            responsible_person: "李干部".into(),
            due_on: None,
            done_on: None,
        }
    }

    fn plan(measures: Vec<Measure>) -> Plan {
        Plan {
            id: PlanId::from_parts(1_700_000_000_000, 3),
            case_id: case_id(),
            household_id: household_id(),
            made_on: date(2026, 4, 1),
            made_by: user(),
            measures,
        }
    }

    #[test]
    fn a_plan_needs_a_measure() {
        let e = plan(vec![]).validate().expect_err("empty plan");
        assert_eq!(e, SupportError::NoMeasures);
        assert_eq!(e.to_string(), "一户一策至少要有一项帮扶措施");
    }

    #[rstest]
    #[case::ok(MeasureKind::MedicalAssistance, Some(150_000), Ok(()))]
    #[case::no_amount_is_fine(MeasureKind::EducationAid, None, Ok(()))]
    #[case::negative(MeasureKind::MedicalAssistance, Some(-1), Err(SupportError::NegativeAmount { position: 1, kind: "医疗救助" }))]
    #[case::temporary_needs_amount(MeasureKind::TemporaryAssistance, None, Err(SupportError::MissingAmount { position: 1 }))]
    #[case::temporary_zero(MeasureKind::TemporaryAssistance, Some(0), Ok(()))]
    #[case::allowance(MeasureKind::SubsistenceAllowance { tier: AllowanceTier::ClassTwo }, None, Ok(()))]
    #[case::job(MeasureKind::Employment { job_found: true, monthly_wage_fen: Some(350_000) }, None, Ok(()))]
    #[case::job_negative_wage(MeasureKind::Employment { job_found: true, monthly_wage_fen: Some(-5) }, None, Err(SupportError::NegativeWage { position: 1 }))]
    #[case::wage_without_job(MeasureKind::Employment { job_found: false, monthly_wage_fen: Some(1) }, None, Err(SupportError::WageWithoutJob { position: 1 }))]
    #[case::job_sought(MeasureKind::Employment { job_found: false, monthly_wage_fen: None }, None, Ok(()))]
    #[case::industry(MeasureKind::Industry { project: "地膜玉米".into() }, None, Ok(()))]
    #[case::industry_unnamed(MeasureKind::Industry { project: " ".into() }, None, Err(SupportError::MissingDetail { position: 1, kind: "产业帮扶" }))]
    #[case::other_unnamed(MeasureKind::Other { name: "".into() }, None, Err(SupportError::MissingDetail { position: 1, kind: "其他" }))]
    fn plan_measures_are_checked(
        #[case] kind: MeasureKind,
        #[case] amount_fen: Option<i64>,
        #[case] expected: Result<(), SupportError>,
    ) {
        assert_eq!(
            plan(vec![measure(1, kind, amount_fen)]).validate(),
            expected
        );
    }

    #[test]
    fn plan_checks_responsibility_and_unique_ids() {
        let mut m = measure(1, MeasureKind::Insurance, None);
        m.responsible_person = " ".into();
        assert_eq!(
            plan(vec![
                measure(1, MeasureKind::Insurance, None),
                measure(2, MeasureKind::DrinkingWater, None),
                m.clone()
            ])
            .validate(),
            Err(SupportError::MissingResponsiblePerson { position: 3 })
        );
        m.responsible_unit = String::new();
        assert_eq!(
            plan(vec![m]).validate().expect_err("no unit").to_string(),
            "第1项帮扶措施须填写责任单位"
        );
        let dup = plan(vec![
            measure(1, MeasureKind::Insurance, None),
            measure(1, MeasureKind::PublicWelfarePost, None),
        ]);
        assert!(matches!(
            dup.validate(),
            Err(SupportError::DuplicateMeasure(_))
        ));
        let e = plan(vec![measure(
            1,
            MeasureKind::TemporaryAssistance,
            Some(-100),
        )])
        .validate()
        .expect_err("negative");
        assert_eq!(e.to_string(), "第1项帮扶措施（临时救助）的金额不能为负数");
    }

    #[rstest]
    #[case::before_any(date(2026, 4, 9), 0)]
    #[case::on_the_day(date(2026, 4, 10), 1)]
    #[case::later(date(2026, 5, 1), 2)]
    fn measures_in_place_counts_done_on_or_before_today(
        #[case] today: NaiveDate,
        #[case] expected: usize,
    ) {
        let mut a = measure(1, MeasureKind::MedicalAssistance, Some(100_000));
        a.done_on = Some(date(2026, 4, 10));
        let mut b = measure(2, MeasureKind::HousingRenovation, None);
        b.done_on = Some(date(2026, 4, 20));
        let c = measure(3, MeasureKind::EducationAid, None);
        assert_eq!(plan(vec![a, b, c]).measures_in_place(today), expected);
    }

    #[test]
    fn follow_ups_are_scheduled_by_interval() {
        let id = |n| FollowUpId::from_parts(1_700_000_000_000, n);
        let mut first =
            FollowUp::first_after(id(1), case_id(), household_id(), date(2026, 4, 1), 30)
                .expect("scheduled");
        assert_eq!(first.due_on, date(2026, 5, 1));
        assert!(!first.is_overdue(date(2026, 5, 1)));
        assert!(first.is_overdue(date(2026, 5, 2)));
        assert_eq!(first.next(id(2), 30), Err(SupportError::FollowUpNotDone));

        first
            .complete(date(2026, 5, 6), user(), None, "收入稳定")
            .expect("done");
        assert!(!first.is_overdue(date(2026, 6, 1)));
        assert_eq!(
            first.complete(date(2026, 5, 7), user(), None, ""),
            Err(SupportError::FollowUpAlreadyDone(date(2026, 5, 6)))
        );
        let second = first.next(id(2), 30).expect("scheduled");
        assert_eq!(
            second.due_on,
            date(2026, 6, 5),
            "counts from the actual visit"
        );
        assert_eq!(second.case_id, case_id());
        assert_eq!(second.done_on, None);

        assert_eq!(
            follow_up_due(date(2026, 1, 1), 0),
            Err(SupportError::ZeroInterval)
        );
        assert_eq!(
            follow_up_due(NaiveDate::MAX, 1),
            Err(SupportError::DateOutOfRange)
        );
    }

    fn resident() -> AppealFiler {
        AppealFiler::Resident {
            name: "张三".into(),
            phone: Some(MobileNumber::parse("13912345678").expect("valid")),
        }
    }

    fn appeal(against: Level) -> Result<Appeal, SupportError> {
        Appeal::file(
            AppealId::from_parts(1_700_000_000_000, 4),
            case_id(),
            at(2026, 5, 1, 2),
            resident(),
            "家中有大病患者，收入核算有误",
            against,
        )
    }

    #[rstest]
    #[case::village(Level::Village, Ok(Level::Township))]
    #[case::township(Level::Township, Ok(Level::County))]
    #[case::county(Level::County, Ok(Level::City))]
    #[case::city(Level::City, Ok(Level::Province))]
    #[case::province(Level::Province, Err(SupportError::NoLevelAbove(Level::Province)))]
    fn appeal_goes_one_level_up(
        #[case] against: Level,
        #[case] expected: Result<Level, SupportError>,
    ) {
        assert_eq!(appeal(against).map(|a| a.decided_by_level), expected);
    }

    #[test]
    fn appeal_lifecycle() {
        assert_eq!(
            appeal(Level::Province).expect_err("none above").to_string(),
            "省级作出的决定没有上一级可以提级办理"
        );
        let mut a = appeal(Level::County).expect("filed");
        assert_eq!(a.validate(), Ok(()));
        assert_eq!(
            a.record_explanation(date(2026, 5, 2)),
            Err(SupportError::ExplainedBeforeDecision)
        );
        let decision = |reason: &str, hour| AppealDecision {
            upheld: true,
            reason: reason.into(),
            decided_at: at(2026, 5, 1, hour),
            decided_by: user(),
        };
        assert_eq!(
            a.decide(decision("", 3)),
            Err(SupportError::EmptyDecisionReason)
        );
        assert_eq!(
            a.decide(decision("理由", 1)),
            Err(SupportError::DecisionBeforeFiling)
        );
        a.decide(decision("重新核算后收入低于监测线", 3))
            .expect("decided");
        assert_eq!(
            a.decide(decision("再来", 4)),
            Err(SupportError::AppealAlreadyDecided)
        );
        assert!(!a.is_closed());
        a.record_explanation(date(2026, 5, 8)).expect("explained");
        assert!(a.is_closed());
        assert_eq!(a.validate(), Ok(()));

        let mut tampered = a.clone();
        tampered.decided_by_level = Level::Province;
        assert_eq!(
            tampered.validate(),
            Err(SupportError::WrongAppealLevel {
                expected: Level::City,
                found: Level::Province
            })
        );
        let empty = Appeal::file(
            AppealId::new(),
            case_id(),
            at(2026, 5, 1, 2),
            AppealFiler::Staff { user: user() },
            "  ",
            Level::Township,
        );
        assert_eq!(
            empty.expect_err("no reason"),
            SupportError::EmptyAppealReason
        );
    }

    #[test]
    fn appeal_json_round_trip() {
        let a = appeal(Level::Township).expect("filed");
        let json = serde_json::to_value(&a).expect("ser");
        assert_eq!(json["against_level"], json!("township"));
        assert_eq!(json["decided_by_level"], json!("county"));
        assert_eq!(
            json["filed_by"],
            json!({"kind": "resident", "name": "张三", "phone": "13912345678"})
        );
        let back: Appeal = serde_json::from_value(json).expect("de");
        assert_eq!(back, a);
    }

    const HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[rstest]
    #[case::ok(HASH, Ok(()))]
    #[case::short(&HASH[..63], Err(Sha256HexError::WrongLength(63)))]
    #[case::long(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
        Err(Sha256HexError::WrongLength(65))
    )]
    #[case::empty("", Err(Sha256HexError::WrongLength(0)))]
    #[case::uppercase(
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        Err(Sha256HexError::NotLowerHex)
    )]
    #[case::not_hex(
        "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        Err(Sha256HexError::NotLowerHex)
    )]
    #[case::multibyte(
        "一3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8",
        Err(Sha256HexError::NotLowerHex)
    )]
    fn sha256_hex_is_strict(#[case] s: &str, #[case] expected: Result<(), Sha256HexError>) {
        let via_json = serde_json::from_value::<Sha256Hex>(json!(s));
        assert_eq!(via_json.is_ok(), expected.is_ok());
        assert_eq!(
            Sha256Hex::parse(s).map(String::from),
            expected.map(|()| s.to_owned())
        );
    }

    #[test]
    fn photo_meta_json_round_trip() {
        let photo = PhotoMeta {
            id: PhotoId::from_parts(1_700_000_000_000, 5),
            sha256: Sha256Hex::parse(HASH).expect("valid"),
            bytes: 245_000,
            width: 1600,
            height: 1200,
            mime: PhotoMime::Jpeg,
            taken_at: Some(at(2026, 5, 1, 3)),
            owner: PhotoOwner::VisitItem {
                visit_id: VisitId::from_parts(1_700_000_000_000, 6),
                item_key: "water_source".into(),
            },
            thumb_sha256: None,
        };
        assert_eq!(photo.validate(), Ok(()));
        let json = serde_json::to_value(&photo).expect("ser");
        assert_eq!(json["mime"], json!("image/jpeg"));
        assert_eq!(json["owner"]["kind"], json!("visit_item"));
        assert_eq!(json["sha256"], json!(HASH));
        let back: PhotoMeta = serde_json::from_value(json).expect("de");
        assert_eq!(back, photo);
        let mut bad = photo.clone();
        bad.bytes = 0;
        assert_eq!(
            bad.validate().expect_err("empty").to_string(),
            "照片的文件大小不能为0"
        );
        assert!(serde_json::from_value::<PhotoMime>(json!("image/png")).is_err());
        assert_eq!(
            serde_json::to_value(PhotoOwner::ProxyConfirmation { case_id: case_id() })
                .expect("ser")["kind"],
            json!("proxy_confirmation")
        );
    }

    #[rstest]
    #[case::below(19_999 * 100 + 99, false)]
    #[case::exactly_20000(20_000 * 100, false)]
    #[case::one_fen_over(20_000 * 100 + 1, true)]
    #[case::far_over(85_000 * 100, true)]
    fn medical_threshold_is_strictly_over_20000_yuan(#[case] fen: i64, #[case] expected: bool) {
        let t = AlertTrigger::MedicalOutOfPocket {
            out_of_pocket_fen: fen,
        };
        assert_eq!(t.meets_threshold(), expected);
    }

    #[test]
    fn yuan_converts_to_fen() {
        assert_eq!(
            AlertTrigger::medical_out_of_pocket_yuan(20_001),
            AlertTrigger::MedicalOutOfPocket {
                out_of_pocket_fen: 2_000_100
            }
        );
        assert!(AlertTrigger::medical_out_of_pocket_yuan(20_001).meets_threshold());
        assert!(!AlertTrigger::medical_out_of_pocket_yuan(20_000).meets_threshold());
        assert!(
            !AlertTrigger::UnsafeHouse {
                rating: HouseRating::B
            }
            .meets_threshold()
        );
        assert!(
            AlertTrigger::UnsafeHouse {
                rating: HouseRating::C
            }
            .meets_threshold()
        );
        assert!(AlertTrigger::SchoolDropOut.meets_threshold());
    }

    #[rstest]
    #[case(AlertTrigger::medical_out_of_pocket_yuan(30_000), RiskType::Illness)]
    #[case(AlertTrigger::NewSubsistenceAllowance, RiskType::Other)]
    #[case(AlertTrigger::NewExtremePoverty, RiskType::LackOfLabour)]
    #[case(AlertTrigger::SchoolDropOut, RiskType::Schooling)]
    #[case(AlertTrigger::UnsafeHouse { rating: HouseRating::D }, RiskType::HousingSafety)]
    #[case(AlertTrigger::DrinkingWaterFailure, RiskType::DrinkingWater)]
    #[case(AlertTrigger::Disability, RiskType::Disability)]
    #[case(AlertTrigger::DisasterLoss, RiskType::Disaster)]
    #[case(AlertTrigger::JobLoss, RiskType::UnstableEmployment)]
    #[case(AlertTrigger::Other { text: "家中失火".into() }, RiskType::Other)]
    fn alert_suggests_a_risk_type(#[case] trigger: AlertTrigger, #[case] risk: RiskType) {
        assert_eq!(trigger.suggested_risk_type(), risk);
    }

    #[test]
    fn seventeen_departments_with_unique_names() {
        let mut names: Vec<&str> = Department::ALL.iter().map(|d| d.name_zh()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 17);
        for d in Department::ALL {
            assert_eq!(Department::from_name_zh(d.name_zh()), Some(d));
        }
        assert_eq!(
            serde_json::to_value(Department::DisabledPersonsFederation).expect("ser"),
            json!("disabled_persons_federation")
        );
    }

    fn id_number() -> ResidentIdNumber {
        let body = "62010219700101001";
        let check = id_check_char(body).expect("17 digits");
        ResidentIdNumber::try_from(format!("{body}{check}")).expect("valid")
    }

    #[test]
    fn alert_json_round_trip_and_validation() {
        let alert = Alert {
            id: AlertId::from_parts(1_700_000_000_000, 8),
            department: Department::MedicalSecurity,
            subject_id_number: id_number(),
            subject_name: "张三".into(),
            trigger: AlertTrigger::medical_out_of_pocket_yuan(26_500),
            reported_on: date(2026, 5, 5),
            matched_household: Some(household_id()),
            case_id: None,
        };
        assert_eq!(alert.validate(), Ok(()));
        let json = serde_json::to_value(&alert).expect("ser");
        assert_eq!(json["department"], json!("medical_security"));
        assert_eq!(
            json["trigger"],
            json!({"kind": "medical_out_of_pocket", "out_of_pocket_fen": 2_650_000})
        );
        assert_eq!(
            serde_json::to_value(AlertTrigger::UnsafeHouse {
                rating: HouseRating::C
            })
            .expect("ser"),
            json!({"kind": "unsafe_house", "rating": "c"})
        );
        let back: Alert = serde_json::from_value(json).expect("de");
        assert_eq!(back, alert);

        let mut bad = alert.clone();
        bad.trigger = AlertTrigger::MedicalOutOfPocket {
            out_of_pocket_fen: -1,
        };
        assert_eq!(bad.validate(), Err(SupportError::NegativeOutOfPocket));
        bad.subject_name = String::new();
        assert_eq!(bad.validate(), Err(SupportError::EmptySubjectName));
    }

    #[test]
    fn plan_json_uses_stable_snake_case() {
        let mut m = measure(
            1,
            MeasureKind::SubsistenceAllowance {
                tier: AllowanceTier::ClassOne,
            },
            Some(45_000),
        );
        m.done_on = Some(date(2026, 4, 5));
        let p = plan(vec![
            m,
            measure(
                2,
                MeasureKind::Industry {
                    project: "地膜玉米".into(),
                },
                None,
            ),
        ]);
        let json = serde_json::to_value(&p).expect("ser");
        assert_eq!(
            json["measures"][0]["kind"],
            json!({"kind": "subsistence_allowance", "tier": "class_one"})
        );
        assert_eq!(json["measures"][0]["amount_fen"], json!(45_000));
        assert_eq!(json["measures"][0]["done_on"], json!("2026-04-05"));
        assert_eq!(
            json["measures"][1]["kind"],
            json!({"kind": "industry", "project": "地膜玉米"})
        );
        let back: Plan = serde_json::from_value(json).expect("de");
        assert_eq!(back, p);
    }

    fn proxy() -> ProxyFiling {
        ProxyFiling {
            filled_by: user(),
            filler_name: "李干部".into(),
            relation_to_applicant: "驻村干部".into(),
            read_back_done: true,
            confirmation: ConfirmationKind::Thumbprint,
            confirmation_photo: Some(PhotoId::from_parts(1_700_000_000_000, 9)),
        }
    }

    #[test]
    fn proxy_filing_needs_read_back_and_photo() {
        assert_eq!(proxy().validate(), Ok(()));
        let mut p = proxy();
        p.read_back_done = false;
        assert_eq!(
            p.validate().expect_err("not read back").to_string(),
            "代申报填写后须向申请人逐项读回核对，并经申请人确认"
        );
        let mut p = proxy();
        p.confirmation_photo = None;
        assert_eq!(p.validate(), Err(SupportError::MissingConfirmationPhoto));
        let mut p = proxy();
        p.filler_name = " ".into();
        assert_eq!(p.validate(), Err(SupportError::EmptyFillerName));
        let json = serde_json::to_value(proxy()).expect("ser");
        assert_eq!(json["confirmation"], json!("thumbprint"));
        let back: ProxyFiling = serde_json::from_value(json).expect("de");
        assert_eq!(back, proxy());
    }
}
