//! The declaration form (申报表): its fields and how each is checked, for every way of filling it.
//!
//! A resident fills it on the public page after scanning the village's QR code; a cadre fills
//! the same fields on the phone for an elderly villager (代申报). Both must say the same thing
//! about the same mistake, beside the same field, and keep everything else that was typed, so
//! the check is written once here. It reports *every* problem at once ([`FieldProblem`] per
//! field, in form order): an elderly resident should not have to submit five times to learn
//! about five mistakes.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::{Applicant, RiskType};
use crate::division::{DivisionCode, Level};
use crate::regions::Regions;
use crate::validation::{MobileNumber, ResidentIdNumber};

/// The difficulty types the form offers, in the order printed (the resident form's list:
/// 因病、因学、因残、因灾、因意外事故、务工就业不稳、住房安全、饮水安全、其他).
pub const FORM_DIFFICULTIES: [RiskType; 9] = [
    RiskType::Illness,
    RiskType::Schooling,
    RiskType::Disability,
    RiskType::Disaster,
    RiskType::Accident,
    RiskType::UnstableEmployment,
    RiskType::HousingSafety,
    RiskType::DrinkingWater,
    RiskType::Other,
];

/// Longest applicant name, in characters (names of some minorities are long).
pub const MAX_NAME_CHARS: usize = 30;
/// Longest address detail, in characters.
pub const MAX_ADDRESS_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 300;
/// Largest household size accepted.
pub const MAX_HOUSEHOLD_SIZE: u32 = 30;

/// The form's field names, as the pages and the app name them (`field` of a problem).
pub mod fields {
    pub const NAME: &str = "applicant_name";
    pub const ID_NUMBER: &str = "id_number";
    pub const PHONE: &str = "phone";
    pub const VILLAGE: &str = "village";
    pub const ADDRESS: &str = "address";
    pub const HOUSEHOLD_SIZE: &str = "household_size";
    pub const RISK_TYPES: &str = "risk_types";
    pub const DESCRIPTION: &str = "description";
    pub const CONSENT: &str = "consent";
}

/// The form as typed: every field a string, exactly as it arrived, so that nothing typed is
/// lost when the form is shown again with its problems.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeclarationForm {
    pub applicant_name: String,
    pub id_number: String,
    pub phone: String,
    /// 12-digit village code.
    pub village: String,
    /// Address within the village (组/社, house number).
    pub address: String,
    pub household_size: String,
    /// `RiskType` keys (`illness`, …).
    pub risk_types: Vec<String>,
    pub description: String,
}

/// One field's problem, in the words shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message_zh}")]
pub struct FieldProblem {
    pub field: &'static str,
    pub message_zh: String,
}

/// A form that passed every check, in domain types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedForm {
    pub applicant: Applicant,
    pub id_number: ResidentIdNumber,
    pub phone: Option<MobileNumber>,
    pub village: DivisionCode,
    pub household_size: Option<u32>,
    pub risk_types: Vec<RiskType>,
    pub description: String,
}

/// Whether the phone number is required (the resident form needs it for the receipt SMS and
/// the status lookup; a proxy filing for someone without a phone does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneRule {
    Required,
    Optional,
}

fn problem(field: &'static str, message_zh: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field,
        message_zh: message_zh.into(),
    }
}

