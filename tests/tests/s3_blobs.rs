//! Photos on S3-compatible storage, against a real S3 server (moto's server mode, from PyPI):
//! the store keeps the disk store's semantics (resume at the held offset, what arrived before a
//! cut is kept, a blob readable only whole and under its true hash, ranges, a large blob by
//! multipart upload) with two store instances standing for two processes; and end to end, a
//! phone's photo upload cut at one server process is resumed by the app's engine at another
//! process sharing the bucket (no shared disk), and read back from the first.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use anyhow::{Context, Result};
use yijian_client::sync::EngineConfig;
use yijian_core::division::DivisionCode;
use yijian_core::household::Household;
use yijian_core::ids::HouseholdId;
use yijian_core::role::Role;
use yijian_core::support::{PhotoOwner, Sha256Hex};
use yijian_server::blobstore::{
    Appended, BlobError, BlobStatus, BlobStore, ByteRange, ChunkSpan, S3BlobStore,
};
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::accounts::NewUser;
use yijian_tests::device::{Device, PASSWORD, jpeg_like};
use yijian_tests::pg::PgCluster;
use yijian_tests::process::ServerProcess;
use yijian_tests::s3::S3Server;

const VILLAGE: &str = "621102105201";

fn name_of(bytes: &[u8]) -> Result<Sha256Hex> {
    use sha2::Digest;
    Ok(Sha256Hex::parse(&hex::encode(sha2::Sha256::digest(bytes)))?)
}

/// A request body that delivers `bytes`, then fails (a dropped 2G connection).
struct CutAfter {
    bytes: Vec<u8>,
    at: usize,
}

