//! The built-in Gansu template (入户核查表 v1), kept as data in
//! `assets/checklist/gansu-home-verification.v1.json` and read once, plus its item keys and an
//! example filling for demonstration data and tests.

use super::*;
use crate::ids::TemplateId;

/// A complete filling of [`default_template`] for a typical household: 4 people, income below
/// the line, water safe, qualifies as 边缘易致贫户. The photo items ([`EXAMPLE_PHOTO_ITEMS`])
/// are left out: they need photos. For demonstration data and tests of the apps.
pub fn example_filling() -> Vec<(&'static str, Answer)> {
    use keys::*;
    let yes = || Answer::Bool(true);
    let no = || Answer::Bool(false);
    let ch = |s: &str| Answer::Choice(s.to_owned());
    let mut a = vec![
        (HOUSEHOLD_SIZE, Answer::Integer(4)),
        (LABOUR_COUNT, Answer::Integer(2)),
        (SERIOUSLY_ILL_COUNT, Answer::Integer(1)),
        (DISABLED_COUNT, Answer::Integer(0)),
        (MIGRANT_WORKER_COUNT, Answer::Integer(1)),
        (INCOME_WAGES, Answer::yuan(12_000)),
        (INCOME_CROPS, Answer::yuan(3_000)),
        (INCOME_PENSION, Answer::yuan(1_200)),
        (COST_PRODUCTION, Answer::yuan(1_500)),
        (SPENDING_MEDICAL, Answer::yuan(0)),
        (SPENDING_EDUCATION, Answer::yuan(0)),
        (FOOD_SUFFICIENT, yes()),
        (CLOTHING_SUFFICIENT, yes()),
        (HAS_SCHOOL_AGE_CHILDREN, no()),
        (MEDICAL_INSURANCE_ALL, yes()),
        (CRITICAL_ILLNESS_INSURANCE, yes()),
        (HAS_CHRONIC_PATIENT, no()),
        (HOUSING_RATING, ch("b")),
        (HOUSING_CRACKS, no()),
        (HOUSING_LEAKS, no()),
        (WATER_SOURCE_TYPE, ch("piped")),
        (WATER_LITRES_PER_PERSON_DAY, Answer::Integer(40)),
        (WATER_QUALITY_METHOD, ch("sensory")),
        (WATER_QUALITY_OK, yes()),
        (WATER_PIPED_IN, yes()),
        (WATER_OUTAGE_DAYS, Answer::Integer(3)),
        (RISK_TYPES, Answer::Choices(vec!["illness".into()])),
        (
            HARDSHIP_DESCRIPTION,
            Answer::Text("户主患病住院，家中收入减少".into()),
        ),
        (NEEDS, Answer::Choices(vec!["medical_assistance".into()])),
        (CONCLUSION, ch("qualifies")),
        (MONITORING_CATEGORY, ch("marginal_at_risk")),
    ];
    for k in [
        INCOME_LIVESTOCK,
        INCOME_OTHER_BUSINESS,
        INCOME_DIBAO,
        INCOME_TEKUN,
        INCOME_DISABILITY_ALLOWANCE,
        INCOME_OTHER_TRANSFERS,
        INCOME_PROPERTY,
    ] {
        a.push((k, Answer::yuan(0)));
    }
    a
}

/// The items of [`default_template`] that need a photo once [`example_filling`] is given:
/// the house (attached to its rating), the water source and the signed authorisation.
pub const EXAMPLE_PHOTO_ITEMS: [&str; 3] = [
    keys::HOUSING_RATING,
    keys::WATER_SOURCE_PHOTO,
    keys::AUTHORISATION_SIGNATURE,
];

