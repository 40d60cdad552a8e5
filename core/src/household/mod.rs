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

use crate::division::{DivisionCode, Level};
use crate::ids::MemberId;

mod fields;
mod member;
mod record;
#[cfg(test)]
mod tests;

pub use fields::*;
pub use member::*;
pub use record::*;

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
