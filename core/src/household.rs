//! Households (户) and their members: the profile a grid worker keeps up to date on visits.
//!
//! A household lives in one village (12-digit division code) and is known on the ground by its
//! door plate (门牌号/户码, printed with a QR code on the plate). Its members are the people on
//! the household register and the people actually living together (共同生活); the home-visit
//! checklist records for each their relation to the head (与户主关系), health, work, schooling
//! and medical insurance.
//!
//! Two rules of the monitoring procedure are computed here, because they depend only on the
//! profile: whether the household still has a working-age member who can work
//! ([`Household::has_working_age_member`]; without one a household is never closed out of
//! monitoring) and which children of compulsory-school age are out of school
//! ([`Household::children_out_of_school`], part of 三保障).
//!
//! Profile edits made offline are merged per field during sync, so every editable field has a
//! stable name: [`HouseholdField`] for the household, [`MemberField`] for one member. Values
//! travel as JSON in the wire format of this module (snake_case).

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::MonitoringCategory;
use crate::division::{DivisionCode, Level};
use crate::ids::{HouseholdId, MemberId};
use crate::validation::{MobileNumber, ResidentIdNumber};

/// Lowest age (周岁) of working age: 16 is the legal minimum working age (《劳动法》第十五条
/// forbids employing minors under 16).
pub const WORKING_AGE_MIN: u32 = 16;

/// Highest age (周岁) of working age. Poverty monitoring commonly counts 劳动年龄 as 16 to
/// under 60, so a person is of working age up to and including the day before their 60th
/// birthday.
pub const WORKING_AGE_MAX: u32 = 59;

/// Lowest age (周岁) of compulsory education as the 三保障 check counts it.
pub const COMPULSORY_SCHOOL_AGE_MIN: u32 = 6;

/// Highest age (周岁) of compulsory education as the 三保障 check counts it (6–15).
pub const COMPULSORY_SCHOOL_AGE_MAX: u32 = 15;

/// Disability grades (残疾等级) run from 1 (most severe) to 4.
pub const DISABILITY_GRADES: std::ops::RangeInclusive<u8> = 1..=4;

/// Grades 1 and 2 are severe disability (重度残疾), which rules a person out as labour.
pub const SEVERE_DISABILITY_GRADES: std::ops::RangeInclusive<u8> = 1..=2;

/// Why a household record, a member record or a field edit is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HouseholdError {
    #[error("农户所在地应为12位村级区划代码，“{code}”是{}级", .level.name_zh())]
    NotAVillage { code: DivisionCode, level: Level },
    #[error("住址不能为空")]
    EmptyAddress,
    #[error("第{position}名家庭成员的姓名不能为空")]
    EmptyMemberName { position: usize },
    #[error("一户只能有一名户主，本户登记了{0}名")]
    MultipleHeads(usize),
    #[error("登记的户主不在本户家庭成员中")]
    HeadNotAMember,
    #[error("{name}被登记为户主，但与户主关系填的是“{}”", .relation.name_zh())]
    HeadRelationMismatch { name: String, relation: Relation },
    #[error("{name}与户主关系为“户主”，但本户没有登记户主")]
    HeadNotRecorded { name: String },
    #[error("家庭成员编号重复：{0}")]
    DuplicateMemberId(MemberId),
    #[error("身份证号{masked}在本户登记了两次（{first}、{second}），同一人只能登记一次")]
    DuplicateIdNumber {
        masked: String,
        first: String,
        second: String,
    },
    #[error("{name}的出生日期与身份证号不一致，应以身份证号为准")]
    BirthDateMismatch { name: String },
    #[error("{name}的残疾等级应为1至4级，填的是{grade}级")]
    BadDisabilityGrade { name: String, grade: u8 },
    #[error("{name}的外出务工时间应为1至12个月，填的是{months}个月")]
    BadMigrantMonths { name: String, months: u8 },
    #[error("{name}的外出务工地点不能为空")]
    EmptyMigrantPlace { name: String },
    #[error("{name}的失学辍学原因不能为空")]
    EmptyOutOfSchoolReason { name: String },
    #[error("脱贫不稳定户须是脱贫户")]
    CategoryNeedsFormerlyPoor,
    #[error("边缘易致贫户不能是脱贫户，脱贫户请认定为脱贫不稳定户")]
    CategoryExcludesFormerlyPoor,
    #[error("本户没有编号为{0}的家庭成员")]
    NoSuchMember(MemberId),
    #[error("未知的农户信息项“{0}”")]
    UnknownField(String),
    #[error("“{field}”应填{expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("“{field}”填写有误：{reason}")]
    InvalidValue { field: &'static str, reason: String },
}

/// 与户主关系: a member's relation to the head of household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// 户主
    Head,
    /// 配偶
    Spouse,
    /// 子
    Son,
    /// 女
    Daughter,
    /// 儿媳
    DaughterInLaw,
    /// 女婿
    SonInLaw,
    /// 父母
    Parent,
    /// 孙子女
    Grandchild,
    /// 兄弟姐妹
    Sibling,
    /// 其他
    Other,
}

impl Relation {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Relation::Head => "户主",
            Relation::Spouse => "配偶",
            Relation::Son => "子",
            Relation::Daughter => "女",
            Relation::DaughterInLaw => "儿媳",
            Relation::SonInLaw => "女婿",
            Relation::Parent => "父母",
            Relation::Grandchild => "孙子女",
            Relation::Sibling => "兄弟姐妹",
            Relation::Other => "其他",
        }
    }

    /// Parse the Chinese name (as printed on forms) back to the relation.
    pub fn from_name_zh(s: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.name_zh() == s.trim())
    }

    pub const ALL: [Relation; 10] = [
        Relation::Head,
        Relation::Spouse,
        Relation::Son,
        Relation::Daughter,
        Relation::DaughterInLaw,
        Relation::SonInLaw,
        Relation::Parent,
        Relation::Grandchild,
        Relation::Sibling,
        Relation::Other,
    ];
}

/// 健康状况, as the home-visit checklist records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Health {
    /// 健康
    Healthy,
    /// 慢性病 (usually with a chronic-disease card, 慢病卡)
    ChronicIllness,
    /// 大病 (患大病)
    SeriousIllness,
    /// 残疾, with the grade (1 most severe … 4) from the disability certificate when known.
    Disability { grade: Option<u8> },
}

impl Health {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Health::Healthy => "健康",
            Health::ChronicIllness => "慢性病",
            Health::SeriousIllness => "大病",
            Health::Disability { .. } => "残疾",
        }
    }

    /// Whether this condition by itself rules a person out as labour: serious illness, or a
    /// severe disability (grade 1 or 2). A disability of unknown grade does not; the worker
    /// should record the grade from the disability certificate (残疾证).
    pub fn precludes_labour(self) -> bool {
        match self {
            Health::SeriousIllness => true,
            Health::Disability { grade: Some(g) } => SEVERE_DISABILITY_GRADES.contains(&g),
            // Grade not recorded: assume the worst, so no household is ever closed out of
            // monitoring on a guess about its labour.
            Health::Disability { grade: None } => true,
            Health::Healthy | Health::ChronicIllness => false,
        }
    }
}

