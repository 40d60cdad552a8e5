//! `/v1/blobs/{sha256}`: photo bytes, uploaded resumably and read back by range.
//!
//! Photos travel apart from their records, named by their SHA-256, one by one once the record
//! is acknowledged. On a village 2G/3G link an upload is cut often, so it is resumable in the
//! manner of the tus protocol, with plain HTTP methods:
//!
//! - `HEAD` answers 200 with `Content-Length` when the blob is complete, otherwise 404 with
//!   `Upload-Offset: <bytes held>` (0 when nothing is): where the next chunk must start.
//! - `PUT` appends its body at `START` of `Content-Range: bytes START-END/TOTAL` (without that
//!   header the body is the whole blob). Every answer carries `Upload-Offset`: 204 while more
//!   is expected, 201 when the last chunk arrived and the bytes hash to the name, 200 when the
//!   blob was already complete. 409 when `START` is not the held offset, or another request
//!   is uploading the same blob; 413 over the size limit; 415 when the first chunk does not
//!   start like a JPEG, PNG or WebP; 422 (`hash_mismatch`) when the finished bytes do not hash
//!   to the name (they are discarded; start again at 0). Those refusals are decided before
//!   the body is read, so a device sending `Expect: 100-continue` does not spend its data on
//!   a chunk that would be refused. Bytes that arrive before a cut are kept.
//! - `GET` sends the blob with its image type, honouring a single `Range` (206, or 416 with
//!   `Content-Range: bytes */SIZE` when it selects nothing).
//!
//! Every method needs a signed-in device ([`Authenticated`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::time::{Instant, Sleep};
use yijian_core::support::Sha256Hex;

use crate::AppState;
use crate::blobstore::{
    Appended, BlobReader, BlobStatus, ByteRange, ChunkSpan, ImageKind, UPLOAD_OFFSET,
};
use crate::error::ApiError;
use crate::sync_api::auth::Authenticated;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/blobs/{sha256}", get(download).head(status).put(upload))
}

/// `HEAD`: is the blob complete, and if not, where does the upload continue.
async fn status(
    State(state): State<AppState>,
    _auth: Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let sha = blob_name(&raw)?;
    let held = state.blobs.status(&sha).await?;
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(held.held()));
    match held {
        BlobStatus::Complete { size } => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        }
        BlobStatus::Partial { .. } | BlobStatus::Absent => {
            *response.status_mut() = StatusCode::NOT_FOUND;
        }
    }
    Ok(response)
}

/// `PUT`: append one chunk, finishing the blob when it is the last.
// Refusals here (a stale offset after a cut, a busy blob) are routine for a resumable upload:
// logged as information, not as errors.
#[tracing::instrument(
    skip_all,
    fields(device = %auth.0.device_id, blob = %raw),
    err(level = "info", Display)
)]
async fn upload(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let sha = blob_name(&raw)?;
    let body_len = content_length(&headers)?.or_else(|| body.size_hint().exact());
    let span = match headers.get(header::CONTENT_RANGE) {
        Some(value) => {
            let span = parse_content_range(value)?;
            if body_len.is_some_and(|n| n != span.len) {
                return Err(ApiError::bad_request(
                    "上传数据的长度与 Content-Range 不一致",
                    "Content-Length does not match the length Content-Range declares",
                ));
            }
            span
        }
        None => ChunkSpan::whole(body_len.ok_or_else(|| {
            ApiError::bad_request(
                "上传缺少长度（Content-Length 或 Content-Range）",
                "a blob upload needs Content-Length or Content-Range",
            )
        })?),
    };
    check_size(span.total, state.settings.max_blob_bytes)?;

    // Refuse what can be refused before reading the body. The store checks again under its
    // lock; this only saves a device from sending a chunk that cannot be used.
    match state.blobs.status(&sha).await? {
        BlobStatus::Complete { size } => return Ok(uploaded(StatusCode::OK, size, &sha)),
        held if held.held() != span.offset => {
            return Err(ApiError::UploadOffsetMismatch {
                held: held.held(),
                sent: span.offset,
            });
        }
        _ => {}
    }

    let mut body = BodyReader::new(body, state.settings.blob_idle_timeout);
    // The type is checked on the chunk that starts the blob; later chunks only extend bytes
    // whose start was already checked.
    let mut head = Vec::new();
    if span.offset == 0 {
        let want = usize::try_from(span.len)
            .unwrap_or(usize::MAX)
            .min(ImageKind::MAGIC_LEN);
        head = vec![0u8; want];
        if read_full(&mut body, &mut head).await.ok() != Some(want) {
            // Cut before even the first bytes arrived: nothing was stored.
            let held = state.blobs.status(&sha).await?.held();
            return Err(ApiError::UploadInterrupted { held });
        }
        if ImageKind::sniff(&head).is_none() {
            return Err(ApiError::UnsupportedMedia {
                zh: "只能上传照片（JPEG、PNG 或 WebP 格式）".into(),
                en: "only JPEG, PNG and WebP images are accepted (checked by their first bytes)"
                    .into(),
            });
        }
    }
    let mut src = (&head[..]).chain(body);
    let outcome = state.blobs.append(&sha, span, &mut src).await?;
    Ok(match outcome {
        Appended::Partial { offset } => uploaded(StatusCode::NO_CONTENT, offset, &sha),
        Appended::Completed { size } => {
            tracing::info!(size, "blob stored");
            uploaded(StatusCode::CREATED, size, &sha)
        }
        Appended::AlreadyComplete { size } => uploaded(StatusCode::OK, size, &sha),
    })
}

