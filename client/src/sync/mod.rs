//! The sync engine: pushes the outbox, pulls the change feed, uploads photos.
//!
//! One round ([`SyncEngine::sync_once`]) is, in this order:
//! 1. **push** the outbox in order, in batches; acknowledged commands leave it, refused ones go to
//!    the quarantine with the server's reason and never block the rest, and a batch that did
//!    not get through stays with its attempt counted;
//! 2. **pull**: the first sync reads the snapshot page by page (resumable: the next page token
//!    is saved with each page's rows), then the change feed from the saved cursor until the
//!    server has nothing more; every page is written with its cursor in one transaction;
//! 3. **photos**: one by one, only those whose metadata record the server has acknowledged,
//!    resuming from the bytes the server already holds, each with its own backoff.
//!
//! The decisions live in [`plan`] (no I/O); the HTTP calls in `api`; the rules about what a
//! pull may overwrite in [`crate::store`]. [`run_sync_loop`] runs rounds in the background, on a
//! trigger (a local write) and on a timer, backing off after failures.

pub mod plan;

pub(crate) mod api;
mod photos;
mod runner;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::value::RawValue;
use yijian_core::protocol::SnapshotPage;

use crate::error::{Error, ErrorKind, Result};
use crate::store::{FeedPosition, LocalStore, PullState, PushTally, Session};
use api::{Api, ProcedureAnswer};
pub use plan::Backoff;
pub use runner::{LoopConfig, run_sync_loop, run_sync_loop_observed};

/// Which part of a round is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Push,
    Pull,
    Snapshot,
    Photos,
}

/// A progress event: what a progress bar shows. Totals are 0 when unknown (the change feed does
/// not say how much is left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncProgress {
    pub phase: Phase,
    pub records_done: u64,
    pub records_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// The photo being uploaded: `(sha256, bytes the server holds, bytes in all)`.
    pub photo: Option<(String, u64, u64)>,
}

/// Receives progress events; called from the sync task, so it must be quick.
pub type ProgressFn = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

/// Tunables; the defaults suit a phone on a slow mobile network.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most commands per push (the server takes up to 2000).
    pub push_batch: usize,
    /// Records per change-feed page.
    pub pull_limit: u32,
    /// Records per snapshot page.
    pub snapshot_limit: u32,
    /// Bytes per photo upload request.
    pub photo_chunk: u64,
    /// Push bodies larger than this are sent zstd-compressed.
    pub compress_above: usize,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Backoff of one photo after a transient failure.
    pub photo_backoff: Backoff,
    /// Keep connections open between requests. Off, every request opens its own connection,
    /// as on a link that drops idle connections (fault tests use this to make every request
    /// face the link on its own).
    pub reuse_connections: bool,
    /// Certificate authorities (PEM) trusted besides the public ones: a province whose server
    /// certificate comes from its own authority lists it here.
    pub extra_root_certificates: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            push_batch: 500,
            pull_limit: 1000,
            snapshot_limit: 1000,
            photo_chunk: 256 * 1024,
            compress_above: 8 * 1024,
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(300),
            photo_backoff: Backoff::default(),
            reuse_connections: true,
            extra_root_certificates: Vec::new(),
        }
    }
}

/// What one round did; `yijian sync` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub pushed: PushTally,
    pub push_batches: u64,
    /// Push request bytes as sent (zstd-compressed when large).
    pub bytes_sent: u64,
    /// Records written to the device's view by pull or snapshot.
    pub pulled: u64,
    /// Pulled records kept aside because a local change to them is pending.
    pub kept_aside: u64,
    /// Snapshot pages read in this round (first sync).
    pub snapshot_pages: u64,
    /// Response bytes of pull and snapshot, after decompression (the wire carries less).
    pub bytes_received: u64,
    pub photos_uploaded: u64,
    pub photos_failed: u64,
    /// Photos that failed transiently and wait for their backoff.
    pub photos_retry_later: u64,
    pub photo_bytes_sent: u64,
    pub outbox_left: u64,
    pub quarantine: u64,
    pub cursor: Option<String>,
    pub duration_ms: u64,
}

/// A snapshot page requested ahead: `(its page token, the request)`.
type Prefetch = (Option<String>, Ahead<api::Fetched<SnapshotPage>>);

/// A change-feed page requested ahead: `(the cursor it was asked with, the request)`.
type FeedAhead = (
    String,
    Ahead<api::Fetched<yijian_core::protocol::PullResponse>>,
);

