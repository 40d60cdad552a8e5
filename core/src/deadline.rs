//! Deadlines of the procedure: the rules, the due dates they give, and how late a case is.
//!
//! Each step of the procedure has a time limit counted from an earlier event (its [`Anchor`]):
//! home verification within 5 working days of the declaration, county approval within 15
//! working days of it, the one-household-one-plan within 10 days of approval, and so on. The
//! figures differ between provinces (and some counties add their own), so they are data
//! ([`DeadlineRules`], serde) with Gansu's figures as the default ([`DeadlineRules::gansu`]).
//!
//! Counting follows the usual rule for statutory periods: the day of the anchor event is not
//! counted, and "within N working days of D" ends at the end of the N-th working day after D
//! ([`HolidayCalendar::add_working_days`]). So when D is itself a holiday or weekend, counting
//! still starts with the first working day after it; a make-up Saturday (调休上班日) counts.
//! Calendar-day periods simply add N days.
//!
//! Everything here is a function of dates in Asia/Shanghai — the caller turns instants into
//! dates with [`crate::time::china_date`] and a due date back into an instant with
//! [`crate::time::end_of_china_day`] — so a phone offline in a village and the county's server
//! compute the same due date and the same status from the same calendar.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::HolidayCalendar;
use crate::division::{DivisionCode, Level};

/// A case is "due soon" (the app's orange) when at most this many working days are left.
pub const DUE_SOON_WORKING_DAYS: u32 = 2;

/// The longest period a rule may set, in its unit. Statutory periods are days or weeks; the cap
/// keeps a mistyped rule from producing absurd dates.
pub const MAX_RULE_AMOUNT: u32 = 366;

/// What a rule's amount counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    /// Working days (工作日) per the [`HolidayCalendar`].
    WorkingDays,
    /// Calendar days (自然日): weekends and holidays count.
    CalendarDays,
}

impl DayUnit {
    /// The unit as written after a number: "5个工作日", "10天".
    pub const fn name_zh(self) -> &'static str {
        match self {
            DayUnit::WorkingDays => "个工作日",
            DayUnit::CalendarDays => "天",
        }
    }
}

/// The event a period is counted from. The caller looks up that event's date on the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The household's declaration was received (申报).
    Declaration,
    /// The home verification reached its conclusion (核查结论).
    VerificationResult,
    /// The county approved the household's inclusion (审批纳入).
    Approval,
    /// The previous return visit; for the first visit, the date the plan was made.
    PreviousFollowUp,
    /// The public notice was posted in the village (公示张贴).
    NoticePosted,
}

impl Anchor {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Anchor::Declaration => "申报之日",
            Anchor::VerificationResult => "核查结论作出之日",
            Anchor::Approval => "审批纳入之日",
            Anchor::PreviousFollowUp => "上次回访之日",
            Anchor::NoticePosted => "公示张贴之日",
        }
    }
}

/// The steps that have a time limit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
#[ts(rename = "DeadlineStep")]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The township accepts and routes the declaration (受理分派).
    Accept,
    /// Home verification (入户核查).
    HomeVerification,
    /// Telling a non-qualifying applicant why (不符合条件告知).
    NotifyNotQualified,
    /// County approval (县级审批), counted from the declaration in total.
    CountyApproval,
    /// The one-household-one-plan (一户一策).
    Plan,
    /// The next return visit (定期回访).
    FollowUp,
    /// The public notice in the village (公示). Its rule is a *minimum* duration: the date is
    /// the earliest the notice period is complete, not a limit that can be missed.
    PublicNotice,
}