/// 务工就业情况: what a member does for a living.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkStatus {
    /// 无 (not working: children, students, the elderly, the unemployed)
    None,
    /// 在家务农
    LocalFarming,
    /// 外出务工: where, and for how many months in the past year (1–12).
    MigrantWork { place: String, months: u8 },
    /// 本地就业 (a job within the county)
    LocalJob,
    /// 公益岗位 (a public-welfare post, often itself an assistance measure)
    PublicWelfarePost,
    /// 个体经营 / 自主创业
    SelfEmployed,
}

impl WorkStatus {
    pub const fn name_zh(&self) -> &'static str {
        match self {
            WorkStatus::None => "无",
            WorkStatus::LocalFarming => "在家务农",
            WorkStatus::MigrantWork { .. } => "外出务工",
            WorkStatus::LocalJob => "本地就业",
            WorkStatus::PublicWelfarePost => "公益岗位",
            WorkStatus::SelfEmployed => "个体经营",
        }
    }
}

/// 在校情况 of a member in education. A member not in education (an adult, a child below
/// preschool age) has no schooling (`None` on [`Member::schooling`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schooling {
    /// 学前教育
    Preschool,
    /// 义务教育阶段在校
    CompulsoryInSchool,
    /// 送教上门: a child with a severe disability taught at home; counts as in compulsory
    /// education.
    HomeTutored,
    /// 义务教育阶段失学辍学, with the reason the worker was given.
    CompulsoryOutOfSchool { reason: String },
    /// 普通高中
    HighSchool,
    /// 中等职业教育 (中职、技工学校)
    SecondaryVocational,
    /// 高等教育 (大专、高职、本科及以上)
    University,
}

impl Schooling {
    pub const fn name_zh(&self) -> &'static str {
        match self {
            Schooling::Preschool => "学前教育",
            Schooling::CompulsoryInSchool => "义务教育在校",
            Schooling::HomeTutored => "送教上门",
            Schooling::CompulsoryOutOfSchool { .. } => "义务教育阶段失学辍学",
            Schooling::HighSchool => "普通高中",
            Schooling::SecondaryVocational => "中职",
            Schooling::University => "大学",
        }
    }
}

/// Whether and since when a household is monitored (监测).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MonitoringStatus {
    /// 未纳入监测
    NotMonitored,
    /// 监测中, since the date of inclusion (纳入监测).
    Monitoring { since: NaiveDate },
    /// 已消除风险, on the date the county approved risk elimination.
    RiskEliminated { on: NaiveDate },
}

impl MonitoringStatus {
    pub const fn name_zh(self) -> &'static str {
        match self {
            MonitoringStatus::NotMonitored => "未纳入",
            MonitoringStatus::Monitoring { .. } => "监测中",
            MonitoringStatus::RiskEliminated { .. } => "已消除风险",
        }
    }

    pub const fn is_monitored(self) -> bool {
        matches!(self, MonitoringStatus::Monitoring { .. })
    }
}

/// One person in a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    pub id_number: Option<ResidentIdNumber>,
    pub relation: Relation,
    /// Taken from the ID number when there is one (see [`Member::set_id_number`]); recorded
    /// by hand only for people without one.
    pub birth_date: Option<NaiveDate>,
    pub health: Health,
    pub work: WorkStatus,
    pub schooling: Option<Schooling>,
    /// Enrolled in 城乡居民基本医疗保险.
    pub medical_insurance: bool,
    /// Covered by 大病保险.
    pub serious_illness_insurance: bool,
    /// Actually lives with the household (共同生活), as opposed to only being on the register.
    pub living_together: bool,
    /// 丧失劳动能力, as assessed by the worker.
    pub lost_labour_capacity: bool,
}

impl Member {
    /// A healthy member living with the household, not working, no ID number yet.
    pub fn new(id: MemberId, name: impl Into<String>, relation: Relation) -> Member {
        Member {
            id,
            name: name.into(),
            id_number: None,
            relation,
            birth_date: None,
            health: Health::Healthy,
            work: WorkStatus::None,
            schooling: None,
            medical_insurance: false,
            serious_illness_insurance: false,
            living_together: true,
            lost_labour_capacity: false,
        }
    }

    /// Builder form of [`Member::set_id_number`].
    #[must_use]
    pub fn with_id_number(mut self, id_number: ResidentIdNumber) -> Member {
        self.set_id_number(Some(id_number));
        self
    }

    /// Set or clear the ID number. A number brings its birth date with it; clearing the
    /// number keeps the birth date that was known.
    pub fn set_id_number(&mut self, id_number: Option<ResidentIdNumber>) {
        if let Some(n) = &id_number {
            self.birth_date = Some(n.birth_date());
        }
        self.id_number = id_number;
    }

    /// The birth date: the ID number's when there is one, else the recorded one.
    pub fn known_birth_date(&self) -> Option<NaiveDate> {
        self.id_number
            .as_ref()
            .map(ResidentIdNumber::birth_date)
            .or(self.birth_date)
    }

    /// Age in full years (周岁) on `today`; `None` if the birth date is unknown or after
    /// `today`. A person born on 29 February turns a year older on 1 March in common years.
    pub fn age_on(&self, today: NaiveDate) -> Option<u32> {
        self.known_birth_date()
            .and_then(|birth| today.years_since(birth))
    }

    /// Whether this person counts as working-age labour on `today`: aged
    /// [`WORKING_AGE_MIN`]–[`WORKING_AGE_MAX`] inclusive, has not lost labour capacity, and is
    /// neither seriously ill nor severely disabled. Living together is checked by the
    /// household. An unknown age does not count, which keeps the household in monitoring.
    pub fn counts_as_labour(&self, today: NaiveDate) -> bool {
        self.age_on(today)
            .is_some_and(|age| (WORKING_AGE_MIN..=WORKING_AGE_MAX).contains(&age))
            && !self.lost_labour_capacity
            && !self.health.precludes_labour()
    }

    /// Whether this is a child of compulsory-school age (6–15 on `today`) recorded as out of
    /// compulsory school. A child whose schooling was not recorded is not reported here.
    pub fn is_child_out_of_school(&self, today: NaiveDate) -> bool {
        self.age_on(today).is_some_and(|age| {
            (COMPULSORY_SCHOOL_AGE_MIN..=COMPULSORY_SCHOOL_AGE_MAX).contains(&age)
        }) && matches!(
            self.schooling,
            Some(Schooling::CompulsoryOutOfSchool { .. })
        )
    }

