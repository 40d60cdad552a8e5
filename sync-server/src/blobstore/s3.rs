//! Photos in an S3-compatible object store (Amazon S3, MinIO, Alibaba OSS, Huawei OBS), which
//! every server process of a province shares, so a photo is not tied to one machine's disk and
//! an upload cut off at one process resumes at another.
//!
//! Layout under the configured prefix:
//! - `blobs/<sha256>`: a whole blob whose SHA-256 was checked against its name before it was
//!   written, so a reader never sees half a photo or a corrupted one under a valid name;
//! - `partial/<sha256>/<offset, 20 digits>`: one chunk of an unfinished upload, as it arrived.
//!
//! The held offset is where the unbroken run of chunks from offset 0 ends, read by listing the
//! blob's chunks: the same answer from any process, with no other bookkeeping. The chunk that
//! completes a blob is joined with the others, hashed, and written as one object (a multipart
//! upload above [`MULTIPART_FROM`] bytes); the chunks are deleted after. Concurrent uploads of
//! one blob are refused within a process ([`BlobError::Busy`]); across processes two uploads of
//! the same photo write the same bytes at the same keys (the name is the content's hash), so the
//! worst case is work done twice, never a wrong blob.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use yijian_core::support::Sha256Hex;

use super::disk::UploadLock;
use super::*;

/// Blobs at least this large are written as a multipart upload, in parts of this size.
pub const MULTIPART_FROM: usize = 8 * 1024 * 1024;

/// Where the store is and how to sign in to it (from `[blobs]` in the configuration).
#[derive(Clone, Default)]
pub struct S3Settings {
    /// Empty: Amazon S3 itself.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Key prefix inside the bucket (`gansu/`), may be empty.
    pub prefix: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The object store as a [`BlobStore`].
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    uploading: Arc<Mutex<HashSet<Sha256Hex>>>,
}

