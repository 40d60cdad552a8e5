//! The working-day calendar (工作日历): which dates count when a deadline is counted.
//!
//! The statutory deadlines of the procedure ("home verification within 5 working days", "county
//! approval within 15 working days") count **working days (工作日)**. Saturdays, Sundays and
//! statutory holidays (法定节假日) do not count. A Saturday or Sunday that the State Council
//! declares a working day to make up for a bridged holiday (调休上班日) **does** count.
//!
//! Which days are holidays and make-up days is not a rule but data: the State Council General
//! Office publishes it each year, usually in November or December for the following year, in a
//! notice titled 国务院办公厅关于XXXX年部分节假日安排的通知. So the calendar is a value
//! ([`HolidayCalendar`]) that serialises to JSON: the copy compiled in from
//! `assets/calendar/cn-holidays.json` ([`HolidayCalendar::builtin`]) can be replaced by one an
//! administrator edits on the server and sends to the phones, without an app release.
//!
//! A year whose notice is not yet published falls back to "weekends only" and says so
//! ([`YearCoverage::WeekendsOnly`]): due dates reaching into it are provisional and the UI shows
//! that, rather than the calendar inventing holidays.
//!
//! Terms: a *working day* is a Monday–Friday that is not a holiday, or a make-up day. All dates
//! are calendar dates in Asia/Shanghai ([`crate::time::china_date`]); nothing here reads a clock.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The notices compiled into the app. Edit this file (and its tests) when a new notice is out.
const BUILTIN_JSON: &str = include_str!("../../assets/calendar/cn-holidays.json");

/// The State Council notice a year's schedule comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// E.g. 国务院办公厅关于2026年部分节假日安排的通知.
    pub title: String,
    /// E.g. 国办发明电〔2025〕7号.
    #[serde(default)]
    pub document_number: Option<String>,
    /// The date the notice was issued.
    #[serde(default)]
    pub published_on: Option<NaiveDate>,
    /// Where the text can be read (www.gov.cn).
    #[serde(default)]
    pub source_url: Option<String>,
}

/// A run of statutory days off, e.g. 春节 2026-02-15 to 2026-02-23 (both included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayPeriod {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A Saturday or Sunday declared a working day (调休上班) to make up for `for_holiday`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeupWorkday {
    pub date: NaiveDate,
    /// The name of the holiday period (of the same year's notice) it makes up for.
    #[serde(rename = "for")]
    pub for_holiday: String,
}

/// One year's arrangement as published in one notice.
///
/// Dates normally lie inside `year`, but a notice may reach back into the December before it:
/// the notice for 2012 (国办发明电〔2011〕45号) made Saturday 2011-12-31 a working day for 元旦,
/// and the one for 2008 started the 元旦 holiday on 2007-12-30. Such dates are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearSchedule {
    pub year: i32,
    /// Whether the notice for this year is out. `false`: the year is counted as weekends only,
    /// and `holidays` and `makeup_workdays` must be empty.
    pub published: bool,
    #[serde(default)]
    pub notice: Option<Notice>,
    #[serde(default)]
    pub holidays: Vec<HolidayPeriod>,
    #[serde(default)]
    pub makeup_workdays: Vec<MakeupWorkday>,
}

/// What kind of day a date is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday, no holiday: counts.
    Workday,
    /// Saturday or Sunday, no make-up day: does not count.
    Weekend,
    /// A statutory day off (also when it falls on a weekend): does not count.
    Holiday { name: String },
    /// A Saturday or Sunday worked to make up for holiday `name`: counts.
    MakeupWorkday { name: String },
}

impl DayKind {
    /// Whether a deadline counting working days counts this day.
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeupWorkday { .. })
    }

    /// The Chinese name of the kind, as shown to users (e.g. 春节假期, 调休上班（春节）).
    pub fn label_zh(&self) -> String {
        match self {
            DayKind::Workday => "工作日".to_owned(),
            DayKind::Weekend => "周末".to_owned(),
            DayKind::Holiday { name } => format!("{name}假期"),
            DayKind::MakeupWorkday { name } => format!("调休上班（{name}）"),
        }
    }
}

/// How well the calendar knows a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "coverage", rename_all = "snake_case")]
pub enum YearCoverage {
    /// The year's notice is in the calendar: working days are exact.
    Published { notice: Notice },
    /// No notice for the year (not yet published, or not loaded): only weekends are days off.
    /// Due dates in this year are provisional and should be flagged to users.
    WeekendsOnly,
}

