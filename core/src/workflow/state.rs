//! A case's workflow state and the facts a step is judged with.

use crate::case::MonitoringCategory;
use crate::division::{DivisionCode, Level};
use crate::ids::{AppealId, PlanId, VisitId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::calendar::HolidayCalendar;
use crate::deadline::DeadlineRule;

use super::*;

/// Records the workflow keeps about a case. Everything the console's timeline needs beyond
/// this lives in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub stage: Stage,
    /// Opened through the green channel (先帮扶后认定).
    pub green_channel: bool,
    /// First date of emergency assistance delivered before approval.
    pub emergency_assistance_on: Option<NaiveDate>,
    pub verification: Option<VerificationOutcome>,
    pub verification_visit: Option<VisitId>,
    /// Date the result of the verification was recorded (the clock for telling the applicant).
    pub verified_on: Option<NaiveDate>,
    pub approved_on: Option<NaiveDate>,
    pub category: Option<MonitoringCategory>,
    /// The level whose decision rejected the case, and why.
    pub rejected_by: Option<Level>,
    pub rejection_reason: Option<String>,
    pub appeal: Option<AppealId>,
    pub plan: Option<PlanId>,
    /// Monitoring counts from approval (or from emergency assistance in the green channel).
    pub monitoring_since: Option<NaiveDate>,
    pub follow_ups: u32,
    pub closed: Option<CloseReason>,
    /// The day the household was refused (told it does not qualify, 民主评议 disagreed, the
    /// county rejected, or an appeal failed): the appeal window counts from it.
    #[serde(default)]
    pub refused_on: Option<NaiveDate>,
    /// The day a cadre explained the appeal's outcome at the household (上门解疑释惑).
    #[serde(default)]
    pub appeal_explained_on: Option<NaiveDate>,
}

impl CaseState {
    /// A new case, as declared.
    pub fn declared(green_channel: bool) -> CaseState {
        CaseState {
            stage: Stage::Declared,
            green_channel,
            emergency_assistance_on: None,
            verification: None,
            verification_visit: None,
            verified_on: None,
            approved_on: None,
            category: None,
            rejected_by: None,
            rejection_reason: None,
            appeal: None,
            plan: None,
            monitoring_since: None,
            follow_ups: 0,
            closed: None,
            refused_on: None,
            appeal_explained_on: None,
        }
    }

    /// Whether the identification steps have reached a decision (approved, or finally not
    /// included). A green-channel case may not close before this.
    /// The last day the household may still appeal a refusal, if it was refused.
    pub fn appeal_open_until(&self, window_days: u32) -> Option<NaiveDate> {
        self.refused_on
            .map(|on| on + chrono::Duration::days(i64::from(window_days)))
    }

    pub fn identification_complete(&self) -> bool {
        !self.stage.is_before_decision() && self.stage != Stage::VerifiedNotQualified
    }
}

/// Months a household is monitored before its risk may be declared gone (Gansu's practice:
/// at least half a year of stable income after the measures took effect).
pub const MIN_MONITORING_MONTHS: u32 = 6;

/// Facts about the world the workflow needs and does not own, supplied by the caller from its
/// records (the server never takes these from the device's word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepContext {
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
    /// The day the case was declared: no work on it can predate it.
    pub declared_on: NaiveDate,
    /// The case's village.
    pub village: DivisionCode,
    /// The minimum length of the public notice (公示), counted from the day it was posted.
    pub public_notice: DeadlineRule,
    /// The calendar the notice rule counts on (it may be in working days).
    pub calendar: Arc<HolidayCalendar>,
    /// Days after a refusal during which the household may appeal (see
    /// [`crate::policy::Policy::appeal_window_days`]).
    pub appeal_window_days: u32,
    /// Minimum months of monitoring before risk elimination.
    pub min_monitoring_months: u32,
    /// Whether the household has a working-age member (see `household`).
    pub household_has_working_age_member: bool,
    /// Plan measures done on or before today.
    pub measures_in_place: u32,
}
