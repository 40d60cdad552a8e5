//! Printed matter for offices: a village's 明白纸 with the declaration form's QR code, and the
//! door-plate labels of its households (see [`crate::web::print::sheet`] for how they are drawn).
//!
//! Only signed-in staff whose scope covers the village may print (the labels name households);
//! the sheet's QR code points at the public form, at the address residents reach the server by
//! (`public.base_url`, else the address the office used).

pub mod sheet;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::household::Household;
use yijian_core::qrcodes::door_plate_text;

use crate::AppState;
use crate::domain::procedure::Procedure;
use crate::domain::resident::village_name;
use crate::error::ApiError;
use crate::store::read;
use crate::web::console::out_of_scope;
use crate::web::console::session::ConsoleUser;
use sheet::{Label, VillageSheet};
use yijian_core::protocol::kinds;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/print/village/{code}", get(sheet_page))
        .route("/print/village/{code}/sheet.png", get(sheet_png))
        .route("/print/village/{code}/labels", get(labels_page))
        .route("/print/household/{id}/label.png", get(label_png))
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>未找到</title><p style=\"font-size:20px\">{what}</p><p><a href=\"/console\">返回工作台</a></p>"
        )),
    )
        .into_response()
}

/// The village named in the path, which must be a village within the user's scope.
fn village_in_scope(user: &ConsoleUser, code: &str) -> Result<DivisionCode, Box<Response>> {
    let Ok(village) = DivisionCode::parse(code) else {
        return Err(Box::new(not_found("区划代码不正确。")));
    };
    if village.level() != Level::Village
        || yijian_core::regions::Regions::gansu()
            .get(&village)
            .is_none()
    {
        return Err(Box::new(not_found("没有这个村（社区）。")));
    }
    if !user.covers(&village) {
        return Err(Box::new(out_of_scope(user)));
    }
    Ok(village)
}

async fn sheet_of(
    state: &AppState,
    headers: &HeaderMap,
    village: &DivisionCode,
) -> Result<VillageSheet, ApiError> {
    let township = village.parent().unwrap_or_else(|| village.clone());
    let county = township.parent().unwrap_or_else(|| township.clone());
    let (contact, procedure) = read(&*state.storage, move |tx| {
        let contact = match tx.unit_contact(township.as_str())? {
            Some(c) => Some(c),
            None => tx.unit_contact(county.as_str())?,
        };
        Ok((contact, Procedure::load(tx)?))
    })
    .await?;
    let rule = procedure
        .rules
        .rule(yijian_core::deadline::Step::HomeVerification);
    let visit_within = format!("{}{}", rule.amount, rule.unit.name_zh());
    Ok(VillageSheet {
        village_name: village_name(village),
        form_url: format!(
            "{}/d/{}",
            crate::web::guard::public_base(state, headers),
            village.as_str()
        ),
        contact: contact.map(|c| format!("{} {}", c.name, c.phone)),
        visit_within,
    })
}

fn png(bytes: Vec<u8>, filename: &str) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    // Chinese file names travel percent-encoded (RFC 6266).
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename*=UTF-8''{}",
        crate::sms::aliyun::percent_encode(filename)
    )) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn print_failed(e: sheet::PrintError) -> ApiError {
    ApiError::Internal(format!("printing failed: {e}"))
}

async fn sheet_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let village = match village_in_scope(&user, &code) {
        Ok(v) => v,
        Err(r) => return Ok(*r),
    };
    let sheet = sheet_of(&state, &headers, &village).await?;
    let href = format!("/print/village/{}/sheet.png", village.as_str());
    let page = sheet::village_sheet_html(&sheet, &href).map_err(print_failed)?;
    Ok(Html(page.into_string()).into_response())
}

async fn sheet_png(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let village = match village_in_scope(&user, &code) {
        Ok(v) => v,
        Err(r) => return Ok(*r),
    };
    let sheet = sheet_of(&state, &headers, &village).await?;
    let name = format!("{}-明白纸.png", sheet.village_name);
    let bytes = tokio::task::spawn_blocking(move || sheet::village_sheet_png(&sheet))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(print_failed)?;
    Ok(png(bytes, &name))
}

fn label_of(h: &Household) -> Label {
    let id = h.id.to_string();
    let number = h.door_plate.clone().unwrap_or_else(|| {
        // Without a door plate, the id's last characters tell labels apart.
        let tail: String = id.chars().rev().take(6).collect();
        tail.chars().rev().collect::<String>().to_uppercase()
    });
    let who = h
        .head_member()
        .map(
            |m| // A label on a door names the household without spelling out its head.
            format!("户主 {}", yijian_core::validation::mask_name(&m.name)),
        )
        .unwrap_or_else(|| h.address.clone());
    Label {
        code: door_plate_text(h.id),
        number,
        who,
    }
}

async fn labels_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let village = match village_in_scope(&user, &code) {
        Ok(v) => v,
        Err(r) => return Ok(*r),
    };
    let v = village.as_str().to_owned();
    let records = read(&*state.storage, move |tx| {
        tx.records_in_village(kinds::HOUSEHOLD, &v)
    })
    .await?;
    let mut households: Vec<Household> = records
        .iter()
        .filter_map(|r| r.body.as_deref())
        .filter_map(|b| serde_json::from_str::<Household>(b).ok())
        .collect();
    households.sort_by(|a, b| {
        a.door_plate
            .cmp(&b.door_plate)
            .then_with(|| a.address.cmp(&b.address))
    });
    let labels: Vec<Label> = households.iter().map(label_of).collect();
    let page = sheet::labels_html(&village_name(&village), &labels).map_err(print_failed)?;
    Ok(Html(page.into_string()).into_response())
}

async fn label_png(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(h) = state
        .storage
        .record(kinds::HOUSEHOLD, &id)
        .await?
        .and_then(|r| r.body)
        .and_then(|b| serde_json::from_str::<Household>(&b).ok())
    else {
        return Ok(not_found("没有这一户。"));
    };
    if !user.covers(&h.village) {
        return Ok(out_of_scope(&user));
    }
    let label = label_of(&h);
    let name = format!("户码-{}.png", label.number);
    let bytes = tokio::task::spawn_blocking(move || sheet::label_png(&label))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(print_failed)?;
    Ok(png(bytes, &name))
}
