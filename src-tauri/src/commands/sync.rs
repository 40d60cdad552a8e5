//! The sync screen: status, "sync now", the quarantine and the conflicts.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use tauri::State;
use yijian_client::views::{ConflictEntry, QuarantineEntry};
use yijian_core::household::HouseholdField;
use yijian_core::ids::{CommandId, HouseholdId};

use crate::error::{CommandError, ErrorKind};
use crate::state::App;

#[derive(Debug, Clone, Serialize)]
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

/// Counts for the status line (a few indexed counts: quick enough to run anywhere).
pub fn status_of(app: &App) -> Result<SyncStatus, CommandError> {
    let (status, conflicts) = app
        .engine
        .with_store(|s| Ok((s.status()?, s.conflicts(false)?.len() as u64)))?;
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
    app.require_unlocked()?;
    status_of(&app)
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

/// Which value settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Base,
    Theirs,
    Mine,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_conflict(
    app: State<'_, App>,
    household_id: String,
    field: String,
    choice: Choice,
) -> Result<(), CommandError> {
    app.require_unlocked()?;
    let household = HouseholdId::parse(&household_id)
        .map_err(|_| CommandError::new(ErrorKind::Invalid, "农户编号格式不正确"))?;
    let field = HouseholdField::from_key(&field)
        .map_err(|e| CommandError::new(ErrorKind::Invalid, e.to_string()))?;
    app.store(move |s| {
        let conflict = s
            .conflicts(false)?
            .into_iter()
            .find(|c| c.household_id == household && c.field == field.key())
            .ok_or_else(|| yijian_client::Error::NotFound("这条档案冲突已经处理过了".into()))?;
        let chosen = match choice {
            Choice::Base => conflict.base,
            Choice::Theirs => conflict.theirs,
            Choice::Mine => conflict.mine,
        };
        s.resolve_conflict(household, field, chosen).map(|_| ())
    })
    .await?;
    app.wrote();
    Ok(())
}
