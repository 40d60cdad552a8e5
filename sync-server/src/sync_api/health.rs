//! `/healthz`: is the process up and can it reach its database.
//!
//! Load balancers and `make run`'s readiness wait poll this; tests poll it instead of sleeping.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub backend: &'static str,
    pub migrations: i64,
    /// PostgreSQL's connection pool (absent on SQLite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<crate::store::PoolHealth>,
    /// The server's clock, so a device can see how far off its own is.
    pub server_time: String,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let h = state.storage.health().await?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        backend: h.backend,
        migrations: h.migrations,
        pool: h.pool,
        server_time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use crate::store::sqlite::SqliteStorage;
    use crate::{AppState, app};

    #[tokio::test]
    async fn healthz_reports_backend_and_migrations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open_in(dir.path()).await.expect("open");
        let blobs = crate::blobstore::DiskBlobStore::open_in(dir.path())
            .await
            .expect("blobs");
        let state = AppState::new(
            Arc::new(storage),
            Arc::new(blobs),
            crate::ServerSettings::default(),
        );
        let resp = app(state)
            .oneshot(
                Request::get("/healthz")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["status"], "ok");
        assert_eq!(v["backend"], "sqlite");
        assert_eq!(v["migrations"], crate::store::sqlite::MIGRATIONS.len());
        assert!(v["server_time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}
