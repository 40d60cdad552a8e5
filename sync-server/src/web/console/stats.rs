//! The dashboard's figures, computed from the case index of one scope.
//!
//! Pure functions of the index rows and the completed clocks, so the figures are the same on
//! either database and can be tested with made-up rows: cases by stage, by source, by risk
//! type, the on-time rate per step, the median days from declaration to the first visit and to
//! approval, a weekly trend, and the same per child division for the drill-down.
//!
//! Two shares of self-declaration are shown, because they answer different questions and are
//! easily confused: [`Dashboard::self_share`] is the part of *all* cases the residents filed
//! themselves (how well the QR code is known), and [`Dashboard::included_self_share`] the part
//! of the *newly included* 监测对象 (cases the county approved) whose case began with the
//! resident's own declaration — the seed system's headline "60%" is this second figure.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use yijian_core::calendar::HolidayCalendar;
use yijian_core::case::{CaseSource, RiskType};
use yijian_core::deadline::{DeadlineStatus, Step as ClockStep, assess};
use yijian_core::division::DivisionCode;
use yijian_core::regions::Regions;
use yijian_core::workflow::Stage;

use crate::store::codec::enum_text;
use crate::store::figures::{Tally, figure, month_key, on_time_window_start, week_start};
use crate::store::rows::StepDone;
use crate::store::rows::{AlertOutcome, AlertTakeUp, CaseRow};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCount {
    pub stage: Stage,
    pub label: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceCount {
    pub source: CaseSource,
    pub label: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskCount {
    pub risk: RiskType,
    pub label: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnTime {
    pub step: ClockStep,
    pub label: &'static str,
    pub done: u64,
    pub on_time: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    /// The Monday that starts the week.
    pub week: NaiveDate,
    pub declared: u64,
    pub approved: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildFigures {
    pub code: String,
    pub name: String,
    pub total: u64,
    pub open: u64,
    pub overdue: u64,
    pub due_soon: u64,
    pub self_share: Option<f64>,
    pub included_self_share: Option<f64>,
    pub on_time_rate: Option<f64>,
}

/// One department's warnings in a division and what became of them (部门预警转化).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentFigures {
    pub department: String,
    pub label: String,
    /// Lines matched to a household of the division (every outcome but unmatched/rejected).
    pub matched: u64,
    /// Lines that met the department's rule and were taken up: a lead or evidence on a case.
    pub warnings: u64,
    pub leads: u64,
    pub attached: u64,
    /// Distinct cases those warnings made or joined.
    pub cases: u64,
    /// Of those cases, the ones the county approved: households taken into monitoring.
    pub included: u64,
    /// `included ÷ cases`: how many warned households ended as 监测对象.
    pub conversion: Option<f64>,
}

/// Everything the dashboard shows for one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    pub scope: String,
    pub scope_name: String,
    pub total: u64,
    pub open: u64,
    pub overdue: u64,
    pub due_soon: u64,
    pub declared_this_month: u64,
    /// Self-declared by QR, of all cases (自主申报占全部申报).
    pub self_share: Option<f64>,
    /// Self-declared by QR, of the cases approved for inclusion as 监测对象
    /// (新纳入监测对象中自主申报占比). `None` when none was approved.
    pub included_self_share: Option<f64>,
    /// Cases approved for inclusion (the denominator of `included_self_share`).
    pub included: u64,
    pub median_days_to_visit: Option<f64>,
    pub median_days_to_approval: Option<f64>,
    pub by_stage: Vec<StageCount>,
    pub by_source: Vec<SourceCount>,
    /// 部门预警 per department (filled by [`department_figures`]; empty when none came).
    pub by_department: Vec<DepartmentFigures>,
    pub by_risk: Vec<RiskCount>,
    pub on_time: Vec<OnTime>,
    pub weekly: Vec<Week>,
    pub children: Vec<ChildFigures>,
}

/// A division's display name (the province left out below it).
pub fn division_name(code: &DivisionCode) -> String {
    Regions::gansu()
        .get(code)
        .map_or_else(|| code.to_string(), |r| r.name.clone())
}

fn median(mut v: Vec<i64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    })
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Whether an open case's clock is overdue or due soon on `today`.
pub fn urgency(
    row: &CaseRow,
    today: NaiveDate,
    calendar: &HolidayCalendar,
) -> Option<DeadlineStatus> {
    let due = row.clock_due_on?;
    if !row.open || row.clock_step.is_some_and(|s| s.is_minimum_period()) {
        return None;
    }
    Some(assess(due, today, calendar))
}

impl Dashboard {
    fn empty(scope: &DivisionCode) -> Dashboard {
        Dashboard {
            scope: scope.to_string(),
            scope_name: division_name(scope),
            total: 0,
            open: 0,
            overdue: 0,
            due_soon: 0,
            declared_this_month: 0,
            self_share: None,
            included_self_share: None,
            included: 0,
            median_days_to_visit: None,
            median_days_to_approval: None,
            by_stage: Vec::new(),
            by_source: Vec::new(),
            by_department: Vec::new(),
            by_risk: Vec::new(),
            on_time: Vec::new(),
            weekly: Vec::new(),
            children: Vec::new(),
        }
    }
}

/// The dashboard of `scope` from the rollup's counts ([`crate::store::figures`]): `groups` are
/// the counts per child division (for a village, the village's own), as
/// [`crate::store::tx::RecordTx::figures_in`] reads them. This is what the console shows.
pub fn from_figures(
    scope: &DivisionCode,
    groups: &BTreeMap<String, Tally>,
    today: NaiveDate,
    calendar: &HolidayCalendar,
) -> Dashboard {
    let mut own = Tally::new();
    for tally in groups.values() {
        for (k, n) in tally {
            *own.entry(k.clone()).or_default() += n;
        }
    }
    let mut d = Dashboard::empty(scope);
    d.total = count(&own, figure::TOTAL, "");
    d.open = count(&own, figure::OPEN, "");
    (d.overdue, d.due_soon) = urgent(&own, today, calendar);
    d.declared_this_month = count(&own, figure::DECLARED_MONTH, &month_key(today));
    (d.self_share, d.included_self_share, d.included) = tallied_shares(&own);
    d.median_days_to_visit = tallied_median(&own, figure::DAYS_TO_VISIT);
    d.median_days_to_approval = tallied_median(&own, figure::DAYS_TO_APPROVAL);
    d.by_stage = Stage::ALL
        .iter()
        .filter_map(|stage| {
            let count = count(&own, figure::STAGE, &enum_text(stage).ok()?);
            (count > 0).then(|| StageCount {
                stage: *stage,
                label: stage.name_zh(),
                count,
            })
        })
        .collect();
    d.by_source = CaseSource::ALL
        .iter()
        .filter_map(|source| {
            let count = count(&own, figure::SOURCE, &enum_text(source).ok()?);
            (count > 0).then(|| SourceCount {
                source: *source,
                label: source.name_zh(),
                count,
            })
        })
        .collect();
    let mut risks = RiskType::ALL.to_vec();
    risks.sort();
    d.by_risk = risks
        .into_iter()
        .filter_map(|risk| {
            let count = count(&own, figure::RISK, &enum_text(&risk).ok()?);
            (count > 0).then(|| RiskCount {
                risk,
                label: risk.name_zh(),
                count,
            })
        })
        .collect();
    let window = month_key(on_time_window_start(today));
    d.on_time = ClockStep::ALL
        .into_iter()
        .filter(|s| !s.is_minimum_period())
        .map(|step| {
            let prefix = enum_text(&step).unwrap_or_default();
            let (done, on_time) = tallied_done(&own, Some(&prefix), &window);
            OnTime {
                step,
                label: step.name_zh(),
                done,
                on_time,
                rate: share(on_time, done),
            }
        })
        .collect();
    let first_week = week_start(today) - Duration::weeks(11);
    d.weekly = (0..12)
        .map(|i| {
            let week = first_week + Duration::weeks(i);
            Week {
                week,
                declared: count(&own, figure::DECLARED_WEEK, &week.to_string()),
                approved: count(&own, figure::APPROVED_WEEK, &week.to_string()),
            }
        })
        .collect();
    let empty = Tally::new();
    d.children = Regions::gansu()
        .children(scope)
        .map(|child| {
            let code = child.code.to_string();
            let t = groups.get(&code).unwrap_or(&empty);
            let (overdue, due_soon) = urgent(t, today, calendar);
            let (self_share, included_self_share, _) = tallied_shares(t);
            let (done, on_time) = tallied_done(t, None, &window);
            ChildFigures {
                code,
                name: child.name.clone(),
                total: count(t, figure::TOTAL, ""),
                open: count(t, figure::OPEN, ""),
                overdue,
                due_soon,
                self_share,
                included_self_share,
                on_time_rate: share(on_time, done),
            }
        })
        .collect();
    d
}

fn count(t: &Tally, figure: &str, key: &str) -> u64 {
    t.get(&(figure.to_owned(), key.to_owned()))
        .map_or(0, |n| u64::try_from(*n).unwrap_or(0))
}

/// The counts of one figure, by key.
fn counts_of<'a>(t: &'a Tally, figure: &'a str) -> impl Iterator<Item = (&'a str, u64)> + 'a {
    t.range((figure.to_owned(), String::new())..)
        .take_while(move |((f, _), _)| f == figure)
        .map(|((_, k), n)| (k.as_str(), u64::try_from(*n).unwrap_or(0)))
}

