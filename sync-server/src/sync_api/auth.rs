//! Who a request is from: the bearer token of a signed-in device.
//!
//! [`Authenticated`] is an axum extractor: a handler that takes it runs only for a live device
//! token (not revoked, expired, user not disabled); everything else is answered 401 before the
//! handler. [`CaseReader`] further limits a route to the roles that read case records.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use yijian_core::role::Staff;

use crate::AppState;
use crate::domain::accounts::token_hash;
use crate::error::ApiError;
use crate::store::rows::DeviceSession;

/// The signed-in device and user of a request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub DeviceSession);

impl Authenticated {
    /// The user as the workflow rules see them.
    pub fn staff(&self) -> Result<Staff, ApiError> {
        self.0
            .user
            .staff()
            .map_err(|_| ApiError::Forbidden("account role and scope do not fit"))
    }
}

/// The token in `Authorization: Bearer <token>`.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthenticated)?;
        let hash = token_hash(token);
        match state.storage.session(&hash, chrono::Utc::now()).await? {
            Some(session) => Ok(Authenticated(session)),
            // A revoked device is told so (it erases its data); an expired or unknown token
            // only needs a new sign-in.
            None if state.storage.revoked_device(&hash).await?.is_some() => {
                Err(ApiError::DeviceRevoked)
            }
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// A signed-in device whose user works on cases (the five levels of the chain): the only ones
/// that read records, notices and photos. An administrator's or a department liaison's token
/// is refused with 403.
#[derive(Debug, Clone)]
pub struct CaseReader(pub DeviceSession);

impl FromRequestParts<AppState> for CaseReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(session) = Authenticated::from_request_parts(parts, state).await?;
        if session.user.role.reads_case_files() {
            Ok(CaseReader(session))
        } else {
            Err(ApiError::Forbidden("this role does not read case records"))
        }
    }
}

/// The token of a device an administrator revoked: accepted only to confirm the wipe.
#[derive(Debug, Clone)]
pub struct RevokedDevice(pub yijian_core::ids::DeviceId);

impl FromRequestParts<AppState> for RevokedDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthenticated)?;
        state
            .storage
            .revoked_device(&token_hash(token))
            .await?
            .map(RevokedDevice)
            .ok_or(ApiError::Unauthenticated)
    }
}
