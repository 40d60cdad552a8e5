//! Photo bytes: stored apart from the records, named by their SHA-256, uploaded resumably.
//!
//! Grid workers upload from villages over 2G/3G that drops mid-transfer. A photo is therefore
//! sent as chunks appended at an offset; whatever arrived before a cut is kept, and the device
//! asks how much the server holds and continues from there instead of starting over. A blob is
//! visible to readers only once it is whole and its SHA-256 equals its name, so a reader never
//! sees half a photo and a corrupted transfer never lands under a valid name.
//!
//! Terms:
//! - *blob*: the bytes of one photo, named by the 64 lowercase hex digits of their SHA-256
//!   ([`Sha256Hex`], which also makes a name that walks out of the store unrepresentable).
//! - *held offset*: how many bytes of a blob the store holds (all of them once complete).
//! - *chunk*: one append, described by a [`ChunkSpan`] (`offset`, `len`, and the blob's
//!   declared `total`).
//!
//! [`BlobStore`] is the seam for S3-compatible object storage (multipart uploads) at province
//! scale; [`DiskBlobStore`] is the embedded default under `<data_dir>/blobs/`.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use yijian_core::support::Sha256Hex;

/// The response header that tells a device how many bytes of a blob the server holds: where
/// its next chunk starts (as in the tus resumable-upload protocol).
pub const UPLOAD_OFFSET: &str = "upload-offset";

/// What the store holds of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobStatus {
    /// Whole and verified.
    Complete {
        size: u64,
    },
    /// An upload in progress (or abandoned): `offset` bytes held.
    Partial {
        offset: u64,
    },
    Absent,
}

impl BlobStatus {
    /// Bytes held: where the next chunk must start (the size when complete).
    pub fn held(self) -> u64 {
        match self {
            BlobStatus::Complete { size } => size,
            BlobStatus::Partial { offset } => offset,
            BlobStatus::Absent => 0,
        }
    }
}

/// Where a chunk sits in its blob: bytes `offset .. offset + len` of a blob of `total` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpan {
    pub offset: u64,
    pub len: u64,
    pub total: u64,
}

impl ChunkSpan {
    /// `None` when the chunk would end past the blob (or overflow).
    pub fn new(offset: u64, len: u64, total: u64) -> Option<ChunkSpan> {
        let end = offset.checked_add(len)?;
        (end <= total).then_some(ChunkSpan { offset, len, total })
    }

    /// The whole blob in one chunk.
    pub fn whole(total: u64) -> ChunkSpan {
        ChunkSpan {
            offset: 0,
            len: total,
            total,
        }
    }

    /// One past the chunk's last byte: the held offset once it is written.
    pub fn end(self) -> u64 {
        self.offset.saturating_add(self.len)
    }

    /// Does this chunk finish the blob?
    pub fn is_last(self) -> bool {
        self.end() == self.total
    }
}

/// What an append achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Chunk stored; the upload continues at `offset`.
    Partial { offset: u64 },
    /// This chunk finished the blob and its hash matched its name.
    Completed { size: u64 },
    /// The blob was already whole (another device uploaded the same photo, or a retry after
    /// the answer was lost); the chunk was not needed.
    AlreadyComplete { size: u64 },
}

/// A byte range as a client asks for it (RFC 9110 §14.1.2), before the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` (inclusive).
    FromTo(u64, u64),
    /// `bytes=a-`.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open byte range this selects in a blob of `size` bytes; `None` when it selects
    /// nothing (answered 416).
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        match self {
            ByteRange::FromTo(a, b) if a <= b && a < size => Some(a..b.saturating_add(1).min(size)),
            ByteRange::From(a) if a < size => Some(a..size),
            ByteRange::Suffix(n) if n > 0 && size > 0 => Some(size.saturating_sub(n)..size),
            _ => None,
        }
    }
}

/// The image formats accepted, recognised by their first bytes (not by what the client says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
}

impl ImageKind {
    /// How many leading bytes [`ImageKind::sniff`] needs at most.
    pub const MAGIC_LEN: usize = 12;

    /// The format whose signature `head` (the blob's first bytes) starts with.
    pub fn sniff(head: &[u8]) -> Option<ImageKind> {
        match head {
            [0xFF, 0xD8, 0xFF, ..] => Some(ImageKind::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageKind::Png),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(ImageKind::Webp),
            _ => None,
        }
    }

    pub const fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
        }
    }
}

