//! The app's PIN: how a worker opens the app offline after the first online login.
//!
//! The login needs the server; the PIN does not. After the first login the worker chooses a
//! 6-digit PIN, and from then on the app opens with it, in a village without signal. Only an
//! argon2id hash is kept (in `device_meta`), and wrong PINs are rate-limited: after
//! [`FREE_ATTEMPTS`] wrong tries every further one waits longer (30 s, 60 s, … up to 15 min),
//! which makes guessing 10⁶ PINs on a lost phone take years while a worker who mistypes
//! twice loses nothing. The count and the wait survive a restart of the app.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};
use crate::store::LocalStore;

/// Wrong PINs allowed before the waits begin.
pub const FREE_ATTEMPTS: u32 = 5;

/// Longest wait after repeated wrong PINs.
pub const MAX_WAIT_SECS: i64 = 15 * 60;

mod key {
    pub const HASH: &str = "pin_hash";
    pub const FAILURES: &str = "pin_failures";
    pub const LOCKED_UNTIL: &str = "pin_locked_until";
}

/// The wait after `failures` wrong PINs in a row: none for the first [`FREE_ATTEMPTS`], then
/// 30 s doubling per further failure, capped at [`MAX_WAIT_SECS`].
pub fn wait_after(failures: u32) -> Duration {
    if failures < FREE_ATTEMPTS {
        return Duration::zero();
    }
    let doublings = (failures - FREE_ATTEMPTS).min(10);
    Duration::seconds((30i64 << doublings).min(MAX_WAIT_SECS))
}

/// Check a PIN's form: exactly six ASCII digits (full-width digits from a Chinese keyboard are
/// accepted and read as ASCII).
pub fn normalise_pin(pin: &str) -> Result<String> {
    let digits: String = pin
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            other => other,
        })
        .collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::field("pin", "PIN应为6位数字"));
    }
    let repeated = digits.bytes().all(|b| b == digits.as_bytes()[0]);
    if repeated || "0123456789".contains(&digits) || "9876543210".contains(&digits) {
        return Err(Error::field(
            "pin",
            "PIN太简单（如111111、123456），请换一个",
        ));
    }
    Ok(digits)
}

