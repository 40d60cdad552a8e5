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
            Error::Sqlite(_) | Error::Open(_) | Error::Io { .. } | Error::Corrupt(_) => {
                ErrorKind::Storage
            }
            Error::Invalid(_) | Error::Photo(_) => ErrorKind::Invalid,
        }
    }

    /// Whether the same request may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Network
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
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

/// `{"kind": "...", "message": "..."}`: the shape the app's IPC layer passes to the screens.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 2)?;
        st.serialize_field("kind", &self.kind())?;
        st.serialize_field("message", &self.to_string())?;
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
    }
}