/// (overdue, due soon) from the open cases' counts per due date.
fn urgent(t: &Tally, today: NaiveDate, calendar: &HolidayCalendar) -> (u64, u64) {
    let (mut overdue, mut due_soon) = (0, 0);
    for (day, n) in counts_of(t, figure::DUE) {
        let Ok(due) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
            continue;
        };
        match assess(due, today, calendar) {
            DeadlineStatus::Overdue { .. } => overdue += n,
            DeadlineStatus::DueSoon { .. } => due_soon += n,
            _ => {}
        }
    }
    (overdue, due_soon)
}

fn tallied_shares(t: &Tally) -> (Option<f64>, Option<f64>, u64) {
    let included = count(t, figure::INCLUDED, "");
    (
        share(
            count(t, figure::SELF_DECLARED, ""),
            count(t, figure::TOTAL, ""),
        ),
        share(count(t, figure::INCLUDED_SELF, ""), included),
        included,
    )
}

/// The median of a histogram of days.
fn tallied_median(t: &Tally, figure: &str) -> Option<f64> {
    let mut days: Vec<(i64, u64)> = counts_of(t, figure)
        .filter_map(|(k, n)| Some((k.parse().ok()?, n)))
        .collect();
    days.sort_unstable();
    let total: u64 = days.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // The values at 0-based positions (total-1)/2 and total/2 of the sorted list.
    let at = |pos: u64| {
        let mut seen = 0;
        for (v, n) in &days {
            seen += n;
            if pos < seen {
                return *v;
            }
        }
        days.last().map_or(0, |(v, _)| *v)
    };
    Some((at((total - 1) / 2) + at(total / 2)) as f64 / 2.0)
}

