//! Photos taken in the app: run through the capture pipeline, kept as files, then attached.
//!
//! A worker photographs the house, the water source, a medical bill, the signed authorisation.
//! The camera's JPEG goes through [`crate::photo::process_photo`] at once (upright, no
//! metadata, 1600 px, thumbnail) and the results are written, sealed, to `photos/<sha256>.yjp`
//! next to the database ([`PhotoFiles`]): this is a **staged** photo. Attaching it to a record (a checklist item, a
//! proxy declaration's confirmation) writes the photo's metadata command and queues both files
//! for upload in the same transaction as the record it belongs to, so a photo is never sent
//! without its record nor a record left waiting for a photo that was never queued.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use yijian_core::ids::PhotoId;
use yijian_core::protocol::CommandBody;
use yijian_core::support::{PhotoMeta, PhotoMime, PhotoOwner, Sha256Hex};

use crate::error::{Error, Result};
use crate::photo::{CaptureTime, process_photo};
use crate::store::{LocalStore, Touch, timestamp};
use crate::vault::PhotoCipher;
use yijian_core::protocol::kinds;

/// A processed photo on the device, not yet attached to anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct StagedPhoto {
    pub sha256: String,
    pub thumb_sha256: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub thumb_bytes: u64,
    pub taken_at: Option<DateTime<Utc>>,
}

