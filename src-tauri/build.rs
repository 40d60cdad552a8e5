//! The app's build: Tauri's code generation, and the access control list of the app's own
//! commands. Every command in `generate_handler!` (src/lib.rs) is declared here, which makes
//! Tauri generate `allow-<command>`/`deny-<command>` permissions; `permissions/app.toml` groups
//! them and the capabilities grant the group. A command left out of the ACL cannot be called
//! from the webview at all (a test in `src/acl.rs` keeps the lists in step).

/// The app's commands, as in `generate_handler!`.
const COMMANDS: &[&str] = &[
    "app_state",
    "login",
    "parse_setup_qr",
    "set_pin",
    "unlock",
    "lock",
    "logout",
    "inbox",
    "household_file",
    "case_view",
    "lookup_door_plate",
    "visit_start",
    "visit_open",
    "visit_locate",
    "visit_set_present",
    "visit_answer",
    "visit_attach_photo",
    "visit_detach_photo",
    "visit_save_draft",
    "visit_finalise",
    "visit_correct",
    "risk_options",
    "my_villages",
    "proxy_check",
    "proxy_submit",
    "draft_get",
    "draft_put",
    "draft_clear",
    "photo_stage",
    "decode_qr",
    "decode_qr_luma",
    "notices",
    "notices_read",
    "sync_status",
    "sync_now",
    "quarantine_list",
    "quarantine_retry",
    "quarantine_discard",
    "conflicts",
    "resolve_conflict",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .unwrap_or_else(|e| panic!("tauri build: {e}"));
}
