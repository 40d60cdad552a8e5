use super::*;
use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;
use rstest::rstest;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid date")
}

fn cal() -> &'static HolidayCalendar {
    HolidayCalendar::try_builtin().expect("the compiled-in calendar is valid")
}

fn holiday(name: &str) -> DayKind {
    DayKind::Holiday { name: name.into() }
}

fn makeup(name: &str) -> DayKind {
    DayKind::MakeupWorkday { name: name.into() }
}

#[test]
fn builtin_file_parses_and_is_what_builtin_returns() {
    let parsed = HolidayCalendar::from_json(BUILTIN_JSON).expect("compiled-in file is valid");
    assert_eq!(&parsed, HolidayCalendar::builtin());
    assert_eq!(
        parsed.years().iter().map(|y| y.year).collect::<Vec<_>>(),
        [2025, 2026, 2027]
    );
}

#[rstest]
#[case(
    2025,
    "国务院办公厅关于2025年部分节假日安排的通知",
    "国办发明电〔2024〕12号",
    "2024-11-12"
)]
#[case(
    2026,
    "国务院办公厅关于2026年部分节假日安排的通知",
    "国办发明电〔2025〕7号",
    "2025-11-04"
)]
fn published_years_name_their_notice(
    #[case] year: i32,
    #[case] title: &str,
    #[case] number: &str,
    #[case] on: &str,
) {
    let YearCoverage::Published { notice } = cal().coverage(year) else {
        panic!("{year} should be published");
    };
    assert_eq!(notice.title, title);
    assert_eq!(notice.document_number.as_deref(), Some(number));
    assert_eq!(notice.published_on, Some(d(on)));
    assert!(
        notice
            .source_url
            .is_some_and(|u| u.starts_with("https://www.gov.cn/"))
    );
}

#[rstest]
#[case(2024)]
#[case(2027)] // in the file as not yet published
#[case(2028)] // not in the file at all
fn other_years_fall_back_to_weekends_and_are_flagged(#[case] year: i32) {
    assert_eq!(cal().coverage(year), YearCoverage::WeekendsOnly);
    assert!(!cal().coverage(year).is_published());
}

#[test]
fn unpublished_2027_counts_weekends_and_fixed_date_holidays() {
    // 2027-01-01 is a Friday: even without a notice it is 元旦 by law, not a working day.
    assert_eq!(cal().day_kind(d("2027-01-01")), holiday("元旦"));
    assert!(!cal().is_working_day(d("2027-01-01")));
    assert_eq!(cal().day_kind(d("2027-01-02")), DayKind::Weekend);
    assert_eq!(cal().day_kind(d("2027-01-04")), DayKind::Workday);
    // The lunar holidays are not guessed: 2027-02-08 (Monday) would be 正月初二.
    assert_eq!(cal().day_kind(d("2027-02-08")), DayKind::Workday);
    assert_eq!(
        cal().provisional_years(d("2026-12-20"), d("2027-01-10")),
        [2027]
    );
    assert_eq!(
        cal().provisional_years(d("2026-12-20"), d("2026-01-10")),
        Vec::<i32>::new()
    );
}

