//! HTTP routes, one module per area; each exposes `router()`.

pub mod auth;
pub mod blobs;
pub mod health;
pub mod json;
pub mod print;
pub mod public;
pub mod sync;
