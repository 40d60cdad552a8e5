//! Photos from the camera and QR codes: the bytes arrive as the raw request body (or as base64
//! in JSON on Android, whose webview cannot send a raw body) and the work runs off the UI thread.

use base64::Engine as _;
use serde::Serialize;
use tauri::State;
use tauri::ipc::{InvokeBody, Request};
use yijian_client::media::{StagedPhoto, process_to_files};

use crate::error::{CommandError, ErrorKind};
use crate::state::App;

/// Largest camera photo accepted (a 50 MP JPEG is ~20 MB).
const MAX_PHOTO_BYTES: usize = 40 * 1024 * 1024;

fn body_bytes(request: &Request<'_>) -> Result<Vec<u8>, CommandError> {
    let bytes = match request.body() {
        InvokeBody::Raw(bytes) => bytes.clone(),
        InvokeBody::Json(value) => {
            let text = value
                .get("base64")
                .and_then(|v| v.as_str())
                .ok_or_else(|| CommandError::new(ErrorKind::Invalid, "没有收到图片数据"))?;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| CommandError::new(ErrorKind::Invalid, "图片数据损坏"))?
        }
    };
    if bytes.is_empty() {
        return Err(CommandError::new(ErrorKind::Invalid, "没有收到图片数据"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(CommandError::new(
            ErrorKind::Invalid,
            "照片文件过大，请用手机相机重新拍摄",
        ));
    }
    Ok(bytes)
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, CommandError> + Send + 'static,
) -> Result<R, CommandError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| CommandError::new(ErrorKind::Internal, format!("后台任务失败：{e}")))?
}

/// A staged photo with the URLs the screens load it from.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct StagedPhotoView {
    #[serde(flatten)]
    pub photo: StagedPhoto,
    pub url: String,
    pub thumb_url: String,
}

/// Run the capture pipeline on a camera photo and keep the result on the phone.
#[tauri::command]
pub async fn photo_stage(
    app: State<'_, App>,
    request: Request<'_>,
) -> Result<StagedPhotoView, CommandError> {
    app.require_unlocked()?;
    let bytes = body_bytes(&request)?;
    let files = app.photo_files().ok_or_else(CommandError::locked)?;
    let staged = blocking(move || Ok(process_to_files(&files, &bytes)?)).await?;
    let record = staged.clone();
    app.store(move |s| s.stage_photo(&record)).await?;
    Ok(StagedPhotoView {
        url: app.urls.url(&staged.sha256),
        thumb_url: app.urls.url(&staged.thumb_sha256),
        photo: staged,
    })
}

/// The text of the QR code in an image file; `None` when none is found.
#[tauri::command]
pub async fn decode_qr(request: Request<'_>) -> Result<Option<String>, CommandError> {
    let bytes = body_bytes(&request)?;
    blocking(move || Ok(yijian_client::qr::decode_qr(&bytes)?)).await
}

/// The text of the QR code in a camera frame of 8-bit grey values.
#[tauri::command]
pub async fn decode_qr_luma(request: Request<'_>) -> Result<Option<String>, CommandError> {
    let dim = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| (1..=4096).contains(n))
            .ok_or_else(|| CommandError::new(ErrorKind::Invalid, "画面尺寸无效"))
    };
    let (w, h) = (dim("x-width")?, dim("x-height")?);
    let luma = body_bytes(&request)?;
    blocking(move || Ok(yijian_client::qr::decode_qr_luma(luma, w, h)?)).await
}
