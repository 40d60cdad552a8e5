//! The dashboard's rollup: counts of the case index kept up to date in the same transaction.
//!
//! A province holds about 5 million households and, at 2–3 % in the procedure, well over
//! 100,000 cases. Scanning their index rows for every dashboard request (what a county could
//! afford) does not scale, so every change of a case's index row or of its completed clocks also
//! adds its difference to `case_figures`: one row per (division, figure, key) holding a count.
//!
//! Each case contributes *facts* — "is open", "is at stage X", "its running clock is due on D",
//! "was declared in week W", "took N days to its first visit", … — and a step completed on time
//! or late contributes one more. A change subtracts the old row's facts and adds the new one's,
//! so the table is always the sum over the current index. Everything the dashboard shows is
//! derived from these counts: overdue and due-soon from the counts per due date (the working-day
//! calendar is applied to a few dozen dates instead of every case), medians from the histograms
//! of days, the weekly trend from the counts per week.
//!
//! Counts are kept at three levels — county, township and village — and never above the county:
//! a row counted for the whole province would be updated by every case change in the province
//! and would serialise them all behind its row lock. A province or city dashboard adds up its
//! counties' rows instead (about a hundred counties, a few hundred rows each).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use yijian_core::case::CaseSource;
use yijian_core::division::{DivisionCode, Level};

use super::StorageError;
use super::codec::enum_text;
use super::rows::{CaseRow, StepDone};

/// The levels counts are kept at (see the module docs for why not above the county).
pub const KEPT_LEVELS: [Level; 3] = [Level::County, Level::Township, Level::Village];

/// The names of the figures (the `figure` column).
pub mod figure {
    /// Every case (key empty).
    pub const TOTAL: &str = "total";
    /// Cases still in the procedure (key empty).
    pub const OPEN: &str = "open";
    /// Cases the resident declared by QR code (key empty).
    pub const SELF_DECLARED: &str = "self";
    /// Cases the county approved: households newly taken into monitoring (key empty).
    pub const INCLUDED: &str = "included";
    /// Approved cases that began with the resident's own declaration (key empty).
    pub const INCLUDED_SELF: &str = "included_self";
    /// Cases per stage (key: the stage).
    pub const STAGE: &str = "stage";
    /// Cases per source (key: the source).
    pub const SOURCE: &str = "source";
    /// Cases per risk type (key: the risk; a case with two counts in both).
    pub const RISK: &str = "risk";
    /// Open cases whose running clock (not a minimum period) is due on a day (key: the day).
    pub const DUE: &str = "due";
    /// Cases declared in a month (key: `YYYY-MM`).
    pub const DECLARED_MONTH: &str = "declared_month";
    /// Cases declared in a week (key: its Monday).
    pub const DECLARED_WEEK: &str = "declared_week";
    /// Cases approved in a week (key: its Monday).
    pub const APPROVED_WEEK: &str = "approved_week";
    /// Days from declaration to the first home visit (key: the days).
    pub const DAYS_TO_VISIT: &str = "to_visit";
    /// Days from declaration to approval (key: the days).
    pub const DAYS_TO_APPROVAL: &str = "to_approval";
    /// Completed clocks (key: `step|YYYY-MM|1` on time, `…|0` late).
    pub const DONE: &str = "done";
}

/// One count to add in `case_figures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureDelta {
    /// The division's code length, i.e. its level (part of the key, so one level is read at once).
    pub code_len: i16,
    pub division: String,
    pub figure: &'static str,
    pub key: String,
    pub n: i64,
}

/// The counts of one division: (figure, key) → n.
pub type Tally = BTreeMap<(String, String), i64>;

/// What [`crate::store::tx::RecordTx::figures_in`] reads for a dashboard of `scope`: the kept
/// level nearest at or below its children, grouped by the children's code length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FigureRead {
    /// The level whose rows are read.
    pub kept_len: i16,
    /// Rows are summed per prefix of this length: one group per child (or the scope itself for
    /// a village).
    pub group_len: i16,
}

impl FigureRead {
    pub fn of(scope: &DivisionCode) -> FigureRead {
        let own = scope.level();
        let child = Level::ALL
            .iter()
            .copied()
            .find(|l| l.parent() == Some(own))
            .unwrap_or(own);
        let kept = KEPT_LEVELS
            .iter()
            .copied()
            .find(|l| *l >= child)
            .unwrap_or(Level::Village);
        FigureRead {
            kept_len: kept.code_len() as i16,
            group_len: child.code_len() as i16,
        }
    }
}

/// The Monday that starts `d`'s week.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// `YYYY-MM` of a day.
pub fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The first day of the on-time window: the 12 calendar months up to and including `today`'s.
pub fn on_time_window_start(today: NaiveDate) -> NaiveDate {
    let months = today.year() * 12 + today.month0() as i32 - 11;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(today)
}

/// The facts one case index row contributes.
pub fn case_facts(r: &CaseRow) -> Result<Vec<(&'static str, String)>, StorageError> {
    let mut f = vec![(figure::TOTAL, String::new())];
    if r.open {
        f.push((figure::OPEN, String::new()));
    }
    let is_self = r.source == CaseSource::SelfDeclaredQr;
    if is_self {
        f.push((figure::SELF_DECLARED, String::new()));
    }
    if let Some(approved) = r.approved_on {
        f.push((figure::INCLUDED, String::new()));
        if is_self {
            f.push((figure::INCLUDED_SELF, String::new()));
        }
        f.push((figure::APPROVED_WEEK, week_start(approved).to_string()));
        f.push((
            figure::DAYS_TO_APPROVAL,
            (approved - r.declared_on).num_days().to_string(),
        ));
    }
    f.push((figure::STAGE, enum_text(&r.stage)?));
    f.push((figure::SOURCE, enum_text(&r.source)?));
    for risk in &r.risk_types {
        f.push((figure::RISK, enum_text(risk)?));
    }
    if let Some(due) = r.clock_due_on
        && r.open
        && !r.clock_step.is_some_and(|s| s.is_minimum_period())
    {
        f.push((figure::DUE, due.to_string()));
    }
    f.push((figure::DECLARED_MONTH, month_key(r.declared_on)));
    f.push((figure::DECLARED_WEEK, week_start(r.declared_on).to_string()));
    if let Some(visit) = r.first_visit_on {
        f.push((
            figure::DAYS_TO_VISIT,
            (visit - r.declared_on).num_days().to_string(),
        ));
    }
    Ok(f)
}

