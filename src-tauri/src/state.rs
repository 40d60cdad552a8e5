//! What the app keeps while it runs: the device (its encrypted store), the lock, the inbox
//! index and the background sync.
//!
//! Every start of the app begins with the store closed: nothing can be read until the PIN (or,
//! online, the password) unwraps the data key. Once open, the screens lock again after
//! [`DEFAULT_IDLE_LOCK`] without a command (configurable with `YIJIAN_IDLE_LOCK_SECS`) and, on a
//! phone, when the app goes to the background; the key stays in this process's memory while it
//! runs, so work recorded before the lock still reaches the server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tokio::sync::{Notify, watch};
use yijian_client::inbox::InboxCache;
use yijian_client::media::PhotoFiles;
use yijian_client::store::{Account, LocalStore};
use yijian_client::views::PhotoUrls;
use yijian_client::{Device, DeviceConfig, SyncEngine};

use crate::error::{CommandError, ErrorKind};

/// Name of the photo protocol the webview loads photo files from.
pub const PHOTO_SCHEME: &str = "yjphoto";

/// Screens lock after this long without a command.
pub const DEFAULT_IDLE_LOCK: Duration = Duration::from_secs(5 * 60);

/// The app's state, managed by Tauri.
pub struct App {
    /// The data directory's keys and store; its lifecycle calls (unlock, login, wipe) go
    /// through this lock one at a time.
    pub device: tokio::sync::Mutex<Device>,
    engine: RwLock<Option<Arc<SyncEngine>>>,
    photos: RwLock<Option<PhotoFiles>>,
    pub trigger: Arc<Notify>,
    unlocked: AtomicBool,
    last_command: Mutex<Instant>,
    pub idle_lock: Duration,
    pub inbox: Arc<Mutex<InboxCache>>,
    pub urls: PhotoUrls,
    pub data_dir: PathBuf,
    /// A round is running now.
    pub syncing: Arc<AtomicBool>,
    /// A round has ended since the app started (so "never synced" is not shown as "offline").
    pub synced_once: Arc<AtomicBool>,
    /// Stops the running sync loop (app exit, wipe).
    pub stop_sync: Mutex<Option<watch::Sender<bool>>>,
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
    /// The device in `data_dir`; its store stays closed until the PIN or a sign-in.
    pub fn open(data_dir: &Path) -> Result<App, yijian_client::Error> {
        let device = Device::at(data_dir, DeviceConfig::default())?;
        let idle_lock = std::env::var("YIJIAN_IDLE_LOCK_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map_or(DEFAULT_IDLE_LOCK, Duration::from_secs);
        Ok(App {
            device: tokio::sync::Mutex::new(device),
            engine: RwLock::new(None),
            photos: RwLock::new(None),
            trigger: Arc::new(Notify::new()),
            unlocked: AtomicBool::new(false),
            last_command: Mutex::new(Instant::now()),
            idle_lock,
            inbox: Arc::new(Mutex::new(InboxCache::default())),
            urls: PhotoUrls {
                prefix: photo_url_prefix(),
            },
            data_dir: data_dir.to_path_buf(),
            syncing: Arc::new(AtomicBool::new(false)),
            synced_once: Arc::new(AtomicBool::new(false)),
            stop_sync: Mutex::new(None),
        })
    }

    /// The open store's engine.
    pub fn engine(&self) -> Result<Arc<SyncEngine>, CommandError> {
        self.engine
            .read()
            .ok()
            .and_then(|e| e.clone())
            .ok_or_else(CommandError::locked)
    }

    /// The open store's photo files (the photo protocol serves them decrypted).
    pub fn photo_files(&self) -> Option<PhotoFiles> {
        self.photos.read().ok().and_then(|p| p.clone())
    }

    /// The device opened its store: remember the engine. `true` when it is a new one (its sync
    /// loop must be started).
    pub fn opened(&self, engine: &Arc<SyncEngine>) -> bool {
        let files = engine.with_store(|s| Ok(s.photo_files())).ok();
        if let Ok(mut p) = self.photos.write() {
            *p = files;
        }
        let Ok(mut slot) = self.engine.write() else {
            return false;
        };
        let fresh = !slot.as_ref().is_some_and(|e| Arc::ptr_eq(e, engine));
        *slot = Some(Arc::clone(engine));
        fresh
    }

    /// The store was erased (logout, revocation): forget it and stop its sync loop.
    pub fn closed(&self) {
        self.set_unlocked(false);
        if let Ok(mut e) = self.engine.write() {
            *e = None;
        }
        if let Ok(mut p) = self.photos.write() {
            *p = None;
        }
        if let Ok(mut inbox) = self.inbox.lock() {
            *inbox = InboxCache::default();
        }
        if let Some(stop) = self.stop_sync.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(true);
        }
    }

    pub fn is_unlocked(&self) -> bool {
        self.unlocked.load(Ordering::SeqCst)
    }

    pub fn set_unlocked(&self, unlocked: bool) {
        if unlocked {
            self.touch();
        }
        self.unlocked.store(unlocked, Ordering::SeqCst);
    }

    fn touch(&self) {
        if let Ok(mut t) = self.last_command.lock() {
            *t = Instant::now();
        }
    }

    /// Refuse while the app is locked; a screen left alone longer than [`App::idle_lock`]
    /// locks here, whatever the webview's own timer did. Counts as the worker's activity.
    pub fn require_unlocked(&self) -> Result<(), CommandError> {
        self.check_unlocked()?;
        self.touch();
        Ok(())
    }

    /// [`App::require_unlocked`] for what the screens poll on their own (the status line):
    /// it does not keep an unattended phone open.
    pub fn require_unlocked_quietly(&self) -> Result<(), CommandError> {
        self.check_unlocked()
    }

    fn check_unlocked(&self) -> Result<(), CommandError> {
        let idle = self
            .last_command
            .lock()
            .map_or(Duration::MAX, |t| t.elapsed());
        if idle > self.idle_lock {
            self.unlocked.store(false, Ordering::SeqCst);
        }
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
        let engine = self.engine()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_lock_after_the_idle_time_and_polling_does_not_keep_them_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = App::open(dir.path()).expect("app");
        app.idle_lock = Duration::from_millis(300);
        assert!(app.require_unlocked().is_err(), "every start is locked");
        app.set_unlocked(true);
        std::thread::sleep(Duration::from_millis(200));
        app.require_unlocked().expect("a command counts as use");
        std::thread::sleep(Duration::from_millis(200));
        app.require_unlocked_quietly()
            .expect("still within the idle time");
        std::thread::sleep(Duration::from_millis(200));
        // Only the status poll ran for 400 ms: the phone locks.
        let e = app.require_unlocked_quietly().expect_err("idle");
        assert_eq!(e.kind, ErrorKind::Locked);
        assert!(!app.is_unlocked());
        assert!(app.engine().is_err(), "no store is open before the PIN");
    }
}
