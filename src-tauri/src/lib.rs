//! The Yijian app: a thin Tauri 2 shell over the device engine (`yijian-client`).
//!
//! Everything that decides anything lives in `yijian-core` and `yijian-client`, which build and
//! test without a webview; this crate exposes them to the screens in `ui/` as async commands
//! ([`commands`]), turns their errors into [`error::CommandError`] values the UI can branch on,
//! runs sync in the background and reports its progress as events (`sync-progress`,
//! `sync-done`), and serves photo files to the webview through the `yjphoto` protocol.
//! `run()` is the entry point on every platform: desktop calls it from `main.rs`, Android and
//! iOS load this library and enter through the mobile entry point.

#[cfg(test)]
mod acl;
pub mod bindings;
pub mod commands;
pub mod error;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;
use tauri::http::{Request, Response, StatusCode};
use tauri::{AppHandle, Emitter, Manager};
use yijian_client::sync::{LoopConfig, run_sync_loop_observed};

use tokio::sync::watch;
use yijian_client::SyncEngine;
use yijian_client::media::PhotoFiles;

use crate::error::CommandError;
use crate::state::{App, PHOTO_SCHEME};

/// Environment variable that puts the app's data somewhere else than the platform's app data
/// directory (tests run several phones side by side; a kiosk install may want a fixed path).
pub const DATA_DIR_VAR: &str = "YIJIAN_APP_DATA_DIR";

/// What the screens hear after every sync round.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SyncDone {
    pub ok: bool,
    pub error: Option<CommandError>,
    pub status: Option<commands::sync::SyncStatus>,
}

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    // Tests and a second worker on one PC choose the directory; a phone has no environment
    // to set, and always uses the app's private storage.
    #[cfg(desktop)]
    if let Some(dir) = std::env::var_os(DATA_DIR_VAR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(app.path().app_data_dir()?)
}

/// `yjphoto://localhost/<sha256>` → the photo file of that hash, decrypted. Only names of 64
/// hex digits are served, so no path can leave the photo directory; nothing is served while the
/// store is closed.
fn photo_response(files: Option<&PhotoFiles>, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let name = request.uri().path().trim_start_matches('/');
    let valid = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
    let reply = |status: StatusCode, body: Vec<u8>, mime: &str| {
        Response::builder()
            .status(status)
            .header("Content-Type", mime)
            // Named by content: a file never changes. Kept in memory only (no disk cache of a
            // decrypted photo).
            .header("Cache-Control", "no-store")
            .body(body)
            .unwrap_or_default()
    };
    match files
        .filter(|_| valid)
        .map(|f| f.read(&name.to_ascii_lowercase()))
    {
        Some(Ok(bytes)) => reply(StatusCode::OK, bytes, "image/jpeg"),
        _ => reply(StatusCode::NOT_FOUND, Vec::new(), "text/plain"),
    }
}

/// The device opened its store: keep the engine and start its sync loop (once per store).
pub(crate) fn engine_opened(handle: &AppHandle, engine: &Arc<SyncEngine>) {
    let app = handle.state::<App>();
    if app.opened(engine) {
        start_sync(handle, &app, engine);
    }
}

/// After an engine error: a revoked device erases its store at once and the screens are told
/// why ("device-wiped").
pub(crate) async fn after_error(
    handle: &AppHandle,
    engine: &Arc<SyncEngine>,
    error: &yijian_client::Error,
) {
    if error.kind() != yijian_client::ErrorKind::Revoked {
        return;
    }
    let app = handle.state::<App>();
    let mut device = app.device.lock().await;
    // Only the store that was told: not one erased by a logout meanwhile, nor a new one.
    if !device.is_current(engine) {
        return;
    }
    let wiped = device.wipe_revoked().await;
    drop(device);
    app.closed();
    match wiped {
        Ok(()) => {
            let _ = handle.emit("device-wiped", ());
        }
        Err(e) => tracing::error!(error = %e, "wiping the revoked device failed"),
    }
}

