//! `POST /v1/auth/login` and `POST /v1/auth/logout`: a device signs in and gets its token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use yijian_core::ids::DeviceId;
use yijian_core::protocol::auth::{LoginRequest, LoginResponse};

use crate::AppState;
use crate::domain::accounts::new_device_token;
use crate::domain::sign_in::{self, Attempt, KnownBy, Refused};
use crate::error::ApiError;
use crate::sync_api::auth::Authenticated;
use crate::sync_api::json::ApiJson;
use crate::web::guard::{Peer, client_ip, form_key};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
}

#[tracing::instrument(skip_all, fields(login = %req.login))]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Peer,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = Utc::now();
    let address = client_ip(&headers, peer, state.settings.public.trust_forwarded_for);
    let key = form_key(&state).await?;
    let attempt = Attempt {
        login: &req.login,
        password: &req.password,
        address: &address,
        known: req.device_id.map_or(KnownBy::Nothing, KnownBy::Device),
    };
    let creds = match sign_in::check(&*state.storage, &key, &attempt, now).await? {
        Ok(c) => c,
        Err(Refused::BadCredentials) => return Err(ApiError::BadCredentials),
        Err(r @ Refused::Throttled { retry_after_s }) => {
            return Err(ApiError::TooManyRequests {
                zh: r.message_zh(),
                en: format!("too many failed sign-ins; retry after {retry_after_s} s"),
                retry_after_s,
            });
        }
    };
    let (token, token_hash) = new_device_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let expires_at = state.settings.security.device_expiry(now);
    let name: String = req.device_name.chars().take(80).collect();
    let reused = match req.device_id {
        Some(id) => state
            .storage
            .reauthorize_device(id, creds.user.id, &name, &token_hash, now, expires_at)
            .await?
            .then_some(id),
        None => None,
    };
    let device_id = match reused {
        Some(id) => id,
        None => {
            let id = DeviceId::new();
            state
                .storage
                .create_device(id, creds.user.id, &name, &token_hash, now, expires_at)
                .await?;
            id
        }
    };
    tracing::info!(device = %device_id, user = %creds.user.id, reused = reused.is_some(), "device signed in");
    Ok(Json(LoginResponse {
        token,
        device_id,
        user: creds.user,
        server_time: now,
    }))
}

async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    state.storage.revoke_device(auth.0.device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
