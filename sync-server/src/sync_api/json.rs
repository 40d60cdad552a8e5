//! A JSON body extractor whose rejections have the API's error shape.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but a malformed body is answered with [`ApiError::BadRequest`] and one
/// over the size limit with [`ApiError::TooLarge`] (413).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge {
                    zh: "提交的数据太大".into(),
                    en: format!("request body too large: {}", rejection.body_text()),
                })
            }
            Err(rejection) => Err(ApiError::bad_request(
                "提交的数据格式不正确",
                format!("invalid JSON body: {}", rejection.body_text()),
            )),
        }
    }
}
