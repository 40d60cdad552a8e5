//! The administrator's pages: users and their devices, the QR code that sets up a worker's
//! phone, the holiday calendar and deadline rules, the units' contact numbers on the printed
//! sheets, and the SMS log.
//!
//! Only users with the `admin` role see these pages, and only for the users, devices and units
//! within their own scope (a county's administrator manages that county's staff). A refused
//! form comes back with everything that was typed in it and the reason next to it.

use crate::store::DeviceInfo;
use crate::web::console::session::{ConsoleUser, urlencode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

mod contacts;
mod keys;
mod procedure_editor;
mod sms_log;
#[cfg(test)]
mod tests;
mod users;

pub use contacts::*;
pub use keys::*;
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

fn back(path: &str, ok: bool, text: &str) -> Response {
    Redirect::to(&format!(
        "{path}?{}={}",
        if ok { "ok" } else { "err" },
        urlencode(text)
    ))
    .into_response()
}

/// The administrator's pages; the province-wide documents only for the province's own.
fn admin_links(user: &ConsoleUser, current: &str) -> Markup {
    let province = user.scope().level() == yijian_core::division::Level::Province;
    let links = [
        ("/console/admin", "用户与设备", true),
        ("/console/admin/calendar", "节假日日历", province),
        ("/console/admin/rules", "办理期限", province),
        ("/console/admin/policy", "政策参数", province),
        ("/console/admin/alert-rules", "预警规则", province),
        ("/console/admin/keys", "部门接口密钥", true),
        ("/console/admin/sms", "短信记录", true),
    ];
    html! {
        nav.subnav id="admin-nav" {
            @for (href, label, shown) in links {
                @if shown {
                a.active[href == current] href=(href) aria-current=[(href == current).then_some("page")] { (label) }
                }
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
