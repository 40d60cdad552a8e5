//! The API devices speak (`/v1/…`) and the health probe.
//!
//! - [`auth`]: who a request is from (a device's bearer token); [`login`]: signing a device in
//!   and out;
//! - [`sync`]: push, pull, snapshot, and what a device fetches beside records (procedure,
//!   notices);
//! - [`device`]: the escrow key of a phone's encrypted store, and a revoked phone's wipe;
//! - [`blobs`]: photo bytes, uploaded resumably and read by range;
//! - [`health`]: `/healthz` for load balancers and tests;
//! - [`json`]: the JSON extractor whose rejections answer in the API's error shape.

pub mod alerts;
pub mod auth;
pub mod blobs;
pub mod device;
pub mod health;
pub mod json;
pub mod login;
pub mod sync;

use axum::Router;

use crate::AppState;

/// Every route of the device API.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(alerts::router())
        .merge(login::router())
        .merge(device::router())
        .merge(sync::router())
        // Blob uploads take the raw body, which `DefaultBodyLimit` does not limit: they stream
        // to storage in pieces and stop at `max_blob_bytes` themselves.
        .merge(blobs::router())
}
