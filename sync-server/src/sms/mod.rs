//! Text messages: the outbox, the providers, and the sender that moves one to the other.
//!
//! A resident gets the receipt number by SMS; the village's and the township's grid workers
//! hear of a new declaration the moment it is made (申报即感知); the owner of a clock about to
//! run out is reminded, and the level above hears of an overdue case. Every such text is first
//! a row of `sms_outbox`, written in the same transaction as what caused it — a text is never
//! sent for something that was rolled back, and never forgotten for something that was kept.
//!
//! The sender ([`worker`]) claims due rows with a lease and hands each to a [`SmsProvider`]:
//! [`log::LogProvider`] (the default: one JSON line per text in a file the console shows) or
//! [`aliyun::AliyunSms`] (Aliyun's SendSms). An outage is retried with backoff. A send whose
//! answer was lost (a timeout after the request went out) is *not* simply sent again: the row
//! becomes `unknown` and the provider is asked first whether it has a text with our id
//! (`OutId`), so a resident never gets the same receipt twice.

pub mod aliyun;
pub mod log;
pub mod worker;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::store::rows::NewSms;

/// Why a provider did not send a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Not sent, and may be tried again (outage, throttling, connection refused).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The request may have reached the provider but no answer came back: ask before resending.
    #[error("no answer, the text may have been sent: {0}")]
    MaybeSent(String),
    /// Refused for good (bad number, template or signature): retrying will not help.
    #[error("refused: {0}")]
    Permanent(String),
}

/// Something that delivers texts.
#[async_trait::async_trait]
pub trait SmsProvider: Send + Sync + 'static {
    /// `log`, `aliyun`.
    fn name(&self) -> &'static str;

    /// Send one text; the provider's id of it on success.
    async fn send(&self, sms: &NewSms) -> Result<Option<String>, SmsError>;

    /// Whether the provider already has this text (by our `out_id`), after a send whose
    /// answer was lost: `Ok(true)` means it was sent and must not be sent again.
    async fn was_sent(&self, sms: &NewSms) -> Result<bool, SmsError>;
}

/// The texts the system sends. Each has a template at the provider (Aliyun's TemplateCode,
/// configured per key) and the same words here for the log provider and the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// To the resident: the receipt of a declaration.
    Receipt,
    /// To the village's and township's grid workers: a new declaration.
    NewDeclaration,
    /// To the owner of a clock with at most one working day left.
    DueSoon,
    /// To the owner of an overdue clock.
    Overdue,
    /// To the level above an overdue clock's owner.
    Escalated,
    /// To the level that decides an appeal.
    AppealFiled,
}

impl Template {
    pub const ALL: [Template; 6] = [
        Template::Receipt,
        Template::NewDeclaration,
        Template::DueSoon,
        Template::Overdue,
        Template::Escalated,
        Template::AppealFiled,
    ];

    /// The key in the outbox and the configuration.
    pub const fn key(self) -> &'static str {
        match self {
            Template::Receipt => "receipt",
            Template::NewDeclaration => "new_declaration",
            Template::DueSoon => "due_soon",
            Template::Overdue => "overdue",
            Template::Escalated => "escalated",
            Template::AppealFiled => "appeal_filed",
        }
    }

    /// The words, with `${name}` for each parameter (Aliyun's template syntax).
    pub const fn text_zh(self) -> &'static str {
        match self {
            Template::Receipt => {
                "您的困难申报已收到，回执号${receipt}。村网格员将在${days}个工作日内上门核实，请保持电话畅通。凭回执号和手机尾号可查询办理进度。"
            }
            Template::NewDeclaration => {
                "${village}${name}通过${source}申报困难（${risks}），回执号${receipt}，请于${due}前入户核查。"
            }
            Template::DueSoon => "${name}的“${step}”将于${due}到期，请及时办理。",
            Template::Overdue => {
                "${name}的“${step}”已逾期（应于${due}前办结），已报上级督办，请尽快办理。"
            }
            Template::Escalated => {
                "${village}${name}的“${step}”已逾期（应于${due}前办结），请督促办理。"
            }
            Template::AppealFiled => {
                "${village}${name}对不予纳入的决定提出申诉（回执号${receipt}），请提级办理。"
            }
        }
    }

    pub fn from_key(key: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.key() == key)
    }
}

/// Fill a template's words with its parameters.
pub fn render(template: Template, params: &[(&str, &str)]) -> String {
    let mut text = template.text_zh().to_owned();
    for (k, v) in params {
        text = text.replace(&format!("${{{k}}}"), v);
    }
    text
}

/// A text ready for the outbox. `out_id` must be unique per intended delivery and stable for
/// it (a retried transaction makes the same id), so it is built from what the text is about.
pub fn message(
    out_id: String,
    phone: &str,
    template: Template,
    params: &[(&str, &str)],
    case_id: Option<&str>,
    at: DateTime<Utc>,
) -> NewSms {
    let map: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    NewSms {
        out_id,
        phone: phone.to_owned(),
        template: template.key().to_owned(),
        params: serde_json::Value::Object(map),
        text_zh: render(template, params),
        case_id: case_id.map(str::to_owned),
        created_at: at,
    }
}

/// An `out_id` from what a text is about: at most 64 characters, `[0-9a-zA-Z_-]`, as Aliyun's
/// OutId allows (a SHA-256 prefix keeps it short and stable).
pub fn out_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    format!("yj{}", hex::encode(&digest[..15]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_ids_are_stable_and_short() {
        let text = render(
            Template::Receipt,
            &[("receipt", "621102-105-201-0007"), ("days", "5")],
        );
        assert!(text.contains("回执号621102-105-201-0007"), "{text}");
        assert!(!text.contains("${"), "{text}");
        let a = out_id(&["receipt", "case-1"]);
        assert_eq!(a, out_id(&["receipt", "case-1"]));
        assert_ne!(a, out_id(&["receipt", "case-2"]));
        assert!(a.len() <= 64 && a.bytes().all(|b| b.is_ascii_alphanumeric()));
        for t in Template::ALL {
            assert_eq!(Template::from_key(t.key()), Some(t));
        }
    }
}