/// An upload's answer: the status and where the next chunk would start.
fn uploaded(status: StatusCode, offset: u64, sha: &Sha256Hex) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(offset));
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("/v1/blobs/{sha}"))
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// `GET`: the blob, or the range of it asked for.
async fn download(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sha = blob_name(&raw)?;
    // A photo is someone's house or medical bill: only users whose scope covers a village that
    // one of its photo records belongs to may read it. Others get "not found", which does not
    // even confirm that it exists.
    if !state
        .storage
        .blob_visible(sha.as_str(), &auth.0.user.scope)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    let blob = state.blobs.read(&sha, range).await?;
    let len = blob.range.end - blob.range.start;
    let mut response = Response::new(Body::new(ReaderBody::new(blob.body, len)));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(blob.content_type),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The name is the content: it never changes, so it is the perfect validator, and a copy
    // may be kept for as long as anyone likes (privately: it is someone's document).
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if range.is_some() {
        let content_range = format!(
            "bytes {}-{}/{}",
            blob.range.start,
            blob.range.end - 1,
            blob.size
        );
        if let Ok(v) = HeaderValue::from_str(&content_range) {
            h.insert(header::CONTENT_RANGE, v);
        }
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}

/// The blob name in the path, only in its canonical spelling (so nothing else reaches a path).
fn blob_name(raw: &str) -> Result<Sha256Hex, ApiError> {
    Sha256Hex::parse(raw).map_err(|e| {
        ApiError::bad_request(
            format!("照片编号无效：{e}"),
            "a blob is named by the 64 lowercase hex digits of its SHA-256",
        )
    })
}

/// A decimal number with nothing else in it (`u64::from_str` would also take `+5`).
fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str().ok().and_then(number).ok_or_else(|| {
                ApiError::bad_request("Content-Length 不正确", "invalid Content-Length")
            })
        })
        .transpose()
}

/// `bytes START-END/TOTAL` (END inclusive) as a chunk span.
fn parse_content_range(value: &HeaderValue) -> Result<ChunkSpan, ApiError> {
    let parsed = (|| {
        let spec = value.to_str().ok()?.trim().strip_prefix("bytes ")?;
        let (range, total) = spec.split_once('/')?;
        let (start, end) = range.split_once('-')?;
        let (start, end, total) = (number(start)?, number(end)?, number(total)?);
        if end < start {
            return None;
        }
        ChunkSpan::new(start, end - start + 1, total)
    })();
    parsed.ok_or_else(|| {
        ApiError::bad_request(
            "Content-Range 格式应为 bytes 起始-结束/总大小，且不超出总大小",
            "Content-Range must be `bytes START-END/TOTAL` with END < TOTAL",
        )
    })
}

/// A `Range` header with one byte range. Anything else (several ranges, other units, bad
/// syntax) is ignored and the whole blob sent, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => Some(ByteRange::Suffix(number(b)?)),
        (false, true) => Some(ByteRange::From(number(a)?)),
        (false, false) => {
            let (a, b) = (number(a)?, number(b)?);
            (a <= b).then_some(ByteRange::FromTo(a, b))
        }
        (true, true) => None,
    }
}