impl tokio::io::AsyncRead for CutAfter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at >= self.bytes.len() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection lost",
            )));
        }
        let n = buf.remaining().min(self.bytes.len() - self.at).min(10_000);
        let at = self.at;
        buf.put_slice(&self.bytes[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

async fn append(
    store: &S3BlobStore,
    sha: &Sha256Hex,
    blob: &[u8],
    offset: usize,
    len: usize,
) -> Result<Appended, BlobError> {
    let span = ChunkSpan::new(offset as u64, len as u64, blob.len() as u64).expect("span");
    let mut src: &[u8] = &blob[offset..offset + len];
    store.append(sha, span, &mut src).await
}

async fn read_all(
    store: &S3BlobStore,
    sha: &Sha256Hex,
    range: Option<ByteRange>,
) -> Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut r = store.read(sha, range).await?;
    let mut out = Vec::new();
    r.body.read_to_end(&mut out).await?;
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_store_keeps_the_upload_semantics_across_processes() -> Result<()> {
    let s3 = S3Server::start().await?;
    s3.create_bucket("photos").await?;
    // Two instances: two server processes sharing the bucket.
    let a = S3BlobStore::connect(&s3.settings("photos"))?;
    let b = S3BlobStore::connect(&s3.settings("photos"))?;
    let photo = jpeg_like(300_000, 7);
    let sha = name_of(&photo)?;
    assert_eq!(a.status(&sha).await?, BlobStatus::Absent);

    assert_eq!(
        append(&a, &sha, &photo, 0, 100_000).await?,
        Appended::Partial { offset: 100_000 }
    );
    assert_eq!(
        b.status(&sha).await?,
        BlobStatus::Partial { offset: 100_000 }
    );
    match append(&b, &sha, &photo, 0, 100_000).await {
        Err(BlobError::OffsetMismatch { held, sent }) => assert_eq!((held, sent), (100_000, 0)),
        other => panic!("expected an offset mismatch, got {other:?}"),
    }
    // Cut after 40,000 of the next 100,000 bytes: what arrived is kept.
    let mut cut = CutAfter {
        bytes: photo[100_000..140_000].to_vec(),
        at: 0,
    };
    let span = ChunkSpan::new(100_000, 100_000, 300_000).context("span")?;
    match b.append(&sha, span, &mut cut).await {
        Err(BlobError::Interrupted { held, .. }) => assert_eq!(held, 140_000),
        other => panic!("expected an interruption, got {other:?}"),
    }
    assert_eq!(
        a.status(&sha).await?,
        BlobStatus::Partial { offset: 140_000 }
    );
    // Not readable until whole.
    assert!(matches!(b.read(&sha, None).await, Err(BlobError::NotFound)));
    assert_eq!(
        append(&a, &sha, &photo, 140_000, 160_000).await?,
        Appended::Completed { size: 300_000 }
    );
    assert_eq!(read_all(&b, &sha, None).await?, photo);
    assert_eq!(b.read(&sha, None).await?.content_type, "image/jpeg");
    assert_eq!(
        read_all(&b, &sha, Some(ByteRange::FromTo(10, 19))).await?,
        &photo[10..20]
    );
    assert_eq!(
        read_all(&a, &sha, Some(ByteRange::Suffix(5))).await?,
        &photo[299_995..]
    );
    assert!(matches!(
        a.read(&sha, Some(ByteRange::From(300_000))).await,
        Err(BlobError::RangeNotSatisfiable { size: 300_000 })
    ));
    assert_eq!(
        append(&b, &sha, &photo, 0, 300_000).await?,
        Appended::AlreadyComplete { size: 300_000 }
    );
    // The chunks are gone once the blob is whole.
    assert_eq!(
        s3.keys("photos").await?,
        vec![format!("blobs/{}", sha.as_str())]
    );

    // Bytes that do not hash to their name never become a blob, and leave nothing behind.
    let claimed = name_of(b"another photo")?;
    let wrong = jpeg_like(50_000, 9);
    append(&a, &claimed, &wrong, 0, 20_000).await?;
    assert!(matches!(
        append(&b, &claimed, &wrong, 20_000, 30_000).await,
        Err(BlobError::HashMismatch { .. })
    ));
    assert_eq!(a.status(&claimed).await?, BlobStatus::Absent);
    assert_eq!(s3.keys("photos").await?.len(), 1);

    // A body longer than its declared chunk is refused and nothing of it kept.
    let small = jpeg_like(30_000, 3);
    let small_sha = name_of(&small)?;
    let mut longer: &[u8] = &small[..20_000];
    let span = ChunkSpan::new(0, 10_000, 30_000).context("span")?;
    assert!(matches!(
        a.append(&small_sha, span, &mut longer).await,
        Err(BlobError::ChunkTooLong { held: 0 })
    ));
    assert_eq!(a.status(&small_sha).await?, BlobStatus::Absent);

    // A blob above the multipart threshold goes up as a multipart upload.
    let big = jpeg_like(9 * 1024 * 1024 + 123, 5);
    let big_sha = name_of(&big)?;
    let third = big.len() / 3;
    append(&a, &big_sha, &big, 0, third).await?;
    append(&b, &big_sha, &big, third, third).await?;
    assert_eq!(
        append(&a, &big_sha, &big, 2 * third, big.len() - 2 * third).await?,
        Appended::Completed {
            size: big.len() as u64
        }
    );
    assert_eq!(read_all(&b, &big_sha, None).await?, big);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_cut_at_one_process_is_resumed_at_another_sharing_the_bucket() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_s3").await?;
    let location = DatabaseLocation::Postgres { url: url.clone() };
    let storage = yijian_server::store::open(&location).await?;
    let (user, hash) = NewUser {
        login: "13800000501".into(),
        name: "测试".into(),
        role: Role::VillageWorker,
        scope: DivisionCode::parse(VILLAGE)?,
        password: PASSWORD.into(),
    }
    .prepare()?;
    storage.create_user(&user, &hash).await?;
    let s3 = S3Server::start().await?;
    s3.create_bucket("province-photos").await?;
    let section = s3.config_section("province-photos");
    // Separate directories: the processes share no disk, only PostgreSQL and the bucket.
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = ServerProcess::spawn_configured(dir_a.path(), &url, &section, "a.log")?;
    let b = ServerProcess::spawn_configured(dir_b.path(), &url, &section, "b.log")?;
    let (url_a, url_b) = (format!("http://{}", a.addr), format!("http://{}", b.addr));

    let d = Device::login(&url_b, "13800000501", EngineConfig::default()).await?;
    let village = DivisionCode::parse(VILLAGE)?;
    let h = Household::new(HouseholdId::new(), village.clone(), "南川村3社")?;
    d.store(|s| s.create_household(&h))?;
    d.engine.sync_once().await?;
    let photo = jpeg_like(350_000, 11);
    let path = d.dir.path().join("door.jpg");
    std::fs::write(&path, &photo)?;
    let meta = d.store(|s| {
        s.record_photo(
            &path,
            PhotoOwner::Household { household_id: h.id },
            1600,
            1200,
            None,
        )
    })?;
    let sha = meta.sha256.to_string();
    // The photo's record reached the server earlier; its upload to process A was cut after
    // 100,000 bytes.
    storage.link_blob(&sha, &village).await?;
    let session = d.store(|s| s.session())?.context("session")?;
    let http = reqwest::Client::new();
    let cut = http
        .put(format!("{url_a}/v1/blobs/{sha}"))
        .bearer_auth(&session.token)
        .header("Content-Range", format!("bytes 0-99999/{}", photo.len()))
        .body(photo[..100_000].to_vec())
        .send()
        .await?;
    assert!(cut.status().is_success(), "{}", cut.status());

    // The phone's next sync goes to process B, which finds the 100,000 bytes in the bucket.
    let report = d.engine.sync_once().await?;
    assert_eq!(report.photos_uploaded, 1, "{report:?}");
    assert_eq!(
        report.photo_bytes_sent, 250_000,
        "only the missing bytes were sent"
    );
    let got = http
        .get(format!("{url_a}/v1/blobs/{sha}"))
        .bearer_auth(&session.token)
        .send()
        .await?;
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await?.as_ref(), photo.as_slice());
    assert_eq!(
        s3.keys("province-photos").await?,
        vec![format!("blobs/{sha}")]
    );
    // A process configured with a bucket that does not exist refuses to start, with the reason.
    let dir_c = tempfile::tempdir()?;
    let wrong = ServerProcess::spawn_configured(
        dir_c.path(),
        &url,
        &s3.config_section("no-such-bucket"),
        "c.log",
    );
    assert!(wrong.is_err(), "started without its bucket");
    let log = std::fs::read_to_string(dir_c.path().join("c.log"))?;
    assert!(log.contains("cannot reach the S3 bucket"), "{log}");
    // Nothing went to either process's disk.
    for dir in [&dir_a, &dir_b] {
        let blobs = dir.path().join("data/blobs");
        let files = walk(&blobs);
        assert!(files.is_empty(), "files on disk: {files:?}");
    }
    Ok(())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}
