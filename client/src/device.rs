//! A phone's data directory as one thing: its key file, its encrypted store, its photos, and
//! the ways in — the PIN offline, the password online — and out — logout, revocation.
//!
//! The app and the `yijian` CLI both go through [`Device`], so what a test proves about the
//! CLI's store holds for the phone's. The store cannot be opened without a key, so nothing
//! reads records before [`Device::unlock`] or [`Device::login`] has produced the engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::pin::{self, DEFAULT_MAX_FAILURES, FREE_ATTEMPTS, normalise_pin, wait_after};
use crate::store::{LocalStore, Session};
use crate::sync::api::{self, Api};
use crate::sync::{EngineConfig, LoginForm, SyncEngine};
use crate::vault::{self, DB_FILE, DataKey, KdfParams, KeyFile, WipeNote};

/// How a device guards its store.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub engine: EngineConfig,
    /// Argon2id's cost for the PIN wrap.
    pub kdf: KdfParams,
    /// Wrong PINs in a row after which only a password sign-in opens the store.
    pub max_pin_failures: u32,
    /// Keep the store in plain SQLite: only for the benchmarks' anchor ("what encryption
    /// costs"), never in the app or the CLI.
    #[doc(hidden)]
    pub plain_store_for_benchmark: bool,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            engine: EngineConfig::default(),
            kdf: KdfParams::PHONE,
            max_pin_failures: DEFAULT_MAX_FAILURES,
            plain_store_for_benchmark: false,
        }
    }
}

/// Where a device stands, which decides the screen the app shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStage {
    /// Nothing on this device: sign in online.
    Empty,
    /// A store is here but the PIN cannot open it (too many wrong PINs, or the PIN was never
    /// chosen): sign in online with the password; unsent work is kept.
    NeedsPassword,
    /// The PIN opens the store.
    NeedsPin,
    /// Signed in, store open, but no PIN yet: choose one.
    NeedsNewPin,
    /// Store open.
    Open,
}

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A phone's data directory.
pub struct Device {
    dir: PathBuf,
    config: DeviceConfig,
    keys: Option<KeyFile>,
    key: Option<DataKey>,
    engine: Option<Arc<SyncEngine>>,
    clock: Clock,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("dir", &self.dir)
            .field("open", &self.engine.is_some())
            .finish_non_exhaustive()
    }
}

