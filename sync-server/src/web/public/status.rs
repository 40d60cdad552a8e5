//! `GET/POST /s`: a case's status by receipt number and the phone's last four digits, and the
//! appeal after a refusal.

use crate::AppState;
use crate::domain::apply::ApplySettings;
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self, AppealRefused, date_zh};
use crate::error::ApiError;
use crate::store::{read, write};
use crate::web::guard::{self, COOKIE};
use crate::web::public::i18n::{self, Lang, LangQuery};
use crate::web::public::layout::{Switch, field, receipt_markup, resident_page};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::*;

fn status_form_page(
    l: Lang,
    token: &str,
    receipt: &str,
    last4: &str,
    banner: Option<&str>,
) -> Markup {
    let body = html! {
        @if let Some(b) = banner { p.alert role="alert" { (l.t(b)) } }
        form.card id="lookup-form" method="post" action="/s" novalidate {
            input type="hidden" name="t" value=(token);
            (field(l, "receipt", "回执号", Some("如：621102-105-201-0007"), None, html! {
                input type="text" id="receipt" name="receipt" value=(receipt) maxlength="40" autocomplete="off";
            }))
            (field(l, "last4", "申报时所留手机号的后4位", None, None, html! {
                input type="tel" id="last4" name="last4" value=(last4) maxlength="4" inputmode="numeric" autocomplete="off";
            }))
            button type="submit" id="lookup" { (l.t("查询")) }
        }
    };
    resident_page(
        l,
        "查询办理进度",
        Some(l.t("凭回执号和手机尾号查询")),
        Switch::FormButton("lookup-form"),
        body,
    )
}

