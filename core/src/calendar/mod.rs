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
//! A year whose notice is not yet published falls back to what the law itself fixes and says so
//! ([`YearCoverage::WeekendsOnly`]): weekends, plus the statutory holidays that fall on a fixed
//! Gregorian date ([`FIXED_DATE_HOLIDAYS`]: 元旦, 劳动节, 国庆节). Due dates reaching into such a
//! year are provisional and the UI shows that, rather than the calendar inventing the rest of
//! the arrangement (the lunar holidays, the bridging and the make-up days).
//!
//! Terms: a *working day* is a Monday–Friday that is not a holiday, or a make-up day. All dates
//! are calendar dates in Asia/Shanghai ([`crate::time::china_date`]); nothing here reads a clock.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The notices compiled into the app. Edit this file (and its tests) when a new notice is out.
const BUILTIN_JSON: &str = include_str!("../../../assets/calendar/cn-holidays.json");

/// The statutory holidays that fall on a fixed Gregorian date, as (month, day, name), per
/// 《全国年节及纪念日放假办法》 as revised in 2024 (国务院令第798号, in force 2025-01-01):
/// 元旦 1月1日; 劳动节 5月1日、2日; 国庆节 10月1日、2日、3日.
///
/// They are days off in every year by law, so a year without a published notice still counts
/// them: otherwise a Friday 1 January would count as a working day and a deadline across it
/// would end a day early. The other statutory holidays — 春节 (除夕 to 初三), 清明节, 端午节,
/// 中秋节 — follow the lunar calendar or the solar term and cannot be known from the Gregorian
/// date alone; they, the bridged days around every holiday and the make-up working days
/// (调休上班) come only from the year's notice. Neither does this table move a holiday that
/// falls on a weekend to a weekday (补休): that too is the notice's decision.
///
/// Names match the ones the notices use, so a fixed-date day reads the same before and after
/// the year's notice is loaded.
pub const FIXED_DATE_HOLIDAYS: [(u32, u32, &str); 6] = [
    (1, 1, "元旦"),
    (5, 1, "劳动节"),
    (5, 2, "劳动节"),
    (10, 1, "国庆节"),
    (10, 2, "国庆节"),
    (10, 3, "国庆节"),
];

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
    /// Whether the notice for this year is out. `false`: the year is counted with weekends and
    /// the [`FIXED_DATE_HOLIDAYS`] only, and `holidays` and `makeup_workdays` must be empty.
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
    /// No notice for the year (not yet published, or not loaded): only weekends and the
    /// [`FIXED_DATE_HOLIDAYS`] are days off. Due dates in this year are provisional and should
    /// be flagged to users. (The name, and its wire form `weekends_only`, predate the fixed-date
    /// holidays; kept so stored and exchanged data keep their meaning.)
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

    /// A calendar that knows no notice: only weekends and the [`FIXED_DATE_HOLIDAYS`] are days
    /// off, every year is flagged.
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

    /// Whether `year`'s notice is loaded (cheaper than [`HolidayCalendar::coverage`]: no clone).
    fn is_published(&self, year: i32) -> bool {
        matches!(
            self.year(year),
            Some(YearSchedule {
                published: true,
                notice: Some(_),
                ..
            })
        )
    }

    /// The name of the fixed-date statutory holiday on `date` when its year has no notice
    /// loaded. A published year's notice decides every day of that year itself.
    fn fixed_date_holiday(&self, date: NaiveDate) -> Option<&'static str> {
        let (month, day) = (date.month(), date.day());
        let (_, _, name) = FIXED_DATE_HOLIDAYS
            .iter()
            .find(|(m, d, _)| *m == month && *d == day)?;
        (!self.is_published(date.year())).then_some(*name)
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        match self.days.get(&date) {
            Some(Marked::Holiday(name)) => DayKind::Holiday { name: name.clone() },
            Some(Marked::Makeup(name)) => DayKind::MakeupWorkday { name: name.clone() },
            None => match self.fixed_date_holiday(date) {
                Some(name) => DayKind::Holiday {
                    name: name.to_owned(),
                },
                None if is_weekend(date) => DayKind::Weekend,
                None => DayKind::Workday,
            },
        }
    }

    /// Whether `date` counts as a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(Marked::Holiday(_)) => false,
            Some(Marked::Makeup(_)) => true,
            None => !is_weekend(date) && self.fixed_date_holiday(date).is_none(),
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
    /// Computed arithmetically (whole weeks, then the marked dates in range, then the
    /// fixed-date holidays of unpublished years in range), so long intervals are cheap.
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
        for year in a.year()..=b.year() {
            if self.is_published(year) {
                continue;
            }
            for (month, day, _) in FIXED_DATE_HOLIDAYS {
                let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
                    continue;
                };
                // A date the notices mark was counted above.
                if a < date && date <= b && !is_weekend(date) && !self.days.contains_key(&date) {
                    count -= 1;
                }
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
mod tests;
