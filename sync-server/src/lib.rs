//! `yijian-server`: the sync server of Yijian.
//!
//! One binary serves a county on its embedded SQLite, or a province as several stateless
//! processes on PostgreSQL. This crate is organised as the design card says: [`db`] holds the
//! storage trait and one backend per database, [`routes`] one module per API area, [`error`]
//! the single [`error::ApiError`] every handler returns, and [`config`] the layered settings.

pub mod config;
pub mod db;
pub mod error;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::db::Storage;

/// Everything a request handler may need. Cheap to clone; holds no per-process state that a
/// second server process would need to see.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.storage.backend())
            .finish()
    }
}

/// The whole HTTP application, for `serve` and for tests (`app(state).oneshot(request)`).
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(routes::health::router())
        .with_state(state)
}

/// Serve on an already bound listener until `shutdown` resolves, then finish in-flight
/// requests. Binding is the caller's job so tests can bind port 0 and learn the port.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, backend = state.storage.backend(), "serving");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
