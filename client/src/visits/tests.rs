//! A home visit on the phone, from the first answer to the locked record and its result.

use super::*;
use crate::fixtures::{PHOTO_ITEMS, Phone, full_answers};
use crate::store::LocalStore;
use yijian_core::protocol::{Command, Wire};

fn urls() -> PhotoUrls {
    PhotoUrls {
        prefix: "yjphoto://localhost/".into(),
    }
}

/// The bodies in the outbox, in push order.
fn outbox(store: &LocalStore) -> Vec<CommandBody> {
    store
        .outbox(0, 1000)
        .expect("outbox")
        .into_iter()
        .map(|e| {
            let c: Command = serde_json::from_str(e.command.get()).expect("command");
            match c.body {
                Wire::Known(b) => b,
                Wire::Unknown { kind, .. } => panic!("unknown {kind}"),
            }
        })
        .collect()
}

fn kinds_of(bodies: &[CommandBody]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| match b {
            CommandBody::CaseStep { step, .. } => format!("step:{:?}", step.kind()),
            other => serde_json::to_value(other).expect("json")["type"]
                .as_str()
                .expect("tag")
                .to_owned(),
        })
        .collect()
}

/// A village with one accepted case and its household.
fn phone_with_case() -> (Phone, HouseholdId, CaseId) {
    let mut p = Phone::new();
    let h = p.household(1, "王建国", Some("621102105201-001"));
    let c = p.case(1, Some(&h), "王建国", Stage::Accepted, 1);
    (p, h.id, c.id())
}

