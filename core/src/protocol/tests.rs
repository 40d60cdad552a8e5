//! Protocol round trips and tolerance of types from a newer peer.

use super::*;
use crate::case::{Applicant, CaseSource, MonitoringCategory, RiskType};
use crate::checklist::default_template;
use crate::division::DivisionCode;
use crate::ids::{AppealId, FollowUpId, PhotoId, PlanId, UserId, VisitId};
use crate::support::{AppealFiler, PhotoMime, PhotoOwner, Sha256Hex};
use crate::visit::VisitPurpose;
use crate::workflow::{CaseState, Stage};
use chrono::{NaiveDate, TimeZone};
use proptest::prelude::*;
use serde_json::json;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0)
        .single()
        .expect("valid")
}

fn village() -> DivisionCode {
    DivisionCode::parse("621102105201").expect("valid")
}

fn hlc() -> Hlc {
    Hlc {
        wall_ms: 1_780_000_000_000,
        counter: 3,
        node: 9,
    }
}

fn declaration() -> Declaration {
    Declaration {
        case_id: CaseId::from_parts(1, 1),
        household_id: None,
        village: village(),
        source: CaseSource::SelfDeclaredQr,
        risk_types: vec![RiskType::Illness],
        description: "老伴住院，自付医疗费三万多".into(),
        applicant: Applicant {
            name: "王秀英".into(),
            id_number: "11010519491231002X".into(),
            phone: Some("13812345678".into()),
            address: "鲁家沟镇某村3社12号".into(),
            household_size: Some(3),
        },
        proxy: None,
        declared_at: at(),
    }
}

fn sha(c: char) -> Sha256Hex {
    Sha256Hex::parse(&c.to_string().repeat(64)).expect("valid sha")
}

fn every_command_body() -> Vec<CommandBody> {
    let household =
        Household::new(HouseholdId::from_parts(2, 2), village(), "3社12号").expect("ok");
    let template = default_template();
    let visit = Visit::new(
        VisitId::from_parts(3, 3),
        household.id,
        Some(CaseId::from_parts(1, 1)),
        VisitPurpose::Verification,
        &template,
        UserId::from_parts(4, 4),
        at(),
    );
    let photo = PhotoMeta {
        id: PhotoId::from_parts(5, 5),
        sha256: sha('a'),
        bytes: 123_456,
        width: 1600,
        height: 1200,
        mime: PhotoMime::Jpeg,
        taken_at: Some(at()),
        owner: PhotoOwner::Case {
            case_id: CaseId::from_parts(1, 1),
        },
        thumb_sha256: Some(sha('b')),
    };
    let plan = Plan {
        id: PlanId::from_parts(6, 6),
        case_id: CaseId::from_parts(1, 1),
        household_id: household.id,
        made_on: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        made_by: UserId::from_parts(4, 4),
        measures: vec![],
    };
    let follow_up = FollowUp::scheduled(
        FollowUpId::from_parts(7, 7),
        CaseId::from_parts(1, 1),
        household.id,
        NaiveDate::from_ymd_opt(2026, 12, 20).expect("date"),
    );
    vec![
        CommandBody::Declare(declaration()),
        CommandBody::CaseStep {
            case_id: CaseId::from_parts(1, 1),
            step: Step::CountyApprove {
                category: MonitoringCategory::SuddenSevereHardship,
            },
        },
        CommandBody::CreateHousehold(household.clone()),
        CommandBody::EditHousehold {
            household_id: household.id,
            edits: vec![FieldEdit {
                field: "phone".into(),
                base: Value::Null,
                value: json!("13912345678"),
            }],
        },
        CommandBody::SaveVisit(visit),
        CommandBody::RecordPhoto(photo),
        CommandBody::SavePlan(plan),
        CommandBody::SaveFollowUp(follow_up),
        CommandBody::ResolveConflict {
            household_id: household.id,
            field: "address".into(),
            chosen: json!("3社14号"),
        },
        CommandBody::PutDocument {
            kind: "note".into(),
            id: "n1".into(),
            village: village(),
            data: json!({"text": "备忘"}),
        },
    ]
}