impl YearCoverage {
    pub fn is_published(&self) -> bool {
        matches!(self, YearCoverage::Published { .. })
    }
}

/// Why calendar data was rejected. Messages are shown to the administrator who edits it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("节假日日历不是有效的JSON：{0}")]
    Json(String),
    #[error("{0}年的放假安排出现了不止一次")]
    DuplicateYear(i32),
    #[error("年份{0}无效")]
    InvalidYear(i32),
    #[error("{year}年标记为已发布，但没有填写通知标题")]
    MissingNotice { year: i32 },
    #[error("{year}年标记为未发布，却填写了放假或调休日期")]
    UnpublishedWithDays { year: i32 },
    #[error("{year}年有一个假期或调休日没有填写节日名称")]
    EmptyName { year: i32 },
    #[error("{year}年安排中的日期{date}不在该年内（最早只能提前到上一年12月）")]
    DateOutsideYear { year: i32, date: NaiveDate },
    #[error("{year}年“{name}”的开始日期{from}晚于结束日期{to}")]
    RangeReversed {
        year: i32,
        name: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    #[error("调休上班日{date}是{weekday}，调休上班日只能是周六或周日", weekday = weekday_zh(.date.weekday()))]
    MakeupNotWeekend { date: NaiveDate },
    #[error("{date}不能既是放假日又是调休上班日")]
    HolidayAndMakeup { date: NaiveDate },
    #[error("{date}同时属于“{first}”和“{second}”两个假期")]
    OverlappingHolidays {
        date: NaiveDate,
        first: String,
        second: String,
    },
    #[error("调休上班日{date}重复出现")]
    DuplicateMakeup { date: NaiveDate },
    #[error("调休上班日{date}所补的“{name}”不是{year}年安排中的假期")]
    UnknownHoliday {
        year: i32,
        date: NaiveDate,
        name: String,
    },
}

/// A date the notices mark, with the holiday name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marked {
    Holiday(String),
    Makeup(String),
}

/// The wire and file shape of a calendar.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CalendarData {
    years: Vec<YearSchedule>,
}

/// Validated holiday data: the years it knows, and an index of every marked date.
///
/// Serialises as `{"years": [...]}` (the shape of `assets/calendar/cn-holidays.json`);
/// deserialising validates like [`HolidayCalendar::from_json`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarData", into = "CalendarData")]
pub struct HolidayCalendar {
    /// Sorted by year; years unique.
    years: Vec<YearSchedule>,
    /// Every holiday and make-up date of every year.
    days: BTreeMap<NaiveDate, Marked>,
}

static BUILTIN: OnceLock<Result<HolidayCalendar, CalendarError>> = OnceLock::new();

