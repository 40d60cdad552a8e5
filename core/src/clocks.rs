//! The clocks running on a case now: which statutory periods are open, when each ends, and
//! which level must act before it does.
//!
//! [`crate::deadline`] knows the rules ("home verification within 5 working days of the
//! declaration"); [`crate::workflow`] knows where a case is. This module joins the two, once,
//! for every reader: the worker's inbox on the phone (sorted by the most urgent clock), the
//! server's deadline job (which notifies the owner of a clock about to run out and escalates
//! an overdue one to the level above), and the console's overdue list. All of them must agree
//! on "due on" and "whose job", so it is computed here and nowhere else.
//!
//! Terms: a **clock** is one open period with its due date; its **owner** is the level whose
//! staff must act next on the case (the township accepts, the village visits, the county
//! decides …). An overdue clock escalates to the owner's parent level.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::HolidayCalendar;
use crate::deadline::{self, DeadlineRules, DeadlineStatus, Step};
use crate::division::Level;
use crate::workflow::{CaseState, Stage};

/// Facts about a case that are not in its [`CaseState`]: when it was declared and how the
/// assistance phase stands (from the case's plan and follow-up records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockFacts {
    /// The declaration's date in Asia/Shanghai ([`crate::case::Case::declared_on`]).
    pub declared_on: NaiveDate,
    /// The date the one-household-one-plan was made.
    pub plan_made_on: Option<NaiveDate>,
    /// The earliest follow-up scheduled and not yet done.
    pub next_follow_up_due: Option<NaiveDate>,
    /// The latest follow-up done.
    pub last_follow_up_done: Option<NaiveDate>,
}

impl ClockFacts {
    /// Facts of a case with no plan and no follow-ups yet.
    pub fn declared(declared_on: NaiveDate) -> ClockFacts {
        ClockFacts {
            declared_on,
            plan_made_on: None,
            next_follow_up_due: None,
            last_follow_up_done: None,
        }
    }
}

/// One open period on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningClock {
    pub step: Step,
    /// The level that must act before the clock runs out.
    pub owner: Level,
    /// The date the period counts from.
    pub anchor_on: NaiveDate,
    /// The last day of the period (the deadline is the end of that day, Beijing time).
    pub due_on: NaiveDate,
}

impl RunningClock {
    /// Where the clock stands on `today`.
    pub fn status(&self, today: NaiveDate, calendar: &HolidayCalendar) -> DeadlineStatus {
        deadline::assess(self.due_on, today, calendar)
    }

    /// The level an overdue clock escalates to: the owner's parent.
    pub fn escalates_to(&self) -> Option<Level> {
        self.owner.parent()
    }
}

/// The level whose staff must take the next step of a case in `stage`, or `None` when nobody
/// must (the case is decided, closed, or waits for the household to appeal).
pub fn acting_level(state: &CaseState) -> Option<Level> {
    Some(match state.stage {
        Stage::Declared => Level::Township,
        Stage::Accepted | Stage::Verifying => Level::Village,
        Stage::VerifiedQualifies => Level::Township,
        Stage::VerifiedNotQualified => Level::Village,
        Stage::CrossChecked | Stage::DemocraticReviewed => Level::Village,
        Stage::PubliclyNoticed => Level::Township,
        Stage::TownshipReviewed => Level::County,
        Stage::Approved | Stage::PlanMade | Stage::Assisting => Level::Village,
        // The village holds the 民主评议 and the 公示, the township reviews.
        Stage::RiskEliminationProposed | Stage::RiskEliminationAssessed => Level::Village,
        Stage::RiskEliminationNoticed => Level::Township,
        Stage::RiskEliminationReviewed => Level::County,
        Stage::Appealed => state.rejected_by.and_then(Level::parent)?,
        Stage::NotQualifiedNotified
        | Stage::Rejected
        | Stage::RejectionUpheld
        | Stage::RiskEliminated
        | Stage::Closed => return None,
    })
}

/// Every clock open on a case now, most urgent first (earliest due date; ties in procedure
/// order). Empty for a case no period runs on.
pub fn running_clocks(
    state: &CaseState,
    facts: &ClockFacts,
    rules: &DeadlineRules,
    calendar: &HolidayCalendar,
) -> Vec<RunningClock> {
    let Some(acting) = acting_level(state) else {
        return Vec::new();
    };
    let clock = |step: Step, owner: Level, anchor_on: NaiveDate| RunningClock {
        step,
        owner,
        anchor_on,
        due_on: rules.due_date(step, anchor_on, calendar),
    };
    let declared = facts.declared_on;
    let mut clocks = Vec::new();
    match state.stage {
        Stage::Declared => {
            clocks.push(clock(Step::Accept, Level::Township, declared));
            clocks.push(clock(Step::HomeVerification, Level::Village, declared));
            clocks.push(clock(Step::CountyApproval, acting, declared));
        }
        Stage::Accepted | Stage::Verifying => {
            clocks.push(clock(Step::HomeVerification, Level::Village, declared));
            clocks.push(clock(Step::CountyApproval, acting, declared));
        }
        Stage::VerifiedQualifies
        | Stage::CrossChecked
        | Stage::DemocraticReviewed
        | Stage::PubliclyNoticed
        | Stage::TownshipReviewed => {
            clocks.push(clock(Step::CountyApproval, acting, declared));
        }
        Stage::VerifiedNotQualified => {
            let verified = state.verified_on.unwrap_or(declared);
            clocks.push(clock(Step::NotifyNotQualified, acting, verified));
        }
        Stage::Approved => {
            let approved = state.approved_on.unwrap_or(declared);
            clocks.push(clock(Step::Plan, acting, approved));
        }
        Stage::PlanMade | Stage::Assisting => {
            // A scheduled follow-up names its own date; otherwise the interval runs from the
            // last visit done, or from the plan.
            let next = match facts.next_follow_up_due {
                Some(due) => RunningClock {
                    step: Step::FollowUp,
                    owner: acting,
                    anchor_on: facts
                        .last_follow_up_done
                        .or(facts.plan_made_on)
                        .unwrap_or(due),
                    due_on: due,
                },
                None => {
                    let from = facts
                        .last_follow_up_done
                        .or(facts.plan_made_on)
                        .or(state.approved_on)
                        .unwrap_or(declared);
                    clock(Step::FollowUp, acting, from)
                }
            };
            clocks.push(next);
        }
        // Risk elimination and appeals have no statutory period in the rules (yet): the
        // case still has an owner, but no clock.
        _ => {}
    }
    clocks.sort_by_key(|c| (c.due_on, c.step));
    clocks
}

