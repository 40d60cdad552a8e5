//! The administrator's pages: users and their devices, the QR code that sets up a worker's
//! phone, the holiday calendar and deadline rules, the units' contact numbers on the printed
//! sheets, and the SMS log.
//!
//! Only users with the `admin` role see these pages, and only for the users, devices and units
//! within their own scope (a county's administrator manages that county's staff). A refused
//! form comes back with everything that was typed in it and the reason next to it.

use crate::store::DeviceInfo;
use crate::web::console::session::{ConsoleUser, urlencode};
use crate::web::console::{Nav, page, shell};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use yijian_core::role::Role;

mod contacts;
mod procedure_editor;
mod sms_log;
#[cfg(test)]
mod tests;
mod users;

pub use contacts::*;
pub use procedure_editor::*;
pub use sms_log::*;
pub use users::*;

/// Users listed on one page at most (a province has tens of thousands: search narrows it).
const USERS_SHOWN: usize = 200;

fn beijing(t: DateTime<Utc>) -> String {
    t.with_timezone(&yijian_core::time::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The administrator, or the page saying this is not for them.
fn admin_only(user: &ConsoleUser) -> Result<(), Box<Response>> {
    if user.role() == Role::Admin {
        Ok(())
    } else {
        Err(Box::new(page(
            StatusCode::FORBIDDEN,
            shell(
                user,
                Nav::Dashboard,
                "无权访问",
                None,
                html! {
                    h1 { "无权访问" }
                    p.alert id="forbidden" { "系统管理仅限系统管理员使用。" }
                },
            ),
        )))
    }
}

fn back(path: &str, ok: bool, text: &str) -> Response {
    Redirect::to(&format!(
        "{path}?{}={}",
        if ok { "ok" } else { "err" },
        urlencode(text)
    ))
    .into_response()
}

fn admin_links(current: &str) -> Markup {
    let links = [
        ("/console/admin", "用户与设备"),
        ("/console/admin/calendar", "节假日日历"),
        ("/console/admin/rules", "办理期限"),
        ("/console/admin/sms", "短信记录"),
    ];
    html! {
        nav.subnav id="admin-nav" {
            @for (href, label) in links {
                a.active[href == current] href=(href) aria-current=[(href == current).then_some("page")] { (label) }
            }
        }
    }
}

/// How a device reads in the list: a browser session as what it is.
fn device_name(d: &DeviceInfo) -> String {
    match d
        .name
        .strip_prefix("控制台（")
        .and_then(|n| n.strip_suffix('）'))
    {
        Some(browser) => format!("网页登录（{browser}）"),
        None => d.name.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Users and devices
// ---------------------------------------------------------------------------------------------
