//! Signing in to the console: a cookie session, limited to the user's scope.
//!
//! A console login is a device login like a phone's (a row in `devices`, named for the
//! browser, revocable in the admin page), whose token travels in an HttpOnly, SameSite=Strict
//! cookie instead of an `Authorization` header. Every form of the console also carries a token
//! derived from the session ([`ConsoleUser::form_token`]), checked on every POST, so another
//! site cannot submit the console's forms with the user's cookie.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use yijian_core::division::DivisionCode;
use yijian_core::ids::DeviceId;
use yijian_core::role::{Role, Staff};

use crate::AppState;
use crate::domain::accounts::{new_device_token, token_hash};
use crate::domain::sign_in::{self, Attempt, KnownBy, Refused};
use crate::error::ApiError;
use crate::store::rows::DeviceSession;
use crate::web::guard;
use yijian_core::protocol::auth::Account;

/// The session cookie.
pub const SESSION_COOKIE: &str = "yj_s";

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub session: DeviceSession,
    /// The session token's hash, for the form tokens.
    token_hash: String,
    form_key: Vec<u8>,
}

impl ConsoleUser {
    pub fn user(&self) -> &Account {
        &self.session.user
    }

    pub fn scope(&self) -> &DivisionCode {
        &self.session.user.scope
    }

    pub fn role(&self) -> Role {
        self.session.user.role
    }

    pub fn staff(&self) -> Option<Staff> {
        self.session.user.staff().ok()
    }

    /// Whether `division` is within this user's scope.
    pub fn covers(&self, division: &DivisionCode) -> bool {
        division.is_within(self.scope())
    }

    /// The anti-forgery token of this session's forms.
    pub fn form_token(&self) -> String {
        guard::link_sig(&self.form_key, &format!("console:{}", self.token_hash))
    }

    /// Refuse a POST whose form token is not this session's.
    pub fn check_form(&self, token: &str) -> Result<(), ApiError> {
        if token == self.form_token() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("console form token missing or stale"))
        }
    }
}

/// Not signed in: pages redirect to the login page, the JSON API answers 401.
#[derive(Debug)]
pub enum NotSignedIn {
    Redirect(String),
    Api,
    Error(ApiError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            NotSignedIn::Redirect(next) => {
                Redirect::to(&format!("/console/login?next={}", urlencode(&next))).into_response()
            }
            NotSignedIn::Api => ApiError::Unauthenticated.into_response(),
            NotSignedIn::Error(e) => e.into_response(),
        }
    }
}

/// Percent-encoding for a `next` parameter.
pub fn urlencode(s: &str) -> String {
    crate::sms::aliyun::percent_encode(s)
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NotSignedIn> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/console", |p| p.as_str())
            .to_owned();
        let not_in = || {
            if path.starts_with("/console/api/") {
                NotSignedIn::Api
            } else {
                NotSignedIn::Redirect(path.clone())
            }
        };
        let Some(token) = guard::cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(not_in());
        };
        let hash = token_hash(token);
        let session = state
            .storage
            .session(&hash, Utc::now())
            .await
            .map_err(|e| NotSignedIn::Error(e.into()))?
            .ok_or_else(not_in)?;
        let form_key = guard::form_key(state)
            .await
            .map_err(|e| NotSignedIn::Error(e.into()))?;
        Ok(ConsoleUser {
            session,
            token_hash: hash,
            form_key,
        })
    }
}

/// The cookie marking a browser where an account signed in before (see
/// [`crate::domain::sign_in`]): it lets the owner past a delay a stranger's guesses put on the
/// account.
pub const KNOWN_BROWSER_COOKIE: &str = "yj_k";

/// Sign in with login and password from `address`: the `Set-Cookie` headers of the session
/// and of the browser's mark, or why not.
pub async fn sign_in(
    state: &AppState,
    login: &str,
    password: &str,
    browser: &str,
    address: &str,
    known_mark: Option<&str>,
) -> Result<Result<Vec<HeaderValue>, Refused>, ApiError> {
    let now = Utc::now();
    let key = guard::form_key(state).await?;
    let attempt = Attempt {
        login,
        password,
        address,
        known: known_mark.map_or(KnownBy::Nothing, |m| KnownBy::BrowserMark(m.to_owned())),
    };
    let creds = match sign_in::check(&*state.storage, &key, &attempt, now).await? {
        Ok(c) => c,
        Err(refused) => return Ok(Err(refused)),
    };
    let (token, hash) = new_device_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let name: String = format!("控制台（{}）", browser.chars().take(40).collect::<String>());
    let security = &state.settings.security;
    state
        .storage
        .create_device(
            DeviceId::new(),
            creds.user.id,
            &name,
            &hash,
            now,
            security.console_expiry(now),
        )
        .await?;
    let max_age = security.console_session_ttl.as_secs();
    let mark = sign_in::browser_mark(&key, &creds.user.id.to_string());
    let cookies = [
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"),
        format!(
            "{KNOWN_BROWSER_COOKIE}={mark}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=31536000"
        ),
    ];
    cookies
        .iter()
        .map(|c| HeaderValue::from_str(c).map_err(|e| ApiError::Internal(e.to_string())))
        .collect::<Result<Vec<_>, _>>()
        .map(Ok)
}

/// End the session (its device row is revoked) and clear the cookie.
pub async fn sign_out(state: &AppState, user: &ConsoleUser) -> Result<HeaderValue, ApiError> {
    state.storage.revoke_device(user.session.device_id).await?;
    Ok(HeaderValue::from_static(
        "yj_s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
    ))
}

/// The `Set-Cookie` header name, for handlers.
pub const SET_COOKIE: header::HeaderName = header::SET_COOKIE;