impl Step {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Step::Accept => "乡镇受理",
            Step::HomeVerification => "入户核查",
            Step::NotifyNotQualified => "不符合条件告知",
            Step::CountyApproval => "县级审批",
            Step::Plan => "一户一策",
            Step::FollowUp => "定期回访",
            Step::PublicNotice => "公示",
        }
    }

    /// Whether the step's rule is a minimum duration (公示 lasts at least N days) rather than a
    /// time limit; such dates are not assessed as overdue.
    pub const fn is_minimum_period(self) -> bool {
        matches!(self, Step::PublicNotice)
    }

    pub const ALL: [Step; 7] = [
        Step::Accept,
        Step::HomeVerification,
        Step::NotifyNotQualified,
        Step::CountyApproval,
        Step::Plan,
        Step::FollowUp,
        Step::PublicNotice,
    ];
}

/// One time limit: `amount` `unit`s counted from `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeadlineRule {
    pub amount: u32,
    pub unit: DayUnit,
    pub from: Anchor,
    /// For calendar-day periods: when the last day is a weekend or holiday, move it to the next
    /// working day (as the procedural laws do: 期间届满的最后一日是法定休假日的，以法定休假日后
    /// 的第一日为期间届满的日期). Off by default: the Gansu figures do not say it applies, and
    /// the earlier date is the safe side for an alert. Has no effect on working-day periods,
    /// which always end on a working day.
    #[serde(default)]
    pub extend_past_days_off: bool,
}

impl DeadlineRule {
    /// `amount` working days from `from`.
    pub const fn working_days(amount: u32, from: Anchor) -> DeadlineRule {
        DeadlineRule {
            amount,
            unit: DayUnit::WorkingDays,
            from,
            extend_past_days_off: false,
        }
    }

    /// `amount` calendar days from `from`.
    pub const fn calendar_days(amount: u32, from: Anchor) -> DeadlineRule {
        DeadlineRule {
            amount,
            unit: DayUnit::CalendarDays,
            from,
            extend_past_days_off: false,
        }
    }

    /// The last day of the period that starts with the anchor event on `anchor_date`: the
    /// deadline is the end of that day (Beijing time).
    pub fn due_date(&self, anchor_date: NaiveDate, calendar: &HolidayCalendar) -> NaiveDate {
        match self.unit {
            DayUnit::WorkingDays => calendar.add_working_days(anchor_date, self.amount),
            DayUnit::CalendarDays => {
                let end = calendar.add_calendar_days(anchor_date, self.amount);
                if self.extend_past_days_off {
                    calendar.working_day_on_or_after(end)
                } else {
                    end
                }
            }
        }
    }

    /// E.g. "申报之日起5个工作日".
    pub fn describe_zh(&self) -> String {
        format!(
            "{}起{}{}",
            self.from.name_zh(),
            self.amount,
            self.unit.name_zh()
        )
    }
}

/// Why a set of deadline rules was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineRulesError {
    #[error("期限规则不是有效的JSON：{0}")]
    Json(String),
    #[error("期限规则的省份应为2位省级区划代码，“{0}”不是")]
    NotProvince(DivisionCode),
    #[error("定期回访的间隔不能为0天")]
    ZeroFollowUpInterval,
    #[error("“{step}”的期限{amount}过长，不能超过{max}", step = .step.name_zh(), max = MAX_RULE_AMOUNT)]
    AmountTooLarge { step: Step, amount: u32 },
}

/// The time limits in force in one province.
///
/// Deserialising validates like [`DeadlineRules::from_json`], so a set an administrator edits
/// on the server can be sent to phones as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DeadlineRulesRepr")]
pub struct DeadlineRules {
    /// The province (2-digit code) the rules are for.
    pub province: DivisionCode,
    /// Township accepts and routes the declaration: 2 working days. A configurable default, not
    /// a Gansu figure — Gansu has published none for this step. Source: 安徽省枞阳县 (2024), a
    /// county rule from another province, used until a Gansu figure is known.
    pub accept: DeadlineRule,
    /// Home verification. Gansu: 5 working days from the declaration.
    pub home_verification: DeadlineRule,
    /// A non-qualifying applicant is told why. Gansu: 5 working days from the verification
    /// result.
    pub notify_not_qualified: DeadlineRule,
    /// County approval. Gansu: 15 working days from the declaration, in total.
    pub county_approval: DeadlineRule,
    /// One-household-one-plan. Gansu: 10 days from approval; the source says "days", read as
    /// calendar days — the unit is configurable.
    pub plan: DeadlineRule,
    /// Return visits. 30 calendar days from the previous visit: this is Yijian's default, not a
    /// statutory figure (the procedure only asks for regular visits, 定期回访).
    pub follow_up_interval: DeadlineRule,
    /// Minimum duration of the public notice (公示). Gansu: at least 5 days.
    pub public_notice_min_days: DeadlineRule,
}