/// A byte source for [`BlobStore::append`]: the request body, as it arrives.
pub type ChunkSource<'a> = &'a mut (dyn AsyncRead + Send + Unpin);

/// The bytes of (a range of) a blob, as they are read from storage.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// An open blob to send to a client.
pub struct BlobRead {
    /// The whole blob's size.
    pub size: u64,
    /// The bytes `body` yields (all of them when no range was asked for).
    pub range: Range<u64>,
    /// From the blob's first bytes; `application/octet-stream` if not a known image.
    pub content_type: &'static str,
    pub body: BlobReader,
}

impl std::fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobRead")
            .field("size", &self.size)
            .field("range", &self.range)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The chunk does not start where the held bytes end; the client should resume at `held`.
    #[error("chunk starts at {sent} but {held} bytes are held")]
    OffsetMismatch { held: u64, sent: u64 },
    /// Another upload of the same blob is writing right now.
    #[error("another upload of this blob is in progress ({held} bytes held)")]
    Busy { held: u64 },
    /// The source failed or ended before the chunk's declared length; what arrived is kept.
    #[error("upload interrupted with {held} bytes held: {source}")]
    Interrupted {
        held: u64,
        #[source]
        source: io::Error,
    },
    /// The source had more bytes than the chunk declared; the chunk was discarded.
    #[error("the body is longer than the declared chunk; {held} bytes held")]
    ChunkTooLong { held: u64 },
    /// The finished bytes hash to `actual`, not to their name; the partial upload was deleted.
    #[error("the uploaded bytes hash to {actual}, not {expected}")]
    HashMismatch { expected: String, actual: String },
    #[error("no such blob")]
    NotFound,
    #[error("range not satisfiable in a blob of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("blob storage: {0}")]
    Io(#[from] io::Error),
}

/// Where photo bytes live. Methods are object-safe so the backend is chosen once at start and
/// held as `Arc<dyn BlobStore>` in [`crate::AppState`].
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// `"disk"`, later `"s3"`.
    fn backend(&self) -> &'static str;

    /// How much of `sha` is held.
    async fn status(&self, sha: &Sha256Hex) -> Result<BlobStatus, BlobError>;

    /// Append `span.len` bytes read from `src` at `span.offset`, which must equal the held
    /// offset ([`BlobError::OffsetMismatch`] otherwise). Bytes are stored as they arrive, so a
    /// source that fails half-way leaves them held ([`BlobError::Interrupted`]). The chunk that
    /// reaches `span.total` finishes the blob: it becomes readable only if its SHA-256 equals
    /// `sha`, and is discarded otherwise ([`BlobError::HashMismatch`]).
    async fn append(
        &self,
        sha: &Sha256Hex,
        span: ChunkSpan,
        src: ChunkSource<'_>,
    ) -> Result<Appended, BlobError>;

    /// Open a complete blob, or the part of it `range` selects.
    async fn read(&self, sha: &Sha256Hex, range: Option<ByteRange>) -> Result<BlobRead, BlobError>;
}

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
struct UploadLock {
    uploading: Arc<Mutex<HashSet<Sha256Hex>>>,
    sha: Sha256Hex,
}