/// The fact a completed clock contributes.
pub fn step_fact(d: &StepDone) -> Result<(&'static str, String), StorageError> {
    Ok((
        figure::DONE,
        format!(
            "{}|{}|{}",
            enum_text(&d.step)?,
            month_key(d.done_on),
            u8::from(d.on_time())
        ),
    ))
}

/// Counts to add, netted per (level, division, figure, key), without zeros, in key order (so
/// concurrent writers lock rows in one order).
#[derive(Debug, Default)]
pub struct Deltas(BTreeMap<(i16, String, &'static str, String), i64>);

impl Deltas {
    /// Add `n` of each fact at every kept level of `village`.
    pub fn add(&mut self, village: &str, facts: &[(&'static str, String)], n: i64) {
        for level in KEPT_LEVELS {
            let len = level.code_len();
            let Some(division) = village.get(..len) else {
                continue;
            };
            for (figure, key) in facts {
                *self
                    .0
                    .entry((len as i16, division.to_owned(), figure, key.clone()))
                    .or_default() += n;
            }
        }
    }

    /// What replacing `old` by `new` changes.
    pub fn case_change(
        &mut self,
        old: Option<&CaseRow>,
        new: &CaseRow,
    ) -> Result<(), StorageError> {
        if let Some(old) = old {
            self.add(&old.village, &case_facts(old)?, -1);
        }
        self.add(&new.village, &case_facts(new)?, 1);
        Ok(())
    }

    pub fn into_vec(self) -> Vec<FigureDelta> {
        self.0
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((code_len, division, figure, key), n)| FigureDelta {
                code_len,
                division,
                figure,
                key,
                n,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yijian_core::workflow::Stage;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("day")
    }

    #[test]
    fn a_change_moves_only_what_changed_at_every_kept_level() {
        let old = CaseRow::sample();
        let mut new = old.clone();
        new.stage = Stage::ALL[1];
        new.first_visit_on = Some(day(2026, 12, 4));
        let mut d = Deltas::default();
        d.case_change(Some(&old), &new).expect("facts");
        let v = d.into_vec();
        // stage −1/+1 and a first visit, each at county, township and village.
        assert_eq!(v.len(), 9, "{v:#?}");
        assert!(
            v.iter()
                .all(|x| x.figure == figure::STAGE || x.figure == figure::DAYS_TO_VISIT)
        );
        let lens: Vec<i16> = v.iter().map(|x| x.code_len).collect();
        assert_eq!(lens.iter().filter(|l| **l == 6).count(), 3);
        assert_eq!(v.iter().map(|x| x.n).sum::<i64>(), 3);
        assert!(
            v.iter()
                .any(|x| x.figure == figure::DAYS_TO_VISIT && x.key == "2")
        );
    }

    #[test]
    fn a_new_case_counts_once_per_level_and_a_closed_one_leaves_the_due_dates() {
        let mut d = Deltas::default();
        d.case_change(None, &CaseRow::sample()).expect("facts");
        let v = d.into_vec();
        let totals: Vec<&FigureDelta> = v.iter().filter(|x| x.figure == figure::TOTAL).collect();
        assert_eq!(totals.len(), 3);
        assert_eq!(
            totals
                .iter()
                .map(|x| x.division.as_str())
                .collect::<Vec<_>>(),
            ["621102", "621102100", "621102100201"]
        );
        let mut closed = CaseRow::sample();
        closed.open = false;
        let facts = case_facts(&closed).expect("facts");
        assert!(
            !facts
                .iter()
                .any(|(f, _)| *f == figure::DUE || *f == figure::OPEN)
        );
        assert_eq!(facts.iter().filter(|(f, _)| *f == figure::RISK).count(), 2);
    }

    #[test]
    fn reads_pick_the_kept_level_at_or_below_the_children() {
        let read = |s: &str| FigureRead::of(&DivisionCode::parse(s).expect("code"));
        assert_eq!(
            read("62"),
            FigureRead {
                kept_len: 6,
                group_len: 4
            }
        );
        assert_eq!(
            read("6211"),
            FigureRead {
                kept_len: 6,
                group_len: 6
            }
        );
        assert_eq!(
            read("621102"),
            FigureRead {
                kept_len: 9,
                group_len: 9
            }
        );
        assert_eq!(
            read("621102100"),
            FigureRead {
                kept_len: 12,
                group_len: 12
            }
        );
        assert_eq!(
            read("621102100201"),
            FigureRead {
                kept_len: 12,
                group_len: 12
            }
        );
    }

    #[test]
    fn the_on_time_window_is_twelve_calendar_months() {
        assert_eq!(on_time_window_start(day(2026, 12, 6)), day(2026, 1, 1));
        assert_eq!(on_time_window_start(day(2026, 3, 31)), day(2025, 4, 1));
        assert_eq!(on_time_window_start(day(2026, 11, 1)), day(2025, 12, 1));
    }
}
