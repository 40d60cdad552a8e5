//! The one error type of the HTTP API.
//!
//! Every handler returns `Result<_, ApiError>`. The body is always
//! `{"code": "...", "message": "...", "message_en": "..."}`: a stable machine-readable code a
//! client branches on, the message in Chinese for the people using the apps, and in English for
//! API clients and logs. Details of server faults go to the log, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthenticated,
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
            ApiError::Unauthenticated | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMedia { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Storage(StorageError::BadCursor(_)) => "bad_cursor",
            ApiError::Storage(_) => "storage_unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::NotFound => "not_found",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::UnsupportedMedia { .. } => "unsupported_media_type",
            ApiError::Conflict { .. } => "conflict",
            ApiError::Unprocessable { .. } => "unprocessable",
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
            ApiError::BadCredentials => (
                "手机号或密码不正确".into(),
                "wrong login or password".into(),
            ),
            ApiError::Forbidden(en) => ("您没有权限进行此操作".into(), (*en).into()),
            ApiError::BadRequest { zh, en }
            | ApiError::TooLarge { zh, en }
            | ApiError::UnsupportedMedia { zh, en }
            | ApiError::Conflict { zh, en }
            | ApiError::Unprocessable { zh, en } => (zh.clone(), en.clone()),
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
        (status, Json(body)).into_response()
    }
}