fn start_sync(handle: &AppHandle, app: &App, engine: &Arc<SyncEngine>) {
    let progress_handle = handle.clone();
    let syncing = Arc::clone(&app.syncing);
    engine.set_progress(move |p| {
        syncing.store(true, Ordering::SeqCst);
        let _ = progress_handle.emit("sync-progress", p);
    });
    let done_handle = handle.clone();
    let engine = Arc::clone(engine);
    let told = Arc::clone(&engine);
    let trigger = Arc::clone(&app.trigger);
    let (stop, stopped) = watch::channel(false);
    if let Some(previous) = app.stop_sync.lock().ok().and_then(|mut s| s.replace(stop)) {
        let _ = previous.send(true);
    }
    tauri::async_runtime::spawn(async move {
        run_sync_loop_observed(
            engine,
            trigger,
            stopped,
            LoopConfig::default(),
            move |outcome| {
                let state = done_handle.state::<App>();
                state.syncing.store(false, Ordering::SeqCst);
                state.synced_once.store(true, Ordering::SeqCst);
                let ok = outcome.is_ok();
                let error = outcome
                    .as_ref()
                    .err()
                    .map(|e| CommandError::new(error::kind_of(e), e.to_string()));
                let revoked = outcome
                    .as_ref()
                    .err()
                    .filter(|e| e.kind() == yijian_client::ErrorKind::Revoked)
                    .is_some();
                // The inbox and every open screen may show something new; the counts are read
                // off the sync loop, on the blocking pool.
                let handle = done_handle.clone();
                let told = Arc::clone(&told);
                tauri::async_runtime::spawn(async move {
                    if revoked {
                        after_error(&handle, &told, &yijian_client::Error::DeviceRevoked).await;
                        return;
                    }
                    let status = commands::sync::status_of(&handle.state::<App>()).await.ok();
                    let _ = handle.emit("sync-done", SyncDone { ok, error, status });
                });
            },
        )
        .await;
    });
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YIJIAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Start the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_logging();
    let builder = tauri::Builder::default();
    // Where a home visit is made: the phone's location services (see capabilities/mobile.json).
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_geolocation::init());
    let result = builder
        .setup(|app| {
            let dir = data_dir(app)?;
            let state = App::open(&dir)?;
            tracing::info!(data_dir = %dir.display(), "app data");
            app.manage(state);
            Ok(())
        })
        .register_asynchronous_uri_scheme_protocol(PHOTO_SCHEME, |ctx, request, responder| {
            // Nothing is served while the screens are locked.
            let app = ctx.app_handle().state::<App>();
            let files = app.is_unlocked().then(|| app.photo_files()).flatten();
            tauri::async_runtime::spawn_blocking(move || {
                responder.respond(photo_response(files.as_ref(), &request));
            });
        })
        .invoke_handler(tauri::generate_handler![
            commands::session::app_state,
            commands::session::login,
            commands::session::parse_setup_qr,
            commands::session::set_pin,
            commands::session::unlock,
            commands::session::lock,
            commands::session::logout,
            commands::household::inbox,
            commands::household::household_file,
            commands::household::case_view,
            commands::household::lookup_door_plate,
            commands::visit::visit_start,
            commands::visit::visit_open,
            commands::visit::visit_locate,
            commands::visit::visit_set_present,
            commands::visit::visit_answer,
            commands::visit::visit_attach_photo,
            commands::visit::visit_detach_photo,
            commands::visit::visit_save_draft,
            commands::visit::visit_finalise,
            commands::visit::visit_correct,
            commands::proxy::risk_options,
            commands::proxy::my_villages,
            commands::proxy::proxy_check,
            commands::proxy::proxy_submit,
            commands::proxy::draft_get,
            commands::proxy::draft_put,
            commands::proxy::draft_clear,
            commands::media::photo_stage,
            commands::media::decode_qr,
            commands::media::decode_qr_luma,
            commands::notices::notices,
            commands::notices::notices_read,
            commands::sync::sync_status,
            commands::sync::sync_now,
            commands::sync::quarantine_list,
            commands::sync::quarantine_retry,
            commands::sync::quarantine_discard,
            commands::sync::conflicts,
            commands::sync::resolve_conflict,
        ])
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|handle, event| match event {
            tauri::RunEvent::Exit => handle.state::<App>().closed(),
            // A phone locks the screens as soon as the app leaves the foreground.
            #[cfg(mobile)]
            tauri::RunEvent::WindowEvent {
                event: tauri::WindowEvent::Focused(false),
                ..
            } => handle.state::<App>().set_unlocked(false),
            _ => {}
        }),
        Err(e) => {
            eprintln!("yijian app failed to start: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_photo_protocol_serves_only_photo_files_and_decrypts_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sha = "a".repeat(64);
        let key = yijian_client::vault::DataKey::generate().expect("key");
        let files = PhotoFiles::new(dir.path().to_path_buf(), Some(key.photo_cipher()));
        files.write(&sha, b"\xff\xd8jpeg").expect("write");
        assert!(
            !std::fs::read(files.path(&sha))
                .expect("read")
                .starts_with(b"\xff\xd8")
        );
        let get = |path: &str| {
            let req = Request::builder()
                .uri(format!("yjphoto://localhost{path}"))
                .body(Vec::new())
                .expect("request");
            photo_response(Some(&files), &req)
        };
        let ok = get(&format!("/{sha}"));
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.body(), b"\xff\xd8jpeg");
        assert_eq!(get("/../yijian.db").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get(&format!("/{}", "b".repeat(64))).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(get("/").status(), StatusCode::NOT_FOUND);
        // A closed store serves nothing.
        let req = Request::builder()
            .uri(format!("yjphoto://localhost/{sha}"))
            .body(Vec::new())
            .expect("request");
        assert_eq!(photo_response(None, &req).status(), StatusCode::NOT_FOUND);
    }
}
