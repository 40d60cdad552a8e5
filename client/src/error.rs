//! The one error type of the device engine.
//!
//! The app's screens and the `yijian` CLI must decide what to do about a failure without
//! reading its text: offer a retry (no signal), send the worker to the login screen (token
//! revoked), show the server's reason, or point at the field that is wrong. So every error has
//! an [`ErrorKind`] to branch on, and its `Display` is Chinese a grid worker can read. Details a
//! developer needs (SQLite's message, the HTTP status) stay in the variant.

use std::path::PathBuf;

use serde::Serialize;

/// What went wrong, in the categories the app handles differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No connection, a timeout, or the server is temporarily unable to answer (5xx): keep
    /// everything and try again later.
    Network,
    /// Not logged in, wrong password, or the device's token was revoked: ask the worker to log
    /// in again; retrying will not help.
    Unauthenticated,
    /// The server refused the request itself (4xx other than 401): retrying the same request
    /// will not help.
    Server,
    /// The local database or file system failed.
    Storage,
    /// Input that cannot be accepted (the message names the field and why).
    Invalid,
    /// The thing asked for is not on this device (a household not synced, an unknown QR code).
    NotFound,
    /// The app is locked: the PIN is needed, or too many wrong PINs were entered.
    Locked,
    /// The device was revoked in the console and has erased its data.
    Revoked,
    /// Signing out would erase unsent work: ask before going on.
    UnsentWork,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request did not reach the server or no answer came back.
    #[error("无法连接服务器，请检查网络后重试（{detail}）")]
    Network { detail: String },
    /// The server is up but cannot handle the request now (5xx).
    #[error("{message}")]
    Unavailable {
        status: u16,
        message: String,
        message_en: String,
    },
    /// Not logged in on this device.
    #[error("尚未登录，请先登录")]
    NotLoggedIn,
    /// The server does not accept the credentials or the token (401).
    #[error("{message}")]
    Unauthenticated { code: String, message: String },
    /// The server refused the request (4xx).
    #[error("{message}")]
    Server {
        status: u16,
        code: String,
        message: String,
        message_en: String,
    },
    #[error("本机数据库出错：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("无法打开本机数据库：{0}")]
    Open(#[from] yijian_sqlite::OpenError),
    #[error("读写文件失败（{path}）：{source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("本机数据格式有误：{0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
    /// One field of a form is wrong; the screen shows the message beside it.
    #[error("{message}")]
    Field { field: String, message: String },
    /// Several fields of a form are wrong (all are shown at once); the first comes first.
    #[error("{}", .0.first().map(|(_, m)| m.as_str()).unwrap_or("请检查填写的内容"))]
    Fields(Vec<(String, String)>),
    #[error("{0}")]
    NotFound(String),
    /// Too many wrong PINs: wait before trying again.
    #[error("PIN错误次数过多，请{retry_after_s}秒后再试")]
    Locked { retry_after_s: u64 },
    /// The store does not open with this key (another device's file, a damaged key file).
    #[error("本机数据无法解密")]
    WrongKey,
    /// Too many wrong PINs: the PIN no longer opens the store; sign in with the password.
    #[error(
        "PIN错误次数过多，已停止用PIN解锁。请联网后用手机号和密码登录，本机未同步的记录不会丢失"
    )]
    LockedOut,
    /// An administrator revoked this device: its data is erased.
    #[error("本机已被管理员停用，本机保存的数据已清除")]
    DeviceRevoked,
    /// Signing out would erase work not yet sent; the worker must confirm (or sync first).
    #[error("本机还有{0}条记录未同步，退出登录会永久删除它们。请先联网同步，或确认删除")]
    UnsentWork(u64),
    /// A photo could not be decoded, resized or encoded (not a JPEG, truncated, too large).
    #[error("照片无法处理：{0}")]
    Photo(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Network { .. } | Error::Unavailable { .. } => ErrorKind::Network,
            Error::NotLoggedIn | Error::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            Error::Server { .. } => ErrorKind::Server,
            Error::Sqlite(_)
            | Error::Open(_)
            | Error::Io { .. }
            | Error::Corrupt(_)
            | Error::WrongKey => ErrorKind::Storage,
            Error::Invalid(_) | Error::Photo(_) | Error::Field { .. } | Error::Fields(_) => {
                ErrorKind::Invalid
            }
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Locked { .. } | Error::LockedOut => ErrorKind::Locked,
            Error::DeviceRevoked => ErrorKind::Revoked,
            Error::UnsentWork(_) => ErrorKind::UnsentWork,
        }
    }

    /// Whether the same request may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Network
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    /// A form field is wrong.
    pub fn field(field: &str, message: impl Into<String>) -> Error {
        Error::Field {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The form field an error is about, if any.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            Error::Field { field, .. } => Some(field),
            Error::Fields(list) => list.first().map(|(f, _)| f.as_str()),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Corrupt(e.to_string())
    }
}

/// `{"kind": "...", "message": "..."}` (plus `field` for a form field, `retry_after_s` when
/// locked): the shape the app's IPC layer passes to the screens.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut st = s.serialize_map(None)?;
        st.serialize_entry("kind", &self.kind())?;
        st.serialize_entry("message", &self.to_string())?;
        if let Some(field) = self.field_name() {
            st.serialize_entry("field", field)?;
        }
        if let Error::Locked { retry_after_s } = self {
            st.serialize_entry("retry_after_s", retry_after_s)?;
        }
        if let Error::Fields(list) = self {
            let map: std::collections::BTreeMap<&str, &str> =
                list.iter().map(|(f, m)| (f.as_str(), m.as_str())).collect();
            st.serialize_entry("fields", &map)?;
        }
        st.end()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_serialized_shape() {
        let e = Error::Network {
            detail: "connection refused".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Network);
        assert!(e.is_retryable());
        let v = serde_json::to_value(&e).expect("serialize");
        assert_eq!(v["kind"], "network");
        assert!(v["message"].as_str().is_some_and(|m| m.contains("网络")));
        assert_eq!(Error::NotLoggedIn.kind(), ErrorKind::Unauthenticated);
        assert!(!Error::NotLoggedIn.is_retryable());
        let refused = Error::Server {
            status: 413,
            code: "too_large".into(),
            message: "一次最多提交2000条记录".into(),
            message_en: "too many".into(),
        };
        assert_eq!(refused.kind(), ErrorKind::Server);
        assert_eq!(refused.to_string(), "一次最多提交2000条记录");
        let field = serde_json::to_value(Error::field("id_number", "身份证号校验位不正确"))
            .expect("serialize");
        assert_eq!(
            field,
            serde_json::json!({"kind": "invalid", "message": "身份证号校验位不正确", "field": "id_number"})
        );
        let locked = serde_json::to_value(Error::Locked { retry_after_s: 30 }).expect("ser");
        assert_eq!(locked["kind"], "locked");
        assert_eq!(locked["retry_after_s"], 30);
    }
}
