//! The app's PIN: how a worker opens the app offline after the first online login.
//!
//! The login needs the server; the PIN does not. After the first login the worker chooses a
//! 6-digit PIN, which wraps the store's data key ([`crate::vault`]); from then on the app opens
//! with it, in a village without signal. Wrong PINs are counted in the key file: after
//! [`FREE_ATTEMPTS`] every further try waits longer (30 s, 60 s, … up to 15 min), and after
//! [`DEFAULT_MAX_FAILURES`] the PIN stops working altogether until a password sign-in (online).
//! A worker who mistypes twice loses nothing; guessing 10⁶ PINs on a lost phone is impossible.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use chrono::Duration;

use crate::error::{Error, Result};
use crate::store::LocalStore;

/// Wrong PINs allowed before the waits begin.
pub const FREE_ATTEMPTS: u32 = 5;

/// Longest wait after repeated wrong PINs.
pub const MAX_WAIT_SECS: i64 = 15 * 60;

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

/// Wrong PINs in a row after which the PIN no longer opens the store (configurable).
pub const DEFAULT_MAX_FAILURES: u32 = 10;

/// Whether `pin` matches the PIN hash a store from before encryption kept in `device_meta`
/// (argon2 PHC string): the upgrade checks the worker's PIN with it, once.
pub(crate) fn legacy_pin_matches(store: &LocalStore, pin: &str) -> Result<bool> {
    let Some(stored) = store.meta(LEGACY_HASH_KEY)? else {
        return Ok(false);
    };
    let hash = PasswordHash::new(&stored).map_err(|e| Error::Corrupt(format!("pin hash: {e}")))?;
    Ok(normalise_pin(pin).is_ok_and(|p| {
        Argon2::default()
            .verify_password(p.as_bytes(), &hash)
            .is_ok()
    }))
}

/// Where stores before encryption kept the PIN's hash.
pub(crate) const LEGACY_HASH_KEY: &str = "pin_hash";

#[cfg(test)]
mod tests {
    use super::*;

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
}
