//! 回访: return visits and their schedule.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, FollowUpId, HouseholdId, UserId, VisitId};

use super::*;

/// The date `interval_days` after `from`.
pub fn follow_up_due(from: NaiveDate, interval_days: u32) -> Result<NaiveDate, SupportError> {
    if interval_days == 0 {
        return Err(SupportError::ZeroInterval);
    }
    from.checked_add_days(chrono::Days::new(u64::from(interval_days)))
        .ok_or(SupportError::DateOutOfRange)
}

/// A return visit (回访), scheduled and later done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub id: FollowUpId,
    pub case_id: CaseId,
    pub household_id: HouseholdId,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    /// The visit record made when the follow-up was done on site.
    pub visit_id: Option<VisitId>,
    pub note: String,
    pub by: Option<UserId>,
}

impl FollowUp {
    /// A follow-up due on `due_on`, not yet done.
    pub fn scheduled(
        id: FollowUpId,
        case_id: CaseId,
        household_id: HouseholdId,
        due_on: NaiveDate,
    ) -> FollowUp {
        FollowUp {
            id,
            case_id,
            household_id,
            due_on,
            done_on: None,
            visit_id: None,
            note: String::new(),
            by: None,
        }
    }

    /// The first follow-up, `interval_days` after `from` (e.g. the plan's date).
    pub fn first_after(
        id: FollowUpId,
        case_id: CaseId,
        household_id: HouseholdId,
        from: NaiveDate,
        interval_days: u32,
    ) -> Result<FollowUp, SupportError> {
        Ok(FollowUp::scheduled(
            id,
            case_id,
            household_id,
            follow_up_due(from, interval_days)?,
        ))
    }

    /// The next follow-up, `interval_days` after this one was actually done (a late visit
    /// moves the cadence, so visits are never bunched up to catch up).
    pub fn next(&self, id: FollowUpId, interval_days: u32) -> Result<FollowUp, SupportError> {
        let done = self.done_on.ok_or(SupportError::FollowUpNotDone)?;
        FollowUp::first_after(id, self.case_id, self.household_id, done, interval_days)
    }

    /// Record that the follow-up was done.
    pub fn complete(
        &mut self,
        on: NaiveDate,
        by: UserId,
        visit_id: Option<VisitId>,
        note: impl Into<String>,
    ) -> Result<(), SupportError> {
        if let Some(done) = self.done_on {
            return Err(SupportError::FollowUpAlreadyDone(done));
        }
        self.done_on = Some(on);
        self.by = Some(by);
        self.visit_id = visit_id;
        self.note = note.into();
        Ok(())
    }

    /// Not done and `today` is past the due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.done_on.is_none() && today > self.due_on
    }
}
