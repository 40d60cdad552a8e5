//! Household and member fields as edited, synced and merged one by one.

use crate::division::{DivisionCode, Level};
use crate::validation::ResidentIdNumber;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

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

pub(crate) fn check_village(village: &DivisionCode) -> Result<(), HouseholdError> {
    if village.level() == Level::Village {
        Ok(())
    } else {
        Err(HouseholdError::NotAVillage {
            code: village.clone(),
            level: village.level(),
        })
    }
}

pub(crate) fn duplicate_id_number(
    n: &ResidentIdNumber,
    first: &Member,
    second: &Member,
) -> HouseholdError {
    HouseholdError::DuplicateIdNumber {
        masked: n.masked(),
        first: first.name.clone(),
        second: second.name.clone(),
    }
}

/// Serialising these plain data types cannot fail; `Null` is never produced in practice.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> HouseholdError {
    HouseholdError::InvalidValue {
        field,
        reason: reason.into(),
    }
}

pub(crate) fn string_value(field: &'static str, value: Value) -> Result<String, HouseholdError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(HouseholdError::WrongType {
            field,
            expected: "文字",
        }),
    }
}

/// `null` or text; blank text counts as `null`.
pub(crate) fn optional_string(
    field: &'static str,
    value: Value,
) -> Result<Option<String>, HouseholdError> {
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

pub(crate) fn bool_value(field: &'static str, value: Value) -> Result<bool, HouseholdError> {
    value.as_bool().ok_or(HouseholdError::WrongType {
        field,
        expected: "“是”或“否”",
    })
}

/// A value of one of this module's enums or a date, in its wire format.
pub(crate) fn typed<T: DeserializeOwned>(
    field: &'static str,
    value: Value,
) -> Result<T, HouseholdError> {
    serde_json::from_value(value).map_err(|_| invalid(field, "不是系统认可的选项或格式"))
}