/// Argon2id tuned for a cheap phone: ~50 ms, 8 MiB.
fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(8 * 1024, 2, 1, None)
        .map_err(|e| Error::Corrupt(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl LocalStore {
    /// Whether a PIN has been set on this device.
    pub fn has_pin(&self) -> Result<bool> {
        Ok(self.meta(key::HASH)?.is_some())
    }

    /// Set (or replace) the PIN.
    pub fn set_pin(&self, pin: &str) -> Result<()> {
        let pin = normalise_pin(pin)?;
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| Error::Corrupt(format!("random: {e}")))?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| Error::Corrupt(format!("salt: {e}")))?;
        let hash = hasher()?
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| Error::Corrupt(format!("argon2: {e}")))?
            .to_string();
        self.set_meta(key::HASH, &hash)?;
        self.set_meta(key::FAILURES, "0")?;
        self.delete_meta(key::LOCKED_UNTIL)
    }

    /// Forget the PIN (logout, another user signs in).
    pub fn clear_pin(&self) -> Result<()> {
        self.delete_meta(key::HASH)?;
        self.delete_meta(key::FAILURES)?;
        self.delete_meta(key::LOCKED_UNTIL)
    }

    /// Check a PIN. A wrong one is counted; while a wait runs, nothing is checked and
    /// [`Error::Locked`] says how long is left.
    pub fn verify_pin(&self, pin: &str) -> Result<()> {
        let now = self.now();
        if let Some(until) = self.pin_locked_until()?
            && until > now
        {
            let secs = (until - now).num_seconds().max(1);
            return Err(Error::Locked {
                retry_after_s: u64::try_from(secs).unwrap_or(1),
            });
        }
        let stored = self
            .meta(key::HASH)?
            .ok_or_else(|| Error::invalid("尚未设置PIN，请先登录"))?;
        let hash =
            PasswordHash::new(&stored).map_err(|e| Error::Corrupt(format!("pin hash: {e}")))?;
        // A PIN of the wrong form is simply wrong: it counts like any other failure.
        let ok = normalise_pin(pin)
            .map(|p| hasher().is_ok_and(|h| h.verify_password(p.as_bytes(), &hash).is_ok()))
            .unwrap_or(false);
        if ok {
            self.set_meta(key::FAILURES, "0")?;
            return self.delete_meta(key::LOCKED_UNTIL);
        }
        let failures = self
            .meta(key::FAILURES)?
            .and_then(|f| f.parse::<u32>().ok())
            .unwrap_or(0)
            .saturating_add(1);
        self.set_meta(key::FAILURES, &failures.to_string())?;
        let wait = wait_after(failures);
        if wait > Duration::zero() {
            self.set_meta(key::LOCKED_UNTIL, &(now + wait).to_rfc3339())?;
            return Err(Error::Locked {
                retry_after_s: u64::try_from(wait.num_seconds()).unwrap_or(30),
            });
        }
        let left = FREE_ATTEMPTS - failures;
        Err(Error::field(
            "pin",
            format!("PIN不正确，还可以再试{left}次，之后需要等待"),
        ))
    }

    fn pin_locked_until(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .meta(key::LOCKED_UNTIL)?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn waits_start_after_the_free_attempts_and_are_capped() {
        assert_eq!(wait_after(0), Duration::zero());
        assert_eq!(wait_after(4), Duration::zero());
        assert_eq!(wait_after(5), Duration::seconds(30));
        assert_eq!(wait_after(6), Duration::seconds(60));
        assert_eq!(wait_after(9), Duration::seconds(480));
        assert_eq!(wait_after(10), Duration::seconds(MAX_WAIT_SECS));
        assert_eq!(wait_after(1000), Duration::seconds(MAX_WAIT_SECS));
    }

    #[test]
    fn pins_must_be_six_digits_and_not_trivial() {
        assert_eq!(normalise_pin(" 240517 ").expect("ok"), "240517");
        assert_eq!(normalise_pin("２４０５１７").expect("full-width"), "240517");
        for bad in [
            "12345", "1234567", "12a456", "111111", "123456", "456789", "",
        ] {
            let e = normalise_pin(bad).expect_err(bad);
            assert_eq!(e.field_name(), Some("pin"), "{bad}");
        }
    }

    #[test]
    fn wrong_pins_are_counted_and_rate_limited_across_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("yijian.db");
        let now = Arc::new(Mutex::new(Utc::now()));
        let clock = {
            let now = Arc::clone(&now);
            move || *now.lock().expect("clock")
        };
        let store = LocalStore::open(&path)
            .expect("open")
            .with_clock(clock.clone());
        assert!(!store.has_pin().expect("has"));
        store.set_pin("240517").expect("set");
        assert!(store.has_pin().expect("has"));
        store.verify_pin("240517").expect("right pin");
        for n in 1..FREE_ATTEMPTS {
            let e = store.verify_pin("999999").expect_err("wrong");
            assert_eq!(e.kind(), crate::ErrorKind::Invalid, "{n}: {e}");
            assert!(e.to_string().contains("还可以再试"), "{e}");
        }
        let e = store.verify_pin("999999").expect_err("fifth wrong");
        assert!(matches!(e, Error::Locked { retry_after_s: 30 }), "{e:?}");
        drop(store);
        // Reopening the app does not reset the wait, and the right PIN is refused meanwhile.
        let store = LocalStore::open(&path).expect("reopen").with_clock(clock);
        assert!(matches!(
            store.verify_pin("240517"),
            Err(Error::Locked { .. })
        ));
        *now.lock().expect("clock") += Duration::seconds(31);
        store.verify_pin("240517").expect("after the wait");
        // A success resets the count.
        assert!(matches!(
            store.verify_pin("000001"),
            Err(Error::Field { .. })
        ));
        store.clear_pin().expect("clear");
        assert!(!store.has_pin().expect("has"));
    }
}