    /// Check this member's own fields. `position` (1-based) names the member in messages
    /// when the name itself is missing.
    pub fn validate(&self, position: usize) -> Result<(), HouseholdError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(HouseholdError::EmptyMemberName { position });
        }
        let name = name.to_owned();
        if let (Some(n), Some(b)) = (&self.id_number, self.birth_date)
            && n.birth_date() != b
        {
            return Err(HouseholdError::BirthDateMismatch { name });
        }
        if let Health::Disability { grade: Some(grade) } = self.health
            && !DISABILITY_GRADES.contains(&grade)
        {
            return Err(HouseholdError::BadDisabilityGrade { name, grade });
        }
        if let WorkStatus::MigrantWork { place, months } = &self.work {
            if place.trim().is_empty() {
                return Err(HouseholdError::EmptyMigrantPlace { name });
            }
            if !(1..=12).contains(months) {
                return Err(HouseholdError::BadMigrantMonths {
                    name,
                    months: *months,
                });
            }
        }
        if let Some(Schooling::CompulsoryOutOfSchool { reason }) = &self.schooling
            && reason.trim().is_empty()
        {
            return Err(HouseholdError::EmptyOutOfSchoolReason { name });
        }
        Ok(())
    }

    /// The current value of one field, in the wire format.
    pub fn field_value(&self, field: MemberField) -> Value {
        match field {
            MemberField::Name => to_json(&self.name),
            MemberField::IdNumber => to_json(&self.id_number),
            MemberField::Relation => to_json(&self.relation),
            MemberField::BirthDate => to_json(&self.birth_date),
            MemberField::Health => to_json(&self.health),
            MemberField::Work => to_json(&self.work),
            MemberField::Schooling => to_json(&self.schooling),
            MemberField::MedicalInsurance => Value::Bool(self.medical_insurance),
            MemberField::SeriousIllnessInsurance => Value::Bool(self.serious_illness_insurance),
            MemberField::LivingTogether => Value::Bool(self.living_together),
            MemberField::LostLabourCapacity => Value::Bool(self.lost_labour_capacity),
        }
    }

    /// Set one field from a wire-format value, checking the value itself. Setting the ID
    /// number also sets the birth date; a birth date contradicting the ID number is refused.
    /// Rules that involve other members (one head, unique ID numbers) are enforced by
    /// [`Household::set_member_field`].
    pub fn set_field(&mut self, field: MemberField, value: Value) -> Result<(), HouseholdError> {
        let label = field.label_zh();
        match field {
            MemberField::Name => {
                let name = string_value(label, value)?;
                if name.trim().is_empty() {
                    return Err(invalid(label, "姓名不能为空"));
                }
                self.name = name.trim().to_owned();
            }
            MemberField::IdNumber => {
                let n = optional_string(label, value)?
                    .map(|s| {
                        ResidentIdNumber::try_from(s).map_err(|e| invalid(label, e.to_string()))
                    })
                    .transpose()?;
                self.set_id_number(n);
            }
            MemberField::Relation => self.relation = typed(label, value)?,
            MemberField::BirthDate => {
                let birth: Option<NaiveDate> = typed(label, value)?;
                if let Some(n) = &self.id_number
                    && birth != Some(n.birth_date())
                {
                    return Err(invalid(label, "已登记身份证号，出生日期以身份证号为准"));
                }
                self.birth_date = birth;
            }
            MemberField::Health => {
                let health: Health = typed(label, value)?;
                if let Health::Disability { grade: Some(g) } = health
                    && !DISABILITY_GRADES.contains(&g)
                {
                    return Err(invalid(label, "残疾等级应为1至4级"));
                }
                self.health = health;
            }
            MemberField::Work => {
                let work: WorkStatus = typed(label, value)?;
                if let WorkStatus::MigrantWork { place, months } = &work {
                    if place.trim().is_empty() {
                        return Err(invalid(label, "外出务工地点不能为空"));
                    }
                    if !(1..=12).contains(months) {
                        return Err(invalid(label, "外出务工时间应为1至12个月"));
                    }
                }
                self.work = work;
            }
            MemberField::Schooling => {
                let schooling: Option<Schooling> = typed(label, value)?;
                if let Some(Schooling::CompulsoryOutOfSchool { reason }) = &schooling
                    && reason.trim().is_empty()
                {
                    return Err(invalid(label, "失学辍学原因不能为空"));
                }
                self.schooling = schooling;
            }
            MemberField::MedicalInsurance => self.medical_insurance = bool_value(label, value)?,
            MemberField::SeriousIllnessInsurance => {
                self.serious_illness_insurance = bool_value(label, value)?;
            }
            MemberField::LivingTogether => self.living_together = bool_value(label, value)?,
            MemberField::LostLabourCapacity => {
                self.lost_labour_capacity = bool_value(label, value)?;
            }
        }
        Ok(())
    }
}

/// A household (户) as stored and synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub id: HouseholdId,
    /// The village (12-digit code); decides who may see the household.
    pub village: DivisionCode,
    /// 门牌号 / 户码, as printed on the door-plate QR code.
    pub door_plate: Option<String>,
    pub address: String,
    /// The member who is 户主; that member's relation is [`Relation::Head`].
    pub head: Option<MemberId>,
    pub members: Vec<Member>,
    /// 监测对象类型, once the household has been identified.
    pub category: Option<MonitoringCategory>,
    pub monitoring: MonitoringStatus,
    /// 脱贫户: was registered as poor (建档立卡) and lifted out of poverty. Decides which
    /// category fits: 脱贫不稳定户 only for such households, 边缘易致贫户 only for others.
    pub formerly_poor: bool,
    /// The household's contact phone.
    pub phone: Option<MobileNumber>,
}

impl Household {
    /// An empty, unmonitored household in `village` at `address`.
    pub fn new(
        id: HouseholdId,
        village: DivisionCode,
        address: impl Into<String>,
    ) -> Result<Household, HouseholdError> {
        check_village(&village)?;
        let address = address.into().trim().to_owned();
        if address.is_empty() {
            return Err(HouseholdError::EmptyAddress);
        }
        Ok(Household {
            id,
            village,
            door_plate: None,
            address,
            head: None,
            members: Vec::new(),
            category: None,
            monitoring: MonitoringStatus::NotMonitored,
            formerly_poor: false,
            phone: None,
        })
    }

    pub fn member(&self, id: MemberId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The head of household, if one is recorded and present.
    pub fn head_member(&self) -> Option<&Member> {
        self.head.and_then(|id| self.member(id))
    }

    /// Members who actually live with the household (共同生活).
    pub fn members_living_together(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.living_together)
    }

    /// Whether a member living together counts as working-age labour on `today` (see
    /// [`Member::counts_as_labour`]: aged 16–59 inclusive, labour capacity not lost, not
    /// seriously ill, not severely disabled).
    ///
    /// A household with no working-age member is never closed out of monitoring (风险消除),
    /// whatever its income: the workflow must check this before risk elimination.
    pub fn has_working_age_member(&self, today: NaiveDate) -> bool {
        self.members_living_together()
            .any(|m| m.counts_as_labour(today))
    }

