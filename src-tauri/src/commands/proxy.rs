//! Proxy declaration (代申报) and the drafts every form keeps.

use serde::Serialize;
use serde_json::Value;
use tauri::State;
use yijian_client::proxy::{ProxyForm, ReadBackLine, RiskOption, VillageOption};

use crate::error::CommandError;
use crate::state::App;

#[tauri::command(rename_all = "snake_case")]
pub async fn risk_options() -> Result<Vec<RiskOption>, CommandError> {
    Ok(yijian_client::proxy::risk_options())
}

/// The villages the user may file for.
#[tauri::command(rename_all = "snake_case")]
pub async fn my_villages(app: State<'_, App>) -> Result<Vec<VillageOption>, CommandError> {
    let user = app.account().await?;
    Ok(yijian_client::proxy::villages_in(&user.scope))
}

/// Check the form: the read-back lines, or every field problem.
#[tauri::command(rename_all = "snake_case")]
pub async fn proxy_check(
    app: State<'_, App>,
    form: ProxyForm,
) -> Result<Vec<ReadBackLine>, CommandError> {
    let user = app.account().await?;
    app.store(move |s| s.proxy_check(&form, &user)).await
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Submitted {
    pub case_id: String,
    pub household_id: String,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn proxy_submit(
    app: State<'_, App>,
    form: ProxyForm,
    confirmation_sha256: String,
) -> Result<Submitted, CommandError> {
    let user = app.account().await?;
    let (case_id, household_id) = app
        .store(move |s| s.proxy_submit(&form, &user, &confirmation_sha256))
        .await?;
    app.wrote();
    Ok(Submitted {
        case_id: case_id.to_string(),
        household_id: household_id.to_string(),
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn draft_get(app: State<'_, App>, key: String) -> Result<Option<Value>, CommandError> {
    app.require_unlocked()?;
    app.store(move |s| s.draft(&key)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn draft_put(app: State<'_, App>, key: String, value: Value) -> Result<(), CommandError> {
    app.require_unlocked()?;
    app.store(move |s| s.put_draft(&key, &value)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn draft_clear(app: State<'_, App>, key: String) -> Result<(), CommandError> {
    app.require_unlocked()?;
    app.store(move |s| s.clear_draft(&key)).await
}
