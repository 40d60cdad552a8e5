//! A member of a household: relation, health, work, schooling and their checks.

use crate::ids::MemberId;
use crate::validation::ResidentIdNumber;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// 与户主关系: a member's relation to the head of household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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
