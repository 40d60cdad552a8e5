//! Device lifecycle tests with cheap key derivation (the logic, not the cost).

use argon2::password_hash::{PasswordHasher, SaltString};

use super::*;
use crate::vault::KdfParams;

fn cheap() -> DeviceConfig {
    DeviceConfig {
        kdf: KdfParams {
            m_kib: 1024,
            t: 1,
            p: 1,
        },
        ..DeviceConfig::default()
    }
}

/// A store as the app wrote it before encryption: plain SQLite, the PIN's argon2 hash in
/// `device_meta`, plain photo files.
fn legacy_store(dir: &Path, pin: &str, photo: &[u8]) -> (String, u64) {
    let store = LocalStore::open_unencrypted(&dir.join(DB_FILE)).expect("plain store");
    let salt = SaltString::encode_b64(b"sixteen byte slt").expect("salt");
    let hash = argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .expect("hash")
        .to_string();
    store.set_meta(pin::LEGACY_HASH_KEY, &hash).expect("meta");
    let mut store = store;
    let village = yijian_core::division::DivisionCode::parse("621102105201").expect("village");
    store
        .seed_households(&village, 2, None)
        .expect("households");
    let outbox = store.outbox_len().expect("outbox");
    let sha = crate::domain::sha256_hex(photo);
    let files = store.photo_files();
    files.write(&sha, photo).expect("plain photo");
    assert!(files.path(&sha).to_string_lossy().ends_with(".jpg"));
    (sha, outbox)
}

#[test]
fn a_store_from_before_encryption_is_encrypted_in_place_with_nothing_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = b"\xff\xd8\xff\xe0 a house in the rain".repeat(50);
    let (sha, outbox) = legacy_store(dir.path(), "240517", &photo);
    assert!(outbox > 0);
    let mut device = Device::at(dir.path(), cheap()).expect("device");
    assert_eq!(device.stage(), DeviceStage::NeedsPin);
    let e = device.unlock("135790").expect_err("wrong pin");
    assert_eq!(e.field_name(), Some("pin"));
    assert!(
        vault::is_plain_sqlite(&dir.path().join(DB_FILE)),
        "nothing changed on a wrong PIN"
    );
    let engine = device.unlock("240517").expect("upgrade");
    assert!(!vault::is_plain_sqlite(&dir.path().join(DB_FILE)));
    assert_eq!(
        engine.with_store(|s| s.outbox_len()).expect("outbox"),
        outbox
    );
    let files = engine.with_store(|s| Ok(s.photo_files())).expect("files");
    assert_eq!(files.read(&sha).expect("sealed photo"), photo);
    assert!(
        !dir.path()
            .join("photos")
            .join(format!("{sha}.jpg"))
            .exists()
    );
    assert!(
        !std::fs::read(files.path(&sha))
            .expect("file")
            .starts_with(b"\xff\xd8")
    );
    assert_eq!(
        engine
            .with_store(|s| s.meta(pin::LEGACY_HASH_KEY))
            .expect("meta"),
        None,
        "the old hash is gone"
    );
    drop(engine);
    drop(device);
    let mut device = Device::at(dir.path(), cheap()).expect("device");
    assert_eq!(device.stage(), DeviceStage::NeedsPin);
    let engine = device.unlock("240517").expect("reopen");
    assert_eq!(
        engine.with_store(|s| s.outbox_len()).expect("outbox"),
        outbox
    );
}

#[test]
fn an_offline_store_opens_only_with_its_pin_and_a_bad_key_file_never_opens_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut device = Device::at(dir.path(), cheap()).expect("device");
    assert_eq!(device.stage(), DeviceStage::Empty);
    assert!(device.create_offline("123456").is_err(), "trivial PIN");
    device.create_offline("240517").expect("create");
    assert_eq!(device.stage(), DeviceStage::Open);
    drop(device);
    let mut device = Device::at(dir.path(), cheap()).expect("device");
    assert!(matches!(device.unlock("24051"), Err(Error::Field { .. })));
    assert_eq!(device.pin_failures(), 1);
    device
        .unlock("２４０５１７")
        .expect("full-width digits are the same PIN");
    assert_eq!(device.pin_failures(), 0);
    // Another device's key never opens this store.
    let other = DataKey::generate().expect("key");
    assert!(matches!(
        LocalStore::open(&dir.path().join(DB_FILE), &other),
        Err(Error::WrongKey)
    ));
}

#[tokio::test]
async fn logout_asks_before_erasing_unsent_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut device = Device::at(dir.path(), cheap()).expect("device");
    let engine = device.create_offline("240517").expect("create");
    let village = yijian_core::division::DivisionCode::parse("621102105201").expect("village");
    engine
        .with_store(|s| s.seed_households(&village, 1, None))
        .expect("seed");
    drop(engine);
    let e = device.logout(false).await.expect_err("unsent");
    assert!(matches!(e, Error::UnsentWork(1)), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::UnsentWork);
    assert!(
        dir.path().join(DB_FILE).exists(),
        "nothing erased without a yes"
    );
    device.logout(true).await.expect("erase");
    assert!(!dir.path().join(DB_FILE).exists());
    assert!(!dir.path().join(vault::KEY_FILE).exists());
    assert_eq!(device.stage(), DeviceStage::Empty);
    assert_eq!(device.wipe_note(), None, "a logout is not a revocation");
}

#[test]
fn ten_wrong_pins_at_the_screen_lock_close_the_open_store_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = std::sync::Arc::new(std::sync::Mutex::new(chrono::Utc::now()));
    let clock = {
        let now = std::sync::Arc::clone(&now);
        move || *now.lock().expect("clock")
    };
    let mut device = Device::at(dir.path(), cheap())
        .expect("device")
        .with_clock(clock);
    device.create_offline("240517").expect("create");
    assert_eq!(device.stage(), DeviceStage::Open);
    for _ in 0..DEFAULT_MAX_FAILURES {
        let _ = device.unlock("000001");
        *now.lock().expect("clock") += chrono::Duration::hours(1);
    }
    assert!(device.engine().is_none(), "the key left memory");
    assert_eq!(device.stage(), DeviceStage::NeedsPassword);
    assert!(matches!(device.unlock("240517"), Err(Error::LockedOut)));
    assert!(
        device.set_pin("975310").is_err(),
        "no new PIN without the password"
    );
}
