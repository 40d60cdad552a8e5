//! Signing in and out of the console.

use crate::AppState;
use crate::domain::sign_in::Refused;
use crate::error::ApiError;
use crate::web::console::page;
use crate::web::console::session::{ConsoleUser, KNOWN_BROWSER_COOKIE, sign_in, sign_out};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    err: Option<String>,
}

fn login_page(next: &str, error: Option<&str>, login: &str, token: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "登录 · 一键申报工作台" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.console.login {
                main.login-box {
                    h1 { "一键申报 · 监测帮扶工作台" }
                    p.muted { "乡镇、县、市、省工作人员登录" }
                    @if let Some(e) = error { div id="flash" class="flash error" role="alert" { (e) } }
                    form method="post" action="/console/login" {
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="t" value=(token);
                        label for="login" { "手机号" }
                        input type="text" id="login" name="login" value=(login) autocomplete="username" required;
                        label for="password" { "密码" }
                        input type="password" id="password" name="password" autocomplete="current-password" required;
                        button type="submit" id="signin" { "登录" }
                    }
                }
            }
        }
    }
}

/// Only same-site paths under /console are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains("://") => {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

/// The login form's anti-forgery token (another site cannot sign a browser in to its own
/// account), bound to a cookie like the resident forms'.
async fn login_token(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::web::guard::FormToken, ApiError> {
    let key = crate::web::guard::form_key(state).await?;
    Ok(crate::web::guard::issue(
        &key,
        "console-login",
        crate::web::guard::cookie(headers, crate::web::guard::COOKIE),
        Utc::now(),
    ))
}

fn with_login_cookie(mut r: Response, t: &crate::web::guard::FormToken) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::web::guard::set_cookie(&t.cookie)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let t = login_token(&state, &headers).await?;
    Ok(with_login_cookie(
        page(
            StatusCode::OK,
            login_page(
                &safe_next(q.next.as_deref()),
                q.err.as_deref(),
                "",
                &t.token,
            ),
        ),
        &t,
    ))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    t: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: crate::web::guard::Peer,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|a| {
            if a.contains("Firefox") {
                "Firefox"
            } else if a.contains("Edg") {
                "Edge"
            } else if a.contains("Chrome") {
                "Chrome"
            } else {
                "浏览器"
            }
        })
        .unwrap_or("浏览器");
    let next = safe_next(Some(&f.next));
    let key = crate::web::guard::form_key(&state).await?;
    let cookie = crate::web::guard::cookie(&headers, crate::web::guard::COOKIE);
    if !crate::web::guard::verify(&key, "console-login", &f.t, cookie, Utc::now()) {
        let t = login_token(&state, &headers).await?;
        return Ok(with_login_cookie(
            page(
                StatusCode::FORBIDDEN,
                login_page(
                    &next,
                    Some("页面已过期，请再点一次“登录”"),
                    &f.login,
                    &t.token,
                ),
            ),
            &t,
        ));
    }
    // Guessing passwords: the limiter the phones' sign-in uses too (per address and per
    // account, with a way past the account's delay for a browser the owner used before).
    let address =
        crate::web::guard::client_ip(&headers, peer, state.settings.public.trust_forwarded_for);
    let mark = crate::web::guard::cookie(&headers, KNOWN_BROWSER_COOKIE);
    match sign_in(&state, &f.login, &f.password, agent, &address, mark).await? {
        Ok(cookies) => {
            let mut r = Redirect::to(&next).into_response();
            for c in cookies {
                r.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(r)
        }
        Err(refused) => {
            let status = match refused {
                Refused::BadCredentials => StatusCode::UNAUTHORIZED,
                Refused::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            };
            let t = login_token(&state, &headers).await?;
            Ok(with_login_cookie(
                page(
                    status,
                    login_page(&next, Some(&refused.message_zh()), &f.login, &t.token),
                ),
                &t,
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    user.check_form(&f.csrf)?;
    let cookie = sign_out(&state, &user).await?;
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------
