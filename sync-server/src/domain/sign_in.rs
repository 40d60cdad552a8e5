//! Signing in with a password, for phones (`POST /v1/auth/login`) and the console alike, with
//! one limiter against guessing.
//!
//! Two keys count failures: the address the attempt comes from (`ip:…`) and the account it
//! names (`account:<mobile>`, the canonical 11 digits, so `+86 138…` and `138 0000 …` are one
//! account). After a few free failures each further failure of a key makes that key wait
//! longer before the next attempt is even checked (doubling, with a ceiling), and a key
//! untouched for a day starts over. So a guesser at one address slows to a crawl, and one
//! spreading over many addresses is held back by the account's own delay.
//!
//! That account delay must not let a stranger keep the owner out: an attempt that proves it
//! comes from where the owner signed in before — a phone sending the id of a device of that
//! account, a browser holding the mark the console set at the account's last sign-in there —
//! is not held back by the account's delay (only by its own address's). A success clears the
//! account's count; an address's count only runs out with time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use yijian_core::ids::DeviceId;

use crate::domain::accounts::{dummy_hash, verify_password};
use crate::store::rows::Throttle;
use crate::store::{Credentials, Storage, StorageError, read, write};

/// Failures an address may have before it is made to wait.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 5;
/// Failures an account may have before it is made to wait.
pub const FREE_FAILURES_PER_ACCOUNT: u32 = 10;
/// The longest an address waits (per failure beyond the free ones the wait doubles from 1 s).
pub const MAX_ADDRESS_WAIT: Duration = Duration::from_secs(3600);
/// The longest an account waits (doubling from 15 s).
pub const MAX_ACCOUNT_WAIT: Duration = Duration::from_secs(900);
/// A key with no failure for this long starts over.
pub const FORGET_AFTER: Duration = Duration::from_secs(86_400);

/// What the attempt can show about where the owner signed in before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownBy {
    Nothing,
    /// The id of the phone signing in again (one of the account's devices, if genuine).
    Device(DeviceId),
    /// The console's mark for this browser (see [`browser_mark`]).
    BrowserMark(String),
}

/// One sign-in attempt.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub login: &'a str,
    pub password: &'a str,
    /// The client's address, as the server sees it.
    pub address: &'a str,
    pub known: KnownBy,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Wrong login or password (the same answer for a login that does not exist).
    BadCredentials,
    /// Too many failures: try again after this many seconds.
    Throttled { retry_after_s: u64 },
}

impl Refused {
    /// The refusal in words for the person at the form.
    pub fn message_zh(&self) -> String {
        match self {
            Refused::BadCredentials => "手机号或密码不正确".to_owned(),
            Refused::Throttled { retry_after_s } => {
                format!("登录失败次数过多，请{}后再试", wait_zh(*retry_after_s))
            }
        }
    }
}

fn wait_zh(secs: u64) -> String {
    if secs < 60 {
        format!("{}秒", secs.max(1))
    } else {
        format!("{}分钟", secs.div_ceil(60))
    }
}

/// The login as accounts store it: a mobile number's 11 digits, else the trimmed text.
pub fn canonical_login(login: &str) -> String {
    yijian_core::validation::MobileNumber::parse(login)
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|_| login.trim().chars().take(64).collect())
}

/// The mark the console leaves in a browser where `user_id` signed in.
pub fn browser_mark(key: &[u8], user_id: &str) -> String {
    crate::web::guard::link_sig(key, &format!("known-browser:{user_id}"))
}

fn address_key(address: &str) -> String {
    format!("ip:{address}")
}

fn account_key(login: &str) -> String {
    format!("account:{login}")
}

/// How long a key with `failures` failures waits, or `None` while they are within `free`.
fn wait(failures: u32, free: u32, first: Duration, max: Duration) -> Option<Duration> {
    let over = failures.checked_sub(free).filter(|n| *n > 0)?;
    let factor = 1u64.checked_shl(over.saturating_sub(1)).unwrap_or(u64::MAX);
    Some(Duration::from_secs(first.as_secs().saturating_mul(factor)).min(max))
}

/// Seconds left until `t`, if it is still blocked at `now`.
fn blocked(t: Option<&Throttle>, now: DateTime<Utc>) -> Option<u64> {
    let until = t?.blocked_until?;
    (until > now).then(|| {
        u64::try_from((until - now).num_seconds())
            .unwrap_or(0)
            .max(1)
    })
}

