//! Answers to items, and what can be wrong with one.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::PhotoId;

use super::*;

/// One answer. JSON: `{"type":"money","value":{"fen":1500000}}`, `{"type":"bool","value":true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Bool(bool),
    Integer(i64),
    /// Money in fen (分): ¥15,000 is `Money { fen: 1_500_000 }`.
    Money {
        fen: i64,
    },
    Choice(String),
    Choices(Vec<String>),
    Text(String),
    Date(NaiveDate),
    Photos(Vec<PhotoId>),
}

impl Answer {
    /// An amount of whole yuan.
    pub const fn yuan(yuan: i64) -> Answer {
        Answer::Money {
            fen: yuan.saturating_mul(100),
        }
    }

    /// Whether this says anything: blank text, no ticked options and no photos do not.
    /// (An empty multi-choice is "not answered": a required one needs at least one tick.)
    pub fn is_answered(&self) -> bool {
        match self {
            Answer::Text(t) => !t.trim().is_empty(),
            Answer::Choices(v) => !v.is_empty(),
            Answer::Photos(p) => !p.is_empty(),
            _ => true,
        }
    }

    /// The photos this answer holds (none unless it is [`Answer::Photos`]).
    pub fn photos(&self) -> &[PhotoId] {
        match self {
            Answer::Photos(p) => p,
            _ => &[],
        }
    }

    pub(crate) fn number(&self) -> Option<i64> {
        match self {
            Answer::Integer(n) => Some(*n),
            Answer::Money { fen } => Some(*fen),
            _ => None,
        }
    }

    /// `None` when the literal and the answer are of different types.
    pub(crate) fn matches(&self, value: &Scalar) -> Option<bool> {
        match (value, self) {
            (Scalar::Bool(b), Answer::Bool(a)) => Some(a == b),
            (Scalar::Integer(_), Answer::Integer(_) | Answer::Money { .. }) => {
                self.number().map(|n| Scalar::Integer(n) == *value)
            }
            (Scalar::Text(s), Answer::Choice(c)) => Some(c == s),
            (Scalar::Text(s), Answer::Choices(cs)) => Some(cs.contains(s)),
            (Scalar::Text(s), Answer::Text(t)) => Some(t.trim() == s),
            _ => None,
        }
    }
}

/// What is wrong with an answer, for a UI to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AnswerProblemKind {
    /// The key is not an item of this template.
    UnknownItem,
    /// The answer is not of the item's kind (text for a yes/no item …).
    WrongType,
    /// A number or amount outside the item's bounds (or a negative amount).
    OutOfRange,
    /// A value that is not among the item's options.
    UnknownChoice,
    /// The same option ticked twice.
    DuplicateChoice,
    /// Text longer than the item allows.
    TooLong,
    /// A shown, required item is not answered.
    Missing,
    /// A shown item has fewer photos than it requires.
    MissingPhotos,
    /// The signed authorisation (承诺授权书 with thumbprint) is missing.
    MissingSignature,
}

/// One problem with one item's answer, with a message for the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, ts_rs::TS)]
#[error("{message_zh}")]
pub struct AnswerProblem {
    pub item: String,
    pub kind: AnswerProblemKind,
    pub message_zh: String,
}
