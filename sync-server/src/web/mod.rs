//! The server's web pages: what people read in a browser.
//!
//! - [`public`]: the resident's pages (declaration form, receipt, status, appeal), no account;
//! - [`print`]: printed matter for a village (明白纸, door-plate labels);
//! - [`console`]: the supervisor console for township to province staff;
//! - [`guard`]: what protects the pages (anti-forgery tokens, rate limits, client address);
//! - [`headers`]: the security headers every answer carries.

pub mod console;
pub mod guard;
pub mod headers;
pub mod print;
pub mod public;

use axum::Router;

use crate::AppState;

/// Every page route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(public::router())
        .merge(print::router())
        .merge(console::router())
}
