//! The device's keys: why a lost phone reveals nothing.
//!
//! A grid worker's phone holds the names, ID numbers, incomes and illnesses of a whole village,
//! and it is lost in the mountains, lent, sold. So nothing about a household is stored in
//! plain: the database (and its WAL) is SQLCipher with one random **data key**, and photo files
//! are sealed with XChaCha20-Poly1305 under a key derived from it ([`PhotoCipher`]).
//!
//! The data key itself is never stored. The key file (`keys.json`, the only plain file besides
//! the encrypted ones) holds it *wrapped* twice:
//! - by the worker's PIN through Argon2id ([`KdfParams::PHONE`]): opening the app offline;
//! - by an **escrow key** the server keeps for this device and gives only to the device's own
//!   token after a password sign-in: a worker who forgot the PIN signs in online and gets the
//!   same store back, unsent work included. The server alone holds no copy of the phone's data
//!   key; the phone alone cannot unwrap the escrow copy.
//!
//! Wrong PINs are counted in the key file: after [`crate::pin::FREE_ATTEMPTS`] each try waits,
//! and after the configured maximum (default 10) the PIN wrap is erased, so the PIN can never be
//! tried again and only the password (online) opens the store. Someone who copies the storage
//! before guessing keeps their copy of the PIN wrap: against that, Argon2id's cost per guess is
//! what remains on a desktop, and on a phone the platform keystore (see [`platform`]) binds the
//! wrap to the device's hardware.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The plain file with the wrapped keys, next to the database.
pub const KEY_FILE: &str = "keys.json";
/// Left behind by a wipe, so the next start can say why the phone is empty. No household data.
pub const WIPE_NOTE: &str = "wiped.json";
/// The database file in a device's data directory.
pub const DB_FILE: &str = "yijian.db";

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Corrupt(format!("random: {e}")))?;
    Ok(b)
}

/// The key the store and the photos are encrypted with. Wiped from memory when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(***)")
    }
}

impl DataKey {
    /// A new random key (a new store).
    pub fn generate() -> Result<DataKey> {
        Ok(DataKey(Zeroizing::new(random::<32>()?)))
    }

    /// A key from its bytes (tests and benchmarks that need a fixed key).
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// The `PRAGMA key` value: a raw 256-bit key, so SQLCipher skips its own key derivation
    /// (the PIN's Argon2id already did the slow part, once, at unlock).
    pub(crate) fn sqlcipher_pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "PRAGMA key = \"{}\";",
            self.raw_key_literal().as_str()
        ))
    }

    /// `x'<64 hex digits>'`: SQLCipher's notation for a raw key.
    pub(crate) fn raw_key_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex(&self.0[..])))
    }

    /// The cipher of photo files: a key of its own, derived so the database key never touches
    /// file contents.
    pub fn photo_cipher(&self) -> PhotoCipher {
        let mut h = Sha256::new();
        h.update(b"yijian photo files v1\0");
        h.update(&self.0[..]);
        let mut key = [0u8; 32];
        key.copy_from_slice(&h.finalize());
        PhotoCipher(Zeroizing::new(key))
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// Seals and opens photo files: `YJP1 ‖ nonce(24) ‖ ciphertext+tag`.
#[derive(Clone)]
pub struct PhotoCipher(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for PhotoCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhotoCipher(***)")
    }
}

const PHOTO_MAGIC: &[u8; 4] = b"YJP1";

impl PhotoCipher {
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let nonce = random::<24>()?;
        let sealed = XChaCha20Poly1305::new((&*self.0).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: PHOTO_MAGIC,
                },
            )
            .map_err(|_| Error::Corrupt("photo encryption failed".into()))?;
        let mut out = Vec::with_capacity(4 + 24 + sealed.len());
        out.extend_from_slice(PHOTO_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plain bytes; an error for a file sealed with another key, cut short or altered.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 4 + 24 + 16 || &sealed[..4] != PHOTO_MAGIC {
            return Err(Error::Corrupt("照片文件已损坏".into()));
        }
        XChaCha20Poly1305::new((&*self.0).into())
            .decrypt(
                XNonce::from_slice(&sealed[4..28]),
                Payload {
                    msg: &sealed[28..],
                    aad: PHOTO_MAGIC,
                },
            )
            .map_err(|_| Error::Corrupt("照片文件已损坏或不属于本机".into()))
    }

    /// Read and open a sealed file.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>> {
        let sealed = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.open(&sealed)
    }
}

/// Argon2id's cost for the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// For a 2 GB phone: 64 MiB (a cheap phone has it free while the app is in front), three
    /// passes, one lane (the UI thread's core is busy anyway). Measured by `make bench-inbox`
    /// (`unlock_ms`) and written in the README; about a second on a low-end ARM phone.
    pub const PHONE: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    fn derive(&self, pin: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| Error::Corrupt(format!("argon2 params: {e}")))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(pin.as_bytes(), salt, &mut *out)
            .map_err(|e| Error::Corrupt(format!("argon2: {e}")))?;
        Ok(out)
    }
}

