//! The supervisor console (`/console`): web pages for township, county, city and province
//! staff, served by the server, everything limited to the signed-in user's scope.
//!
//! - [`dashboard`](pages::dashboard): figures and charts of a division, drilled down from the
//!   user's scope to a village;
//! - [`overdue`](pages::overdue): cases overdue or due soon, with whose job each is;
//! - the case page: timeline from the audit trail, checklist answers, photos, plan, and a form
//!   for each step this user may take now ([`actions`]);
//! - [`admin`]: users and devices, device-setup QR codes, the holiday calendar and deadline
//!   rules, unit contacts, the SMS log.
//!
//! Pages work without JavaScript; `console.js` adds the charts (ECharts, served from here, no
//! CDN), sorting and a photo viewer. Every POST carries the session's form token.

pub mod actions;
pub mod admin;
pub mod alerts;
pub mod authz;
pub mod pages;
pub mod session;
pub mod stats;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use yijian_core::division::DivisionCode;
use yijian_core::regions::Regions;

use crate::AppState;
use session::ConsoleUser;

const CSS: &str = include_str!("../../../assets/console/console.css");
const JS: &str = include_str!("../../../assets/console/console.js");
const ECHARTS: &str = include_str!("../../../assets/vendor/echarts.min.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::dashboard))
        .route("/console/login", get(pages::login_form).post(pages::login))
        .route("/console/logout", post(pages::logout))
        .route("/console/overdue", get(pages::overdue))
        .route("/console/cases", get(pages::cases))
        .route("/console/cases/{id}", get(pages::case_page))
        .route("/console/cases/{id}/step", post(actions::step))
        .route("/console/photos/{sha}", get(pages::photo))
        .route("/console/notifications", get(pages::notifications))
        .route("/console/alerts", get(alerts::batches).post(alerts::upload))
        .route(
            "/console/alerts/template/{department}",
            get(alerts::template),
        )
        .route("/console/alerts/{batch}/report.csv", get(alerts::report))
        .route("/console/alerts/unmatched", get(alerts::unmatched))
        .route(
            "/console/alerts/unmatched/lead",
            axum::routing::post(alerts::unmatched_lead),
        )
        .route("/console/spot-checks", get(alerts::spot_checks))
        .route("/console/admin", get(admin::users))
        .route("/console/admin/users", post(admin::create_user))
        .route("/console/admin/users/{id}/setup.png", get(admin::setup_qr))
        .route("/console/admin/devices/{id}/revoke", post(admin::revoke))
        // The calendar and the deadline rules: one editor over the procedure's documents.
        .route(
            "/console/admin/{document}",
            get(admin::procedure_page).post(admin::save_procedure),
        )
        .route("/console/admin/contacts", post(admin::save_contact))
        .route(
            "/console/admin/keys",
            get(admin::keys_page).post(admin::issue_key),
        )
        .route("/console/admin/keys/{id}/revoke", post(admin::revoke_key))
        .route("/console/admin/sms", get(admin::sms_log))
        .route("/console/admin/print", get(admin::print_village))
        .route(
            "/console/assets/console.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/console/assets/console.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/console/assets/echarts.min.js",
            get(|| async { asset(ECHARTS, "text/javascript; charset=utf-8") }),
        )
}

fn asset(body: &'static str, mime: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// A console page's response (never cached: it shows live figures and a form token).
pub fn page(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, Html(markup.into_string())).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Which nav entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Overdue,
    Cases,
    Notifications,
    Alerts,
    Admin,
}

/// The console's frame around a page's content.
pub fn shell(
    user: &ConsoleUser,
    nav: Nav,
    title: &str,
    flash: Option<&Flash>,
    content: Markup,
) -> Markup {
    shell_with(user, nav, title, flash, content, false)
}

