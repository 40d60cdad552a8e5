//! The resident's pages: `GET/POST /d/{village}` (the declaration form behind the village's QR
//! code), its receipt, and `GET/POST /s` (status by receipt number and phone, and the appeal).
//!
//! No account, no JavaScript needed (a plain HTML form posts and the server answers with the
//! next page), everything typed is sent back into the form when something is wrong, and every
//! problem is written beside its field. Limits: anti-forgery tokens on every form, rate limits
//! per address and per phone (HTTP 429 with a page that says so), a small body limit.

use crate::AppState;
use crate::web::guard::{self};
use crate::web::public::i18n::Lang;
use crate::web::public::layout::{Switch, resident_message};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::Markup;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::regions::Regions;

mod form;
mod status;
pub use status::LOOKUP_MISSES_PER_IP_PER_DAY;

pub mod i18n;
pub mod layout;

/// Largest form body accepted (the form is a few hundred bytes; the description at most 300
/// characters).
const MAX_FORM_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/d/{village}", get(form::form_page).post(form::submit))
        .route("/d/{village}/receipt/{receipt}", get(form::receipt_page))
        .route("/s", get(status::status_form).post(status::status))
        .route("/s/appeal", axum::routing::post(status::appeal))
        .route("/assets/{file}", get(asset))
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

/// The Tibetan font of the resident pages, at an address named by its content (kept a year).
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    if format!("/assets/{file}") != i18n::font_path() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut r = i18n::FORM_FONT.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("font/woff2"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}

/// A known Gansu village, or why not (in `lang`: the village is unknown, so it cannot choose).
fn village_of(code: &str, lang: Lang) -> Result<DivisionCode, Box<Response>> {
    let unknown = || {
        let message = i18n::fill(
            "二维码里的村代码“{code}”不正确或已停用，无法在线申报。请联系村委会或乡镇，也可以直接找村网格员申报。",
            &[("code", code)],
        );
        html(
            StatusCode::NOT_FOUND,
            resident_message(
                lang,
                "找不到这个村",
                &message,
                None,
                Switch::Link(format!("/d/{}", code.chars().take(20).collect::<String>())),
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