impl Device {
    /// The device whose data lives in `dir` (created if needed). Nothing is decrypted yet.
    pub fn at(dir: &Path, config: DeviceConfig) -> Result<Device> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Device {
            keys: KeyFile::load(dir)?,
            dir: dir.to_path_buf(),
            config,
            key: None,
            engine: None,
            clock: Arc::new(Utc::now),
        })
    }

    /// Use another clock (tests: waiting out the PIN's back-off).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    fn has_plain_store(&self) -> bool {
        vault::is_plain_sqlite(&self.db_path())
    }

    pub fn stage(&self) -> DeviceStage {
        let pin_usable = self
            .keys
            .as_ref()
            .is_some_and(|k| k.pin.is_some() && !k.locked_out);
        if self.engine.is_some() {
            return if pin_usable {
                DeviceStage::Open
            } else {
                DeviceStage::NeedsNewPin
            };
        }
        let wrapped = self
            .keys
            .as_ref()
            .is_some_and(|k| k.locked_out || k.escrow.is_some());
        if pin_usable || (self.has_plain_store() && !wrapped && self.legacy_has_pin()) {
            DeviceStage::NeedsPin
        } else if self.keys.is_some() || self.db_path().exists() {
            DeviceStage::NeedsPassword
        } else {
            DeviceStage::Empty
        }
    }

    /// The open store's engine (`None` while locked).
    pub fn engine(&self) -> Option<Arc<SyncEngine>> {
        self.engine.clone()
    }

    /// Why this phone was emptied, if it was (shown once on the first screen).
    pub fn wipe_note(&self) -> Option<WipeNote> {
        vault::wipe_note(&self.dir)
    }

    /// Wrong PINs entered so far (for "还可以再试N次").
    pub fn pin_failures(&self) -> u32 {
        self.keys.as_ref().map_or(0, |k| k.failures)
    }

    fn save_keys(&self) -> Result<()> {
        match &self.keys {
            Some(k) => k.save(&self.dir),
            None => Ok(()),
        }
    }

    /// A store made before encryption kept a PIN hash in plain; the upgrade checks the PIN
    /// against it once.
    fn legacy_has_pin(&self) -> bool {
        LocalStore::open_unencrypted(&self.db_path())
            .and_then(|s| s.meta(pin::LEGACY_HASH_KEY))
            .is_ok_and(|h| h.is_some())
    }

    /// Open the store with `key`, first encrypting a plain store in place (the key wraps must
    /// already be saved: a store encrypted under a key nobody holds would be lost).
    fn open_store(&mut self, key: &DataKey) -> Result<Arc<SyncEngine>> {
        let store = if self.config.plain_store_for_benchmark {
            LocalStore::open_unencrypted(&self.db_path())?
        } else {
            if self.has_plain_store() {
                encrypt_in_place(&self.dir, key)?;
            }
            LocalStore::open(&self.db_path(), key)?
        };
        let engine = Arc::new(SyncEngine::with_config(store, self.config.engine.clone())?);
        self.key = Some(key.clone());
        self.engine = Some(Arc::clone(&engine));
        Ok(engine)
    }

    /// Open the store with the PIN, offline. Wrong PINs are counted; after
    /// [`FREE_ATTEMPTS`] each try waits ([`Error::Locked`]), and after the configured maximum
    /// the PIN is erased from the key file ([`Error::LockedOut`]).
    pub fn unlock(&mut self, pin: &str) -> Result<Arc<SyncEngine>> {
        if let Some(engine) = &self.engine {
            // Already open (the app's screen lock): the PIN is still checked below.
            let engine = Arc::clone(engine);
            self.check_pin(pin)?;
            return Ok(engine);
        }
        let wrapped = self
            .keys
            .as_ref()
            .is_some_and(|k| k.pin.is_some() || k.locked_out || k.escrow.is_some());
        if !wrapped && self.has_plain_store() {
            return self.unlock_legacy(pin);
        }
        let key = self.check_pin(pin)?;
        self.open_store(&key)
    }

    /// The data key if `pin` opens the PIN wrap; counts failures.
    fn check_pin(&mut self, pin: &str) -> Result<DataKey> {
        let now = (self.clock)();
        let Some(keys) = self.keys.as_mut() else {
            return Err(Error::invalid("本机尚未登录，请先联网登录"));
        };
        if keys.locked_out || keys.pin.is_none() {
            return Err(Error::LockedOut);
        }
        if let Some(until) = keys.wait_until
            && until > now
        {
            let secs = (until - now).num_seconds().max(1);
            return Err(Error::Locked {
                retry_after_s: u64::try_from(secs).unwrap_or(1),
            });
        }
        // A PIN of the wrong form is simply wrong: it counts like any other failure.
        let key = match normalise_pin(pin) {
            Ok(p) => keys.unwrap_pin(&p)?,
            Err(_) => None,
        };
        if let Some(key) = key {
            keys.failures = 0;
            keys.wait_until = None;
            self.save_keys()?;
            return Ok(key);
        }
        Err(self.count_failure(now))
    }

    /// Count a wrong PIN; the error says what happens next.
    fn count_failure(&mut self, now: DateTime<Utc>) -> Error {
        let max = self.config.max_pin_failures;
        let keys = self.keys.get_or_insert_with(KeyFile::default);
        keys.failures = keys.failures.saturating_add(1);
        let failures = keys.failures;
        if failures >= max {
            keys.pin = None;
            keys.locked_out = true;
            keys.wait_until = None;
            // Also out of this process's memory: an idle-locked app that was open needs the
            // password now, like a closed one.
            self.engine = None;
            self.key = None;
            tracing::warn!(failures, "too many wrong PINs: the PIN wrap is erased");
            return self.save_keys().err().unwrap_or(Error::LockedOut);
        }
        let wait = wait_after(failures);
        let error = if wait > chrono::Duration::zero() {
            keys.wait_until = Some(now + wait);
            Error::Locked {
                retry_after_s: u64::try_from(wait.num_seconds()).unwrap_or(30),
            }
        } else {
            let left = FREE_ATTEMPTS - failures;
            Error::field(
                "pin",
                format!("PIN不正确，还可以再试{left}次，之后需要等待"),
            )
        };
        self.save_keys().err().unwrap_or(error)
    }

    /// A store from before encryption: the PIN is checked against its old hash, then the store
    /// and its photos are encrypted under a new key wrapped by that PIN.
    fn unlock_legacy(&mut self, pin: &str) -> Result<Arc<SyncEngine>> {
        let now = (self.clock)();
        if let Some(until) = self.keys.as_ref().and_then(|k| k.wait_until)
            && until > now
        {
            let secs = (until - now).num_seconds().max(1);
            return Err(Error::Locked {
                retry_after_s: u64::try_from(secs).unwrap_or(1),
            });
        }
        let plain = LocalStore::open_unencrypted(&self.db_path())?;
        let ok = pin::legacy_pin_matches(&plain, pin)?;
        drop(plain);
        if !ok {
            return Err(self.count_failure(now));
        }
        let key = DataKey::generate()?;
        let mut keys = self.keys.take().unwrap_or_default();
        keys.wrap_pin(&key, &normalise_pin(pin)?, self.config.kdf)?;
        self.keys = Some(keys);
        self.save_keys()?;
        tracing::info!("encrypting a store made before encryption");
        self.open_store(&key)
    }

    /// A new store on a device with nothing on it, wrapped by `pin` alone (scripts that work
    /// offline before any sign-in; the escrow wrap is added at the first login).
    pub fn create_offline(&mut self, pin: &str) -> Result<Arc<SyncEngine>> {
        if self.stage() != DeviceStage::Empty {
            return Err(Error::invalid("本机已有数据"));
        }
        let pin = normalise_pin(pin)?;
        let key = DataKey::generate()?;
        let mut keys = KeyFile::default();
        keys.wrap_pin(&key, &pin, self.config.kdf)?;
        self.keys = Some(keys);
        self.save_keys()?;
        self.open_store(&key)
    }

    /// Choose (or change) the PIN: the store must be open.
    pub fn set_pin(&mut self, pin: &str) -> Result<()> {
        let pin = normalise_pin(pin)?;
        let key = self.key.clone().ok_or_else(|| Error::invalid("请先登录"))?;
        let mut keys = self.keys.take().unwrap_or_default();
        let result = keys.wrap_pin(&key, &pin, self.config.kdf);
        self.keys = Some(keys);
        result?;
        self.save_keys()
    }

    /// Sign in online with the password. Opens the store in every stage: a new phone gets a
    /// new store; a phone whose PIN was forgotten or locked out gets its own store back through
    /// the server's escrow key, unsent work included (then a new PIN is chosen).
    pub async fn login(
        &mut self,
        server: &str,
        login: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session> {
        let form = LoginForm::check(server, login, password)?;
        let server = form.server.clone();
        let cfg = &self.config.engine;
        let http = api::client(cfg)?;
        let previous = match &self.engine {
            Some(engine) => engine.with_store(|s| s.previous_device_id(&server))?,
            None => self
                .keys
                .as_ref()
                .and_then(|k| k.escrow.as_ref())
                .filter(|e| e.server == server)
                .map(|e| e.device_id.clone()),
        }
        .and_then(|id| id.parse::<yijian_core::ids::DeviceId>().ok());
        let resp = Api::new(http.clone(), &server, None, cfg.compress_above)
            .login(&form.login, password, device_name, previous)
            .await
            .map_err(|e| match e {
                // At the login form a refusal is about what was typed, not a lost session.
                Error::Unauthenticated { .. } => Error::field("password", "手机号或密码不正确"),
                other => other,
            })?;
        let session = Session {
            server: server.clone(),
            token: resp.token.clone(),
            device_id: resp.device_id,
            user: resp.user.clone(),
            token_rejected: false,
        };
        let authed = Api::new(http, &server, Some(resp.token), cfg.compress_above);
        let escrow_key = authed.device_key().await?;
        let device_id = session.device_id.to_string();
        let user_id = session.user.id.to_string();
        // An open store takes the session first: another user's sign-in is refused while the
        // first user's work is unsent, before anything about the keys changes.
        if let Some(engine) = &self.engine
            && let Err(e) = engine.adopt_session(&session)
        {
            let _ = authed.logout().await;
            return Err(e);
        }
        let key = match (&self.key, &self.keys) {
            (Some(key), _) => key.clone(),
            (None, Some(keys))
                if keys.escrow.as_ref().is_some_and(|e| {
                    e.server == server && e.device_id == device_id && e.user_id == user_id
                }) =>
            {
                match keys.unwrap_escrow(&escrow_key)? {
                    Some(key) => key,
                    // The server dropped this device's escrow key: an administrator revoked
                    // it (the sign-in lifted the revocation). A PIN that still works keeps the
                    // store; otherwise it can never be opened again: erase it and start anew.
                    None if keys.pin.is_some() && !keys.locked_out => {
                        let _ = authed.logout().await;
                        return Err(Error::invalid(
                            "服务器已不再保管本机的密钥（本机可能被停用过）。请用PIN解锁后同步",
                        ));
                    }
                    None => {
                        self.erase(Some(&WipeNote {
                            at: (self.clock)(),
                            reason_zh: "本机曾被管理员停用，原有数据已无法打开，已清除；\
                                        请重新开始使用。"
                                .into(),
                        }))?;
                        DataKey::generate()?
                    }
                }
            }
            (None, _)
                if self.db_path().exists()
                    && !self.has_plain_store()
                    && !self.config.plain_store_for_benchmark =>
            {
                let _ = authed.logout().await;
                return Err(Error::invalid(
                    "本机保存着另一账号（或另一服务器）的数据，需由原账号登录取回；\
                     如该手机已交接，请管理员在控制台停用原设备后再登录",
                ));
            }
            (None, _) => DataKey::generate()?,
        };
        let mut keys = self.keys.take().unwrap_or_default();
        keys.wrap_escrow(&key, &escrow_key, &server, &device_id, &user_id)?;
        keys.failures = 0;
        keys.wait_until = None;
        keys.locked_out = false;
        // After a password sign-in a new PIN is chosen (a forgotten one, another user's, or
        // one that was being guessed is never kept).
        keys.pin = None;
        self.keys = Some(keys);
        self.save_keys()?;
        if self.engine.is_none() {
            let engine = self.open_store(&key)?;
            engine.adopt_session(&session)?;
        }
        let _ = std::fs::remove_file(self.dir.join(vault::WIPE_NOTE));
        Ok(session)
    }

    /// A store opened with the PIN that has no escrow wrap yet (upgraded from a plain store,
    /// or made offline): add it with the session's token, so a forgotten PIN never loses it.
    /// Best effort; needs the network.
    pub async fn ensure_escrow(&mut self) -> Result<()> {
        let (Some(engine), Some(key)) = (&self.engine, &self.key) else {
            return Ok(());
        };
        if self.keys.as_ref().is_some_and(|k| k.escrow.is_some()) {
            return Ok(());
        }
        let Some(session) = engine.with_store(|s| s.session())? else {
            return Ok(());
        };
        if session.token_rejected {
            return Ok(());
        }
        let Some(api) = engine.session_api()? else {
            return Ok(());
        };
        let escrow_key = api.device_key().await?;
        let key = key.clone();
        let keys = self.keys.get_or_insert_with(KeyFile::default);
        keys.wrap_escrow(
            &key,
            &escrow_key,
            &session.server,
            &session.device_id.to_string(),
            &session.user.id.to_string(),
        )?;
        self.save_keys()
    }

    /// Records, photos and commands that would be lost by erasing the store now.
    pub fn unsent(&self) -> Result<u64> {
        match &self.engine {
            Some(e) => e.with_store(|s| {
                let st = s.status()?;
                let unsaved = s.unsaved_work()?;
                Ok(st.outbox + st.quarantine + st.photos_pending + st.photos_failed + unsaved)
            }),
            None => Ok(0),
        }
    }

    /// Sign out: the server revokes the token (when reachable) and the store is erased. With
    /// unsent work, nothing happens unless `erase_unsent` confirms ([`Error::UnsentWork`]).
    pub async fn logout(&mut self, erase_unsent: bool) -> Result<()> {
        let unsent = self.unsent()?;
        if unsent > 0 && !erase_unsent {
            return Err(Error::UnsentWork(unsent));
        }
        let api = match &self.engine {
            Some(engine) => {
                let api = engine.session_api()?;
                engine.revoke_token().await;
                api
            }
            None => None,
        };
        self.erase(None)?;
        // The console then shows the phone as emptied, like a revoked one.
        if let Some(api) = api {
            let _ = api.confirm_wiped().await;
        }
        Ok(())
    }

    /// The server said this device is revoked: erase everything, then confirm (best effort;
    /// the console shows the confirmation).
    pub async fn wipe_revoked(&mut self) -> Result<()> {
        let api = match &self.engine {
            Some(e) => e.session_api()?,
            None => None,
        };
        self.erase(Some(&WipeNote {
            at: (self.clock)(),
            reason_zh: "管理员在控制台停用了本机，本机保存的户籍、走访和照片已全部清除。".into(),
        }))?;
        tracing::warn!("device revoked: local store erased");
        if let Some(api) = api
            && let Err(e) = api.confirm_wiped().await
        {
            tracing::info!(error = %e, "wipe confirmation did not reach the server");
        }
        Ok(())
    }

    /// Whether `engine` is this device's open store (not one erased or replaced since).
    pub fn is_current(&self, engine: &Arc<SyncEngine>) -> bool {
        self.engine.as_ref().is_some_and(|e| Arc::ptr_eq(e, engine))
    }

    /// After any engine call: a revocation erases the store at once.
    pub async fn on_error(&mut self, e: &Error) -> Result<()> {
        if e.kind() == ErrorKind::Revoked && self.engine.is_some() {
            self.wipe_revoked().await?;
        }
        Ok(())
    }

    fn erase(&mut self, note: Option<&WipeNote>) -> Result<()> {
        self.engine = None;
        self.key = None;
        self.keys = None;
        vault::wipe_dir(&self.dir, note)
    }
}

