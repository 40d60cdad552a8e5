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

#[cfg(test)]
impl CaseRow {
    /// A case of 安定区 declared on 2 December 2026, open, its first clock due on the 9th and
    /// owned by nobody: the unit tests' starting point.
    pub(crate) fn sample() -> CaseRow {
        use chrono::TimeZone;
        let declared_at = Utc
            .with_ymd_and_hms(2026, 12, 2, 2, 0, 0)
            .single()
            .expect("time");
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("day");
        CaseRow {
            case_id: "c1".into(),
            village: "621102100201".into(),
            household_id: None,
            stage: Stage::ALL[0],
            open: true,
            source: CaseSource::SelfDeclaredQr,
            green_channel: false,
            risk_types: vec![RiskType::ALL[0], RiskType::ALL[1]],
            applicant_name: "张三".into(),
            id_number: "x".into(),
            phone: None,
            receipt_no: None,
            declared_at,
            declared_on: day(2),
            first_visit_on: None,
            verified_on: None,
            approved_on: None,
            closed_on: None,
            plan_made_on: None,
            clock_step: Some(ClockStep::ALL[0]),
            clock_owner: None,
            clock_due_on: Some(day(9)),
            updated_at: declared_at,
        }
    }
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

// -- Department warnings and spot checks (filled by `crate::domain::alerts`) -----------------

/// What became of one line of a department's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertOutcome {
    /// Not stored as a warning: the line is malformed; the reason says why.
    Rejected,
    /// Well-formed, but nobody in the register has the ID number.
    Unmatched,
    /// Matched, but the department's rule says it is not a warning.
    BelowThreshold,
    /// The same line earlier in the file, or the same warning taken up within the window.
    Duplicate,
    /// The household has an open case: the warning was added to it.
    Attached,
    /// A new lead case (source 部门预警) in the household's village.
    LeadCreated,
}

impl AlertOutcome {
    pub const ALL: [AlertOutcome; 6] = [
        AlertOutcome::LeadCreated,
        AlertOutcome::Attached,
        AlertOutcome::Duplicate,
        AlertOutcome::BelowThreshold,
        AlertOutcome::Unmatched,
        AlertOutcome::Rejected,
    ];

    /// The outcome stored as [`AlertOutcome::as_str`].
    pub fn parse(s: &str) -> Option<AlertOutcome> {
        AlertOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            AlertOutcome::Rejected => "rejected",
            AlertOutcome::Unmatched => "unmatched",
            AlertOutcome::BelowThreshold => "below_threshold",
            AlertOutcome::Duplicate => "duplicate",
            AlertOutcome::Attached => "attached",
            AlertOutcome::LeadCreated => "lead_created",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            AlertOutcome::Rejected => "格式有误被退回",
            AlertOutcome::Unmatched => "未匹配到农户",
            AlertOutcome::BelowThreshold => "未达预警标准",
            AlertOutcome::Duplicate => "重复预警",
            AlertOutcome::Attached => "并入在办案件",
            AlertOutcome::LeadCreated => "已生成线索",
        }
    }

    /// Whether the ID number was found in the register.
    pub const fn matched(self) -> bool {
        matches!(
            self,
            AlertOutcome::BelowThreshold
                | AlertOutcome::Attached
                | AlertOutcome::LeadCreated
                | AlertOutcome::Duplicate
        )
    }
}

/// One stored line of a department's list, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRowRecord {
    pub department: String,
    /// Unique per department: the department system's row id (API), or `<batch>:<line>`
    /// (files), so a batch sent again is answered from here and never counted twice.
    pub row_key: String,
    pub batch_id: String,
    /// Line in the file (2 = the first line under the header), or position in the request.
    pub line: i64,
    /// The canonical ID number, once the line passed the checks.
    pub id_number: Option<String>,
    pub matter: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    /// Hash of what the line says (ID number, matter, date, amount, extra columns): the same
    /// line twice in one file is a duplicate.
    pub fingerprint: Option<String>,
    pub outcome: AlertOutcome,
    /// Why, in words (rejected: every problem of the line).
    pub reason_zh: String,
    pub village: Option<String>,
    pub household_id: Option<String>,
    pub case_id: Option<String>,
    /// The columns as received.
    pub raw: yijian_core::support::RawAlertLine,
    pub received_at: DateTime<Utc>,
}

/// What became of a division's matched warnings, per department (the dashboard's 部门预警).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertTakeUp {
    /// (department, outcome, lines) of lines matched to households in the division.
    pub counts: Vec<(String, AlertOutcome, i64)>,
    /// (department, case, approved) for every case a warning made or was added to; approved:
    /// the county took the household into monitoring.
    pub cases: Vec<(String, String, bool)>,
}

/// A batch: one file or one API request of one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertBatchRow {
    pub id: String,
    pub department: String,
    /// The division whose register the lines were matched against (the sender's scope).
    pub scope: String,
    /// `console`, `cli` or `api`.
    pub channel: String,
    pub file_name: String,
    pub received_at: DateTime<Utc>,
    /// Login of the sender (a user, or the label of an API key).
    pub by: String,
    pub rows: i64,
    /// Counts per outcome (JSON keys are [`AlertOutcome::as_str`]).
    pub counts: std::collections::BTreeMap<String, i64>,
    /// Set when every line has been handled; a batch interrupted halfway has none until it is
    /// sent again.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A department system's API credential. Only the SHA-256 of the key is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentKey {
    pub id: String,
    pub department: String,
    pub scope: String,
    pub label: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A county's monthly draw of closed cases to re-check (常态抽查复核).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCheckMonth {
    pub county: String,
    /// `2026-11`: the month whose closed cases were drawn from.
    pub month: String,
    pub seed: u64,
    pub percent: u32,
    pub eligible: i64,
    pub drawn: i64,
    pub drawn_at: DateTime<Utc>,
}

/// One case drawn for a re-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCheckRow {
    pub county: String,
    pub month: String,
    pub case_id: String,
    pub village: String,
    /// How the case had ended (`not_qualified_notified`, `rejected`, `risk_eliminated` …).
    pub closed_stage: Stage,
    /// The return visit the worker does in the app.
    pub follow_up_id: String,
    /// The grid worker asked to do it (never one who worked on the case); `None` when the
    /// village and township have no other.
    pub assigned_to: Option<String>,
    pub assigned_name: Option<String>,
    /// `pending`, `same` or `differs`.
    pub result: String,
    pub finding: Option<String>,
    pub done_on: Option<NaiveDate>,
    /// The lead the differing finding opened.
    pub new_case_id: Option<String>,
}