impl HolidayCalendar {
    /// The calendar compiled into the app, parsed on first use.
    ///
    /// Should the compiled-in file ever be invalid (the tests of this module rule that out), this
    /// returns the weekends-only calendar, in which every year reports
    /// [`YearCoverage::WeekendsOnly`]: due dates stay computable and are visibly flagged.
    pub fn builtin() -> &'static HolidayCalendar {
        static EMPTY: HolidayCalendar = HolidayCalendar::weekends_only();
        Self::try_builtin().unwrap_or(&EMPTY)
    }

    /// The compiled-in calendar, or why it could not be parsed.
    pub fn try_builtin() -> Result<&'static HolidayCalendar, &'static CalendarError> {
        BUILTIN
            .get_or_init(|| HolidayCalendar::from_json(BUILTIN_JSON))
            .as_ref()
    }

    /// A calendar that knows no notice: only weekends are days off, every year is flagged.
    pub const fn weekends_only() -> HolidayCalendar {
        HolidayCalendar {
            years: Vec::new(),
            days: BTreeMap::new(),
        }
    }

    /// Parse and validate JSON in the shape of `assets/calendar/cn-holidays.json`.
    pub fn from_json(text: &str) -> Result<HolidayCalendar, CalendarError> {
        let data: CalendarData =
            serde_json::from_str(text).map_err(|e| CalendarError::Json(e.to_string()))?;
        HolidayCalendar::new(data.years)
    }

    /// Validate year schedules and build the calendar.
    ///
    /// Checks: no year twice; a published year names its notice and an unpublished one lists
    /// no dates; names not empty; every date inside its year (or the December before);
    /// `from ≤ to`; make-up days on a Saturday or Sunday and made up for a holiday of the same
    /// notice; no date both holiday and make-up day, in two holidays, or a make-up day twice
    /// (across all years).
    pub fn new(mut years: Vec<YearSchedule>) -> Result<HolidayCalendar, CalendarError> {
        years.sort_by_key(|y| y.year);
        let mut days = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for y in &years {
            if !seen.insert(y.year) {
                return Err(CalendarError::DuplicateYear(y.year));
            }
            check_year(y, &mut days)?;
        }
        Ok(HolidayCalendar { years, days })
    }

    /// The year schedules, sorted by year.
    pub fn years(&self) -> &[YearSchedule] {
        &self.years
    }

    /// The schedule for `year`, if the calendar has an entry for it (published or not).
    pub fn year(&self, year: i32) -> Option<&YearSchedule> {
        self.years.iter().find(|y| y.year == year)
    }

    /// Whether `year`'s notice is known ([`YearCoverage::Published`]) or the year is counted
    /// as weekends only ([`YearCoverage::WeekendsOnly`], to be flagged).
    pub fn coverage(&self, year: i32) -> YearCoverage {
        match self.year(year) {
            Some(YearSchedule {
                published: true,
                notice: Some(notice),
                ..
            }) => YearCoverage::Published {
                notice: notice.clone(),
            },
            _ => YearCoverage::WeekendsOnly,
        }
    }

    /// The years from `a`'s to `b`'s (either order) counted as weekends only: a due date computed
    /// across them is provisional. Empty when every year involved is published.
    pub fn provisional_years(&self, a: NaiveDate, b: NaiveDate) -> Vec<i32> {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        (lo.year()..=hi.year())
            .filter(|y| !self.coverage(*y).is_published())
            .collect()
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        match self.days.get(&date) {
            Some(Marked::Holiday(name)) => DayKind::Holiday { name: name.clone() },
            Some(Marked::Makeup(name)) => DayKind::MakeupWorkday { name: name.clone() },
            None if is_weekend(date) => DayKind::Weekend,
            None => DayKind::Workday,
        }
    }

    /// Whether `date` counts as a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(Marked::Holiday(_)) => false,
            Some(Marked::Makeup(_)) => true,
            None => !is_weekend(date),
        }
    }

    /// The `n`-th working day strictly after `start`; `start` itself when `n` is 0.
    ///
    /// `start` need not be a working day: counting from a holiday begins with the first working
    /// day after it. Saturates at the last representable date. Walks day by day (about 1.4·n
    /// steps), which is plenty for deadlines of a few dozen days.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            let Some(next) = date.succ_opt() else {
                return date;
            };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// The number of working days in the half-open interval `(a, b]`; negative (the count in
    /// `(b, a]`) when `b` is before `a`, so `working_days_between(a, b) ==
    /// -working_days_between(b, a)`, and `working_days_between(d, add_working_days(d, n)) == n`.
    ///
    /// Computed arithmetically (whole weeks, then the marked dates in range), so long intervals
    /// are cheap.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if a <= b {
            self.count_working_after(a, b)
        } else {
            -self.count_working_after(b, a)
        }
    }

    /// `start` plus `n` calendar days (saturating at the last representable date).
    pub fn add_calendar_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        start
            .checked_add_days(Days::new(u64::from(n)))
            .unwrap_or(NaiveDate::MAX)
    }

    /// `date` if it is a working day, otherwise the first working day after it.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        if self.is_working_day(date) {
            date
        } else {
            self.add_working_days(date, 1)
        }
    }

    /// Working days in `(a, b]`, for `a <= b`.
    fn count_working_after(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let mut count = weekdays_after(a, b);
        for (date, marked) in self.days.range((Bound::Excluded(a), Bound::Included(b))) {
            match marked {
                Marked::Holiday(_) if !is_weekend(*date) => count -= 1,
                Marked::Makeup(_) if is_weekend(*date) => count += 1,
                _ => {}
            }
        }
        count
    }
}

impl TryFrom<CalendarData> for HolidayCalendar {
    type Error = CalendarError;
    fn try_from(data: CalendarData) -> Result<Self, Self::Error> {
        HolidayCalendar::new(data.years)
    }
}

