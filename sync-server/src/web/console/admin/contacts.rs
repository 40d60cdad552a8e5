//! Units' phone numbers (on the printed sheets) and the link to a village's printed matter.

use crate::AppState;
use crate::error::ApiError;
use crate::store::rows::UnitContact;
use crate::store::write;
use crate::web::console::session::ConsoleUser;
use crate::web::console::{Nav, page, scope_path, shell};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use yijian_core::division::DivisionCode;

use super::*;
use crate::web::console::authz::Admin;

#[derive(Debug, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

pub async fn save_contact(
    State(state): State<AppState>,
    Admin(user): Admin,
    Form(f): Form<ContactForm>,
) -> Result<Response, ApiError> {
    user.check_form(&f.csrf)?;
    let fail = |why: String| Ok(back("/console/admin", false, &why));
    let Ok(division) = DivisionCode::parse(f.division.trim()) else {
        return fail(format!("区划代码“{}”不正确", f.division.trim()));
    };
    use yijian_core::division::Level;
    if !matches!(division.level(), Level::Township | Level::County) {
        return fail("咨询电话按乡镇或县填写（9位或6位区划代码）".into());
    }
    if !user.covers(&division) {
        return fail(format!("“{}”不在您的管辖范围内", scope_path(&division)));
    }
    let name = f.name.trim().to_owned();
    let phone = f.phone.trim().to_owned();
    if name.is_empty() || name.chars().count() > 40 {
        return fail("请填写单位名称（40字以内）".into());
    }
    let phone_ok = (5..=20).contains(&phone.len())
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    if !phone_ok {
        return fail(format!("电话“{phone}”不正确，应为数字，可带区号和“-”"));
    }
    let contact = UnitContact {
        division: division.as_str().to_owned(),
        name: name.clone(),
        phone: phone.clone(),
    };
    write(&*state.storage, move |tx| tx.put_unit_contact(&contact)).await?;
    Ok(back(
        "/console/admin",
        true,
        &format!("已保存{}的咨询电话：{name} {phone}", scope_path(&division)),
    ))
}

#[derive(Debug, Deserialize)]
pub struct PrintQuery {
    #[serde(default)]
    village: String,
}

/// The admin page's "print for a village" box.
pub async fn print_village(user: ConsoleUser, Query(q): Query<PrintQuery>) -> Response {
    let code = q.village.trim();
    match DivisionCode::parse(code) {
        Ok(v) if v.level() == yijian_core::division::Level::Village && user.covers(&v) => {
            let html_page = html! {
                h1 { "打印：" (crate::domain::resident::village_name(&v)) }
                ul.links {
                    li { a id="print-sheet" href={"/print/village/" (v) } target="_blank" { "明白纸（A4，扫码申报）" } }
                    li { a id="print-sheet-png" href={"/print/village/" (v) "/sheet.png"} target="_blank" { "明白纸图片（发到工作群）" } }
                    li { a id="print-labels" href={"/print/village/" (v) "/labels"} target="_blank" { "本村户码（不干胶标签）" } }
                }
            };
            page(
                StatusCode::OK,
                shell(&user, Nav::Admin, "打印", None, html_page),
            )
        }
        Ok(v) if !user.covers(&v) => crate::web::console::out_of_scope(&user),
        _ => back(
            "/console/admin",
            false,
            &format!("“{code}”不是村（社区）的12位区划代码"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar and rules
// ---------------------------------------------------------------------------------------------
