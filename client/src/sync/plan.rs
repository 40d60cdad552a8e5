//! The sync engine's decisions, with no I/O in them.
//!
//! What to do with each pushed command given the server's answer, how long to wait after a
//! failure, which bytes of a photo to send next and what an HTTP answer means are all pure
//! functions of their inputs, so they are tested with scripted server replies instead of a
//! network. The engine ([`super::SyncEngine`]) only carries out what these decide.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use yijian_core::ids::CommandId;
use yijian_core::protocol::{CommandResult, Outcome, Wire};

use crate::error::Error;
use crate::store::OutboxAction;

/// What to do with each command of a pushed batch, in the order they were sent.
///
/// Applied and already-applied commands leave the outbox; refused ones go to the quarantine
/// with the server's reason (they never block the rest); a command the answer does not mention,
/// or whose outcome this version does not understand, stays for the next push.
pub fn plan_push(sent: &[CommandId], results: &[CommandResult]) -> Vec<OutboxAction> {
    let by_id: HashMap<CommandId, &Wire<Outcome>> =
        results.iter().map(|r| (r.id, &r.outcome)).collect();
    sent.iter()
        .map(|id| match by_id.get(id) {
            Some(Wire::Known(Outcome::Applied | Outcome::AlreadyApplied)) => OutboxAction::Ack(*id),
            Some(Wire::Known(Outcome::Refused {
                code,
                message_zh,
                message_en,
            })) => OutboxAction::Quarantine {
                id: *id,
                code: code.clone(),
                message_zh: message_zh.clone(),
                message_en: message_en.clone(),
            },
            Some(Wire::Unknown { kind, .. }) => OutboxAction::Keep {
                id: *id,
                error: format!("服务器返回了无法识别的结果“{kind}”，请升级应用"),
            },
            None => OutboxAction::Keep {
                id: *id,
                error: "服务器没有返回这条记录的处理结果，稍后重试".to_owned(),
            },
        })
        .collect()
}

/// Exponential backoff with full jitter: after the `attempt`-th consecutive failure, wait a
/// random time between zero and `min(cap, base · 2^(attempt-1))`.
///
/// Full jitter spreads the retries of a village's phones that lost the signal together, so the
/// server is not hit by all of them at the same instant when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 1 second, doubling, at most 5 minutes.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The longest wait after the `attempt`-th failure (attempt 0 is treated as 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let cap = u64::try_from(self.cap.as_millis()).unwrap_or(u64::MAX);
        let ms = base
            .checked_shl(doublings)
            .filter(|v| v >> doublings == base);
        Duration::from_millis(ms.map_or(cap, |v| v.min(cap)))
    }

    /// The wait after the `attempt`-th failure, given a uniformly random `random`.
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        let ms = match ceiling.checked_add(1) {
            Some(span) => random % span,
            None => random,
        };
        Duration::from_millis(ms)
    }
}

/// A random number for [`Backoff::delay`]; a failing system RNG only loses the jitter.
pub fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or(0)
    })
}

/// The API's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    message_en: String,
}

/// What an unsuccessful HTTP answer means for the device.
pub fn http_error(status: u16, body: &[u8]) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message, message_en) = match parsed {
        Some(b) => (b.code, b.message, b.message_en),
        None => (
            String::new(),
            format!("服务器返回错误（HTTP {status}）"),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    match status {
        401 if code == "device_revoked" => Error::DeviceRevoked,
        401 => Error::Unauthenticated {
            message: if code.is_empty() {
                "登录已失效，请重新登录".to_owned()
            } else {
                message
            },
            code,
        },
        500..=599 | 408 | 429 => Error::Unavailable {
            status,
            message: if code.is_empty() {
                format!("服务器暂时无法处理（HTTP {status}），稍后会自动重试")
            } else {
                message
            },
            message_en,
        },
        _ => Error::Server {
            status,
            code,
            message,
            message_en,
        },
    }
}

/// The next piece of a photo to send: bytes `[start, end)`, or `None` when all are sent.
pub fn next_chunk(offset: u64, total: u64, chunk: u64) -> Option<(u64, u64)> {
    (offset < total).then(|| (offset, offset.saturating_add(chunk.max(1)).min(total)))
}

/// `Content-Range` of the bytes `[start, end)` of a `total`-byte file (the end is inclusive on
/// the wire).
pub fn content_range(start: u64, end: u64, total: u64) -> String {
    format!("bytes {start}-{}/{total}", end.saturating_sub(1))
}

/// What `HEAD /v1/blobs/{sha256}` says about a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobState {
    /// The server holds the whole verified file (perhaps from another device: deduplicated).
    Complete,
    /// The server holds the first `offset` bytes (0: nothing).
    Partial { offset: u64 },
}