/// (completed, on time) clocks of `step` (all steps for `None`) in months from `window` on.
fn tallied_done(t: &Tally, step: Option<&str>, window: &str) -> (u64, u64) {
    let (mut done, mut on_time) = (0, 0);
    for (key, n) in counts_of(t, figure::DONE) {
        let mut parts = key.split('|');
        let (Some(s), Some(month), Some(ok)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if step.is_some_and(|want| want != s) || month < window {
            continue;
        }
        done += n;
        if ok == "1" {
            on_time += n;
        }
    }
    (done, on_time)
}

/// The dashboard of `scope` counted afresh from its index rows and the clocks completed in the
/// on-time window ([`on_time_window_start`]). The console reads [`from_figures`]; this is the
/// reference the rollup is checked against (`yijian-server check-figures`, the tests).
pub fn recount(
    scope: &DivisionCode,
    rows: &[CaseRow],
    done: &[StepDone],
    today: NaiveDate,
    calendar: &HolidayCalendar,
) -> Dashboard {
    let mut d = Dashboard::empty(scope);
    d.total = rows.len() as u64;
    let mut stages: BTreeMap<usize, u64> = BTreeMap::new();
    let mut sources: BTreeMap<usize, u64> = BTreeMap::new();
    let mut risks: BTreeMap<RiskType, u64> = BTreeMap::new();
    let (mut to_visit, mut to_approval) = (Vec::new(), Vec::new());
    let first_week = week_start(today) - Duration::weeks(11);
    let mut weeks: BTreeMap<NaiveDate, (u64, u64)> = (0..12)
        .map(|i| (first_week + Duration::weeks(i), (0, 0)))
        .collect();
    for r in rows {
        if r.open {
            d.open += 1;
        }
        match urgency(r, today, calendar) {
            Some(DeadlineStatus::Overdue { .. }) => d.overdue += 1,
            Some(DeadlineStatus::DueSoon { .. }) => d.due_soon += 1,
            _ => {}
        }
        if r.declared_on.year() == today.year() && r.declared_on.month() == today.month() {
            d.declared_this_month += 1;
        }
        *stages
            .entry(Stage::ALL.iter().position(|s| *s == r.stage).unwrap_or(0))
            .or_default() += 1;
        *sources
            .entry(
                CaseSource::ALL
                    .iter()
                    .position(|s| *s == r.source)
                    .unwrap_or(0),
            )
            .or_default() += 1;
        for risk in &r.risk_types {
            *risks.entry(*risk).or_default() += 1;
        }
        if let Some(v) = r.first_visit_on {
            to_visit.push((v - r.declared_on).num_days());
        }
        if let Some(a) = r.approved_on {
            to_approval.push((a - r.declared_on).num_days());
        }
        if let Some(w) = weeks.get_mut(&week_start(r.declared_on)) {
            w.0 += 1;
        }
        if let Some(w) = r.approved_on.and_then(|a| weeks.get_mut(&week_start(a))) {
            w.1 += 1;
        }
    }
    let (self_share, included_self_share, included) = self_shares(rows.iter());
    d.self_share = self_share;
    d.included_self_share = included_self_share;
    d.included = included;
    d.median_days_to_visit = median(to_visit);
    d.median_days_to_approval = median(to_approval);
    d.by_stage = stages
        .into_iter()
        .map(|(i, count)| StageCount {
            stage: Stage::ALL[i],
            label: Stage::ALL[i].name_zh(),
            count,
        })
        .collect();
    d.by_source = sources
        .into_iter()
        .map(|(i, count)| SourceCount {
            source: CaseSource::ALL[i],
            label: CaseSource::ALL[i].name_zh(),
            count,
        })
        .collect();
    d.by_risk = risks
        .into_iter()
        .map(|(risk, count)| RiskCount {
            risk,
            label: risk.name_zh(),
            count,
        })
        .collect();
    d.on_time = on_time(done);
    d.weekly = weeks
        .into_iter()
        .map(|(week, (declared, approved))| Week {
            week,
            declared,
            approved,
        })
        .collect();
    d.children = children(scope, rows, done, today, calendar);
    d
}

/// Per department, the warnings matched in a division and how many of the cases they made or
/// joined were approved. Departments in the order of `names` (the policy's list), those with
/// nothing left out.
pub fn department_figures(
    take_up: &AlertTakeUp,
    names: &[(String, String)],
) -> Vec<DepartmentFigures> {
    names
        .iter()
        .filter_map(|(code, name)| {
            let mut f = DepartmentFigures {
                department: code.clone(),
                label: name.clone(),
                matched: 0,
                warnings: 0,
                leads: 0,
                attached: 0,
                cases: 0,
                included: 0,
                conversion: None,
            };
            for (_, outcome, n) in take_up.counts.iter().filter(|(d, ..)| d == code) {
                let n = u64::try_from(*n).unwrap_or(0);
                if outcome.matched() {
                    f.matched += n;
                }
                match outcome {
                    AlertOutcome::LeadCreated => f.leads += n,
                    AlertOutcome::Attached => f.attached += n,
                    _ => {}
                }
            }
            f.warnings = f.leads + f.attached;
            for (_, _, approved) in take_up.cases.iter().filter(|(d, ..)| d == code) {
                f.cases += 1;
                f.included += u64::from(*approved);
            }
            f.conversion = share(f.included, f.cases);
            (f.matched > 0).then_some(f)
        })
        .collect()
}

/// Whether a case made its household a 监测对象: the county approved it. An approved case
/// keeps its approval date when it later moves on (plan, follow-ups, risk eliminated), so it
/// still counts as newly included in the period it was approved.
fn included(r: &CaseRow) -> bool {
    r.approved_on.is_some()
}

/// (self-declared ÷ all cases, self-declared ÷ included cases, included cases) of `rows`.
fn self_shares<'a>(rows: impl Iterator<Item = &'a CaseRow>) -> (Option<f64>, Option<f64>, u64) {
    let (mut total, mut selfd, mut incl, mut incl_selfd) = (0u64, 0u64, 0u64, 0u64);
    for r in rows {
        let is_self = r.source == CaseSource::SelfDeclaredQr;
        total += 1;
        selfd += u64::from(is_self);
        if included(r) {
            incl += 1;
            incl_selfd += u64::from(is_self);
        }
    }
    (share(selfd, total), share(incl_selfd, incl), incl)
}