/// First and last day of every holiday period, days inside them that fall on a weekend,
/// every make-up day, and ordinary days next to them.
#[rstest]
// 2025
#[case("2025-01-01", holiday("元旦"))]
#[case("2025-01-02", DayKind::Workday)]
#[case("2025-01-26", makeup("春节"))] // Sunday
#[case("2025-01-27", DayKind::Workday)] // the day before 除夕 is worked
#[case("2025-01-28", holiday("春节"))] // 除夕
#[case("2025-02-01", holiday("春节"))] // Saturday inside the holiday
#[case("2025-02-04", holiday("春节"))]
#[case("2025-02-05", DayKind::Workday)]
#[case("2025-02-08", makeup("春节"))] // Saturday
#[case("2025-02-09", DayKind::Weekend)]
#[case("2025-04-04", holiday("清明节"))]
#[case("2025-04-06", holiday("清明节"))]
#[case("2025-04-07", DayKind::Workday)]
#[case("2025-04-27", makeup("劳动节"))] // Sunday
#[case("2025-05-01", holiday("劳动节"))]
#[case("2025-05-05", holiday("劳动节"))]
#[case("2025-05-06", DayKind::Workday)]
#[case("2025-05-31", holiday("端午节"))]
#[case("2025-06-02", holiday("端午节"))]
#[case("2025-06-03", DayKind::Workday)]
#[case("2025-09-28", makeup("国庆节、中秋节"))] // Sunday
#[case("2025-10-01", holiday("国庆节、中秋节"))]
#[case("2025-10-06", holiday("国庆节、中秋节"))] // 中秋 itself
#[case("2025-10-08", holiday("国庆节、中秋节"))]
#[case("2025-10-09", DayKind::Workday)]
#[case("2025-10-11", makeup("国庆节、中秋节"))] // Saturday
#[case("2025-10-12", DayKind::Weekend)]
// 2026
#[case("2026-01-01", holiday("元旦"))]
#[case("2026-01-03", holiday("元旦"))] // Saturday
#[case("2026-01-04", makeup("元旦"))] // Sunday
#[case("2026-01-05", DayKind::Workday)]
#[case("2026-02-13", DayKind::Workday)]
#[case("2026-02-14", makeup("春节"))] // Saturday
#[case("2026-02-15", holiday("春节"))] // Sunday, 腊月二十八
#[case("2026-02-17", holiday("春节"))] // 正月初一
#[case("2026-02-23", holiday("春节"))] // Monday, 正月初七
#[case("2026-02-24", DayKind::Workday)]
#[case("2026-02-28", makeup("春节"))] // Saturday
#[case("2026-03-01", DayKind::Weekend)]
#[case("2026-04-04", holiday("清明节"))]
#[case("2026-04-06", holiday("清明节"))]
#[case("2026-04-07", DayKind::Workday)]
#[case("2026-05-01", holiday("劳动节"))]
#[case("2026-05-05", holiday("劳动节"))]
#[case("2026-05-09", makeup("劳动节"))] // Saturday
#[case("2026-05-10", DayKind::Weekend)]
#[case("2026-06-19", holiday("端午节"))]
#[case("2026-06-21", holiday("端午节"))]
#[case("2026-06-22", DayKind::Workday)]
#[case("2026-09-20", makeup("国庆节"))] // Sunday
#[case("2026-09-25", holiday("中秋节"))]
#[case("2026-09-27", holiday("中秋节"))]
#[case("2026-09-28", DayKind::Workday)]
#[case("2026-10-01", holiday("国庆节"))]
#[case("2026-10-07", holiday("国庆节"))]
#[case("2026-10-08", DayKind::Workday)]
#[case("2026-10-10", makeup("国庆节"))] // Saturday
#[case("2026-10-11", DayKind::Weekend)]
fn day_kinds(#[case] date: &str, #[case] kind: DayKind) {
    let date = d(date);
    assert_eq!(cal().is_working_day(date), kind.is_working(), "{date}");
    assert_eq!(cal().day_kind(date), kind, "{date}");
}

#[rstest]
#[case(2025, 28, 5)] // 1 + 8 + 3 + 5 + 3 + 8 days off
#[case(2026, 33, 6)] // 3 + 9 + 3 + 5 + 3 + 3 + 7 days off
fn totals_per_year(#[case] year: i32, #[case] days_off: usize, #[case] makeups: usize) {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
    let dates: Vec<NaiveDate> = first.iter_days().take_while(|d| d.year() == year).collect();
    let holidays = dates
        .iter()
        .filter(|d| matches!(cal().day_kind(**d), DayKind::Holiday { .. }))
        .count();
    let made_up = dates
        .iter()
        .filter(|d| matches!(cal().day_kind(**d), DayKind::MakeupWorkday { .. }))
        .count();
    assert_eq!((holidays, made_up), (days_off, makeups));
}

