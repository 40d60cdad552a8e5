use super::*;
use crate::checklist::keys::*;
use crate::checklist::{Answer, ChecklistTemplate};
use crate::checklist::{AnswerProblemKind, default_template, tests::filled};
use crate::ids::{CaseId, HouseholdId, PhotoId, UserId, VisitId};
use chrono::TimeZone;
use chrono::{DateTime, Utc};
use rstest::rstest;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0)
        .single()
        .expect("valid time")
}

fn fixed(lat: f64, lng: f64, accuracy_m: f64, fixed_at: DateTime<Utc>) -> VisitPlace {
    VisitPlace::Fixed {
        point: GeoPoint::new(lat, lng, accuracy_m).expect("valid"),
        fixed_at,
    }
}

fn member(n: u128, name: &str) -> Attendee {
    Attendee::Member {
        member_id: crate::ids::MemberId::from_parts(1_772_400_000_000, n),
        name: name.into(),
        relation: crate::household::Relation::Head,
    }
}

fn cadre(name: &str) -> Attendee {
    Attendee::Cadre {
        name: name.into(),
        role: CadreRole::VillageCadre,
    }
}

fn photo(n: u128) -> PhotoId {
    PhotoId::from_parts(1_750_000_000_000, n)
}

fn draft() -> (Visit, ChecklistTemplate) {
    let t = default_template();
    let v = Visit::new(
        VisitId::from_parts(1_772_400_000_000, 1),
        HouseholdId::from_parts(1_772_400_000_000, 2),
        Some(CaseId::from_parts(1_772_400_000_000, 3)),
        VisitPurpose::Verification,
        &t,
        UserId::from_parts(1_772_400_000_000, 4),
        at(1),
    );
    (v, t)
}

/// A draft with every answer of a complete checklist, entered through the rules.
fn filled_draft() -> (Visit, ChecklistTemplate) {
    let (mut v, t) = draft();
    let (answers, photos) = filled();
    for (k, a) in answers {
        v.set_answer(&k, a, &t).expect("valid answer");
    }
    for (k, ps) in photos {
        for p in ps {
            v.attach_photo(&k, p, &t).expect("photo allowed");
        }
    }
    (v, t)
}

#[test]
fn new_visit_is_an_empty_draft_of_its_template() {
    let (v, t) = draft();
    assert_eq!(v.status(), VisitStatus::Draft);
    assert!(!v.is_final());
    assert!(v.answers().is_empty());
    assert!(v.uses(&t));
    assert_eq!((v.template_id(), v.template_version()), (t.id, 1));
    assert_eq!(v.supersedes(), None);
    assert_eq!(v.finalized_at(), None);
}

#[test]
fn set_answer_checks_the_item() {
    let (mut v, t) = draft();
    v.set_answer(HOUSEHOLD_SIZE, Answer::Integer(3), &t)
        .expect("valid");
    assert_eq!(v.answers().get(HOUSEHOLD_SIZE), Some(&Answer::Integer(3)));

    let e = v
        .set_answer(HOUSEHOLD_SIZE, Answer::Integer(0), &t)
        .expect_err("out of range");
    assert!(matches!(&e, VisitError::InvalidAnswer(p) if p.kind == AnswerProblemKind::OutOfRange));
    assert_eq!(e.to_string(), "“共同生活家庭人口数”应在1到30人之间");
    assert_eq!(v.answers().get(HOUSEHOLD_SIZE), Some(&Answer::Integer(3)));

    let e = v
        .set_answer("nope", Answer::Bool(true), &t)
        .expect_err("unknown");
    assert_eq!(e, VisitError::UnknownItem("nope".into()));
    assert_eq!(e.code(), "unknown_item");

    let mut other = default_template();
    other.version = 2;
    let e = v
        .set_answer(HOUSEHOLD_SIZE, Answer::Integer(3), &other)
        .expect_err("other version");
    assert_eq!(e.code(), "template_mismatch");

    v.clear_answer(HOUSEHOLD_SIZE, &t).expect("clear");
    assert!(v.answers().is_empty());
}