    /// Children aged 6–15 on `today` recorded as out of compulsory school (失学辍学), whether
    /// or not they live with the household: a registered child out of school fails 三保障
    /// wherever the child stays.
    pub fn children_out_of_school(&self, today: NaiveDate) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(move |m| m.is_child_out_of_school(today))
    }

    /// Add a member, keeping the household's invariants: unique member id and ID number, at
    /// most one head (a member added as head becomes the household's head).
    pub fn add_member(&mut self, member: Member) -> Result<(), HouseholdError> {
        member.validate(self.members.len() + 1)?;
        if self.member(member.id).is_some() {
            return Err(HouseholdError::DuplicateMemberId(member.id));
        }
        self.check_against_others(&member)?;
        if member.relation == Relation::Head {
            self.head = Some(member.id);
        }
        self.members.push(member);
        Ok(())
    }

    /// Remove a member (moved out, deceased); removing the head leaves the household without
    /// one until another member is made head.
    pub fn remove_member(&mut self, id: MemberId) -> Result<Member, HouseholdError> {
        let idx = self
            .members
            .iter()
            .position(|m| m.id == id)
            .ok_or(HouseholdError::NoSuchMember(id))?;
        if self.head == Some(id) {
            self.head = None;
        }
        Ok(self.members.remove(idx))
    }

    /// Check the whole record: village level, address, every member, one head consistent with
    /// the relations, unique member ids and ID numbers, category fitting the household's
    /// history. Returns the first problem found.
    pub fn validate(&self) -> Result<(), HouseholdError> {
        check_village(&self.village)?;
        if self.address.trim().is_empty() {
            return Err(HouseholdError::EmptyAddress);
        }
        for (i, m) in self.members.iter().enumerate() {
            m.validate(i + 1)?;
            if let Some(first) = self.members[..i].iter().find(|o| o.id == m.id) {
                return Err(HouseholdError::DuplicateMemberId(first.id));
            }
            if let Some(n) = &m.id_number
                && let Some(first) = self.members[..i]
                    .iter()
                    .find(|o| o.id_number.as_ref() == Some(n))
            {
                return Err(duplicate_id_number(n, first, m));
            }
        }
        let heads: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.relation == Relation::Head)
            .collect();
        if heads.len() > 1 {
            return Err(HouseholdError::MultipleHeads(heads.len()));
        }
        match (self.head, heads.first()) {
            (None, None) => {}
            (None, Some(m)) => {
                return Err(HouseholdError::HeadNotRecorded {
                    name: m.name.clone(),
                });
            }
            (Some(id), _) => match self.member(id) {
                None => return Err(HouseholdError::HeadNotAMember),
                Some(m) if m.relation != Relation::Head => {
                    return Err(HouseholdError::HeadRelationMismatch {
                        name: m.name.clone(),
                        relation: m.relation,
                    });
                }
                Some(_) => {}
            },
        }
        match self.category {
            Some(MonitoringCategory::UnstableFormerlyPoor) if !self.formerly_poor => {
                Err(HouseholdError::CategoryNeedsFormerlyPoor)
            }
            Some(MonitoringCategory::MarginalAtRisk) if self.formerly_poor => {
                Err(HouseholdError::CategoryExcludesFormerlyPoor)
            }
            _ => Ok(()),
        }
    }

    /// The current value of one household field, in the wire format.
    pub fn field_value(&self, field: HouseholdField) -> Value {
        match field {
            HouseholdField::Address => to_json(&self.address),
            HouseholdField::DoorPlate => to_json(&self.door_plate),
            HouseholdField::Phone => to_json(&self.phone),
            HouseholdField::Category => to_json(&self.category),
            HouseholdField::Monitoring => to_json(&self.monitoring),
            HouseholdField::FormerlyPoor => Value::Bool(self.formerly_poor),
        }
    }

    /// Set one household field from a wire-format value, checking the value itself. Text is
    /// trimmed; an empty door plate or phone clears it. Rules across fields (category versus
    /// 脱贫户) are left to [`Household::validate`], so that two edits merged in either order
    /// both apply.
    pub fn set_field(&mut self, field: HouseholdField, value: Value) -> Result<(), HouseholdError> {
        let label = field.label_zh();
        match field {
            HouseholdField::Address => {
                let address = string_value(label, value)?;
                if address.trim().is_empty() {
                    return Err(HouseholdError::EmptyAddress);
                }
                self.address = address.trim().to_owned();
            }
            HouseholdField::DoorPlate => self.door_plate = optional_string(label, value)?,
            HouseholdField::Phone => {
                self.phone = optional_string(label, value)?
                    .map(|s| MobileNumber::parse(&s).map_err(|e| invalid(label, e.to_string())))
                    .transpose()?;
            }
            HouseholdField::Category => self.category = typed(label, value)?,
            HouseholdField::Monitoring => self.monitoring = typed(label, value)?,
            HouseholdField::FormerlyPoor => self.formerly_poor = bool_value(label, value)?,
        }
        Ok(())
    }

    /// Set one field of one member. Besides the member's own checks: a member made head
    /// becomes the household's head (refused if another member is head), a head given another
    /// relation leaves the household without a head, and an ID number already used by another
    /// member is refused.
    pub fn set_member_field(
        &mut self,
        member: MemberId,
        field: MemberField,
        value: Value,
    ) -> Result<(), HouseholdError> {
        let idx = self
            .members
            .iter()
            .position(|m| m.id == member)
            .ok_or(HouseholdError::NoSuchMember(member))?;
        let mut updated = self.members[idx].clone();
        updated.set_field(field, value)?;
        self.check_against_others(&updated)?;
        if updated.relation == Relation::Head {
            self.head = Some(member);
        } else if self.head == Some(member) {
            self.head = None;
        }
        self.members[idx] = updated;
        Ok(())
    }

    /// Rules between `member` and every other member of the household.
    fn check_against_others(&self, member: &Member) -> Result<(), HouseholdError> {
        let others = || self.members.iter().filter(|o| o.id != member.id);
        if member.relation == Relation::Head && others().any(|o| o.relation == Relation::Head) {
            return Err(HouseholdError::MultipleHeads(2));
        }
        if let Some(n) = &member.id_number
            && let Some(other) = others().find(|o| o.id_number.as_ref() == Some(n))
        {
            return Err(duplicate_id_number(n, other, member));
        }
        Ok(())
    }
}

/// The household fields that are edited, synced and merged one by one. The village is not
/// among them (moving a household to another village is a transfer, not an edit); members are
/// edited through [`MemberField`] and added or removed as whole records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdField {
    Address,
    DoorPlate,
    Phone,
    Category,
    Monitoring,
    FormerlyPoor,
}

