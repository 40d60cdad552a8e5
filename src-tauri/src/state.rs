//! What the app keeps while it runs: the device engine, the lock, the inbox index and the
//! background sync.
//!
//! The lock is in memory on purpose: every start of the app begins locked, so a phone left on
//! a table or taken from a worker opens only with the PIN. Sync keeps running while locked —
//! work recorded before the lock still reaches the server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tokio::sync::{Notify, watch};
use yijian_client::inbox::InboxCache;
use yijian_client::store::{Account, LocalStore};
use yijian_client::views::PhotoUrls;
use yijian_client::{EngineConfig, SyncEngine};

use crate::error::{CommandError, ErrorKind};

/// Name of the photo protocol the webview loads photo files from.
pub const PHOTO_SCHEME: &str = "yjphoto";

/// The app's state, managed by Tauri.
pub struct App {
    pub engine: Arc<SyncEngine>,
    pub trigger: Arc<Notify>,
    unlocked: AtomicBool,
    pub inbox: Arc<Mutex<InboxCache>>,
    pub urls: PhotoUrls,
    pub data_dir: PathBuf,
    /// Where photo files are (`photos/` next to the database), for the photo protocol.
    pub photos_dir: PathBuf,
    /// A round is running now.
    pub syncing: Arc<AtomicBool>,
    /// A round has ended since the app started (so "never synced" is not shown as "offline").
    pub synced_once: Arc<AtomicBool>,
    pub shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// The URL prefix of the photo protocol: custom schemes are `scheme://localhost/` on Linux,
/// macOS and iOS, and `http://scheme.localhost/` on Windows and Android.
pub fn photo_url_prefix() -> String {
    if cfg!(any(windows, target_os = "android")) {
        format!("http://{PHOTO_SCHEME}.localhost/")
    } else {
        format!("{PHOTO_SCHEME}://localhost/")
    }
}

impl App {
    /// Open (or create) the phone's database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<App, yijian_client::Error> {
        let store = LocalStore::open(&data_dir.join("yijian.db"))?;
        let photos_dir = store.photos_dir();
        let engine = Arc::new(SyncEngine::with_config(store, EngineConfig::default())?);
        let (shutdown, _) = watch::channel(false);
        Ok(App {
            engine,
            trigger: Arc::new(Notify::new()),
            unlocked: AtomicBool::new(false),
            inbox: Arc::new(Mutex::new(InboxCache::default())),
            urls: PhotoUrls {
                prefix: photo_url_prefix(),
            },
            data_dir: data_dir.to_path_buf(),
            photos_dir,
            syncing: Arc::new(AtomicBool::new(false)),
            synced_once: Arc::new(AtomicBool::new(false)),
            shutdown,
        })
    }

    pub fn is_unlocked(&self) -> bool {
        self.unlocked.load(Ordering::SeqCst)
    }

    pub fn set_unlocked(&self, unlocked: bool) {
        self.unlocked.store(unlocked, Ordering::SeqCst);
    }

    /// Refuse while the app is locked.
    pub fn require_unlocked(&self) -> Result<(), CommandError> {
        if self.is_unlocked() {
            Ok(())
        } else {
            Err(CommandError::locked())
        }
    }

    /// Run `f` on the store on the blocking pool: SQLite and file work never run on the
    /// thread that serves the webview.
    pub async fn store<R, F>(&self, f: F) -> Result<R, CommandError>
    where
        R: Send + 'static,
        F: FnOnce(&mut LocalStore) -> yijian_client::Result<R> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        tauri::async_runtime::spawn_blocking(move || engine.with_store(f))
            .await
            .map_err(|e| CommandError::new(ErrorKind::Internal, format!("后台任务失败：{e}")))?
            .map_err(CommandError::from)
    }

    /// The signed-in user (unlocked app only).
    pub async fn account(&self) -> Result<Account, CommandError> {
        self.require_unlocked()?;
        self.store(|s| {
            s.session()?
                .map(|s| s.user)
                .ok_or(yijian_client::Error::NotLoggedIn)
        })
        .await
    }

    /// A local change was recorded: sync as soon as there is a connection.
    pub fn wrote(&self) {
        self.trigger.notify_one();
    }
}

/// Today in Beijing.
pub fn today() -> NaiveDate {
    yijian_core::time::china_date(chrono::Utc::now())
}
