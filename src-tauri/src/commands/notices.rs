//! The office's messages (new declarations, deadlines, escalations) fetched with each sync.

use tauri::State;
use yijian_client::notices::NoticeList;

use crate::error::CommandError;
use crate::state::App;

/// The newest messages and how many are unread.
#[tauri::command(rename_all = "snake_case")]
pub async fn notices(app: State<'_, App>) -> Result<NoticeList, CommandError> {
    app.require_unlocked()?;
    app.store(|s| s.notices()).await
}

/// The worker has seen the list: every message is read.
#[tauri::command(rename_all = "snake_case")]
pub async fn notices_read(app: State<'_, App>) -> Result<(), CommandError> {
    app.require_unlocked()?;
    app.store(|s| s.mark_notices_read()).await
}
