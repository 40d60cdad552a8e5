//! The HTTP edge of the engine: one method per server endpoint, each turning transport
//! failures and error answers into [`Error`] with the kind the engine branches on.
//!
//! Nothing here decides anything about the outbox or the records; it only talks.

use reqwest::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, IF_NONE_MATCH,
};
use reqwest::{Client, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use yijian_core::ids::DeviceId;
use yijian_core::protocol::auth::{DeviceKeyResponse, LoginRequest, LoginResponse};
use yijian_core::protocol::procedure::ProcedureDocument;
use yijian_core::protocol::{
    NoticesResponse, PROTOCOL_VERSION, PullResponse, PushResponse, SnapshotPage,
};

use crate::error::{Error, Result};
use crate::sync::EngineConfig;
use crate::sync::plan::{self, BlobState, PutDecision};

/// `POST /v1/sync/push` written from the stored command texts, so a retried command is sent
/// byte for byte as it was recorded.
#[derive(Serialize)]
struct PushBody<'a> {
    protocol: u32,
    device_id: DeviceId,
    commands: &'a [&'a RawValue],
}

/// What `GET /v1/procedure` answered.
pub(crate) enum ProcedureAnswer {
    /// The phone's copy is current (`304 Not Modified`).
    Unchanged,
    /// A new document, with the tag to send back next time.
    New {
        doc: Box<ProcedureDocument>,
        tag: Option<String>,
    },
}

/// A response body and its size on the wire (after decompression).
pub(crate) struct Fetched<T> {
    pub value: T,
    pub bytes: u64,
}

/// The server, seen from one device.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    http: Client,
    base: String,
    token: Option<String>,
    compress_above: usize,
}

/// Build the HTTP client the engine uses.
pub(crate) fn client(config: &EngineConfig) -> Result<Client> {
    let mut builder = Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .user_agent(concat!("yijian-client/", env!("CARGO_PKG_VERSION")));
    if !config.reuse_connections {
        builder = builder.pool_max_idle_per_host(0);
    }
    for pem in &config.extra_root_certificates {
        let root = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| Error::Network {
            detail: format!("证书无效：{e}"),
        })?;
        builder = builder.add_root_certificate(root);
    }
    builder.build().map_err(|e| Error::Network {
        detail: e.to_string(),
    })
}