impl From<HolidayCalendar> for CalendarData {
    fn from(c: HolidayCalendar) -> CalendarData {
        CalendarData { years: c.years }
    }
}

/// Validate one year and add its dates to `days`.
fn check_year(
    y: &YearSchedule,
    days: &mut BTreeMap<NaiveDate, Marked>,
) -> Result<(), CalendarError> {
    let year = y.year;
    if y.published {
        let titled = y
            .notice
            .as_ref()
            .is_some_and(|n| !n.title.trim().is_empty());
        if !titled {
            return Err(CalendarError::MissingNotice { year });
        }
    } else if !y.holidays.is_empty() || !y.makeup_workdays.is_empty() {
        return Err(CalendarError::UnpublishedWithDays { year });
    }
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(year.saturating_sub(1), 12, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Err(CalendarError::InvalidYear(year));
    };
    let in_year = |date: NaiveDate| {
        if (first..=last).contains(&date) {
            Ok(())
        } else {
            Err(CalendarError::DateOutsideYear { year, date })
        }
    };

    let mut names = BTreeSet::new();
    for h in &y.holidays {
        if h.name.trim().is_empty() {
            return Err(CalendarError::EmptyName { year });
        }
        in_year(h.from)?;
        in_year(h.to)?;
        if h.from > h.to {
            return Err(CalendarError::RangeReversed {
                year,
                name: h.name.clone(),
                from: h.from,
                to: h.to,
            });
        }
        names.insert(h.name.as_str());
        // Bounded by the year check above: at most 13 months of days.
        for date in h.from.iter_days().take_while(|d| *d <= h.to) {
            match days.get(&date) {
                Some(Marked::Holiday(other)) => {
                    return Err(CalendarError::OverlappingHolidays {
                        date,
                        first: other.clone(),
                        second: h.name.clone(),
                    });
                }
                Some(Marked::Makeup(_)) => return Err(CalendarError::HolidayAndMakeup { date }),
                None => {
                    days.insert(date, Marked::Holiday(h.name.clone()));
                }
            }
        }
    }

    for m in &y.makeup_workdays {
        let date = m.date;
        if m.for_holiday.trim().is_empty() {
            return Err(CalendarError::EmptyName { year });
        }
        in_year(date)?;
        if !is_weekend(date) {
            return Err(CalendarError::MakeupNotWeekend { date });
        }
        if !names.contains(m.for_holiday.as_str()) {
            return Err(CalendarError::UnknownHoliday {
                year,
                date,
                name: m.for_holiday.clone(),
            });
        }
        match days.get(&date) {
            Some(Marked::Holiday(_)) => return Err(CalendarError::HolidayAndMakeup { date }),
            Some(Marked::Makeup(_)) => return Err(CalendarError::DuplicateMakeup { date }),
            None => {
                days.insert(date, Marked::Makeup(m.for_holiday.clone()));
            }
        }
    }
    Ok(())
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Monday–Friday dates in `(a, b]`, for `a <= b`.
fn weekdays_after(a: NaiveDate, b: NaiveDate) -> i64 {
    let days = (b - a).num_days();
    // Any 7 consecutive days hold 5 weekdays; the remaining `rem` days fall on the same
    // weekdays as a+1 ..= a+rem.
    let mut count = days / 7 * 5;
    let start = i64::from(a.weekday().num_days_from_monday());
    for k in 1..=days % 7 {
        if (start + k) % 7 < 5 {
            count += 1;
        }
    }
    count
}

/// 周一 … 周日.
pub fn weekday_zh(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "周一",
        Weekday::Tue => "周二",
        Weekday::Wed => "周三",
        Weekday::Thu => "周四",
        Weekday::Fri => "周五",
        Weekday::Sat => "周六",
        Weekday::Sun => "周日",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn unpublished_2027_counts_weekends_only() {
        // 2027-01-01 is a Friday: without a notice it is an ordinary working day.
        assert_eq!(cal().day_kind(d("2027-01-01")), DayKind::Workday);
        assert_eq!(cal().day_kind(d("2027-01-02")), DayKind::Weekend);
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
    #[case("2026-12-31", 1, "2027-01-01")] // 2027 unpublished: Friday 1 January counts
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
}
