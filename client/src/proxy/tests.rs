//! Proxy declaration: every problem at once, the read-back, and one transaction for all.

use super::*;
use crate::fixtures::{Phone, VILLAGE};
use yijian_core::protocol::{Command, Wire};

fn form() -> ProxyForm {
    ProxyForm {
        household_id: None,
        applicant_name: "王秀英".into(),
        id_number: "11010519491231002X".into(),
        phone: "".into(),
        village: VILLAGE.into(),
        address: "3社12号".into(),
        household_size: "2".into(),
        risk_types: vec!["illness".into(), "housing_safety".into()],
        description: "老伴住院，房子漏雨".into(),
        filler_name: "李网格".into(),
        filler_relation: "驻村干部".into(),
        confirmation: "thumbprint".into(),
    }
}

fn outbox_types(p: &Phone) -> Vec<String> {
    p.store
        .outbox(0, 100)
        .expect("outbox")
        .into_iter()
        .map(|e| {
            let c: Command = serde_json::from_str(e.command.get()).expect("command");
            match c.body {
                Wire::Known(b) => serde_json::to_value(b).expect("json")["type"]
                    .as_str()
                    .expect("tag")
                    .to_owned(),
                Wire::Unknown { kind, .. } => kind,
            }
        })
        .collect()
}

#[test]
fn every_problem_comes_back_at_once_beside_its_field() {
    let p = Phone::new();
    let bad = ProxyForm {
        applicant_name: "".into(),
        id_number: "110105194912310021".into(),
        village: "621102106201".into(), // another township's village
        filler_relation: " ".into(),
        confirmation: "".into(),
        ..form()
    };
    let Err(crate::Error::Fields(problems)) = p.store.proxy_check(&bad, &p.user) else {
        panic!("expected field problems");
    };
    let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "applicant_name",
            "id_number",
            "village",
            "filler_relation",
            "confirmation"
        ]
    );
    assert!(problems[1].1.contains("校验"), "{problems:?}");
}

#[test]
fn the_read_back_says_every_answer_in_words() {
    let p = Phone::new();
    let lines = p.store.proxy_check(&form(), &p.user).expect("valid");
    let text: Vec<String> = lines
        .iter()
        .map(|l| format!("{}：{}", l.label_zh, l.value_zh))
        .collect();
    assert_eq!(text[0], "申请人：王秀英");
    assert_eq!(text[1], "身份证号：110105 19491231 002X");
    assert_eq!(text[2], "手机号：没有");
    assert!(
        text[3].starts_with("住址：鲁家沟镇") && text[3].ends_with("3社12号"),
        "{}",
        text[3]
    );
    assert_eq!(text[4], "家庭人口：2人");
    assert_eq!(text[5], "困难类型：因病、住房安全");
    assert_eq!(text[7], "代填人：李网格（驻村干部）");
    assert_eq!(text[8], "确认方式：按手印");
}

#[test]
fn submitting_records_household_declaration_and_photo_in_one_go() {
    let mut p = Phone::new();
    p.store
        .put_draft("proxy", &serde_json::to_value(form()).expect("json"))
        .expect("draft");
    let photo = p.stage("nikon_p6000_gps_small.jpg");
    let user = p.user.clone();
    let (case_id, household_id) = p
        .store
        .proxy_submit(&form(), &user, &photo.sha256)
        .expect("submit");
    assert_eq!(
        outbox_types(&p),
        vec!["create_household", "declare", "record_photo"]
    );
    let h = p
        .store
        .household(household_id)
        .expect("read")
        .expect("household");
    assert_eq!(h.head_member().expect("head").name, "王秀英");
    let (case, _) = p
        .store
        .typed::<yijian_core::case::Case>(kinds::CASE, &case_id.to_string())
        .expect("read")
        .expect("case");
    let proxy = case.declaration.proxy.expect("proxy");
    assert!(proxy.read_back_done);
    assert_eq!(proxy.filled_by, user.id);
    assert_eq!(case.declaration.source, CaseSource::ProxyFiled);
    let photo_record = p
        .store
        .typed::<yijian_core::support::PhotoMeta>(
            kinds::PHOTO,
            &proxy.confirmation_photo.expect("photo").to_string(),
        )
        .expect("read")
        .expect("photo record");
    assert_eq!(photo_record.0.sha256.as_str(), photo.sha256);
    assert_eq!(
        p.store.photos().expect("queue").len(),
        2,
        "photo and thumbnail"
    );
    assert_eq!(
        p.store.draft("proxy").expect("draft"),
        None,
        "the draft is cleared"
    );
    // The staged photo was used: it cannot confirm a second declaration.
    assert!(p.store.proxy_submit(&form(), &user, &photo.sha256).is_err());
}

#[test]
fn a_declaration_for_a_known_household_does_not_create_another() {
    let mut p = Phone::new();
    let h = p.household(1, "王秀英", None);
    let photo = p.stage("nikon_p6000_gps_small.jpg");
    let user = p.user.clone();
    let f = ProxyForm {
        household_id: Some(h.id.to_string()),
        ..form()
    };
    let (_, household_id) = p
        .store
        .proxy_submit(&f, &user, &photo.sha256)
        .expect("submit");
    assert_eq!(household_id, h.id);
    assert_eq!(outbox_types(&p), vec!["declare", "record_photo"]);
    let unknown = ProxyForm {
        household_id: Some(HouseholdId::new().to_string()),
        ..form()
    };
    let err = p
        .store
        .proxy_check(&unknown, &user)
        .expect_err("unknown household");
    assert_eq!(err.field_name(), Some("household_id"));
}
