//! The default [`BlobStore`]: files in a directory on this machine's disk.

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use yijian_core::support::Sha256Hex;

use super::*;

/// Blobs as files: `<root>/<first two hex digits>/<sha256>` when complete, and
/// `<root>/partial/<sha256>.part` while uploading.
///
/// The partial file's length *is* the held offset, so an upload resumes across restarts with no
/// other bookkeeping. Completion is a rename within one file system, so a blob appears whole or
/// not at all. Concurrent uploads of one blob are kept apart by a set of blobs being written
/// in this process; a second writer is refused with [`BlobError::Busy`] instead of waiting,
/// because a device on a dropped connection that retries should learn at once that its old
/// request still holds the upload. That set is per process: several server processes must not
/// share one blob directory (at that scale blobs go to object storage).
#[derive(Debug, Clone)]
pub struct DiskBlobStore {
    root: PathBuf,
    uploading: Arc<Mutex<HashSet<Sha256Hex>>>,
}

/// Bytes read from the source before each write to disk: large enough that the blocking pool
/// is not asked for every small network frame, small enough that an upload costs little memory.
const WRITE_BUF: usize = 256 * 1024;

/// Read size while hashing a finished upload.
const HASH_BUF: usize = 64 * 1024;

impl DiskBlobStore {
    /// The store in `<data_dir>/blobs`, created if needed.
    pub async fn open_in(data_dir: &Path) -> io::Result<DiskBlobStore> {
        DiskBlobStore::open(data_dir.join("blobs")).await
    }

    /// The store rooted at `root`, created if needed.
    pub async fn open(root: PathBuf) -> io::Result<DiskBlobStore> {
        tokio::fs::create_dir_all(root.join("partial")).await?;
        Ok(DiskBlobStore {
            root,
            uploading: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    /// Where the complete blob lives. Fanned out by the first two digits so no directory holds
    /// millions of files.
    pub fn blob_path(&self, sha: &Sha256Hex) -> PathBuf {
        let name = sha.as_str();
        self.root.join(&name[..2]).join(name)
    }

    /// Where an unfinished upload lives.
    pub fn partial_path(&self, sha: &Sha256Hex) -> PathBuf {
        self.root
            .join("partial")
            .join(format!("{}.part", sha.as_str()))
    }

    fn status_blocking(&self, sha: &Sha256Hex) -> io::Result<BlobStatus> {
        if let Some(size) = file_len(&self.blob_path(sha))? {
            return Ok(BlobStatus::Complete { size });
        }
        Ok(match file_len(&self.partial_path(sha))? {
            Some(offset) => BlobStatus::Partial { offset },
            None => BlobStatus::Absent,
        })
    }
}

/// The length of the file at `path`, `None` if there is none.
fn file_len(path: &Path) -> io::Result<Option<u64>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Run blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(io::Error::other(e)))?
}

/// Exclusive right to write one blob, released on drop. Shared (`Arc`) with every blocking
/// write in flight, so a request that is cancelled mid-write (the connection dropped) keeps the
/// blob locked until the write on the blocking pool has finished; otherwise the next upload
/// could read a held offset that is about to change.
#[derive(Debug)]
pub(super) struct UploadLock {
    uploading: Arc<Mutex<HashSet<Sha256Hex>>>,
    sha: Sha256Hex,
}

impl UploadLock {
    pub(super) fn try_acquire(
        uploading: &Arc<Mutex<HashSet<Sha256Hex>>>,
        sha: &Sha256Hex,
    ) -> Option<Self> {
        let fresh = uploading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sha.clone());
        fresh.then(|| UploadLock {
            uploading: Arc::clone(uploading),
            sha: sha.clone(),
        })
    }
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        self.uploading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.sha);
    }
}

/// Where an append stands once its exclusive lock is held and the partial file is open.
enum Opened {
    Complete { size: u64 },
    Writing(std::fs::File),
}

