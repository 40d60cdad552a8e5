//! Plans, follow-ups, appeals, photos, alerts and proxy filings: their rules, forced.

use chrono::{DateTime, NaiveDate, Utc};

use super::*;
use crate::case::RiskType;
use crate::ids::{
    AlertId, AppealId, CaseId, FollowUpId, HouseholdId, MeasureId, PhotoId, PlanId, UserId, VisitId,
};
use crate::policy::{Policy, Population};
use crate::validation::id_check_char;
use crate::validation::{MobileNumber, ResidentIdNumber};
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
    let mut first = FollowUp::first_after(id(1), case_id(), household_id(), date(2026, 4, 1), 30)
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
fn appeal_goes_one_level_up(#[case] against: Level, #[case] expected: Result<Level, SupportError>) {
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
        serde_json::to_value(PhotoOwner::ProxyConfirmation { case_id: case_id() }).expect("ser")["kind"],
        json!("proxy_confirmation")
    );
}

#[rstest]
// The seed's own example: self-paid ¥19,151.81 after reimbursement.
#[case::seed_example_formerly_poor(1_915_181, Population::FormerlyPoor, true)]
#[case::seed_example_monitored(1_915_181, Population::Monitored, true)]
#[case::seed_example_other(1_915_181, Population::Other, false)]
#[case::at_5000_counts(5_000 * 100, Population::FormerlyPoor, true)]
#[case::below_5000(4_999 * 100 + 99, Population::FormerlyPoor, false)]
#[case::at_20000_counts(20_000 * 100, Population::Other, true)]
fn medical_threshold_is_the_provinces_rule_by_population(
    #[case] fen: i64,
    #[case] population: Population,
    #[case] expected: bool,
) {
    let t = AlertTrigger::MedicalOutOfPocket {
        out_of_pocket_fen: fen,
    };
    assert_eq!(t.meets_threshold(&Policy::gansu(), population), expected);
}

#[test]
fn yuan_converts_to_fen_and_other_triggers_count_by_themselves() {
    let p = Policy::gansu();
    assert_eq!(
        AlertTrigger::medical_out_of_pocket_yuan(20_001),
        AlertTrigger::MedicalOutOfPocket {
            out_of_pocket_fen: 2_000_100
        }
    );
    // A province that raises its figure is obeyed.
    let mut stricter = p.clone();
    for t in &mut stricter.medical_out_of_pocket_yuan {
        t.yuan = 30_000;
    }
    let cost = AlertTrigger::medical_out_of_pocket_yuan(25_000);
    assert!(cost.meets_threshold(&p, Population::Other));
    assert!(!cost.meets_threshold(&stricter, Population::Other));
    assert!(
        !AlertTrigger::UnsafeHouse {
            rating: HouseRating::B
        }
        .meets_threshold(&p, Population::Other)
    );
    assert!(
        AlertTrigger::UnsafeHouse {
            rating: HouseRating::C
        }
        .meets_threshold(&p, Population::Other)
    );
    assert!(AlertTrigger::SchoolDropOut.meets_threshold(&p, Population::Other));
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
fn departments_come_from_the_provinces_list() {
    let p = Policy::gansu();
    let medical = Department::from_name_zh("医保", &p).expect("医保");
    assert_eq!(medical.code(), "medical_security");
    assert_eq!(medical.name_zh(&p), "医保");
    assert_eq!(
        Department::of("publicity_cyberspace", &p).map(|d| d.name_zh(&p).to_owned()),
        Some("宣传（网信中心）".to_owned())
    );
    // Not on the published list: the earlier made-up entries are gone.
    assert_eq!(Department::from_name_zh("金融监管", &p), None);
    assert_eq!(
        serde_json::to_value(&medical).expect("ser"),
        json!("medical_security")
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
        department: Department::of("medical_security", &Policy::gansu()).expect("listed"),
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