#[rstest]
#[case("2026-02-12", 0, "2026-02-12")]
#[case("2026-02-18", 0, "2026-02-18")] // n = 0 returns start even on a holiday
#[case("2026-02-12", 1, "2026-02-13")]
#[case("2026-02-13", 1, "2026-02-14")] // the make-up Saturday is the next working day
#[case("2026-02-14", 1, "2026-02-24")] // then nine days off
#[case("2026-02-18", 1, "2026-02-24")] // counting from a holiday starts after it
#[case("2026-09-18", 1, "2026-09-20")] // Saturday skipped, make-up Sunday counts
#[case("2026-12-31", 1, "2027-01-04")] // 2027 unpublished: Friday 1 January is still 元旦
#[case("2026-12-30", 2, "2027-01-04")] // Thu 31, (元旦, weekend), Mon 4
fn add_working_days_examples(#[case] start: &str, #[case] n: u32, #[case] expected: &str) {
    assert_eq!(cal().add_working_days(d(start), n), d(expected));
}

#[rstest]
#[case("2026-02-13", "2026-02-24", 2)] // 14 (make-up), 24
#[case("2026-02-14", "2026-02-23", 0)] // only holidays after the make-up day
#[case("2026-02-20", "2026-02-20", 0)]
#[case("2026-09-30", "2026-10-12", 4)] // 8, 9, 10 (make-up), 12
#[case("2025-12-31", "2026-01-05", 2)] // 4 (make-up Sunday), 5
#[case("2026-03-02", "2026-03-09", 5)] // an ordinary week
#[case("2026-12-28", "2027-01-08", 8)] // 29, 30, 31, (元旦), 4–8
#[case("2027-09-30", "2027-10-08", 5)] // (国庆节 Fri 1, Sat 2, Sun 3), 4–8
fn working_days_between_examples(#[case] a: &str, #[case] b: &str, #[case] expected: i64) {
    assert_eq!(cal().working_days_between(d(a), d(b)), expected);
    assert_eq!(cal().working_days_between(d(b), d(a)), -expected);
}

#[test]
fn add_calendar_days_ignores_holidays_and_saturates() {
    assert_eq!(
        cal().add_calendar_days(d("2026-02-10"), 10),
        d("2026-02-20")
    );
    assert_eq!(cal().add_calendar_days(d("2026-02-10"), 0), d("2026-02-10"));
    assert_eq!(cal().add_calendar_days(NaiveDate::MAX, 1), NaiveDate::MAX);
    assert_eq!(cal().add_working_days(NaiveDate::MAX, 3), NaiveDate::MAX);
}

#[test]
fn working_day_on_or_after() {
    assert_eq!(
        cal().working_day_on_or_after(d("2026-02-20")),
        d("2026-02-24")
    );
    assert_eq!(
        cal().working_day_on_or_after(d("2026-02-14")),
        d("2026-02-14")
    );
    assert_eq!(
        cal().working_day_on_or_after(d("2026-03-07")),
        d("2026-03-09")
    );
}

#[test]
fn weekends_only_calendar_flags_every_year() {
    let c = HolidayCalendar::weekends_only();
    assert_eq!(c.coverage(2026), YearCoverage::WeekendsOnly);
    assert_eq!(c.day_kind(d("2026-02-17")), DayKind::Workday);
    assert_eq!(c.working_days_between(d("2026-02-13"), d("2026-02-24")), 7);
    // The fixed-date holidays hold without any notice.
    assert_eq!(c.day_kind(d("2026-10-02")), holiday("国庆节"));
    assert_eq!(c.day_kind(d("2026-10-04")), DayKind::Weekend);
    // (Sep 30, Oct 9]: Thu 1, Fri 2 (国庆节), Sat 3 (国庆节), Sun 4, then Mon 5 – Fri 9.
    assert_eq!(c.working_days_between(d("2026-09-30"), d("2026-10-09")), 5);
}

