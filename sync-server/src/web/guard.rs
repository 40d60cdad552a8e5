//! What protects the pages residents use without an account: anti-forgery tokens, rate limits,
//! and who the client is.
//!
//! - **Anti-forgery (CSRF)**: every form carries a token bound to a cookie (double submit): the
//!   token is `nonce.issued.mac` with `mac = HMAC-SHA256(key, purpose | nonce | issued)` and
//!   the cookie holds the nonce. A page elsewhere cannot read the cookie, so it cannot forge a
//!   matching token; the key lives in the database so every server process accepts every
//!   process's tokens. Tokens expire after [`TOKEN_MAX_AGE_SECS`].
//! - **Rate limits**: hits per key (`ip:…`, `phone:…`) per fixed window, counted in the
//!   database (`rate_hits`), so limits hold across processes.
//! - **Client address**: the connection's peer, or the last `X-Forwarded-For` hop when the
//!   server is configured to sit behind a proxy that sets it. The last one, because it is the
//!   address the trusted proxy itself saw: hops before it are whatever the client sent, and a
//!   client choosing its own address would choose its own rate limit.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::AppState;
use crate::store::{StorageError, write};

/// Settings key of the anti-forgery key.
const FORM_KEY: &str = "form_secret";

/// How long a form stays valid: a resident may take a while to fill it.
pub const TOKEN_MAX_AGE_SECS: i64 = 4 * 3600;

/// Name of the anti-forgery cookie.
pub const COOKIE: &str = "yj_t";

/// The anti-forgery key: created once (by whichever process first needs it), kept in the
/// database, cached per process.
pub async fn form_key(state: &AppState) -> Result<Vec<u8>, StorageError> {
    let storage = std::sync::Arc::clone(&state.storage);
    state
        .form_key
        .get_or_try_init(|| async move {
            let fresh = {
                let mut b = [0u8; 32];
                getrandom::fill(&mut b).map_err(|e| StorageError::Task(e.to_string()))?;
                hex::encode(b)
            };
            let stored = write(&*storage, move |tx| match tx.setting(FORM_KEY)? {
                Some(k) => Ok(k),
                None => {
                    tx.put_setting(FORM_KEY, &fresh, None, Utc::now())?;
                    Ok(fresh.clone())
                }
            })
            .await?;
            hex::decode(stored).map_err(|e| StorageError::Corrupt(format!("form key: {e}")))
        })
        .await
        .cloned()
}

fn mac(key: &[u8], parts: &[&str]) -> String {
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    for p in parts {
        m.update(p.as_bytes());
        m.update(b"\x1f");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&m.finalize().into_bytes()[..18])
}

/// A token and the cookie value it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormToken {
    pub token: String,
    pub cookie: String,
}

/// A fresh token for a form of `purpose` (e.g. `declare:621102105201`), reusing the
/// browser's cookie nonce when it has one (several tabs keep working).
pub fn issue(key: &[u8], purpose: &str, cookie: Option<&str>, now: DateTime<Utc>) -> FormToken {
    let nonce = cookie
        .filter(|c| {
            c.len() == 22
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut b = [0u8; 16];
            let _ = getrandom::fill(&mut b);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        });
    let issued = now.timestamp().to_string();
    let m = mac(key, &[purpose, &nonce, &issued]);
    FormToken {
        token: format!("{nonce}.{issued}.{m}"),
        cookie: nonce,
    }
}