/// The most urgent clock of a case, if any runs.
pub fn most_urgent(
    state: &CaseState,
    facts: &ClockFacts,
    rules: &DeadlineRules,
    calendar: &HolidayCalendar,
) -> Option<RunningClock> {
    running_clocks(state, facts, rules, calendar)
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::VerificationOutcome;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn cal() -> &'static HolidayCalendar {
        HolidayCalendar::builtin()
    }

    fn state(stage: Stage) -> CaseState {
        CaseState {
            stage,
            ..CaseState::declared(false)
        }
    }

    #[test]
    fn a_new_declaration_runs_three_clocks_township_first() {
        // Thu 2026-02-12, before the Spring Festival (see deadline.rs for the counting).
        let clocks = running_clocks(
            &state(Stage::Declared),
            &ClockFacts::declared(d("2026-02-12")),
            &DeadlineRules::gansu(),
            cal(),
        );
        let got: Vec<_> = clocks.iter().map(|c| (c.step, c.owner, c.due_on)).collect();
        assert_eq!(
            got,
            vec![
                (Step::Accept, Level::Township, d("2026-02-14")),
                (Step::HomeVerification, Level::Village, d("2026-02-26")),
                (Step::CountyApproval, Level::Township, d("2026-03-11")),
            ]
        );
        assert_eq!(clocks[0].escalates_to(), Some(Level::County));
    }

    #[test]
    fn each_stage_has_its_owner_and_clock() {
        let rules = DeadlineRules::gansu();
        let facts = ClockFacts::declared(d("2026-03-02"));
        let mut s = state(Stage::TownshipReviewed);
        let c = most_urgent(&s, &facts, &rules, cal()).expect("clock");
        assert_eq!((c.step, c.owner), (Step::CountyApproval, Level::County));

        s = state(Stage::VerifiedNotQualified);
        s.verified_on = Some(d("2026-03-04"));
        s.verification = Some(VerificationOutcome::DoesNotQualify {
            reason: "收入高于监测线".into(),
        });
        let c = most_urgent(&s, &facts, &rules, cal()).expect("clock");
        assert_eq!(c.step, Step::NotifyNotQualified);
        assert_eq!(c.anchor_on, d("2026-03-04"));
        assert_eq!(c.due_on, d("2026-03-11"));

        s = state(Stage::Approved);
        s.approved_on = Some(d("2026-03-20"));
        let c = most_urgent(&s, &facts, &rules, cal()).expect("clock");
        assert_eq!((c.step, c.due_on), (Step::Plan, d("2026-03-30")));

        for stage in [
            Stage::NotQualifiedNotified,
            Stage::Rejected,
            Stage::RejectionUpheld,
            Stage::RiskEliminated,
            Stage::Closed,
        ] {
            assert!(acting_level(&state(stage)).is_none(), "{stage:?}");
            assert!(running_clocks(&state(stage), &facts, &rules, cal()).is_empty());
        }
    }

    #[test]
    fn follow_ups_run_from_the_schedule_or_the_last_visit() {
        let rules = DeadlineRules::gansu();
        let mut facts = ClockFacts::declared(d("2026-03-02"));
        facts.plan_made_on = Some(d("2026-04-01"));
        let s = state(Stage::PlanMade);
        let c = most_urgent(&s, &facts, &rules, cal()).expect("clock");
        assert_eq!((c.step, c.due_on), (Step::FollowUp, d("2026-05-01")));
        facts.last_follow_up_done = Some(d("2026-05-10"));
        let c = most_urgent(&state(Stage::Assisting), &facts, &rules, cal()).expect("clock");
        assert_eq!(c.due_on, d("2026-06-09"));
        facts.next_follow_up_due = Some(d("2026-06-01"));
        let c = most_urgent(&state(Stage::Assisting), &facts, &rules, cal()).expect("clock");
        assert_eq!((c.anchor_on, c.due_on), (d("2026-05-10"), d("2026-06-01")));
    }

    #[test]
    fn an_appeal_is_owned_one_level_above_the_rejection() {
        let mut s = state(Stage::Appealed);
        s.rejected_by = Some(Level::County);
        assert_eq!(acting_level(&s), Some(Level::City));
        s.rejected_by = None;
        assert_eq!(acting_level(&s), None);
    }
}
