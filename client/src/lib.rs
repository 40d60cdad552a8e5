//! `yijian-client`: the device engine, with no Tauri in it.
//!
//! A phone's data directory is a [`device::Device`]: its store is encrypted ([`vault`]) and
//! opens only with the PIN or, online, the password.
//! The app's screens call into this crate through thin Tauri commands; the `yijian` CLI and the
//! load and fault tests drive the very same code without a webview. It owns the device's local
//! SQLite database ([`store`]), the worker's actions as local changes with their outbox
//! commands ([`domain`]), the sync engine that pushes, pulls and uploads photos ([`sync`]), and
//! what the screens show ([`views`], [`inbox`], [`files`]) and do ([`visits`], [`proxy`],
//! [`media`], [`pin`], [`drafts`]), and keeps the office's messages ([`notices`]). Every fallible call returns [`Error`], whose [`ErrorKind`]
//! the app branches on.

pub mod device;
pub mod domain;
pub mod drafts;
pub mod error;
pub mod files;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod inbox;
pub mod media;
pub mod notices;
pub mod photo;
pub mod pin;
pub mod proxy;
pub mod qr;
pub mod store;
pub mod sync;
pub mod vault;
pub mod views;
pub mod visits;

pub use device::{Device, DeviceConfig, DeviceStage};
pub use error::{Error, ErrorKind, Result};
pub use store::LocalStore;
pub use sync::{EngineConfig, SyncEngine, SyncProgress, SyncReport};