/// A request running beside the round's own work (writing the page or the answer before it).
/// Dropped — the round cancelled, or the answer no longer wanted — it is aborted, never left to
/// finish on its own beside the next round.
struct Ahead<R: Send + 'static>(tokio::task::JoinHandle<Result<R>>);

impl<R: Send + 'static> Ahead<R> {
    fn start(request: impl Future<Output = Result<R>> + Send + 'static) -> Ahead<R> {
        Ahead(tokio::spawn(request))
    }

    async fn answer(mut self) -> Result<R> {
        match (&mut self.0).await {
            Ok(answer) => answer,
            // A bug in the request, not a network failure to retry with backoff.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::Network {
                detail: e.to_string(),
            }),
        }
    }
}

impl<R: Send + 'static> Drop for Ahead<R> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run the device's own work (SQLite, milliseconds) while a request started with [`Ahead`] is
/// in flight. A task spawned from a runtime worker waits in that worker's own slot, which no
/// other thread takes from, until the worker is free: on a multi-threaded runtime (the app's)
/// the worker first hands its queue, the request with it, to another thread. On a
/// current-thread runtime (the command line) the request waits, as it must.
fn beside_requests<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The server's answer to one pushed batch, waiting to be written to the outbox.
struct Answered {
    actions: Vec<crate::store::OutboxAction>,
    /// Commands answered so far in this push, this batch's included.
    done: u64,
    bytes: u64,
}

/// The device engine: the local store plus the ability to sync it.
pub struct SyncEngine {
    store: Mutex<LocalStore>,
    http: reqwest::Client,
    config: EngineConfig,
    progress: Mutex<Option<ProgressFn>>,
    /// One round at a time (the loop and a "sync now" button may race).
    round: tokio::sync::Mutex<()>,
    /// The next snapshot page, already requested.
    prefetch: Mutex<Option<Prefetch>>,
    /// The first feed page after a push, already requested.
    feed_ahead: Mutex<Option<FeedAhead>>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    pub fn new(store: LocalStore) -> Result<SyncEngine> {
        SyncEngine::with_config(store, EngineConfig::default())
    }

