//! `GET/POST /s`: a case's status by receipt number and the phone's last four digits, and the
//! appeal after a refusal.

use crate::AppState;
use crate::domain::apply::ApplySettings;
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self, AppealRefused, date_zh};
use crate::error::ApiError;
use crate::store::{read, write};
use crate::web::guard::{self, COOKIE};
use crate::web::public::layout::{field, receipt_markup, resident_page};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::*;

fn status_form_page(token: &str, receipt: &str, last4: &str, banner: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(b) = banner { p.alert role="alert" { (b) } }
        form.card method="post" action="/s" novalidate {
            input type="hidden" name="t" value=(token);
            (field("receipt", "回执号", Some("如：621102-105-201-0007"), None, html! {
                input type="text" id="receipt" name="receipt" value=(receipt) maxlength="40" autocomplete="off";
            }))
            (field("last4", "申报时所留手机号的后4位", None, None, html! {
                input type="tel" id="last4" name="last4" value=(last4) maxlength="4" inputmode="numeric" autocomplete="off";
            }))
            button type="submit" id="lookup" { "查询" }
        }
    };
    resident_page("查询办理进度", Some("凭回执号和手机尾号查询"), body)
}

pub(crate) async fn status_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = guard::form_key(&state).await?;
    let t = guard::issue(&key, "status", guard::cookie(&headers, COOKIE), Utc::now());
    Ok(with_cookie(
        html(StatusCode::OK, status_form_page(&t.token, "", "", None)),
        &t.cookie,
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    last4: String,
}

pub(super) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    connect: guard::Peer,
    Form(f): Form<StatusForm>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let key = guard::form_key(&state).await?;
    let cookie = guard::cookie(&headers, COOKIE);
    let fresh = guard::issue(&key, "status", cookie, now);
    let receipt: String = f.receipt.trim().chars().take(40).collect();
    let last4: String = f.last4.trim().chars().take(4).collect();
    let again = |status: StatusCode, banner: &str| {
        with_cookie(
            html(
                status,
                status_form_page(&fresh.token, &receipt, &last4, Some(banner)),
            ),
            &fresh.cookie,
        )
    };
    if !guard::verify(&key, "status", &f.t, cookie, now) {
        return Ok(again(
            StatusCode::FORBIDDEN,
            "页面已过期，请再点一次“查询”。",
        ));
    }
    let ip = guard::client_ip(&headers, connect, state.settings.public.trust_forwarded_for);
    let limit = state.settings.public.lookups_per_ip_per_hour;
    if !guard::allow(&state, &format!("lookup-ip:{ip}"), 3600, limit, now).await?
        || !guard::allow(
            &state,
            &format!("lookup-receipt:{receipt}"),
            86_400,
            20,
            now,
        )
        .await?
    {
        return Ok(again(
            StatusCode::TOO_MANY_REQUESTS,
            "查询太频繁，请稍后再试。",
        ));
    }
    let procedure = Procedure::current(&*state.storage).await?;
    let settings = ApplySettings::with(now, &procedure);
    let (r, l) = (receipt.clone(), last4.clone());
    let found = read(&*state.storage, move |tx| {
        resident::lookup(tx, &r, &l, &settings)
    })
    .await?;
    let Ok((status, _)) = found else {
        return Ok(again(
            StatusCode::NOT_FOUND,
            "没有查到：请核对回执号和手机号后4位（是申报时填写的手机号）。",
        ));
    };
    let appeal_token = guard::issue(&key, "appeal", cookie, now);
    Ok(with_cookie(
        html(
            StatusCode::OK,
            status_page(&status, &appeal_token.token, &last4, None, ""),
        ),
        &appeal_token.cookie,
    ))
}

/// A line at the top of the status page after an appeal: done (green) or refused (red).
struct Banner {
    ok: bool,
    text: String,
}