pub(crate) async fn status_form(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked = q.asked();
    let l = i18n::choose(asked, &headers, None);
    let key = guard::form_key(&state).await?;
    let t = guard::issue(&key, "status", guard::cookie(&headers, COOKIE), Utc::now());
    Ok(i18n::remember(
        with_cookie(
            html(StatusCode::OK, status_form_page(l, &t.token, "", "", None)),
            &t.cookie,
        ),
        asked,
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
    /// The language switch: show the lookup form again, as typed, in this language.
    #[serde(default)]
    lang: Option<String>,
}

/// Wrong receipt-and-digits pairs an address may send in a day before lookups from it stop
/// until the next day. The limit is on the guessing address, never on the receipt, so nobody
/// can lock a resident out of their own case.
pub const LOOKUP_MISSES_PER_IP_PER_DAY: u32 = 10;

/// What every failed lookup or appeal says: not found, wrong digits, a case that cannot be
/// appealed and a stale or foreign form all read alike, so guessing learns nothing.
const NOT_FOUND_ZH: &str = "没有查到：请核对回执号和手机号后4位（是申报时填写的手机号）。如果是提交申诉，请重新查询后再提交。";

/// The anti-forgery purpose of an appeal form: bound to the receipt whose status page issued
/// it, so a form obtained for one's own case cannot appeal another.
fn appeal_purpose(receipt: &str) -> String {
    format!("appeal:{}", receipt.trim())
}

/// Whether a lookup from `ip` may proceed: within the hourly budget of lookups (each counted)
/// and not over the day's wrong guesses.
async fn lookup_allowed(
    state: &AppState,
    ip: &str,
    now: chrono::DateTime<Utc>,
) -> Result<bool, ApiError> {
    let limit = state.settings.public.lookups_per_ip_per_hour;
    Ok(
        guard::allow(state, &format!("lookup-ip:{ip}"), 3600, limit, now).await?
            && guard::within(
                state,
                &format!("lookup-miss:{ip}"),
                86_400,
                LOOKUP_MISSES_PER_IP_PER_DAY,
                now,
            )
            .await?,
    )
}

/// Count a wrong guess from `ip`.
async fn count_miss(
    state: &AppState,
    ip: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), ApiError> {
    guard::allow(
        state,
        &format!("lookup-miss:{ip}"),
        86_400,
        LOOKUP_MISSES_PER_IP_PER_DAY,
        now,
    )
    .await?;
    Ok(())
}

const TOO_MANY_ZH: &str = "查询太频繁或查错的次数太多，请明天再试，或直接联系村网格员。";

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
    let switch = f.lang.as_deref().and_then(Lang::parse);
    let l = i18n::choose(switch, &headers, None);
    if switch.is_some() {
        // Nothing is looked up: the form comes back in the other language, as typed.
        return Ok(i18n::remember(
            with_cookie(
                html(
                    StatusCode::OK,
                    status_form_page(l, &fresh.token, &receipt, &last4, None),
                ),
                &fresh.cookie,
            ),
            switch,
        ));
    }
    let again = |status: StatusCode, banner: &str| {
        with_cookie(
            html(
                status,
                status_form_page(l, &fresh.token, &receipt, &last4, Some(banner)),
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
    if !lookup_allowed(&state, &ip, now).await? {
        return Ok(again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ZH));
    }
    let procedure = Procedure::current(&*state.storage).await?;
    let settings = ApplySettings::with(now, &procedure);
    let (r, l) = (receipt.clone(), last4.clone());
    let found = read(&*state.storage, move |tx| {
        resident::lookup(tx, &r, &l, &settings)
    })
    .await?;
    let Ok((status, _)) = found else {
        count_miss(&state, &ip, now).await?;
        return Ok(again(StatusCode::NOT_FOUND, NOT_FOUND_ZH));
    };
    let appeal_token = guard::issue(&key, &appeal_purpose(&status.receipt_no), cookie, now);
    let l = i18n::choose(None, &headers, status.village.as_ref());
    Ok(with_cookie(
        html(
            StatusCode::OK,
            status_page(l, &status, &appeal_token.token, &last4, None, ""),
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
    l: Lang,
    s: &resident::CaseStatus,
    token: &str,
    last4: &str,
    banner: Option<&Banner>,
    reason_typed: &str,
) -> Markup {
    let body = html! {
        @if let Some(b) = banner {
            @if b.ok { p.notice.ok role="status" id="banner" { (l.t(&b.text)) } }
            @else { p.alert role="alert" id="banner" { (l.t(&b.text)) } }
        }
        div.card {
            p.muted { (l.t("回执号")) " " span.nw { (receipt_markup(&s.receipt_no)) } " · " span.nw translate="no" { (s.applicant_masked) } " · " span.nw translate="no" { (s.village_name) } }
            h2 id="stage" { (l.t(&s.stage_zh)) }
            @if let Some(next) = &s.next_zh { p id="next" { (l.t(next)) } }
        }
        @if let Some(reason) = &s.rejection_reason {
            div.card {
                h2 { (l.t("原因")) }
                p id="reason" translate="no" { (reason) }
            }
        }
        div.card {
            h2 { (l.t("已办理")) }
            ul.done id="done" {
                @for line in &s.done {
                    li { (l.t(&date_zh(line.on))) "　" (l.t(&line.text_zh)) }
                }
            }
        }
        @if s.may_appeal {
            form.card method="post" action="/s/appeal" id="appeal-form" {
                h2 { (l.t("对结果有异议？可以申诉")) }
                p { (l.f("申诉由{level}办理，办理后会有干部上门向您说明结果。", &[("level", s.appeal_to_zh.as_deref().unwrap_or("上一级"))])) }
                input type="hidden" name="t" value=(token);
                input type="hidden" name="receipt" value=(s.receipt_no);
                input type="hidden" name="last4" value=(last4);
                (field(l, "reason", "申诉理由", Some("请写清楚哪里不对，最多500字"), None, html! {
                    textarea id="appeal-reason" name="reason" maxlength="500" { (reason_typed) }
                }))
                button type="submit" id="appeal-submit" { (l.t("提交申诉")) }
            }
        }
        a.button.secondary href="/s" { (l.t("查询其他回执")) }
    };
    resident_page(
        l,
        "办理进度",
        None,
        Switch::Post {
            action: "/s",
            fields: vec![("receipt", s.receipt_no.as_str()), ("last4", last4)],
        },
        body,
    )
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
    connect: guard::Peer,
    Form(f): Form<AppealForm>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let key = guard::form_key(&state).await?;
    let cookie = guard::cookie(&headers, COOKIE);
    let fresh = guard::issue(&key, "status", cookie, now);
    let receipt: String = f.receipt.trim().chars().take(40).collect();
    let last4: String = f.last4.trim().chars().take(4).collect();
    let l = i18n::choose(None, &headers, None);
    let refused = |status: StatusCode, banner: &str| {
        with_cookie(
            html(
                status,
                status_form_page(l, &fresh.token, &receipt, &last4, Some(banner)),
            ),
            &fresh.cookie,
        )
    };
    let ip = guard::client_ip(&headers, connect, state.settings.public.trust_forwarded_for);
    // The same budget as the status lookup: an appeal is a lookup too.
    if !lookup_allowed(&state, &ip, now).await? {
        return Ok(refused(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ZH));
    }
    if !guard::verify(&key, &appeal_purpose(&receipt), &f.t, cookie, now) {
        count_miss(&state, &ip, now).await?;
        return Ok(refused(StatusCode::NOT_FOUND, NOT_FOUND_ZH));
    }
    let reason: String = f.reason.chars().take(600).collect();
    if reason.trim().is_empty() {
        return Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "请写明申诉理由后再提交。",
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
        Err(AppealRefused::Invalid(why)) => Banner {
            ok: false,
            text: format!("申诉没有提交：{why}。您写的理由还在下面。"),
        },
        Err(AppealRefused::NotFound | AppealRefused::Workflow(_)) => {
            count_miss(&state, &ip, now).await?;
            return Ok(refused(StatusCode::NOT_FOUND, NOT_FOUND_ZH));
        }
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
        return Ok(refused(StatusCode::NOT_FOUND, NOT_FOUND_ZH));
    };
    let t = guard::issue(&key, &appeal_purpose(&status.receipt_no), cookie, now);
    let l = i18n::choose(None, &headers, status.village.as_ref());
    Ok(with_cookie(
        html(
            if banner.ok {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            status_page(l, &status, &t.token, &last4, Some(&banner), &kept),
        ),
        &t.cookie,
    ))
}
