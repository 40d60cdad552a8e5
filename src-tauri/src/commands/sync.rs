//! The sync screen: status, "sync now", the quarantine and the conflicts.

use std::sync::atomic::Ordering;

use serde::Serialize;
use tauri::State;
use yijian_client::views::{ConflictChoice, ConflictEntry, QuarantineEntry};
use yijian_core::ids::{CommandId, HouseholdId};

use crate::error::{CommandError, ErrorKind};
use crate::state::App;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SyncStatus {
    pub online_known: bool,
    pub running: bool,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    pub outbox: u64,
    pub quarantine: u64,
    pub conflicts: u64,
    pub photos_waiting: u64,
    pub photos_failed: u64,
    pub photos_done: u64,
    pub records: u64,
    pub login_expired: bool,
}

/// Counts for the status line, read on the blocking pool like every store access.
pub async fn status_of(app: &App) -> Result<SyncStatus, CommandError> {
    let (status, conflicts) = app
        .store(|s| Ok((s.status()?, s.conflicts(false)?.len() as u64)))
        .await?;
    Ok(SyncStatus {
        online_known: app.synced_once.load(Ordering::SeqCst),
        running: app.syncing.load(Ordering::SeqCst),
        last_sync_at: status.last_sync_at,
        last_error: status.last_sync_error,
        outbox: status.outbox,
        quarantine: status.quarantine,
        conflicts,
        photos_waiting: status.photos_pending,
        photos_failed: status.photos_failed,
        photos_done: status.photos_done,
        records: status.records,
        login_expired: status.token_rejected,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_status(app: State<'_, App>) -> Result<SyncStatus, CommandError> {
    app.require_unlocked_quietly()?;
    status_of(&app).await
}

/// Start a round now; progress and the end arrive as events.
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(app: State<'_, App>) -> Result<(), CommandError> {
    app.require_unlocked()?;
    app.wrote();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn quarantine_list(app: State<'_, App>) -> Result<Vec<QuarantineEntry>, CommandError> {
    app.require_unlocked()?;
    app.store(|s| s.quarantine_view()).await
}

fn command_id(id: &str) -> Result<CommandId, CommandError> {
    CommandId::parse(id).map_err(|_| CommandError::new(ErrorKind::Invalid, "记录编号格式不正确"))
}

/// Put one refused command (or all, with `None`) back in the outbox; returns how many.
#[tauri::command(rename_all = "snake_case")]
pub async fn quarantine_retry(
    app: State<'_, App>,
    command_id: Option<String>,
) -> Result<usize, CommandError> {
    app.require_unlocked()?;
    let id = command_id.as_deref().map(self::command_id).transpose()?;
    let n = app
        .store(move |s| match id {
            Some(id) => s.retry_quarantined(id).map(|()| 1),
            None => s.retry_all_quarantined(),
        })
        .await?;
    app.wrote();
    Ok(n)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn quarantine_discard(
    app: State<'_, App>,
    command_id: String,
) -> Result<(), CommandError> {
    app.require_unlocked()?;
    let id = self::command_id(&command_id)?;
    app.store(move |s| s.discard_quarantined(id)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn conflicts(app: State<'_, App>) -> Result<Vec<ConflictEntry>, CommandError> {
    app.require_unlocked()?;
    app.store(|s| s.conflicts_view()).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_conflict(
    app: State<'_, App>,
    household_id: String,
    field: String,
    choice: ConflictChoice,
) -> Result<(), CommandError> {
    app.require_unlocked()?;
    let household = HouseholdId::parse(&household_id)
        .map_err(|_| CommandError::new(ErrorKind::Invalid, "农户编号格式不正确"))?;
    app.store(move |s| {
        s.resolve_conflict_with(household, &field, choice)
            .map(|_| ())
    })
    .await?;
    app.wrote();
    Ok(())
}