/// 2028 (no notice): every fixed-date holiday is a day off, and nothing else is.
#[test]
fn fixed_date_holidays_of_an_unknown_year() {
    let days_off: Vec<(NaiveDate, DayKind)> = d("2028-01-01")
        .iter_days()
        .take_while(|x| x.year() == 2028)
        .filter_map(|x| match cal().day_kind(x) {
            k @ DayKind::Holiday { .. } => Some((x, k)),
            _ => None,
        })
        .collect();
    assert_eq!(
        days_off,
        [
            (d("2028-01-01"), holiday("元旦")), // a Saturday: no 补休 is invented
            (d("2028-05-01"), holiday("劳动节")),
            (d("2028-05-02"), holiday("劳动节")),
            (d("2028-10-01"), holiday("国庆节")),
            (d("2028-10-02"), holiday("国庆节")),
            (d("2028-10-03"), holiday("国庆节")),
        ]
    );
    // Mon 1 and Tue 2 May are off: Fri 28 April + 1 working day is Wed 3 May.
    assert_eq!(cal().add_working_days(d("2028-04-28"), 1), d("2028-05-03"));
    assert_eq!(
        cal().working_days_between(d("2028-04-28"), d("2028-05-03")),
        1
    );
}

/// In a published year the notice alone decides: every day of 2025 and 2026 is a holiday
/// exactly when it lies in one of the notice's periods, and a make-up day exactly when the
/// notice lists it — read straight from the schedules, not through `day_kind`. The fixed-date
/// rule for unpublished years must not leak into them.
#[test]
fn published_years_follow_their_notice_only() {
    for year in [2025, 2026] {
        let schedule = cal().year(year).expect("in the file");
        let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
        for date in first.iter_days().take_while(|x| x.year() == year) {
            let in_period = schedule
                .holidays
                .iter()
                .find(|h| h.from <= date && date <= h.to);
            let made_up = schedule.makeup_workdays.iter().find(|m| m.date == date);
            let expected = match (in_period, made_up) {
                (Some(h), _) => holiday(&h.name),
                (None, Some(m)) => makeup(&m.for_holiday),
                (None, None) if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => {
                    DayKind::Weekend
                }
                (None, None) => DayKind::Workday,
            };
            assert_eq!(cal().day_kind(date), expected, "{date}");
            assert_eq!(cal().is_working_day(date), expected.is_working(), "{date}");
        }
    }
}

#[test]
fn day_kind_labels() {
    assert_eq!(cal().day_kind(d("2026-02-17")).label_zh(), "春节假期");
    assert_eq!(
        cal().day_kind(d("2026-02-14")).label_zh(),
        "调休上班（春节）"
    );
    assert_eq!(DayKind::Weekend.label_zh(), "周末");
    assert_eq!(DayKind::Workday.label_zh(), "工作日");
}

fn date_2025_2027() -> impl Strategy<Value = NaiveDate> {
    (0u64..1095).prop_map(|k| d("2025-01-01") + Days::new(k))
}

proptest! {
    #[test]
    fn between_inverts_add(start in date_2025_2027(), n in 0u32..60) {
        let end = cal().add_working_days(start, n);
        prop_assert_eq!(cal().working_days_between(start, end), i64::from(n));
        prop_assert_eq!(cal().working_days_between(end, start), -i64::from(n));
        if n > 0 {
            prop_assert!(cal().is_working_day(end));
            prop_assert!(end > start);
        }
    }

    #[test]
    fn between_is_antisymmetric_and_matches_counting(
        a in date_2025_2027(),
        b in date_2025_2027(),
    ) {
        let ab = cal().working_days_between(a, b);
        prop_assert_eq!(ab, -cal().working_days_between(b, a));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let counted = lo
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= hi)
            .filter(|d| cal().is_working_day(*d))
            .count();
        prop_assert_eq!(ab.abs(), i64::try_from(counted).expect("small"));
    }

    #[test]
    fn between_is_additive(
        a in date_2025_2027(),
        b in date_2025_2027(),
        c in date_2025_2027(),
    ) {
        prop_assert_eq!(
            cal().working_days_between(a, b) + cal().working_days_between(b, c),
            cal().working_days_between(a, c)
        );
    }
}

