use crate::AppState;
use crate::blobstore::{ByteRange, UPLOAD_OFFSET};
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{StatusCode, header};
use axum::response::Response;
use http_body::Frame;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::Request;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use yijian_core::division::DivisionCode;
use yijian_core::ids::DeviceId;
use yijian_core::role::Role;

use super::*;
use crate::blobstore::DiskBlobStore;
use crate::domain::accounts::{NewUser, new_device_token};
use crate::store::Storage;
use crate::store::sqlite::SqliteStorage;
use crate::{ServerSettings, app};

/// A server state with one signed-in device.
struct Harness {
    _dir: tempfile::TempDir,
    state: AppState,
    token: String,
}

impl Harness {
    async fn new(settings: ServerSettings) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open_in(dir.path()).await.expect("storage");
        let blobs = DiskBlobStore::open_in(dir.path()).await.expect("blobs");
        let (user, hash) = NewUser {
            login: "13800138000".into(),
            name: "测试网格员".into(),
            role: Role::VillageWorker,
            scope: DivisionCode::parse("621102105201").expect("code"),
            password: "correct horse battery".into(),
        }
        .prepare()
        .expect("user");
        storage
            .create_user(&user, &hash)
            .await
            .expect("create user");
        let (token, token_hash) = new_device_token().expect("token");
        storage
            .create_device(
                DeviceId::new(),
                user.id,
                "测试手机",
                &token_hash,
                Utc::now(),
                Utc::now() + chrono::Duration::days(1),
            )
            .await
            .expect("device");
        Harness {
            _dir: dir,
            state: AppState::new(Arc::new(storage), Arc::new(blobs), settings),
            token,
        }
    }

    async fn send(&self, request: Request<Body>) -> Response {
        app(self.state.clone())
            .oneshot(request)
            .await
            .expect("response")
    }

    fn request(&self, method: &str, sha: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("/v1/blobs/{sha}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
    }

    /// A photo record of the user's village names the blob, as it does before any real upload.
    async fn link(&self, sha: &str) {
        if yijian_core::support::Sha256Hex::parse(sha).is_ok() {
            let village = DivisionCode::parse("621102105201").expect("code");
            self.state
                .storage
                .link_blob(sha, &village)
                .await
                .expect("link blob");
        }
    }

    async fn head(&self, sha: &str) -> Response {
        self.link(sha).await;
        self.send(self.request("HEAD", sha).body(Body::empty()).expect("req"))
            .await
    }

    async fn put(&self, sha: &str, content_range: Option<String>, body: Body) -> Response {
        self.link(sha).await;
        let mut req = self.request("PUT", sha);
        if let Some(range) = content_range {
            req = req.header(header::CONTENT_RANGE, range);
        }
        self.send(req.body(body).expect("req")).await
    }

    /// GET as a user allowed to see the photo (its record lies in the user's village).
    async fn get(&self, sha: &str, range: Option<&str>) -> Response {
        self.link(sha).await;
        self.get_unlinked(sha, range).await
    }

    async fn get_unlinked(&self, sha: &str, range: Option<&str>) -> Response {
        let mut req = self.request("GET", sha);
        if let Some(range) = range {
            req = req.header(header::RANGE, range);
        }
        self.send(req.body(Body::empty()).expect("req")).await
    }
}

/// A JPEG-looking blob (the photo pipeline's output starts with FF D8 FF).
fn jpeg(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_F491;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect();
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    bytes
}

fn sha_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn range(start: usize, end_exclusive: usize, total: usize) -> Option<String> {
    Some(format!("bytes {start}-{}/{total}", end_exclusive - 1))
}

fn offset(r: &Response) -> Option<u64> {
    r.headers()
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn header_str(r: &Response, name: header::HeaderName) -> &str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn bytes(r: Response) -> Vec<u8> {
    axum::body::to_bytes(r.into_body(), 64 << 20)
        .await
        .expect("body")
        .to_vec()
}

async fn json(r: Response) -> serde_json::Value {
    serde_json::from_slice(&bytes(r).await).expect("json error body")
}

/// A request body that delivers some frames and then loses the connection.
struct CutBody {
    frames: VecDeque<Bytes>,
}

impl HttpBody for CutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(match self.frames.pop_front() {
            Some(data) => Ok(Frame::data(data)),
            None => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset",
            )),
        }))
    }
}

