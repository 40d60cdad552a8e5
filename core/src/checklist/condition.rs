//! Conditions: the skip logic and the checks, in three-valued (Kleene) logic.

use serde::{Deserialize, Serialize};

use super::*;

/// A literal a condition compares an answer with. In JSON it is a bare `true`, `3` or `"a"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    /// Compared with an integer answer, or with a money answer in fen.
    Integer(i64),
    /// Compared with a choice value (or, for a multi-choice, "is among the ticked options"),
    /// or with a text answer.
    Text(String),
}

impl From<bool> for Scalar {
    fn from(b: bool) -> Scalar {
        Scalar::Bool(b)
    }
}

impl From<i64> for Scalar {
    fn from(n: i64) -> Scalar {
        Scalar::Integer(n)
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Scalar {
        Scalar::Text(s.to_owned())
    }
}

/// Skip logic and check rules, as data. Evaluated in three-valued logic (see the module docs):
/// [`Condition::eval`] returns `None` for "unknown".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Condition {
    /// The answer equals `value`; for a multi-choice, `value` is among the ticked options.
    Equals {
        item: String,
        value: Scalar,
    },
    /// The answer equals one of `values` (for a multi-choice: any of them is ticked).
    AnyOf {
        item: String,
        values: Vec<Scalar>,
    },
    /// An integer answer (or a money answer in fen) is at least `value`.
    AtLeast {
        item: String,
        value: i64,
    },
    /// An integer answer (or a money answer in fen) is at most `value`.
    AtMost {
        item: String,
        value: i64,
    },
    /// The item is shown and answered (never unknown).
    Answered {
        item: String,
    },
    Not {
        condition: Box<Condition>,
    },
    /// Every part holds (true when empty).
    All {
        conditions: Vec<Condition>,
    },
    /// At least one part holds (false when empty).
    Any {
        conditions: Vec<Condition>,
    },
}

impl Condition {
    pub fn equals(item: &str, value: impl Into<Scalar>) -> Condition {
        Condition::Equals {
            item: item.to_owned(),
            value: value.into(),
        }
    }

    /// The yes/no item is answered 是.
    pub fn yes(item: &str) -> Condition {
        Condition::equals(item, true)
    }

    /// The yes/no item is answered 否.
    pub fn no(item: &str) -> Condition {
        Condition::equals(item, false)
    }

    pub fn any_of(item: &str, values: &[&str]) -> Condition {
        Condition::AnyOf {
            item: item.to_owned(),
            values: values.iter().map(|v| Scalar::from(*v)).collect(),
        }
    }

    pub fn at_least(item: &str, value: i64) -> Condition {
        Condition::AtLeast {
            item: item.to_owned(),
            value,
        }
    }

    pub fn at_most(item: &str, value: i64) -> Condition {
        Condition::AtMost {
            item: item.to_owned(),
            value,
        }
    }

    pub fn answered(item: &str) -> Condition {
        Condition::Answered {
            item: item.to_owned(),
        }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Condition {
        Condition::Not {
            condition: Box::new(condition),
        }
    }

    pub fn all(conditions: Vec<Condition>) -> Condition {
        Condition::All { conditions }
    }

    pub fn any(conditions: Vec<Condition>) -> Condition {
        Condition::Any { conditions }
    }

    /// Evaluate against raw answers, every item taken as shown: `Some(true)`, `Some(false)`,
    /// or `None` when it depends on an unanswered (or wrongly typed) item. [`evaluate`] uses
    /// the same rules but sees only shown, valid answers.
    pub fn eval(&self, answers: &Answers) -> Option<bool> {
        self.eval_with(&|key| answers.get(key).filter(|a| a.is_answered()))
    }

    pub(crate) fn eval_with<'a>(&self, get: &dyn Fn(&str) -> Option<&'a Answer>) -> Option<bool> {
        match self {
            Condition::Equals { item, value } => get(item).and_then(|a| a.matches(value)),
            Condition::AnyOf { item, values } => {
                let answer = get(item)?;
                kleene_any(values.iter().map(|v| answer.matches(v)))
            }
            Condition::AtLeast { item, value } => get(item)?.number().map(|n| n >= *value),
            Condition::AtMost { item, value } => get(item)?.number().map(|n| n <= *value),
            Condition::Answered { item } => Some(get(item).is_some()),
            Condition::Not { condition } => condition.eval_with(get).map(|b| !b),
            Condition::All { conditions } => {
                kleene_any(conditions.iter().map(|c| c.eval_with(get).map(|b| !b))).map(|b| !b)
            }
            Condition::Any { conditions } => {
                kleene_any(conditions.iter().map(|c| c.eval_with(get)))
            }
        }
    }

    /// Every item key this condition reads.
    pub fn referenced_items(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_items(&mut out);
        out
    }

    fn collect_items<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Condition::Equals { item, .. }
            | Condition::AnyOf { item, .. }
            | Condition::AtLeast { item, .. }
            | Condition::AtMost { item, .. }
            | Condition::Answered { item } => out.push(item),
            Condition::Not { condition } => condition.collect_items(out),
            Condition::All { conditions } | Condition::Any { conditions } => {
                for c in conditions {
                    c.collect_items(out);
                }
            }
        }
    }
}

/// Kleene disjunction: true if any is true, false if all are false, otherwise unknown.
fn kleene_any(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for v in values {
        match v {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown { None } else { Some(false) }
}