/// A data key sealed under another key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    data: String,
}

impl Sealed {
    fn seal(kek: &[u8; 32], aad: &[u8], key: &DataKey) -> Result<Sealed> {
        let nonce = random::<24>()?;
        let data = XChaCha20Poly1305::new(kek.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &key.0[..],
                    aad,
                },
            )
            .map_err(|_| Error::Corrupt("key wrap failed".into()))?;
        Ok(Sealed {
            nonce: B64.encode(nonce),
            data: B64.encode(data),
        })
    }

    /// `None` when the key does not fit (wrong PIN, another escrow key).
    fn open(&self, kek: &[u8; 32], aad: &[u8]) -> Result<Option<DataKey>> {
        let nonce = B64
            .decode(&self.nonce)
            .map_err(|e| Error::Corrupt(format!("key file: {e}")))?;
        let data = B64
            .decode(&self.data)
            .map_err(|e| Error::Corrupt(format!("key file: {e}")))?;
        if nonce.len() != 24 {
            return Err(Error::Corrupt("key file: nonce".into()));
        }
        let Ok(mut plain) = XChaCha20Poly1305::new(kek.into())
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &data, aad })
        else {
            return Ok(None);
        };
        let key = <[u8; 32]>::try_from(plain.as_slice())
            .map_err(|_| Error::Corrupt("key file: key length".into()));
        plain.zeroize();
        Ok(Some(DataKey::from_bytes(key?)))
    }
}

/// The data key wrapped by the PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinWrap {
    salt: String,
    kdf: KdfParams,
    sealed: Sealed,
    /// The wrap is also sealed by the platform keystore (Android Keystore / iOS Keychain).
    #[serde(default)]
    platform: bool,
}

/// The data key wrapped by the server's escrow key for one device of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowWrap {
    pub server: String,
    pub device_id: String,
    pub user_id: String,
    sealed: Sealed,
}

/// Why the phone was emptied, for the next start's first screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WipeNote {
    pub at: DateTime<Utc>,
    pub reason_zh: String,
}

/// `keys.json`: wrapped keys and the PIN's failure count. Nothing about any household.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    pub pin: Option<PinWrap>,
    pub escrow: Option<EscrowWrap>,
    /// Wrong PINs in a row.
    pub failures: u32,
    /// No PIN is checked before this instant.
    pub wait_until: Option<DateTime<Utc>>,
    /// Too many wrong PINs: the PIN wrap was erased; only a password sign-in opens the store.
    pub locked_out: bool,
}

const PIN_AAD: &[u8] = b"yijian data key v1 / pin";
const ESCROW_AAD: &[u8] = b"yijian data key v1 / escrow";

