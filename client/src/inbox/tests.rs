//! The inbox against records as a sync leaves them: order, colours, search, counts, freshness.

use super::*;
use crate::fixtures::{IDS, Phone};
use yijian_core::ids::CaseId;

fn today(p: &Phone) -> NaiveDate {
    yijian_core::time::china_date(p.now())
}

fn names(page: &InboxPage) -> Vec<&str> {
    page.rows.iter().map(|r| r.name.as_str()).collect()
}

/// Now is Tue 2026-12-01, 10:00 in Beijing.
fn village_with_cases() -> Phone {
    let mut p = Phone::new();
    let a = p.household(1, "王建国", Some("621102105201-001"));
    let b = p.household(2, "李秀英", Some("621102105201-002"));
    let c = p.household(3, "张志强", None);
    // Declared Sat 11-21: the township's 2 working days ended Tue 11-24 → long overdue.
    p.case(1, Some(&a), "王建国", Stage::Declared, 10);
    // Declared Sun 11-29: accept within 2 working days → Mon 30, Tue 12-01: due today.
    p.case(2, Some(&b), "李秀英", Stage::Declared, 2);
    // Accepted, declared today: home verification due Tue 12-08, five working days left.
    p.case(3, Some(&c), "张志强", Stage::Accepted, 0);
    // No clock runs on a closed case.
    p.case(4, None, "赵桂兰", Stage::Closed, 40);
    p
}

#[test]
fn overdue_first_then_due_soon_then_on_time_then_no_clock() {
    let p = village_with_cases();
    let page = InboxIndex::build(&p.store, today(&p))
        .expect("build")
        .page(&InboxQuery::default());
    assert_eq!(names(&page), vec!["王建国", "李秀英", "张志强", "赵桂兰"]);
    let due: Vec<_> = page
        .rows
        .iter()
        .map(|r| r.due.as_ref().map(|d| (d.urgency, d.label_zh.clone())))
        .collect();
    assert_eq!(
        due,
        vec![
            Some((Urgency::Overdue, "乡镇受理已逾期5个工作日".to_owned())),
            Some((Urgency::DueSoon, "乡镇受理今日到期".to_owned())),
            Some((Urgency::OnTime, "入户核查还剩5个工作日".to_owned())),
            None,
        ]
    );
    assert_eq!(page.counts.overdue, 1);
    assert_eq!(page.counts.due_soon, 1);
    let stages: Vec<_> = page
        .counts
        .by_stage
        .iter()
        .map(|s| (s.stage, s.count))
        .collect();
    assert_eq!(
        stages,
        vec![
            (Stage::Declared, 2),
            (Stage::Accepted, 1),
            (Stage::Closed, 1)
        ]
    );
    let first = &page.rows[0];
    assert_eq!(first.door_plate.as_deref(), Some("621102105201-001"));
    assert_eq!(first.id_last4, &IDS[1][14..]);
    assert!(first.village_name.ends_with("村"), "{}", first.village_name);
    assert!(!first.pending);
}

#[test]
fn search_by_name_last_four_id_digits_door_plate_and_receipt() {
    let p = village_with_cases();
    let index = InboxIndex::build(&p.store, today(&p)).expect("build");
    let find = |s: &str| {
        names(&index.page(&InboxQuery {
            search: s.into(),
            ..InboxQuery::default()
        }))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    assert_eq!(find("秀英"), vec!["李秀英"]);
    // Case 1 and case 4 share IDS[1], ending 001X; full-width characters are read as ASCII.
    assert_eq!(find("００１ｘ"), vec!["王建国", "赵桂兰"]);
    assert_eq!(find("002x"), vec!["张志强"]);
    assert_eq!(find("-002"), vec!["李秀英"]);
    assert_eq!(find("201-0003"), vec!["张志强"]);
    assert!(find("不存在").is_empty());
    let all = index.page(&InboxQuery {
        search: "  ".into(),
        ..InboxQuery::default()
    });
    assert_eq!(all.matching, 4);
}

#[test]
fn filters_and_pages_slice_the_same_order() {
    let p = village_with_cases();
    let index = InboxIndex::build(&p.store, today(&p)).expect("build");
    let q = |filter: &str, offset, limit| InboxQuery {
        search: String::new(),
        filter: filter.into(),
        offset,
        limit,
    };
    assert_eq!(names(&index.page(&q("overdue", 0, 50))), vec!["王建国"]);
    assert_eq!(names(&index.page(&q("due_soon", 0, 50))), vec!["李秀英"]);
    assert_eq!(
        names(&index.page(&q("stage:declared", 0, 50))),
        vec!["王建国", "李秀英"]
    );
    let page = index.page(&q("all", 1, 2));
    assert_eq!(names(&page), vec!["李秀英", "张志强"]);
    assert_eq!((page.matching, page.total, page.offset), (4, 4, 1));
    assert!(index.page(&q("all", 10, 5)).rows.is_empty());
}

#[test]
fn the_cached_index_follows_every_write_and_the_date() {
    let mut p = village_with_cases();
    let mut cache = InboxCache::default();
    let day = today(&p);
    let first = cache
        .page(&p.store, day, &InboxQuery::default())
        .expect("page");
    assert_eq!(first.total, 4);
    p.case(5, None, "马永福", Stage::Declared, 0);
    let second = cache
        .page(&p.store, day, &InboxQuery::default())
        .expect("page");
    assert_eq!(second.total, 5, "a pulled case shows at once");
    // Tomorrow the due-today case is overdue.
    let tomorrow = day.succ_opt().expect("date");
    let third = cache
        .page(&p.store, tomorrow, &InboxQuery::default())
        .expect("page");
    assert_eq!(third.counts.overdue, 2);
}

#[test]
fn a_case_with_a_local_change_is_marked_pending() {
    let mut p = village_with_cases();
    let id = CaseId::from_parts(1_760_000_000_000, 3);
    p.store
        .case_step(
            id,
            yijian_core::workflow::Step::StartVerification {
                visit_id: yijian_core::ids::VisitId::new(),
            },
        )
        .expect("step");
    let page = InboxIndex::build(&p.store, today(&p))
        .expect("build")
        .page(&InboxQuery::default());
    let row = page
        .rows
        .iter()
        .find(|r| r.case_id == id.to_string())
        .expect("row");
    assert!(row.pending);
}

#[test]
fn thousands_of_cases_page_in_order() {
    let mut p = Phone::new();
    let n = 3000u128;
    for i in 0..n {
        p.case(
            1000 + i,
            None,
            &format!("户主{i}"),
            Stage::Accepted,
            (i % 15) as i64,
        );
    }
    let index = InboxIndex::build(&p.store, today(&p)).expect("build");
    assert_eq!(index.len(), n as usize);
    let mut seen = 0;
    let mut last: Option<(u8, NaiveDate)> = None;
    let mut offset = 0;
    loop {
        let page = index.page(&InboxQuery {
            offset,
            limit: 200,
            ..InboxQuery::default()
        });
        if page.rows.is_empty() {
            break;
        }
        for r in &page.rows {
            let d = r.due.as_ref().expect("accepted cases have a clock");
            let key = (d.urgency as u8, d.due_on);
            if let Some(prev) = last {
                assert!(prev <= key, "{prev:?} then {key:?}");
            }
            last = Some(key);
        }
        seen += page.rows.len();
        offset += page.rows.len();
    }
    assert_eq!(seen, n as usize);
}
