//! The photo queue: staged photos waiting to be uploaded, their progress and retries.

use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use std::path::{Path, PathBuf};

use super::*;

impl LocalStore {
    /// Queue a photo's bytes (inside the transaction that records its metadata command).
    /// The same bytes recorded twice are queued once.
    pub(crate) fn queue_photo_in(
        tx: &Transaction<'_>,
        sha256: &str,
        path: &Path,
        bytes: u64,
        owner: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<()> {
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, path, bytes, owner_kind, owner_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                sha256,
                path.to_string_lossy(),
                i64::try_from(bytes).unwrap_or(i64::MAX),
                owner.0,
                owner.1,
                timestamp(now)
            ],
        )?;
        Ok(())
    }

    const PHOTO_SELECT: &'static str = "SELECT sha256, path, bytes, owner_kind, owner_id, status,
            uploaded_bytes, attempts, last_error, next_attempt_at FROM photos";

    fn photo_rows(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<PhotoJob>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sha, path, bytes, ok, oid, status, up, attempts, err, next) = row?;
            out.push(PhotoJob {
                sha256: sha,
                path: PathBuf::from(path),
                bytes: u64::try_from(bytes).unwrap_or(0),
                owner_kind: ok,
                owner_id: oid,
                status: PhotoStatus::parse(&status)?,
                uploaded_bytes: u64::try_from(up).unwrap_or(0),
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                last_error: err,
                next_attempt_at: next,
            });
        }
        Ok(out)
    }

    /// Upload state of the photo file `sha256`, if it is in the queue.
    pub fn photo_status(&self, sha256: &str) -> Result<Option<PhotoStatus>> {
        let status: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()?;
        status.map(|s| PhotoStatus::parse(&s)).transpose()
    }

    /// Every photo in the queue, oldest first.
    pub fn photos(&self) -> Result<Vec<PhotoJob>> {
        self.photo_rows(
            &format!("{} ORDER BY created_at, sha256", Self::PHOTO_SELECT),
            [],
        )
    }

    /// Photos to upload now: not done or failed, not backing off, and whose metadata record
    /// the server has acknowledged (not pending, not quarantined).
    pub fn photos_due(&self, now: DateTime<Utc>) -> Result<Vec<PhotoJob>> {
        self.photo_rows(
            &format!(
                "{} WHERE status IN ('waiting', 'uploading')
                   AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                   AND NOT EXISTS (SELECT 1 FROM outbox_touches t
                                    WHERE t.kind = photos.owner_kind AND t.id = photos.owner_id)
                   AND NOT EXISTS (SELECT 1 FROM quarantine q
                                    WHERE q.record_kind = photos.owner_kind
                                      AND q.record_id = photos.owner_id)
                 ORDER BY created_at, sha256",
                Self::PHOTO_SELECT
            ),
            [timestamp(now)],
        )
    }

    /// When the earliest photo that is backing off may be tried again.
    pub fn next_photo_attempt(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT min(next_attempt_at) FROM photos
              WHERE status IN ('waiting', 'uploading') AND next_attempt_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    fn set_photo(&self, sha256: &str, status: PhotoStatus, uploaded: Option<u64>) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = ?2, uploaded_bytes = coalesce(?3, uploaded_bytes)
              WHERE sha256 = ?1",
            params![
                sha256,
                status.as_str(),
                uploaded.map(|u| i64::try_from(u).unwrap_or(i64::MAX))
            ],
        )?;
        Ok(())
    }

    /// Bytes the server holds so far.
    pub fn photo_progress(&self, sha256: &str, uploaded: u64) -> Result<()> {
        self.set_photo(sha256, PhotoStatus::Uploading, Some(uploaded))
    }

    pub fn photo_done(&self, sha256: &str, bytes: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = 'done', uploaded_bytes = ?2, last_error = NULL,
                    next_attempt_at = NULL
              WHERE sha256 = ?1",
            params![sha256, i64::try_from(bytes).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    /// The server will not take this photo (too large, not an image, damaged): stop trying.
    pub fn photo_failed(&self, sha256: &str, message: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = 'failed', attempts = attempts + 1, last_error = ?2,
                    next_attempt_at = NULL
              WHERE sha256 = ?1",
            (sha256, message),
        )?;
        Ok(())
    }

    /// A transient failure: count it and wait until `next_at`.
    pub fn photo_retry_later(
        &self,
        sha256: &str,
        error: &str,
        next_at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
              WHERE sha256 = ?1",
            (sha256, error, timestamp(next_at)),
        )?;
        Ok(())
    }

    /// Try a failed photo again (after the worker retook or replaced the file).
    pub fn retry_photo(&self, sha256: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE photos SET status = 'waiting', attempts = 0, last_error = NULL,
                    next_attempt_at = NULL
              WHERE sha256 = ?1",
            [sha256],
        )?;
        Ok(())
    }
}