/// SHA-256 of a file from its start, read in pieces (never the whole file in memory).
fn hash_file(mut file: &std::fs::File) -> io::Result<String> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUF];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Make a rename or a new directory entry durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[async_trait::async_trait]
impl BlobStore for DiskBlobStore {
    fn backend(&self) -> &'static str {
        "disk"
    }

    async fn status(&self, sha: &Sha256Hex) -> Result<BlobStatus, BlobError> {
        let store = self.clone();
        let sha = sha.clone();
        blocking(move || Ok(store.status_blocking(&sha)?)).await
    }

    async fn append(
        &self,
        sha: &Sha256Hex,
        span: ChunkSpan,
        src: ChunkSource<'_>,
    ) -> Result<Appended, BlobError> {
        let Some(lock) = UploadLock::try_acquire(&self.uploading, sha) else {
            return match self.status(sha).await? {
                BlobStatus::Complete { size } => Ok(Appended::AlreadyComplete { size }),
                other => Err(BlobError::Busy { held: other.held() }),
            };
        };
        let lock = Arc::new(lock);
        let final_path = self.blob_path(sha);
        let partial_path = self.partial_path(sha);

        let opened = {
            let (lock, final_path, partial_path) =
                (Arc::clone(&lock), final_path.clone(), partial_path.clone());
            blocking(move || {
                let _lock = lock;
                if let Some(size) = file_len(&final_path)? {
                    return Ok(Opened::Complete { size });
                }
                // Only a chunk at 0 may start an upload: a later chunk with no partial file is
                // an offset mismatch, and must not leave an empty file behind.
                let file = match std::fs::File::options()
                    .read(true)
                    .write(true)
                    .create(span.offset == 0)
                    .truncate(false)
                    .open(&partial_path)
                {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(BlobError::OffsetMismatch {
                            held: 0,
                            sent: span.offset,
                        });
                    }
                    Err(e) => return Err(e.into()),
                };
                let held = file.metadata()?.len();
                if held != span.offset {
                    return Err(BlobError::OffsetMismatch {
                        held,
                        sent: span.offset,
                    });
                }
                (&file).seek(SeekFrom::Start(held))?;
                Ok(Opened::Writing(file))
            })
            .await?
        };
        let file = match opened {
            Opened::Complete { size } => return Ok(Appended::AlreadyComplete { size }),
            Opened::Writing(file) => Arc::new(file),
        };

        // Copy the source to the file as it arrives. A failure of the source is remembered,
        // not returned at once: what arrived before it is written first and stays held.
        let mut buf = vec![0u8; WRITE_BUF];
        let mut written: u64 = 0;
        let mut failure: Option<io::Error> = None;
        while written < span.len && failure.is_none() {
            let want = usize::try_from(span.len - written)
                .unwrap_or(usize::MAX)
                .min(WRITE_BUF);
            let (filled, stopped) = fill(src, &mut buf[..want], written, span.len).await;
            failure = stopped;
            if filled > 0 {
                let (lock, file) = (Arc::clone(&lock), Arc::clone(&file));
                buf = blocking(move || {
                    let _lock = lock;
                    (&*file).write_all(&buf[..filled])?;
                    Ok(buf)
                })
                .await?;
                written += filled as u64;
            }
        }

        if let Some(source) = failure {
            let held = span.offset + written;
            let (lock, file) = (Arc::clone(&lock), Arc::clone(&file));
            blocking(move || {
                let _lock = lock;
                // What the device will be told is held must survive a power cut.
                file.sync_data()?;
                Ok(())
            })
            .await?;
            return Err(BlobError::Interrupted { held, source });
        }

        // The declared length is all there is; more means the client and its Content-Range
        // disagree, and none of this chunk can be trusted. An error here, after every declared
        // byte arrived, changes nothing we hold.
        let mut probe = [0u8; 1];
        let extra = matches!(src.read(&mut probe).await, Ok(n) if n > 0);

        let expected = sha.as_str().to_owned();
        blocking(move || {
            let _lock = lock;
            if extra {
                file.set_len(span.offset)?;
                file.sync_data()?;
                return Err(BlobError::ChunkTooLong { held: span.offset });
            }
            if !span.is_last() {
                file.sync_data()?;
                return Ok(Appended::Partial { offset: span.end() });
            }
            file.sync_all()?;
            let actual = hash_file(&file)?;
            drop(file);
            if actual != expected {
                std::fs::remove_file(&partial_path)?;
                return Err(BlobError::HashMismatch { expected, actual });
            }
            let dir = final_path
                .parent()
                .ok_or_else(|| io::Error::other("blob path has no parent"))?;
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&partial_path, &final_path)?;
            sync_dir(dir)?;
            Ok(Appended::Completed { size: span.total })
        })
        .await
    }

    async fn read(&self, sha: &Sha256Hex, range: Option<ByteRange>) -> Result<BlobRead, BlobError> {
        let mut file = match tokio::fs::File::open(self.blob_path(sha)).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        let range = match range {
            None => 0..size,
            Some(r) => r
                .resolve(size)
                .ok_or(BlobError::RangeNotSatisfiable { size })?,
        };
        let mut head = [0u8; ImageKind::MAGIC_LEN];
        let mut filled = 0;
        while filled < head.len() {
            match file.read(&mut head[filled..]).await? {
                0 => break,
                n => filled += n,
            }
        }
        let content_type =
            ImageKind::sniff(&head[..filled]).map_or("application/octet-stream", ImageKind::mime);
        file.seek(SeekFrom::Start(range.start)).await?;
        Ok(BlobRead {
            size,
            content_type,
            body: Box::new(file.take(range.end - range.start)),
            range,
        })
    }
}
