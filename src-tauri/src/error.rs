//! The one error type that crosses the IPC boundary.
//!
//! The UI receives `{"kind": "...", "message": "..."}`: `kind` is stable and the screens branch
//! on it (show a field error, ask to log in again, offer a retry); `message` is Chinese text a
//! grid worker can read.

use serde::Serialize;

/// What went wrong, in categories the UI handles differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Input failed validation; the message says which field and why.
    Invalid,
    /// The thing asked for does not exist on this device.
    NotFound,
    /// The local database or file system failed.
    Storage,
    /// A bug or an unexpected state.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
        }
    }
}

impl From<yijian_client::store::StoreError> for CommandError {
    fn from(e: yijian_client::store::StoreError) -> CommandError {
        CommandError::new(ErrorKind::Storage, format!("本机数据读写失败：{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_a_kind_the_ui_can_branch_on() {
        let e = CommandError::new(ErrorKind::Invalid, "身份证号校验位不正确");
        let v = serde_json::to_value(&e).expect("serialize");
        assert_eq!(
            v,
            serde_json::json!({"kind": "invalid", "message": "身份证号校验位不正确"})
        );
    }
}