/// The serde shape of [`DeadlineRules`], before validation.
#[derive(Debug, Deserialize)]
struct DeadlineRulesRepr {
    province: DivisionCode,
    accept: DeadlineRule,
    home_verification: DeadlineRule,
    notify_not_qualified: DeadlineRule,
    county_approval: DeadlineRule,
    plan: DeadlineRule,
    follow_up_interval: DeadlineRule,
    public_notice_min_days: DeadlineRule,
}

impl TryFrom<DeadlineRulesRepr> for DeadlineRules {
    type Error = DeadlineRulesError;
    fn try_from(r: DeadlineRulesRepr) -> Result<Self, Self::Error> {
        let rules = DeadlineRules {
            province: r.province,
            accept: r.accept,
            home_verification: r.home_verification,
            notify_not_qualified: r.notify_not_qualified,
            county_approval: r.county_approval,
            plan: r.plan,
            follow_up_interval: r.follow_up_interval,
            public_notice_min_days: r.public_notice_min_days,
        };
        rules.validate()?;
        Ok(rules)
    }
}

/// 甘肃省.
const GANSU: &str = "62";

/// The code of Gansu. `DivisionCode` has no const constructor, so it is parsed from a literal
/// that the tests prove valid (as `time::shanghai` does for its offset).
#[allow(clippy::expect_used)]
fn gansu_code() -> DivisionCode {
    DivisionCode::parse(GANSU).expect("62 is a valid province code")
}

impl DeadlineRules {
    /// Gansu's figures (see each field).
    pub fn gansu() -> DeadlineRules {
        Self::gansu_figures(gansu_code())
    }

    /// The rules for the province of `code` (any level: a county's code gives its province's
    /// rules). Gansu (62) has its own figures; every other province gets Gansu's figures with its
    /// own code, the documented fallback until its figures are configured.
    pub fn for_province(code: &DivisionCode) -> DeadlineRules {
        match code.at_level(Level::Province) {
            Some(province) if province.as_str() != GANSU => Self::gansu_figures(province),
            _ => Self::gansu(),
        }
    }

    fn gansu_figures(province: DivisionCode) -> DeadlineRules {
        DeadlineRules {
            province,
            accept: DeadlineRule::working_days(2, Anchor::Declaration),
            home_verification: DeadlineRule::working_days(5, Anchor::Declaration),
            notify_not_qualified: DeadlineRule::working_days(5, Anchor::VerificationResult),
            county_approval: DeadlineRule::working_days(15, Anchor::Declaration),
            plan: DeadlineRule::calendar_days(10, Anchor::Approval),
            follow_up_interval: DeadlineRule::calendar_days(30, Anchor::PreviousFollowUp),
            public_notice_min_days: DeadlineRule::calendar_days(5, Anchor::NoticePosted),
        }
    }

    /// Parse and validate rules sent as JSON.
    pub fn from_json(text: &str) -> Result<DeadlineRules, DeadlineRulesError> {
        let repr: DeadlineRulesRepr =
            serde_json::from_str(text).map_err(|e| DeadlineRulesError::Json(e.to_string()))?;
        DeadlineRules::try_from(repr)
    }

