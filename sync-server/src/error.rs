//! The one error type of the HTTP API.
//!
//! Every handler returns `Result<_, ApiError>`. The body is always
//! `{"code": "...", "message": "...", "message_en": "..."}`: a stable machine-readable code a
//! client branches on, the message in Chinese for the people using the apps, and in English for
//! API clients and logs. Details of server faults go to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::blobstore::BlobError;
use crate::store::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthenticated,
    /// The token belongs to a device an administrator revoked: the device erases its data.
    #[error("device revoked")]
    DeviceRevoked,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {en}")]
    BadRequest { zh: String, en: String },
    #[error("payload too large: {en}")]
    TooLarge { zh: String, en: String },
    #[error("unsupported media type: {en}")]
    UnsupportedMedia { zh: String, en: String },
    #[error("conflict: {en}")]
    Conflict { zh: String, en: String },
    #[error("unprocessable: {en}")]
    Unprocessable { zh: String, en: String },
    /// A resumable upload's chunk does not start at the held offset (answered with the
    /// `Upload-Offset` header, so the device resumes from there).
    #[error("upload offset {sent} does not match the {held} bytes held")]
    UploadOffsetMismatch { held: u64, sent: u64 },
    /// Another request is writing the same blob.
    #[error("another upload of this blob is in progress ({held} bytes held)")]
    UploadBusy { held: u64 },
    /// The body ended or failed before its declared length; `held` bytes are kept.
    #[error("upload interrupted; {held} bytes held")]
    UploadInterrupted { held: u64 },
    /// The uploaded bytes do not hash to the name they were uploaded under.
    #[error("uploaded bytes hash to {actual}, not {expected}")]
    HashMismatch { expected: String, actual: String },
    /// A `Range` that selects nothing in a blob of `size` bytes.
    #[error("range not satisfiable (size {size})")]
    RangeNotSatisfiable { size: u64 },
    /// Too many attempts: try again after `retry_after_s` seconds (`Retry-After`).
    #[error("too many requests: {en}")]
    TooManyRequests {
        zh: String,
        en: String,
        retry_after_s: u64,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
    message_en: String,
}

