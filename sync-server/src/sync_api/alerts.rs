//! `POST /v1/alerts`: a department's system sends its warning lines.
//!
//! The credential is a key per department issued by an administrator in the console (only its
//! hash is stored; revoking it stops it at once). Each line carries the department system's own
//! `row_id`: a line already received is answered with its stored outcome and never handled twice,
//! so a request retried after a lost answer gets the same summary.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use yijian_core::division::DivisionCode;
use yijian_core::support::RawAlertLine;

use crate::AppState;
use crate::domain::alerts::{self, Imported, Sender};
use crate::domain::procedure::Procedure;
use crate::error::ApiError;

/// Most lines in one request.
pub const MAX_ROWS: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/alerts", post(receive))
}

/// One line as a department's system sends it.
#[derive(Debug, Deserialize)]
pub struct ApiLine {
    pub row_id: String,
    #[serde(flatten)]
    pub line: RawAlertLine,
}

#[derive(Debug, Deserialize)]
pub struct ApiBatch {
    pub rows: Vec<ApiLine>,
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Imported>, ApiError> {
    let secret = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthenticated)?;
    let key = alerts::key_of(&*state.storage, secret)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let batch: ApiBatch = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "请求不是有效的预警数据",
            format!("body is not {{\"rows\": [...]}}: {e}"),
        )
    })?;
    if batch.rows.is_empty() || batch.rows.len() > MAX_ROWS {
        return Err(ApiError::bad_request(
            format!("每次应发送1到{MAX_ROWS}行"),
            format!("send 1 to {MAX_ROWS} rows per request"),
        ));
    }
    if let Some(bad) = batch
        .rows
        .iter()
        .find(|r| r.row_id.trim().is_empty() || r.row_id.len() > 128)
    {
        return Err(ApiError::bad_request(
            "每行都要有row_id（不超过128个字符）",
            format!(
                "every row needs a row_id of 1 to 128 characters ({:?})",
                bad.row_id
            ),
        ));
    }
    let scope = DivisionCode::parse(&key.scope)
        .map_err(|e| ApiError::Internal(format!("stored key scope: {e}")))?;
    let batch_id = {
        let mut h = Sha256::new();
        h.update(key.id.as_bytes());
        h.update(&body);
        format!("api-{}", hex::encode(&h.finalize()[..12]))
    };
    let lines = batch
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            (
                format!("api:{}", r.row_id.trim()),
                i64::try_from(i + 1).unwrap_or(i64::MAX),
                r.line,
            )
        })
        .collect();
    let procedure = Procedure::current(&*state.storage).await?;
    let sender = Sender {
        department: key.department.clone(),
        scope,
        channel: "api",
        by: key.label.clone(),
    };
    let rules = procedure.alert_rules.clone();
    let done = alerts::import_lines(
        &*state.storage,
        &sender,
        &batch_id,
        "API",
        lines,
        &rules,
        &procedure,
        Utc::now(),
    )
    .await
    .map_err(|e| match e {
        alerts::ImportError::Storage(s) => ApiError::Storage(s),
        other => ApiError::bad_request(other.to_string(), "the batch was refused"),
    })?;
    Ok(Json(done))
}