impl UploadLock {
    fn try_acquire(uploading: &Arc<Mutex<HashSet<Sha256Hex>>>, sha: &Sha256Hex) -> Option<Self> {
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
            let mut filled = 0;
            while filled < want {
                match src.read(&mut buf[filled..want]).await {
                    Ok(0) => {
                        failure = Some(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "the body ended after {} of {} bytes",
                                written + filled as u64,
                                span.len
                            ),
                        ));
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

    use super::*;

    /// A JPEG-looking blob of `len` bytes whose content depends on `seed`.
    fn jpeg(len: usize, seed: u8) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
        bytes
    }

    fn name_of(bytes: &[u8]) -> Sha256Hex {
        Sha256Hex::parse(&hex::encode(Sha256::digest(bytes))).expect("sha")
    }

    async fn store(dir: &Path) -> DiskBlobStore {
        DiskBlobStore::open_in(dir).await.expect("open store")
    }

    async fn append(
        store: &DiskBlobStore,
        sha: &Sha256Hex,
        offset: u64,
        bytes: &[u8],
        total: usize,
    ) -> Result<Appended, BlobError> {
        let span = ChunkSpan::new(offset, bytes.len() as u64, total as u64).expect("span");
        let mut src = bytes;
        store.append(sha, span, &mut src).await
    }

    async fn read_all(store: &DiskBlobStore, sha: &Sha256Hex) -> Vec<u8> {
        let mut blob = store.read(sha, None).await.expect("read");
        let mut out = Vec::new();
        blob.body.read_to_end(&mut out).await.expect("read body");
        out
    }

    /// Yields `bytes`, then fails: a connection that drops mid-chunk.
    struct CutAfter {
        bytes: Vec<u8>,
        pos: usize,
    }

    impl AsyncRead for CutAfter {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.pos == self.bytes.len() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "signal lost",
                )));
            }
            // Small pieces, as a slow network delivers them.
            let n = buf.remaining().min(1000).min(self.bytes.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.bytes[start..start + n]);
            self.pos += n;
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn upload_resumes_across_restarts_of_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = jpeg(300_000, 1);
        let sha = name_of(&data);
        {
            let s = store(dir.path()).await;
            assert_eq!(s.status(&sha).await.expect("status"), BlobStatus::Absent);
            let r = append(&s, &sha, 0, &data[..100_000], data.len()).await;
            assert_eq!(r.expect("chunk 1"), Appended::Partial { offset: 100_000 });
        }
        let s = store(dir.path()).await;
        assert_eq!(
            s.status(&sha).await.expect("status"),
            BlobStatus::Partial { offset: 100_000 }
        );
        let r = append(&s, &sha, 100_000, &data[100_000..], data.len()).await;
        assert_eq!(r.expect("chunk 2"), Appended::Completed { size: 300_000 });
        assert_eq!(
            s.status(&sha).await.expect("status"),
            BlobStatus::Complete { size: 300_000 }
        );
        assert_eq!(read_all(&s, &sha).await, data);
        // Uploading it again (another device took the same photo) is a no-op.
        let again = append(&s, &sha, 0, &data, data.len()).await;
        assert_eq!(
            again.expect("again"),
            Appended::AlreadyComplete { size: 300_000 }
        );
    }

    #[tokio::test]
    async fn a_chunk_at_the_wrong_offset_is_refused_with_the_held_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(10_000, 2);
        let sha = name_of(&data);

        // Nothing held: a chunk that does not start at 0 leaves no trace.
        let r = append(&s, &sha, 500, &data[500..1000], data.len()).await;
        assert!(matches!(
            r,
            Err(BlobError::OffsetMismatch { held: 0, sent: 500 })
        ));
        assert!(!s.partial_path(&sha).exists());

        append(&s, &sha, 0, &data[..4000], data.len())
            .await
            .expect("first chunk");
        for wrong in [0, 3999, 4001] {
            let r = append(&s, &sha, wrong, &data[wrong as usize..], data.len()).await;
            assert!(
                matches!(r, Err(BlobError::OffsetMismatch { held: 4000, sent }) if sent == wrong),
                "{wrong}: {r:?}"
            );
        }
        assert_eq!(
            s.status(&sha).await.expect("status"),
            BlobStatus::Partial { offset: 4000 },
            "refused chunks change nothing"
        );
        append(&s, &sha, 4000, &data[4000..], data.len())
            .await
            .expect("rest");
        assert_eq!(read_all(&s, &sha).await, data);
    }

    #[tokio::test]
    async fn an_interrupted_chunk_keeps_what_arrived() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(50_000, 3);
        let sha = name_of(&data);
        let span = ChunkSpan::whole(data.len() as u64);
        let mut src = CutAfter {
            bytes: data[..12_345].to_vec(),
            pos: 0,
        };
        let r = s.append(&sha, span, &mut src).await;
        assert!(
            matches!(&r, Err(BlobError::Interrupted { held: 12_345, source }) if source.kind() == io::ErrorKind::ConnectionReset),
            "{r:?}"
        );
        // A body that just ends early is an interruption too.
        let span = ChunkSpan::new(12_345, 20_000, data.len() as u64).expect("span");
        let mut short = &data[12_345..20_000];
        let r = s.append(&sha, span, &mut short).await;
        assert!(
            matches!(r, Err(BlobError::Interrupted { held: 20_000, .. })),
            "{r:?}"
        );
        append(&s, &sha, 20_000, &data[20_000..], data.len())
            .await
            .expect("resume");
        assert_eq!(read_all(&s, &sha).await, data);
    }

    #[tokio::test]
    async fn a_hash_mismatch_discards_the_upload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(20_000, 4);
        let sha = name_of(&jpeg(20_000, 5));
        append(&s, &sha, 0, &data[..10_000], data.len())
            .await
            .expect("chunk 1");
        let r = append(&s, &sha, 10_000, &data[10_000..], data.len()).await;
        match r {
            Err(BlobError::HashMismatch { expected, actual }) => {
                assert_eq!(expected, sha.as_str());
                assert_eq!(actual, name_of(&data).as_str());
            }
            other => panic!("expected a hash mismatch, got {other:?}"),
        }
        assert_eq!(s.status(&sha).await.expect("status"), BlobStatus::Absent);
        assert!(!s.partial_path(&sha).exists());
        assert!(!s.blob_path(&sha).exists());
        assert!(matches!(s.read(&sha, None).await, Err(BlobError::NotFound)));
    }

    #[tokio::test]
    async fn a_blob_becomes_readable_only_when_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(30_000, 6);
        let sha = name_of(&data);
        append(&s, &sha, 0, &data[..29_999], data.len())
            .await
            .expect("all but one byte");
        assert!(matches!(s.read(&sha, None).await, Err(BlobError::NotFound)));
        assert!(!s.blob_path(&sha).exists());
        append(&s, &sha, 29_999, &data[29_999..], data.len())
            .await
            .expect("last byte");
        assert!(!s.partial_path(&sha).exists(), "moved, not copied");
        let path = s.blob_path(&sha);
        assert_eq!(std::fs::read(&path).expect("final file"), data);
        assert_eq!(
            path.parent().and_then(Path::file_name),
            Some(std::ffi::OsStr::new(&sha.as_str()[..2]))
        );
    }

    #[tokio::test]
    async fn a_longer_body_than_declared_discards_the_chunk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(8_000, 7);
        let sha = name_of(&data);
        append(&s, &sha, 0, &data[..2_000], data.len())
            .await
            .expect("chunk 1");
        let span = ChunkSpan::new(2_000, 1_000, data.len() as u64).expect("span");
        let mut src = &data[2_000..4_000];
        let r = s.append(&sha, span, &mut src).await;
        assert!(
            matches!(r, Err(BlobError::ChunkTooLong { held: 2_000 })),
            "{r:?}"
        );
        assert_eq!(
            s.status(&sha).await.expect("status"),
            BlobStatus::Partial { offset: 2_000 }
        );
    }

    #[tokio::test]
    async fn a_second_upload_of_the_same_blob_is_refused_while_one_is_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(100_000, 8);
        let sha = name_of(&data);
        let (mut tx, mut rx) = tokio::io::duplex(1024);
        let first = {
            let (s, sha) = (s.clone(), sha.clone());
            tokio::spawn(async move { s.append(&sha, ChunkSpan::whole(100_000), &mut rx).await })
        };
        tx.write_all(&data[..40_000]).await.expect("send part");
        // The first upload now holds the blob (it has read bytes, so it took the lock).
        let r = append(&s, &sha, 0, &data, data.len()).await;
        assert!(matches!(r, Err(BlobError::Busy { .. })), "{r:?}");
        tx.write_all(&data[40_000..]).await.expect("send rest");
        drop(tx);
        let r = first.await.expect("join");
        assert_eq!(r.expect("first"), Appended::Completed { size: 100_000 });
        assert_eq!(read_all(&s, &sha).await, data);
    }

    #[tokio::test]
    async fn many_concurrent_uploads_of_one_blob_store_it_once_intact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = Arc::new(jpeg(600_000, 9));
        let sha = name_of(&data);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (s, sha, data) = (s.clone(), sha.clone(), Arc::clone(&data));
                tokio::spawn(async move {
                    let mut src = CutAfter {
                        bytes: data.to_vec(),
                        pos: 0,
                    };
                    s.append(&sha, ChunkSpan::whole(data.len() as u64), &mut src)
                        .await
                })
            })
            .collect();
        let mut completed = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(Appended::Completed { .. }) => completed += 1,
                Ok(Appended::AlreadyComplete { .. })
                | Err(BlobError::Busy { .. } | BlobError::OffsetMismatch { .. }) => {}
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(completed, 1);
        assert_eq!(read_all(&s, &sha).await, *data);
        assert!(!s.partial_path(&sha).exists());
    }

    #[tokio::test]
    async fn a_cancelled_upload_releases_the_blob_with_what_it_wrote() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(50_000, 10);
        let sha = name_of(&data);
        let (mut tx, mut rx) = tokio::io::duplex(64 * 1024);
        tx.write_all(&data[..5_000]).await.expect("send part");
        // The request future is dropped (the connection went away) while it waits for more.
        let r = tokio::time::timeout(
            Duration::from_millis(100),
            s.append(&sha, ChunkSpan::whole(50_000), &mut rx),
        )
        .await;
        assert!(r.is_err(), "still waiting for bytes");
        // Cancelled while the buffer was still filling: nothing reached the file.
        assert_eq!(
            s.status(&sha).await.expect("status"),
            BlobStatus::Partial { offset: 0 }
        );
        append(&s, &sha, 0, &data, data.len())
            .await
            .expect("the lock was released");
        assert_eq!(read_all(&s, &sha).await, data);
    }

    #[tokio::test]
    async fn ranges_read_the_bytes_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let data = jpeg(1_000, 11);
        let sha = name_of(&data);
        append(&s, &sha, 0, &data, data.len())
            .await
            .expect("upload");
        for (range, want) in [
            (ByteRange::FromTo(0, 9), 0..10),
            (ByteRange::FromTo(990, 5_000), 990..1000),
            (ByteRange::From(500), 500..1000),
            (ByteRange::Suffix(10), 990..1000),
            (ByteRange::Suffix(5_000), 0..1000),
        ] {
            let mut blob = s.read(&sha, Some(range)).await.expect("read");
            assert_eq!(blob.range, want, "{range:?}");
            assert_eq!(blob.size, 1000);
            assert_eq!(blob.content_type, "image/jpeg");
            let mut got = Vec::new();
            blob.body.read_to_end(&mut got).await.expect("body");
            assert_eq!(got, data[want.start as usize..want.end as usize]);
        }
        for range in [ByteRange::From(1000), ByteRange::Suffix(0)] {
            assert!(
                matches!(
                    s.read(&sha, Some(range)).await,
                    Err(BlobError::RangeNotSatisfiable { size: 1000 })
                ),
                "{range:?}"
            );
        }
    }

    #[test]
    fn byte_ranges_resolve_per_rfc_9110() {
        assert_eq!(ByteRange::FromTo(0, 0).resolve(10), Some(0..1));
        assert_eq!(ByteRange::FromTo(5, 100).resolve(10), Some(5..10));
        assert_eq!(ByteRange::FromTo(10, 20).resolve(10), None);
        assert_eq!(ByteRange::FromTo(5, 4).resolve(10), None);
        assert_eq!(ByteRange::From(9).resolve(10), Some(9..10));
        assert_eq!(ByteRange::Suffix(3).resolve(10), Some(7..10));
        assert_eq!(ByteRange::Suffix(1).resolve(0), None);
        assert_eq!(ByteRange::FromTo(0, u64::MAX).resolve(10), Some(0..10));
    }

    #[test]
    fn chunk_spans_stay_inside_the_blob() {
        assert!(ChunkSpan::new(0, 10, 10).is_some_and(ChunkSpan::is_last));
        assert!(ChunkSpan::new(5, 4, 10).is_some_and(|s| !s.is_last() && s.end() == 9));
        assert_eq!(ChunkSpan::new(5, 6, 10), None);
        assert_eq!(ChunkSpan::new(u64::MAX, 2, u64::MAX), None);
    }

    #[test]
    fn images_are_recognised_by_their_first_bytes() {
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xDB]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        for other in [
            &b"GIF89a"[..],
            b"RIFF\x10\0\0\0WAVEfmt ",
            b"%PDF-1.7",
            b"\xFF\xD8",
            b"",
        ] {
            assert_eq!(ImageKind::sniff(other), None, "{other:?}");
        }
    }

    #[tokio::test]
    async fn no_blob_name_can_reach_outside_the_store() {
        for bad in [
            "../../../../etc/passwd",
            "..%2F..%2Fetc%2Fpasswd",
            "/etc/passwd",
            &format!("{}/..", "a".repeat(61)),
            &"A".repeat(64),
            &"g".repeat(64),
            &"a".repeat(63),
            &"a".repeat(65),
            "",
        ] {
            assert!(Sha256Hex::parse(bad).is_err(), "{bad:?} accepted");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let root = dir.path().join("blobs");
        let sha = name_of(b"x");
        for path in [s.blob_path(&sha), s.partial_path(&sha)] {
            assert!(path.starts_with(&root), "{path:?}");
            assert!(
                path.components()
                    .all(|c| !matches!(c, std::path::Component::ParentDir)),
                "{path:?}"
            );
        }
    }
}