impl ApiError {
    pub fn bad_request(zh: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Storage(StorageError::BadCursor(_)) => StatusCode::BAD_REQUEST,
            ApiError::Storage(_) | ApiError::Internal(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unauthenticated | ApiError::BadCredentials | ApiError::DeviceRevoked => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMedia { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UploadOffsetMismatch { .. } | ApiError::UploadBusy { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::UploadInterrupted { .. } => StatusCode::BAD_REQUEST,
            ApiError::HashMismatch { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Storage(StorageError::BadCursor(_)) => "bad_cursor",
            ApiError::Storage(_) => "storage_unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::NotFound => "not_found",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::DeviceRevoked => yijian_core::protocol::auth::DEVICE_REVOKED,
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::UnsupportedMedia { .. } => "unsupported_media_type",
            ApiError::Conflict { .. } => "conflict",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::UploadOffsetMismatch { .. } => "upload_offset_mismatch",
            ApiError::UploadBusy { .. } => "upload_in_progress",
            ApiError::UploadInterrupted { .. } => "upload_interrupted",
            ApiError::HashMismatch { .. } => "hash_mismatch",
            ApiError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            ApiError::TooManyRequests { .. } => "too_many_requests",
        }
    }

    fn messages(&self) -> (String, String) {
        match self {
            ApiError::Storage(StorageError::BadCursor(c)) => (
                "同步位置无效，请重新同步".into(),
                format!("bad cursor {c:?}"),
            ),
            ApiError::Storage(_) | ApiError::Internal(_) => (
                "服务器暂时无法处理，请稍后重试".into(),
                "the server cannot handle this right now; retry later".into(),
            ),
            ApiError::NotFound => ("找不到该内容".into(), "not found".into()),
            ApiError::Unauthenticated => (
                "登录已失效，请重新登录".into(),
                "missing, unknown or revoked device token".into(),
            ),
            ApiError::DeviceRevoked => (
                "本机已被管理员停用，本机保存的数据将被清除".into(),
                "this device was revoked; it must erase its data".into(),
            ),
            ApiError::BadCredentials => (
                "手机号或密码不正确".into(),
                "wrong login or password".into(),
            ),
            ApiError::Forbidden(en) => ("您没有权限进行此操作".into(), (*en).into()),
            ApiError::BadRequest { zh, en }
            | ApiError::TooLarge { zh, en }
            | ApiError::UnsupportedMedia { zh, en }
            | ApiError::Conflict { zh, en }
            | ApiError::Unprocessable { zh, en }
            | ApiError::TooManyRequests { zh, en, .. } => (zh.clone(), en.clone()),
            ApiError::UploadOffsetMismatch { held, sent } => (
                format!("上传进度不一致：服务器已收到{held}字节，请从该处继续上传"),
                format!(
                    "the chunk starts at byte {sent} but {held} bytes are held; resume at {held}"
                ),
            ),
            ApiError::UploadBusy { held } => (
                "这张照片正在上传中，请稍后重试".into(),
                format!(
                    "another upload of this blob is in progress ({held} bytes held); retry later"
                ),
            ),
            ApiError::UploadInterrupted { held } => (
                "上传中断，已收到的部分已保存，请继续上传".into(),
                format!("the upload was interrupted; {held} bytes are held, resume there"),
            ),
            ApiError::HashMismatch { expected, actual } => (
                "照片内容与编号不符（可能在传输中损坏），请重新上传".into(),
                format!(
                    "the uploaded bytes hash to {actual}, not {expected}; upload again from the start"
                ),
            ),
            ApiError::RangeNotSatisfiable { size } => (
                "请求的范围超出了文件大小".into(),
                format!("the range selects nothing in a blob of {size} bytes"),
            ),
        }
    }

    /// Headers a client needs to act on the error: where to resume an upload, the size a
    /// failed range request can be fixed against.
    fn headers(&self) -> Option<(&'static str, String)> {
        match self {
            ApiError::UploadOffsetMismatch { held, .. }
            | ApiError::UploadBusy { held }
            | ApiError::UploadInterrupted { held } => {
                Some((crate::blobstore::UPLOAD_OFFSET, held.to_string()))
            }
            ApiError::HashMismatch { .. } => Some((crate::blobstore::UPLOAD_OFFSET, "0".into())),
            ApiError::RangeNotSatisfiable { size } => {
                Some(("content-range", format!("bytes */{size}")))
            }
            ApiError::TooManyRequests { retry_after_s, .. } => {
                Some(("retry-after", retry_after_s.to_string()))
            }
            _ => None,
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> ApiError {
        match e {
            BlobError::OffsetMismatch { held, sent } => {
                ApiError::UploadOffsetMismatch { held, sent }
            }
            BlobError::Busy { held } => ApiError::UploadBusy { held },
            BlobError::Interrupted { held, source } => {
                // Routine on village networks; the device resumes. Worth a line, not an alarm.
                tracing::info!(held, error = %source, "blob upload interrupted");
                ApiError::UploadInterrupted { held }
            }
            BlobError::ChunkTooLong { .. } => ApiError::bad_request(
                "上传的数据比声明的长度长，本段已丢弃，请重新上传这一段",
                "the body is longer than its Content-Range or Content-Length says; the chunk was discarded",
            ),
            BlobError::HashMismatch { expected, actual } => {
                tracing::warn!(%expected, %actual, "uploaded blob does not match its name");
                ApiError::HashMismatch { expected, actual }
            }
            BlobError::NotFound => ApiError::NotFound,
            BlobError::RangeNotSatisfiable { size } => ApiError::RangeNotSatisfiable { size },
            BlobError::Io(e) => ApiError::Internal(format!("blob storage: {e}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (message, message_en) = self.messages();
        let body = ErrorBody {
            code: self.code(),
            message,
            message_en,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some((name, value)) = self.headers()
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