fn on_time(done: &[StepDone]) -> Vec<OnTime> {
    ClockStep::ALL
        .into_iter()
        .filter(|s| !s.is_minimum_period())
        .map(|step| {
            let of: Vec<&StepDone> = done.iter().filter(|d| d.step == step).collect();
            let ok = of.iter().filter(|d| d.on_time()).count() as u64;
            OnTime {
                step,
                label: step.name_zh(),
                done: of.len() as u64,
                on_time: ok,
                rate: share(ok, of.len() as u64),
            }
        })
        .collect()
}

fn children(
    scope: &DivisionCode,
    rows: &[CaseRow],
    done: &[StepDone],
    today: NaiveDate,
    calendar: &HolidayCalendar,
) -> Vec<ChildFigures> {
    Regions::gansu()
        .children(scope)
        .map(|child| {
            let code = child.code.to_string();
            let mine: Vec<&CaseRow> = rows
                .iter()
                .filter(|r| r.village.starts_with(&code))
                .collect();
            let mut f = ChildFigures {
                code: code.clone(),
                name: child.name.clone(),
                total: mine.len() as u64,
                open: 0,
                overdue: 0,
                due_soon: 0,
                self_share: None,
                included_self_share: None,
                on_time_rate: None,
            };
            for r in &mine {
                if r.open {
                    f.open += 1;
                }
                match urgency(r, today, calendar) {
                    Some(DeadlineStatus::Overdue { .. }) => f.overdue += 1,
                    Some(DeadlineStatus::DueSoon { .. }) => f.due_soon += 1,
                    _ => {}
                }
            }
            (f.self_share, f.included_self_share, _) = self_shares(mine.iter().copied());
            let of: Vec<&StepDone> = done
                .iter()
                .filter(|d| d.village.starts_with(&code))
                .collect();
            f.on_time_rate = share(
                of.iter().filter(|d| d.on_time()).count() as u64,
                of.len() as u64,
            );
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn row(n: u32, village: &str, stage: Stage, source: CaseSource, declared: &str) -> CaseRow {
        CaseRow {
            case_id: format!("c{n}"),
            village: village.into(),
            household_id: None,
            stage,
            open: crate::domain::cases::is_open(stage),
            source,
            green_channel: false,
            risk_types: vec![RiskType::Illness],
            applicant_name: "王".into(),
            id_number: String::new(),
            phone: None,
            receipt_no: None,
            declared_at: Utc::now(),
            declared_on: d(declared),
            first_visit_on: None,
            verified_on: None,
            approved_on: None,
            closed_on: None,
            plan_made_on: None,
            clock_step: None,
            clock_owner: None,
            clock_due_on: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn figures_of_a_township_and_its_villages() {
        let today = d("2026-12-01");
        let township = DivisionCode::parse("621102105").expect("code");
        let villages: Vec<String> = Regions::gansu()
            .children(&township)
            .take(2)
            .map(|r| r.code.to_string())
            .collect();
        let mut a = row(
            1,
            &villages[0],
            Stage::Accepted,
            CaseSource::SelfDeclaredQr,
            "2026-11-20",
        );
        a.clock_step = Some(ClockStep::HomeVerification);
        a.clock_due_on = Some(d("2026-11-27"));
        let mut b = row(
            2,
            &villages[0],
            Stage::Approved,
            CaseSource::ProxyFiled,
            "2026-11-02",
        );
        b.first_visit_on = Some(d("2026-11-05"));
        b.approved_on = Some(d("2026-11-20"));
        let mut c = row(
            3,
            &villages[1],
            Stage::Declared,
            CaseSource::SelfDeclaredQr,
            "2026-12-01",
        );
        c.clock_step = Some(ClockStep::Accept);
        c.clock_due_on = Some(d("2026-12-03"));
        c.first_visit_on = Some(d("2026-12-01"));
        let closed = row(
            4,
            &villages[1],
            Stage::Closed,
            CaseSource::DepartmentAlert,
            "2026-10-01",
        );
        let done = vec![
            StepDone {
                case_id: "c2".into(),
                village: villages[0].clone(),
                step: ClockStep::HomeVerification,
                due_on: d("2026-11-09"),
                done_on: d("2026-11-05"),
            },
            StepDone {
                case_id: "c2".into(),
                village: villages[0].clone(),
                step: ClockStep::CountyApproval,
                due_on: d("2026-11-18"),
                done_on: d("2026-11-20"),
            },
        ];
        let rows = [a, b, c, closed];
        let dash = recount(&township, &rows, &done, today, HolidayCalendar::builtin());
        // The rollup's counts give the same dashboard (kept at the villages, read per village).
        let mut deltas = crate::store::figures::Deltas::default();
        for r in &rows {
            deltas.case_change(None, r).expect("facts");
        }
        for x in &done {
            deltas.add(
                &x.village,
                &[crate::store::figures::step_fact(x).expect("fact")],
                1,
            );
        }
        let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
        for x in deltas.into_vec().into_iter().filter(|x| x.code_len == 12) {
            groups
                .entry(x.division)
                .or_default()
                .insert((x.figure.to_owned(), x.key), x.n);
        }
        assert_eq!(
            from_figures(&township, &groups, today, HolidayCalendar::builtin()),
            dash
        );
        assert_eq!(
            (dash.total, dash.open, dash.overdue, dash.due_soon),
            (4, 3, 1, 1)
        );
        assert_eq!(dash.declared_this_month, 1);
        assert_eq!(dash.self_share, Some(0.5));
        // The one approved case was filed by a cadre.
        assert_eq!((dash.included, dash.included_self_share), (1, Some(0.0)));
        // Declared 11-02 → visited 11-05 (3 days); 12-01 → 12-01 (0): median 1.5.
        assert_eq!(dash.median_days_to_visit, Some(1.5));
        assert_eq!(dash.median_days_to_approval, Some(18.0));
        let visit = dash
            .on_time
            .iter()
            .find(|o| o.step == ClockStep::HomeVerification)
            .expect("row");
        assert_eq!((visit.done, visit.on_time, visit.rate), (1, 1, Some(1.0)));
        let approval = dash
            .on_time
            .iter()
            .find(|o| o.step == ClockStep::CountyApproval)
            .expect("row");
        assert_eq!(approval.rate, Some(0.0));
        assert_eq!(dash.weekly.len(), 12);
        assert_eq!(dash.weekly.last().map(|w| w.declared), Some(1));
        let first = dash
            .children
            .iter()
            .find(|c| c.code == villages[0])
            .expect("child");
        assert_eq!((first.total, first.open, first.overdue), (2, 2, 1));
        assert_eq!(first.on_time_rate, Some(0.5));
        assert!(
            dash.children.len() > 2,
            "every village is listed, with or without cases"
        );
    }

    /// "新纳入监测对象中自主申报占比" divides by the approved cases only: 3 of the 5 included
    /// households came through the QR code (60%), although only 4 of all 10 cases did (40%).
    #[test]
    fn self_share_of_included_cases_counts_approved_cases_only() {
        let today = d("2026-12-01");
        let township = DivisionCode::parse("621102105").expect("code");
        let village = Regions::gansu()
            .children(&township)
            .next()
            .map(|r| r.code.to_string())
            .expect("village");
        let approved = |n, stage, source| {
            let mut r = row(n, &village, stage, source, "2026-10-10");
            r.approved_on = Some(d("2026-10-30"));
            r
        };
        let rows = vec![
            approved(1, Stage::Approved, CaseSource::SelfDeclaredQr),
            approved(2, Stage::Approved, CaseSource::SelfDeclaredQr),
            // Approved, helped, and since closed: still newly included this year.
            approved(3, Stage::Closed, CaseSource::SelfDeclaredQr),
            approved(4, Stage::Approved, CaseSource::ProxyFiled),
            approved(5, Stage::Approved, CaseSource::GreenChannel),
            // Not (yet) included: a self-declaration under verification and leads.
            row(
                6,
                &village,
                Stage::Accepted,
                CaseSource::SelfDeclaredQr,
                "2026-11-20",
            ),
            row(
                7,
                &village,
                Stage::Declared,
                CaseSource::ProxyFiled,
                "2026-11-21",
            ),
            row(
                8,
                &village,
                Stage::Declared,
                CaseSource::WorkerDiscovery,
                "2026-11-22",
            ),
            row(
                9,
                &village,
                Stage::Closed,
                CaseSource::DepartmentAlert,
                "2026-09-01",
            ),
            row(
                10,
                &village,
                Stage::Declared,
                CaseSource::DepartmentAlert,
                "2026-11-23",
            ),
        ];
        let dash = recount(&township, &rows, &[], today, HolidayCalendar::builtin());
        assert_eq!(dash.total, 10);
        assert_eq!(dash.self_share, Some(0.4));
        assert_eq!(dash.included, 5);
        assert_eq!(dash.included_self_share, Some(0.6));
        let child = dash
            .children
            .iter()
            .find(|c| c.code == village)
            .expect("child");
        assert_eq!(
            (child.self_share, child.included_self_share),
            (Some(0.4), Some(0.6))
        );
        // Nothing approved: no share rather than 0%.
        let none = recount(
            &township,
            &rows[5..],
            &[],
            today,
            HolidayCalendar::builtin(),
        );
        assert_eq!((none.included, none.included_self_share), (0, None));
    }

    #[test]
    fn a_department_s_conversion_counts_approved_cases_once() {
        let take_up = AlertTakeUp {
            counts: vec![
                ("medical_security".into(), AlertOutcome::LeadCreated, 2),
                ("medical_security".into(), AlertOutcome::Attached, 1),
                ("medical_security".into(), AlertOutcome::BelowThreshold, 7),
                ("medical_security".into(), AlertOutcome::Duplicate, 1),
                ("education".into(), AlertOutcome::BelowThreshold, 3),
            ],
            // c1 had a lead and an attached warning: one household.
            cases: vec![
                ("medical_security".into(), "c1".into(), true),
                ("medical_security".into(), "c2".into(), false),
            ],
        };
        let names = vec![
            ("education".to_owned(), "教育".to_owned()),
            ("housing_construction".to_owned(), "住建".to_owned()),
            ("medical_security".to_owned(), "医保".to_owned()),
        ];
        let f = department_figures(&take_up, &names);
        assert_eq!(f.len(), 2, "住建 sent nothing and is left out");
        assert_eq!(
            (f[0].label.as_str(), f[0].matched, f[0].warnings),
            ("教育", 3, 0)
        );
        assert_eq!(f[0].conversion, None);
        let m = &f[1];
        assert_eq!(
            (
                m.matched, m.warnings, m.leads, m.attached, m.cases, m.included
            ),
            (11, 3, 2, 1, 2, 1)
        );
        assert_eq!(m.conversion, Some(0.5));
    }
}
