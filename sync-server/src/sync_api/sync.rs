//! The sync API: `POST /v1/sync/push`, `GET /v1/sync/pull`, `GET /v1/sync/snapshot`, and what a
//! device fetches beside the records: `GET /v1/procedure`, `GET /v1/notices`.
//!
//! Every response carries the server's time, so a device can see how far off its clock is.
//! A device only ever reads its user's scope: the scope comes from the token, never from the
//! request.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use yijian_core::protocol::procedure::ProcedureDocument;
use yijian_core::protocol::{
    Cursor, Notice, NoticesResponse, PROTOCOL_VERSION, PullResponse, PushRequest, PushResponse,
    SnapshotPage,
};

use crate::AppState;
use crate::domain::apply::{ApplySettings, push as push_batch};
use crate::error::ApiError;
use crate::sync_api::auth::{Authenticated, CaseReader};
use crate::sync_api::json::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/pull", get(pull))
        .route("/v1/sync/snapshot", get(snapshot))
        .route("/v1/procedure", get(procedure))
        .route("/v1/notices", get(notices))
}

#[derive(Debug, Deserialize)]
struct NoticesQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// Most notices a device gets per request.
const MAX_NOTICES: u32 = 200;

/// The messages for the token's user (their role at their division), as the console shows them,
/// after the highest id the device already holds.
async fn notices(
    State(state): State<AppState>,
    auth: CaseReader,
    Query(q): Query<NoticesQuery>,
) -> Result<Json<NoticesResponse>, ApiError> {
    let limit = q.limit.unwrap_or(MAX_NOTICES).clamp(1, MAX_NOTICES);
    let after = q.after.unwrap_or(0).max(0);
    let (role, scope) = (auth.0.user.role, auth.0.user.scope.to_string());
    let mut rows = crate::store::read(&*state.storage, move |tx| {
        tx.notifications_after(role, &scope, after, limit + 1)
    })
    .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(NoticesResponse {
        server_time: Utc::now(),
        notices: rows
            .into_iter()
            .map(|n| Notice {
                id: n.id,
                case_id: n.case_id,
                kind: n.kind,
                text_zh: n.text_zh,
                at: n.at,
            })
            .collect(),
        has_more,
    }))
}

/// The holiday calendar and deadline rules in force, and the checklist templates, for devices
/// to count due dates and fill visits exactly as the server does.
async fn procedure(
    State(state): State<AppState>,
    _auth: Authenticated,
) -> Result<Json<ProcedureDocument>, ApiError> {
    let p = crate::domain::procedure::Procedure::current(&*state.storage).await?;
    Ok(Json(p.document(Utc::now())))
}

#[tracing::instrument(skip_all, fields(device = %auth.0.device_id, commands = req.commands.len()), err(Display))]
async fn push(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if req.protocol != PROTOCOL_VERSION {
        return Err(ApiError::bad_request(
            "应用版本与服务器不匹配，请升级应用",
            format!(
                "protocol {} not supported (server speaks {PROTOCOL_VERSION})",
                req.protocol
            ),
        ));
    }
    if req.device_id != auth.0.device_id {
        return Err(ApiError::Forbidden(
            "device_id does not match the token's device",
        ));
    }
    let max = state.settings.max_push_commands;
    if req.commands.len() > max {
        return Err(ApiError::TooLarge {
            zh: format!("一次最多提交{max}条记录"),
            en: format!("at most {max} commands per push"),
        });
    }
    let procedure = crate::domain::procedure::Procedure::current(&*state.storage).await?;
    let mut settings = ApplySettings::with(Utc::now(), &procedure);
    settings.accept_raw_documents = state.settings.accept_raw_documents;
    let results = push_batch(&*state.storage, &auth.0, req.commands, &settings).await?;
    Ok(Json(PushResponse {
        server_time: Utc::now(),
        results,
    }))
}

/// Records per page: what the device asked for, within the server's limit.
fn page_limit(state: &AppState, requested: Option<u32>) -> u32 {
    let max = state.settings.max_pull_limit;
    requested.unwrap_or(max).clamp(1, max)
}

#[derive(Debug, Deserialize)]
struct PullQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn pull(
    State(state): State<AppState>,
    auth: CaseReader,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>, ApiError> {
    let limit = page_limit(&state, q.limit);
    let cursor = q.cursor.filter(|c| !c.is_empty()).map(Cursor);
    let page = state
        .storage
        .pull(&auth.0.user.scope, cursor.as_ref(), limit)
        .await?;
    Ok(Json(PullResponse {
        server_time: Utc::now(),
        changes: page.changes,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

#[derive(Debug, Deserialize)]
struct SnapshotQuery {
    page: Option<String>,
    limit: Option<u32>,
}

/// First sync: every live record of the scope, page by page. A page token is a feed position,
/// so a device that lost its connection asks for the same page again, and when the last page is
/// in, the change feed continues from `resume_cursor` with whatever changed meanwhile.
async fn snapshot(
    State(state): State<AppState>,
    auth: CaseReader,
    Query(q): Query<SnapshotQuery>,
) -> Result<Json<SnapshotPage>, ApiError> {
    let limit = page_limit(&state, q.limit);
    let scope = &auth.0.user.scope;
    let cursor = q.page.filter(|c| !c.is_empty()).map(Cursor);
    let total = state.storage.count_records(scope).await?;
    let page = state.storage.pull(scope, cursor.as_ref(), limit).await?;
    Ok(Json(SnapshotPage {
        server_time: Utc::now(),
        records: page
            .changes
            .into_iter()
            .filter(|c| c.data.is_some())
            .collect(),
        next_page: page.has_more.then(|| page.next_cursor.0.clone()),
        total_records: total,
        resume_cursor: page.next_cursor,
    }))
}
