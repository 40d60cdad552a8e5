//! The one error type of the HTTP API.
//!
//! Every handler returns `Result<_, ApiError>`. The response body is always
//! `{"code": "...", "message": "..."}`: a stable machine-readable code a client can branch on
//! and a human message. Details of server faults go to the log, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("storage unavailable")]
    Storage(#[from] StorageError),
    #[error("not found")]
    NotFound,
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Storage(_) => "storage_unavailable",
            ApiError::NotFound => "not_found",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}
