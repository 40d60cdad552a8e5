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
//! [`DiskBlobStore`] is the embedded default under `<data_dir>/blobs/`; [`S3BlobStore`] keeps
//! the same semantics in an S3-compatible object store that several server processes share.

use std::io;
use std::ops::Range;
use tokio::io::AsyncRead;
use yijian_core::support::Sha256Hex;

mod disk;
mod s3;
#[cfg(test)]
mod tests;

pub use disk::*;
pub use s3::*;

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

/// Read `src` into `buf` until it is full. Returns how many bytes arrived and, when the source
/// failed or ended first, why; what arrived before is the caller's to keep. `already` bytes of
/// the chunk's declared `len` came before `buf` (for the message of an early end).
pub(crate) async fn fill(
    src: ChunkSource<'_>,
    buf: &mut [u8],
    already: u64,
    len: u64,
) -> (usize, Option<io::Error>) {
    use tokio::io::AsyncReadExt;
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]).await {
            Ok(0) => {
                let error = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the body ended after {} of {len} bytes",
                        already + filled as u64
                    ),
                );
                return (filled, Some(error));
            }
            Ok(n) => filled += n,
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

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
    /// `"disk"` or `"s3"`.
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