fn every_record() -> Vec<Record> {
    let appeal = Appeal::file(
        AppealId::from_parts(8, 8),
        CaseId::from_parts(1, 1),
        at(),
        AppealFiler::Resident {
            name: "王秀英".into(),
            phone: None,
        },
        "医疗票据未计入",
        crate::division::Level::County,
    )
    .expect("appeal");
    let mut bodies = every_command_body().into_iter();
    let mut next = || bodies.next().expect("enough bodies");
    let _declare = next();
    let _step = next();
    let CommandBody::CreateHousehold(household) = next() else {
        panic!("order")
    };
    let _edit = next();
    let CommandBody::SaveVisit(visit) = next() else {
        panic!("order")
    };
    let CommandBody::RecordPhoto(photo) = next() else {
        panic!("order")
    };
    let CommandBody::SavePlan(plan) = next() else {
        panic!("order")
    };
    let CommandBody::SaveFollowUp(follow_up) = next() else {
        panic!("order")
    };
    let mut state = CaseState::declared(false);
    state.stage = Stage::Accepted;
    vec![
        Record::Household(household.clone()),
        Record::Case(Case {
            declaration: declaration(),
            receipt_no: Some("621102-105201-000017".into()),
            state,
            history: vec![yijian_core_case_event()],
        }),
        Record::Visit(visit),
        Record::Photo(photo),
        Record::Plan(plan),
        Record::FollowUp(follow_up),
        Record::Appeal(appeal),
        Record::Conflict(FieldConflict {
            household_id: household.id,
            field: "address".into(),
            base: json!("3社12号"),
            theirs: json!("3社13号"),
            mine: json!("3社14号"),
            resolved: false,
        }),
        Record::Template(default_template()),
    ]
}

fn tag_of<T: Serialize>(t: &T) -> String {
    serde_json::to_value(t).expect("ser")["type"]
        .as_str()
        .expect("tagged")
        .to_owned()
}

#[test]
fn known_tags_are_exactly_the_serialised_tags() {
    let tags: Vec<String> = every_command_body().iter().map(tag_of).collect();
    assert_eq!(tags, CommandBody::TAGS);
    let tags: Vec<String> = every_record().iter().map(tag_of).collect();
    assert_eq!(tags, Record::TAGS);
    let outcomes = [
        Outcome::Applied,
        Outcome::AlreadyApplied,
        Outcome::Refused {
            code: "x".into(),
            message_zh: "x".into(),
            message_en: "x".into(),
        },
    ];
    let tags: Vec<String> = outcomes.iter().map(tag_of).collect();
    assert_eq!(tags, Outcome::TAGS);
}

#[test]
fn every_command_round_trips() {
    for body in every_command_body() {
        let cmd = Command {
            id: CommandId::from_parts(10, 10),
            hlc: hlc(),
            body: Wire::Known(body),
        };
        let json = serde_json::to_string(&cmd).expect("ser");
        let back: Command = serde_json::from_str(&json).expect("de");
        assert_eq!(back, cmd, "{json}");
    }
}

#[test]
fn every_record_round_trips_in_a_pull_page() {
    let records = every_record();
    let changes: Vec<Change> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Change::of(r, format!("r{i}"), village().to_string(), hlc(), 1).expect("change")
        })
        .collect();
    for (c, r) in changes.iter().zip(&records) {
        assert_eq!(c.decode().expect("decode"), Some(Wire::Known(r.clone())));
    }
    let page = PullResponse {
        server_time: at(),
        changes,
        next_cursor: Cursor("c42".into()),
        has_more: false,
    };
    let json = serde_json::to_string(&page).expect("ser");
    assert_eq!(
        serde_json::from_str::<PullResponse>(&json).expect("de"),
        page
    );
}

