//! Sync in the background: on a trigger, on a timer, and again after a failure.
//!
//! A worker must never have to remember to press "sync". The app notifies the trigger after
//! every local write; the loop also wakes on its own — after a failure with exponential
//! backoff and jitter (so a village's phones do not all retry at once when the signal returns),
//! when a photo's backoff runs out, and otherwise every `interval` to bring other people's
//! changes. A rejected token stops the timer: only a new login (and a trigger) resumes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::plan::{self, Backoff};
use super::{SyncEngine, SyncReport};
use crate::error::{ErrorKind, Result};

/// How the background loop paces itself.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Sync this often when nothing else wakes the loop.
    pub interval: Duration,
    /// Waits after consecutive failed rounds.
    pub backoff: Backoff,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            interval: Duration::from_secs(10 * 60),
            backoff: Backoff::default(),
        }
    }
}

/// How long to wait after a round, `None` meaning "only a trigger may wake the loop".
fn next_wait(
    outcome: &Result<SyncReport>,
    failures: &mut u32,
    config: &LoopConfig,
    next_photo: Option<Duration>,
) -> Option<Duration> {
    match outcome {
        Err(e) if matches!(e.kind(), ErrorKind::Unauthenticated | ErrorKind::Revoked) => None,
        Err(_) => {
            *failures = failures.saturating_add(1);
            Some(config.backoff.delay(*failures, plan::random_u64()))
        }
        // Commands the server did not answer for are retried like a failed round.
        Ok(report) if report.pushed.kept > 0 => {
            *failures = failures.saturating_add(1);
            Some(config.backoff.delay(*failures, plan::random_u64()))
        }
        Ok(_) => {
            *failures = 0;
            Some(next_photo.map_or(config.interval, |p| p.min(config.interval)))
        }
    }
}

/// Run sync rounds until `shutdown` becomes `true` (or its sender is dropped).
///
/// `trigger.notify_one()` after a local write starts a round at once; a notification sent while
/// a round is running is kept and starts the next one right after.
pub async fn run_sync_loop(
    engine: Arc<SyncEngine>,
    trigger: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    config: LoopConfig,
) {
    run_sync_loop_observed(engine, trigger, shutdown, config, |_| {}).await;
}

/// [`run_sync_loop`], calling `on_round` after every round with how it ended (the app tells its
/// screens; the round's progress goes to [`SyncEngine::set_progress`]).
pub async fn run_sync_loop_observed(
    engine: Arc<SyncEngine>,
    trigger: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    config: LoopConfig,
    on_round: impl Fn(&Result<SyncReport>) + Send,
) {
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Stopping mid-round is safe: every step commits on its own.
        let outcome = tokio::select! {
            r = engine.sync_once() => r,
            _ = stopped(&mut shutdown) => return,
        };
        if let Err(e) = &outcome {
            tracing::info!(error = %e, kind = ?e.kind(), "sync round failed");
        }
        on_round(&outcome);
        let next_photo = engine
            .with_store(|s| s.next_photo_attempt())
            .ok()
            .flatten()
            .map(|t| super::photos::until(&t));
        let wait = next_wait(&outcome, &mut failures, &config, next_photo);
        tokio::select! {
            _ = trigger.notified() => {}
            _ = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending::<()>().await,
                }
            } => {}
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Resolves once `shutdown` is `true` or its sender is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped: nobody can ask the loop to go on.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn waits_back_off_after_failures_and_reset_after_success() {
        let config = LoopConfig {
            interval: Duration::from_secs(600),
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(8),
            },
        };
        let mut failures = 0;
        let offline = || {
            Err(Error::Network {
                detail: "offline".into(),
            })
        };
        for n in 1..=6 {
            let w = next_wait(&offline(), &mut failures, &config, None).expect("timer");
            assert_eq!(failures, n);
            assert!(w <= config.backoff.ceiling(n), "{w:?}");
        }
        let ok = Ok(SyncReport::default());
        assert_eq!(
            next_wait(&ok, &mut failures, &config, None),
            Some(config.interval)
        );
        assert_eq!(failures, 0);
        // A photo waiting out its backoff wakes the loop earlier than the interval.
        assert_eq!(
            next_wait(&ok, &mut failures, &config, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        // A revoked token: no timer, only a new login wakes the loop.
        let revoked = Err(Error::Unauthenticated {
            code: "unauthenticated".into(),
            message: "登录已失效".into(),
        });
        assert_eq!(next_wait(&revoked, &mut failures, &config, None), None);
        let mut kept = SyncReport::default();
        kept.pushed.kept = 1;
        assert!(next_wait(&Ok(kept), &mut failures, &config, None).is_some());
        assert_eq!(failures, 1);
    }
}