/// Item keys of [`default_template`]. Later versions should keep a key when the question keeps
/// its meaning, so answers and reports stay comparable across versions.
pub mod keys {
    // 家庭基本情况
    pub const HOUSEHOLD_SIZE: &str = "household_size";
    pub const REGISTERED_SIZE: &str = "registered_size";
    pub const LABOUR_COUNT: &str = "labour_count";
    pub const SERIOUSLY_ILL_COUNT: &str = "seriously_ill_count";
    pub const DISABLED_COUNT: &str = "disabled_count";
    pub const MIGRANT_WORKER_COUNT: &str = "migrant_worker_count";
    // 收入
    pub const INCOME_WAGES: &str = "income_wages";
    pub const INCOME_CROPS: &str = "income_crops";
    pub const INCOME_LIVESTOCK: &str = "income_livestock";
    pub const INCOME_OTHER_BUSINESS: &str = "income_other_business";
    pub const INCOME_DIBAO: &str = "income_dibao";
    pub const INCOME_TEKUN: &str = "income_tekun";
    pub const INCOME_DISABILITY_ALLOWANCE: &str = "income_disability_allowance";
    pub const INCOME_PENSION: &str = "income_pension";
    pub const INCOME_OTHER_TRANSFERS: &str = "income_other_transfers";
    pub const INCOME_PROPERTY: &str = "income_property";
    pub const COST_PRODUCTION: &str = "cost_production";
    // 刚性支出
    pub const SPENDING_MEDICAL: &str = "spending_medical_out_of_pocket";
    pub const MEDICAL_BILLS_PHOTO: &str = "medical_bills_photo";
    pub const SPENDING_EDUCATION: &str = "spending_education";
    // 两不愁
    pub const FOOD_SUFFICIENT: &str = "food_sufficient";
    pub const CLOTHING_SUFFICIENT: &str = "clothing_sufficient";
    // 义务教育
    pub const HAS_SCHOOL_AGE_CHILDREN: &str = "has_school_age_children";
    pub const CHILD_OUT_OF_SCHOOL: &str = "child_out_of_school";
    pub const OUT_OF_SCHOOL_REASON: &str = "out_of_school_reason";
    pub const OUT_OF_SCHOOL_DETAIL: &str = "out_of_school_detail";
    // 基本医疗
    pub const MEDICAL_INSURANCE_ALL: &str = "medical_insurance_all";
    pub const CRITICAL_ILLNESS_INSURANCE: &str = "critical_illness_insurance";
    pub const MEDICAL_ASSISTANCE: &str = "medical_assistance";
    pub const HAS_CHRONIC_PATIENT: &str = "has_chronic_patient";
    pub const CHRONIC_CARD: &str = "chronic_card";
    // 住房安全
    pub const HOUSING_RATING: &str = "housing_rating";
    pub const HOUSING_CRACKS: &str = "housing_cracks";
    pub const HOUSING_LEAKS: &str = "housing_leaks";
    pub const HOUSING_RENOVATION: &str = "housing_renovation";
    // 饮水安全
    pub const WATER_SOURCE_TYPE: &str = "water_source_type";
    pub const WATER_LITRES_PER_PERSON_DAY: &str = "water_litres_per_person_day";
    pub const WATER_QUALITY_METHOD: &str = "water_quality_method";
    pub const WATER_QUALITY_REPORT_PHOTO: &str = "water_quality_report_photo";
    pub const WATER_QUALITY_OK: &str = "water_quality_ok";
    pub const WATER_PIPED_IN: &str = "water_piped_in";
    pub const WATER_FETCH_MINUTES: &str = "water_fetch_minutes";
    pub const WATER_FETCH_HORIZONTAL_M: &str = "water_fetch_horizontal_m";
    pub const WATER_FETCH_VERTICAL_M: &str = "water_fetch_vertical_m";
    pub const WATER_OUTAGE_DAYS: &str = "water_outage_days";
    pub const WATER_SOURCE_PHOTO: &str = "water_source_photo";
    // 风险研判与帮扶需求
    pub const RISK_TYPES: &str = "risk_types";
    pub const RISK_OTHER_DETAIL: &str = "risk_other_detail";
    pub const HARDSHIP_DESCRIPTION: &str = "hardship_description";
    pub const NEEDS: &str = "needs";
    pub const NEEDS_DETAIL: &str = "needs_detail";
    // 核查结论
    pub const CONCLUSION: &str = "conclusion";
    pub const MONITORING_CATEGORY: &str = "monitoring_category";
    pub const NOT_QUALIFIED_REASON: &str = "not_qualified_reason";
    pub const VERIFIER_OPINION: &str = "verifier_opinion";
    // 承诺授权与佐证
    pub const AUTHORISATION_SIGNATURE: &str = "authorisation_signature";
    pub const EVIDENCE_PHOTOS: &str = "evidence_photos";
}

/// The id of the built-in template, fixed so that every phone and the server agree on it.
pub fn default_template_id() -> TemplateId {
    // 2025-01-01T00:00:00Z, serial 1.
    TemplateId::from_parts(1_735_689_600_000, 1)
}

/// The template as shipped: the JSON asset, which the preview mock of the app's screens reads
/// too, so there is one copy.
const DEFAULT_TEMPLATE_JSON: &str =
    include_str!("../../../assets/checklist/gansu-home-verification.v1.json");

/// Gansu's home-verification checklist (入户核查表), version 1, with the default monitoring
/// line of ¥6,000. Household members (name, 身份证号, relation, health, work, schooling,
/// insurance) are recorded on the household, not here; this form records the counts that the
/// derivation needs.
pub fn default_template() -> ChecklistTemplate {
    static PARSED: std::sync::OnceLock<ChecklistTemplate> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| match serde_json::from_str(DEFAULT_TEMPLATE_JSON) {
            Ok(t) => t,
            // The asset is checked by a test on every build; a broken one is a build bug.
            Err(e) => panic!("assets/checklist/gansu-home-verification.v1.json: {e}"),
        })
        .clone()
}
