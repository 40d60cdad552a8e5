//! The photo upload queue: the last phase of a round.
//!
//! Photos are the heaviest thing a device sends and the likeliest to be cut off halfway, so
//! each is uploaded on its own: ask the server how many bytes it already holds, send the rest
//! in chunks, and record progress after every chunk. A photo that fails for a passing reason
//! waits out its own backoff; one the server will never take (too large, not an image,
//! damaged) is marked failed with the server's reason. Neither holds up the next photo.

use chrono::Utc;

use super::api::Api;
use super::plan::{self, BlobState, PutDecision};
use super::{Phase, SyncEngine, SyncProgress, SyncReport};
use crate::error::{Error, ErrorKind, Result};
use crate::media::PhotoFiles;
use crate::store::PhotoJob;

/// How one photo's upload ended.
enum PhotoEnd {
    Done,
    Rejected(String),
    RetryLater(String),
}

/// Counters of the photo phase, for progress events and the report.
struct PhaseTally {
    photos_total: u64,
    photos_done: u64,
    /// Bytes of the photos before the current one.
    bytes_before: u64,
    bytes_total: u64,
    /// Bytes of the current photo the server took in this round.
    sent: u64,
}

/// A server that keeps answering "wrong offset" is not making progress: give up for now.
const MAX_RESUMES: u32 = 5;

fn read_range(files: &PhotoFiles, job: &PhotoJob, start: u64, end: u64) -> Result<Vec<u8>> {
    // Sealed files are opened whole (a photo is a few hundred KB) and the range cut from the
    // plain bytes, so a resumed upload sends exactly what the server expects.
    let plain = files.read(&job.sha256)?;
    let range = usize::try_from(start).unwrap_or(usize::MAX)..usize::try_from(end).unwrap_or(0);
    plain
        .get(range)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::Corrupt(format!("照片文件比记录的短（{}）", job.sha256)))
}

impl SyncEngine {
    pub(super) async fn upload_photos(&self, api: &Api, report: &mut SyncReport) -> Result<()> {
        let due = self.with_store(|s| s.photos_due(s.now()))?;
        let mut phase = PhaseTally {
            photos_total: due.len() as u64,
            photos_done: 0,
            bytes_before: 0,
            bytes_total: due.iter().map(|j| j.bytes).sum(),
            sent: 0,
        };
        for job in due {
            phase.sent = 0;
            let end = match self.upload_photo(api, &job, &mut phase).await {
                Ok(end) => end,
                // Not this photo's fault: stop the round; the loop retries it.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Unauthenticated | ErrorKind::Revoked | ErrorKind::Storage
                    ) =>
                {
                    return Err(e);
                }
                Err(e) => PhotoEnd::RetryLater(e.to_string()),
            };
            match end {
                PhotoEnd::Done => {
                    report.photos_uploaded += 1;
                    self.with_store(|s| s.photo_done(&job.sha256, job.bytes))?;
                }
                PhotoEnd::Rejected(message) => {
                    report.photos_failed += 1;
                    tracing::info!(photo = %job.sha256, %message, "photo refused by the server");
                    self.with_store(|s| s.photo_failed(&job.sha256, &message))?;
                }
                PhotoEnd::RetryLater(message) => {
                    report.photos_retry_later += 1;
                    let delay = self
                        .config
                        .photo_backoff
                        .delay(job.attempts.saturating_add(1), plan::random_u64());
                    let next = self.with_store(|s| Ok(s.now()))?
                        + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero());
                    self.with_store(|s| s.photo_retry_later(&job.sha256, &message, next))?;
                }
            }
            report.photo_bytes_sent += phase.sent;
            phase.photos_done += 1;
            phase.bytes_before += job.bytes;
        }
        Ok(())
    }

    /// Upload one photo from wherever the server stands.
    async fn upload_photo(
        &self,
        api: &Api,
        job: &PhotoJob,
        phase: &mut PhaseTally,
    ) -> Result<PhotoEnd> {
        let total = job.bytes;
        let files = self.with_store(|s| Ok(s.photo_files()))?;
        let mut offset = match api.blob_state(&job.sha256).await? {
            BlobState::Complete => return Ok(PhotoEnd::Done),
            // More than the file has: not ours to trust; the server will answer with its
            // offset when we start over.
            BlobState::Partial { offset } if offset > total => 0,
            BlobState::Partial { offset } => offset,
        };
        let mut resumes = 0;
        loop {
            let Some((start, end)) = plan::next_chunk(offset, total, self.config.photo_chunk)
            else {
                // Everything sent but not confirmed complete: ask again next time.
                return Ok(PhotoEnd::RetryLater(
                    "照片已全部发送但服务器尚未确认，稍后重试".into(),
                ));
            };
            let chunk = match read_range(&files, job, start, end) {
                Ok(c) => c,
                Err(e) => {
                    return Ok(PhotoEnd::Rejected(format!(
                        "无法读取照片文件（{}）：{e}",
                        job.sha256
                    )));
                }
            };
            match api.blob_put(&job.sha256, start, end, total, chunk).await? {
                PutDecision::Complete => {
                    phase.sent += end - start;
                    self.emit_photo(job, phase, total);
                    return Ok(PhotoEnd::Done);
                }
                PutDecision::Continue { offset: next } if next > start => {
                    phase.sent += next.min(total) - start;
                    offset = next.min(total);
                }
                PutDecision::Continue { offset: held } | PutDecision::Resume { offset: held } => {
                    resumes += 1;
                    if resumes > MAX_RESUMES {
                        return Ok(PhotoEnd::RetryLater(
                            "服务器上的上传进度与本机不一致，稍后重试".into(),
                        ));
                    }
                    offset = held.min(total);
                }
                PutDecision::Rejected { message } => return Ok(PhotoEnd::Rejected(message)),
                PutDecision::Retry { message } => return Ok(PhotoEnd::RetryLater(message)),
                PutDecision::Unauthenticated { revoked: true, .. } => {
                    return Err(Error::DeviceRevoked);
                }
                PutDecision::Unauthenticated { message, .. } => {
                    return Err(Error::Unauthenticated {
                        code: "unauthenticated".into(),
                        message,
                    });
                }
            }
            self.with_store(|s| s.photo_progress(&job.sha256, offset))?;
            self.emit_photo(job, phase, offset);
        }
    }

    fn emit_photo(&self, job: &PhotoJob, phase: &PhaseTally, held: u64) {
        self.emit(SyncProgress {
            phase: Phase::Photos,
            records_done: phase.photos_done,
            records_total: phase.photos_total,
            bytes_done: phase.bytes_before + held,
            bytes_total: phase.bytes_total,
            photo: Some((job.sha256.clone(), held, job.bytes)),
        });
    }
}

/// Seconds until `when` (RFC 3339), zero if past or unreadable.
pub(super) fn until(when: &str) -> std::time::Duration {
    chrono::DateTime::parse_from_rfc3339(when)
        .ok()
        .and_then(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().ok())
        .unwrap_or_default()
}
