//! `yijian-client`: the device engine, with no Tauri in it.
//!
//! The app's screens call into this crate through thin Tauri commands; the `yijian` CLI and the
//! load and fault tests drive the very same code without a webview. It owns the device's local
//! SQLite database ([`store`]), the worker's actions as local changes with their outbox
//! commands ([`domain`]), and the sync engine that pushes, pulls and uploads photos ([`sync`]).
//! Every fallible call returns [`Error`], whose [`ErrorKind`] the app branches on.

pub mod domain;
pub mod error;
pub mod photo;
pub mod qr;
pub mod store;
pub mod sync;

pub use error::{Error, ErrorKind, Result};
pub use store::LocalStore;
pub use sync::{EngineConfig, SyncEngine, SyncProgress, SyncReport};
