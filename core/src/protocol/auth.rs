//! Signing a device in: `POST /v1/auth/login` and the account it answers with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::division::DivisionCode;
use crate::ids::{DeviceId, UserId};
use crate::role::{Role, ScopeLevelMismatch, Staff};

/// A staff account as the server and devices know it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Account {
    pub id: UserId,
    /// The mobile number they sign in with.
    pub login: String,
    pub name: String,
    pub role: Role,
    pub scope: DivisionCode,
}

impl Account {
    /// The account as the workflow rules see it.
    pub fn staff(&self) -> Result<Staff, ScopeLevelMismatch> {
        Staff::new(self.role, self.scope.clone())
    }
}

/// `POST /v1/auth/login`.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The mobile number the account was created with.
    pub login: String,
    pub password: String,
    /// What the device calls itself ("红米 Note 12"), shown when revoking.
    pub device_name: String,
    /// The id this device had before (a new login after a revoked or expired token). When it
    /// is this user's device, the device keeps its id, so commands it pushed before are still
    /// recognised as its own and a retry after the new login is answered "already applied".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<DeviceId>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .field("password", &"***")
            .field("device_name", &self.device_name)
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// The answer to a login: the bearer token (only its hash is kept on the server).
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub device_id: DeviceId,
    pub user: Account,
    pub server_time: DateTime<Utc>,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"***")
            .field("device_id", &self.device_id)
            .field("user", &self.user)
            .field("server_time", &self.server_time)
            .finish()
    }
}

/// `GET /v1/device/key`: the escrow key the server keeps for the calling device (made on the
/// first call). The device wraps its store's data key with it, so a worker who forgot the PIN
/// gets the store back after a password sign-in. Only the device's own live token gets it.
#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceKeyResponse {
    /// 32 random bytes, base64.
    pub escrow_key: String,
}

impl std::fmt::Debug for DeviceKeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKeyResponse(***)")
    }
}

/// The `code` of the 401 a revoked device gets: it must erase its data, then confirm with
/// `POST /v1/device/wiped` (the revoked token is accepted there and nowhere else).
pub const DEVICE_REVOKED: &str = "device_revoked";