/// What the answer to one `PUT` chunk means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutDecision {
    /// The file is complete and verified.
    Complete,
    /// Chunk taken; continue from `offset`.
    Continue { offset: u64 },
    /// The server holds a different offset than the chunk started at: continue from it.
    Resume { offset: u64 },
    /// The server will never take this file as it is: mark the photo failed with the reason.
    Rejected { message: String },
    /// Try this photo again later.
    Retry { message: String },
    /// The token is no longer valid: stop syncing.
    /// 401: `revoked` when the device was revoked in the console (it must erase its data).
    Unauthenticated { revoked: bool, message: String },
}

/// Interpret a `HEAD` answer; `Err` is a reason to retry later (or an auth failure).
pub fn head_decision(status: u16, upload_offset: Option<u64>) -> Result<BlobState, Error> {
    match status {
        200 => Ok(BlobState::Complete),
        404 => Ok(BlobState::Partial {
            offset: upload_offset.unwrap_or(0),
        }),
        _ => Err(http_error(status, &[])),
    }
}

/// Interpret the answer to a `PUT` of bytes `[start, end)` of a `total`-byte file.
pub fn put_decision(
    status: u16,
    upload_offset: Option<u64>,
    body: &[u8],
    end: u64,
    total: u64,
) -> PutDecision {
    match status {
        // 200 on a middle chunk: someone else completed the blob meanwhile (deduplicated).
        200..=299 if end >= total || upload_offset.is_some_and(|o| o >= total) => {
            PutDecision::Complete
        }
        200..=299 => PutDecision::Continue {
            offset: upload_offset.unwrap_or(end),
        },
        409 => match upload_offset {
            Some(offset) => PutDecision::Resume { offset },
            None => PutDecision::Retry {
                message: http_error(status, body).to_string(),
            },
        },
        413 | 415 | 422 => PutDecision::Rejected {
            message: http_error(status, body).to_string(),
        },
        401 => {
            let e = http_error(status, body);
            PutDecision::Unauthenticated {
                revoked: matches!(e, Error::DeviceRevoked),
                message: e.to_string(),
            }
        }
        _ => PutDecision::Retry {
            message: http_error(status, body).to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn id(n: u128) -> CommandId {
        CommandId::from_parts(1_780_000_000_000, n)
    }

    #[test]
    fn push_results_map_to_outbox_actions_in_sent_order() {
        let sent = [id(1), id(2), id(3), id(4), id(5)];
        // The server answers out of order, omits one, and knows an outcome we do not.
        let results = vec![
            CommandResult {
                id: id(3),
                outcome: Wire::Known(Outcome::Refused {
                    code: "role_not_allowed".into(),
                    message_zh: "您的角色不能审批".into(),
                    message_en: "role".into(),
                }),
            },
            CommandResult {
                id: id(1),
                outcome: Wire::Known(Outcome::Applied),
            },
            CommandResult {
                id: id(2),
                outcome: Wire::Known(Outcome::AlreadyApplied),
            },
            CommandResult {
                id: id(5),
                outcome: Wire::Unknown {
                    kind: "deferred".into(),
                    data: serde_json::Value::Null,
                },
            },
            CommandResult {
                id: id(99),
                outcome: Wire::Known(Outcome::Applied),
            },
        ];
        let actions = plan_push(&sent, &results);
        assert_eq!(actions.len(), 5);
        assert_eq!(actions[0], OutboxAction::Ack(id(1)));
        assert_eq!(actions[1], OutboxAction::Ack(id(2)));
        assert!(matches!(
            &actions[2],
            OutboxAction::Quarantine { id: i, code, message_zh, .. }
                if *i == id(3) && code == "role_not_allowed" && message_zh.contains("角色")
        ));
        assert!(matches!(&actions[3], OutboxAction::Keep { id: i, .. } if *i == id(4)));
        assert!(
            matches!(&actions[4], OutboxAction::Keep { id: i, error } if *i == id(5) && error.contains("升级"))
        );
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_full_jitter() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(2), Duration::from_secs(2));
        assert_eq!(b.ceiling(5), Duration::from_secs(16));
        assert_eq!(b.ceiling(9), Duration::from_secs(256));
        assert_eq!(b.ceiling(10), Duration::from_secs(300));
        assert_eq!(b.ceiling(64), Duration::from_secs(300));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(300));
        // Full jitter: anywhere from zero to the ceiling, both ends reachable.
        assert_eq!(b.delay(3, 0), Duration::ZERO);
        assert_eq!(b.delay(3, 4000), Duration::from_millis(4000));
        assert_eq!(b.delay(3, 4001), Duration::ZERO);
        for attempt in 0..100 {
            for random in [0, 1, 12_345, u64::MAX / 3, u64::MAX] {
                assert!(b.delay(attempt, random) <= b.ceiling(attempt));
                assert!(b.delay(attempt, random) <= b.cap);
            }
        }
        let huge = Backoff {
            base: Duration::from_secs(u64::MAX / 1000),
            cap: Duration::from_secs(u64::MAX / 1000),
        };
        assert!(huge.delay(70, u64::MAX) <= huge.cap);
    }

    #[test]
    fn http_errors_say_what_to_do() {
        let body =
            r#"{"code":"unauthenticated","message":"登录已失效，请重新登录","message_en":"x"}"#;
        let e = http_error(401, body.as_bytes());
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(e.to_string(), "登录已失效，请重新登录");
        let e = http_error(503, b"<html>bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::Network);
        assert!(e.is_retryable());
        assert!(e.to_string().contains("503"), "{e}");
        let e = http_error(
            413,
            r#"{"code":"too_large","message":"一次最多提交2000条记录","message_en":"y"}"#
                .as_bytes(),
        );
        assert_eq!(e.kind(), ErrorKind::Server);
        assert!(!e.is_retryable());
        assert_eq!(e.to_string(), "一次最多提交2000条记录");
    }

    #[test]
    fn chunks_cover_the_file_once() {
        let total = 600 * 1024;
        let chunk = 256 * 1024;
        let mut offset = 0;
        let mut ranges = Vec::new();
        while let Some((s, e)) = next_chunk(offset, total, chunk) {
            ranges.push(content_range(s, e, total));
            offset = e;
        }
        assert_eq!(
            ranges,
            [
                "bytes 0-262143/614400",
                "bytes 262144-524287/614400",
                "bytes 524288-614399/614400"
            ]
        );
        assert_eq!(next_chunk(total, total, chunk), None);
        // A resumed upload starts at the server's offset.
        assert_eq!(next_chunk(100, 150, chunk), Some((100, 150)));
    }

    #[test]
    fn blob_answers_decide_the_next_step() {
        assert_eq!(head_decision(200, None).ok(), Some(BlobState::Complete));
        assert_eq!(
            head_decision(404, Some(4096)).ok(),
            Some(BlobState::Partial { offset: 4096 })
        );
        assert_eq!(
            head_decision(404, None).ok(),
            Some(BlobState::Partial { offset: 0 })
        );
        assert!(head_decision(503, None).is_err_and(|e| e.is_retryable()));
        assert_eq!(
            put_decision(201, None, b"", 100, 100),
            PutDecision::Complete
        );
        assert_eq!(
            put_decision(200, Some(100), b"", 50, 100),
            PutDecision::Complete
        );
        assert_eq!(
            put_decision(202, Some(50), b"", 50, 100),
            PutDecision::Continue { offset: 50 }
        );
        assert_eq!(
            put_decision(204, None, b"", 50, 100),
            PutDecision::Continue { offset: 50 }
        );
        assert_eq!(
            put_decision(409, Some(20), b"", 50, 100),
            PutDecision::Resume { offset: 20 }
        );
        let body = r#"{"code":"too_large","message":"照片太大（超过10MB）","message_en":"z"}"#;
        assert_eq!(
            put_decision(413, None, body.as_bytes(), 50, 100),
            PutDecision::Rejected {
                message: "照片太大（超过10MB）".into()
            }
        );
        assert!(matches!(
            put_decision(422, None, b"", 100, 100),
            PutDecision::Rejected { .. }
        ));
        assert!(matches!(
            put_decision(415, None, b"", 100, 100),
            PutDecision::Rejected { .. }
        ));
        assert!(matches!(
            put_decision(500, None, b"", 100, 100),
            PutDecision::Retry { .. }
        ));
        assert!(matches!(
            put_decision(401, None, b"", 100, 100),
            PutDecision::Unauthenticated { revoked: false, .. }
        ));
        let revoked = br#"{"code":"device_revoked","message":"x","message_en":"y"}"#;
        assert!(matches!(
            put_decision(401, None, revoked, 100, 100),
            PutDecision::Unauthenticated { revoked: true, .. }
        ));
        assert!(matches!(http_error(401, revoked), Error::DeviceRevoked));
    }
}
