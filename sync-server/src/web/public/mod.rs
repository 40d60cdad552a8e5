//! The resident's pages: `GET/POST /d/{village}` (the declaration form behind the village's QR
//! code), its receipt, and `GET/POST /s` (status by receipt number and phone, and the appeal).
//!
//! No account, no JavaScript needed (a plain HTML form posts and the server answers with the
//! next page), everything typed is sent back into the form when something is wrong, and every
//! problem is written beside its field. Limits: anti-forgery tokens on every form, rate limits
//! per address and per phone (HTTP 429 with a page that says so), a small body limit.

pub mod layout;

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::form::{
    self, DeclarationForm, FORM_DIFFICULTIES, PhoneRule, check_declaration, risk_key,
};
use yijian_core::regions::Regions;

use crate::AppState;
use crate::domain::apply::ApplySettings;
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self, AppealRefused, Declared, date_zh, village_name};
use crate::error::ApiError;
use crate::store::{read, write};
use crate::web::guard::{self, COOKIE};
use crate::web::public::layout::{field, receipt_markup, resident_message, resident_page};

/// Largest form body accepted (the form is a few hundred bytes; the description at most 300
/// characters).
const MAX_FORM_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/d/{village}", get(form_page).post(submit))
        .route("/d/{village}/receipt/{receipt}", get(receipt_page))
        .route("/s", get(status_form).post(status))
        .route("/s/appeal", axum::routing::post(appeal))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

fn html(status: StatusCode, page: Markup) -> Response {
    let mut r = (status, Html(page.into_string())).into_response();
    // The pages change with every request (tokens, progress): never cache them.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn with_cookie(mut r: Response, nonce: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&guard::set_cookie(nonce)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// A known Gansu village, or why not.
fn village_of(code: &str) -> Result<DivisionCode, Box<Response>> {
    let unknown = || {
        html(
            StatusCode::NOT_FOUND,
            resident_message(
                "找不到这个村",
                &format!(
                    "二维码里的村代码“{code}”不正确或已停用，无法在线申报。请联系村委会或乡镇，也可以直接找村网格员申报。"
                ),
                None,
            ),
        )
    };
    match DivisionCode::parse(code) {
        Ok(c) if c.level() == Level::Village && Regions::gansu().get(&c).is_some() => Ok(c),
        _ => Err(Box::new(unknown())),
    }
}

// ---------------------------------------------------------------------------------------------
// The declaration form
// ---------------------------------------------------------------------------------------------

/// What the form shows: values typed so far, problems per field, a banner.
struct FormView<'a> {
    village: &'a DivisionCode,
    values: &'a DeclarationForm,
    consent: bool,
    errors: &'a BTreeMap<&'static str, String>,
    banner: Option<&'a str>,
    token: &'a str,
}

/// The element a field's error links to.
fn field_anchor(field: &str) -> &str {
    match field {
        form::fields::RISK_TYPES => "risk-label",
        other => other,
    }
}

/// A field's name as its label says it.
fn field_label(field: &str) -> &'static str {
    match field {
        form::fields::NAME => "姓名",
        form::fields::PHONE => "手机号",
        form::fields::ID_NUMBER => "身份证号",
        form::fields::ADDRESS => "详细地址",
        form::fields::HOUSEHOLD_SIZE => "家庭人口数",
        form::fields::RISK_TYPES => "困难类型",
        form::fields::DESCRIPTION => "简单说明",
        form::fields::CONSENT => "同意上门核实",
        _ => "填写内容",
    }
}

