//! `yijian-server`: the sync server of Yijian.
//!
//! One binary serves a county on its embedded SQLite, or a province as several stateless
//! processes on PostgreSQL. [`db`] holds the storage trait and one backend per database,
//! [`apply`] what a pushed command does, [`blobs`] where photo bytes are kept, [`routes`] one
//! module per API area, [`error`] the single [`error::ApiError`] every handler returns, and
//! [`config`] the layered settings.

pub mod blobstore;
pub mod config;
pub mod domain;
pub mod error;
pub mod ops;
pub mod sms;
pub mod store;
pub mod sync_api;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::blobstore::BlobStore;
use crate::store::Storage;

/// Limits and switches the handlers read.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Accept `PutDocument` commands (the sync benchmark's free-form documents).
    pub accept_raw_documents: bool,
    /// Most commands in one push.
    pub max_push_commands: usize,
    /// Most records in one pull or snapshot page.
    pub max_pull_limit: u32,
    /// Largest request body, in bytes (after decompression). Blob uploads stream to storage
    /// and are bounded by `max_blob_bytes` instead.
    pub max_body_bytes: usize,
    /// Largest photo (or other blob), in bytes.
    pub max_blob_bytes: u64,
    /// How long a blob upload may send nothing before the server gives up on it, keeps what
    /// arrived, and lets the device resume (a dead 2G connection can otherwise hold the upload
    /// until TCP notices, minutes later).
    pub blob_idle_timeout: Duration,
    /// The resident pages.
    pub public: PublicSettings,
    /// How often the deadline job runs.
    pub deadline_interval: Duration,
    /// Cookies and sign-in lifetimes.
    pub security: SecuritySettings,
}

/// Cookies and how long sign-ins last.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// Cookies only over HTTPS (the server sits behind an HTTPS proxy).
    pub secure_cookies: bool,
    /// How long a phone's token works before the password is asked again.
    pub device_token_ttl: Duration,
    /// How long a console sign-in lasts.
    pub console_session_ttl: Duration,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            secure_cookies: false,
            device_token_ttl: Duration::from_secs(30 * 86_400),
            console_session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

impl SecuritySettings {
    /// `; Secure` when cookies must only travel over HTTPS.
    pub fn cookie_suffix(&self) -> &'static str {
        if self.secure_cookies { "; Secure" } else { "" }
    }

    /// When a phone's sign-in made at `now` stops working.
    pub fn device_expiry(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        now + chrono::Duration::from_std(self.device_token_ttl)
            .unwrap_or(chrono::Duration::days(30))
    }

    /// When a console sign-in made at `now` stops working.
    pub fn console_expiry(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        now + chrono::Duration::from_std(self.console_session_ttl)
            .unwrap_or(chrono::Duration::hours(12))
    }
}

/// Limits of the pages residents use without an account.
#[derive(Debug, Clone)]
pub struct PublicSettings {
    /// Where residents reach the server (for printed QR codes); `None`: the request's Host.
    pub base_url: Option<String>,
    pub trust_forwarded_for: bool,
    pub declarations_per_ip_per_hour: u32,
    pub declarations_per_phone_per_day: u32,
    pub lookups_per_ip_per_hour: u32,
}

impl Default for PublicSettings {
    fn default() -> Self {
        PublicSettings {
            base_url: None,
            trust_forwarded_for: false,
            declarations_per_ip_per_hour: 60,
            declarations_per_phone_per_day: 5,
            lookups_per_ip_per_hour: 60,
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            accept_raw_documents: false,
            max_push_commands: 2000,
            max_pull_limit: 5000,
            max_body_bytes: 32 * 1024 * 1024,
            max_blob_bytes: 10 * 1024 * 1024,
            blob_idle_timeout: Duration::from_secs(60),
            public: PublicSettings::default(),
            deadline_interval: Duration::from_secs(300),
            security: SecuritySettings::default(),
        }
    }
}

/// Everything a request handler may need. Cheap to clone; holds no per-process state that a
/// second server process would need to see.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    /// Photo bytes, kept apart from the records.
    pub blobs: Arc<dyn BlobStore>,
    pub settings: Arc<ServerSettings>,
    /// The anti-forgery key of the resident forms (kept in the database; cached here).
    pub form_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// Where texts go; the console shows the log provider's file.
    pub sms: Arc<dyn sms::SmsProvider>,
}

impl AppState {
    pub fn new(
        storage: Arc<dyn Storage>,
        blobs: Arc<dyn BlobStore>,
        settings: ServerSettings,
    ) -> AppState {
        AppState {
            storage,
            blobs,
            settings: Arc::new(settings),
            form_key: Arc::new(tokio::sync::OnceCell::new()),
            sms: Arc::new(sms::log::LogProvider::new(
                std::env::temp_dir().join("yijian-sms.log"),
            )),
        }
    }

    /// With the SMS provider texts go to (the console shows the log provider's file).
    pub fn with_sms(mut self, sms: Arc<dyn sms::SmsProvider>) -> AppState {
        self.sms = sms;
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.storage.backend())
            .field("blobs", &self.blobs.backend())
            .field("settings", &self.settings)
            .finish()
    }
}

/// The whole HTTP application, for `serve` and for tests (`app(state).oneshot(request)`).
pub fn app(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    Router::new()
        .merge(sync_api::router())
        .merge(web::router())
        .layer(DefaultBodyLimit::max(max_body))
        // Devices may compress what they push; every JSON answer is compressed when the client
        // accepts it (zstd first: the first sync of a township is ~28 MB of JSON, ~2 MB zstd).
        .layer(RequestDecompressionLayer::new())
        // zstd level 2: a township's records (10.3 MB of JSON in the province benchmark) come to
        // 865 KB at ~680 MB/s, against 813 KB at ~89 MB/s for level 7 (`zstd -b1 -e7` here):
        // 6 % more bytes for a seventh of the server's time, which was a fifth of a first
        // sync's (docs/deploy.md).
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Precise(2)))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            web::headers::add,
        ))
        .with_state(state)
}

/// The listener `serve` accepts on: every connection with `TCP_NODELAY`. Without it, the last
/// small write of a compressed answer waits for the ACK of the one before, which the phone
/// (or nginx) delays by up to 40 ms: a township's snapshot page took 45 ms instead of 3, and a
/// first sync 0.22 s instead of 0.12 s.
fn answering_at_once(
    listener: TcpListener,
) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    fn no_delay(stream: &mut tokio::net::TcpStream) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    }
    listener.tap_io(no_delay)
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
    let listener = answering_at_once(listener);
    // The peer address feeds the resident pages' rate limits.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener as _;

    #[tokio::test]
    async fn every_connection_answers_without_waiting_for_acks() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut listener = super::answering_at_once(listener);
        let phone = tokio::spawn(tokio::net::TcpStream::connect(addr));
        let (stream, _) = listener.accept().await;
        assert!(stream.nodelay().expect("socket option"));
        drop(phone.await.expect("connect task").expect("connect"));
    }
}