/// A risk type's form key (`illness`).
pub fn risk_key(r: RiskType) -> String {
    match serde_json::to_value(r) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Check a declaration form filled on `today`. `may_file_in` says whether the village is one
/// the filler may file for (any Gansu village on the public form; the cadre's scope in the app).
pub fn check_declaration(
    form: &DeclarationForm,
    today: NaiveDate,
    phone_rule: PhoneRule,
    may_file_in: impl Fn(&DivisionCode) -> bool,
) -> Result<CheckedForm, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let name = form.applicant_name.trim();
    if name.is_empty() {
        problems.push(problem(fields::NAME, "请填写申请人姓名"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.push(problem(
            fields::NAME,
            format!("姓名最多{MAX_NAME_CHARS}个字"),
        ));
    } else if name
        .chars()
        .any(|c| c.is_control() || "<>{}[]|\\/=;".contains(c))
    {
        problems.push(problem(
            fields::NAME,
            "姓名中有不能使用的符号，请只填写姓名",
        ));
    }
    let id_number = match ResidentIdNumber::parse(&form.id_number, today) {
        Ok(n) => Some(n),
        Err(e) => {
            problems.push(problem(fields::ID_NUMBER, e.to_string()));
            None
        }
    };
    let phone = if form.phone.trim().is_empty() {
        if phone_rule == PhoneRule::Required {
            problems.push(problem(
                fields::PHONE,
                "请填写手机号，用于接收回执短信和查询进度",
            ));
        }
        None
    } else {
        match MobileNumber::parse(&form.phone) {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(problem(fields::PHONE, e.to_string()));
                None
            }
        }
    };
    let village = match DivisionCode::parse(form.village.trim()) {
        Ok(code) if code.level() == Level::Village && Regions::gansu().get(&code).is_some() => {
            if may_file_in(&code) {
                Some(code)
            } else {
                problems.push(problem(fields::VILLAGE, "不能为这个村申报"));
                None
            }
        }
        _ => {
            problems.push(problem(fields::VILLAGE, "请选择所在的村"));
            None
        }
    };
    let address = form.address.trim();
    if address.is_empty() {
        problems.push(problem(fields::ADDRESS, "请填写详细地址（如：3社12号）"));
    } else if address.chars().count() > MAX_ADDRESS_CHARS {
        problems.push(problem(
            fields::ADDRESS,
            format!("地址最多{MAX_ADDRESS_CHARS}个字"),
        ));
    }
    let size_text: String = form
        .household_size
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect();
    let size_text = size_text.trim_end_matches('人').trim();
    let household_size = if size_text.is_empty() {
        problems.push(problem(fields::HOUSEHOLD_SIZE, "请填写家庭人口数"));
        None
    } else {
        match size_text.parse::<u32>() {
            Ok(n) if (1..=MAX_HOUSEHOLD_SIZE).contains(&n) => Some(n),
            _ => {
                problems.push(problem(
                    fields::HOUSEHOLD_SIZE,
                    format!("家庭人口数应为1到{MAX_HOUSEHOLD_SIZE}之间的整数"),
                ));
                None
            }
        }
    };
    let mut risk_types = Vec::new();
    for key in &form.risk_types {
        match FORM_DIFFICULTIES.iter().find(|r| risk_key(**r) == *key) {
            Some(r) if !risk_types.contains(r) => risk_types.push(*r),
            Some(_) => {}
            None => {
                problems.push(problem(fields::RISK_TYPES, "困难类型不在可选范围内"));
                break;
            }
        }
    }
    if form.risk_types.is_empty() {
        problems.push(problem(fields::RISK_TYPES, "请至少选择一种困难类型"));
    }
    risk_types.sort();
    let description = form.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        problems.push(problem(
            fields::DESCRIPTION,
            format!(
                "困难情况最多写{MAX_DESCRIPTION_CHARS}个字，现在有{}个字",
                description.chars().count()
            ),
        ));
    }
    match (problems.is_empty(), id_number, village) {
        (true, Some(id_number), Some(village)) => Ok(CheckedForm {
            applicant: Applicant {
                name: name.to_owned(),
                id_number: id_number.as_str().to_owned(),
                phone: phone.as_ref().map(|p| p.as_str().to_owned()),
                address: address.to_owned(),
                household_size,
            },
            id_number,
            phone,
            village,
            household_size,
            risk_types,
            description: description.to_owned(),
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
    }

    fn good() -> DeclarationForm {
        DeclarationForm {
            applicant_name: " 王秀英 ".into(),
            id_number: "11010519491231002x".into(),
            phone: "138 0013 8000".into(),
            village: "621102105201".into(),
            address: "3社12号".into(),
            household_size: "４人".into(),
            risk_types: vec!["illness".into(), "drinking_water".into(), "illness".into()],
            description: "老伴住院，自付医药费三万多".into(),
        }
    }

    #[test]
    fn a_good_form_comes_out_in_domain_types() {
        let c = check_declaration(&good(), today(), PhoneRule::Required, |_| true).expect("valid");
        assert_eq!(c.applicant.name, "王秀英");
        assert_eq!(c.applicant.id_number, "11010519491231002X");
        assert_eq!(c.applicant.phone.as_deref(), Some("13800138000"));
        assert_eq!(c.household_size, Some(4));
        assert_eq!(
            c.risk_types,
            vec![RiskType::Illness, RiskType::DrinkingWater]
        );
        assert_eq!(c.village.as_str(), "621102105201");
    }

    #[test]
    fn every_problem_is_reported_beside_its_field() {
        let form = DeclarationForm {
            applicant_name: "".into(),
            id_number: "110105194912310021".into(), // wrong check digit
            phone: "1380013800".into(),
            village: "621102105".into(), // a township
            address: " ".into(),
            household_size: "0".into(),
            risk_types: vec![],
            description: "字".repeat(MAX_DESCRIPTION_CHARS + 1),
        };
        let problems =
            check_declaration(&form, today(), PhoneRule::Required, |_| true).expect_err("bad");
        let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            vec![
                fields::NAME,
                fields::ID_NUMBER,
                fields::PHONE,
                fields::VILLAGE,
                fields::ADDRESS,
                fields::HOUSEHOLD_SIZE,
                fields::RISK_TYPES,
                fields::DESCRIPTION
            ]
        );
        assert!(problems[1].message_zh.contains("校验"), "{:?}", problems[1]);
        assert!(problems[2].message_zh.contains("11位"), "{:?}", problems[2]);
    }

    #[test]
    fn the_phone_is_optional_for_a_proxy_filing_and_the_scope_is_enforced() {
        let mut form = good();
        form.phone = "".into();
        assert!(check_declaration(&form, today(), PhoneRule::Optional, |_| true).is_ok());
        let e = check_declaration(&form, today(), PhoneRule::Required, |_| true).expect_err("x");
        assert_eq!(e[0].field, fields::PHONE);
        let e = check_declaration(&good(), today(), PhoneRule::Required, |_| false)
            .expect_err("out of scope");
        assert_eq!(e[0].field, fields::VILLAGE);
        let mut form = good();
        form.risk_types = vec!["lack_of_labour".into()];
        let e = check_declaration(&form, today(), PhoneRule::Required, |_| true).expect_err("x");
        assert_eq!(e[0].field, fields::RISK_TYPES);
        form.applicant_name = "<script>".into();
        form.risk_types = vec!["other".into()];
        let e = check_declaration(&form, today(), PhoneRule::Required, |_| true).expect_err("x");
        assert_eq!(e[0].field, fields::NAME);
    }
}