    /// Check the province is a province, the follow-up interval is not zero, and no amount
    /// exceeds [`MAX_RULE_AMOUNT`].
    pub fn validate(&self) -> Result<(), DeadlineRulesError> {
        if self.province.level() != Level::Province {
            return Err(DeadlineRulesError::NotProvince(self.province.clone()));
        }
        if self.follow_up_interval.amount == 0 {
            return Err(DeadlineRulesError::ZeroFollowUpInterval);
        }
        for step in Step::ALL {
            let amount = self.rule(step).amount;
            if amount > MAX_RULE_AMOUNT {
                return Err(DeadlineRulesError::AmountTooLarge { step, amount });
            }
        }
        Ok(())
    }

    /// The rule for `step`.
    pub fn rule(&self, step: Step) -> &DeadlineRule {
        match step {
            Step::Accept => &self.accept,
            Step::HomeVerification => &self.home_verification,
            Step::NotifyNotQualified => &self.notify_not_qualified,
            Step::CountyApproval => &self.county_approval,
            Step::Plan => &self.plan,
            Step::FollowUp => &self.follow_up_interval,
            Step::PublicNotice => &self.public_notice_min_days,
        }
    }

    /// The last day for `step`, counted from `anchor_date` — the date of the event named by the
    /// step's rule (`self.rule(step).from`), in Asia/Shanghai.
    pub fn due_date(
        &self,
        step: Step,
        anchor_date: NaiveDate,
        calendar: &HolidayCalendar,
    ) -> NaiveDate {
        self.rule(step).due_date(anchor_date, calendar)
    }
}

impl Default for DeadlineRules {
    fn default() -> Self {
        DeadlineRules::gansu()
    }
}

/// Where a case stands against a due date, on a given day.
///
/// Besides the working-day counts the statuses carry plain day counts, so that a label can
/// tell "due today" from "due on Sunday, no working day left" and say something useful on the
/// Saturday after a Friday deadline (overdue by 0 working days, 1 day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// More working days left than the due-soon threshold.
    OnTime {
        working_days_left: u32,
        days_left: u32,
    },
    /// Due today, or within the threshold (by default [`DUE_SOON_WORKING_DAYS`]): the app's
    /// orange. `working_days_left` counts working days after today up to and including the due
    /// date: 0 on the due date itself.
    DueSoon {
        working_days_left: u32,
        days_left: u32,
    },
    /// Past the due date. `working_days` counts the working days in `(due, today]`: a case due
    /// on Friday is overdue on Saturday by 0 working days (and 1 day), and by 1 working day on
    /// Monday. It is overdue all the same.
    Overdue { working_days: u32, days: u32 },
}

impl DeadlineStatus {
    pub fn is_overdue(&self) -> bool {
        matches!(self, DeadlineStatus::Overdue { .. })
    }

    /// Due soon or overdue: worth showing in colour and in the to-do list.
    pub fn needs_attention(&self) -> bool {
        !matches!(self, DeadlineStatus::OnTime { .. })
    }

    /// The status in words, e.g. "已逾期3个工作日", "今日到期", "还剩2个工作日".
    pub fn label_zh(&self) -> String {
        match *self {
            DeadlineStatus::Overdue { working_days, days } => {
                if working_days > 0 {
                    format!("已逾期{working_days}个工作日")
                } else {
                    format!("已逾期{days}天")
                }
            }
            DeadlineStatus::OnTime {
                working_days_left,
                days_left,
            }
            | DeadlineStatus::DueSoon {
                working_days_left,
                days_left,
            } => {
                if days_left == 0 {
                    "今日到期".to_owned()
                } else if working_days_left == 0 {
                    format!("{days_left}天后到期")
                } else {
                    format!("还剩{working_days_left}个工作日")
                }
            }
        }
    }
}

/// How a case due on `due` stands on `today`, with the default due-soon threshold
/// ([`DUE_SOON_WORKING_DAYS`]). Both dates are Asia/Shanghai dates.
pub fn assess(due: NaiveDate, today: NaiveDate, calendar: &HolidayCalendar) -> DeadlineStatus {
    assess_within(due, today, calendar, DUE_SOON_WORKING_DAYS)
}

