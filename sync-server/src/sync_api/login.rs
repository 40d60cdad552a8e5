//! `POST /v1/auth/login` and `POST /v1/auth/logout`: a device signs in and gets its token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use yijian_core::ids::DeviceId;
use yijian_core::protocol::auth::{LoginRequest, LoginResponse};

use crate::AppState;
use crate::domain::accounts::{new_device_token, verify_password};
use crate::error::ApiError;
use crate::sync_api::auth::Authenticated;
use crate::sync_api::json::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
}

#[tracing::instrument(skip_all, fields(login = %req.login))]
async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let login = yijian_core::validation::MobileNumber::parse(&req.login)
        .map(|m| m.as_str().to_owned())
        .unwrap_or(req.login);
    let creds = state.storage.credentials(&login).await?;
    // Verify even when the user is unknown, so timing does not reveal which logins exist.
    let (hash, creds) = match creds {
        Some(c) => (c.password_hash.clone(), Some(c)),
        None => (crate::domain::accounts::dummy_hash().to_owned(), None),
    };
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let creds = match creds {
        Some(c) if ok && !c.disabled => c,
        _ => {
            tracing::info!("login refused");
            return Err(ApiError::BadCredentials);
        }
    };
    let (token, token_hash) = new_device_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = Utc::now();
    let name: String = req.device_name.chars().take(80).collect();
    let reused = match req.device_id {
        Some(id) => state
            .storage
            .reauthorize_device(id, creds.user.id, &name, &token_hash, now)
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
                .create_device(id, creds.user.id, &name, &token_hash, now)
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