    pub fn with_config(store: LocalStore, config: EngineConfig) -> Result<SyncEngine> {
        Ok(SyncEngine {
            store: Mutex::new(store),
            http: api::client(&config)?,
            config,
            progress: Mutex::new(None),
            round: tokio::sync::Mutex::new(()),
            prefetch: Mutex::new(None),
            feed_ahead: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn lock(&self) -> Result<MutexGuard<'_, LocalStore>> {
        self.store
            .lock()
            .map_err(|_| Error::Corrupt("本机数据库连接因先前的错误不可用，请重启应用".into()))
    }

    /// Run `f` on the local store. The lock is held only for `f`: never `.await` inside.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut LocalStore) -> Result<R>) -> Result<R> {
        f(&mut *self.lock()?)
    }

    /// Receive progress events from now on.
    pub fn set_progress(&self, f: impl Fn(&SyncProgress) + Send + Sync + 'static) {
        if let Ok(mut p) = self.progress.lock() {
            *p = Some(Arc::new(f));
        }
    }

    fn emit(&self, p: SyncProgress) {
        let f = self.progress.lock().ok().and_then(|g| g.clone());
        if let Some(f) = f {
            f(&p);
        }
    }

    /// Keep a session a password sign-in produced ([`crate::device::Device::login`]). A
    /// different user on this device starts from an empty view; refused while the previous
    /// user's work is unsent.
    pub(crate) fn adopt_session(&self, session: &Session) -> Result<()> {
        self.with_store(|s| s.save_session(session))
    }

    /// Revoke this device's token on the server (best effort) and forget it here.
    pub(crate) async fn revoke_token(&self) {
        if let Ok(Some(session)) = self.with_store(|s| s.session()) {
            let api = self.api(&session);
            if let Err(e) = api.logout().await {
                tracing::info!(error = %e, "logout did not reach the server");
            }
        }
    }

    /// The session's API client, if signed in (even with a rejected token: a revoked device
    /// confirms its wipe with it).
    pub(crate) fn session_api(&self) -> Result<Option<Api>> {
        Ok(self.with_store(|s| s.session())?.map(|s| self.api(&s)))
    }

    fn api(&self, session: &Session) -> Api {
        Api::new(
            self.http.clone(),
            &session.server,
            Some(session.token.clone()),
            self.config.compress_above,
        )
    }

    /// The session to sync with, or why there is none.
    fn session(&self) -> Result<Session> {
        match self.with_store(|s| s.session())? {
            None => Err(Error::NotLoggedIn),
            Some(s) if s.token_rejected => Err(Error::Unauthenticated {
                code: "unauthenticated".into(),
                message: "登录已失效，请重新登录".into(),
            }),
            Some(s) => Ok(s),
        }
    }

    /// One round: push, pull, photos. The outcome is remembered for the status screen; a 401
    /// marks the token rejected so nothing retries it until the worker logs in again.
    pub async fn sync_once(&self) -> Result<SyncReport> {
        let _round = self.round.lock().await;
        let started = Instant::now();
        let result = self.round(started).await;
        let noted = self.with_store(|s| {
            if let Err(e) = &result
                && e.kind() == ErrorKind::Unauthenticated
                && !matches!(e, Error::NotLoggedIn)
            {
                s.mark_token_rejected()?;
            }
            s.note_sync_result(result.as_ref().err().map(|e| e.to_string()).as_deref())
        });
        let report = result?;
        noted?;
        Ok(report)
    }

    /// Push the outbox only (no pull, no photos): a "send now" for a weak signal, and what the
    /// benchmark times as a push.
    pub async fn push_now(&self) -> Result<SyncReport> {
        let _round = self.round.lock().await;
        let started = Instant::now();
        let session = self.session()?;
        let api = self.api(&session);
        let mut report = SyncReport::default();
        self.push(&api, &session, &mut report, false).await?;
        report.outbox_left = self.with_store(|s| s.outbox_len())?;
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }

    async fn round(&self, started: Instant) -> Result<SyncReport> {
        let session = self.session()?;
        let api = self.api(&session);
        let mut report = SyncReport::default();
        // A feed page asked for in a round that failed afterwards is not this round's.
        drop(self.feed_ahead.lock().ok().and_then(|mut p| p.take()));
        // The procedure and the office's messages do not depend on the records: fetched while
        // the push and pull run, a round costs the longest of the three, not their sum.
        let (records, (), ()) = tokio::join!(
            async {
                self.push(&api, &session, &mut report, true).await?;
                self.pull(&api, &mut report).await
            },
            self.refresh_procedure(&api),
            self.fetch_notices(&api),
        );
        records?;
        self.upload_photos(&api, &mut report).await?;
        let status = self.with_store(|s| s.status())?;
        report.outbox_left = status.outbox;
        report.quarantine = status.quarantine;
        report.cursor = status.cursor;
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }

    /// Keep the calendar, rules and templates the server publishes. Best effort: an older
    /// server without the endpoint, or a bad document, leaves the phone's copy as it was.
    async fn refresh_procedure(&self, api: &Api) {
        let held = self.with_store(|s| s.procedure_tag()).ok().flatten();
        let (doc, tag) = match api.procedure(held.as_deref()).await {
            Ok(ProcedureAnswer::Unchanged) => return,
            Ok(ProcedureAnswer::New { doc, tag }) => (doc, tag),
            Err(e) => {
                tracing::info!(error = %e, "procedure not refreshed");
                return;
            }
        };
        let saved = self.with_store(|s| s.keep_procedure(&doc, tag.as_deref()));
        if let Err(e) = saved {
            tracing::warn!(error = %e, "procedure from the server not kept");
        }
    }

    /// Fetch the office's new messages. Best effort, like the procedure: an older server
    /// without the endpoint or a lost answer leaves the phone's messages as they were, and the
    /// next round asks again from the same id, so nothing is skipped or kept twice.
    async fn fetch_notices(&self, api: &Api) {
        // A bound, so a server that keeps answering `has_more` cannot hold the round.
        for _ in 0..20 {
            let after = match self.with_store(|s| s.last_notice_id()) {
                Ok(after) => after,
                Err(e) => {
                    tracing::warn!(error = %e, "notices not read");
                    return;
                }
            };
            let page = match api.notices(after).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::info!(error = %e, "notices not fetched");
                    return;
                }
            };
            if let Err(e) = self.with_store(|s| s.keep_notices(&page.notices)) {
                tracing::warn!(error = %e, "notices not kept");
                return;
            }
            if !page.has_more || page.notices.is_empty() {
                return;
            }
        }
    }

    /// Push the outbox in batches, in order. Each batch leaves only after the server answered
    /// the one before (a later command may need an earlier one's record), but the device writes
    /// an answer to its outbox while the next batch travels; with `pull_follows`, the first
    /// feed page is asked for while the last answer is written.
    async fn push(
        &self,
        api: &Api,
        session: &Session,
        report: &mut SyncReport,
        pull_follows: bool,
    ) -> Result<()> {
        let total = self.with_store(|s| s.outbox_len())?;
        let mut after = 0;
        let mut batch_size = self.config.push_batch.max(1);
        let mut answered: Option<Answered> = None;
        let mut done = 0;
        loop {
            let batch = self.with_store(|s| s.outbox(after, batch_size))?;
            let Some(last_seq) = batch.last().map(|e| e.seq) else {
                break;
            };
            let ids: Vec<_> = batch.iter().map(|e| e.command_id).collect();
            let commands: Vec<Box<RawValue>> = batch.into_iter().map(|e| e.command).collect();
            let request = {
                let (api, device) = (api.clone(), session.device_id);
                Ahead::start(async move {
                    let raw: Vec<&RawValue> = commands.iter().map(|c| &**c).collect();
                    api.push(device, &raw).await
                })
            };
            if let Some(previous) = answered.take() {
                // On failure the batch in flight is dropped (aborted); whatever of it the
                // server applied, the device sends again next round and hears
                // `already_applied`.
                beside_requests(|| self.write_answer(previous, total, report))?;
            }
            match request.answer().await {
                Ok((resp, bytes)) => {
                    after = last_seq;
                    done += ids.len() as u64;
                    answered = Some(Answered {
                        actions: plan::plan_push(&ids, &resp.results),
                        done,
                        bytes,
                    });
                }
                // Too large for the server (big documents): send the same commands in
                // smaller batches.
                Err(Error::Server { status: 413, .. }) if ids.len() > 1 => {
                    batch_size = ids.len() / 2;
                }
                Err(e) => {
                    self.with_store(|s| s.note_push_failure(&ids, &e.to_string()))?;
                    return Err(e);
                }
            }
        }
        if let Some(last) = answered {
            if pull_follows {
                self.ask_feed_ahead(api);
            }
            beside_requests(|| self.write_answer(last, total, report))?;
        }
        Ok(())
    }

    /// Write the server's answer to one batch into the outbox and the report.
    fn write_answer(&self, answer: Answered, total: u64, report: &mut SyncReport) -> Result<()> {
        let tally = self.with_store(|s| s.apply_push_actions(&answer.actions))?;
        report.pushed.acknowledged += tally.acknowledged;
        report.pushed.quarantined += tally.quarantined;
        report.pushed.kept += tally.kept;
        report.push_batches += 1;
        report.bytes_sent += answer.bytes;
        self.emit(SyncProgress {
            phase: Phase::Push,
            records_done: answer.done,
            records_total: total.max(answer.done),
            bytes_done: report.bytes_sent,
            bytes_total: 0,
            photo: None,
        });
        Ok(())
    }

    /// Ask for the next change-feed page now, if the device reads the feed (not a snapshot):
    /// [`Self::pull_step`] takes the answer if its cursor is still the one asked with.
    fn ask_feed_ahead(&self, api: &Api) {
        let Ok(PullState::Feed { cursor }) = self.with_store(|s| s.pull_state()) else {
            return;
        };
        let (api, limit, asked) = (api.clone(), self.config.pull_limit, cursor.0.clone());
        let request = Ahead::start(async move { api.pull(Some(&asked), limit).await });
        if let Ok(mut p) = self.feed_ahead.lock() {
            *p = Some((cursor.0, request));
        }
    }

    async fn pull(&self, api: &Api, report: &mut SyncReport) -> Result<()> {
        let mut feed_done = 0;
        let mut restarted = false;
        loop {
            match self.pull_step(api, report, &mut feed_done).await {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                // The server no longer knows our position (restored from a backup, or moved):
                // rebuild the device's view from a fresh snapshot, once per round.
                Err(Error::Server { code, .. }) if code == "bad_cursor" && !restarted => {
                    tracing::warn!("server does not know the saved cursor: new snapshot");
                    restarted = true;
                    self.with_store(|s| s.restart_pull())?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One snapshot or feed page; `false` when the feed has nothing more.
    async fn pull_step(
        &self,
        api: &Api,
        report: &mut SyncReport,
        feed_done: &mut u64,
    ) -> Result<bool> {
        {
            match self.with_store(|s| s.pull_state())? {
                PullState::Snapshot { page, done, total } => {
                    let prefetched = self
                        .prefetch
                        .lock()
                        .ok()
                        .and_then(|mut p| p.take())
                        .filter(|(token, _)| *token == page);
                    let resp = match prefetched {
                        Some((_, request)) => request.answer().await?,
                        None => {
                            api.snapshot(page.as_deref(), self.config.snapshot_limit)
                                .await?
                        }
                    };
                    // Fetch the following page while this one is written: the server and the
                    // device's SQLite work at the same time.
                    if let Some(next) = resp.value.next_page.clone() {
                        let (api, limit) = (api.clone(), self.config.snapshot_limit);
                        let token = Some(next.clone());
                        let request =
                            Ahead::start(async move { api.snapshot(Some(&next), limit).await });
                        if let Ok(mut p) = self.prefetch.lock() {
                            *p = Some((token, request));
                        }
                    }
                    report.bytes_received += resp.bytes;
                    let page = resp.value;
                    let position = FeedPosition::Snapshot {
                        next_page: page.next_page.clone(),
                        resume_cursor: page.resume_cursor.clone(),
                        total: page.total_records,
                    };
                    let tally = beside_requests(|| {
                        self.with_store(|s| s.apply_changes(&page.records, &position))
                    })?;
                    report.pulled += tally.applied;
                    report.kept_aside += tally.kept_aside;
                    report.snapshot_pages += 1;
                    let done = done + page.records.len() as u64;
                    let total = page.total_records.max(total);
                    self.emit(SyncProgress {
                        phase: Phase::Snapshot,
                        records_done: if page.next_page.is_none() {
                            total
                        } else {
                            done
                        },
                        records_total: total,
                        bytes_done: report.bytes_received,
                        bytes_total: 0,
                        photo: None,
                    });
                }
                PullState::Feed { cursor } => {
                    let asked = self
                        .feed_ahead
                        .lock()
                        .ok()
                        .and_then(|mut p| p.take())
                        .filter(|(asked, _)| *asked == cursor.0);
                    let resp = match asked {
                        Some((_, request)) => request.answer().await?,
                        None => api.pull(Some(&cursor.0), self.config.pull_limit).await?,
                    };
                    report.bytes_received += resp.bytes;
                    let page = resp.value;
                    let position = FeedPosition::Pull {
                        next_cursor: page.next_cursor.clone(),
                    };
                    let tally = self.with_store(|s| s.apply_changes(&page.changes, &position))?;
                    report.pulled += tally.applied;
                    report.kept_aside += tally.kept_aside;
                    *feed_done += page.changes.len() as u64;
                    self.emit(SyncProgress {
                        phase: Phase::Pull,
                        records_done: *feed_done,
                        records_total: 0,
                        bytes_done: report.bytes_received,
                        bytes_total: 0,
                        photo: None,
                    });
                    // A server that says "more" without moving would loop us forever.
                    return Ok(
                        page.has_more && !(page.changes.is_empty() && page.next_cursor == cursor)
                    );
                }
            }
        }
        Ok(true)
    }
}

/// The login form as typed, checked: the server's address and the mobile number in their
/// canonical forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginForm {
    /// `http(s)://host[:port]`, without a trailing slash.
    pub server: String,
    /// The mobile number as the server stores logins (11 digits).
    pub login: String,
}

impl LoginForm {
    /// Check a login form; each mistake is an [`Error::Field`] naming `server`, `login` or
    /// `password`.
    pub fn check(server: &str, login: &str, password: &str) -> Result<LoginForm> {
        let server = server.trim().trim_end_matches('/').to_owned();
        if server.is_empty() || server == "http:" || server == "https:" {
            return Err(Error::field("server", "请填写服务器地址"));
        }
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(Error::field(
                "server",
                format!("服务器地址应以 http:// 或 https:// 开头：{server}"),
            ));
        }
        let login = yijian_core::validation::MobileNumber::parse(login)
            .map_err(|e| Error::field("login", e.to_string()))?
            .as_str()
            .to_owned();
        if password.is_empty() {
            return Err(Error::field("password", "请填写密码"));
        }
        Ok(LoginForm { server, login })
    }
}

#[cfg(test)]
mod tests;