#[test]
fn an_older_app_survives_a_newer_servers_record_and_keeps_it() {
    let json = json!({
        "server_time": "2026-11-28T03:00:00Z",
        "changes": [
            {"kind": "household_transfer", "id": "a", "village": "621102105201", "hlc": hlc().to_string(), "version": 1, "data": {"from": "x", "to": "y"}},
            {"kind": "case", "id": "b", "village": "621102105201", "hlc": hlc().to_string(), "version": 2, "data": null}
        ],
        "next_cursor": "c1",
        "has_more": true
    });
    let page: PullResponse = serde_json::from_value(json.clone()).expect("tolerant");
    let Some(Wire::Unknown { kind, data }) = page.changes[0].decode().expect("decode") else {
        panic!("expected unknown record");
    };
    assert_eq!(kind, "household_transfer");
    assert_eq!(data["to"], "y");
    assert_eq!(page.changes[1].decode().expect("decode"), None);
    // Kept verbatim: serialising it again gives back what the server sent.
    assert_eq!(serde_json::to_value(&page).expect("ser"), json);
}

#[test]
fn a_known_kind_with_a_bad_body_does_not_decode() {
    let c: Change = serde_json::from_value(json!({
        "kind": "case", "id": "b", "village": "621102105201", "hlc": hlc().to_string(), "version": 1,
        "data": {"nonsense": true}
    }))
    .expect("envelope parses");
    assert!(c.decode().is_err());
}

#[test]
fn an_unknown_outcome_is_tolerated() {
    let r: CommandResult = serde_json::from_value(json!({
        "id": CommandId::from_parts(1, 1),
        "outcome": {"type": "deferred", "until": "later"}
    }))
    .expect("tolerant");
    assert!(matches!(r.outcome, Wire::Unknown { ref kind, .. } if kind == "deferred"));
}

#[test]
fn a_malformed_known_type_is_still_an_error() {
    let bad = json!({
        "id": CommandId::from_parts(1, 1),
        "hlc": hlc().to_string(),
        "body": {"type": "case_step", "data": {"case_id": "not-an-id"}}
    });
    assert!(serde_json::from_value::<Command>(bad).is_err());
    let untagged =
        json!({"id": CommandId::from_parts(1, 1), "hlc": hlc().to_string(), "body": {"data": 1}});
    assert!(serde_json::from_value::<Command>(untagged).is_err());
}

proptest! {
    #[test]
    fn unknown_kinds_round_trip(
        kind in "[a-z_]{1,20}".prop_filter("not a known tag", |k| !Record::TAGS.contains(&k.as_str())),
        n in any::<i64>(),
        wall_ms in 0u64..1_000_000_000_000_000,
        counter in any::<u32>(),
    ) {
        let change = Change {
            kind: kind.clone(),
            id: "x".into(),
            village: "621102105201".into(),
            hlc: Hlc { wall_ms, counter, node: 1 },
            version: 1,
            data: Some(serde_json::value::to_raw_value(&json!({"n": n})).expect("raw")),
        };
        let text = serde_json::to_string(&change).expect("ser");
        let back = serde_json::from_str::<Change>(&text).expect("de");
        prop_assert_eq!(&back, &change);
        let decoded = back.decode().expect("decode");
        prop_assert_eq!(decoded, Some(Wire::Unknown { kind, data: json!({"n": n}) }));
    }

    #[test]
    fn steps_round_trip_inside_commands(
        ms in 0u64..(1u64 << 47),
        random in any::<u128>(),
        reason in "\\PC{0,40}",
        upheld in any::<bool>(),
    ) {
        let cmd = Command {
            id: CommandId::from_parts(ms, random),
            hlc: hlc(),
            body: Wire::Known(CommandBody::CaseStep {
                case_id: CaseId::from_parts(ms, random),
                step: Step::DecideAppeal { upheld, reason, category: None },
            }),
        };
        let text = serde_json::to_string(&cmd).expect("ser");
        prop_assert_eq!(serde_json::from_str::<Command>(&text).expect("de"), cmd);
    }
}

fn yijian_core_case_event() -> crate::case::CaseEvent {
    use chrono::TimeZone;
    crate::case::CaseEvent {
        at: chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, 1, 0, 0)
            .single()
            .expect("time"),
        kind: crate::case::CaseEventKind::Step {
            step: crate::workflow::StepKind::Accept,
        },
        stage: Stage::Accepted,
        by: Some("乡镇审核人员 张三".into()),
        note: None,
    }
}