/// The failures a key holds at `now` (none after [`FORGET_AFTER`] without one).
fn current(t: Option<&Throttle>, now: DateTime<Utc>) -> u32 {
    match t {
        Some(t) if (now - t.updated_at).to_std().unwrap_or_default() < FORGET_AFTER => t.failures,
        _ => 0,
    }
}

fn failed(
    t: Option<Throttle>,
    key: String,
    free: u32,
    first: Duration,
    max: Duration,
    now: DateTime<Utc>,
) -> Throttle {
    let failures = current(t.as_ref(), now).saturating_add(1);
    Throttle {
        key,
        failures,
        blocked_until: wait(failures, free, first, max)
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| now + d),
        updated_at: now,
    }
}

/// Check a password sign-in under the limiter: the account's credentials, or why not.
pub async fn check(
    storage: &dyn Storage,
    form_key: &[u8],
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
) -> Result<Result<Credentials, Refused>, StorageError> {
    let login = canonical_login(attempt.login);
    let (ip_key, acct_key) = (address_key(attempt.address), account_key(&login));
    let (k1, k2) = (ip_key.clone(), acct_key.clone());
    let (ip, acct) = read(storage, move |tx| {
        Ok((tx.throttle(&k1)?, tx.throttle(&k2)?))
    })
    .await?;
    if let Some(retry_after_s) = blocked(ip.as_ref(), now) {
        return Ok(Err(Refused::Throttled { retry_after_s }));
    }
    let creds = storage.credentials(&login).await?;
    let known = match (&attempt.known, &creds) {
        (KnownBy::Device(id), Some(c)) => storage
            .list_devices(c.user.id)
            .await?
            .iter()
            .any(|d| d.id == *id),
        (KnownBy::BrowserMark(mark), Some(c)) => {
            *mark == browser_mark(form_key, &c.user.id.to_string())
        }
        _ => false,
    };
    if !known && let Some(retry_after_s) = blocked(acct.as_ref(), now) {
        return Ok(Err(Refused::Throttled { retry_after_s }));
    }
    // Verify even when the login is unknown, so timing does not tell which logins exist.
    let hash = creds
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |c| c.password_hash.clone());
    let password = attempt.password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?;
    match creds {
        Some(c) if ok && !c.disabled => {
            write(storage, move |tx| tx.clear_throttle(&acct_key)).await?;
            Ok(Ok(c))
        }
        _ => {
            write(storage, move |tx| {
                let ip = tx.throttle(&ip_key)?;
                tx.put_throttle(&failed(
                    ip,
                    ip_key.clone(),
                    FREE_FAILURES_PER_ADDRESS,
                    Duration::from_secs(1),
                    MAX_ADDRESS_WAIT,
                    now,
                ))?;
                let acct = tx.throttle(&acct_key)?;
                tx.put_throttle(&failed(
                    acct,
                    acct_key.clone(),
                    FREE_FAILURES_PER_ACCOUNT,
                    Duration::from_secs(15),
                    MAX_ACCOUNT_WAIT,
                    now,
                ))
            })
            .await?;
            tracing::info!(address = attempt.address, "sign-in refused");
            Ok(Err(Refused::BadCredentials))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_a_ceiling() {
        let w = |n| wait(n, 5, Duration::from_secs(1), MAX_ADDRESS_WAIT).map(|d| d.as_secs());
        assert_eq!(w(5), None);
        assert_eq!(w(6), Some(1));
        assert_eq!(w(7), Some(2));
        assert_eq!(w(10), Some(16));
        assert_eq!(w(17), Some(2048));
        assert_eq!(w(18), Some(3600));
        assert_eq!(w(500), Some(3600));
    }

    #[test]
    fn one_account_however_its_number_is_typed() {
        assert_eq!(canonical_login("+86 138 0000 0031"), "13800000031");
        assert_eq!(
            canonical_login("138-0000-0031"),
            canonical_login("13800000031")
        );
        assert_eq!(canonical_login(" admin "), "admin");
    }

    #[test]
    fn a_key_forgets_after_a_quiet_day() {
        let now = Utc::now();
        let t = |ago_h: i64| Throttle {
            key: "k".into(),
            failures: 9,
            blocked_until: None,
            updated_at: now - chrono::Duration::hours(ago_h),
        };
        assert_eq!(current(Some(&t(1)), now), 9);
        assert_eq!(current(Some(&t(25)), now), 0);
        let next = failed(
            Some(t(25)),
            "k".into(),
            5,
            Duration::from_secs(1),
            MAX_ADDRESS_WAIT,
            now,
        );
        assert_eq!((next.failures, next.blocked_until), (1, None));
    }
}