/// The instant of a capture time. A camera that wrote no zone wrote local time, and the phones
/// this app runs on are in China: read it as Beijing time.
pub fn capture_instant(t: CaptureTime) -> Option<DateTime<Utc>> {
    match t {
        CaptureTime::Utc(t) => Some(t),
        CaptureTime::Local(naive) => yijian_core::time::shanghai()
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// The photo files of one device: `photos/<sha256>.yjp`, sealed with the store's photo key
/// ([`crate::vault::PhotoCipher`]). Named by the plain content's hash, so the same photo is
/// stored once; the name reveals nothing about the household.
#[derive(Debug, Clone)]
pub struct PhotoFiles {
    dir: PathBuf,
    /// `None` only for the plain benchmark anchor ([`LocalStore::open_unencrypted`]).
    cipher: Option<PhotoCipher>,
}

impl PhotoFiles {
    pub fn new(dir: PathBuf, cipher: Option<PhotoCipher>) -> PhotoFiles {
        PhotoFiles { dir, cipher }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file of `sha256` is.
    pub fn path(&self, sha256: &str) -> PathBuf {
        let ext = if self.cipher.is_some() { "yjp" } else { "jpg" };
        self.dir.join(format!("{sha256}.{ext}"))
    }

    pub fn exists(&self, sha256: &str) -> bool {
        self.path(sha256).exists()
    }

    /// Write a photo's bytes (sealed), to a temporary name first so a file on disk is always
    /// whole.
    pub fn write(&self, sha256: &str, plain: &[u8]) -> Result<()> {
        let path = self.path(sha256);
        if path.exists() {
            // Named by content: the same bytes are already there.
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let bytes = match &self.cipher {
            Some(c) => c.seal(plain)?,
            None => plain.to_vec(),
        };
        let tmp = path.with_extension("part");
        {
            use std::io::Write;
            // Synced before the rename: a power cut never leaves an empty sealed photo (the
            // plain original may already be gone).
            let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            f.write_all(&bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    /// The plain bytes of `sha256`.
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path(sha256);
        match &self.cipher {
            Some(c) => c.read(&path),
            None => std::fs::read(&path).map_err(|e| Error::io(&path, e)),
        }
    }
}

/// Run the pipeline on a camera photo and write both files. Slow (decode + resize + encode):
/// call it off the UI thread.
pub fn process_to_files(files: &PhotoFiles, camera_bytes: &[u8]) -> Result<StagedPhoto> {
    let processed = process_photo(camera_bytes)?;
    let thumb_sha256 = crate::domain::sha256_hex(&processed.thumb);
    files.write(&processed.sha256, &processed.jpeg)?;
    files.write(&thumb_sha256, &processed.thumb)?;
    Ok(StagedPhoto {
        sha256: processed.sha256,
        thumb_sha256,
        width: processed.width,
        height: processed.height,
        bytes: processed.jpeg.len() as u64,
        thumb_bytes: processed.thumb.len() as u64,
        taken_at: processed.taken_at.and_then(capture_instant),
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl LocalStore {
    /// Remember a photo written by [`process_to_files`].
    pub fn stage_photo(&self, p: &StagedPhoto) -> Result<()> {
        self.conn().execute(
            "INSERT INTO staged_photos (sha256, thumb_sha256, width, height, bytes, thumb_bytes,
                                        taken_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (sha256) DO NOTHING",
            params![
                p.sha256,
                p.thumb_sha256,
                p.width,
                p.height,
                to_i64(p.bytes),
                to_i64(p.thumb_bytes),
                p.taken_at.map(timestamp),
                timestamp(self.now())
            ],
        )?;
        Ok(())
    }

    /// A staged photo by its SHA-256.
    pub fn staged_photo(&self, sha256: &str) -> Result<StagedPhoto> {
        let row = self
            .conn()
            .query_row(
                "SELECT sha256, thumb_sha256, width, height, bytes, thumb_bytes, taken_at
                   FROM staged_photos WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()?;
        let (sha256, thumb_sha256, width, height, bytes, thumb_bytes, taken_at) =
            row.ok_or_else(|| {
                Error::NotFound("找不到这张照片（可能已被使用或删除），请重新拍照".into())
            })?;
        Ok(StagedPhoto {
            sha256,
            thumb_sha256,
            width,
            height,
            bytes: u64::try_from(bytes).unwrap_or(0),
            thumb_bytes: u64::try_from(thumb_bytes).unwrap_or(0),
            taken_at: taken_at
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
        })
    }

    /// The metadata command and upload-queue rows of a staged photo given to `owner`, to be
    /// recorded in one batch with the record it belongs to ([`LocalStore::record_batch`]).
    /// `village` is the village of the owning record.
    pub fn attach_staged(
        &self,
        id: PhotoId,
        staged: &StagedPhoto,
        owner: PhotoOwner,
        village: &str,
    ) -> Result<AttachedPhoto> {
        let sha = Sha256Hex::parse(&staged.sha256).map_err(|e| Error::Corrupt(e.to_string()))?;
        let thumb =
            Sha256Hex::parse(&staged.thumb_sha256).map_err(|e| Error::Corrupt(e.to_string()))?;
        let meta = PhotoMeta {
            id,
            sha256: sha,
            bytes: staged.bytes,
            width: staged.width,
            height: staged.height,
            mime: PhotoMime::Jpeg,
            taken_at: staged.taken_at,
            owner,
            thumb_sha256: Some(thumb),
        };
        meta.validate().map_err(|e| Error::invalid(e.to_string()))?;
        let touch = Touch::new(kinds::PHOTO, id, village, &meta)?;
        let files = self.photo_files();
        Ok(AttachedPhoto {
            command: (CommandBody::RecordPhoto(meta), vec![touch]),
            files: vec![
                (
                    staged.sha256.clone(),
                    files.path(&staged.sha256),
                    staged.bytes,
                ),
                (
                    staged.thumb_sha256.clone(),
                    files.path(&staged.thumb_sha256),
                    staged.thumb_bytes,
                ),
            ],
            photo_id: id,
        })
    }
}

/// A staged photo made ready to record: its metadata command and the files to upload.
#[derive(Debug, Clone)]
pub struct AttachedPhoto {
    pub command: (CommandBody, Vec<Touch>),
    files: Vec<(String, PathBuf, u64)>,
    pub photo_id: PhotoId,
}

impl AttachedPhoto {
    /// Queue the files for upload (inside the batch's transaction) and drop the staging row.
    pub fn queue_in(&self, tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<()> {
        let owner_id = self.photo_id.to_string();
        for (sha, path, bytes) in &self.files {
            LocalStore::queue_photo_in(tx, sha, path, *bytes, (kinds::PHOTO, &owner_id), now)?;
        }
        if let Some((main, _, _)) = self.files.first() {
            tx.execute("DELETE FROM staged_photos WHERE sha256 = ?1", [main])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_capture_time_is_read_as_beijing_time() {
        let naive = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(9, 30, 0))
            .expect("time");
        let utc = capture_instant(CaptureTime::Local(naive)).expect("instant");
        assert_eq!(timestamp(utc), "2026-03-02T01:30:00.000Z");
    }
}
