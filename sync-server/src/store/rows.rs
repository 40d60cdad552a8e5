//! Plain rows of the tables beside the record store: what both backends read and write for
//! the SMS outbox, the deadline job's notices, the console's notifications and the settings.
//! The domain logic that fills them lives elsewhere ([`crate::sms`], [`crate::domain::deadlines`]);
//! here they are only data, so both backends store exactly the same thing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yijian_core::case::{CaseSource, RiskType};
use yijian_core::deadline::Step as ClockStep;
use yijian_core::division::Level;
use yijian_core::ids::DeviceId;
use yijian_core::protocol::auth::Account;
use yijian_core::role::Role;
use yijian_core::workflow::Stage;

/// A text to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSms {
    /// Our id of the message: sent to the provider (Aliyun's `OutId`) and used to ask it what
    /// became of a send whose answer was lost. Unique: enqueuing the same id twice is a no-op.
    pub out_id: String,
    pub phone: String,
    /// Template key (`receipt`, `new_declaration`, `due_soon`, `overdue`, `escalated`).
    pub template: String,
    /// Template parameters, a JSON object of strings.
    pub params: serde_json::Value,
    /// The message as its reader sees it.
    pub text_zh: String,
    pub case_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Where a text stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// Claimed by a sender until its lease runs out.
    Sending,
    /// An attempt got no answer: the provider may have sent it. Asked before any resend.
    Unknown,
    Sent,
    /// Refused for good (a bad number, a rejected template).
    Failed,
}

impl SmsStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SmsStatus::Pending => "pending",
            SmsStatus::Sending => "sending",
            SmsStatus::Unknown => "unknown",
            SmsStatus::Sent => "sent",
            SmsStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<SmsStatus> {
        Some(match s {
            "pending" => SmsStatus::Pending,
            "sending" => SmsStatus::Sending,
            "unknown" => SmsStatus::Unknown,
            "sent" => SmsStatus::Sent,
            "failed" => SmsStatus::Failed,
            _ => return None,
        })
    }
}

/// A text in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsRow {
    pub id: i64,
    pub sms: NewSms,
    pub status: SmsStatus,
    /// The status before a sender claimed it (`Pending` or `Unknown`).
    pub claimed_from: Option<SmsStatus>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsUpdate {
    Sent {
        provider_id: Option<String>,
        at: DateTime<Utc>,
    },
    /// Try again at `next_attempt_at`; `unknown` when the provider may have sent it.
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
        unknown: bool,
    },
    Failed {
        error: String,
    },
}

/// What kind of deadline notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// At most one working day left: the owner is reminded.
    DueSoon,
    /// Past due: the owner is told and the case is escalated to the level above.
    Overdue,
}

impl NoticeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DueSoon => "due_soon",
            NoticeKind::Overdue => "overdue",
        }
    }
}

/// One reminder or escalation of one clock of one case: made at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineNotice {
    pub case_id: String,
    pub village: String,
    pub step: ClockStep,
    pub due_on: NaiveDate,
    pub kind: NoticeKind,
    pub owner: Level,
    pub escalated_to: Option<Level>,
    pub at: DateTime<Utc>,
}

/// A message in an office's console: addressed to a role at a division.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: i64,
    pub role: Role,
    pub scope: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub text_zh: String,
    pub at: DateTime<Utc>,
}

/// A unit's contact for the printed sheets (the township's hotline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitContact {
    pub division: String,
    pub name: String,
    pub phone: String,
}

/// Which cases a query of the index asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// Division code: cases whose village starts with it.
    pub scope: String,
    pub open_only: bool,
    /// Only cases with a running clock due on or before this day.
    pub due_by: Option<NaiveDate>,
    pub limit: Option<u32>,
}

// -- The case index (filled by `crate::domain::cases`) -------------------------------------

/// One case as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRow {
    pub case_id: String,
    pub village: String,
    pub household_id: Option<String>,
    pub stage: Stage,
    /// Still in the procedure: not closed, not finally refused, risk not eliminated.
    pub open: bool,
    pub source: CaseSource,
    pub green_channel: bool,
    pub risk_types: Vec<RiskType>,
    pub applicant_name: String,
    pub id_number: String,
    pub phone: Option<String>,
    pub receipt_no: Option<String>,
    pub declared_at: DateTime<Utc>,
    pub declared_on: NaiveDate,
    /// The day the home verification started (or its result was recorded, if no start was).
    pub first_visit_on: Option<NaiveDate>,
    pub verified_on: Option<NaiveDate>,
    pub approved_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub plan_made_on: Option<NaiveDate>,
    /// The most urgent running clock.
    pub clock_step: Option<ClockStep>,
    pub clock_owner: Option<Level>,
    pub clock_due_on: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

/// A clock that a change of the case completed: for on-time rates per step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDone {
    pub case_id: String,
    pub village: String,
    pub step: ClockStep,
    pub due_on: NaiveDate,
    pub done_on: NaiveDate,
}

impl StepDone {
    pub fn on_time(&self) -> bool {
        self.done_on <= self.due_on
    }
}

/// How the assistance phase of a case stands (from its follow-up index).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpFacts {
    pub next_due: Option<NaiveDate>,
    pub last_done: Option<NaiveDate>,
}

/// The signed-in device a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    pub device_id: DeviceId,
    pub user: Account,
}

/// Failed sign-ins of one key (`ip:…`, `account:…`), see `crate::domain::sign_in`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub key: String,
    pub failures: u32,
    pub blocked_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}
