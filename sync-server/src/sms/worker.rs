//! The sender: moves due texts from the outbox to the provider, one by one, with backoff.
//!
//! Every server process may run one; they never send a text twice at the same time because a
//! text is claimed with a lease first (`claim_sms`), and a process that dies mid-send leaves a
//! lease that simply runs out. A claimed text whose earlier attempt got no answer is looked up
//! at the provider before anything is resent.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{SmsError, SmsProvider};
use crate::store::rows::{SmsRow, SmsStatus, SmsUpdate};
use crate::store::{Storage, StorageError, write};

/// How the sender paces itself.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Texts claimed per round.
    pub batch: u32,
    /// How long a claim holds (longer than one provider call can take).
    pub lease: Duration,
    /// First retry delay; doubles per attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// After this many attempts a text is given up (marked failed, shown in the console).
    pub max_attempts: u32,
    /// Pause between rounds when nothing was due.
    pub idle: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            batch: 20,
            lease: Duration::from_secs(120),
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(600),
            max_attempts: 30,
            idle: Duration::from_secs(2),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: u32,
    pub sent: u32,
    /// Found already sent at the provider after a lost answer (not sent again).
    pub confirmed: u32,
    pub retry: u32,
    pub failed: u32,
}

fn backoff(config: &SenderConfig, attempts: u32) -> chrono::Duration {
    let base = config.base_backoff.as_millis() as u64;
    let delay = base
        .saturating_mul(1u64 << attempts.min(16))
        .min(config.max_backoff.as_millis() as u64);
    // ±25 % jitter, so texts that failed together are not retried together.
    let jitter = getrandom::u64().unwrap_or(0) % (delay / 2 + 1);
    chrono::Duration::milliseconds(i64::try_from(delay * 3 / 4 + jitter).unwrap_or(i64::MAX))
}

/// What became of one claimed text: the update to store, and whether it had been sent by an
/// earlier attempt whose answer was lost (found at the provider, not sent again).
async fn attempt(
    provider: &dyn SmsProvider,
    row: &SmsRow,
    now: DateTime<Utc>,
    config: &SenderConfig,
) -> (SmsUpdate, bool) {
    let mut confirmed = false;
    let update = try_once(provider, row, now, config, &mut confirmed).await;
    (update, confirmed)
}

async fn try_once(
    provider: &dyn SmsProvider,
    row: &SmsRow,
    now: DateTime<Utc>,
    config: &SenderConfig,
    confirmed: &mut bool,
) -> SmsUpdate {
    if row.claimed_from == Some(SmsStatus::Unknown) {
        match provider.was_sent(&row.sms).await {
            Ok(true) => {
                *confirmed = true;
                return SmsUpdate::Sent {
                    provider_id: row.provider_id.clone(),
                    at: now,
                };
            }
            Ok(false) => {}
            // Cannot tell yet: ask again later rather than risk a second text.
            Err(e) => {
                return SmsUpdate::Retry {
                    error: format!("looking up an earlier attempt: {e}"),
                    next_attempt_at: now + backoff(config, row.attempts),
                    unknown: true,
                };
            }
        }
    }
    let result = provider.send(&row.sms).await;
    let out_of_attempts = row.attempts + 1 >= config.max_attempts;
    match result {
        Ok(provider_id) => SmsUpdate::Sent {
            provider_id,
            at: Utc::now(),
        },
        Err(SmsError::Permanent(e)) => SmsUpdate::Failed { error: e },
        Err(e) if out_of_attempts => SmsUpdate::Failed {
            error: format!("gave up after {} attempts: {e}", row.attempts + 1),
        },
        Err(SmsError::Transient(e)) => SmsUpdate::Retry {
            error: e,
            next_attempt_at: now + backoff(config, row.attempts),
            unknown: false,
        },
        Err(SmsError::MaybeSent(e)) => SmsUpdate::Retry {
            error: e,
            next_attempt_at: now + backoff(config, row.attempts),
            unknown: true,
        },
    }
}

/// One round: claim what is due and try each.
pub async fn run_round(
    storage: &dyn Storage,
    provider: &dyn SmsProvider,
    config: &SenderConfig,
    now: DateTime<Utc>,
) -> Result<RoundReport, StorageError> {
    let lease_until = now + chrono::Duration::from_std(config.lease).unwrap_or_default();
    let batch = config.batch;
    let rows = write(storage, move |tx| tx.claim_sms(now, lease_until, batch)).await?;
    let mut report = RoundReport {
        claimed: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        ..RoundReport::default()
    };
    for row in rows {
        let (update, confirmed) = attempt(provider, &row, Utc::now(), config).await;
        match &update {
            SmsUpdate::Sent { .. } if confirmed => report.confirmed += 1,
            SmsUpdate::Sent { .. } => report.sent += 1,
            SmsUpdate::Retry { error, .. } => {
                tracing::info!(id = row.id, %error, "text not sent yet; will retry");
                report.retry += 1;
            }
            SmsUpdate::Failed { error } => {
                tracing::warn!(id = row.id, %error, "text given up");
                report.failed += 1;
            }
        }
        let id = row.id;
        write(storage, move |tx| tx.update_sms(id, &update)).await?;
    }
    Ok(report)
}

/// Send texts until `shutdown` turns true.
pub async fn run(
    storage: Arc<dyn Storage>,
    provider: Arc<dyn SmsProvider>,
    config: SenderConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let busy = match run_round(&*storage, &*provider, &config, Utc::now()).await {
            Ok(r) => r.claimed > 0,
            Err(e) => {
                tracing::warn!(error = %e, "sms round failed");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(config.idle) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}