impl HouseholdField {
    /// The stable name used in sync commands and conflict records.
    pub const fn key(self) -> &'static str {
        match self {
            HouseholdField::Address => "address",
            HouseholdField::DoorPlate => "door_plate",
            HouseholdField::Phone => "phone",
            HouseholdField::Category => "category",
            HouseholdField::Monitoring => "monitoring",
            HouseholdField::FormerlyPoor => "formerly_poor",
        }
    }

    /// The field's name as shown to users (also in error messages).
    pub const fn label_zh(self) -> &'static str {
        match self {
            HouseholdField::Address => "住址",
            HouseholdField::DoorPlate => "门牌号",
            HouseholdField::Phone => "联系电话",
            HouseholdField::Category => "监测对象类型",
            HouseholdField::Monitoring => "监测状态",
            HouseholdField::FormerlyPoor => "是否脱贫户",
        }
    }

    pub fn from_key(key: &str) -> Result<HouseholdField, HouseholdError> {
        HouseholdField::ALL
            .into_iter()
            .find(|f| f.key() == key)
            .ok_or_else(|| HouseholdError::UnknownField(key.to_owned()))
    }

    pub const ALL: [HouseholdField; 6] = [
        HouseholdField::Address,
        HouseholdField::DoorPlate,
        HouseholdField::Phone,
        HouseholdField::Category,
        HouseholdField::Monitoring,
        HouseholdField::FormerlyPoor,
    ];
}

/// The member fields that are edited, synced and merged one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberField {
    Name,
    IdNumber,
    Relation,
    BirthDate,
    Health,
    Work,
    Schooling,
    MedicalInsurance,
    SeriousIllnessInsurance,
    LivingTogether,
    LostLabourCapacity,
}

impl MemberField {
    /// The stable name used in sync commands and conflict records.
    pub const fn key(self) -> &'static str {
        match self {
            MemberField::Name => "name",
            MemberField::IdNumber => "id_number",
            MemberField::Relation => "relation",
            MemberField::BirthDate => "birth_date",
            MemberField::Health => "health",
            MemberField::Work => "work",
            MemberField::Schooling => "schooling",
            MemberField::MedicalInsurance => "medical_insurance",
            MemberField::SeriousIllnessInsurance => "serious_illness_insurance",
            MemberField::LivingTogether => "living_together",
            MemberField::LostLabourCapacity => "lost_labour_capacity",
        }
    }

    /// The field's name as shown to users (also in error messages).
    pub const fn label_zh(self) -> &'static str {
        match self {
            MemberField::Name => "姓名",
            MemberField::IdNumber => "身份证号",
            MemberField::Relation => "与户主关系",
            MemberField::BirthDate => "出生日期",
            MemberField::Health => "健康状况",
            MemberField::Work => "务工就业情况",
            MemberField::Schooling => "在校情况",
            MemberField::MedicalInsurance => "参加城乡居民医保",
            MemberField::SeriousIllnessInsurance => "参加大病保险",
            MemberField::LivingTogether => "共同生活",
            MemberField::LostLabourCapacity => "丧失劳动能力",
        }
    }

    pub fn from_key(key: &str) -> Result<MemberField, HouseholdError> {
        MemberField::ALL
            .into_iter()
            .find(|f| f.key() == key)
            .ok_or_else(|| HouseholdError::UnknownField(key.to_owned()))
    }

    pub const ALL: [MemberField; 11] = [
        MemberField::Name,
        MemberField::IdNumber,
        MemberField::Relation,
        MemberField::BirthDate,
        MemberField::Health,
        MemberField::Work,
        MemberField::Schooling,
        MemberField::MedicalInsurance,
        MemberField::SeriousIllnessInsurance,
        MemberField::LivingTogether,
        MemberField::LostLabourCapacity,
    ];
}

fn check_village(village: &DivisionCode) -> Result<(), HouseholdError> {
    if village.level() == Level::Village {
        Ok(())
    } else {
        Err(HouseholdError::NotAVillage {
            code: village.clone(),
            level: village.level(),
        })
    }
}

fn duplicate_id_number(n: &ResidentIdNumber, first: &Member, second: &Member) -> HouseholdError {
    HouseholdError::DuplicateIdNumber {
        masked: n.masked(),
        first: first.name.clone(),
        second: second.name.clone(),
    }
}

/// Serialising these plain data types cannot fail; `Null` is never produced in practice.
fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn invalid(field: &'static str, reason: impl Into<String>) -> HouseholdError {
    HouseholdError::InvalidValue {
        field,
        reason: reason.into(),
    }
}

fn string_value(field: &'static str, value: Value) -> Result<String, HouseholdError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(HouseholdError::WrongType {
            field,
            expected: "文字",
        }),
    }
}

/// `null` or text; blank text counts as `null`.
fn optional_string(field: &'static str, value: Value) -> Result<Option<String>, HouseholdError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        _ => Err(HouseholdError::WrongType {
            field,
            expected: "文字或留空",
        }),
    }
}

fn bool_value(field: &'static str, value: Value) -> Result<bool, HouseholdError> {
    value.as_bool().ok_or(HouseholdError::WrongType {
        field,
        expected: "“是”或“否”",
    })
}