fn network(e: reqwest::Error) -> Error {
    let detail = if e.is_timeout() {
        "等待服务器响应超时".to_owned()
    } else if e.is_connect() {
        "连接不上服务器".to_owned()
    } else {
        e.to_string()
    };
    Error::Network { detail }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Api {
    pub fn new(http: Client, base: &str, token: Option<String>, compress_above: usize) -> Api {
        Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            compress_above,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
            None => req,
        }
    }

    /// Send, and turn an error status into an [`Error`].
    async fn ok(req: reqwest::RequestBuilder) -> Result<Response> {
        Self::checked(req.send().await.map_err(network)?).await
    }

    /// An error status as an [`Error`], a success as it is.
    async fn checked(resp: Response) -> Result<Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.bytes().await.unwrap_or_default();
        Err(plan::http_error(status.as_u16(), &body))
    }

    async fn json<T: serde::de::DeserializeOwned>(resp: Response) -> Result<Fetched<T>> {
        let body = resp.bytes().await.map_err(network)?;
        let value = serde_json::from_slice(&body).map_err(|e| Error::Server {
            status: 200,
            code: "bad_response".into(),
            message: format!("服务器返回的数据无法识别：{e}"),
            message_en: e.to_string(),
        })?;
        Ok(Fetched {
            value,
            bytes: body.len() as u64,
        })
    }

    pub async fn login(
        &self,
        login: &str,
        password: &str,
        device_name: &str,
        device_id: Option<DeviceId>,
    ) -> Result<LoginResponse> {
        let req = self
            .http
            .post(self.url("/v1/auth/login"))
            .json(&LoginRequest {
                login: login.to_owned(),
                password: password.to_owned(),
                device_name: device_name.to_owned(),
                device_id,
            });
        let resp = Self::ok(req).await?;
        Ok(Self::json(resp).await?.value)
    }

    /// This device's escrow key (32 bytes).
    pub async fn device_key(&self) -> Result<[u8; 32]> {
        use base64::Engine as _;
        let resp = Self::ok(self.authed(self.http.get(self.url("/v1/device/key")))).await?;
        let body: DeviceKeyResponse = Self::json(resp).await?.value;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body.escrow_key.as_bytes())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        bytes.ok_or_else(|| Error::Server {
            status: 200,
            code: "bad_response".into(),
            message: "服务器返回的密钥无法识别".into(),
            message_en: "escrow key is not 32 bytes of base64".into(),
        })
    }

    /// Tell the server this (revoked) device has erased its data.
    pub async fn confirm_wiped(&self) -> Result<()> {
        Self::ok(self.authed(self.http.post(self.url("/v1/device/wiped")))).await?;
        Ok(())
    }

    pub async fn logout(&self) -> Result<()> {
        Self::ok(self.authed(self.http.post(self.url("/v1/auth/logout")))).await?;
        Ok(())
    }

    /// Push commands; returns the answer and the bytes sent (compressed when large).
    pub async fn push(
        &self,
        device_id: DeviceId,
        commands: &[&RawValue],
    ) -> Result<(PushResponse, u64)> {
        let body = serde_json::to_vec(&PushBody {
            protocol: PROTOCOL_VERSION,
            device_id,
            commands,
        })?;
        let mut req = self
            .authed(self.http.post(self.url("/v1/sync/push")))
            .header(CONTENT_TYPE, "application/json");
        let sent;
        if body.len() > self.compress_above {
            // Upload bandwidth on a village's 2G/3G is the scarcest thing the device has.
            let packed = zstd::encode_all(body.as_slice(), 3)
                .map_err(|e| Error::Corrupt(format!("zstd: {e}")))?;
            sent = packed.len() as u64;
            req = req.header(CONTENT_ENCODING, "zstd").body(packed);
        } else {
            sent = body.len() as u64;
            req = req.body(body);
        }
        let resp = Self::ok(req).await?;
        Ok((Self::json(resp).await?.value, sent))
    }

    pub async fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<Fetched<PullResponse>> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let req = self
            .authed(self.http.get(self.url("/v1/sync/pull")))
            .query(&query);
        Self::json(Self::ok(req).await?).await
    }

    pub async fn snapshot(&self, page: Option<&str>, limit: u32) -> Result<Fetched<SnapshotPage>> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(p) = page {
            query.push(("page", p.to_owned()));
        }
        let req = self
            .authed(self.http.get(self.url("/v1/sync/snapshot")))
            .query(&query);
        Self::json(Self::ok(req).await?).await
    }

    /// `GET /v1/procedure`: the calendar, deadline rules and checklist templates in force.
    ///
    /// `held` is the tag of the copy the phone keeps: an unchanged document is not sent again.
    pub async fn procedure(&self, held: Option<&str>) -> Result<ProcedureAnswer> {
        let mut req = self.authed(self.http.get(self.url("/v1/procedure")));
        if let Some(tag) = held {
            req = req.header(IF_NONE_MATCH, tag);
        }
        let resp = req.send().await.map_err(network)?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(ProcedureAnswer::Unchanged);
        }
        let resp = Self::checked(resp).await?;
        let tag = resp
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let doc = Box::new(Self::json(resp).await?.value);
        Ok(ProcedureAnswer::New { doc, tag })
    }

    /// `GET /v1/notices`: the office's messages after the highest id the phone holds.
    pub async fn notices(&self, after: i64) -> Result<NoticesResponse> {
        let req = self
            .authed(self.http.get(self.url("/v1/notices")))
            .query(&[("after", after)]);
        Ok(Self::json(Self::ok(req).await?).await?.value)
    }

    /// How much of a photo the server holds.
    pub async fn blob_state(&self, sha256: &str) -> Result<BlobState> {
        let resp = self
            .authed(self.http.head(self.url(&format!("/v1/blobs/{sha256}"))))
            .send()
            .await
            .map_err(network)?;
        plan::head_decision(
            resp.status().as_u16(),
            header_u64(resp.headers(), "upload-offset"),
        )
    }

    /// Send bytes `[start, end)` of a `total`-byte photo.
    pub async fn blob_put(
        &self,
        sha256: &str,
        start: u64,
        end: u64,
        total: u64,
        chunk: Vec<u8>,
    ) -> Result<PutDecision> {
        let resp = self
            .authed(self.http.put(self.url(&format!("/v1/blobs/{sha256}"))))
            .header(CONTENT_TYPE, "image/jpeg")
            .header(CONTENT_LENGTH, chunk.len())
            .header("Content-Range", plan::content_range(start, end, total))
            .body(chunk)
            .send()
            .await
            .map_err(network)?;
        let status = resp.status().as_u16();
        let offset = header_u64(resp.headers(), "upload-offset");
        let body = resp.bytes().await.unwrap_or_default();
        Ok(plan::put_decision(status, offset, &body, end, total))
    }
}