impl KeyFile {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(KEY_FILE)
    }

    /// The key file of `dir`, if the store there has been made.
    pub fn load(dir: &Path) -> Result<Option<KeyFile>> {
        let path = KeyFile::path(dir);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Write atomically (temporary file, fsync, rename): a crash never leaves half a key file,
    /// which would lock the worker out of their own unsent work.
    pub fn save(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = KeyFile::path(dir);
        let tmp = dir.join(format!("{KEY_FILE}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&serde_json::to_vec_pretty(self)?)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    /// Wrap `key` by `pin` (replacing any PIN wrap) and reset the failure count.
    pub fn wrap_pin(&mut self, key: &DataKey, pin: &str, kdf: KdfParams) -> Result<()> {
        let salt = random::<16>()?;
        let kek = kdf.derive(pin, &salt)?;
        let kek = platform::seal_kek(kek)?;
        self.pin = Some(PinWrap {
            salt: B64.encode(salt),
            kdf,
            sealed: Sealed::seal(&kek, PIN_AAD, key)?,
            platform: platform::AVAILABLE,
        });
        self.failures = 0;
        self.wait_until = None;
        self.locked_out = false;
        Ok(())
    }

    /// The data key if `pin` is right; `None` if wrong (the caller counts it). Slow (Argon2id).
    pub fn unwrap_pin(&self, pin: &str) -> Result<Option<DataKey>> {
        let Some(wrap) = &self.pin else {
            return Ok(None);
        };
        let salt = B64
            .decode(&wrap.salt)
            .map_err(|e| Error::Corrupt(format!("key file: {e}")))?;
        let kek = wrap.kdf.derive(pin, &salt)?;
        let kek = if wrap.platform {
            platform::seal_kek(kek)?
        } else {
            kek
        };
        wrap.sealed.open(&kek, PIN_AAD)
    }

    /// Wrap `key` by the server's escrow key for this device and user.
    pub fn wrap_escrow(
        &mut self,
        key: &DataKey,
        escrow_key: &[u8; 32],
        server: &str,
        device_id: &str,
        user_id: &str,
    ) -> Result<()> {
        self.escrow = Some(EscrowWrap {
            server: server.trim_end_matches('/').to_owned(),
            device_id: device_id.to_owned(),
            user_id: user_id.to_owned(),
            sealed: Sealed::seal(escrow_key, ESCROW_AAD, key)?,
        });
        Ok(())
    }

    /// The data key from the escrow wrap, if it is this device's and the key fits.
    pub fn unwrap_escrow(&self, escrow_key: &[u8; 32]) -> Result<Option<DataKey>> {
        match &self.escrow {
            Some(w) => w.sealed.open(escrow_key, ESCROW_AAD),
            None => Ok(None),
        }
    }
}

/// The platform keystore's part of the PIN wrap.
///
/// On a phone the key derived from the PIN is further sealed by a non-exportable key in the
/// Android Keystore / iOS Keychain, so the PIN wrap cannot be attacked off the phone. That code
/// needs the platform's SDK (JNI into `android.security.keystore`, Security.framework) and runs
/// only on a phone; this machine has neither, so here the desktop path is the only one built
/// and [`AVAILABLE`] is false: the wrap is Argon2id alone, and the README says so.
pub mod platform {
    use super::*;

    /// Whether PIN wraps made here go through a platform keystore.
    pub const AVAILABLE: bool = false;

    /// The key-encryption key as the platform keystore transforms it (identity here).
    pub fn seal_kek(kek: Zeroizing<[u8; 32]>) -> Result<Zeroizing<[u8; 32]>> {
        Ok(kek)
    }
}

/// Remove every trace of the store in `dir`: the key file first (without it the encrypted
/// files can never be read again, whatever is left on the flash), then the database, its
/// journal files and the photos. Leaves `wiped.json` with the reason, if one is given.
pub fn wipe_dir(dir: &Path, note: Option<&WipeNote>) -> Result<()> {
    let remove = |p: PathBuf| match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    };
    remove(KeyFile::path(dir))?;
    remove(dir.join(format!("{KEY_FILE}.tmp")))?;
    for suffix in ["", "-wal", "-shm", "-journal", ".encrypting"] {
        remove(dir.join(format!("{DB_FILE}{suffix}")))?;
    }
    let photos = dir.join("photos");
    match std::fs::remove_dir_all(&photos) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(photos, e)),
    }
    match note {
        Some(note) => std::fs::write(dir.join(WIPE_NOTE), serde_json::to_vec(note)?)
            .map_err(|e| Error::io(dir.join(WIPE_NOTE), e)),
        None => Ok(()),
    }
}

/// Why the store in `dir` was wiped, if it was.
pub fn wipe_note(dir: &Path) -> Option<WipeNote> {
    std::fs::read(dir.join(WIPE_NOTE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Whether `path` is a plain SQLite file (a store from before encryption).
pub fn is_plain_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: the unit tests check the logic, not the cost.
    const TEST_KDF: KdfParams = KdfParams {
        m_kib: 1024,
        t: 1,
        p: 1,
    };

    #[test]
    fn the_pin_wrap_opens_with_the_right_pin_only() {
        let key = DataKey::generate().expect("key");
        let mut file = KeyFile::default();
        file.wrap_pin(&key, "240517", TEST_KDF).expect("wrap");
        let back = file
            .unwrap_pin("240517")
            .expect("unwrap")
            .expect("right pin");
        assert_eq!(*back.0, *key.0);
        assert!(file.unwrap_pin("240518").expect("unwrap").is_none());
        let text = serde_json::to_string(&file).expect("json");
        assert!(
            !text.contains(&hex(&key.0[..])),
            "the key itself is never written"
        );
    }

    #[test]
    fn the_escrow_wrap_opens_with_the_servers_key_only() {
        let key = DataKey::generate().expect("key");
        let escrow = random::<32>().expect("escrow");
        let mut file = KeyFile::default();
        file.wrap_escrow(&key, &escrow, "http://s/", "dev", "user")
            .expect("wrap");
        assert_eq!(
            file.escrow.as_ref().map(|e| e.server.as_str()),
            Some("http://s")
        );
        let back = file.unwrap_escrow(&escrow).expect("unwrap").expect("fits");
        assert_eq!(*back.0, *key.0);
        let other = random::<32>().expect("other");
        assert!(file.unwrap_escrow(&other).expect("unwrap").is_none());
    }

    #[test]
    fn photo_files_are_sealed_and_tampering_is_detected() {
        let key = DataKey::generate().expect("key");
        let cipher = key.photo_cipher();
        let plain = b"\xff\xd8\xff\xe0 a photo of a house".repeat(100);
        let sealed = cipher.seal(&plain).expect("seal");
        assert_eq!(&sealed[..4], PHOTO_MAGIC);
        assert!(!sealed.windows(20).any(|w| w == &plain[..20]));
        assert_eq!(cipher.open(&sealed).expect("open"), plain);
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(cipher.open(&bad).is_err());
        let other = DataKey::generate().expect("other").photo_cipher();
        assert!(other.open(&sealed).is_err());
    }
}