fn storage_error(e: object_store::Error) -> BlobError {
    BlobError::Io(io::Error::other(e))
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

/// One stored chunk of an unfinished upload.
#[derive(Debug, Clone)]
struct Chunk {
    offset: u64,
    size: u64,
    key: ObjectPath,
}

impl S3BlobStore {
    /// Connect to the bucket (nothing is sent until the first request).
    pub fn connect(s: &S3Settings) -> Result<S3BlobStore, BlobError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_access_key_id(&s.access_key_id)
            .with_secret_access_key(&s.secret_access_key);
        if !s.endpoint.is_empty() {
            builder = builder
                .with_endpoint(&s.endpoint)
                .with_allow_http(s.endpoint.starts_with("http://"))
                // Self-hosted stores (MinIO, a test server) name the bucket in the path.
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(storage_error)?;
        Ok(S3BlobStore {
            store: Arc::new(store),
            prefix: s.prefix.trim_matches('/').to_owned(),
            uploading: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    fn key(&self, rest: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rest)
        } else {
            ObjectPath::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn blob_key(&self, sha: &Sha256Hex) -> ObjectPath {
        self.key(&format!("blobs/{}", sha.as_str()))
    }

    fn chunk_dir(&self, sha: &Sha256Hex) -> ObjectPath {
        self.key(&format!("partial/{}", sha.as_str()))
    }

    fn chunk_key(&self, sha: &Sha256Hex, offset: u64) -> ObjectPath {
        self.key(&format!("partial/{}/{offset:020}", sha.as_str()))
    }

    /// The size of the whole blob, if it is stored.
    async fn complete_size(&self, sha: &Sha256Hex) -> Result<Option<u64>, BlobError> {
        match self.store.head(&self.blob_key(sha)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// The stored chunks of `sha`, by offset.
    async fn chunks(&self, sha: &Sha256Hex) -> Result<Vec<Chunk>, BlobError> {
        let dir = self.chunk_dir(sha);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(storage_error)?;
        let mut chunks: Vec<Chunk> = metas
            .into_iter()
            .filter_map(|m| {
                let offset = m.location.filename()?.parse::<u64>().ok()?;
                Some(Chunk {
                    offset,
                    size: m.size,
                    key: m.location,
                })
            })
            .collect();
        chunks.sort_by_key(|c| c.offset);
        Ok(chunks)
    }

    /// The unbroken run of chunks from offset 0, and where it ends (the held offset).
    fn run(chunks: &[Chunk]) -> (Vec<Chunk>, u64) {
        let mut held = 0;
        let mut run = Vec::new();
        for c in chunks {
            if c.offset == held && c.size > 0 {
                held += c.size;
                run.push(c.clone());
            }
        }
        (run, held)
    }

    async fn put_chunk(
        &self,
        sha: &Sha256Hex,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<(), BlobError> {
        self.store
            .put(&self.chunk_key(sha, offset), PutPayload::from(bytes))
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn delete_chunks(&self, chunks: &[Chunk]) -> Result<(), BlobError> {
        for c in chunks {
            match self.store.delete(&c.key).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(storage_error(e)),
            }
        }
        Ok(())
    }

    /// Write the verified blob: one PUT, or a multipart upload for a large one.
    async fn put_blob(&self, sha: &Sha256Hex, whole: Vec<u8>) -> Result<(), BlobError> {
        let key = self.blob_key(sha);
        if whole.len() < MULTIPART_FROM {
            self.store
                .put(&key, PutPayload::from(whole))
                .await
                .map_err(storage_error)?;
            return Ok(());
        }
        let mut upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(storage_error)?;
        for part in whole.chunks(MULTIPART_FROM) {
            if let Err(e) = upload.put_part(PutPayload::from(part.to_vec())).await {
                let _ = upload.abort().await;
                return Err(storage_error(e));
            }
        }
        if let Err(e) = upload.complete().await {
            let _ = upload.abort().await;
            return Err(storage_error(e));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn status(&self, sha: &Sha256Hex) -> Result<BlobStatus, BlobError> {
        if let Some(size) = self.complete_size(sha).await? {
            return Ok(BlobStatus::Complete { size });
        }
        let chunks = self.chunks(sha).await?;
        if chunks.is_empty() {
            return Ok(BlobStatus::Absent);
        }
        let (_, held) = S3BlobStore::run(&chunks);
        Ok(BlobStatus::Partial { offset: held })
    }

    async fn append(
        &self,
        sha: &Sha256Hex,
        span: ChunkSpan,
        src: ChunkSource<'_>,
    ) -> Result<Appended, BlobError> {
        let Some(_lock) = UploadLock::try_acquire(&self.uploading, sha) else {
            return match self.status(sha).await? {
                BlobStatus::Complete { size } => Ok(Appended::AlreadyComplete { size }),
                other => Err(BlobError::Busy { held: other.held() }),
            };
        };
        if let Some(size) = self.complete_size(sha).await? {
            return Ok(Appended::AlreadyComplete { size });
        }
        let chunks = self.chunks(sha).await?;
        let (run, held) = S3BlobStore::run(&chunks);
        if held != span.offset {
            return Err(BlobError::OffsetMismatch {
                held,
                sent: span.offset,
            });
        }

        // The chunk is gathered in memory (at most the largest blob allowed, 10 MiB by
        // default) and stored as one object; a source that fails half-way leaves what arrived
        // stored as a shorter chunk, so the device resumes after it.
        let mut buf = vec![0u8; usize::try_from(span.len).unwrap_or(usize::MAX)];
        let (got, failure) = fill(src, &mut buf, 0, span.len).await;
        buf.truncate(got);
        if let Some(source) = failure {
            let got = buf.len() as u64;
            if got > 0 {
                self.put_chunk(sha, span.offset, buf).await?;
            }
            return Err(BlobError::Interrupted {
                held: span.offset + got,
                source,
            });
        }
        let mut probe = [0u8; 1];
        if matches!(src.read(&mut probe).await, Ok(n) if n > 0) {
            return Err(BlobError::ChunkTooLong { held: span.offset });
        }
        if !span.is_last() {
            self.put_chunk(sha, span.offset, buf).await?;
            return Ok(Appended::Partial { offset: span.end() });
        }

        // The last chunk: join the run, check the hash, then write the blob.
        let total = usize::try_from(span.total).unwrap_or(usize::MAX);
        let mut whole = Vec::with_capacity(total);
        for c in &run {
            let bytes = self
                .store
                .get(&c.key)
                .await
                .map_err(storage_error)?
                .bytes()
                .await
                .map_err(storage_error)?;
            whole.extend_from_slice(&bytes);
        }
        whole.extend_from_slice(&buf);
        let actual = hex::encode(Sha256::digest(&whole));
        let expected = sha.as_str().to_owned();
        if actual != expected || whole.len() != total {
            self.delete_chunks(&chunks).await?;
            return Err(BlobError::HashMismatch { expected, actual });
        }
        self.put_blob(sha, whole).await?;
        self.delete_chunks(&chunks).await?;
        Ok(Appended::Completed { size: span.total })
    }

    async fn read(&self, sha: &Sha256Hex, range: Option<ByteRange>) -> Result<BlobRead, BlobError> {
        let key = self.blob_key(sha);
        let size = match self.store.head(&key).await {
            Ok(meta) => meta.size,
            Err(e) if is_not_found(&e) => return Err(BlobError::NotFound),
            Err(e) => return Err(storage_error(e)),
        };
        let range = match range {
            None => 0..size,
            Some(r) => r
                .resolve(size)
                .ok_or(BlobError::RangeNotSatisfiable { size })?,
        };
        let magic = (ImageKind::MAGIC_LEN as u64).min(size);
        let content_type = if magic == 0 {
            "application/octet-stream"
        } else {
            let head = self
                .store
                .get_range(&key, 0..magic)
                .await
                .map_err(storage_error)?;
            ImageKind::sniff(&head).map_or("application/octet-stream", ImageKind::mime)
        };
        let body: BlobReader = if range.is_empty() {
            Box::new(tokio::io::empty())
        } else {
            let got = self
                .store
                .get_opts(
                    &key,
                    GetOptions {
                        range: Some(GetRange::Bounded(range.clone())),
                        ..GetOptions::default()
                    },
                )
                .await
                .map_err(storage_error)?;
            let stream = got
                .into_stream()
                .map(|r| r.map_err(io::Error::other))
                .boxed();
            Box::new(tokio_util::io::StreamReader::new(stream))
        };
        Ok(BlobRead {
            size,
            range,
            content_type,
            body,
        })
    }
}