/// 413 with both sizes in the units a person reads.
fn check_size(total: u64, max: u64) -> Result<(), ApiError> {
    if total <= max {
        return Ok(());
    }
    let (size, limit) = (human_size(total), human_size(max));
    Err(ApiError::TooLarge {
        zh: format!("照片太大（{size}），上限为 {limit}"),
        en: format!("the photo is too large ({size}); the limit is {limit}"),
    })
}

/// `12.3 MB`, `10 MB`, `512 KB`, `900 B` (binary multiples, one decimal when it matters).
fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    let (value, unit) = match bytes {
        b if b >= MB => (b as f64 / MB as f64, "MB"),
        b if b >= KB => (b as f64 / KB as f64, "KB"),
        b => return format!("{b} B"),
    };
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {unit}")
}

/// Read until `buf` is full or the source ends; how many bytes were read.
async fn read_full(src: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A request body as an [`AsyncRead`], failing with `TimedOut` when nothing arrives for
/// `idle`: a phone that lost its signal rarely closes the connection, and until the request
/// ends the upload stays locked against the device's own retry.
struct BodyReader {
    body: Body,
    pending: Bytes,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl BodyReader {
    fn new(body: Body, idle: Duration) -> BodyReader {
        BodyReader {
            body,
            pending: Bytes::new(),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending.split_to(n));
                return Poll::Ready(Ok(()));
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let idle = this.idle;
                    this.deadline.as_mut().reset(Instant::now() + idle);
                    // Trailers carry nothing an upload needs.
                    if let Ok(data) = frame.into_data() {
                        this.pending = data;
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io::Error::other(e))),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    ready!(this.deadline.as_mut().poll(cx));
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("nothing received for {:?}", this.idle),
                    )));
                }
            }
        }
    }
}

/// A blob being sent: [`BlobReader`] as a response body, in pieces (never the whole photo in
/// memory), of exactly `remaining` bytes.
struct ReaderBody {
    reader: BlobReader,
    remaining: u64,
    buf: Vec<u8>,
}

/// Bytes per response frame.
const SEND_BUF: usize = 64 * 1024;

impl ReaderBody {
    fn new(reader: BlobReader, len: u64) -> ReaderBody {
        let cap = usize::try_from(len).unwrap_or(usize::MAX).min(SEND_BUF);
        ReaderBody {
            reader,
            remaining: len,
            buf: vec![0u8; cap],
        }
    }
}

impl HttpBody for ReaderBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buf.len());
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        ready!(Pin::new(&mut this.reader).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        if n == 0 {
            // The file is shorter than its size said: end the response as broken, not short.
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob ended early",
            ))));
        }
        this.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(read.filled())))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;

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

        async fn head(&self, sha: &str) -> Response {
            self.send(self.request("HEAD", sha).body(Body::empty()).expect("req"))
                .await
        }

        async fn put(&self, sha: &str, content_range: Option<String>, body: Body) -> Response {
            let mut req = self.request("PUT", sha);
            if let Some(range) = content_range {
                req = req.header(header::CONTENT_RANGE, range);
            }
            self.send(req.body(body).expect("req")).await
        }

        /// GET as a user allowed to see the photo (its record lies in the user's village).
        async fn get(&self, sha: &str, range: Option<&str>) -> Response {
            if yijian_core::support::Sha256Hex::parse(sha).is_ok() {
                let village = DivisionCode::parse("621102105201").expect("code");
                self.state
                    .storage
                    .link_blob(sha, &village)
                    .await
                    .expect("link blob");
            }
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
        assert_eq!(
            h.put(&sha, None, Body::from(data.clone())).await.status(),
            StatusCode::CREATED
        );
        // Stored, but no photo record names it: not found, not even its existence confirmed.
        assert_eq!(
            h.get_unlinked(&sha, None).await.status(),
            StatusCode::NOT_FOUND
        );
        // A photo record in another village does not make it readable here.
        let elsewhere = DivisionCode::parse("621102105202").expect("code");
        h.state
            .storage
            .link_blob(&sha, &elsewhere)
            .await
            .expect("link");
        assert_eq!(
            h.get_unlinked(&sha, None).await.status(),
            StatusCode::NOT_FOUND
        );
        // One in the user's own village does.
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
}
