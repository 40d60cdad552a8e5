//! The Yijian app: a thin Tauri 2 shell over the device engine (`yijian-client`).
//!
//! Everything that decides anything lives in `yijian-core` and `yijian-client`, which build and
//! test without a webview; this crate only exposes them to the screens in `ui/` as async
//! commands and turns their errors into [`error::CommandError`] values the UI can branch on.
//! `run()` is the entry point on every platform: desktop calls it from `main.rs`, Android and
//! iOS load this library and enter through the mobile entry point.

pub mod commands;
pub mod error;

/// Start the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("yijian app failed to start: {e}");
        std::process::exit(1);
    }
}
