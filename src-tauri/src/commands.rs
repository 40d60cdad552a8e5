//! Commands the screens call. Each is async (never blocks the UI thread) and thin.

use serde::Serialize;

use crate::error::CommandError;

/// What the "about" line of every screen shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: &'static str,
    /// `android`, `ios`, `linux`, …
    pub platform: &'static str,
    pub villages_known: usize,
}

/// Version and platform, and proof that the domain data is compiled in.
#[tauri::command]
pub async fn app_info() -> Result<AppInfo, CommandError> {
    Ok(app_info_now())
}

pub fn app_info_now() -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        platform: std::env::consts::OS,
        villages_known: yijian_core::regions::Regions::gansu()
            .count(yijian_core::division::Level::Village),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_is_camel_case_and_knows_the_villages() {
        let v = serde_json::to_value(app_info_now()).expect("serialize");
        assert_eq!(v["villagesKnown"], 17_718);
        assert!(v["version"].is_string());
    }
}