/// A value of one of this module's enums or a date, in its wire format.
fn typed<T: DeserializeOwned>(field: &'static str, value: Value) -> Result<T, HouseholdError> {
    serde_json::from_value(value).map_err(|_| invalid(field, "不是系统认可的选项或格式"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::id_check_char;
    use rstest::rstest;
    use serde_json::json;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid code")
    }

    /// A valid ID number issued in 兰州市城关区 for someone born on `birth` (YYYYMMDD).
    fn id_number(birth: &str, seq: &str) -> ResidentIdNumber {
        let body = format!("620102{birth}{seq}");
        let check = id_check_char(&body).expect("17 digits");
        ResidentIdNumber::try_from(format!("{body}{check}")).expect("valid id number")
    }

    fn mid(n: u128) -> MemberId {
        MemberId::from_parts(1_700_000_000_000, n)
    }

    fn person(n: u128, relation: Relation, birth: NaiveDate) -> Member {
        let mut m = Member::new(mid(n), format!("成员{n}"), relation);
        m.birth_date = Some(birth);
        m
    }

    fn household() -> Household {
        Household::new(
            HouseholdId::from_parts(1_700_000_000_000, 1),
            code("621102105201"),
            "安定区凤翔镇某村三社12号",
        )
        .expect("valid household")
    }

    fn household_with(members: Vec<Member>) -> Household {
        let mut h = household();
        for m in members {
            h.add_member(m).expect("member fits");
        }
        h
    }

    const TODAY: (i32, u32, u32) = (2026, 6, 15);

    fn today() -> NaiveDate {
        date(TODAY.0, TODAY.1, TODAY.2)
    }

    #[rstest]
    #[case::turns_16_today(date(2010, 6, 15), true)]
    #[case::still_15(date(2010, 6, 16), false)]
    #[case::turns_59_today(date(1967, 6, 15), true)]
    #[case::still_59_last_day(date(1966, 6, 16), true)]
    #[case::turns_60_today(date(1966, 6, 15), false)]
    #[case::middle_aged(date(1980, 1, 1), true)]
    #[case::elderly(date(1940, 1, 1), false)]
    fn working_age_bounds_on_the_exact_birthday(#[case] birth: NaiveDate, #[case] expected: bool) {
        let h = household_with(vec![person(1, Relation::Head, birth)]);
        assert_eq!(h.has_working_age_member(today()), expected);
    }

    #[rstest]
    #[case::healthy(Health::Healthy, false, true, true)]
    #[case::chronic(Health::ChronicIllness, false, true, true)]
    #[case::lost_capacity(Health::Healthy, true, true, false)]
    #[case::not_living_together(Health::Healthy, false, false, false)]
    #[case::serious_illness(Health::SeriousIllness, false, true, false)]
    #[case::disability_grade_1(Health::Disability { grade: Some(1) }, false, true, false)]
    #[case::disability_grade_2(Health::Disability { grade: Some(2) }, false, true, false)]
    #[case::disability_grade_3(Health::Disability { grade: Some(3) }, false, true, true)]
    #[case::disability_grade_unknown(Health::Disability { grade: None }, false, true, false)]
    fn working_age_member_must_be_able_and_present(
        #[case] health: Health,
        #[case] lost_labour_capacity: bool,
        #[case] living_together: bool,
        #[case] expected: bool,
    ) {
        let mut m = person(1, Relation::Head, date(1980, 3, 1));
        m.health = health;
        m.lost_labour_capacity = lost_labour_capacity;
        m.living_together = living_together;
        let h = household_with(vec![m]);
        assert_eq!(h.has_working_age_member(today()), expected);
    }

    #[test]
    fn working_age_uses_the_id_number_and_ignores_unknown_ages() {
        let mut h = household_with(vec![Member::new(mid(1), "张三", Relation::Head)]);
        assert!(
            !h.has_working_age_member(today()),
            "unknown age never counts"
        );
        let elder = Member::new(mid(2), "张父", Relation::Parent)
            .with_id_number(id_number("19500101", "001"));
        h.add_member(elder).expect("fits");
        assert!(!h.has_working_age_member(today()));
        let son =
            Member::new(mid(3), "张子", Relation::Son).with_id_number(id_number("20100615", "011"));
        assert_eq!(son.birth_date, Some(date(2010, 6, 15)));
        h.add_member(son).expect("fits");
        assert!(h.has_working_age_member(today()));
        assert_eq!(h.members_living_together().count(), 3);
    }

    #[test]
    fn children_out_of_school_are_6_to_15_and_recorded_as_such() {
        let out = |n, birth| {
            let mut m = person(n, Relation::Son, birth);
            m.schooling = Some(Schooling::CompulsoryOutOfSchool {
                reason: "家庭困难".into(),
            });
            m
        };
        let mut in_school = person(4, Relation::Daughter, date(2014, 1, 1));
        in_school.schooling = Some(Schooling::CompulsoryInSchool);
        let mut away = out(5, date(2013, 1, 1));
        away.living_together = false;
        let h = household_with(vec![
            out(1, date(2020, 6, 15)), // 6 today
            out(2, date(2010, 6, 16)), // 15 until tomorrow
            out(3, date(2010, 6, 15)), // 16 today: past compulsory age
            in_school,
            away,
            out(6, date(2020, 6, 16)), // 5
        ]);
        let ids: Vec<MemberId> = h.children_out_of_school(today()).map(|m| m.id).collect();
        assert_eq!(ids, vec![mid(1), mid(2), mid(5)]);
    }

    #[test]
    fn a_valid_household_validates() {
        let mut h = household_with(vec![
            person(1, Relation::Head, date(1970, 1, 1))
                .with_id_number(id_number("19700101", "021")),
            person(2, Relation::Spouse, date(1972, 5, 5)),
        ]);
        h.formerly_poor = true;
        h.category = Some(MonitoringCategory::UnstableFormerlyPoor);
        assert_eq!(h.validate(), Ok(()));
        assert_eq!(h.head_member().map(|m| m.name.as_str()), Some("成员1"));
    }

    #[rstest]
    #[case::township("621102105")]
    #[case::county("621102")]
    fn household_must_sit_in_a_village(#[case] s: &str) {
        let e = Household::new(HouseholdId::new(), code(s), "某地").expect_err("not a village");
        assert!(matches!(e, HouseholdError::NotAVillage { .. }));
        let mut h = household();
        h.village = code(s);
        assert_eq!(h.validate(), Err(e));
    }

    #[test]
    fn validation_errors_are_specific_and_chinese() {
        let e = Household::new(HouseholdId::new(), code("621102"), "某地").expect_err("county");
        assert_eq!(
            e.to_string(),
            "农户所在地应为12位村级区划代码，“621102”是县级"
        );

        let mut h = household_with(vec![person(1, Relation::Head, date(1970, 1, 1))]);
        h.members.push(person(2, Relation::Head, date(1971, 1, 1)));
        assert_eq!(h.validate(), Err(HouseholdError::MultipleHeads(2)));
        assert_eq!(
            h.validate().expect_err("two heads").to_string(),
            "一户只能有一名户主，本户登记了2名"
        );

        let mut h = household_with(vec![person(1, Relation::Head, date(1970, 1, 1))]);
        h.members.push(person(1, Relation::Son, date(1995, 1, 1)));
        assert_eq!(h.validate(), Err(HouseholdError::DuplicateMemberId(mid(1))));

        let n = id_number("19700101", "031");
        let mut h = household_with(vec![
            person(1, Relation::Head, date(1970, 1, 1)).with_id_number(n.clone()),
        ]);
        h.members
            .push(person(2, Relation::Spouse, date(1970, 1, 1)).with_id_number(n.clone()));
        let e = h.validate().expect_err("duplicate id number");
        assert_eq!(
            e.to_string(),
            format!(
                "身份证号{}在本户登记了两次（成员1、成员2），同一人只能登记一次",
                n.masked()
            )
        );
        assert!(!e.to_string().contains(n.as_str()), "never the full number");
    }

    #[test]
    fn head_must_agree_with_relations() {
        let mut h = household_with(vec![
            person(1, Relation::Head, date(1970, 1, 1)),
            person(2, Relation::Spouse, date(1970, 1, 1)),
        ]);
        h.head = Some(mid(2));
        assert_eq!(
            h.validate(),
            Err(HouseholdError::HeadRelationMismatch {
                name: "成员2".into(),
                relation: Relation::Spouse
            })
        );
        h.head = Some(mid(9));
        assert_eq!(h.validate(), Err(HouseholdError::HeadNotAMember));
        h.head = None;
        assert_eq!(
            h.validate(),
            Err(HouseholdError::HeadNotRecorded {
                name: "成员1".into()
            })
        );
    }

    #[rstest]
    #[case::grade_5(Health::Disability { grade: Some(5) }, WorkStatus::None, None)]
    #[case::grade_0(Health::Disability { grade: Some(0) }, WorkStatus::None, None)]
    #[case::months_0(Health::Healthy, WorkStatus::MigrantWork { place: "兰州".into(), months: 0 }, None)]
    #[case::months_13(Health::Healthy, WorkStatus::MigrantWork { place: "兰州".into(), months: 13 }, None)]
    #[case::no_place(Health::Healthy, WorkStatus::MigrantWork { place: " ".into(), months: 3 }, None)]
    #[case::no_reason(Health::Healthy, WorkStatus::None, Some(Schooling::CompulsoryOutOfSchool { reason: "".into() }))]
    fn member_fields_are_checked(
        #[case] health: Health,
        #[case] work: WorkStatus,
        #[case] schooling: Option<Schooling>,
    ) {
        let mut m = person(1, Relation::Head, date(1970, 1, 1));
        m.health = health;
        m.work = work;
        m.schooling = schooling;
        assert!(m.validate(1).is_err());
        assert!(household().add_member(m).is_err());
    }

    #[test]
    fn category_must_fit_the_households_history() {
        let mut h = household();
        h.category = Some(MonitoringCategory::UnstableFormerlyPoor);
        assert_eq!(h.validate(), Err(HouseholdError::CategoryNeedsFormerlyPoor));
        h.formerly_poor = true;
        h.category = Some(MonitoringCategory::MarginalAtRisk);
        assert_eq!(
            h.validate(),
            Err(HouseholdError::CategoryExcludesFormerlyPoor)
        );
        h.category = Some(MonitoringCategory::SuddenSevereHardship);
        assert_eq!(h.validate(), Ok(()));
    }

    #[test]
    fn birth_date_must_match_the_id_number() {
        let mut m = person(1, Relation::Head, date(1970, 1, 1))
            .with_id_number(id_number("19700101", "041"));
        m.birth_date = Some(date(1970, 1, 2));
        assert_eq!(
            m.validate(1),
            Err(HouseholdError::BirthDateMismatch {
                name: "成员1".into()
            })
        );
    }

    #[test]
    fn add_and_remove_members_keep_the_head() {
        let mut h = household_with(vec![person(1, Relation::Head, date(1970, 1, 1))]);
        assert_eq!(h.head, Some(mid(1)));
        assert_eq!(
            h.add_member(person(2, Relation::Head, date(1971, 1, 1))),
            Err(HouseholdError::MultipleHeads(2))
        );
        assert_eq!(
            h.add_member(person(1, Relation::Son, date(1990, 1, 1))),
            Err(HouseholdError::DuplicateMemberId(mid(1)))
        );
        let removed = h.remove_member(mid(1)).expect("present");
        assert_eq!(removed.id, mid(1));
        assert_eq!(h.head, None);
        assert_eq!(
            h.remove_member(mid(1)),
            Err(HouseholdError::NoSuchMember(mid(1)))
        );
        assert_eq!(h.validate(), Ok(()));
    }

    #[rstest]
    #[case(HouseholdField::Address, json!("安定区凤翔镇某村四社3号"))]
    #[case(HouseholdField::DoorPlate, json!("62110210520100123"))]
    #[case(HouseholdField::DoorPlate, json!(null))]
    #[case(HouseholdField::Phone, json!("13912345678"))]
    #[case(HouseholdField::Phone, json!(null))]
    #[case(HouseholdField::Category, json!("marginal_at_risk"))]
    #[case(HouseholdField::Category, json!(null))]
    #[case(HouseholdField::Monitoring, json!({"kind": "monitoring", "since": "2026-03-01"}))]
    #[case(HouseholdField::Monitoring, json!({"kind": "risk_eliminated", "on": "2026-09-01"}))]
    #[case(HouseholdField::Monitoring, json!({"kind": "not_monitored"}))]
    #[case(HouseholdField::FormerlyPoor, json!(true))]
    fn household_field_round_trip(#[case] field: HouseholdField, #[case] value: Value) {
        let mut h = household();
        h.set_field(field, value.clone()).expect("valid value");
        assert_eq!(h.field_value(field), value);
        assert_eq!(HouseholdField::from_key(field.key()), Ok(field));
        assert_eq!(
            serde_json::to_value(field).expect("ser"),
            Value::String(field.key().into())
        );
    }

    #[rstest]
    #[case(HouseholdField::Address, json!("  "), "住址不能为空")]
    #[case(HouseholdField::Address, json!(5), "“住址”应填文字")]
    #[case(HouseholdField::DoorPlate, json!(12), "“门牌号”应填文字或留空")]
    #[case(HouseholdField::Phone, json!("2391234567"), "“联系电话”填写有误：手机号应为11位数字，您填了10位")]
    #[case(HouseholdField::Category, json!("poor"), "“监测对象类型”填写有误：不是系统认可的选项或格式")]
    #[case(HouseholdField::Monitoring, json!({"kind": "monitoring"}), "“监测状态”填写有误：不是系统认可的选项或格式")]
    #[case(HouseholdField::FormerlyPoor, json!("是"), "“是否脱贫户”应填“是”或“否”")]
    fn household_field_rejects_bad_values(
        #[case] field: HouseholdField,
        #[case] value: Value,
        #[case] message: &str,
    ) {
        let mut h = household();
        let before = h.clone();
        let e = h.set_field(field, value).expect_err("bad value");
        assert_eq!(e.to_string(), message);
        assert_eq!(h, before, "a refused edit changes nothing");
    }

    #[test]
    fn text_fields_are_trimmed_and_blank_clears() {
        let mut h = household();
        h.set_field(HouseholdField::DoorPlate, json!("  A-12 "))
            .expect("valid");
        assert_eq!(h.door_plate.as_deref(), Some("A-12"));
        h.set_field(HouseholdField::DoorPlate, json!(""))
            .expect("valid");
        assert_eq!(h.door_plate, None);
        assert_eq!(
            HouseholdField::from_key("village"),
            Err(HouseholdError::UnknownField("village".into()))
        );
    }

    #[rstest]
    #[case(MemberField::Name, json!("李四"))]
    #[case(MemberField::Relation, json!("daughter_in_law"))]
    #[case(MemberField::BirthDate, json!("1988-02-29"))]
    #[case(MemberField::Health, json!({"kind": "disability", "grade": 2}))]
    #[case(MemberField::Health, json!({"kind": "serious_illness"}))]
    #[case(MemberField::Work, json!({"kind": "migrant_work", "place": "新疆", "months": 8}))]
    #[case(MemberField::Work, json!({"kind": "none"}))]
    #[case(MemberField::Schooling, json!({"kind": "compulsory_out_of_school", "reason": "厌学"}))]
    #[case(MemberField::Schooling, json!(null))]
    #[case(MemberField::MedicalInsurance, json!(true))]
    #[case(MemberField::SeriousIllnessInsurance, json!(true))]
    #[case(MemberField::LivingTogether, json!(false))]
    #[case(MemberField::LostLabourCapacity, json!(true))]
    fn member_field_round_trip(#[case] field: MemberField, #[case] value: Value) {
        let mut h = household_with(vec![person(1, Relation::Spouse, date(1988, 1, 1))]);
        h.set_member_field(mid(1), field, value.clone())
            .expect("valid value");
        let m = h.member(mid(1)).expect("present");
        assert_eq!(m.field_value(field), value);
        assert_eq!(MemberField::from_key(field.key()), Ok(field));
    }

    #[test]
    fn setting_an_id_number_sets_the_birth_date() {
        let n = id_number("19880229", "051");
        let mut h = household_with(vec![Member::new(mid(1), "王五", Relation::Head)]);
        h.set_member_field(mid(1), MemberField::IdNumber, json!(n.as_str()))
            .expect("valid");
        let m = h.member(mid(1)).expect("present");
        assert_eq!(m.birth_date, Some(date(1988, 2, 29)));
        assert_eq!(m.field_value(MemberField::IdNumber), json!(n.as_str()));
        // 29 February birthdays: one year older on 1 March in common years.
        assert_eq!(m.age_on(date(2026, 2, 28)), Some(37));
        assert_eq!(m.age_on(date(2026, 3, 1)), Some(38));
        let e = h
            .set_member_field(mid(1), MemberField::BirthDate, json!("1988-03-01"))
            .expect_err("contradicts id number");
        assert_eq!(
            e.to_string(),
            "“出生日期”填写有误：已登记身份证号，出生日期以身份证号为准"
        );
    }

    #[test]
    fn member_field_edits_keep_household_rules() {
        let n = id_number("19700101", "061");
        let mut h = household_with(vec![
            person(1, Relation::Head, date(1970, 1, 1)).with_id_number(n.clone()),
            person(2, Relation::Son, date(1995, 1, 1)),
        ]);
        assert_eq!(
            h.set_member_field(mid(2), MemberField::Relation, json!("head")),
            Err(HouseholdError::MultipleHeads(2))
        );
        assert!(matches!(
            h.set_member_field(mid(2), MemberField::IdNumber, json!(n.as_str())),
            Err(HouseholdError::DuplicateIdNumber { .. })
        ));
        // Change of head: the old head steps down, then the son takes over.
        h.set_member_field(mid(1), MemberField::Relation, json!("parent"))
            .expect("step down");
        assert_eq!(h.head, None);
        h.set_member_field(mid(2), MemberField::Relation, json!("head"))
            .expect("take over");
        assert_eq!(h.head, Some(mid(2)));
        assert_eq!(h.validate(), Ok(()));
        assert_eq!(
            h.set_member_field(mid(9), MemberField::Name, json!("某人")),
            Err(HouseholdError::NoSuchMember(mid(9)))
        );
    }

    #[rstest]
    #[case(MemberField::Name, json!(""), "“姓名”填写有误：姓名不能为空")]
    #[case(MemberField::IdNumber, json!("62010219700101"), "“身份证号”填写有误：身份证号应为18位，您填了14位，请核对后重新输入")]
    #[case(MemberField::Relation, json!("户主"), "“与户主关系”填写有误：不是系统认可的选项或格式")]
    #[case(MemberField::BirthDate, json!("1970/01/01"), "“出生日期”填写有误：不是系统认可的选项或格式")]
    #[case(MemberField::Health, json!({"kind": "disability", "grade": 7}), "“健康状况”填写有误：残疾等级应为1至4级")]
    #[case(MemberField::Work, json!({"kind": "migrant_work", "place": "新疆", "months": 0}), "“务工就业情况”填写有误：外出务工时间应为1至12个月")]
    #[case(MemberField::MedicalInsurance, json!(1), "“参加城乡居民医保”应填“是”或“否”")]
    fn member_field_rejects_bad_values(
        #[case] field: MemberField,
        #[case] value: Value,
        #[case] message: &str,
    ) {
        let mut h = household_with(vec![person(1, Relation::Head, date(1970, 1, 1))]);
        let before = h.clone();
        let e = h
            .set_member_field(mid(1), field, value)
            .expect_err("bad value");
        assert_eq!(e.to_string(), message);
        assert_eq!(h, before, "a refused edit changes nothing");
    }

    #[test]
    fn json_round_trip_uses_stable_snake_case() {
        let mut head = person(1, Relation::Head, date(1970, 1, 1))
            .with_id_number(id_number("19700101", "071"));
        head.health = Health::Disability { grade: Some(3) };
        head.work = WorkStatus::MigrantWork {
            place: "兰州".into(),
            months: 6,
        };
        let mut child = person(2, Relation::Grandchild, date(2015, 9, 1));
        child.schooling = Some(Schooling::CompulsoryInSchool);
        let mut h = household_with(vec![head, child]);
        h.monitoring = MonitoringStatus::Monitoring {
            since: date(2026, 3, 1),
        };
        h.category = Some(MonitoringCategory::SuddenSevereHardship);
        h.phone = Some(MobileNumber::parse("13912345678").expect("valid"));
        let json = serde_json::to_value(&h).expect("ser");
        assert_eq!(
            json["monitoring"],
            json!({"kind": "monitoring", "since": "2026-03-01"})
        );
        assert_eq!(json["category"], json!("sudden_severe_hardship"));
        assert_eq!(json["members"][0]["relation"], json!("head"));
        assert_eq!(
            json["members"][0]["health"],
            json!({"kind": "disability", "grade": 3})
        );
        assert_eq!(
            json["members"][0]["work"],
            json!({"kind": "migrant_work", "place": "兰州", "months": 6})
        );
        assert_eq!(json["members"][1]["relation"], json!("grandchild"));
        assert_eq!(
            json["members"][1]["schooling"],
            json!({"kind": "compulsory_in_school"})
        );
        assert_eq!(json["phone"], json!("13912345678"));
        let back: Household = serde_json::from_value(json).expect("de");
        assert_eq!(back, h);
    }

    #[test]
    fn relations_round_trip_chinese_names() {
        for r in Relation::ALL {
            assert_eq!(Relation::from_name_zh(r.name_zh()), Some(r));
        }
        assert_eq!(
            serde_json::to_string(&Relation::DaughterInLaw).expect("ser"),
            "\"daughter_in_law\""
        );
        assert_eq!(Relation::from_name_zh("邻居"), None);
    }
}