/// [`shell`], loading the chart library when `charts`.
pub fn shell_with(
    user: &ConsoleUser,
    nav: Nav,
    title: &str,
    flash: Option<&Flash>,
    content: Markup,
    charts: bool,
) -> Markup {
    let u = user.user();
    let items: [(Nav, &str, &str, &str); 6] = [
        (Nav::Dashboard, "dashboard", "/console", "工作概览"),
        (Nav::Overdue, "overdue", "/console/overdue", "逾期督办"),
        (Nav::Cases, "cases", "/console/cases", "案件查询"),
        (
            Nav::Notifications,
            "notifications",
            "/console/notifications",
            "消息通知",
        ),
        (Nav::Alerts, "alerts", "/console/alerts", "部门预警"),
        (Nav::Admin, "admin", "/console/admin", "系统管理"),
    ];
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 一键申报工作台" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.console {
                header.top {
                    span.brand { "一键申报 · 监测帮扶工作台" }
                    span.who {
                        (u.name) " · " (u.role.name_zh()) " · " (scope_path(&u.scope))
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(user.form_token());
                            button type="submit" id="signout" { "退出" }
                        }
                    }
                }
                nav.side {
                    @for (n, key, href, label) in items {
                        @if n != Nav::Admin || user.role() == yijian_core::role::Role::Admin {
                            a.active[n == nav] data-nav=(key) href=(href) { (label) }
                        }
                    }
                }
                main {
                    @if let Some(f) = flash {
                        div id="flash" class={"flash " (if f.ok { "ok" } else { "error" })} role="status" { (f.text) }
                    }
                    (content)
                }
                @if charts { script src="/console/assets/echarts.min.js" {} }
                script src="/console/assets/console.js" {}
            }
        }
    }
}

/// A one-line message at the top of a page (after an action).
#[derive(Debug, Clone)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct FlashQuery {
    pub ok: Option<String>,
    pub err: Option<String>,
}

impl FlashQuery {
    pub fn flash(&self) -> Option<Flash> {
        match (&self.ok, &self.err) {
            (_, Some(e)) => Some(Flash {
                ok: false,
                text: e.chars().take(300).collect(),
            }),
            (Some(o), None) => Some(Flash {
                ok: true,
                text: o.chars().take(300).collect(),
            }),
            _ => None,
        }
    }
}

/// `甘肃省 定西市 安定区` for a code.
pub fn scope_path(code: &DivisionCode) -> String {
    let regions = Regions::gansu();
    let mut names: Vec<String> = regions
        .ancestors_with_names(code)
        .into_iter()
        .map(|r| r.name.clone())
        .collect();
    if let Some(r) = regions.get(code) {
        names.push(r.name.clone());
    }
    if names.is_empty() {
        code.to_string()
    } else {
        names.join(" ")
    }
}

/// The breadcrumb from the user's scope down to `code`: each level a link.
pub fn breadcrumb(user: &ConsoleUser, code: &DivisionCode, base: &str) -> Markup {
    let regions = Regions::gansu();
    let mut chain: Vec<(DivisionCode, String)> = regions
        .ancestors_with_names(code)
        .into_iter()
        .filter(|r| user.covers(&r.code))
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    let here = regions
        .get(code)
        .map_or_else(|| code.to_string(), |r| r.name.clone());
    chain.retain(|(c, _)| c != code);
    html! {
        nav id="breadcrumb" {
            @for (c, name) in &chain {
                a data-code=(c) href={(base) "?scope=" (c)} { (name) }
                " › "
            }
            span data-code=(code) { (here) }
        }
    }
}

/// The page a user gets for something outside their scope.
pub fn out_of_scope(user: &ConsoleUser) -> Response {
    page(
        StatusCode::FORBIDDEN,
        shell(
            user,
            Nav::Dashboard,
            "无权查看",
            None,
            html! {
                h1 { "无权查看" }
                p.alert id="forbidden" { "您要查看的内容不在您的管辖范围（" (scope_path(user.scope())) "）内。" }
                p { a href="/console" { "返回工作概览" } }
            },
        ),
    )
}

/// A JSON document embedded in a page for `console.js`.
pub fn data_script(id: &str, value: &impl serde::Serialize) -> Markup {
    // `</` cannot close the script element from inside JSON.
    let json = serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/");
    html! { script id=(id) type="application/json" { (PreEscaped(json)) } }
}

/// `?scope=` and sorting of list pages.
#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    pub scope: Option<String>,
    pub sort: Option<String>,
    pub stage: Option<String>,
    pub q: Option<String>,
    pub ok: Option<String>,
    pub err: Option<String>,
}

pub type ListParams = Query<ListQuery>;