/// Encrypt a plain store (and its photos) under `key`: `sqlcipher_export` into a new file,
/// photos sealed beside the plain ones, then the new file replaces the old and the plain
/// photos are removed. A crash at any point leaves either the plain store (done again at the
/// next open) or the encrypted one whole.
fn encrypt_in_place(dir: &Path, key: &DataKey) -> Result<()> {
    let db = dir.join(DB_FILE);
    let tmp = dir.join(format!("{DB_FILE}.encrypting"));
    let _ = std::fs::remove_file(&tmp);
    {
        let plain = rusqlite::Connection::open(&db)?;
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![tmp.to_string_lossy(), key.raw_key_literal().as_str()],
        )?;
        plain.execute_batch(&format!(
            "PRAGMA encrypted.cipher_page_size = {}; PRAGMA encrypted.cipher_hmac_algorithm = {};",
            crate::store::CIPHER_PAGE_SIZE,
            crate::store::CIPHER_HMAC
        ))?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.execute_batch("DETACH DATABASE encrypted;")?;
    }
    let photos = crate::media::PhotoFiles::new(dir.join("photos"), Some(key.photo_cipher()));
    let mut plain_photos = Vec::new();
    if let Ok(entries) = std::fs::read_dir(photos.dir()) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(sha) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jpg"))
                .filter(|s| s.len() == 64)
                .map(str::to_owned)
            else {
                continue;
            };
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            // A sealed copy left by an earlier, interrupted attempt may be under another key.
            let _ = std::fs::remove_file(photos.path(&sha));
            photos.write(&sha, &bytes)?;
            plain_photos.push(path);
        }
    }
    // The sealed copies are on disk: the plain photos (and half-written ones) go before the
    // plain database does, so no crash leaves a plain photo behind an encrypted store.
    if let Ok(entries) = std::fs::read_dir(photos.dir()) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.to_string_lossy().ends_with(".jpg.part") {
                plain_photos.push(path);
            }
        }
    }
    for p in &plain_photos {
        std::fs::remove_file(p).map_err(|e| Error::io(p, e))?;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{DB_FILE}{suffix}")));
    }
    std::fs::rename(&tmp, &db).map_err(|e| Error::io(&db, e))?;
    {
        // The old PIN hash is not needed any more: the PIN now wraps the key.
        let store = LocalStore::open(&db, key)?;
        for k in [pin::LEGACY_HASH_KEY, "pin_failures", "pin_locked_until"] {
            store.delete_meta(k)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
