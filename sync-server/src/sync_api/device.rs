//! `GET /v1/device/key` and `POST /v1/device/wiped`: the server's part in keeping a lost phone
//! unreadable.
//!
//! A phone's store is encrypted with a data key wrapped by the worker's PIN and, for the day the
//! PIN is forgotten, by an escrow key that only the server holds and gives only to the device's
//! own live token (so only after a password sign-in). The server never sees the data key. When
//! an administrator revokes the device, its escrow key is dropped and its next request is
//! answered `401 device_revoked`; the phone erases itself and confirms here with the revoked
//! token, the one thing that token is still good for. The console shows the confirmation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use yijian_core::protocol::auth::DeviceKeyResponse;

use crate::AppState;
use crate::error::ApiError;
use crate::sync_api::auth::{Authenticated, RevokedDevice};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/device/key", get(escrow_key))
        .route("/v1/device/wiped", post(wiped))
}

async fn escrow_key(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<Json<DeviceKeyResponse>, ApiError> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    let fresh = base64::engine::general_purpose::STANDARD.encode(fresh);
    let escrow_key = state
        .storage
        .device_escrow_key(session.device_id, &fresh)
        .await?;
    Ok(Json(DeviceKeyResponse { escrow_key }))
}

async fn wiped(
    State(state): State<AppState>,
    RevokedDevice(device): RevokedDevice,
) -> Result<StatusCode, ApiError> {
    state
        .storage
        .confirm_wipe(device, chrono::Utc::now())
        .await?;
    tracing::info!(device = %device, "revoked device confirmed its wipe");
    Ok(StatusCode::NO_CONTENT)
}
