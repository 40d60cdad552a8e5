//! The console's reading pages: login, dashboard, overdue list, case search, case page,
//! photos, notifications.

use chrono::{DateTime, NaiveDate, Utc};

mod case_page;
mod dashboard;
mod lists;
mod login_page;

pub use case_page::*;
pub use dashboard::*;
pub use lists::*;
pub use login_page::*;

fn beijing(t: DateTime<Utc>) -> String {
    t.with_timezone(&yijian_core::time::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{:.0}%", x * 100.0))
}

fn days(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.1}天"))
}

fn today() -> NaiveDate {
    yijian_core::time::china_date(Utc::now())
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------
