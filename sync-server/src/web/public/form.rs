//! `GET/POST /d/{village}`: the declaration form behind the village's QR code, and its receipt.

use crate::AppState;
use crate::domain::apply::ApplySettings;
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self, Declared, village_name};
use crate::error::ApiError;
use crate::store::write;
use crate::web::guard::{self, COOKIE};
use crate::web::public::i18n::{self, Lang, LangQuery};
use crate::web::public::layout::{Switch, field, receipt_markup, resident_message, resident_page};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use yijian_core::division::DivisionCode;
use yijian_core::form::{
    self, DeclarationForm, FORM_DIFFICULTIES, PhoneRule, check_declaration, risk_key,
};

use super::*;

/// What the form shows: values typed so far, problems per field, a banner.
struct FormView<'a> {
    lang: Lang,
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
    let l = v.lang;
    let e = |f: &str| v.errors.get(f).map(String::as_str);
    let described = |f: &str| v.errors.contains_key(f).then(|| format!("err-{f}"));
    let place = village_name(v.village);
    let body = html! {
        @if let Some(b) = v.banner { p.alert role="alert" { (l.t(b)) } }
        @if !v.errors.is_empty() {
            div.alert role="alert" id="error-summary" {
                p style="margin:0 0 6px" { (l.f("有{n}处需要修改，您填写的内容都还在：", &[("n", &v.errors.len().to_string())])) }
                ul style="margin:0;padding-left:1.2em" {
                    @for (f, msg) in v.errors.iter() {
                        li { a href={"#" (field_anchor(f))} { (l.t(field_label(f))) } "：" (l.t(msg)) }
                    }
                }
            }
        }
        form id="declaration" method="post" action={"/d/" (v.village)} novalidate {
            input type="hidden" name="t" value=(v.token);
            div.card {
                h2 { (l.t("申请人")) }
                (field(l, form::fields::NAME, "姓名", None, e(form::fields::NAME), html! {
                    input type="text" id="applicant_name" name="applicant_name" value=(v.values.applicant_name)
                        maxlength="30" autocomplete="name" aria-describedby=[described(form::fields::NAME)];
                }))
                (field(l, form::fields::PHONE, "手机号", Some("用于接收回执短信和查询进度"), e(form::fields::PHONE), html! {
                    input type="tel" id="phone" name="phone" value=(v.values.phone) maxlength="20"
                        inputmode="tel" autocomplete="tel" aria-describedby=[described(form::fields::PHONE)];
                }))
                (field(l, form::fields::ID_NUMBER, "身份证号", Some("18位，最后一位可以是X"), e(form::fields::ID_NUMBER), html! {
                    input type="text" id="id_number" name="id_number" value=(v.values.id_number) maxlength="24"
                        autocomplete="off" autocapitalize="characters" aria-describedby=[described(form::fields::ID_NUMBER)];
                }))
            }
            div.card {
                h2 { (l.t("家庭住址")) }
                p { (l.t("所在村：")) " " strong translate="no" { (place) } }
                input type="hidden" name="village" value=(v.village);
                (field(l, form::fields::ADDRESS, "详细地址", Some("如：3社12号"), e(form::fields::ADDRESS), html! {
                    input type="text" id="address" name="address" value=(v.values.address) maxlength="100"
                        aria-describedby=[described(form::fields::ADDRESS)];
                }))
                (field(l, form::fields::HOUSEHOLD_SIZE, "家庭人口数", Some("一起生活的人数"), e(form::fields::HOUSEHOLD_SIZE), html! {
                    input type="number" id="household_size" name="household_size" value=(v.values.household_size)
                        min="1" max="30" inputmode="numeric" aria-describedby=[described(form::fields::HOUSEHOLD_SIZE)];
                }))
            }
            div.card {
                h2 { (l.t("困难情况")) }
                div.field.bad[e(form::fields::RISK_TYPES).is_some()] data-field=(form::fields::RISK_TYPES) {
                    span id="risk-label" style="display:block;font-weight:700;margin:0 0 6px" { (l.t("困难类型（可多选）")) }
                    div.choices role="group" aria-labelledby="risk-label" {
                        @for r in FORM_DIFFICULTIES {
                            @let key = risk_key(r);
                            label {
                                input type="checkbox" name="risk_types" value=(key)
                                    checked[v.values.risk_types.contains(&key)];
                                (l.t(r.name_zh()))
                            }
                        }
                    }
                    @if let Some(msg) = e(form::fields::RISK_TYPES) { span.err id="err-risk_types" role="alert" { (l.t(msg)) } }
                }
                (field(l, form::fields::DESCRIPTION, "简单说明", Some("最多300字，可以不填"), e(form::fields::DESCRIPTION), html! {
                    textarea id="description" name="description" maxlength="300"
                        aria-describedby=[described(form::fields::DESCRIPTION)] { (v.values.description) }
                }))
            }
            div.card {
                div.field.bad[e(form::fields::CONSENT).is_some()] data-field=(form::fields::CONSENT) {
                    label.consent {
                        input type="checkbox" id="consent" name="consent" value="1" checked[v.consent];
                        span { (l.t("我同意村网格员上门核实家庭情况。核实时请准备好户口本、身份证，并在《承诺授权书》上签字按手印。")) }
                    }
                    @if let Some(msg) = e(form::fields::CONSENT) { span.err id="err-consent" role="alert" { (l.t(msg)) } }
                }
                button type="submit" id="submit" { (l.t("提交申报")) }
            }
        }
        p.muted { (l.t("已经申报过？")) " " a href="/s" { (l.t("查询办理进度")) } }
    };
    resident_page(
        l,
        "困难群众一键申报",
        Some(l.f("{place} · 填好后点最下面的“提交申报”", &[("place", &place)])),
        Switch::FormButton("declaration"),
        body,
    )
}

