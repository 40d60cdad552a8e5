//! The holiday calendar and deadline rules in force, as an administrator last set them.
//!
//! Both are data ([`HolidayCalendar`], [`DeadlineRules`]): the State Council publishes next
//! year's holidays each autumn and a province may change its figures, and neither may wait for
//! a new release. They live in the `settings` table (so every server process sees the same),
//! fall back to the compiled-in ones, are validated before they are stored, and are read at the
//! start of each request or job that counts days. Devices receive them with `/v1/procedure`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use yijian_core::calendar::HolidayCalendar;
use yijian_core::deadline::DeadlineRules;
use yijian_core::policy::Policy;
use yijian_core::protocol::procedure::ProcedureDocument;

use crate::store::tx::RecordTx;
use crate::store::{Storage, StorageError, read, write};

/// Keys of `settings`.
pub const CALENDAR_KEY: &str = "holiday_calendar";
pub const RULES_KEY: &str = "deadline_rules";
pub const POLICY_KEY: &str = "policy";

/// The calendar and rules in force.
#[derive(Debug, Clone)]
pub struct Procedure {
    pub calendar: Arc<HolidayCalendar>,
    pub rules: DeadlineRules,
    /// Income lines, appeal window, departments and thresholds.
    pub policy: Arc<Policy>,
    /// Which lines of a department's list are warnings (see [`crate::domain::alerts`]).
    pub alert_rules: yijian_core::support::AlertRules,
}

impl Default for Procedure {
    fn default() -> Self {
        Procedure {
            calendar: Arc::new(HolidayCalendar::builtin().clone()),
            rules: DeadlineRules::gansu(),
            policy: Arc::new(Policy::gansu()),
            alert_rules: yijian_core::support::AlertRules::gansu(),
        }
    }
}

/// Why an edit of the calendar or rules is refused.
#[derive(Debug, thiserror::Error)]
pub enum ProcedureError {
    #[error("{0}")]
    Calendar(String),
    #[error("{0}")]
    Rules(String),
    #[error("{0}")]
    Policy(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Procedure {
    /// Read inside a transaction. A stored value that no longer parses (written by a newer
    /// server) is logged and the built-in one used, rather than stopping every deadline.
    pub fn load(tx: &mut dyn RecordTx) -> Result<Procedure, StorageError> {
        let mut p = Procedure::default();
        if let Some(text) = tx.setting(CALENDAR_KEY)? {
            match HolidayCalendar::from_json(&text) {
                Ok(c) => p.calendar = Arc::new(c),
                Err(e) => {
                    tracing::error!(error = %e, "stored holiday calendar unreadable; using the built-in one")
                }
            }
        }
        if let Some(text) = tx.setting(RULES_KEY)? {
            match DeadlineRules::from_json(&text) {
                Ok(r) => p.rules = r,
                Err(e) => {
                    tracing::error!(error = %e, "stored deadline rules unreadable; using the built-in ones")
                }
            }
        }
        if let Some(text) = tx.setting(POLICY_KEY)? {
            match Policy::from_json(&text) {
                Ok(policy) => p.policy = Arc::new(policy),
                Err(e) => {
                    tracing::error!(error = %e, "stored policy unreadable; using the built-in one")
                }
            }
        }
        p.alert_rules = crate::domain::alerts::load_rules(tx, &p.policy)?;
        Ok(p)
    }

    /// Read in a transaction of its own.
    pub async fn current(storage: &dyn Storage) -> Result<Procedure, StorageError> {
        read(storage, Procedure::load).await
    }

    /// What devices download (`GET /v1/procedure`): calendar, rules and checklist templates.
    pub fn document(&self, server_time: DateTime<Utc>) -> ProcedureDocument {
        ProcedureDocument {
            server_time,
            calendar: (*self.calendar).clone(),
            rules: self.rules.clone(),
            templates: vec![yijian_core::checklist::default_template()],
            policy: (*self.policy).clone(),
        }
    }
}

/// Replace the holiday calendar (JSON in the shape of `assets/calendar/cn-holidays.json`).
pub async fn set_calendar(
    storage: &dyn Storage,
    json: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), ProcedureError> {
    let calendar =
        HolidayCalendar::from_json(json).map_err(|e| ProcedureError::Calendar(e.to_string()))?;
    let text = serde_json::to_string(&calendar).map_err(StorageError::from)?;
    let by = by.to_owned();
    write(storage, move |tx| {
        tx.put_setting(CALENDAR_KEY, &text, Some(&by), now)?;
        let rules = Procedure::load(tx)?.rules;
        let n = crate::domain::cases::reindex_open(tx, &rules, &calendar, now)?;
        tracing::info!(
            cases = n,
            "holiday calendar replaced; open cases re-indexed"
        );
        Ok(())
    })
    .await?;
    Ok(())
}

/// Replace the deadline rules (JSON of [`DeadlineRules`]).
pub async fn set_rules(
    storage: &dyn Storage,
    json: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), ProcedureError> {
    let rules = DeadlineRules::from_json(json).map_err(|e| ProcedureError::Rules(e.to_string()))?;
    let text = serde_json::to_string(&rules).map_err(StorageError::from)?;
    let by = by.to_owned();
    write(storage, move |tx| {
        tx.put_setting(RULES_KEY, &text, Some(&by), now)?;
        let calendar = Procedure::load(tx)?.calendar;
        let n = crate::domain::cases::reindex_open(tx, &rules, &calendar, now)?;
        tracing::info!(cases = n, "deadline rules replaced; open cases re-indexed");
        Ok(())
    })
    .await?;
    Ok(())
}

/// Replace the policy figures (JSON of [`Policy`]). Open cases keep their due dates: no clock
/// counts from these figures, but every verdict from now on uses them.
pub async fn set_policy(
    storage: &dyn Storage,
    json: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), ProcedureError> {
    let policy = Policy::from_json(json).map_err(|e| ProcedureError::Policy(e.to_string()))?;
    let text = serde_json::to_string(&policy).map_err(StorageError::from)?;
    let by = by.to_owned();
    write(storage, move |tx| {
        tx.put_setting(POLICY_KEY, &text, Some(&by), now)?;
        tracing::info!("policy figures replaced");
        Ok(())
    })
    .await?;
    Ok(())
}

/// Replace the department warning rules (JSON of [`yijian_core::support::AlertRules`]),
/// checked against the departments of the policy in force.
pub async fn set_alert_rules(
    storage: &dyn Storage,
    json: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), ProcedureError> {
    let policy = Procedure::current(storage).await?.policy;
    let rules = yijian_core::support::AlertRules::from_json(json, &policy)
        .map_err(|e| ProcedureError::Policy(e.to_string()))?;
    let text = serde_json::to_string(&rules).map_err(StorageError::from)?;
    let by = by.to_owned();
    write(storage, move |tx| {
        tx.put_setting(crate::domain::alerts::RULES_KEY, &text, Some(&by), now)?;
        tracing::info!("department warning rules replaced");
        Ok(())
    })
    .await?;
    Ok(())
}
