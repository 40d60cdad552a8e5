//! Tests of this module's rules.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadBuf};

use super::disk::*;
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