fn status_page(
    s: &resident::CaseStatus,
    token: &str,
    last4: &str,
    banner: Option<&Banner>,
    reason_typed: &str,
) -> Markup {
    let body = html! {
        @if let Some(b) = banner {
            @if b.ok { p.notice.ok role="status" id="banner" { (b.text) } }
            @else { p.alert role="alert" id="banner" { (b.text) } }
        }
        div.card {
            p.muted { span.nw { "回执号 " (receipt_markup(&s.receipt_no)) } " · " span.nw { (s.applicant_masked) } " · " span.nw { (s.village_name) } }
            h2 id="stage" { (s.stage_zh) }
            @if let Some(next) = &s.next_zh { p id="next" { (next) } }
        }
        @if let Some(reason) = &s.rejection_reason {
            div.card {
                h2 { "原因" }
                p id="reason" { (reason) }
            }
        }
        div.card {
            h2 { "已办理" }
            ul.done id="done" {
                @for line in &s.done {
                    li { (date_zh(line.on)) "　" (line.text_zh) }
                }
            }
        }
        @if s.may_appeal {
            form.card method="post" action="/s/appeal" id="appeal-form" {
                h2 { "对结果有异议？可以申诉" }
                p { "申诉由" (s.appeal_to_zh.as_deref().unwrap_or("上一级")) "办理，办理后会有干部上门向您说明结果。" }
                input type="hidden" name="t" value=(token);
                input type="hidden" name="receipt" value=(s.receipt_no);
                input type="hidden" name="last4" value=(last4);
                (field("reason", "申诉理由", Some("请写清楚哪里不对，最多500字"), None, html! {
                    textarea id="appeal-reason" name="reason" maxlength="500" { (reason_typed) }
                }))
                button type="submit" id="appeal-submit" { "提交申诉" }
            }
        }
        a.button.secondary href="/s" { "查询其他回执" }
    };
    resident_page("办理进度", None, body)
}

#[derive(Debug, Deserialize)]
pub(super) struct AppealForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    last4: String,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn appeal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<AppealForm>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let key = guard::form_key(&state).await?;
    let cookie = guard::cookie(&headers, COOKIE);
    let fresh = guard::issue(&key, "status", cookie, now);
    let receipt: String = f.receipt.trim().chars().take(40).collect();
    let last4: String = f.last4.trim().chars().take(4).collect();
    if !guard::verify(&key, "appeal", &f.t, cookie, now) {
        return Ok(with_cookie(
            html(
                StatusCode::FORBIDDEN,
                status_form_page(
                    &fresh.token,
                    &receipt,
                    &last4,
                    Some("页面已过期，请重新查询后再提交申诉。"),
                ),
            ),
            &fresh.cookie,
        ));
    }
    let reason: String = f.reason.chars().take(600).collect();
    if reason.trim().is_empty() {
        return Ok(with_cookie(
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                status_form_page(
                    &fresh.token,
                    &receipt,
                    &last4,
                    Some("请写明申诉理由后再提交。"),
                ),
            ),
            &fresh.cookie,
        ));
    }
    let procedure = Procedure::current(&*state.storage).await?;
    let settings = ApplySettings::with(now, &procedure);
    let (r, l, why, s2) = (
        receipt.clone(),
        last4.clone(),
        reason.clone(),
        settings.clone(),
    );
    let outcome = write(&*state.storage, move |tx| {
        resident::appeal(tx, &r, &l, &why, &s2)
    })
    .await?;
    let banner = match outcome {
        Ok(level) => Banner {
            ok: true,
            text: format!("✓ 申诉已提交，由{level}办理。办理后会有干部上门向您说明结果。"),
        },
        Err(AppealRefused::NotFound) => {
            return Ok(with_cookie(
                html(
                    StatusCode::NOT_FOUND,
                    status_form_page(
                        &fresh.token,
                        &receipt,
                        &last4,
                        Some("没有查到这个回执号，或手机尾号不对。"),
                    ),
                ),
                &fresh.cookie,
            ));
        }
        Err(e) => Banner {
            ok: false,
            text: format!("申诉没有提交：{e}。您写的理由还在下面。"),
        },
    };
    let kept = if banner.ok {
        String::new()
    } else {
        reason.clone()
    };
    let (r, l) = (receipt.clone(), last4.clone());
    let found = read(&*state.storage, move |tx| {
        resident::lookup(tx, &r, &l, &settings)
    })
    .await?;
    let Ok((status, _)) = found else {
        return Err(ApiError::NotFound);
    };
    let t = guard::issue(&key, "appeal", cookie, now);
    Ok(with_cookie(
        html(
            if banner.ok {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            status_page(&status, &t.token, &last4, Some(&banner), &kept),
        ),
        &t.cookie,
    ))
}
