//! The inbox, the household file and the door-plate scan.

use std::sync::Arc;

use serde::Serialize;
use tauri::State;
use yijian_client::files::{CaseView, HouseholdFile, Viewer};
use yijian_client::inbox::{InboxPage, InboxQuery};
use yijian_core::ids::{CaseId, HouseholdId};

use crate::error::{CommandError, ErrorKind};
use crate::state::{App, today};

fn bad_id(what: &str) -> CommandError {
    CommandError::new(ErrorKind::Invalid, format!("{what}编号格式不正确"))
}

async fn viewer(app: &App) -> Result<Viewer, CommandError> {
    let user = app.account().await?;
    Ok(Viewer {
        user: user.id,
        role: user.role,
        today: today(),
    })
}

/// A page of the inbox (see `yijian_client::inbox`).
#[tauri::command(rename_all = "snake_case")]
pub async fn inbox(app: State<'_, App>, query: InboxQuery) -> Result<InboxPage, CommandError> {
    app.require_unlocked()?;
    let cache = Arc::clone(&app.inbox);
    app.store(move |s| {
        let mut cache = cache
            .lock()
            .map_err(|_| yijian_client::Error::Corrupt("inbox cache poisoned".into()))?;
        cache.page(s, today(), &query)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn household_file(
    app: State<'_, App>,
    household_id: String,
) -> Result<HouseholdFile, CommandError> {
    let viewer = viewer(&app).await?;
    let id = HouseholdId::parse(&household_id).map_err(|_| bad_id("农户"))?;
    let urls = app.urls.clone();
    app.store(move |s| s.household_file(id, &viewer, &urls))
        .await
}

/// A case that has no household yet (a declaration not yet matched to one).
#[tauri::command(rename_all = "snake_case")]
pub async fn case_view(app: State<'_, App>, case_id: String) -> Result<CaseView, CommandError> {
    let viewer = viewer(&app).await?;
    let id = CaseId::parse(&case_id).map_err(|_| bad_id("案件"))?;
    app.store(move |s| s.case_view(id, &viewer)).await
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Found {
    pub household_id: String,
}

/// The household a scanned door-plate code names.
#[tauri::command(rename_all = "snake_case")]
pub async fn lookup_door_plate(app: State<'_, App>, text: String) -> Result<Found, CommandError> {
    app.require_unlocked()?;
    let id = app.store(move |s| s.household_by_scan(&text)).await?;
    Ok(Found {
        household_id: id.to_string(),
    })
}
