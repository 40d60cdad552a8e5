//! The transaction interface that command handling is written against.
//!
//! Both backends implement [`RecordTx`] over one open database transaction. It is synchronous
//! on purpose: a push runs on tokio's blocking pool, so the command logic in
//! [`crate::apply`] is plain code that reads and writes records, and is written once.

use chrono::{DateTime, Utc};
use yijian_core::hlc::Hlc;
use yijian_core::ids::{CommandId, DeviceId};

use super::StorageError;

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub kind: String,
    pub id: String,
    pub village: String,
    /// JSON text; `None` when deleted.
    pub body: Option<String>,
    pub hlc: Hlc,
    pub version: i64,
}

/// A command already handled for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCommand {
    pub body_hash: String,
    /// JSON of the `protocol::Outcome` given then.
    pub outcome: String,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub command_id: Option<String>,
    /// What was done, e.g. `declare`, `case_step:county_approve`, `edit_household`.
    pub action: String,
    pub kind: String,
    pub record_id: String,
    pub village: String,
    /// JSON with what changed.
    pub detail: String,
}

/// Reads and writes inside one transaction.
pub trait RecordTx {
    /// The record, locked for the rest of the transaction where the database needs that.
    fn get(&mut self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError>;

    /// Insert or replace a record; moves it to the head of the change feed. Returns its new
    /// version.
    fn put(
        &mut self,
        kind: &str,
        id: &str,
        village: &str,
        body: Option<&str>,
        hlc: Hlc,
        now: DateTime<Utc>,
    ) -> Result<i64, StorageError>;

    fn applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
    ) -> Result<Option<AppliedCommand>, StorageError>;

    fn record_applied(
        &mut self,
        device: DeviceId,
        command: CommandId,
        applied: &AppliedCommand,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;

    /// Record that the blob `sha256` belongs to `village` (a photo record names it).
    fn link_blob(&mut self, sha256: &str, village: &str) -> Result<(), StorageError>;

    /// The next receipt sequence number of a village (1, 2, …).
    fn next_receipt(&mut self, village: &str) -> Result<i64, StorageError>;

    fn audit(&mut self, entry: &AuditEntry) -> Result<(), StorageError>;
}