/// A request body that delivers one frame and then goes silent (a phone out of signal).
struct SilentBody {
    first: Option<Bytes>,
}

impl HttpBody for SilentBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.first.take() {
            Some(data) => Poll::Ready(Some(Ok(Frame::data(data)))),
            None => Poll::Pending,
        }
    }
}

#[tokio::test]
async fn a_cut_upload_resumes_from_the_offset_head_reports() {
    // A request body limit far below the photo: blob uploads must not be bound by it.
    let h = Harness::new(ServerSettings {
        max_body_bytes: 64 * 1024,
        ..ServerSettings::default()
    })
    .await;
    let total = 2_000_000;
    let data = jpeg(total);
    let sha = sha_of(&data);

    let r = h.head(&sha).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(offset(&r), Some(0));

    // Chunk 1 arrives whole.
    let r = h
        .put(
            &sha,
            range(0, 700_000, total),
            Body::from(data[..700_000].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&r), Some(700_000));

    // Chunk 2 is cut after 300 000 of its 700 000 bytes.
    let frames = data[700_000..1_000_000]
        .chunks(64 * 1024)
        .map(Bytes::copy_from_slice)
        .collect();
    let r = h
        .put(
            &sha,
            range(700_000, 1_400_000, total),
            Body::new(CutBody { frames }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(offset(&r), Some(1_000_000));
    assert_eq!(json(r).await["code"], "upload_interrupted");

    // The device does not know how much arrived; it asks.
    let r = h.head(&sha).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(offset(&r), Some(1_000_000));

    // Re-sending the cut chunk from its start is refused with where to resume.
    let r = h
        .put(
            &sha,
            range(700_000, 1_400_000, total),
            Body::from(data[700_000..1_400_000].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(offset(&r), Some(1_000_000));
    let body = json(r).await;
    assert_eq!(body["code"], "upload_offset_mismatch");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("1000000"))
    );

    // Resume: the rest in one chunk, which finishes and verifies the blob.
    let r = h
        .put(
            &sha,
            range(1_000_000, total, total),
            Body::from(data[1_000_000..].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(offset(&r), Some(total as u64));
    assert_eq!(header_str(&r, header::LOCATION), format!("/v1/blobs/{sha}"));

    let r = h.head(&sha).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_str(&r, header::CONTENT_LENGTH), "2000000");

    let r = h.get(&sha, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_str(&r, header::CONTENT_TYPE), "image/jpeg");
    assert_eq!(header_str(&r, header::ACCEPT_RANGES), "bytes");
    assert_eq!(header_str(&r, header::CONTENT_LENGTH), "2000000");
    assert!(bytes(r).await == data, "downloaded bytes differ");

    // Uploading it again (a retry whose answer was lost) succeeds without storing anything.
    let r = h.put(&sha, None, Body::from(data.clone())).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(offset(&r), Some(total as u64));
}

#[tokio::test]
async fn ranges_are_served_and_unsatisfiable_ones_refused() {
    let h = Harness::new(ServerSettings::default()).await;
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.extend((0..5000u32).map(|i| (i % 251) as u8));
    let n = data.len();
    let sha = sha_of(&data);
    let r = h.put(&sha, None, Body::from(data.clone())).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    for (spec, want) in [
        ("bytes=0-9", 0..10),
        ("bytes=100-", 100..n),
        ("bytes=-10", n - 10..n),
        ("bytes=5000-99999", 5000..n),
    ] {
        let r = h.get(&sha, Some(spec)).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{spec}");
        assert_eq!(
            header_str(&r, header::CONTENT_RANGE),
            format!("bytes {}-{}/{n}", want.start, want.end - 1),
            "{spec}"
        );
        assert_eq!(header_str(&r, header::CONTENT_TYPE), "image/png");
        assert_eq!(bytes(r).await, data[want.clone()], "{spec}");
    }

    for spec in [format!("bytes={n}-"), "bytes=-0".to_owned()] {
        let r = h.get(&sha, Some(&spec)).await;
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{spec}");
        assert_eq!(
            header_str(&r, header::CONTENT_RANGE),
            format!("bytes */{n}")
        );
        assert_eq!(json(r).await["code"], "range_not_satisfiable");
    }

    // Several ranges, other units, nonsense: the whole blob.
    for spec in ["bytes=0-1,5-6", "items=0-1", "bytes=9-3", "bytes=+1-2"] {
        let r = h.get(&sha, Some(spec)).await;
        assert_eq!(r.status(), StatusCode::OK, "{spec}");
        assert_eq!(bytes(r).await, data, "{spec}");
    }
}

#[tokio::test]
async fn webp_is_accepted_and_labelled() {
    let h = Harness::new(ServerSettings::default()).await;
    let mut data = b"RIFF\x24\0\0\0WEBPVP8 ".to_vec();
    data.extend([7u8; 100]);
    let sha = sha_of(&data);
    let r = h.put(&sha, None, Body::from(data.clone())).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = h.get(&sha, None).await;
    assert_eq!(header_str(&r, header::CONTENT_TYPE), "image/webp");
}

#[tokio::test]
async fn a_photo_is_readable_only_within_the_scope_of_its_record() {
    let h = Harness::new(ServerSettings::default()).await;
    let data = jpeg(5_000);
    let sha = sha_of(&data);
    // Stored (by another village's device), but no photo record of this user's scope names it.
    let name = yijian_core::support::Sha256Hex::parse(&sha).expect("sha");
    let span = ChunkSpan::new(0, data.len() as u64, data.len() as u64).expect("span");
    let mut src: &[u8] = &data;
    h.state
        .blobs
        .append(&name, span, &mut src)
        .await
        .expect("store");
    let elsewhere = DivisionCode::parse("621102105202").expect("code");
    h.state
        .storage
        .link_blob(&sha, &elsewhere)
        .await
        .expect("link");
    // Not readable, and neither HEAD nor PUT tells that it exists or how big it is: the
    // answers are those of a blob nobody holds.
    assert_eq!(
        h.get_unlinked(&sha, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let head = h
        .send(h.request("HEAD", &sha).body(Body::empty()).expect("req"))
        .await;
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        head.headers()
            .get(UPLOAD_OFFSET)
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
    assert!(
        head.headers()
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v == "0")
    );
    let put = h
        .send(
            h.request("PUT", &sha)
                .body(Body::from(data.clone()))
                .expect("req"),
        )
        .await;
    assert_eq!(put.status(), StatusCode::NOT_FOUND);
    // A photo record in the user's own village makes it readable.
    let r = h.get(&sha, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_photo_over_the_limit_is_refused_before_its_bytes_are_read() {
    let h = Harness::new(ServerSettings {
        max_blob_bytes: 1024 * 1024,
        ..ServerSettings::default()
    })
    .await;
    let data = jpeg(2_000_000);
    let sha = sha_of(&data);
    let r = h
        .put(
            &sha,
            range(0, 100_000, data.len()),
            Body::from(data[..100_000].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = json(r).await;
    assert_eq!(body["code"], "too_large");
    assert_eq!(body["message"], "照片太大（1.9 MB），上限为 1 MB");
    assert_eq!(
        body["message_en"],
        "the photo is too large (1.9 MB); the limit is 1 MB"
    );

    // Without Content-Range the body's own length counts.
    let r = h
        .put(&sha, None, Body::from(data[..1024 * 1024 + 1].to_vec()))
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly the limit is fine.
    let fits = jpeg(1024 * 1024);
    let r = h.put(&sha_of(&fits), None, Body::from(fits)).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    let r = h.head(&sha).await;
    assert_eq!(offset(&r), Some(0), "nothing stored");
}

#[tokio::test]
async fn only_images_are_accepted() {
    let h = Harness::new(ServerSettings::default()).await;
    for data in [
        b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
        b"\xFF\xD8".to_vec(),
    ] {
        let sha = sha_of(&data);
        let r = h.put(&sha, None, Body::from(data.clone())).await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{data:?}");
        let body = json(r).await;
        assert_eq!(body["code"], "unsupported_media_type");
        assert_eq!(body["message"], "只能上传照片（JPEG、PNG 或 WebP 格式）");
        assert_eq!(offset(&h.head(&sha).await), Some(0), "nothing stored");
    }
}

#[tokio::test]
async fn bytes_that_do_not_match_the_name_are_refused_and_discarded() {
    let h = Harness::new(ServerSettings::default()).await;
    let data = jpeg(300_000);
    let sha = sha_of(&jpeg(300_001));
    let r = h
        .put(
            &sha,
            range(0, 100_000, data.len()),
            Body::from(data[..100_000].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = h
        .put(
            &sha,
            range(100_000, data.len(), data.len()),
            Body::from(data[100_000..].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(offset(&r), Some(0), "start again");
    let body = json(r).await;
    assert_eq!(body["code"], "hash_mismatch");
    assert!(
        body["message_en"]
            .as_str()
            .is_some_and(|m| m.contains(&sha_of(&data)))
    );

    let r = h.head(&sha).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(offset(&r), Some(0));
    assert_eq!(h.get(&sha, None).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_method_needs_a_signed_in_device() {
    let h = Harness::new(ServerSettings::default()).await;
    let data = jpeg(1000);
    let sha = sha_of(&data);
    for auth in [None, Some("Bearer not-a-token"), Some("Basic dXNlcjpwdw==")] {
        for method in ["HEAD", "GET", "PUT"] {
            let mut req = Request::builder()
                .method(method)
                .uri(format!("/v1/blobs/{sha}"));
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let r = h
                .send(req.body(Body::from(data.clone())).expect("req"))
                .await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {auth:?}");
        }
    }
    assert_eq!(offset(&h.head(&sha).await), Some(0), "nothing stored");
}

#[tokio::test]
async fn names_other_than_a_sha256_are_refused() {
    let h = Harness::new(ServerSettings::default()).await;
    for name in [
        "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "A".repeat(64),
        "a".repeat(63),
        format!("{}%2F", "a".repeat(63)),
    ] {
        for r in [
            h.get(&name, None).await,
            h.head(&name).await,
            h.put(&name, None, Body::from(jpeg(10))).await,
        ] {
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}");
        }
        let body = json(h.get(&name, None).await).await;
        assert_eq!(body["code"], "bad_request");
    }
    let r = h.get("../../etc/passwd", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_upload_headers_are_refused() {
    let h = Harness::new(ServerSettings::default()).await;
    let data = jpeg(1000);
    let sha = sha_of(&data);
    for cr in [
        "bytes 0-999/500",
        "bytes */1000",
        "bytes 10-5/1000",
        "bytes=0-999/1000",
        "0-999/1000",
        "bytes 0-999/*",
    ] {
        let r = h
            .put(&sha, Some(cr.to_owned()), Body::from(data.clone()))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{cr}");
    }
    // The body's length and the declared chunk disagree.
    let r = h
        .put(&sha, range(0, 500, 1000), Body::from(data.clone()))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(offset(&h.head(&sha).await), Some(0), "nothing stored");
}

#[tokio::test]
async fn a_silent_upload_is_given_up_and_keeps_what_arrived() {
    let h = Harness::new(ServerSettings {
        blob_idle_timeout: Duration::from_millis(50),
        ..ServerSettings::default()
    })
    .await;
    let data = jpeg(100_000);
    let sha = sha_of(&data);
    let body = SilentBody {
        first: Some(Bytes::copy_from_slice(&data[..30_000])),
    };
    let r = h
        .put(&sha, range(0, 100_000, 100_000), Body::new(body))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(offset(&r), Some(30_000));
    let r = h
        .put(
            &sha,
            range(30_000, 100_000, 100_000),
            Body::from(data[30_000..].to_vec()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[test]
fn sizes_read_like_a_person_writes_them() {
    assert_eq!(human_size(10 * 1024 * 1024), "10 MB");
    assert_eq!(human_size(12_897_485), "12.3 MB");
    assert_eq!(human_size(1024 * 1024), "1 MB");
    assert_eq!(human_size(512 * 1024), "512 KB");
    assert_eq!(human_size(900), "900 B");
}

#[test]
fn range_headers_parse_strictly() {
    assert_eq!(parse_range("bytes=0-499"), Some(ByteRange::FromTo(0, 499)));
    assert_eq!(parse_range("bytes=500-"), Some(ByteRange::From(500)));
    assert_eq!(parse_range("bytes=-500"), Some(ByteRange::Suffix(500)));
    for ignored in [
        "bytes=-",
        "bytes=a-b",
        "bytes=1-2,4-5",
        "pages=1-2",
        "bytes=+1-",
    ] {
        assert_eq!(parse_range(ignored), None, "{ignored}");
    }
}
