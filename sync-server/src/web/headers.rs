//! Headers every answer carries, set in one place for the whole application.
//!
//! - `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` everywhere (a receipt
//!   page's address carries a signature; it must not leak to another site through a link);
//! - on pages (`text/html`): a Content-Security-Policy that lets scripts come only from this
//!   server (so text a resident typed can never run, even if escaping were ever missed), and
//!   forbids framing (`frame-ancestors 'none'`, `X-Frame-Options: DENY`);
//! - behind HTTPS (`security.secure_cookies`): every cookie marked `Secure`, and
//!   `Strict-Transport-Security`.
//!
//! Styles may be inline: the resident pages carry their one small stylesheet in the page (one
//! request on 2G) and the console's charts set styles on their elements.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::AppState;

/// The policy of every HTML page.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Add the headers to one response.
pub async fn add(State(state): State<AppState>, mut response: Response) -> Response {
    let secure = state.settings.security.secure_cookies;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
        let cookies: Vec<HeaderValue> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| match v.to_str() {
                Ok(text) if !text.to_ascii_lowercase().contains("; secure") => {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| v.clone())
                }
                _ => v.clone(),
            })
            .collect();
        h.remove(header::SET_COOKIE);
        for c in cookies {
            h.append(header::SET_COOKIE, c);
        }
    }
    response
}
