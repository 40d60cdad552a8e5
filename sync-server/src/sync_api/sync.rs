//! The sync API: `POST /v1/sync/push`, `GET /v1/sync/pull`, `GET /v1/sync/snapshot`, and what a
//! device fetches beside the records: `GET /v1/procedure`, `GET /v1/notices`.
//!
//! Every response carries the server's time, so a device can see how far off its clock is.
//! A device only ever reads its user's scope: the scope comes from the token, never from the
//! request.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use yijian_core::protocol::{
    Cursor, Notice, NoticesResponse, PROTOCOL_VERSION, PullResponse, PushRequest, PushResponse,
    SnapshotPage,
};

use crate::AppState;
use crate::domain::apply::push_in_force;
use crate::error::ApiError;
use crate::store::{SnapshotMark, StorageError};
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
///
/// The answer carries an `ETag` over everything but the server's time; a phone that sends it
/// back in `If-None-Match` gets `304 Not Modified` and keeps its copy (the document rarely
/// changes, and phones ask on every sync round).
async fn procedure(
    State(state): State<AppState>,
    _auth: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = crate::domain::procedure::Procedure::current(&*state.storage).await?;
    let doc = p.document(Utc::now());
    let content = serde_json::to_vec(&(&doc.calendar, &doc.rules, &doc.templates, &doc.policy))
        .map_err(StorageError::from)?;
    let digest = Sha256::digest(&content);
    let tag = format!("\"{}\"", hex::encode(&digest[..16]));
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let etag = [(header::ETAG, tag)];
    if held {
        return Ok((StatusCode::NOT_MODIFIED, etag).into_response());
    }
    Ok((etag, Json(doc)).into_response())
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
    let results = push_in_force(
        &*state.storage,
        &auth.0,
        req.commands,
        Utc::now(),
        state.settings.accept_raw_documents,
    )
    .await?;
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

/// First sync: every live record of the scope, page by page. The first page fixes the feed
/// position the phone continues from afterwards (`resume_cursor`) and the total it shows; the
/// page token carries both with where the next page starts, so a phone that lost its
/// connection asks for the same page again, and the scope is counted once, not on every page.
async fn snapshot(
    State(state): State<AppState>,
    auth: CaseReader,
    Query(q): Query<SnapshotQuery>,
) -> Result<Json<SnapshotPage>, ApiError> {
    let limit = page_limit(&state, q.limit);
    let scope = &auth.0.user.scope;
    let token = match q.page.filter(|p| !p.is_empty()) {
        Some(page) => SnapshotToken::parse(&page)?,
        None => SnapshotToken {
            // The head before the count and the pages: whatever changes after it comes
            // again through the feed.
            resume: state.storage.feed_head().await?,
            total: state.storage.count_records(scope).await?,
            mark: None,
        },
    };
    let slice = state
        .storage
        .snapshot_page(scope, token.mark.as_ref(), limit)
        .await?;
    let next_page = slice.next.map(|mark| {
        SnapshotToken {
            mark: Some(mark),
            ..token.clone()
        }
        .to_string()
    });
    Ok(Json(SnapshotPage {
        server_time: Utc::now(),
        records: slice.records,
        next_page,
        total_records: token.total,
        resume_cursor: token.resume,
    }))
}

/// A snapshot page token: `w<total>~<resume cursor>~<village>~<after>`. Opaque to the phone,
/// which only sends it back; a token of another form (an older server's) is a bad cursor, and
/// the phone starts a new snapshot.
#[derive(Debug, Clone, PartialEq)]
struct SnapshotToken {
    total: u64,
    resume: Cursor,
    mark: Option<SnapshotMark>,
}

impl SnapshotToken {
    fn parse(page: &str) -> Result<SnapshotToken, ApiError> {
        let bad = || ApiError::Storage(StorageError::BadCursor(page.to_owned()));
        let mut parts = page.strip_prefix('w').ok_or_else(bad)?.split('~');
        let (Some(total), Some(resume), Some(village), Some(after), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if [resume, village, after].iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        Ok(SnapshotToken {
            total: total.parse().map_err(|_| bad())?,
            resume: Cursor(resume.to_owned()),
            mark: Some(SnapshotMark {
                village: village.to_owned(),
                after: Cursor(after.to_owned()),
            }),
        })
    }
}

impl std::fmt::Display for SnapshotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (village, after) = self
            .mark
            .as_ref()
            .map_or(("", ""), |m| (m.village.as_str(), m.after.0.as_str()));
        write!(f, "w{}~{}~{village}~{after}", self.total, self.resume.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yijian_core::division::DivisionCode;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("division code")
    }

    #[test]
    fn a_snapshot_token_reads_back_what_it_wrote_and_nothing_else() {
        let token = SnapshotToken {
            total: 5360,
            resume: Cursor("p179958.5052564".into()),
            mark: Some(SnapshotMark {
                village: "621102105201".into(),
                after: Cursor("p1000.17".into()),
            }),
        };
        let text = token.to_string();
        assert_eq!(text, "w5360~p179958.5052564~621102105201~p1000.17");
        assert_eq!(SnapshotToken::parse(&text).expect("parses"), token);
        for bad in [
            "p0.0",
            "s12",
            "w",
            "w1~s0",
            "w1~s0~621102105201",
            "wx~s0~621102105201~s0",
            "w1~~621102105201~s0",
            "w1~s0~621102105201~s0~more",
        ] {
            assert!(SnapshotToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_snapshot_mark_outside_the_scope_is_refused() {
        let mark = |village: &str| SnapshotMark {
            village: village.into(),
            after: Cursor("s0".into()),
        };
        let township = code("621102105");
        assert!(mark("621102105201").in_scope(&township).is_ok());
        assert!(mark("621102105201").in_scope(&code("621102105201")).is_ok());
        assert!(mark("621102106201").in_scope(&township).is_err());
        assert!(
            mark("621102105202")
                .in_scope(&code("621102105201"))
                .is_err()
        );
        assert!(mark("6211021052011").in_scope(&township).is_err());
        assert!(mark("62110210520a").in_scope(&township).is_err());
        assert!(mark("").in_scope(&township).is_err());
    }
}
