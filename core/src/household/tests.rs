//! Tests of this module's rules.

use super::*;
use crate::case::MonitoringCategory;
use crate::division::DivisionCode;
use crate::ids::{HouseholdId, MemberId};
use crate::validation::{MobileNumber, ResidentIdNumber};
use chrono::NaiveDate;
use serde_json::Value;

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
    let elder =
        Member::new(mid(2), "张父", Relation::Parent).with_id_number(id_number("19500101", "001"));
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
        person(1, Relation::Head, date(1970, 1, 1)).with_id_number(id_number("19700101", "021")),
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
    let mut m =
        person(1, Relation::Head, date(1970, 1, 1)).with_id_number(id_number("19700101", "041"));
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
    let mut head =
        person(1, Relation::Head, date(1970, 1, 1)).with_id_number(id_number("19700101", "071"));
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