fn declaration_form(v: &FormView<'_>) -> Markup {
    let e = |f: &str| v.errors.get(f).map(String::as_str);
    let described = |f: &str| v.errors.contains_key(f).then(|| format!("err-{f}"));
    let place = village_name(v.village);
    let body = html! {
        @if let Some(b) = v.banner { p.alert role="alert" { (b) } }
        @if !v.errors.is_empty() {
            div.alert role="alert" id="error-summary" {
                p style="margin:0 0 6px" { "有" (v.errors.len()) "处需要修改，您填写的内容都还在：" }
                ul style="margin:0;padding-left:1.2em" {
                    @for (f, msg) in v.errors.iter() {
                        li { a href={"#" (field_anchor(f))} { (field_label(f)) } "：" (msg) }
                    }
                }
            }
        }
        form method="post" action={"/d/" (v.village)} novalidate {
            input type="hidden" name="t" value=(v.token);
            div.card {
                h2 { "申请人" }
                (field(form::fields::NAME, "姓名", None, e(form::fields::NAME), html! {
                    input type="text" id="applicant_name" name="applicant_name" value=(v.values.applicant_name)
                        maxlength="30" autocomplete="name" aria-describedby=[described(form::fields::NAME)];
                }))
                (field(form::fields::PHONE, "手机号", Some("用于接收回执短信和查询进度"), e(form::fields::PHONE), html! {
                    input type="tel" id="phone" name="phone" value=(v.values.phone) maxlength="20"
                        inputmode="tel" autocomplete="tel" aria-describedby=[described(form::fields::PHONE)];
                }))
                (field(form::fields::ID_NUMBER, "身份证号", Some("18位，最后一位可以是X"), e(form::fields::ID_NUMBER), html! {
                    input type="text" id="id_number" name="id_number" value=(v.values.id_number) maxlength="24"
                        autocomplete="off" autocapitalize="characters" aria-describedby=[described(form::fields::ID_NUMBER)];
                }))
            }
            div.card {
                h2 { "家庭住址" }
                p { "所在村：" strong { (place) } }
                input type="hidden" name="village" value=(v.village);
                (field(form::fields::ADDRESS, "详细地址", Some("如：3社12号"), e(form::fields::ADDRESS), html! {
                    input type="text" id="address" name="address" value=(v.values.address) maxlength="100"
                        aria-describedby=[described(form::fields::ADDRESS)];
                }))
                (field(form::fields::HOUSEHOLD_SIZE, "家庭人口数", Some("一起生活的人数"), e(form::fields::HOUSEHOLD_SIZE), html! {
                    input type="number" id="household_size" name="household_size" value=(v.values.household_size)
                        min="1" max="30" inputmode="numeric" aria-describedby=[described(form::fields::HOUSEHOLD_SIZE)];
                }))
            }
            div.card {
                h2 { "困难情况" }
                div.field.bad[e(form::fields::RISK_TYPES).is_some()] data-field=(form::fields::RISK_TYPES) {
                    span id="risk-label" style="display:block;font-weight:700;margin:0 0 6px" { "困难类型（可多选）" }
                    div.choices role="group" aria-labelledby="risk-label" {
                        @for r in FORM_DIFFICULTIES {
                            @let key = risk_key(r);
                            label {
                                input type="checkbox" name="risk_types" value=(key)
                                    checked[v.values.risk_types.contains(&key)];
                                (r.name_zh())
                            }
                        }
                    }
                    @if let Some(msg) = e(form::fields::RISK_TYPES) { span.err id="err-risk_types" role="alert" { (msg) } }
                }
                (field(form::fields::DESCRIPTION, "简单说明", Some("最多300字，可以不填"), e(form::fields::DESCRIPTION), html! {
                    textarea id="description" name="description" maxlength="300"
                        aria-describedby=[described(form::fields::DESCRIPTION)] { (v.values.description) }
                }))
            }
            div.card {
                div.field.bad[e(form::fields::CONSENT).is_some()] data-field=(form::fields::CONSENT) {
                    label.consent {
                        input type="checkbox" id="consent" name="consent" value="1" checked[v.consent];
                        span { "我同意村网格员上门核实家庭情况。核实时请准备好户口本、身份证，并在《承诺授权书》上签字按手印。" }
                    }
                    @if let Some(msg) = e(form::fields::CONSENT) { span.err id="err-consent" role="alert" { (msg) } }
                }
                button type="submit" id="submit" { "提交申报" }
            }
        }
        p.muted { "已经申报过？" a href="/s" { "查询办理进度" } }
    };
    resident_page(
        "困难群众一键申报",
        Some(&format!("{place} · 填好后点最下面的“提交申报”")),
        body,
    )
}

async fn form_page(
    State(state): State<AppState>,
    Path(village): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let village = match village_of(&village) {
        Ok(v) => v,
        Err(page) => return Ok(*page),
    };
    let key = guard::form_key(&state).await?;
    let t = guard::issue(
        &key,
        &format!("declare:{village}"),
        guard::cookie(&headers, COOKIE),
        Utc::now(),
    );
    let values = DeclarationForm {
        village: village.to_string(),
        ..DeclarationForm::default()
    };
    let page = declaration_form(&FormView {
        village: &village,
        values: &values,
        consent: false,
        errors: &BTreeMap::new(),
        banner: None,
        token: &t.token,
    });
    Ok(with_cookie(html(StatusCode::OK, page), &t.cookie))
}

