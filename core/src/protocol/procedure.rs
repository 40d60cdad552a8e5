//! `GET /v1/procedure`: the holiday calendar, deadline rules and checklist templates in force,
//! so a device counts due dates and fills visits exactly as the server does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::HolidayCalendar;
use crate::checklist::ChecklistTemplate;
use crate::deadline::DeadlineRules;
use crate::policy::Policy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcedureDocument {
    pub server_time: DateTime<Utc>,
    pub calendar: HolidayCalendar,
    pub rules: DeadlineRules,
    #[serde(default)]
    pub templates: Vec<ChecklistTemplate>,
    /// The province's income lines, appeal window, departments and thresholds; an older
    /// server sends none and the built-in figures apply.
    #[serde(default)]
    pub policy: Policy,
}
