//! 申诉: an appeal against a refusal, decided one level up.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::division::Level;
use crate::ids::{AppealId, CaseId, UserId};
use crate::validation::MobileNumber;

use super::*;

/// Who filed an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppealFiler {
    /// The household itself, without an account; the phone is optional for people who have
    /// none (a cadre visits to explain the outcome anyway).
    Resident {
        name: String,
        phone: Option<MobileNumber>,
    },
    /// A staff member filing on the household's behalf.
    Staff { user: UserId },
}

/// The outcome of an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealDecision {
    /// `true`: the appeal is upheld (申诉成立) and the rejection is reversed; `false`: the
    /// rejection stands (维持原决定).
    pub upheld: bool,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
    pub decided_by: UserId,
}

/// An appeal (申诉) against a rejection, handled one level above the level that rejected
/// (提级办理); a cadre then visits the household to explain the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub id: AppealId,
    pub case_id: CaseId,
    pub filed_at: DateTime<Utc>,
    pub filed_by: AppealFiler,
    pub reason: String,
    /// The level whose decision is appealed.
    pub against_level: Level,
    /// Always the level directly above `against_level`.
    pub decided_by_level: Level,
    pub decision: Option<AppealDecision>,
    /// The date a cadre explained the outcome at the household.
    pub explained_to_household_on: Option<NaiveDate>,
}

impl Appeal {
    /// File an appeal against a decision taken at `against_level`; it goes one level up. There
    /// is nothing above the province.
    pub fn file(
        id: AppealId,
        case_id: CaseId,
        filed_at: DateTime<Utc>,
        filed_by: AppealFiler,
        reason: impl Into<String>,
        against_level: Level,
    ) -> Result<Appeal, SupportError> {
        let decided_by_level = against_level
            .parent()
            .ok_or(SupportError::NoLevelAbove(against_level))?;
        let appeal = Appeal {
            id,
            case_id,
            filed_at,
            filed_by,
            reason: reason.into().trim().to_owned(),
            against_level,
            decided_by_level,
            decision: None,
            explained_to_household_on: None,
        };
        appeal.validate()?;
        Ok(appeal)
    }

    /// Check a stored or received appeal: the deciding level is one above, the reasons are
    /// given, the decision does not precede the filing, an explanation follows a decision.
    pub fn validate(&self) -> Result<(), SupportError> {
        let expected = self
            .against_level
            .parent()
            .ok_or(SupportError::NoLevelAbove(self.against_level))?;
        if self.decided_by_level != expected {
            return Err(SupportError::WrongAppealLevel {
                expected,
                found: self.decided_by_level,
            });
        }
        if self.reason.trim().is_empty() {
            return Err(SupportError::EmptyAppealReason);
        }
        if let AppealFiler::Resident { name, .. } = &self.filed_by
            && name.trim().is_empty()
        {
            return Err(SupportError::EmptyAppellantName);
        }
        if let Some(d) = &self.decision {
            check_decision(self.filed_at, d)?;
        } else if self.explained_to_household_on.is_some() {
            return Err(SupportError::ExplainedBeforeDecision);
        }
        Ok(())
    }

    /// Record the decision of the level above; only once.
    pub fn decide(&mut self, decision: AppealDecision) -> Result<(), SupportError> {
        if self.decision.is_some() {
            return Err(SupportError::AppealAlreadyDecided);
        }
        check_decision(self.filed_at, &decision)?;
        self.decision = Some(decision);
        Ok(())
    }

    /// Record that a cadre explained the outcome at the household.
    pub fn record_explanation(&mut self, on: NaiveDate) -> Result<(), SupportError> {
        if self.decision.is_none() {
            return Err(SupportError::ExplainedBeforeDecision);
        }
        self.explained_to_household_on = Some(on);
        Ok(())
    }

    /// Decided and explained to the household.
    pub fn is_closed(&self) -> bool {
        self.decision.is_some() && self.explained_to_household_on.is_some()
    }
}

fn check_decision(filed_at: DateTime<Utc>, d: &AppealDecision) -> Result<(), SupportError> {
    if d.reason.trim().is_empty() {
        return Err(SupportError::EmptyDecisionReason);
    }
    if d.decided_at < filed_at {
        return Err(SupportError::DecisionBeforeFiling);
    }
    Ok(())
}