#[test]
fn serde_round_trip() {
    let json = serde_json::to_string_pretty(cal()).expect("serialises");
    let back = HolidayCalendar::from_json(&json).expect("parses");
    assert_eq!(&back, cal());
    let via_serde: HolidayCalendar = serde_json::from_str(&json).expect("parses");
    assert_eq!(&via_serde, cal());
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value["years"][1]["makeup_workdays"][0]["for"], "元旦");
    assert_eq!(
        serde_json::to_value(cal().coverage(2027)).expect("json"),
        serde_json::json!({"coverage": "weekends_only"})
    );
    assert_eq!(
        serde_json::to_value(cal().day_kind(d("2026-02-14"))).expect("json"),
        serde_json::json!({"kind": "makeup_workday", "name": "春节"})
    );
}

#[test]
fn deserialising_validates_too() {
    let bad = r#"{"years":[{"year":2026,"published":false,"holidays":[
        {"name":"元旦","from":"2026-01-01","to":"2026-01-01"}]}]}"#;
    assert!(serde_json::from_str::<HolidayCalendar>(bad).is_err());
}

/// A one-year calendar whose 2030 notice has `holidays` and `makeups` (JSON fragments).
fn year_2030(holidays: &str, makeups: &str) -> String {
    format!(
        r#"{{"years":[{{"year":2030,"published":true,"notice":{{"title":"通知"}},
        "holidays":[{holidays}],"makeup_workdays":[{makeups}]}}]}}"#
    )
}

#[rstest]
#[case::from_after_to(
    year_2030(r#"{"name":"春节","from":"2030-02-05","to":"2030-02-02"}"#, ""),
    CalendarError::RangeReversed { year: 2030, name: "春节".into(), from: d("2030-02-05"), to: d("2030-02-02") }
)]
#[case::outside_year(
    year_2030(r#"{"name":"元旦","from":"2031-01-01","to":"2031-01-01"}"#, ""),
    CalendarError::DateOutsideYear { year: 2030, date: d("2031-01-01") }
)]
#[case::too_early(
    year_2030(r#"{"name":"元旦","from":"2029-11-30","to":"2030-01-01"}"#, ""),
    CalendarError::DateOutsideYear { year: 2030, date: d("2029-11-30") }
)]
#[case::makeup_on_weekday(
    // 2030-02-11 is a Monday.
    year_2030(r#"{"name":"春节","from":"2030-02-02","to":"2030-02-08"}"#, r#"{"date":"2030-02-11","for":"春节"}"#),
    CalendarError::MakeupNotWeekend { date: d("2030-02-11") }
)]
#[case::holiday_and_makeup(
    year_2030(r#"{"name":"春节","from":"2030-02-02","to":"2030-02-08"}"#, r#"{"date":"2030-02-03","for":"春节"}"#),
    CalendarError::HolidayAndMakeup { date: d("2030-02-03") }
)]
#[case::overlap(
    year_2030(r#"{"name":"甲","from":"2030-05-01","to":"2030-05-05"},{"name":"乙","from":"2030-05-05","to":"2030-05-06"}"#, ""),
    CalendarError::OverlappingHolidays { date: d("2030-05-05"), first: "甲".into(), second: "乙".into() }
)]
#[case::makeup_twice(
    year_2030(r#"{"name":"春节","from":"2030-02-02","to":"2030-02-08"}"#, r#"{"date":"2030-02-09","for":"春节"},{"date":"2030-02-09","for":"春节"}"#),
    CalendarError::DuplicateMakeup { date: d("2030-02-09") }
)]
#[case::unknown_holiday(
    year_2030(r#"{"name":"春节","from":"2030-02-02","to":"2030-02-08"}"#, r#"{"date":"2030-02-09","for":"国庆节"}"#),
    CalendarError::UnknownHoliday { year: 2030, date: d("2030-02-09"), name: "国庆节".into() }
)]
#[case::empty_name(
    year_2030(r#"{"name":" ","from":"2030-02-02","to":"2030-02-08"}"#, ""),
    CalendarError::EmptyName { year: 2030 }
)]
#[case::duplicate_year(
    r#"{"years":[{"year":2030,"published":false},{"year":2030,"published":false}]}"#.to_owned(),
    CalendarError::DuplicateYear(2030)
)]
#[case::published_without_notice(
    r#"{"years":[{"year":2030,"published":true}]}"#.to_owned(),
    CalendarError::MissingNotice { year: 2030 }
)]
#[case::unpublished_with_dates(
    r#"{"years":[{"year":2030,"published":false,"makeup_workdays":[{"date":"2030-02-09","for":"春节"}]}]}"#.to_owned(),
    CalendarError::UnpublishedWithDays { year: 2030 }
)]
#[case::unknown_year(
    r#"{"years":[{"year":300000,"published":false}]}"#.to_owned(),
    CalendarError::InvalidYear(300000)
)]
fn rejects_invalid_data(#[case] json: String, #[case] expected: CalendarError) {
    assert_eq!(HolidayCalendar::from_json(&json), Err(expected));
}