pub(crate) async fn form_page(
    State(state): State<AppState>,
    Path(village): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked = q.asked();
    let village = match village_of(&village, i18n::choose(asked, &headers, None)) {
        Ok(v) => v,
        Err(page) => return Ok(i18n::remember(*page, asked)),
    };
    let lang = i18n::choose(asked, &headers, Some(&village));
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
        lang,
        village: &village,
        values: &values,
        consent: false,
        errors: &BTreeMap::new(),
        banner: None,
        token: &t.token,
    });
    Ok(i18n::remember(
        with_cookie(html(StatusCode::OK, page), &t.cookie),
        asked,
    ))
}

/// The posted form's fields (repeated `risk_types`).
fn posted(pairs: Vec<(String, String)>) -> (DeclarationForm, bool, String, Option<Lang>) {
    let mut f = DeclarationForm::default();
    let (mut consent, mut token, mut switch) = (false, String::new(), None);
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
            "lang" => switch = Lang::parse(&v),
            _ => {}
        }
    }
    (f, consent, token, switch)
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    Path(village): Path<String>,
    headers: HeaderMap,
    connect: guard::Peer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let village = match village_of(&village, i18n::choose(None, &headers, None)) {
        Ok(v) => v,
        Err(page) => return Ok(*page),
    };
    let now = Utc::now();
    let key = guard::form_key(&state).await?;
    let purpose = format!("declare:{village}");
    let cookie = guard::cookie(&headers, COOKIE);
    let (mut values, consent, token, switch) = posted(pairs);
    let lang = i18n::choose(switch, &headers, Some(&village));
    // The village comes from the address, never from the form.
    values.village = village.to_string();
    let fresh = guard::issue(&key, &purpose, cookie, now);
    let show =
        |status: StatusCode, errors: &BTreeMap<&'static str, String>, banner: Option<&str>| {
            with_cookie(
                html(
                    status,
                    declaration_form(&FormView {
                        lang,
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
    // The language switch posts the form to show it again, as typed, in the other language:
    // nothing is checked or stored.
    if switch.is_some() {
        return Ok(i18n::remember(
            show(StatusCode::OK, &BTreeMap::new(), None),
            switch,
        ));
    }
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
    let receipt = match outcome {
        Declared::New { receipt_no, .. } => receipt_no,
        // Whoever typed the ID number may not be the applicant: the receipt goes to the phone
        // on file, never onto this page.
        Declared::Existing { resent, .. } => {
            let place = village_name(&village);
            let l = lang;
            let body = html! {
                div.card {
                    p.notice role="status" id="already-declared" { (l.t("这个身份证号已经有一件申报正在办理中，不用重复申报。")) }
                    @if resent {
                        p id="receipt-resent" { (l.t("回执号已重新用短信发到第一次申报时所留的手机上。查询进度时，请用回执号和那个手机号的后4位。")) }
                    } @else {
                        p id="receipt-resent" { (l.t("第一次申报时没有留手机号，请联系村网格员查询回执号。")) }
                    }
                }
                a.button href="/s" { (l.t("查询办理进度")) }
            };
            return Ok(html(
                StatusCode::OK,
                resident_page(
                    l,
                    "已经申报过",
                    Some(html! { span translate="no" { (place) } }),
                    Switch::Link("/s".to_owned()),
                    body,
                ),
            ));
        }
    };
    let sig = guard::link_sig(&key, &receipt);
    let to = format!("/d/{village}/receipt/{receipt}?s={sig}");
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
pub(super) struct ReceiptQuery {
    s: Option<String>,
    lang: Option<String>,
}

pub(crate) async fn receipt_page(
    State(state): State<AppState>,
    Path((village, receipt)): Path<(String, String)>,
    Query(q): Query<ReceiptQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked = q.lang.as_deref().and_then(Lang::parse);
    let village = match village_of(&village, i18n::choose(asked, &headers, None)) {
        Ok(v) => v,
        Err(page) => return Ok(i18n::remember(*page, asked)),
    };
    let l = i18n::choose(asked, &headers, Some(&village));
    let key = guard::form_key(&state).await?;
    let sig = guard::link_sig(&key, &receipt);
    if q.s.as_deref() != Some(sig.as_str()) {
        return Ok(i18n::remember(
            html(
                StatusCode::NOT_FOUND,
                resident_message(
                    l,
                    "找不到这张回执",
                    "链接不完整或已失效。可以凭回执号和手机尾号查询办理进度。",
                    Some(("/s", "查询办理进度")),
                    Switch::Link("/s".to_owned()),
                ),
            ),
            asked,
        ));
    }
    let procedure = Procedure::current(&*state.storage).await?;
    let days = procedure.rules.home_verification.amount;
    let place = village_name(&village);
    let body = html! {
        div.card {
            p.notice.ok role="status" { (l.t("✓ 申报已提交成功。您的回执号是：")) }
            p.receipt id="receipt-no" { (receipt_markup(&receipt)) }
            p { (l.t("请把回执号记下来，或者截图保存。回执号也会用短信发到您的手机上。")) }
        }
        div.card {
            h2 { (l.t("接下来")) }
            ol.steps {
                li id="visit-within" { (l.f("{place}的网格员会在{days}个工作日内上门核实情况。", &[("place", &place), ("days", &days.to_string())])) }
                li { (l.t("上门时请准备户口本、身份证，在《承诺授权书》上签字按手印。")) }
                li { (l.t("核实后由村里评议、乡镇复核、县里审批，每一步都有办理时限。")) }
            }
        }
        a.button href="/s" { (l.t("查询办理进度")) }
    };
    let here = format!("/d/{village}/receipt/{receipt}?s={sig}");
    Ok(i18n::remember(
        html(
            StatusCode::OK,
            resident_page(
                l,
                "申报回执",
                Some(html! { span translate="no" { (place) } }),
                Switch::Link(here),
                body,
            ),
        ),
        asked,
    ))
}

// ---------------------------------------------------------------------------------------------
// Status and appeal
// ---------------------------------------------------------------------------------------------
