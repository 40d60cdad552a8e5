//! The one error type that crosses the IPC boundary.
//!
//! The UI receives `{"kind": "...", "message": "...", "field"?: "...", "fields"?: {…},
//! "retry_after_s"?: n}`: `kind` is stable and the screens branch on it (show a field error,
//! ask for the PIN, ask to log in again, offer a retry); `message` is Chinese text a grid worker
//! can read; `field`/`fields` name the form fields at fault.

use std::collections::BTreeMap;

use serde::Serialize;
use yijian_client::ErrorKind as EngineKind;

/// What went wrong, in categories the UI handles differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Input failed validation; `field` says which.
    Invalid,
    /// The thing asked for is not on this phone.
    NotFound,
    /// The PIN is needed first, or too many wrong PINs were entered.
    Locked,
    /// No signal or the server is down: everything is kept, sync retries by itself.
    Network,
    /// The server no longer accepts this phone's login.
    Unauthenticated,
    /// The server refused the request.
    Server,
    /// The local database or file system failed.
    Storage,
    /// An administrator revoked this phone; its data has been erased.
    Revoked,
    /// Signing out would erase unsent work: ask the worker first.
    UnsentWork,
    /// A bug or an unexpected state.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fields: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub retry_after_s: Option<u64>,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
            field: None,
            fields: None,
            retry_after_s: None,
        }
    }

    /// The app is locked: the PIN first.
    pub fn locked() -> CommandError {
        CommandError::new(ErrorKind::Locked, "请先输入PIN解锁")
    }
}

/// The IPC kind of an engine error.
pub fn kind_of(e: &yijian_client::Error) -> ErrorKind {
    match e.kind() {
        EngineKind::Invalid => ErrorKind::Invalid,
        EngineKind::NotFound => ErrorKind::NotFound,
        EngineKind::Locked => ErrorKind::Locked,
        EngineKind::Revoked => ErrorKind::Revoked,
        EngineKind::UnsentWork => ErrorKind::UnsentWork,
        EngineKind::Network => ErrorKind::Network,
        EngineKind::Unauthenticated => ErrorKind::Unauthenticated,
        EngineKind::Server => ErrorKind::Server,
        EngineKind::Storage => ErrorKind::Storage,
    }
}

impl From<yijian_client::Error> for CommandError {
    fn from(e: yijian_client::Error) -> CommandError {
        let kind = kind_of(&e);
        if kind == ErrorKind::Storage {
            tracing::error!(error = %e, "storage failure");
        }
        let mut out = CommandError::new(kind, e.to_string());
        out.field = e.field_name().map(str::to_owned);
        match e {
            yijian_client::Error::Fields(list) => {
                out.fields = Some(list.into_iter().collect());
            }
            yijian_client::Error::Locked { retry_after_s } => {
                out.retry_after_s = Some(retry_after_s);
            }
            _ => {}
        }
        out
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> CommandError {
        tracing::error!(error = %e, "tauri failure");
        CommandError::new(ErrorKind::Internal, format!("应用内部错误：{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_a_kind_the_ui_can_branch_on() {
        let e = CommandError::from(yijian_client::Error::field(
            "id_number",
            "身份证号校验位不正确",
        ));
        let v = serde_json::to_value(&e).expect("serialize");
        assert_eq!(
            v,
            serde_json::json!({"kind": "invalid", "message": "身份证号校验位不正确", "field": "id_number"})
        );
        let e = CommandError::from(yijian_client::Error::Fields(vec![
            ("applicant_name".into(), "请填写申请人姓名".into()),
            ("phone".into(), "手机号应为11位数字，您填了3位".into()),
        ]));
        let v = serde_json::to_value(&e).expect("serialize");
        assert_eq!(v["field"], "applicant_name");
        assert_eq!(v["fields"]["phone"], "手机号应为11位数字，您填了3位");
        let v = serde_json::to_value(CommandError::from(yijian_client::Error::Locked {
            retry_after_s: 60,
        }))
        .expect("serialize");
        assert_eq!(v["kind"], "locked");
        assert_eq!(v["retry_after_s"], 60);
        let v = serde_json::to_value(CommandError::from(yijian_client::Error::Network {
            detail: "refused".into(),
        }))
        .expect("serialize");
        assert_eq!(v["kind"], "network");
    }
}