#[test]
fn evaluation_follows_answers() {
    let (mut v, t) = draft();
    v.set_answer(HOUSEHOLD_SIZE, Answer::Integer(3), &t)
        .expect("valid");
    v.set_answer(INCOME_WAGES, Answer::yuan(15_000), &t)
        .expect("valid");
    let inc = v
        .evaluate(&t)
        .expect("same template")
        .income
        .expect("income");
    assert_eq!(inc.per_person_yuan, 5000);
}

#[test]
fn finalize_refuses_without_signature_and_names_it() {
    let (mut v, t) = filled_draft();
    let sig = v.answers()[AUTHORISATION_SIGNATURE].photos()[0];
    v.detach_photo(AUTHORISATION_SIGNATURE, sig, &t)
        .expect("detach");
    assert!(!v.answers().contains_key(AUTHORISATION_SIGNATURE));

    let e = v.finalize(at(2), &t).expect_err("no signature");
    let VisitError::Incomplete(problems) = &e else {
        panic!("expected Incomplete, got {e:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].item, AUTHORISATION_SIGNATURE);
    assert_eq!(problems[0].kind, AnswerProblemKind::MissingSignature);
    assert_eq!(
        e.to_string(),
        "核查表还没有填完，不能定稿：请拍照：承诺授权书（户主签字并按手印）"
    );
    assert_eq!(e.code(), "incomplete");
    assert!(!v.is_final());
    assert_eq!(v.outstanding(&t).expect("same template"), problems.clone());
}

#[test]
fn finalized_visit_cannot_be_edited() {
    let (mut v, t) = filled_draft();
    assert_eq!(v.outstanding(&t).expect("same template"), vec![]);
    v.finalize(at(2), &t).expect("complete");
    assert_eq!(
        v.status(),
        VisitStatus::Final {
            finalized_at: at(2)
        }
    );
    assert_eq!(v.finalized_at(), Some(at(2)));

    let before = v.clone();
    let e = v
        .set_answer(HOUSEHOLD_SIZE, Answer::Integer(4), &t)
        .expect_err("locked");
    assert_eq!(e, VisitError::Finalized);
    assert_eq!(
        e.to_string(),
        "已定稿的核查表不能修改，如需更正请新建更正版本"
    );
    assert_eq!(
        v.clear_answer(HOUSEHOLD_SIZE, &t),
        Err(VisitError::Finalized)
    );
    assert_eq!(
        v.attach_photo(EVIDENCE_PHOTOS, photo(50), &t),
        Err(VisitError::Finalized)
    );
    assert_eq!(
        v.detach_photo(HOUSING_RATING, photo(3), &t),
        Err(VisitError::Finalized)
    );
    let here = fixed(35.6, 104.6, 8.0, at(2));
    assert_eq!(v.set_location(here), Err(VisitError::Finalized));
    assert_eq!(
        v.set_present(vec![cadre("王五")]),
        Err(VisitError::Finalized)
    );
    assert_eq!(v.finalize(at(3), &t), Err(VisitError::Finalized));
    assert_eq!(v, before);
}

#[test]
fn finalize_drops_answers_to_hidden_items() {
    let (mut v, t) = filled_draft();
    v.set_answer(CONCLUSION, Answer::Choice("does_not_qualify".into()), &t)
        .expect("valid");
    v.set_answer(NOT_QUALIFIED_REASON, Answer::Text("收入稳定".into()), &t)
        .expect("valid");
    // The category answered earlier is now hidden.
    assert!(v.answers().contains_key(MONITORING_CATEGORY));
    v.finalize(at(2), &t).expect("complete");
    assert!(!v.answers().contains_key(MONITORING_CATEGORY));
    assert!(v.answers().contains_key(NOT_QUALIFIED_REASON));
}

#[test]
fn correction_links_to_the_finalized_visit() {
    let (mut v, t) = filled_draft();
    let new_id = VisitId::from_parts(1_772_500_000_000, 9);
    let corrector = UserId::from_parts(1_772_500_000_000, 10);
    assert_eq!(
        v.correction(new_id, at(5), corrector),
        Err(VisitError::NotFinal)
    );
    assert_eq!(VisitError::NotFinal.code(), "not_final");

    v.set_location(fixed(35.58, 104.62, 12.5, at(1)))
        .expect("draft");
    v.set_present(vec![member(1, "张三"), cadre("王五")])
        .expect("draft");
    v.finalize(at(2), &t).expect("complete");
    let mut c = v.correction(new_id, at(5), corrector).expect("final");
    assert_eq!(c.id(), new_id);
    assert_eq!(c.supersedes(), Some(v.id()));
    assert_eq!(c.status(), VisitStatus::Draft);
    assert_eq!(c.visitor(), corrector);
    assert_eq!(c.started_at(), at(5));
    assert_eq!(c.answers(), v.answers());
    assert_eq!(c.item_photos(), v.item_photos());
    assert_eq!(
        (
            c.household_id(),
            c.case_id(),
            c.purpose(),
            c.location(),
            c.present()
        ),
        (
            v.household_id(),
            v.case_id(),
            v.purpose(),
            v.location(),
            v.present()
        )
    );
    assert!(c.uses(&t));

    c.set_answer(HOUSEHOLD_SIZE, Answer::Integer(4), &t)
        .expect("a correction is a draft");
    c.finalize(at(6), &t).expect("complete");
    assert_eq!(v.answers()[HOUSEHOLD_SIZE], Answer::Integer(3));
}

#[test]
fn photos_go_to_the_answer_or_the_item() {
    let (mut v, t) = draft();
    v.attach_photo(WATER_SOURCE_PHOTO, photo(1), &t)
        .expect("photo item");
    v.attach_photo(WATER_SOURCE_PHOTO, photo(1), &t)
        .expect("again");
    v.attach_photo(WATER_SOURCE_PHOTO, photo(2), &t)
        .expect("second");
    assert_eq!(
        v.answers()[WATER_SOURCE_PHOTO],
        Answer::Photos(vec![photo(1), photo(2)])
    );
    v.attach_photo(HOUSING_RATING, photo(3), &t)
        .expect("house photo");
    assert_eq!(v.item_photos()[HOUSING_RATING], vec![photo(3)]);
    let e = v
        .attach_photo(HOUSEHOLD_SIZE, photo(4), &t)
        .expect_err("no photos");
    assert_eq!(e, VisitError::PhotosNotAllowed("共同生活家庭人口数".into()));
    assert_eq!(e.to_string(), "“共同生活家庭人口数”这一项不需要拍照");

    v.attach_photo(AUTHORISATION_SIGNATURE, photo(5), &t)
        .expect("signature");
    assert_eq!(v.authorisation_photos(&t), vec![photo(5)]);
    v.detach_photo(HOUSING_RATING, photo(3), &t)
        .expect("detach");
    assert!(v.item_photos().is_empty());
}

#[rstest]
#[case::lanzhou(36.06, 103.83, 5.0, true)]
#[case::poles_and_dateline(-90.0, 180.0, 0.0, true)]
#[case::lat_too_big(90.01, 103.0, 5.0, false)]
#[case::lat_too_small(-90.5, 103.0, 5.0, false)]
#[case::lng_too_big(36.0, 180.5, 5.0, false)]
#[case::lng_too_small(36.0, -181.0, 5.0, false)]
#[case::nan_lat(f64::NAN, 103.0, 5.0, false)]
#[case::infinite_lng(36.0, f64::INFINITY, 5.0, false)]
#[case::negative_accuracy(36.0, 103.0, -1.0, false)]
#[case::nan_accuracy(36.0, 103.0, f64::NAN, false)]
fn geo_point_validation(
    #[case] lat: f64,
    #[case] lng: f64,
    #[case] accuracy: f64,
    #[case] ok: bool,
) {
    assert_eq!(GeoPoint::new(lat, lng, accuracy).is_ok(), ok);
}

#[test]
fn geo_point_serde_validates() {
    let p = GeoPoint::new(36.06, 103.83, 5.0).expect("valid");
    let json = serde_json::to_string(&p).expect("ser");
    assert_eq!(json, r#"{"lat":36.06,"lng":103.83,"accuracy_m":5.0}"#);
    assert_eq!(serde_json::from_str::<GeoPoint>(&json).expect("de"), p);
    assert!(serde_json::from_str::<GeoPoint>(r#"{"lat":91,"lng":0,"accuracy_m":1}"#).is_err());
    assert_eq!(
        GeoPoint::new(91.0, 0.0, 1.0).expect_err("bad").to_string(),
        "纬度应在-90到90之间，现为91"
    );
}

#[test]
fn visit_json_round_trip() {
    let (mut v, t) = filled_draft();
    v.set_location(fixed(35.58, 104.62, 12.5, at(1)))
        .expect("draft");
    v.set_present(vec![member(1, "张三"), cadre("王五")])
        .expect("draft");
    v.finalize(at(2), &t).expect("complete");
    let json = serde_json::to_string(&v).expect("ser");
    assert!(json.contains(r#""status":{"state":"final","finalized_at":"2026-03-02T02:00:00Z"}"#));
    assert!(json.contains(r#""purpose":"verification""#));
    let back: Visit = serde_json::from_str(&json).expect("de");
    assert_eq!(back, v);
}

#[test]
fn purposes_have_chinese_names() {
    let names: Vec<&str> = VisitPurpose::ALL.iter().map(|p| p.name_zh()).collect();
    assert_eq!(names, ["入户核查", "帮扶回访", "风险消除核查"]);
}

#[test]
fn visits_stored_before_places_and_attendees_still_read() {
    let (v, _) = filled_draft();
    let mut json: serde_json::Value = serde_json::to_value(&v).expect("ser");
    let obj = json.as_object_mut().expect("object");
    obj.insert("location".into(), serde_json::Value::Null);
    obj.remove("present");
    let back: Visit = serde_json::from_value(json).expect("old record reads");
    assert_eq!(back.location(), None);
    assert!(back.present().is_empty());
}

#[test]
fn place_and_attendees_round_trip_and_bad_ones_are_refused() {
    let (mut v, _) = draft();
    v.set_location(fixed(35.58, 104.62, 12.5, at(1)))
        .expect("draft");
    v.set_present(vec![member(1, "张三"), cadre("王五")])
        .expect("valid list");
    let json = serde_json::to_string(&v).expect("ser");
    assert_eq!(serde_json::from_str::<Visit>(&json).expect("de"), v);
    assert!(json.contains(r#""state":"fixed""#), "{json}");

    for (list, says) in [
        (vec![cadre("")], "不能为空"),
        (vec![cadre(" 王五")], "前后不能有空格"),
        (vec![cadre(&"名".repeat(31))], "不能超过30个字"),
        (vec![member(1, "张三"), member(1, "张三")], "重复"),
        (vec![cadre("王五"), cadre("王五")], "重复"),
        (vec![cadre("王\u{7}五")], "无法显示"),
    ] {
        let err = v.set_present(list).expect_err("refused");
        assert_eq!(err.code(), "attendee");
        assert!(err.to_string().contains(says), "{err} lacks {says}");
    }
    // The same name in two roles is two people (a 村干部 who is also 网格员 is entered once,
    // but two cadres may share a name).
    v.set_present(vec![
        cadre("王五"),
        Attendee::Cadre {
            name: "王五".into(),
            role: CadreRole::GridWorker,
        },
    ])
    .expect("different roles");
    // A place without a fix says why.
    let none = VisitPlace::Unavailable {
        reason: NoFix::NoLocationService,
        noted_at: at(1),
    };
    v.set_location(none).expect("draft");
    assert_eq!(v.location(), Some(&none));
    assert!(none.describe_zh().contains("电脑版"));
}

/// Points around a village centre in 兰州's hills, a few hundred metres apart.
fn village_fixes() -> Vec<GeoPoint> {
    [
        (36.0600, 103.8300),
        (36.0620, 103.8320),
        (36.0580, 103.8290),
        (36.0610, 103.8270),
        // One wrong fix far away does not move the median.
        (36.5000, 104.5000),
    ]
    .into_iter()
    .map(|(a, b)| GeoPoint::new(a, b, 15.0).expect("valid"))
    .collect()
}

fn final_visit_at(place: Option<VisitPlace>, present: Vec<Attendee>) -> Visit {
    let (mut v, t) = filled_draft();
    if let Some(p) = place {
        v.set_location(p).expect("draft");
    }
    v.set_present(present).expect("valid");
    v.finalize(at(2), &t).expect("complete");
    v
}

fn codes(c: &EvidenceCheck) -> Vec<&'static str> {
    c.warnings.iter().map(|w| w.code()).collect()
}

#[test]
fn a_fix_in_the_village_with_a_member_present_raises_nothing() {
    let v = final_visit_at(
        Some(fixed(36.0605, 103.8305, 10.0, at(1))),
        vec![member(1, "张三")],
    );
    let c = check_evidence(&v, &village_fixes());
    assert_eq!(codes(&c), Vec::<&str>::new());
    assert_eq!(c.compared_with, 5);
    let d = c.distance_to_village_m.expect("compared");
    assert!(d < 300.0, "{d}");
}

#[test]
fn a_fix_far_from_the_village_is_flagged_with_its_distance() {
    // About 11 km north of the village.
    let v = final_visit_at(
        Some(fixed(36.1600, 103.8300, 20.0, at(1))),
        vec![member(1, "张三")],
    );
    let c = check_evidence(&v, &village_fixes());
    assert_eq!(codes(&c), vec!["far_from_village"]);
    let msg = c.warnings[0].message_zh();
    assert!(msg.contains("约11.0公里"), "{msg}");
    // A wide fix whose circle reaches the village is not called far.
    let wide = final_visit_at(
        Some(fixed(36.0900, 103.8300, 4_000.0, at(1))),
        vec![member(1, "张三")],
    );
    assert_eq!(
        codes(&check_evidence(&wide, &village_fixes())),
        vec!["imprecise"]
    );
}

#[test]
fn too_few_other_fixes_are_not_compared() {
    let v = final_visit_at(
        Some(fixed(36.1600, 103.8300, 20.0, at(1))),
        vec![member(1, "张三")],
    );
    let few = &village_fixes()[..2];
    let c = check_evidence(&v, few);
    assert_eq!(codes(&c), Vec::<&str>::new());
    assert_eq!(c.distance_to_village_m, None);
    // Imprecise fixes of others do not count towards the comparison.
    let vague: Vec<GeoPoint> = village_fixes()
        .iter()
        .map(|p| GeoPoint::new(p.lat(), p.lng(), 2_000.0).expect("valid"))
        .collect();
    assert_eq!(check_evidence(&v, &vague).compared_with, 0);
}

#[test]
fn missing_place_time_and_people_are_each_named() {
    let none = final_visit_at(None, vec![]);
    assert_eq!(
        codes(&check_evidence(&none, &[])),
        vec!["place_not_recorded", "nobody_present"]
    );
    let no_fix = final_visit_at(
        Some(VisitPlace::Unavailable {
            reason: NoFix::PermissionDenied,
            noted_at: at(1),
        }),
        vec![cadre("王五")],
    );
    let c = check_evidence(&no_fix, &[]);
    assert_eq!(codes(&c), vec!["no_fix", "no_member_present"]);
    assert!(c.warnings[0].message_zh().contains("未允许"));
    // Fixed three hours before the visit started at 01:00.
    let early = VisitPlace::Fixed {
        point: GeoPoint::new(36.06, 103.83, 10.0).expect("valid"),
        fixed_at: at(1) - chrono::Duration::hours(3),
    };
    let c = check_evidence(&final_visit_at(Some(early), vec![member(1, "张三")]), &[]);
    assert_eq!(codes(&c), vec!["time_apart"]);
    assert!(c.warnings[0].message_zh().contains("180分钟"));
    // A draft is not blamed for what it may still record.
    let (draft, _) = draft();
    assert!(check_evidence(&draft, &[]).warnings.is_empty());
}

#[test]
fn distance_is_the_great_circle() {
    let a = GeoPoint::new(36.06, 103.83, 0.0).expect("valid");
    let b = GeoPoint::new(36.16, 103.83, 0.0).expect("valid");
    // 0.1° of latitude ≈ 11.12 km.
    assert!(
        (distance_m(a, b) - 11_119.5).abs() < 5.0,
        "{}",
        distance_m(a, b)
    );
    assert_eq!(distance_m(a, a), 0.0);
}
