//! `yijian-client`: the device engine, with no Tauri in it.
//!
//! The app's screens call into this crate through thin Tauri commands; the `yijian` CLI and the
//! load and fault tests drive the very same code without a webview. It owns the device's local
//! SQLite database ([`store`]); the sync engine, photo pipeline and QR decoding join it in later
//! issues.

pub mod store;
