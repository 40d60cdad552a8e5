//! A thin HTTP client of the sync API for server-level tests: the wire as a device speaks it,
//! without the device engine in between (so tests can replay, duplicate and reorder requests).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::household::Household;
use yijian_core::ids::{CommandId, DeviceId, HouseholdId};
use yijian_core::protocol::{
    Command, CommandBody, NoticesResponse, PROTOCOL_VERSION, PullResponse, PushRequest,
    PushResponse, SnapshotPage, Wire,
};

/// A signed-in device.
#[derive(Debug, Clone)]
pub struct ApiDevice {
    pub base: String,
    pub token: String,
    pub device_id: DeviceId,
    pub user: Value,
    http: reqwest::Client,
}

impl ApiDevice {
    pub async fn login(base: &str, login: &str, password: &str) -> Result<ApiDevice> {
        ApiDevice::login_as(base, login, password, None).await
    }

    /// Log in offering the id this device had before.
    pub async fn login_as(
        base: &str,
        login: &str,
        password: &str,
        device_id: Option<DeviceId>,
    ) -> Result<ApiDevice> {
        ApiDevice::login_with(reqwest::Client::new(), base, login, password, device_id).await
    }

    /// Log in through `http` (a client trusting a test certificate authority, say).
    pub async fn login_with(
        http: reqwest::Client,
        base: &str,
        login: &str,
        password: &str,
        device_id: Option<DeviceId>,
    ) -> Result<ApiDevice> {
        let resp = http
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({"login": login, "password": password, "device_name": "测试设备", "device_id": device_id}))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("login failed: {status} {body}");
        }
        Ok(ApiDevice {
            base: base.to_owned(),
            token: body["token"].as_str().context("token")?.to_owned(),
            device_id: serde_json::from_value(body["device_id"].clone())?,
            user: body["user"].clone(),
            http,
        })
    }

    /// Same device, another base URL (a second server process, a proxy).
    pub fn via(&self, base: &str) -> ApiDevice {
        ApiDevice {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub async fn push_raw(&self, commands: &[Command]) -> Result<(u16, Value)> {
        let req = PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: self.device_id,
            commands: commands.to_vec(),
        };
        let resp = self
            .http
            .post(format!("{}/v1/sync/push", self.base))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    }

    pub async fn push(&self, commands: &[Command]) -> Result<PushResponse> {
        let (status, body) = self.push_raw(commands).await?;
        if status != 200 {
            bail!("push failed: {status} {body}");
        }
        Ok(serde_json::from_value(body)?)
    }

    pub async fn pull_raw(&self, cursor: Option<&str>, limit: u32) -> Result<(u16, Value)> {
        let mut url = format!("{}/v1/sync/pull?limit={limit}", self.base);
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let resp = self.http.get(url).bearer_auth(&self.token).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    }

    pub async fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<PullResponse> {
        let (status, body) = self.pull_raw(cursor, limit).await?;
        if status != 200 {
            bail!("pull failed: {status} {body}");
        }
        Ok(serde_json::from_value(body)?)
    }

    /// `GET /v1/notices`: the user's office's messages after `after`.
    pub async fn notices(&self, after: i64, limit: u32) -> Result<NoticesResponse> {
        let url = format!("{}/v1/notices?after={after}&limit={limit}", self.base);
        let resp = self.http.get(url).bearer_auth(&self.token).send().await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("notices failed: {status} {}", resp.text().await?);
        }
        Ok(resp.json().await?)
    }

    pub async fn snapshot(&self, page: Option<&str>, limit: u32) -> Result<SnapshotPage> {
        let (status, body) = self.snapshot_raw(page, limit).await?;
        if status != 200 {
            bail!("snapshot failed: {status} {body}");
        }
        Ok(serde_json::from_value(body)?)
    }

    /// `GET /v1/sync/snapshot` with any page token: the status and the JSON answer.
    pub async fn snapshot_raw(&self, page: Option<&str>, limit: u32) -> Result<(u16, Value)> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(p) = page {
            query.push(("page", p.to_owned()));
        }
        let resp = self
            .http
            .get(format!("{}/v1/sync/snapshot", self.base))
            .query(&query)
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    }

    /// `POST /v1/auth/logout`: revoke this device's token.
    pub async fn logout(&self) -> Result<u16> {
        let resp = self
            .http
            .post(format!("{}/v1/auth/logout", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }

    /// Push command bodies (fresh ids, one HLC tick each) and return each outcome's type
    /// (`applied`, `already_applied`, or `refused: <reason>`).
    pub async fn push_bodies(
        &self,
        bodies: Vec<yijian_core::protocol::CommandBody>,
    ) -> Result<Vec<String>> {
        use yijian_core::protocol::{Outcome, Wire};
        let mut clock = yijian_core::hlc::HlcClock::new(7);
        let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let commands: Vec<Command> = bodies
            .into_iter()
            .map(|body| Command {
                id: yijian_core::ids::CommandId::new(),
                hlc: clock.tick(now),
                body: Wire::Known(body),
            })
            .collect();
        let resp = self.push(&commands).await?;
        Ok(resp
            .results
            .into_iter()
            .map(|r| match r.outcome {
                Wire::Known(Outcome::Applied) => "applied".to_owned(),
                Wire::Known(Outcome::AlreadyApplied) => "already_applied".to_owned(),
                Wire::Known(Outcome::Refused { message_en, .. }) => {
                    format!("refused: {message_en}")
                }
                Wire::Unknown { kind, .. } => kind,
            })
            .collect())
    }

    /// `GET /v1/blobs/{sha256}`: the stored bytes.
    pub async fn blob(&self, sha256: &str) -> Result<Vec<u8>> {
        let resp = self
            .http
            .get(format!("{}/v1/blobs/{sha256}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("blob {sha256}: {}", resp.status());
        }
        Ok(resp.bytes().await?.to_vec())
    }
}

/// A device's command creating a new household in `village` (as a worker registering one),
/// stamped now by hybrid-clock node `node`.
pub fn new_household_command(village: &str, node: u32) -> Result<(HouseholdId, Command)> {
    let h = Household::new(
        HouseholdId::new(),
        DivisionCode::parse(village)?,
        "东川村2社",
    )?;
    let id = h.id;
    let cmd = Command {
        id: CommandId::new(),
        hlc: Hlc {
            wall_ms: u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0),
            counter: 0,
            node,
        },
        body: Wire::Known(CommandBody::CreateHousehold(h)),
    };
    Ok((id, cmd))
}
