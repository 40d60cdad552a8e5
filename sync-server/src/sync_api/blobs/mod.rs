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
use crate::sync_api::auth::CaseReader;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/blobs/{sha256}", get(download).head(status).put(upload))
}

/// `HEAD`: is the blob complete, and if not, where does the upload continue.
async fn status(
    State(state): State<AppState>,
    auth: CaseReader,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let sha = blob_name(&raw)?;
    // A blob no photo record within the caller's scope names reads as absent: whether it
    // exists elsewhere, and how big it is, is not the caller's to know.
    let held = if visible(&state, &auth, &sha).await? {
        state.blobs.status(&sha).await?
    } else {
        BlobStatus::Absent
    };
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
    auth: CaseReader,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let sha = blob_name(&raw)?;
    // Only a photo that a record within the caller's scope names can be uploaded (the record
    // is pushed first), so nobody learns of or fills in another village's photo.
    if !visible(&state, &auth, &sha).await? {
        return Err(ApiError::NotFound);
    }
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
    auth: CaseReader,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sha = blob_name(&raw)?;
    // A photo is someone's house or medical bill: only users whose scope covers a village that
    // one of its photo records belongs to may read it. Others get "not found", which does not
    // even confirm that it exists.
    if !visible(&state, &auth, &sha).await? {
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

/// Whether a photo record within the caller's scope names the blob.
async fn visible(state: &AppState, auth: &CaseReader, sha: &Sha256Hex) -> Result<bool, ApiError> {
    Ok(state
        .storage
        .blob_visible(sha.as_str(), &auth.0.user.scope)
        .await?)
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
mod tests;