/// The posted form's fields (repeated `risk_types`).
fn posted(pairs: Vec<(String, String)>) -> (DeclarationForm, bool, String) {
    let mut f = DeclarationForm::default();
    let (mut consent, mut token) = (false, String::new());
    // Cap every value: what is kept and shown again is bounded whatever is posted.
    let cap = |v: String, n: usize| v.chars().take(n).collect::<String>();
    for (k, v) in pairs {
        match k.as_str() {
            "applicant_name" => f.applicant_name = cap(v, 60),
            "id_number" => f.id_number = cap(v, 40),
            "phone" => f.phone = cap(v, 40),
            "village" => f.village = cap(v, 20),
            "address" => f.address = cap(v, 200),
            "household_size" => f.household_size = cap(v, 10),
            "risk_types" if f.risk_types.len() < 20 => f.risk_types.push(cap(v, 40)),
            "description" => f.description = cap(v, 1000),
            "consent" => consent = v == "1",
            "t" => token = cap(v, 200),
            _ => {}
        }
    }
    (f, consent, token)
}

async fn submit(
    State(state): State<AppState>,
    Path(village): Path<String>,
    headers: HeaderMap,
    connect: guard::Peer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let village = match village_of(&village) {
        Ok(v) => v,
        Err(page) => return Ok(*page),
    };
    let now = Utc::now();
    let key = guard::form_key(&state).await?;
    let purpose = format!("declare:{village}");
    let cookie = guard::cookie(&headers, COOKIE);
    let (mut values, consent, token) = posted(pairs);
    // The village comes from the address, never from the form.
    values.village = village.to_string();
    let fresh = guard::issue(&key, &purpose, cookie, now);
    let show =
        |status: StatusCode, errors: &BTreeMap<&'static str, String>, banner: Option<&str>| {
            with_cookie(
                html(
                    status,
                    declaration_form(&FormView {
                        village: &village,
                        values: &values,
                        consent,
                        errors,
                        banner,
                        token: &fresh.token,
                    }),
                ),
                &fresh.cookie,
            )
        };
    if !guard::verify(&key, &purpose, &token, cookie, now) {
        tracing::info!("declaration with a missing or stale form token");
        return Ok(show(
            StatusCode::FORBIDDEN,
            &BTreeMap::new(),
            Some(
                "页面停留太久已过期（或浏览器禁用了Cookie）。您填写的内容都还在，请再点一次“提交申报”。",
            ),
        ));
    }
    let today = yijian_core::time::china_date(now);
    let mut errors: BTreeMap<&'static str, String> = BTreeMap::new();
    let checked = match check_declaration(&values, today, PhoneRule::Required, |_| true) {
        Ok(c) => Some(c),
        Err(problems) => {
            for pr in problems {
                errors.entry(pr.field).or_insert(pr.message_zh);
            }
            None
        }
    };
    if !consent {
        errors.insert(
            form::fields::CONSENT,
            "请勾选同意上门核实，否则无法受理".to_owned(),
        );
    }
    let Some(checked) = checked.filter(|_| errors.is_empty()) else {
        return Ok(show(StatusCode::UNPROCESSABLE_ENTITY, &errors, None));
    };
    // Limits count only complete forms: a resident correcting mistakes is never locked out,
    // and a form that fails its checks writes nothing anyway. Many households can share one
    // address (a carrier's NAT, the village committee's Wi-Fi at a meeting), hence the per-IP
    // figure is generous and the per-phone one strict. The counts, the calendar and the
    // declaration are one transaction: one write per submission.
    let p = state.settings.public.clone();
    let ip = guard::client_ip(&headers, connect, p.trust_forwarded_for);
    let phone = checked
        .phone
        .as_ref()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let ip_key = format!("declare-ip:{ip}");
    let phone_key = format!("declare-phone:{phone}");
    let outcome = write(&*state.storage, move |tx| {
        if tx.hit(&ip_key, guard::window_start(now, 3600))? > p.declarations_per_ip_per_hour {
            return Ok(Submitted::Limited(Limit::Address));
        }
        if tx.hit(&phone_key, guard::window_start(now, 86_400))? > p.declarations_per_phone_per_day
        {
            return Ok(Submitted::Limited(Limit::Phone));
        }
        let procedure = Procedure::load(tx)?;
        let settings = ApplySettings::with(now, &procedure);
        Ok(Submitted::Done(resident::declare(tx, &checked, &settings)?))
    })
    .await?;
    let outcome = match outcome {
        Submitted::Done(d) => d,
        Submitted::Limited(Limit::Address) => {
            return Ok(show(
                StatusCode::TOO_MANY_REQUESTS,
                &BTreeMap::new(),
                Some(
                    "这台设备提交得太频繁了，请一小时后再试。您填写的内容都还在；急事请直接联系村网格员。",
                ),
            ));
        }
        Submitted::Limited(Limit::Phone) => {
            return Ok(show(
                StatusCode::TOO_MANY_REQUESTS,
                &BTreeMap::new(),
                Some("这个手机号今天已经提交过多次，请明天再试，或直接联系村网格员。"),
            ));
        }
    };
    let (receipt, dup) = match outcome {
        Declared::New { receipt_no, .. } => (receipt_no, false),
        Declared::Existing { receipt_no, .. } => (receipt_no, true),
    };
    let sig = guard::link_sig(&key, &receipt);
    let to = format!(
        "/d/{village}/receipt/{receipt}?s={sig}{}",
        if dup { "&dup=1" } else { "" }
    );
    Ok(Redirect::to(&to).into_response())
}

