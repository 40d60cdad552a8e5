//! The real server application on a real port, in-process.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use yijian_core::division::DivisionCode;
use yijian_core::protocol::auth::Account;
use yijian_core::role::Role;
use yijian_server::blobstore::{BlobStore, DiskBlobStore};
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::accounts::NewUser;
use yijian_server::store::Storage;
use yijian_server::{AppState, ServerSettings, serve, store};

/// A server running on `127.0.0.1:<free port>`; shut down gracefully on [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    pub storage: Arc<dyn Storage>,
    pub blobs: Arc<dyn BlobStore>,
    /// Where blobs go when the database has no data directory (PostgreSQL); removed on drop.
    _blob_dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TestServer {
    /// Open the storage (migrating it), bind port 0 and wait until `/healthz` answers.
    pub async fn start(database: DatabaseLocation) -> Result<TestServer> {
        TestServer::start_with(database, ServerSettings::default()).await
    }

    /// Like [`TestServer::start`], with non-default settings.
    pub async fn start_with(
        database: DatabaseLocation,
        settings: ServerSettings,
    ) -> Result<TestServer> {
        TestServer::start_at(database, settings, "127.0.0.1:0".parse()?).await
    }

    /// Like [`TestServer::start_with`], on a given address: a server stopped and started
    /// again on its old port, as when a county's machine comes back.
    pub async fn start_at(
        database: DatabaseLocation,
        settings: ServerSettings,
        addr: SocketAddr,
    ) -> Result<TestServer> {
        let storage = store::open(&database).await?;
        // Blobs live next to an SQLite database (so a restarted server finds them), in a
        // throwaway directory otherwise.
        let (blob_root, blob_dir) = match &database {
            DatabaseLocation::Sqlite { data_dir } => (data_dir.join("blobs"), None),
            DatabaseLocation::Postgres { .. } => {
                let dir = tempfile::tempdir()?;
                (dir.path().join("blobs"), Some(dir))
            }
        };
        let blobs: Arc<dyn BlobStore> = Arc::new(DiskBlobStore::open(blob_root).await?);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let state = AppState::new(Arc::clone(&storage), Arc::clone(&blobs), settings);
        let task = tokio::spawn(serve(listener, state, async {
            let _ = rx.await;
        }));
        let server = TestServer {
            addr,
            storage,
            blobs,
            _blob_dir: blob_dir,
            stop: Some(tx),
            task,
        };
        server.wait_healthy(Duration::from_secs(30)).await?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Create a user directly in the server's storage.
    pub async fn create_user(
        &self,
        login: &str,
        role: Role,
        scope: &str,
        password: &str,
    ) -> Result<Account> {
        let (user, hash) = NewUser {
            login: login.to_owned(),
            name: format!("测试{}", role.name_zh()),
            role,
            scope: DivisionCode::parse(scope)?,
            password: password.to_owned(),
        }
        .prepare()?;
        self.storage.create_user(&user, &hash).await?;
        Ok(user)
    }

    /// Poll `/healthz` until it answers 200.
    pub async fn wait_healthy(&self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let addr = self.addr;
        loop {
            let r = tokio::task::spawn_blocking(move || crate::http::get(addr, "/healthz")).await?;
            if let Ok((200, _)) = r {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("server at {addr} not healthy within {within:?}: {r:?}");
            }
            tokio::task::yield_now().await;
        }
    }

    /// `GET path` on this server.
    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        let addr = self.addr;
        let path = path.to_owned();
        let (status, body) =
            tokio::task::spawn_blocking(move || crate::http::get(addr, &path)).await??;
        Ok((
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        ))
    }

    /// Graceful shutdown: in-flight requests finish.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}
