//! The household file and the door-plate lookup against records as a sync leaves them.

use super::*;
use crate::fixtures::{PHOTO_ITEMS, Phone, full_answers};
use yijian_core::case::CaseEventKind;
use yijian_core::ids::{FollowUpId, MeasureId, PlanId};
use yijian_core::support::{Measure, MeasureKind};
use yijian_core::workflow::StepKind;

fn urls() -> PhotoUrls {
    PhotoUrls {
        prefix: "yjphoto://localhost/".into(),
    }
}

fn viewer(p: &Phone) -> Viewer {
    Viewer {
        user: p.user.id,
        role: p.user.role,
        today: yijian_core::time::china_date(p.now()),
    }
}

#[test]
fn the_file_gathers_members_cases_plan_follow_ups_visits_and_photos() {
    let mut p = Phone::new();
    let h = p.household(1, "王建国", Some("621102105201-001"));
    let mut case = p.case(1, Some(&h), "王建国", Stage::Assisting, 60);
    case.history.push(CaseEvent {
        at: p.now() - chrono::Duration::days(59),
        kind: CaseEventKind::Step {
            step: StepKind::Accept,
        },
        stage: Stage::Accepted,
        by: Some("乡镇审核人员 张三".into()),
        note: None,
    });
    p.receive("case", case.id(), crate::fixtures::VILLAGE, &case);
    let plan = Plan {
        id: PlanId::from_parts(1_760_000_000_000, 1),
        case_id: case.id(),
        household_id: h.id,
        made_on: chrono::NaiveDate::from_ymd_opt(2026, 10, 20).expect("date"),
        made_by: p.user.id,
        measures: vec![Measure {
            id: MeasureId::from_parts(1_760_000_000_000, 1),
            kind: MeasureKind::TemporaryAssistance,
            description: "临时救助".into(),
            amount_fen: Some(150_000),
            responsible_unit: "鲁家沟镇民政办".into(),
            responsible_person: "张三".into(),
            due_on: None,
            done_on: Some(chrono::NaiveDate::from_ymd_opt(2026, 10, 25).expect("date")),
        }],
    };
    p.receive("plan", plan.id, crate::fixtures::VILLAGE, &plan);
    let follow_up = FollowUp::scheduled(
        FollowUpId::from_parts(1_760_000_000_000, 1),
        case.id(),
        h.id,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
    );
    p.receive(
        "follow_up",
        follow_up.id,
        crate::fixtures::VILLAGE,
        &follow_up,
    );
    // A follow-up visit with photos, made on this phone.
    let user = p.user.id;
    let visit = p
        .store
        .start_visit(h.id, Some(case.id()), VisitPurpose::FollowUp, user)
        .expect("start");
    for (key, answer) in full_answers().into_iter().take(3) {
        p.store
            .visit_answer(visit, user, key, Some(answer))
            .expect("answer");
    }
    let staged = p.stage(PHOTO_ITEMS[0].1);
    p.store
        .visit_attach_photo(visit, user, PHOTO_ITEMS[0].0, &staged.sha256)
        .expect("photo");

    let file = p
        .store
        .household_file(h.id, &viewer(&p), &urls())
        .expect("file");
    assert_eq!(file.head_name, "王建国");
    assert_eq!(file.door_plate.as_deref(), Some("621102105201-001"));
    assert_eq!(file.members.len(), 1);
    assert_eq!(file.members[0].relation_zh, "户主");
    assert!(file.pending, "the visit is not acknowledged yet");
    let c = &file.cases[0];
    assert_eq!(c.stage_zh, "帮扶中");
    assert_eq!(c.timeline[0].label_zh, "受理分派");
    assert_eq!(c.timeline[0].by.as_deref(), Some("乡镇审核人员 张三"));
    let plan = c.plan.as_ref().expect("plan");
    assert_eq!(plan.measures[0].amount_yuan.as_deref(), Some("1,500.00"));
    assert_eq!(c.follow_ups.len(), 1);
    assert!(c.follow_ups[0].overdue, "due 11-25, today is 12-01");
    let due = c.due.as_ref().expect("the follow-up clock");
    assert_eq!(due.step, yijian_core::deadline::Step::FollowUp);
    assert_eq!(c.open_visit_id, Some(visit));
    assert!(!c.can_start_visit, "a visit is already open");
    assert_eq!(file.visits.len(), 1);
    assert!(file.visits[0].has_working_copy && file.visits[0].mine);
    assert_eq!(file.photos.len(), 1);
    assert_eq!(file.photos[0].caption_zh, "住房安全等级");
    assert_eq!(file.photos[0].upload, crate::views::UploadState::Waiting);
    assert!(file.photos[0].thumb_url.is_some());
}

#[test]
fn a_case_declared_on_the_phone_shows_as_pending_in_its_timeline() {
    let mut p = Phone::new();
    let h = p.household(1, "王建国", None);
    let c = p.case(1, Some(&h), "王建国", Stage::Accepted, 0);
    p.store
        .case_step(
            c.id(),
            yijian_core::workflow::Step::StartVerification {
                visit_id: VisitId::new(),
            },
        )
        .expect("step");
    let view = p.store.case_view(c.id(), &viewer(&p)).expect("view");
    assert!(view.pending);
    let labels: Vec<_> = view
        .timeline
        .iter()
        .map(|t| (t.label_zh.as_str(), t.pending))
        .collect();
    assert_eq!(
        labels,
        vec![("提交申报", false), ("开始入户核查（待上传）", true)]
    );
}

#[test]
fn door_plates_are_found_by_our_code_or_by_number() {
    let mut p = Phone::new();
    let a = p.household(1, "王建国", Some("621102105201-001"));
    let b = p.household(2, "李秀英", Some("太平村2社5号"));
    let text = yijian_core::qrcodes::door_plate_text(a.id);
    assert_eq!(p.store.household_by_scan(&text).expect("ours"), a.id);
    assert_eq!(
        p.store.household_by_scan("太平村2社5号").expect("number"),
        b.id
    );
    let unknown = p
        .store
        .household_by_scan(&yijian_core::qrcodes::door_plate_text(HouseholdId::new()))
        .expect_err("not on this phone");
    assert_eq!(unknown.kind(), crate::ErrorKind::NotFound);
    assert!(unknown.to_string().contains("未找到"), "{unknown}");
    assert_eq!(
        p.store
            .household_by_scan("YJHH1:garbage")
            .expect_err("damaged")
            .kind(),
        crate::ErrorKind::NotFound
    );
    // Two households with the same plate number: ask the worker to search instead.
    p.household(3, "张志强", Some("太平村2社5号"));
    assert!(
        p.store
            .household_by_scan("太平村2社5号")
            .expect_err("two")
            .to_string()
            .contains("多户")
    );
}