/// Which limit stopped a submission.
enum Limit {
    Address,
    Phone,
}

/// What the submission's transaction did.
enum Submitted {
    Limited(Limit),
    Done(Declared),
}

#[derive(Debug, Deserialize)]
struct ReceiptQuery {
    s: Option<String>,
    dup: Option<String>,
}

async fn receipt_page(
    State(state): State<AppState>,
    Path((village, receipt)): Path<(String, String)>,
    Query(q): Query<ReceiptQuery>,
) -> Result<Response, ApiError> {
    let village = match village_of(&village) {
        Ok(v) => v,
        Err(page) => return Ok(*page),
    };
    let key = guard::form_key(&state).await?;
    if q.s.as_deref() != Some(guard::link_sig(&key, &receipt).as_str()) {
        return Ok(html(
            StatusCode::NOT_FOUND,
            resident_message(
                "找不到这张回执",
                "链接不完整或已失效。可以凭回执号和手机尾号查询办理进度。",
                Some(("/s", "查询办理进度")),
            ),
        ));
    }
    let procedure = Procedure::current(&*state.storage).await?;
    let days = procedure.rules.home_verification.amount;
    let dup = q.dup.is_some();
    let place = village_name(&village);
    // A second declaration of the same person may come from another phone: the receipt was
    // texted to the first one, and the lookup needs that phone's last digits.
    let r = receipt.clone();
    let first_phone = read(&*state.storage, move |tx| tx.case_by_receipt(&r))
        .await?
        .and_then(|row| row.phone)
        .filter(|p| p.len() >= 4);
    let tail = first_phone.as_deref().map(|p| &p[p.len() - 4..]);
    let body = html! {
        div.card {
            @if dup {
                p.notice role="status" { "您已经申报过，这件事正在办理中，不用重复申报。您的回执号是：" }
            } @else {
                p.notice.ok role="status" { "✓ 申报已提交成功。您的回执号是：" }
            }
            p.receipt id="receipt-no" { (receipt_markup(&receipt)) }
            @match (dup, tail) {
                (true, Some(t)) => p id="receipt-phone" { "回执短信在第一次申报时已发到尾号" strong { (t) } "的手机上。查询进度时，请输入回执号和" strong { "尾号" (t) } "。" },
                _ => p { "请把回执号记下来，或者截图保存。回执号也会用短信发到您的手机上。" },
            }
        }
        div.card {
            h2 { "接下来" }
            ol.steps {
                li { (place) "的网格员会在" strong { (days) "个工作日内" } "上门核实情况。" }
                li { "上门时请准备户口本、身份证，在《承诺授权书》上签字按手印。" }
                li { "核实后由村里评议、乡镇复核、县里审批，每一步都有办理时限。" }
            }
        }
        a.button href="/s" { "查询办理进度" }
    };
    Ok(html(
        StatusCode::OK,
        resident_page("申报回执", Some(&place), body),
    ))
}

// ---------------------------------------------------------------------------------------------
// Status and appeal
// ---------------------------------------------------------------------------------------------

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

async fn status_form(
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
struct StatusForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    last4: String,
}

async fn status(
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
struct AppealForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    last4: String,
    #[serde(default)]
    reason: String,
}

async fn appeal(
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