/// Like [`assess`], with the due-soon threshold given: `due_soon_within = 1` asks "due within 1
/// working day". A case is due soon when at most that many working days are left.
pub fn assess_within(
    due: NaiveDate,
    today: NaiveDate,
    calendar: &HolidayCalendar,
    due_soon_within: u32,
) -> DeadlineStatus {
    let days = to_u32((today - due).num_days().abs());
    if today > due {
        DeadlineStatus::Overdue {
            working_days: to_u32(calendar.working_days_between(due, today)),
            days,
        }
    } else {
        let working_days_left = to_u32(calendar.working_days_between(today, due));
        if working_days_left <= due_soon_within {
            DeadlineStatus::DueSoon {
                working_days_left,
                days_left: days,
            }
        } else {
            DeadlineStatus::OnTime {
                working_days_left,
                days_left: days,
            }
        }
    }
}

/// Counts here are never negative; saturate rather than wrap on absurd spans.
fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid date")
    }

    fn cal() -> &'static HolidayCalendar {
        HolidayCalendar::try_builtin().expect("the compiled-in calendar is valid")
    }

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid code")
    }

    #[test]
    fn gansu_figures() {
        let r = DeadlineRules::gansu();
        assert_eq!(r.province, code("62"));
        assert_eq!(r.accept, DeadlineRule::working_days(2, Anchor::Declaration));
        assert_eq!(
            r.home_verification,
            DeadlineRule::working_days(5, Anchor::Declaration)
        );
        assert_eq!(
            r.notify_not_qualified,
            DeadlineRule::working_days(5, Anchor::VerificationResult)
        );
        assert_eq!(
            r.county_approval,
            DeadlineRule::working_days(15, Anchor::Declaration)
        );
        assert_eq!(r.plan, DeadlineRule::calendar_days(10, Anchor::Approval));
        assert_eq!(
            r.follow_up_interval,
            DeadlineRule::calendar_days(30, Anchor::PreviousFollowUp)
        );
        assert_eq!(
            r.public_notice_min_days,
            DeadlineRule::calendar_days(5, Anchor::NoticePosted)
        );
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(DeadlineRules::default(), r);
    }

    #[rstest]
    #[case("62", "62")]
    #[case("621102", "62")] // a county's code gives its province's rules
    #[case("11", "11")] // elsewhere: Gansu's figures, the province's own code
    #[case("1101", "11")]
    fn for_province(#[case] given: &str, #[case] province: &str) {
        let r = DeadlineRules::for_province(&code(given));
        assert_eq!(r.province, code(province));
        assert_eq!(
            DeadlineRules {
                province: code("62"),
                ..r
            },
            DeadlineRules::gansu()
        );
    }

    /// Spring Festival 2026: holidays Sun 02-15 to Mon 02-23, make-up Saturdays 02-14 and 02-28.
    /// National Day 2026: 中秋 Fri 09-25 to Sun 09-27, 国庆 Thu 10-01 to Wed 10-07, make-up
    /// Sunday 09-20 and Saturday 10-10.
    #[rstest]
    // Thu 02-12 + 5: Fri 13 (1), make-up Sat 14 (2), nine days off, Tue 24 (3), Wed 25 (4),
    // Thu 26 (5).
    #[case::spring_before(Step::HomeVerification, "2026-02-12", "2026-02-26")]
    // Declared on the make-up Saturday: that day is not counted (the anchor day never is); Tue 24
    // (1) … Fri 27 (4), make-up Sat 28 (5).
    #[case::spring_on_makeup_day(Step::HomeVerification, "2026-02-14", "2026-02-28")]
    // Declared during the holiday: counting starts on the first working day after it, Tue 24.
    #[case::spring_during(Step::HomeVerification, "2026-02-18", "2026-02-28")]
    // Declared on the last holiday (Mon 23): 24, 25, 26, 27, 28.
    #[case::spring_last_day(Step::HomeVerification, "2026-02-23", "2026-02-28")]
    // Fri 02-13 + 2: make-up Sat 14 (1), Tue 24 (2).
    #[case::accept_spring(Step::Accept, "2026-02-13", "2026-02-24")]
    // Verification result Fri 02-13 + 5: 14, 24, 25, 26, 27.
    #[case::notify_spring(Step::NotifyNotQualified, "2026-02-13", "2026-02-27")]
    // Thu 02-12 + 15: 13, 14, 24, 25, 26, 27, 28 (7), Mon 03-02 … Fri 03-06 (12), Mon 9, Tue 10,
    // Wed 11 (15). Without the holiday it would have been Thu 03-05.
    #[case::approval_spring(Step::CountyApproval, "2026-02-12", "2026-03-11")]
    // Thu 09-17 + 5: Fri 18 (1), Sat 19 off, make-up Sun 20 (2), Mon 21 (3), Tue 22 (4), Wed 23 (5).
    #[case::national_makeup_sunday(Step::HomeVerification, "2026-09-17", "2026-09-23")]
    // Thu 09-24 + 5: 中秋 25–27 off, Mon 28 (1), Tue 29 (2), Wed 30 (3), 国庆 10-01–07 off, Thu
    // 10-08 (4), Fri 10-09 (5).
    #[case::national_across_both(Step::HomeVerification, "2026-09-24", "2026-10-09")]
    // Tue 09-29 + 5: Wed 30 (1), Thu 10-08 (2), Fri 9 (3), make-up Sat 10 (4), Mon 12 (5).
    #[case::national_makeup_saturday(Step::HomeVerification, "2026-09-29", "2026-10-12")]
    // Declared on Sat 10-03 in the holiday + 2: Thu 10-08 (1), Fri 10-09 (2).
    #[case::accept_national(Step::Accept, "2026-10-03", "2026-10-09")]
    // Thu 09-17 + 15: 18, 20, 21, 22, 23, 24 (6), 28, 29, 30 (9), 10-08, 9, 10 (12), 12, 13, 14 (15).
    #[case::approval_national(Step::CountyApproval, "2026-09-17", "2026-10-14")]
    // Calendar days: approval Tue 02-10 + 10 = Fri 02-20, in the holiday, not moved.
    #[case::plan_calendar_days(Step::Plan, "2026-02-10", "2026-02-20")]
    #[case::plan_across_month(Step::Plan, "2026-09-25", "2026-10-05")]
    #[case::follow_up(Step::FollowUp, "2026-09-20", "2026-10-20")]
    // Posted Mon 03-02: the five days are 3 … 7; the notice stays up through Sat 03-07.
    #[case::public_notice(Step::PublicNotice, "2026-03-02", "2026-03-07")]
    // 2027 is not published: weekends and the fixed-date holidays are off. Thu 2026-12-31 + 5:
    // Fri 2027-01-01 is 元旦, Mon 4 (1) … Fri 8 (5). Provisional (see the next test).
    #[case::into_unpublished_2027(Step::HomeVerification, "2026-12-31", "2027-01-08")]
    fn gansu_due_dates(#[case] step: Step, #[case] anchor: &str, #[case] due: &str) {
        let rules = DeadlineRules::gansu();
        assert_eq!(rules.due_date(step, d(anchor), cal()), d(due));
    }

    #[test]
    fn due_dates_into_an_unpublished_year_are_flagged() {
        let due = DeadlineRules::gansu().due_date(Step::HomeVerification, d("2026-12-31"), cal());
        assert_eq!(cal().provisional_years(d("2026-12-31"), due), [2027]);
        let due = DeadlineRules::gansu().due_date(Step::HomeVerification, d("2026-02-12"), cal());
        assert!(cal().provisional_years(d("2026-02-12"), due).is_empty());
    }

    #[test]
    fn units_are_configurable() {
        let mut rules = DeadlineRules::gansu();
        // The plan in 10 working days instead: from Tue 02-10, 11, 12, 13, 14 (4), 24 … 28 (9),
        // Mon 03-02 (10).
        rules.plan.unit = DayUnit::WorkingDays;
        assert_eq!(
            rules.due_date(Step::Plan, d("2026-02-10"), cal()),
            d("2026-03-02")
        );
        // Calendar days, moved off the holiday: 02-20 → Tue 02-24.
        rules.plan = DeadlineRule {
            extend_past_days_off: true,
            ..DeadlineRule::calendar_days(10, Anchor::Approval)
        };
        assert_eq!(
            rules.due_date(Step::Plan, d("2026-02-10"), cal()),
            d("2026-02-24")
        );
        // Already a working day: unchanged. 03-01 + 10 = Wed 03-11.
        assert_eq!(
            rules.due_date(Step::Plan, d("2026-03-01"), cal()),
            d("2026-03-11")
        );
    }

    fn due_soon(w: u32, days: u32) -> DeadlineStatus {
        DeadlineStatus::DueSoon {
            working_days_left: w,
            days_left: days,
        }
    }

    fn on_time(w: u32, days: u32) -> DeadlineStatus {
        DeadlineStatus::OnTime {
            working_days_left: w,
            days_left: days,
        }
    }

    fn overdue(w: u32, days: u32) -> DeadlineStatus {
        DeadlineStatus::Overdue {
            working_days: w,
            days,
        }
    }

    #[rstest]
    #[case::due_today("2026-02-26", "2026-02-26", due_soon(0, 0), "今日到期")]
    // (24, 26]: 25, 26.
    #[case::two_left("2026-02-26", "2026-02-24", due_soon(2, 2), "还剩2个工作日")]
    // (23, 26]: 24, 25, 26 — the holiday does not shorten the wait.
    #[case::three_left("2026-02-26", "2026-02-23", on_time(3, 3), "还剩3个工作日")]
    // (13, 26]: make-up 14, 24, 25, 26.
    #[case::before_holiday("2026-02-26", "2026-02-13", on_time(4, 13), "还剩4个工作日")]
    // From inside the holiday: (20, 26]: 24, 25, 26.
    #[case::in_holiday("2026-02-26", "2026-02-20", on_time(3, 6), "还剩3个工作日")]
    // Due Tue 02-24, today Fri 02-13, eleven days but two working days away: (13, 24]: 14, 24.
    #[case::holiday_between("2026-02-24", "2026-02-13", due_soon(2, 11), "还剩2个工作日")]
    // Due Fri 03-06, today Sat 03-07: overdue, though by no working day yet.
    #[case::saturday_after_friday("2026-03-06", "2026-03-07", overdue(0, 1), "已逾期1天")]
    #[case::monday_after_friday("2026-03-06", "2026-03-09", overdue(1, 3), "已逾期1个工作日")]
    // (06, 11]: 9, 10, 11.
    #[case::three_late("2026-03-06", "2026-03-11", overdue(3, 5), "已逾期3个工作日")]
    // Due Fri 02-13, today Tue 24: (13, 24]: make-up 14, 24.
    #[case::late_across_holiday("2026-02-13", "2026-02-24", overdue(2, 11), "已逾期2个工作日")]
    // A calendar-day deadline on Sunday 03-08, today Fri 03-06: no working day left, not today.
    #[case::due_on_sunday("2026-03-08", "2026-03-06", due_soon(0, 2), "2天后到期")]
    fn assess_examples(
        #[case] due: &str,
        #[case] today: &str,
        #[case] status: DeadlineStatus,
        #[case] label: &str,
    ) {
        let got = assess(d(due), d(today), cal());
        assert_eq!(got, status);
        assert_eq!(got.label_zh(), label);
        assert_eq!(got.is_overdue(), d(today) > d(due));
    }

    #[rstest]
    #[case(0, on_time(1, 1))]
    #[case(1, due_soon(1, 1))]
    #[case(2, due_soon(1, 1))]
    fn threshold_is_a_parameter(#[case] within: u32, #[case] status: DeadlineStatus) {
        // Due Tue 02-24, today Mon 02-23 (a holiday): one working day left.
        assert_eq!(
            assess_within(d("2026-02-24"), d("2026-02-23"), cal(), within),
            status
        );
    }

    #[test]
    fn attention() {
        assert!(!on_time(5, 7).needs_attention());
        assert!(due_soon(0, 0).needs_attention());
        assert!(overdue(0, 1).needs_attention());
        assert!(Step::PublicNotice.is_minimum_period());
        assert!(!Step::CountyApproval.is_minimum_period());
    }

    #[test]
    fn names_in_chinese() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name_zh()).collect();
        assert_eq!(
            names,
            [
                "乡镇受理",
                "入户核查",
                "不符合条件告知",
                "县级审批",
                "一户一策",
                "定期回访",
                "公示"
            ]
        );
        let r = DeadlineRules::gansu();
        assert_eq!(r.home_verification.describe_zh(), "申报之日起5个工作日");
        assert_eq!(r.plan.describe_zh(), "审批纳入之日起10天");
    }

    #[test]
    fn rules_serde_round_trip() {
        let rules = DeadlineRules::for_province(&code("6211"));
        let json = serde_json::to_string(&rules).expect("serialises");
        assert_eq!(DeadlineRules::from_json(&json), Ok(rules.clone()));
        let back: DeadlineRules = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, rules);
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(
            value["plan"],
            serde_json::json!({"amount": 10, "unit": "calendar_days", "from": "approval", "extend_past_days_off": false})
        );
        assert_eq!(value["province"], "62");
    }

    #[test]
    fn status_serialises_tagged() {
        assert_eq!(
            serde_json::to_value(due_soon(1, 3)).expect("json"),
            serde_json::json!({"status": "due_soon", "working_days_left": 1, "days_left": 3})
        );
    }

    #[test]
    fn extend_flag_defaults_to_off() {
        let rule: DeadlineRule =
            serde_json::from_str(r#"{"amount":10,"unit":"calendar_days","from":"approval"}"#)
                .expect("parses");
        assert_eq!(rule, DeadlineRule::calendar_days(10, Anchor::Approval));
    }

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v = serde_json::to_value(DeadlineRules::gansu()).expect("json");
        edit(&mut v);
        v.to_string()
    }

    #[rstest]
    #[case::county_as_province(
        with(|v| v["province"] = "621102".into()),
        DeadlineRulesError::NotProvince(code("621102"))
    )]
    #[case::zero_interval(
        with(|v| v["follow_up_interval"]["amount"] = 0.into()),
        DeadlineRulesError::ZeroFollowUpInterval
    )]
    #[case::too_long(
        with(|v| v["county_approval"]["amount"] = 400.into()),
        DeadlineRulesError::AmountTooLarge { step: Step::CountyApproval, amount: 400 }
    )]
    fn rejects_invalid_rules(#[case] json: String, #[case] err: DeadlineRulesError) {
        assert_eq!(DeadlineRules::from_json(&json), Err(err));
        assert!(serde_json::from_str::<DeadlineRules>(&json).is_err());
    }

    #[test]
    fn rule_errors_are_in_chinese() {
        assert_eq!(
            DeadlineRulesError::AmountTooLarge {
                step: Step::CountyApproval,
                amount: 400
            }
            .to_string(),
            "“县级审批”的期限400过长，不能超过366"
        );
        assert_eq!(
            DeadlineRulesError::NotProvince(code("621102")).to_string(),
            "期限规则的省份应为2位省级区划代码，“621102”不是"
        );
        assert!(matches!(
            DeadlineRules::from_json("[]"),
            Err(DeadlineRulesError::Json(_))
        ));
    }
}