fn fill(p: &mut Phone, id: VisitId) {
    let user = p.user.id;
    for (key, answer) in full_answers() {
        p.store
            .visit_answer(id, user, key, Some(answer))
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    for (key, photo) in PHOTO_ITEMS {
        let staged = p.stage(photo);
        p.store
            .visit_attach_photo(id, user, key, &staged.sha256)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

#[test]
fn starting_a_verification_queues_the_empty_draft_and_the_start_step() {
    let (mut p, household, case) = phone_with_case();
    let id = p
        .store
        .start_visit(household, Some(case), VisitPurpose::Verification, p.user.id)
        .expect("start");
    assert_eq!(
        kinds_of(&outbox(&p.store)),
        vec!["save_visit", "step:StartVerification"]
    );
    let view = p.store.visit_view(id, p.user.id, &urls()).expect("view");
    assert!(view.editable && !view.is_final && !view.unsaved_changes);
    assert_eq!(view.household_name, "王建国");
    assert!(!view.outstanding.is_empty(), "nothing answered yet");
    assert_eq!(view.case_id, Some(case));
}

#[test]
fn answers_survive_closing_the_app_and_finalising_sends_visit_and_result_together() {
    let (mut p, household, case) = phone_with_case();
    let user = p.user.id;
    let id = p
        .store
        .start_visit(household, Some(case), VisitPurpose::Verification, user)
        .expect("start");
    fill(&mut p, id);
    // The photos are queued as they are taken: metadata in the outbox, both files each.
    let queued = p.store.photos().expect("photos");
    assert_eq!(queued.len(), 6, "3 photos + 3 thumbnails");
    assert_eq!(
        kinds_of(&outbox(&p.store)),
        vec![
            "save_visit",
            "step:StartVerification",
            "record_photo",
            "record_photo",
            "record_photo"
        ]
    );

    // The app is closed and opened again: the working copy is intact.
    let path = p.store.path().to_path_buf();
    p.store = LocalStore::open(&path, &crate::fixtures::test_key()).expect("reopen");
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    assert!(view.unsaved_changes, "answered but never saved as a draft");
    assert_eq!(
        view.answers.len(),
        full_answers().len() + 2,
        "two photo items; the house photo is attached to its rating"
    );
    assert!(view.outstanding.is_empty(), "{:?}", view.outstanding);
    let income = view.evaluation.income.as_ref().expect("income");
    // (12,000 + 3,000 + 1,200 − 1,500) / 4 = 3,675 yuan, below the 6,000 line.
    assert_eq!(income.per_person_yuan, 3_675);
    assert_eq!(view.evaluation.water, checklist::WaterSafety::Safe);
    let house = &view.item_photos["housing_rating"];
    assert_eq!(house.len(), 1);
    assert!(
        house[0]
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("yjphoto://"))
    );

    p.store.visit_save_draft(id, user).expect("save draft");
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    assert!(!view.unsaved_changes);
    assert!(view.last_saved_at.is_some());

    p.store.visit_finalise(id, user).expect("finalise");
    let bodies = outbox(&p.store);
    assert_eq!(
        kinds_of(&bodies),
        vec![
            "save_visit",
            "step:StartVerification",
            "record_photo",
            "record_photo",
            "record_photo",
            "save_visit",
            "save_visit",
            "step:RecordVerification"
        ],
        "the start step is not sent twice"
    );
    let Some(CommandBody::CaseStep {
        step: Step::RecordVerification { visit, outcome },
        ..
    }) = bodies.last()
    else {
        panic!("result last")
    };
    assert!(visit.finalised && visit.authorisation_photo.is_some());
    assert_eq!(
        *outcome,
        VerificationOutcome::Qualifies {
            category: yijian_core::case::MonitoringCategory::MarginalAtRisk,
            risk_types: vec![yijian_core::case::RiskType::Illness],
        }
    );
    // Locked: read-only, no working copy, refused edits.
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    assert!(view.is_final && !view.editable);
    assert!(p.store.working_visit_ids().expect("ids").is_empty());
    let err = p
        .store
        .visit_answer(
            id,
            user,
            "household_size",
            Some(checklist::Answer::Integer(5)),
        )
        .expect_err("final");
    assert!(err.to_string().contains("已定稿"), "{err}");

    // A correction is a new draft linked to the old one.
    let new = p.store.visit_correct(id, user).expect("correct");
    let view = p.store.visit_view(new, user, &urls()).expect("view");
    assert_eq!(view.supersedes, Some(id));
    assert!(view.editable);
    assert_eq!(
        view.answers.len(),
        full_answers().len() + 2,
        "two photo items; the house photo is attached to its rating"
    );
}

#[test]
fn an_incomplete_visit_is_not_finalised_and_nothing_is_queued() {
    let (mut p, household, case) = phone_with_case();
    let user = p.user.id;
    let id = p
        .store
        .start_visit(household, Some(case), VisitPurpose::Verification, user)
        .expect("start");
    p.store
        .visit_answer(
            id,
            user,
            "household_size",
            Some(checklist::Answer::Integer(4)),
        )
        .expect("answer");
    let before = p.store.outbox_len().expect("len");
    let err = p.store.visit_finalise(id, user).expect_err("incomplete");
    assert_eq!(err.kind(), crate::ErrorKind::Invalid);
    assert!(err.to_string().contains("请拍照：承诺授权书"), "{err}");
    assert_eq!(p.store.outbox_len().expect("len"), before);
    assert_eq!(p.store.working_visit_ids().expect("ids"), vec![id]);
}

#[test]
fn a_wrong_answer_names_its_item_and_changes_nothing() {
    let (mut p, household, _) = phone_with_case();
    let user = p.user.id;
    let id = p
        .store
        .start_visit(household, None, VisitPurpose::Verification, user)
        .expect("start");
    let err = p
        .store
        .visit_answer(
            id,
            user,
            "household_size",
            Some(checklist::Answer::Integer(99)),
        )
        .expect_err("too many");
    assert_eq!(err.field_name(), Some("household_size"));
    let err = p
        .store
        .visit_answer(
            id,
            user,
            "no_such_item",
            Some(checklist::Answer::Bool(true)),
        )
        .expect_err("unknown");
    assert_eq!(err.field_name(), Some("no_such_item"));
    let staged = p.stage("nikon_p6000_gps_small.jpg");
    let err = p
        .store
        .visit_attach_photo(id, user, "household_size", &staged.sha256)
        .expect_err("no photos here");
    assert!(err.to_string().contains("不需要拍照"), "{err}");
    assert!(p.store.photos().expect("photos").is_empty());
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    assert!(view.answers.is_empty());
    // Someone else's visit is read-only.
    let other = yijian_core::ids::UserId::new();
    assert!(
        p.store
            .visit_answer(id, other, "household_size", None)
            .is_err()
    );
    assert!(
        !p.store
            .visit_view(id, other, &urls())
            .expect("view")
            .editable
    );
}

#[test]
fn a_case_the_township_has_not_accepted_gets_both_steps_at_finalisation() {
    let mut p = Phone::new();
    let h = p.household(1, "王建国", None);
    let c = p.case(1, Some(&h), "王建国", Stage::Declared, 1);
    let user = p.user.id;
    let id = p
        .store
        .start_visit(h.id, Some(c.id()), VisitPurpose::Verification, user)
        .expect("start");
    assert_eq!(kinds_of(&outbox(&p.store)), vec!["save_visit"]);
    fill(&mut p, id);
    p.store.visit_finalise(id, user).expect("finalise");
    let kinds = kinds_of(&outbox(&p.store));
    assert_eq!(
        &kinds[kinds.len() - 3..],
        [
            "save_visit",
            "step:StartVerification",
            "step:RecordVerification"
        ]
    );
}

/// A household in assistance: approved `months` ago, a plan with a measure in place, and the
/// return visit the server scheduled.
fn phone_with_assisted_case(months: u32) -> (Phone, HouseholdId, CaseId, FollowUp) {
    use yijian_core::ids::{MeasureId, PlanId};
    use yijian_core::support::{Measure, MeasureKind, Plan};
    let mut p = Phone::new();
    let h = p.household(2, "马福祥", Some("621102105201-002"));
    let mut c = p.case(2, Some(&h), "马福祥", Stage::Assisting, 250);
    let today = yijian_core::time::china_date(p.now());
    let since = today - chrono::Months::new(months);
    c.state.approved_on = Some(since);
    c.state.monitoring_since = Some(since);
    c.state.category = Some(yijian_core::case::MonitoringCategory::MarginalAtRisk);
    let plan = Plan {
        id: PlanId::from_parts(1_760_000_000_000, 2),
        case_id: c.id(),
        household_id: h.id,
        made_on: since,
        made_by: p.user.id,
        measures: vec![Measure {
            id: MeasureId::from_parts(1_760_000_000_000, 2),
            kind: MeasureKind::MedicalAssistance,
            description: "医疗救助".into(),
            amount_fen: Some(300_000),
            responsible_unit: "区医保局".into(),
            responsible_person: "周敏".into(),
            due_on: None,
            done_on: Some(since),
        }],
    };
    c.state.plan = Some(plan.id);
    let f = FollowUp::scheduled(
        FollowUpId::from_parts(1_760_000_000_000, 2),
        c.id(),
        h.id,
        today,
    );
    p.receive("case", c.id(), crate::fixtures::VILLAGE, &c);
    p.receive("plan", plan.id, crate::fixtures::VILLAGE, &plan);
    p.receive("follow_up", f.id, crate::fixtures::VILLAGE, &f);
    (p, h.id, c.id(), f)
}

fn viewer(p: &Phone) -> crate::files::Viewer {
    crate::files::Viewer {
        user: p.user.id,
        role: p.user.role,
        today: yijian_core::time::china_date(p.now()),
    }
}

#[test]
fn a_return_visit_marks_the_scheduled_follow_up_done_and_records_it_on_the_case() {
    let (mut p, household, case, scheduled) = phone_with_assisted_case(2);
    let user = p.user.id;
    let view = p.store.case_view(case, &viewer(&p)).expect("case view");
    assert_eq!(view.visit_purpose, Some(VisitPurpose::FollowUp));
    assert!(
        !view.can_check_risk_elimination,
        "two months are not enough"
    );
    let id = p
        .store
        .start_visit(household, Some(case), VisitPurpose::FollowUp, user)
        .expect("start");
    fill(&mut p, id);
    p.store.visit_finalise(id, user).expect("finalise");
    let bodies = outbox(&p.store);
    let kinds = kinds_of(&bodies);
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["save_visit", "save_follow_up", "step:RecordFollowUp"],
        "{kinds:?}"
    );
    let Some(CommandBody::SaveFollowUp(done)) = bodies.get(bodies.len() - 2) else {
        panic!("follow-up");
    };
    assert_eq!(done.id, scheduled.id, "the scheduled one, not a new one");
    assert_eq!(done.done_on, Some(yijian_core::time::china_date(p.now())));
    assert_eq!(done.visit_id, Some(id));
    assert!(done.note.contains("人均纯收入3675元"), "{}", done.note);
    // The case shows it at once, before any sync.
    let view = p.store.case_view(case, &viewer(&p)).expect("case view");
    assert!(view.follow_ups.iter().any(|f| f.done_on.is_some()));
}

#[test]
fn a_risk_elimination_check_proposes_only_when_the_risk_is_gone() {
    for (wages, proposed) in [(12_000, false), (60_000, true)] {
        let (mut p, household, case, _) = phone_with_assisted_case(7);
        let user = p.user.id;
        let view = p.store.case_view(case, &viewer(&p)).expect("case view");
        assert!(
            view.can_check_risk_elimination,
            "seven months, a measure in place"
        );
        let id = p
            .store
            .start_visit(
                household,
                Some(case),
                VisitPurpose::RiskEliminationCheck,
                user,
            )
            .expect("start");
        fill(&mut p, id);
        p.store
            .visit_answer(
                id,
                user,
                checklist::keys::INCOME_WAGES,
                Some(Answer::yuan(wages)),
            )
            .expect("wages");
        p.store.visit_finalise(id, user).expect("finalise");
        let bodies = outbox(&p.store);
        let proposal = bodies.iter().find_map(|b| match b {
            CommandBody::CaseStep {
                step:
                    Step::ProposeRiskElimination {
                        visit_id,
                        income_above_line,
                        guarantees_kept,
                    },
                ..
            } => Some((*visit_id, *income_above_line, *guarantees_kept)),
            _ => None,
        });
        if proposed {
            assert_eq!(proposal, Some((id, true, true)));
        } else {
            assert_eq!(proposal, None, "income below the line: no proposal");
            assert!(
                p.store.visit(id).expect("visit").is_final(),
                "the check stays on record"
            );
        }
    }
}

#[test]
fn place_and_people_present_are_kept_through_a_restart_and_travel_with_the_visit() {
    let (mut p, household, case) = phone_with_case();
    let user = p.user.id;
    let id = p
        .store
        .start_visit(household, Some(case), VisitPurpose::Verification, user)
        .expect("start");
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    assert_eq!(view.place, None, "not located yet");
    assert_eq!(view.members.len(), 1);
    assert_eq!(view.members[0].relation_zh, "户主");
    assert_eq!(view.cadre_roles.len(), 6);

    // A desktop (or a phone without permission) records why there is no fix.
    p.store
        .visit_record_place(id, user, Err(NoFix::NoLocationService))
        .expect("no fix");
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    let place = view.place.expect("recorded");
    assert!(!place.fixed && place.no_fix == Some(NoFix::NoLocationService));
    assert_eq!(place.at, p.now());
    // A later fix replaces it.
    let point = GeoPoint::new(36.0611, 103.8342, 9.5).expect("valid");
    p.store
        .visit_record_place(id, user, Ok((point, p.now())))
        .expect("fix");

    // Members are ticked by id: the name and relation come from the phone's register, not
    // from what the screen sent.
    let head = view.members[0].member_id;
    p.store
        .visit_set_present(
            id,
            user,
            vec![
                Attendee::Member {
                    member_id: head,
                    name: "别人".into(),
                    relation: yijian_core::household::Relation::Son,
                },
                Attendee::Cadre {
                    name: " 李村长 ".into(),
                    role: CadreRole::VillageCadre,
                },
            ],
        )
        .expect("present");
    // Someone not of this household is refused, and the list stays as it was.
    let stranger = yijian_core::ids::MemberId::from_parts(1_760_000_000_000, 999);
    let err = p
        .store
        .visit_set_present(
            id,
            user,
            vec![Attendee::Member {
                member_id: stranger,
                name: "外人".into(),
                relation: yijian_core::household::Relation::Head,
            }],
        )
        .expect_err("not a member");
    assert!(err.to_string().contains("不是该户成员"), "{err}");
    let err = p
        .store
        .visit_set_present(
            id,
            user,
            vec![Attendee::Cadre {
                name: String::new(),
                role: CadreRole::WorkTeam,
            }],
        )
        .expect_err("blank");
    assert_eq!(err.field_name(), Some("present"));

    // The app is closed and opened again.
    let path = p.store.path().to_path_buf();
    p.store = LocalStore::open(&path, &crate::fixtures::test_key()).expect("reopen");
    let view = p.store.visit_view(id, user, &urls()).expect("view");
    let place = view.place.expect("kept");
    assert!(place.fixed);
    assert_eq!(
        (place.lat, place.lng, place.accuracy_m),
        (Some(36.0611), Some(103.8342), Some(9.5))
    );
    assert_eq!(
        view.present
            .iter()
            .map(Attendee::describe_zh)
            .collect::<Vec<_>>(),
        vec!["王建国（户主）", "李村长（村干部）"]
    );

    fill(&mut p, id);
    p.store.visit_finalise(id, user).expect("finalise");
    let sent = outbox(&p.store)
        .into_iter()
        .filter_map(|b| match b {
            CommandBody::SaveVisit(v) if v.is_final() => Some(v),
            _ => None,
        })
        .next()
        .expect("the finalised visit is queued");
    assert_eq!(sent.location().and_then(|l| l.point()), Some(point));
    assert_eq!(sent.present().len(), 2);
    // Locked: neither can change any more.
    assert!(
        p.store
            .visit_record_place(id, user, Err(NoFix::NoSignal))
            .is_err()
    );
    assert!(p.store.visit_set_present(id, user, vec![]).is_err());
}

#[test]
fn another_workers_visit_cannot_be_located_or_given_people() {
    let (mut p, household, case) = phone_with_case();
    let id = p
        .store
        .start_visit(household, Some(case), VisitPurpose::Verification, p.user.id)
        .expect("start");
    let other = UserId::from_parts(1_760_000_000_000, 77);
    let err = p
        .store
        .visit_record_place(id, other, Err(NoFix::NoSignal))
        .expect_err("not theirs");
    assert!(err.to_string().contains("其他同事"), "{err}");
    assert!(p.store.visit_set_present(id, other, vec![]).is_err());
}