#[test]
fn conflicts_across_years_are_found() {
    // The 2031 notice makes 2030-12-28 (a Saturday) a make-up day; the 2030 notice calls it
    // a holiday.
    let json = r#"{"years":[
        {"year":2030,"published":true,"notice":{"title":"甲"},
         "holidays":[{"name":"元旦","from":"2030-12-28","to":"2030-12-28"}]},
        {"year":2031,"published":true,"notice":{"title":"乙"},
         "holidays":[{"name":"元旦","from":"2031-01-01","to":"2031-01-01"}],
         "makeup_workdays":[{"date":"2030-12-28","for":"元旦"}]}]}"#;
    assert_eq!(
        HolidayCalendar::from_json(json),
        Err(CalendarError::HolidayAndMakeup {
            date: d("2030-12-28")
        })
    );
}

#[test]
fn a_notice_may_reach_into_the_previous_december() {
    // The 2012 notice (国办发明电〔2011〕45号): 元旦 2012-01-01 to 01-03, and Saturday
    // 2011-12-31 worked.
    let json = r#"{"years":[{"year":2012,"published":true,
        "notice":{"title":"国务院办公厅关于2012年部分节假日安排的通知","document_number":"国办发明电〔2011〕45号"},
        "holidays":[{"name":"元旦","from":"2012-01-01","to":"2012-01-03"}],
        "makeup_workdays":[{"date":"2011-12-31","for":"元旦"}]}]}"#;
    let c = HolidayCalendar::from_json(json).expect("valid");
    assert_eq!(c.day_kind(d("2011-12-31")), makeup("元旦"));
    assert_eq!(c.add_working_days(d("2011-12-30"), 1), d("2011-12-31"));
    assert_eq!(c.add_working_days(d("2011-12-31"), 1), d("2012-01-04"));
}

#[rstest]
#[case(CalendarError::MakeupNotWeekend { date: d("2030-02-11") }, "调休上班日2030-02-11是周一，调休上班日只能是周六或周日")]
#[case(CalendarError::DateOutsideYear { year: 2030, date: d("2031-01-01") }, "2030年安排中的日期2031-01-01不在该年内（最早只能提前到上一年12月）")]
#[case(CalendarError::HolidayAndMakeup { date: d("2030-02-03") }, "2030-02-03不能既是放假日又是调休上班日")]
#[case(CalendarError::DuplicateYear(2030), "2030年的放假安排出现了不止一次")]
fn errors_are_in_chinese(#[case] e: CalendarError, #[case] text: &str) {
    assert_eq!(e.to_string(), text);
}

#[test]
fn bad_json_is_reported() {
    let e = HolidayCalendar::from_json("{").expect_err("not json");
    assert!(matches!(e, CalendarError::Json(_)));
    assert!(e.to_string().starts_with("节假日日历不是有效的JSON："));
    let e = HolidayCalendar::from_json(r#"{"years":[{"year":2030,"published":true,"notice":{"title":"x"},"holidays":[{"name":"a","from":"2030-02-30","to":"2030-03-01"}]}]}"#)
        .expect_err("no such date");
    assert!(matches!(e, CalendarError::Json(_)));
}