/// Whether `token` was issued by us for `purpose` to the browser holding `cookie`, and is
/// not too old.
pub fn verify(
    key: &[u8],
    purpose: &str,
    token: &str,
    cookie: Option<&str>,
    now: DateTime<Utc>,
) -> bool {
    let mut parts = token.split('.');
    let (Some(nonce), Some(issued), Some(m), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(at) = issued.parse::<i64>() else {
        return false;
    };
    let age = now.timestamp() - at;
    cookie == Some(nonce)
        && (0..=TOKEN_MAX_AGE_SECS).contains(&age)
        && constant_time_eq(mac(key, &[purpose, nonce, issued]).as_bytes(), m.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` for the anti-forgery nonce: HttpOnly, Lax (a resident arriving from a QR code
/// follows a link), expiring with the tokens.
pub fn set_cookie(nonce: &str) -> String {
    format!("{COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TOKEN_MAX_AGE_SECS}")
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A short signature of `text` for links that must not be guessable (a receipt page's URL).
pub fn link_sig(key: &[u8], text: &str) -> String {
    mac(key, &["link", text])[..12].to_owned()
}

/// The connection's peer address, when the server was started with connect info (tests that
/// call the router directly have none).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The client's address.
pub fn client_ip(headers: &HeaderMap, peer: Peer, trust_forwarded: bool) -> String {
    if trust_forwarded
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return first.to_owned();
    }
    peer.0
        .map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string())
}

/// The start of the fixed window of `window_secs` that `now` falls in.
pub fn window_start(now: DateTime<Utc>, window_secs: i64) -> DateTime<Utc> {
    let start = now.timestamp() - now.timestamp().rem_euclid(window_secs);
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

/// Count a hit of `key` in the current `window_secs` window; `false` when it is over `limit`.
pub async fn allow(
    state: &AppState,
    key: &str,
    window_secs: i64,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let window_start = window_start(now, window_secs);
    let key = key.to_owned();
    let hits = write(&*state.storage, move |tx| tx.hit(&key, window_start)).await?;
    Ok(hits <= limit)
}

/// Whether `key` is still within `limit` hits in the current window, without counting one.
pub async fn within(
    state: &AppState,
    key: &str,
    window_secs: i64,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let window_start = window_start(now, window_secs);
    let key = key.to_owned();
    let hits = crate::store::read(&*state.storage, move |tx| {
        tx.hits_so_far(&key, window_start)
    })
    .await?;
    Ok(hits < limit)
}

/// Where residents and devices reach this server: the configured `public.base_url`, else
/// the request's own `Host` (an office printing sheets from the server's LAN address).
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.settings.public.base_url {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| state.settings.public.trust_forwarded_for && *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_purpose_cookie_and_age() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = Utc::now();
        let t = issue(key, "declare:1", None, now);
        assert!(verify(key, "declare:1", &t.token, Some(&t.cookie), now));
        assert!(
            !verify(key, "declare:2", &t.token, Some(&t.cookie), now),
            "other form"
        );
        assert!(
            !verify(
                key,
                "declare:1",
                &t.token,
                Some("AAAAAAAAAAAAAAAAAAAAAA"),
                now
            ),
            "other browser"
        );
        assert!(!verify(key, "declare:1", &t.token, None, now), "no cookie");
        let later = now + chrono::Duration::seconds(TOKEN_MAX_AGE_SECS + 1);
        assert!(
            !verify(key, "declare:1", &t.token, Some(&t.cookie), later),
            "expired"
        );
        assert!(!verify(
            b"another key of thirty-two bytes!",
            "declare:1",
            &t.token,
            Some(&t.cookie),
            now
        ));
        let forged = format!("{}.{}.{}", t.cookie, now.timestamp(), "A".repeat(24));
        assert!(!verify(key, "declare:1", &forged, Some(&t.cookie), now));
        // The same browser keeps its nonce across forms.
        let again = issue(key, "status", Some(&t.cookie), now);
        assert_eq!(again.cookie, t.cookie);
    }

    #[test]
    fn cookies_and_forwarded_addresses() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; yj_t=abc; b=2".parse().expect("header"));
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 10.1.2.3".parse().expect("header"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "zz"), None);
        let peer = Peer(Some(SocketAddr::from(([192, 168, 0, 9], 5000))));
        // A client's own X-Forwarded-For (6.6.6.6) does not choose its address: the proxy's hop
        // does.
        assert_eq!(client_ip(&h, peer, true), "10.1.2.3");
        assert_eq!(client_ip(&h, peer, false), "192.168.0.9");
        assert_eq!(client_ip(&h, Peer(None), false), "unknown");
    }
}
