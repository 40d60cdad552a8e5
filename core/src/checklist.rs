//! The home-verification checklist (入户核查表) as data.
//!
//! A province changes its form by publishing a new [`ChecklistTemplate`] version, which the
//! server sends to phones as JSON; no app release is needed. A template is a list of
//! [`Section`]s of [`Item`]s, each with a kind ([`ItemKind`]), whether it is required, which
//! photos it needs ([`PhotoRequirement`]) and when it is shown at all ([`Condition`], the skip
//! logic). The template also carries a small declarative table, [`Derivation`], that says which
//! items are the household size, which are income, costs and rigid spending, and which checks
//! decide 两不愁、三保障 and 饮水安全; [`evaluate`] reads only that table, so a new version of
//! the form reuses the derivation by naming its own items.
//!
//! Answers are a map from item key to [`Answer`]. Photos may also be attached to any item
//! ([`ItemPhotos`]), e.g. the photo of the house under 住房安全等级. Photo-only items
//! ([`ItemKind::Photo`]) and the signed authorisation ([`ItemKind::Signature`]) keep their
//! photos in their answer.
//!
//! Three functions read answers against a template, all pure and cheap enough to run on every
//! keystroke: [`evaluate`] (derived results), [`validate_answers`] (typing errors) and
//! [`check_complete`] (may the visit be finalised).
//!
//! # Skip logic and unknowns
//! Conditions are evaluated in three-valued logic: a condition about an item that is hidden,
//! unanswered or answered with the wrong type is *unknown*, and `not`/`all`/`any` follow Kleene's
//! rules (`any` is true as soon as one part is true, even if others are unknown). An item is
//! shown only when its condition is *true*, so "reason out of school" stays hidden until "a
//! child is out of school" is answered yes. A condition may refer only to items that come
//! before it in the template ([`ChecklistTemplate::validate`] enforces this), so visibility is
//! one pass in template order, and an answer to a hidden item never shows or hides anything.
//! Answers to hidden items are kept while editing but ignored by every derivation and check.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::case::{MonitoringCategory, RiskType};
use crate::ids::{PhotoId, TemplateId};

/// The monitoring line (监测线) when a province has not set its own: annual net income per
/// person, in yuan.
pub const DEFAULT_MONITORING_LINE_YUAN: i64 = 6000;

/// The code of the built-in Gansu template.
pub const DEFAULT_TEMPLATE_CODE: &str = "gansu-home-verification";

/// The largest amount of money one answer may hold: ¥1,000,000,000 (10亿元), in fen. Larger
/// figures are typing errors, and the bound keeps every sum far from `i64` overflow.
pub const MAX_MONEY_FEN: i64 = 100_000_000_000;

/// Answers to a checklist, by item key.
pub type Answers = BTreeMap<String, Answer>;

/// Photos attached to items that are not themselves photo items, by item key.
pub type ItemPhotos = BTreeMap<String, Vec<PhotoId>>;

// ---------------------------------------------------------------------------------------------
// Template
// ---------------------------------------------------------------------------------------------

/// One version of a checklist form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistTemplate {
    pub id: TemplateId,
    /// Stable name of the form across versions, e.g. `gansu-home-verification`.
    pub code: String,
    /// 1, 2, …: a visit records the version it was filled against.
    pub version: u32,
    pub title_zh: String,
    /// Annual net income per person below which a household is at risk, in yuan.
    #[serde(default = "default_monitoring_line")]
    pub monitoring_line_yuan: i64,
    pub sections: Vec<Section>,
    /// Which items feed which derived result.
    #[serde(default)]
    pub derivation: Derivation,
}

fn default_monitoring_line() -> i64 {
    DEFAULT_MONITORING_LINE_YUAN
}

/// A titled group of items (one screen or card on the phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub key: String,
    pub title_zh: String,
    pub items: Vec<Item>,
}

/// One question of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique across the template; answers and conditions refer to it.
    pub key: String,
    pub label_zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_zh: Option<String>,
    pub kind: ItemKind,
    /// Must be answered (when shown) before the visit can be finalised. A shown
    /// [`ItemKind::Signature`] item is always required, whatever this says.
    #[serde(default)]
    pub required: bool,
    /// Shown only when this holds; `None`: always shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
    #[serde(default)]
    pub photo: PhotoRequirement,
}

/// What kind of answer an item takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    /// 是/否 → [`Answer::Bool`].
    YesNo,
    /// A whole number within the bounds → [`Answer::Integer`].
    Integer {
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
        /// Unit shown after the number, e.g. 人, 升, 分钟.
        #[serde(default)]
        unit_zh: String,
    },
    /// An amount in yuan, entered to the fen → [`Answer::Money`]; never negative.
    Money,
    /// One of the options → [`Answer::Choice`].
    Choice { options: Vec<ChoiceOption> },
    /// Any number of the options → [`Answer::Choices`].
    MultiChoice { options: Vec<ChoiceOption> },
    /// Free text of at most `max_chars` characters → [`Answer::Text`].
    Text { max_chars: u32 },
    /// A calendar date → [`Answer::Date`].
    Date,
    /// An item that is only photos → [`Answer::Photos`].
    Photo,
    /// Photo of the signed authorisation (承诺授权书) with the thumbprint (手印) →
    /// [`Answer::Photos`].
    Signature,
}

impl ItemKind {
    /// What the answer should be, in words (for error messages).
    pub const fn name_zh(&self) -> &'static str {
        match self {
            ItemKind::YesNo => "“是”或“否”",
            ItemKind::Integer { .. } => "整数",
            ItemKind::Money => "金额",
            ItemKind::Choice { .. } => "单选",
            ItemKind::MultiChoice { .. } => "多选",
            ItemKind::Text { .. } => "文字",
            ItemKind::Date => "日期",
            ItemKind::Photo => "照片",
            ItemKind::Signature => "签字按手印的照片",
        }
    }

    /// Whether answers of this kind are photos.
    pub const fn is_photo(&self) -> bool {
        matches!(self, ItemKind::Photo | ItemKind::Signature)
    }

    fn options(&self) -> Option<&[ChoiceOption]> {
        match self {
            ItemKind::Choice { options } | ItemKind::MultiChoice { options } => Some(options),
            _ => None,
        }
    }
}

/// One option of a (multi-)choice item: the stable value stored in answers, and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub value: String,
    pub label_zh: String,
}

impl ChoiceOption {
    pub fn new(value: &str, label_zh: &str) -> ChoiceOption {
        ChoiceOption {
            value: value.to_owned(),
            label_zh: label_zh.to_owned(),
        }
    }
}

/// How many photos an item needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PhotoRequirement {
    /// No photos for this item.
    #[default]
    None,
    /// Photos may be attached.
    Optional,
    /// At least `min` photos before the visit can be finalised (when the item is shown).
    Required { min: u32 },
}

impl PhotoRequirement {
    pub const fn allows_photos(self) -> bool {
        !matches!(self, PhotoRequirement::None)
    }

    pub const fn min(self) -> u32 {
        match self {
            PhotoRequirement::Required { min } => min,
            _ => 0,
        }
    }
}

impl Item {
    /// A required item with no help text, no condition and no photos.
    pub fn new(key: &str, label_zh: &str, kind: ItemKind) -> Item {
        Item {
            key: key.to_owned(),
            label_zh: label_zh.to_owned(),
            help_zh: None,
            kind,
            required: true,
            show_if: None,
            photo: PhotoRequirement::None,
        }
    }

    pub fn optional(mut self) -> Item {
        self.required = false;
        self
    }

    pub fn help(mut self, help_zh: &str) -> Item {
        self.help_zh = Some(help_zh.to_owned());
        self
    }

    pub fn shown_if(mut self, condition: Condition) -> Item {
        self.show_if = Some(condition);
        self
    }

    pub fn photos(mut self, photo: PhotoRequirement) -> Item {
        self.photo = photo;
        self
    }

    /// Whether this item must be answered when it is shown.
    pub fn is_required(&self) -> bool {
        self.required || self.kind == ItemKind::Signature
    }

    /// Whether photos may be attached to this item (or are its answer).
    pub fn takes_photos(&self) -> bool {
        self.kind.is_photo() || self.photo.allows_photos()
    }

    /// Check one answer against this item's kind: type, range, options, length.
    pub fn check_answer(&self, answer: &Answer) -> Result<(), AnswerProblem> {
        let label = &self.label_zh;
        let problem = |kind: AnswerProblemKind, message_zh: String| AnswerProblem {
            item: self.key.clone(),
            kind,
            message_zh,
        };
        match (&self.kind, answer) {
            (ItemKind::YesNo, Answer::Bool(_))
            | (ItemKind::Date, Answer::Date(_))
            | (ItemKind::Photo | ItemKind::Signature, Answer::Photos(_)) => Ok(()),
            (ItemKind::Integer { min, max, unit_zh }, Answer::Integer(n)) => {
                let too_small = min.is_some_and(|m| *n < m);
                let too_big = max.is_some_and(|m| *n > m);
                if !too_small && !too_big {
                    return Ok(());
                }
                let message = match (min, max) {
                    (Some(lo), Some(hi)) => format!("“{label}”应在{lo}到{hi}{unit_zh}之间"),
                    (Some(lo), None) => format!("“{label}”不能小于{lo}{unit_zh}"),
                    (None, Some(hi)) => format!("“{label}”不能大于{hi}{unit_zh}"),
                    (None, None) => format!("“{label}”超出范围"),
                };
                Err(problem(AnswerProblemKind::OutOfRange, message))
            }
            (ItemKind::Money, Answer::Money { fen }) => {
                if *fen < 0 {
                    Err(problem(
                        AnswerProblemKind::OutOfRange,
                        format!("“{label}”金额不能为负数"),
                    ))
                } else if *fen > MAX_MONEY_FEN {
                    Err(problem(
                        AnswerProblemKind::OutOfRange,
                        format!("“{label}”金额过大，请核对"),
                    ))
                } else {
                    Ok(())
                }
            }
            (ItemKind::Choice { options }, Answer::Choice(value)) => {
                if options.iter().any(|o| &o.value == value) {
                    Ok(())
                } else {
                    Err(problem(
                        AnswerProblemKind::UnknownChoice,
                        format!("“{label}”没有“{value}”这个选项"),
                    ))
                }
            }
            (ItemKind::MultiChoice { options }, Answer::Choices(values)) => {
                let mut seen = BTreeSet::new();
                for value in values {
                    if !options.iter().any(|o| &o.value == value) {
                        return Err(problem(
                            AnswerProblemKind::UnknownChoice,
                            format!("“{label}”没有“{value}”这个选项"),
                        ));
                    }
                    if !seen.insert(value) {
                        return Err(problem(
                            AnswerProblemKind::DuplicateChoice,
                            format!("“{label}”的选项“{value}”选了两次"),
                        ));
                    }
                }
                Ok(())
            }
            (ItemKind::Text { max_chars }, Answer::Text(text)) => {
                let chars = text.chars().count();
                if chars > *max_chars as usize {
                    Err(problem(
                        AnswerProblemKind::TooLong,
                        format!("“{label}”最多{max_chars}个字，现在有{chars}个字"),
                    ))
                } else {
                    Ok(())
                }
            }
            (kind, _) => Err(problem(
                AnswerProblemKind::WrongType,
                format!("“{label}”的答案应为{}", kind.name_zh()),
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions (skip logic and checks)
// ---------------------------------------------------------------------------------------------

/// A literal a condition compares an answer with. In JSON it is a bare `true`, `3` or `"a"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    fn eval_with<'a>(&self, get: &dyn Fn(&str) -> Option<&'a Answer>) -> Option<bool> {
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

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// One answer. JSON: `{"type":"money","value":{"fen":1500000}}`, `{"type":"bool","value":true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    fn number(&self) -> Option<i64> {
        match self {
            Answer::Integer(n) => Some(*n),
            Answer::Money { fen } => Some(*fen),
            _ => None,
        }
    }

    /// `None` when the literal and the answer are of different types.
    fn matches(&self, value: &Scalar) -> Option<bool> {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message_zh}")]
pub struct AnswerProblem {
    pub item: String,
    pub kind: AnswerProblemKind,
    pub message_zh: String,
}

// ---------------------------------------------------------------------------------------------
// Derivation table
// ---------------------------------------------------------------------------------------------

/// Which items feed which derived result. A new template version keeps the derivation by
/// naming its own item keys here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Derivation {
    /// Integer item: people living together (共同生活人口), the divisor of per-person income.
    pub household_size: Option<String>,
    /// Money items added up as the household's annual income.
    pub income: Vec<String>,
    /// Money items subtracted from income to get net income (生产经营支出).
    pub deductions: Vec<String>,
    /// Money items of rigid spending after reimbursement (医疗自付、教育支出). Reported beside
    /// net income; they do not change the comparison with the monitoring line.
    pub rigid_spending: Vec<String>,
    /// Multi-choice item whose option values are [`RiskType`] names (`illness`, …).
    pub risk_types: Option<String>,
    /// Choice item whose option values are [`MonitoringCategory`] names.
    pub category: Option<String>,
    /// Choice item whose option values include both [`Conclusion`] names.
    pub conclusion: Option<String>,
    /// Rules deciding 两不愁、三保障、饮水安全 and other risks.
    pub checks: Vec<Check>,
}

/// One rule: it passes when `pass_if` is true, fails when false, and is unknown while the
/// items it reads are unanswered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub key: String,
    pub aspect: Aspect,
    pub label_zh: String,
    pub pass_if: Condition,
    /// The problem in words, listed when the check fails.
    pub problem_zh: String,
}

/// What a check is about. An aspect passes when all its checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// 两不愁: 吃不愁.
    Food,
    /// 两不愁: 穿不愁 (four-season clothing and bedding).
    Clothing,
    /// 三保障: 义务教育有保障.
    CompulsoryEducation,
    /// 三保障: 基本医疗有保障.
    BasicMedical,
    /// 三保障: 住房安全有保障.
    SafeHousing,
    /// 饮水安全: 水量.
    WaterQuantity,
    /// 饮水安全: 水质.
    WaterQuality,
    /// 饮水安全: 用水方便程度.
    WaterConvenience,
    /// 饮水安全: 供水保证率.
    WaterReliability,
    /// Any other risk worth a line in the problem list.
    Other,
}

impl Aspect {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Aspect::Food => "吃不愁",
            Aspect::Clothing => "穿不愁",
            Aspect::CompulsoryEducation => "义务教育有保障",
            Aspect::BasicMedical => "基本医疗有保障",
            Aspect::SafeHousing => "住房安全有保障",
            Aspect::WaterQuantity => "饮水水量",
            Aspect::WaterQuality => "饮水水质",
            Aspect::WaterConvenience => "取水方便程度",
            Aspect::WaterReliability => "供水保证率",
            Aspect::Other => "其他风险",
        }
    }

    /// The four tests of 饮水安全; failing any one makes the water unsafe.
    pub const WATER_TESTS: [Aspect; 4] = [
        Aspect::WaterQuantity,
        Aspect::WaterQuality,
        Aspect::WaterConvenience,
        Aspect::WaterReliability,
    ];
}

/// The verification's conclusion. The conclusion item's option values are these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// 符合监测对象识别条件.
    Qualifies,
    /// 不符合 (the reason must be given, and told to the applicant).
    DoesNotQualify,
}

impl Conclusion {
    /// The option value in the template and in answers.
    pub const fn value(self) -> &'static str {
        match self {
            Conclusion::Qualifies => "qualifies",
            Conclusion::DoesNotQualify => "does_not_qualify",
        }
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Conclusion::Qualifies => "符合监测对象识别条件",
            Conclusion::DoesNotQualify => "不符合监测对象识别条件",
        }
    }
}

/// The option value of a [`RiskType`] in checklist answers (its snake_case name).
pub fn risk_type_value(risk: RiskType) -> String {
    snake_name(&risk)
}

/// The option value of a [`MonitoringCategory`] in checklist answers.
pub fn category_value(category: MonitoringCategory) -> String {
    snake_name(&category)
}

fn snake_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn from_snake_name<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

// ---------------------------------------------------------------------------------------------
// Template validation
// ---------------------------------------------------------------------------------------------

/// Why a template may not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("模板编码不能为空")]
    EmptyCode,
    #[error("模板版本号应从1开始")]
    ZeroVersion,
    #[error("监测线应大于0元，现为{0}元")]
    BadMonitoringLine(i64),
    #[error("分组编号“{0}”重复")]
    DuplicateSection(String),
    #[error("题目“{0}”的编号为空")]
    EmptyItemKey(String),
    #[error("题目编号“{0}”重复")]
    DuplicateItem(String),
    #[error("题目“{item}”的设置有误：{detail}")]
    BadItem { item: String, detail: String },
    #[error("{from}引用了不存在的题目“{refers_to}”")]
    UnknownReference { from: String, refers_to: String },
    #[error("题目“{item}”的显示条件引用了排在它后面（或它自己）的题目“{refers_to}”")]
    ForwardReference { item: String, refers_to: String },
    #[error("计算规则“{role}”引用的题目“{item}”应为{expected}")]
    WrongKind {
        role: &'static str,
        item: String,
        expected: &'static str,
    },
    #[error("检查项编号“{0}”重复")]
    DuplicateCheck(String),
}

impl ChecklistTemplate {
    /// Every item, in order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items().find(|i| i.key == key)
    }

    /// Check that the template is consistent before it is published: unique keys, options
    /// and bounds that make sense, conditions that refer to earlier items, and a derivation
    /// table that names items of the right kinds.
    pub fn validate(&self) -> Result<(), Vec<TemplateProblem>> {
        let mut problems = Vec::new();
        if self.code.trim().is_empty() {
            problems.push(TemplateProblem::EmptyCode);
        }
        if self.version == 0 {
            problems.push(TemplateProblem::ZeroVersion);
        }
        if self.monitoring_line_yuan <= 0 {
            problems.push(TemplateProblem::BadMonitoringLine(
                self.monitoring_line_yuan,
            ));
        }
        let mut sections = BTreeSet::new();
        for s in &self.sections {
            if !sections.insert(s.key.as_str()) {
                problems.push(TemplateProblem::DuplicateSection(s.key.clone()));
            }
        }
        let all: BTreeSet<&str> = self.items().map(|i| i.key.as_str()).collect();
        let mut earlier: BTreeSet<&str> = BTreeSet::new();
        for item in self.items() {
            if item.key.trim().is_empty() {
                problems.push(TemplateProblem::EmptyItemKey(item.label_zh.clone()));
            }
            if let Some(detail) = item_setup_problem(item) {
                problems.push(TemplateProblem::BadItem {
                    item: item.key.clone(),
                    detail,
                });
            }
            for r in item.show_if.iter().flat_map(Condition::referenced_items) {
                if !all.contains(r) {
                    problems.push(TemplateProblem::UnknownReference {
                        from: format!("题目“{}”的显示条件", item.key),
                        refers_to: r.to_owned(),
                    });
                } else if !earlier.contains(r) {
                    problems.push(TemplateProblem::ForwardReference {
                        item: item.key.clone(),
                        refers_to: r.to_owned(),
                    });
                }
            }
            if !earlier.insert(item.key.as_str()) {
                problems.push(TemplateProblem::DuplicateItem(item.key.clone()));
            }
        }
        self.validate_derivation(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn validate_derivation(&self, problems: &mut Vec<TemplateProblem>) {
        let d = &self.derivation;
        let mut expect =
            |role: &'static str, key: &str, expected: &'static str, ok: &dyn Fn(&Item) -> bool| {
                match self.item(key) {
                    None => problems.push(TemplateProblem::UnknownReference {
                        from: format!("计算规则“{role}”"),
                        refers_to: key.to_owned(),
                    }),
                    Some(item) if !ok(item) => problems.push(TemplateProblem::WrongKind {
                        role,
                        item: key.to_owned(),
                        expected,
                    }),
                    Some(_) => {}
                }
            };
        let is_money = |i: &Item| i.kind == ItemKind::Money;
        if let Some(k) = &d.household_size {
            expect("家庭人口", k, "整数题", &|i| {
                matches!(i.kind, ItemKind::Integer { .. })
            });
        }
        for k in &d.income {
            expect("收入", k, "金额题", &is_money);
        }
        for k in &d.deductions {
            expect("扣除支出", k, "金额题", &is_money);
        }
        for k in &d.rigid_spending {
            expect("刚性支出", k, "金额题", &is_money);
        }
        if let Some(k) = &d.risk_types {
            let ok = |i: &Item| {
                matches!(i.kind, ItemKind::MultiChoice { .. }) && options_name::<RiskType>(i)
            };
            expect("风险类型", k, "选项均为风险类型的多选题", &ok);
        }
        if let Some(k) = &d.category {
            let ok = |i: &Item| {
                matches!(i.kind, ItemKind::Choice { .. }) && options_name::<MonitoringCategory>(i)
            };
            expect("监测对象类型", k, "选项均为监测对象类型的单选题", &ok);
        }
        if let Some(k) = &d.conclusion {
            let ok = |i: &Item| match &i.kind {
                ItemKind::Choice { options } => [Conclusion::Qualifies, Conclusion::DoesNotQualify]
                    .iter()
                    .all(|c| options.iter().any(|o| o.value == c.value())),
                _ => false,
            };
            expect(
                "核查结论",
                k,
                "含“qualifies”和“does_not_qualify”选项的单选题",
                &ok,
            );
        }
        let mut checks = BTreeSet::new();
        for c in &d.checks {
            if !checks.insert(c.key.as_str()) {
                problems.push(TemplateProblem::DuplicateCheck(c.key.clone()));
            }
            for r in c.pass_if.referenced_items() {
                if self.item(r).is_none() {
                    problems.push(TemplateProblem::UnknownReference {
                        from: format!("检查项“{}”", c.key),
                        refers_to: r.to_owned(),
                    });
                }
            }
        }
    }
}

/// Whether every option value of the item is the snake_case name of a `T`.
fn options_name<T: DeserializeOwned>(item: &Item) -> bool {
    item.kind.options().is_some_and(|opts| {
        opts.iter()
            .all(|o| from_snake_name::<T>(&o.value).is_some())
    })
}

fn item_setup_problem(item: &Item) -> Option<String> {
    match &item.kind {
        ItemKind::Integer {
            min: Some(lo),
            max: Some(hi),
            ..
        } if lo > hi => return Some(format!("最小值{lo}大于最大值{hi}")),
        ItemKind::Text { max_chars: 0 } => return Some("字数上限不能为0".to_owned()),
        _ => {}
    }
    if let Some(options) = item.kind.options() {
        if options.is_empty() {
            return Some("没有选项".to_owned());
        }
        let mut seen = BTreeSet::new();
        for o in options {
            if o.value.trim().is_empty() {
                return Some("有选项的值为空".to_owned());
            }
            if !seen.insert(o.value.as_str()) {
                return Some(format!("选项值“{}”重复", o.value));
            }
        }
    }
    if item.photo == (PhotoRequirement::Required { min: 0 }) {
        return Some("必拍照片的张数不能为0".to_owned());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Visibility and effective answers
// ---------------------------------------------------------------------------------------------

/// The answers that count: of shown items, well-typed and not blank.
struct Effective<'a> {
    visible: Vec<&'a Item>,
    answers: BTreeMap<&'a str, &'a Answer>,
}

impl<'a> Effective<'a> {
    fn new(template: &'a ChecklistTemplate, answers: &'a Answers) -> Effective<'a> {
        let mut eff = Effective {
            visible: Vec::new(),
            answers: BTreeMap::new(),
        };
        for item in template.items() {
            let shown = match &item.show_if {
                None => true,
                Some(c) => c.eval_with(&|k| eff.answers.get(k).copied()) == Some(true),
            };
            if !shown {
                continue;
            }
            eff.visible.push(item);
            let valid = answers
                .get(&item.key)
                .filter(|a| a.is_answered() && item.check_answer(a).is_ok());
            if let Some(a) = valid {
                eff.answers.insert(item.key.as_str(), a);
            }
        }
        eff
    }

    fn get(&self, key: &str) -> Option<&'a Answer> {
        self.answers.get(key).copied()
    }

    fn eval(&self, condition: &Condition) -> Option<bool> {
        condition.eval_with(&|k| self.get(k))
    }

    fn is_visible(&self, key: &str) -> bool {
        self.visible.iter().any(|i| i.key == key)
    }

    /// Sum of money items in fen, and how many of them are unanswered (hidden items count as
    /// answered with zero: the form decided they do not apply).
    fn sum_money(&self, keys: &[String]) -> (i64, usize) {
        let mut total: i64 = 0;
        let mut missing = 0;
        for k in keys {
            match self.get(k) {
                Some(Answer::Money { fen }) => total = total.saturating_add(*fen),
                _ if self.is_visible(k) => missing += 1,
                _ => {}
            }
        }
        (total, missing)
    }
}

/// Keys of the items shown under these answers, in template order.
pub fn visible_items(template: &ChecklistTemplate, answers: &Answers) -> Vec<String> {
    Effective::new(template, answers)
        .visible
        .iter()
        .map(|i| i.key.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// A three-valued outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not answered enough to say (or the template has no check for it).
    Unknown,
}

impl Verdict {
    fn from_truth(t: Option<bool>) -> Verdict {
        match t {
            Some(true) => Verdict::Pass,
            Some(false) => Verdict::Fail,
            None => Verdict::Unknown,
        }
    }

    /// Fail if any fails; pass if there is at least one and all pass; otherwise unknown.
    fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut any = false;
        let mut unknown = false;
        for v in verdicts {
            any = true;
            match v {
                Verdict::Fail => return Verdict::Fail,
                Verdict::Unknown => unknown = true,
                Verdict::Pass => {}
            }
        }
        if unknown || !any {
            Verdict::Unknown
        } else {
            Verdict::Pass
        }
    }
}

/// 饮水安全.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaterSafety {
    /// All four tests pass.
    Safe,
    /// At least one of the four tests fails.
    Unsafe,
    /// None fails, but at least one is not answered yet.
    Unknown,
}

/// Where per-person income stands against the monitoring line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Strictly below the line: an income risk.
    Below,
    /// At or above the line.
    AtOrAbove,
}

/// Annual income of the household, per person, against the monitoring line.
///
/// Per-person figures use integer division rounding down (toward minus infinity):
/// `per_person_fen = net_income_fen.div_euclid(household_size)` and `per_person_yuan =
/// per_person_fen.div_euclid(100)`. Because the line is a whole number of yuan, "below the
/// line" computed from the rounded yuan is exactly "net income < line × household size":
/// rounding never lifts a household over the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeSummary {
    pub household_size: u32,
    /// Sum of the income items.
    pub gross_income_fen: i64,
    /// Sum of the deduction items (生产经营支出).
    pub deductions_fen: i64,
    /// Gross income minus deductions; negative after a loss.
    pub net_income_fen: i64,
    pub per_person_fen: i64,
    pub per_person_yuan: i64,
    pub monitoring_line_yuan: i64,
    pub line_status: LineStatus,
    /// Line minus per-person income, in yuan: positive when below the line, otherwise zero or
    /// negative (how far above).
    pub gap_yuan: i64,
    /// Sum of rigid spending after reimbursement (医疗自付、教育支出).
    pub rigid_spending_fen: i64,
    /// Net income minus rigid spending, per person, rounded down like `per_person_yuan`.
    pub per_person_after_rigid_yuan: i64,
    /// False while an income, deduction or rigid-spending item is still unanswered: the
    /// figures are then a running total (unanswered amounts count as zero).
    pub complete: bool,
}

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub key: String,
    pub aspect: Aspect,
    pub verdict: Verdict,
}

/// Everything derived from the answers, recomputed whenever an answer changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// People living together; `None` until answered (or if not positive).
    pub household_size: Option<u32>,
    /// `None` until the household size is known.
    pub income: Option<IncomeSummary>,
    pub food: Verdict,
    pub clothing: Verdict,
    /// 两不愁: food and clothing.
    pub two_no_worries: Verdict,
    pub compulsory_education: Verdict,
    pub basic_medical: Verdict,
    pub safe_housing: Verdict,
    /// One verdict per water test, in the order of [`Aspect::WATER_TESTS`].
    pub water_tests: [Verdict; 4],
    pub water: WaterSafety,
    /// Every check of the template, in order.
    pub checks: Vec<CheckOutcome>,
    /// Risks found, in words, in the order: income, then failed checks.
    pub problems: Vec<String>,
    pub risk_types: Vec<RiskType>,
    pub category: Option<MonitoringCategory>,
    pub conclusion: Option<Conclusion>,
    /// Keys of the items currently shown, in template order.
    pub visible: Vec<String>,
    /// Keys of shown required items not yet (validly) answered, in template order.
    pub unanswered_required: Vec<String>,
}

impl Evaluation {
    /// The combined verdict of one aspect's checks.
    pub fn aspect(&self, aspect: Aspect) -> Verdict {
        Verdict::all(
            self.checks
                .iter()
                .filter(|c| c.aspect == aspect)
                .map(|c| c.verdict),
        )
    }

    /// 三保障: education, medical care and housing all guaranteed.
    pub fn three_guarantees(&self) -> Verdict {
        Verdict::all([
            self.compulsory_education,
            self.basic_medical,
            self.safe_housing,
        ])
    }
}

/// Derive the results of a checklist from its answers: household size, income against the
/// monitoring line, 两不愁, 三保障, 饮水安全, the risks found in words, and which items are
/// shown and still missing. Answers to hidden items and answers that fail
/// [`validate_answers`] are ignored.
pub fn evaluate(template: &ChecklistTemplate, answers: &Answers) -> Evaluation {
    let eff = Effective::new(template, answers);
    let d = &template.derivation;

    let household_size = d
        .household_size
        .as_deref()
        .and_then(|k| match eff.get(k) {
            Some(Answer::Integer(n)) => u32::try_from(*n).ok(),
            _ => None,
        })
        .filter(|n| *n > 0);

    let income = household_size.map(|size| income_summary(template, &eff, size));

    let checks: Vec<CheckOutcome> = d
        .checks
        .iter()
        .map(|c| CheckOutcome {
            key: c.key.clone(),
            aspect: c.aspect,
            verdict: Verdict::from_truth(eff.eval(&c.pass_if)),
        })
        .collect();
    let aspect =
        |a: Aspect| Verdict::all(checks.iter().filter(|c| c.aspect == a).map(|c| c.verdict));
    let food = aspect(Aspect::Food);
    let clothing = aspect(Aspect::Clothing);
    let water_tests = Aspect::WATER_TESTS.map(aspect);
    let water = match Verdict::all(water_tests) {
        Verdict::Pass => WaterSafety::Safe,
        Verdict::Fail => WaterSafety::Unsafe,
        Verdict::Unknown => WaterSafety::Unknown,
    };

    let mut problems = Vec::new();
    if let Some(inc) = income.as_ref().filter(|i| i.complete) {
        if inc.line_status == LineStatus::Below {
            problems.push(format!(
                "家庭年人均纯收入{}元，低于监测线{}元（差{}元）",
                inc.per_person_yuan, inc.monitoring_line_yuan, inc.gap_yuan
            ));
        } else if inc.per_person_after_rigid_yuan < inc.monitoring_line_yuan {
            problems.push(format!(
                "扣除刚性支出后家庭年人均收入{}元，低于监测线{}元",
                inc.per_person_after_rigid_yuan, inc.monitoring_line_yuan
            ));
        }
    }
    for (check, outcome) in d.checks.iter().zip(&checks) {
        if outcome.verdict == Verdict::Fail {
            problems.push(check.problem_zh.clone());
        }
    }

    let risk_types = match d.risk_types.as_deref().and_then(|k| eff.get(k)) {
        Some(Answer::Choices(values)) => values
            .iter()
            .filter_map(|v| from_snake_name::<RiskType>(v))
            .collect(),
        _ => Vec::new(),
    };
    let choice = |key: &Option<String>| match key.as_deref().and_then(|k| eff.get(k)) {
        Some(Answer::Choice(v)) => Some(v.as_str()),
        _ => None,
    };
    let category = choice(&d.category).and_then(from_snake_name::<MonitoringCategory>);
    let conclusion = choice(&d.conclusion).and_then(from_snake_name::<Conclusion>);

    let visible = eff.visible.iter().map(|i| i.key.clone()).collect();
    let unanswered_required = eff
        .visible
        .iter()
        .filter(|i| i.is_required() && eff.get(&i.key).is_none())
        .map(|i| i.key.clone())
        .collect();

    Evaluation {
        household_size,
        income,
        food,
        clothing,
        two_no_worries: Verdict::all([food, clothing]),
        compulsory_education: aspect(Aspect::CompulsoryEducation),
        basic_medical: aspect(Aspect::BasicMedical),
        safe_housing: aspect(Aspect::SafeHousing),
        water_tests,
        water,
        checks,
        problems,
        risk_types,
        category,
        conclusion,
        visible,
        unanswered_required,
    }
}

fn income_summary(template: &ChecklistTemplate, eff: &Effective<'_>, size: u32) -> IncomeSummary {
    let d = &template.derivation;
    let (gross, missing_income) = eff.sum_money(&d.income);
    let (deductions, missing_deductions) = eff.sum_money(&d.deductions);
    let (rigid, missing_rigid) = eff.sum_money(&d.rigid_spending);
    let net = gross.saturating_sub(deductions);
    let divisor = i64::from(size);
    let per_person_fen = net.div_euclid(divisor);
    let per_person_yuan = per_person_fen.div_euclid(100);
    let line = template.monitoring_line_yuan;
    let after_rigid = net
        .saturating_sub(rigid)
        .div_euclid(divisor)
        .div_euclid(100);
    IncomeSummary {
        household_size: size,
        gross_income_fen: gross,
        deductions_fen: deductions,
        net_income_fen: net,
        per_person_fen,
        per_person_yuan,
        monitoring_line_yuan: line,
        line_status: if per_person_yuan < line {
            LineStatus::Below
        } else {
            LineStatus::AtOrAbove
        },
        gap_yuan: line.saturating_sub(per_person_yuan),
        rigid_spending_fen: rigid,
        per_person_after_rigid_yuan: after_rigid,
        complete: missing_income + missing_deductions + missing_rigid == 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Validation and completeness
// ---------------------------------------------------------------------------------------------

/// Typing errors: unknown items, wrong types, numbers out of range, unknown options, text too
/// long. Answers to items that are currently hidden are ignored, not errors. Nothing is
/// required here; see [`check_complete`].
pub fn validate_answers(
    template: &ChecklistTemplate,
    answers: &Answers,
) -> Result<(), Vec<AnswerProblem>> {
    let problems = typing_problems(template, answers);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn typing_problems(template: &ChecklistTemplate, answers: &Answers) -> Vec<AnswerProblem> {
    let eff = Effective::new(template, answers);
    let mut problems = Vec::new();
    for (key, answer) in answers {
        match template.item(key) {
            None => problems.push(AnswerProblem {
                item: key.clone(),
                kind: AnswerProblemKind::UnknownItem,
                message_zh: format!("核查表中没有“{key}”这一项"),
            }),
            Some(item) if eff.is_visible(key) => {
                if let Err(p) = item.check_answer(answer) {
                    problems.push(p);
                }
            }
            Some(_) => {}
        }
    }
    problems
}

/// May the checklist be finalised? Every typing error, every shown required item left
/// unanswered (“请填写：…”), every shown item with fewer photos than it requires (“请拍照：…”)
/// and a missing signed authorisation are reported, in template order after typing errors.
/// Photos of an item are those in its answer plus those attached to it in `photos`.
pub fn check_complete(
    template: &ChecklistTemplate,
    answers: &Answers,
    photos: &ItemPhotos,
) -> Result<(), Vec<AnswerProblem>> {
    let mut problems = typing_problems(template, answers);
    let eff = Effective::new(template, answers);
    for item in &eff.visible {
        let answered = eff.get(&item.key).is_some();
        if item.is_required() && !answered {
            let (kind, verb) = match item.kind {
                ItemKind::Signature => (AnswerProblemKind::MissingSignature, "请拍照"),
                ItemKind::Photo => (AnswerProblemKind::Missing, "请拍照"),
                _ => (AnswerProblemKind::Missing, "请填写"),
            };
            problems.push(AnswerProblem {
                item: item.key.clone(),
                kind,
                message_zh: format!("{verb}：{}", item.label_zh),
            });
            if item.kind.is_photo() {
                continue;
            }
        }
        let min = item.photo.min() as usize;
        if min > 0 {
            let mut have: BTreeSet<PhotoId> = BTreeSet::new();
            if let Some(a) = eff.get(&item.key) {
                have.extend(a.photos());
            }
            if let Some(p) = photos.get(&item.key) {
                have.extend(p);
            }
            if have.len() < min {
                problems.push(AnswerProblem {
                    item: item.key.clone(),
                    kind: AnswerProblemKind::MissingPhotos,
                    message_zh: format!(
                        "请拍照：{}（至少{}张，现有{}张）",
                        item.label_zh,
                        min,
                        have.len()
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

// ---------------------------------------------------------------------------------------------
// The default Gansu template
// ---------------------------------------------------------------------------------------------

/// A complete filling of [`default_template`] for a typical household: 4 people, income below
/// the line, water safe, qualifies as 边缘易致贫户. The photo items ([`EXAMPLE_PHOTO_ITEMS`])
/// are left out: they need photos. For demonstration data and tests of the apps.
pub fn example_filling() -> Vec<(&'static str, Answer)> {
    use keys::*;
    let yes = || Answer::Bool(true);
    let no = || Answer::Bool(false);
    let ch = |s: &str| Answer::Choice(s.to_owned());
    let mut a = vec![
        (HOUSEHOLD_SIZE, Answer::Integer(4)),
        (LABOUR_COUNT, Answer::Integer(2)),
        (SERIOUSLY_ILL_COUNT, Answer::Integer(1)),
        (DISABLED_COUNT, Answer::Integer(0)),
        (MIGRANT_WORKER_COUNT, Answer::Integer(1)),
        (INCOME_WAGES, Answer::yuan(12_000)),
        (INCOME_CROPS, Answer::yuan(3_000)),
        (INCOME_PENSION, Answer::yuan(1_200)),
        (COST_PRODUCTION, Answer::yuan(1_500)),
        (SPENDING_MEDICAL, Answer::yuan(0)),
        (SPENDING_EDUCATION, Answer::yuan(0)),
        (FOOD_SUFFICIENT, yes()),
        (CLOTHING_SUFFICIENT, yes()),
        (HAS_SCHOOL_AGE_CHILDREN, no()),
        (MEDICAL_INSURANCE_ALL, yes()),
        (CRITICAL_ILLNESS_INSURANCE, yes()),
        (HAS_CHRONIC_PATIENT, no()),
        (HOUSING_RATING, ch("b")),
        (HOUSING_CRACKS, no()),
        (HOUSING_LEAKS, no()),
        (WATER_SOURCE_TYPE, ch("piped")),
        (WATER_LITRES_PER_PERSON_DAY, Answer::Integer(40)),
        (WATER_QUALITY_METHOD, ch("sensory")),
        (WATER_QUALITY_OK, yes()),
        (WATER_PIPED_IN, yes()),
        (WATER_OUTAGE_DAYS, Answer::Integer(3)),
        (RISK_TYPES, Answer::Choices(vec!["illness".into()])),
        (
            HARDSHIP_DESCRIPTION,
            Answer::Text("户主患病住院，家中收入减少".into()),
        ),
        (NEEDS, Answer::Choices(vec!["medical_assistance".into()])),
        (CONCLUSION, ch("qualifies")),
        (MONITORING_CATEGORY, ch("marginal_at_risk")),
    ];
    for k in [
        INCOME_LIVESTOCK,
        INCOME_OTHER_BUSINESS,
        INCOME_DIBAO,
        INCOME_TEKUN,
        INCOME_DISABILITY_ALLOWANCE,
        INCOME_OTHER_TRANSFERS,
        INCOME_PROPERTY,
    ] {
        a.push((k, Answer::yuan(0)));
    }
    a
}

/// The items of [`default_template`] that need a photo once [`example_filling`] is given:
/// the house (attached to its rating), the water source and the signed authorisation.
pub const EXAMPLE_PHOTO_ITEMS: [&str; 3] = [
    keys::HOUSING_RATING,
    keys::WATER_SOURCE_PHOTO,
    keys::AUTHORISATION_SIGNATURE,
];

/// Item keys of [`default_template`]. Later versions should keep a key when the question keeps
/// its meaning, so answers and reports stay comparable across versions.
pub mod keys {
    // 家庭基本情况
    pub const HOUSEHOLD_SIZE: &str = "household_size";
    pub const REGISTERED_SIZE: &str = "registered_size";
    pub const LABOUR_COUNT: &str = "labour_count";
    pub const SERIOUSLY_ILL_COUNT: &str = "seriously_ill_count";
    pub const DISABLED_COUNT: &str = "disabled_count";
    pub const MIGRANT_WORKER_COUNT: &str = "migrant_worker_count";
    // 收入
    pub const INCOME_WAGES: &str = "income_wages";
    pub const INCOME_CROPS: &str = "income_crops";
    pub const INCOME_LIVESTOCK: &str = "income_livestock";
    pub const INCOME_OTHER_BUSINESS: &str = "income_other_business";
    pub const INCOME_DIBAO: &str = "income_dibao";
    pub const INCOME_TEKUN: &str = "income_tekun";
    pub const INCOME_DISABILITY_ALLOWANCE: &str = "income_disability_allowance";
    pub const INCOME_PENSION: &str = "income_pension";
    pub const INCOME_OTHER_TRANSFERS: &str = "income_other_transfers";
    pub const INCOME_PROPERTY: &str = "income_property";
    pub const COST_PRODUCTION: &str = "cost_production";
    // 刚性支出
    pub const SPENDING_MEDICAL: &str = "spending_medical_out_of_pocket";
    pub const MEDICAL_BILLS_PHOTO: &str = "medical_bills_photo";
    pub const SPENDING_EDUCATION: &str = "spending_education";
    // 两不愁
    pub const FOOD_SUFFICIENT: &str = "food_sufficient";
    pub const CLOTHING_SUFFICIENT: &str = "clothing_sufficient";
    // 义务教育
    pub const HAS_SCHOOL_AGE_CHILDREN: &str = "has_school_age_children";
    pub const CHILD_OUT_OF_SCHOOL: &str = "child_out_of_school";
    pub const OUT_OF_SCHOOL_REASON: &str = "out_of_school_reason";
    pub const OUT_OF_SCHOOL_DETAIL: &str = "out_of_school_detail";
    // 基本医疗
    pub const MEDICAL_INSURANCE_ALL: &str = "medical_insurance_all";
    pub const CRITICAL_ILLNESS_INSURANCE: &str = "critical_illness_insurance";
    pub const MEDICAL_ASSISTANCE: &str = "medical_assistance";
    pub const HAS_CHRONIC_PATIENT: &str = "has_chronic_patient";
    pub const CHRONIC_CARD: &str = "chronic_card";
    // 住房安全
    pub const HOUSING_RATING: &str = "housing_rating";
    pub const HOUSING_CRACKS: &str = "housing_cracks";
    pub const HOUSING_LEAKS: &str = "housing_leaks";
    pub const HOUSING_RENOVATION: &str = "housing_renovation";
    // 饮水安全
    pub const WATER_SOURCE_TYPE: &str = "water_source_type";
    pub const WATER_LITRES_PER_PERSON_DAY: &str = "water_litres_per_person_day";
    pub const WATER_QUALITY_METHOD: &str = "water_quality_method";
    pub const WATER_QUALITY_REPORT_PHOTO: &str = "water_quality_report_photo";
    pub const WATER_QUALITY_OK: &str = "water_quality_ok";
    pub const WATER_PIPED_IN: &str = "water_piped_in";
    pub const WATER_FETCH_MINUTES: &str = "water_fetch_minutes";
    pub const WATER_FETCH_HORIZONTAL_M: &str = "water_fetch_horizontal_m";
    pub const WATER_FETCH_VERTICAL_M: &str = "water_fetch_vertical_m";
    pub const WATER_OUTAGE_DAYS: &str = "water_outage_days";
    pub const WATER_SOURCE_PHOTO: &str = "water_source_photo";
    // 风险研判与帮扶需求
    pub const RISK_TYPES: &str = "risk_types";
    pub const RISK_OTHER_DETAIL: &str = "risk_other_detail";
    pub const HARDSHIP_DESCRIPTION: &str = "hardship_description";
    pub const NEEDS: &str = "needs";
    pub const NEEDS_DETAIL: &str = "needs_detail";
    // 核查结论
    pub const CONCLUSION: &str = "conclusion";
    pub const MONITORING_CATEGORY: &str = "monitoring_category";
    pub const NOT_QUALIFIED_REASON: &str = "not_qualified_reason";
    pub const VERIFIER_OPINION: &str = "verifier_opinion";
    // 承诺授权与佐证
    pub const AUTHORISATION_SIGNATURE: &str = "authorisation_signature";
    pub const EVIDENCE_PHOTOS: &str = "evidence_photos";
}

/// The id of the built-in template, fixed so that every phone and the server agree on it.
pub fn default_template_id() -> TemplateId {
    // 2025-01-01T00:00:00Z, serial 1.
    TemplateId::from_parts(1_735_689_600_000, 1)
}

fn int(min: i64, max: i64, unit_zh: &str) -> ItemKind {
    ItemKind::Integer {
        min: Some(min),
        max: Some(max),
        unit_zh: unit_zh.to_owned(),
    }
}

fn choice(options: &[(&str, &str)]) -> ItemKind {
    ItemKind::Choice {
        options: options
            .iter()
            .map(|(v, l)| ChoiceOption::new(v, l))
            .collect(),
    }
}

fn text(max_chars: u32) -> ItemKind {
    ItemKind::Text { max_chars }
}

fn money(key: &str, label_zh: &str, help_zh: &str) -> Item {
    Item::new(key, label_zh, ItemKind::Money).help(help_zh)
}

fn section(key: &str, title_zh: &str, items: Vec<Item>) -> Section {
    Section {
        key: key.to_owned(),
        title_zh: title_zh.to_owned(),
        items,
    }
}

fn check(key: &str, aspect: Aspect, label_zh: &str, pass_if: Condition, problem_zh: &str) -> Check {
    Check {
        key: key.to_owned(),
        aspect,
        label_zh: label_zh.to_owned(),
        pass_if,
        problem_zh: problem_zh.to_owned(),
    }
}

/// Gansu's home-verification checklist (入户核查表), version 1, with the default monitoring
/// line of ¥6,000. Household members (name, 身份证号, relation, health, work, schooling,
/// insurance) are recorded on the household, not here; this form records the counts that the
/// derivation needs.
pub fn default_template() -> ChecklistTemplate {
    use keys::*;
    let one_photo = PhotoRequirement::Required { min: 1 };
    let not_piped = Condition::no(WATER_PIPED_IN);

    let household = section(
        "household",
        "家庭基本情况",
        vec![
            Item::new(HOUSEHOLD_SIZE, "共同生活家庭人口数", int(1, 30, "人")).help(
                "按实际共同生活的人口填写（人均收入按此计算）；家庭成员的姓名、身份证号、健康、务工、就学等在“家庭成员”中逐人登记",
            ),
            Item::new(REGISTERED_SIZE, "户籍人口数", int(0, 30, "人")).optional(),
            Item::new(LABOUR_COUNT, "劳动力人数", int(0, 30, "人"))
                .help("16至60周岁、有劳动能力的家庭成员"),
            Item::new(SERIOUSLY_ILL_COUNT, "患大病或慢性病人数", int(0, 30, "人")),
            Item::new(DISABLED_COUNT, "残疾人数", int(0, 30, "人")),
            Item::new(MIGRANT_WORKER_COUNT, "外出务工人数", int(0, 30, "人")),
        ],
    );

    let income = section(
        "income",
        "家庭收入（近12个月）",
        vec![
            money(
                INCOME_WAGES,
                "务工收入（元）",
                "外出务工和本地打零工的工资收入；没有填0",
            ),
            money(
                INCOME_CROPS,
                "种植收入（元）",
                "粮食、地膜玉米、马铃薯、果蔬等出售和自用折价；没有填0",
            ),
            money(
                INCOME_LIVESTOCK,
                "养殖收入（元）",
                "牛、羊、猪、鸡等；没有填0",
            ),
            money(
                INCOME_OTHER_BUSINESS,
                "其他生产经营收入（元）",
                "个体经营、运输等；没有填0",
            ),
            money(INCOME_DIBAO, "低保金（元）", "没有填0"),
            money(INCOME_TEKUN, "特困供养金（元）", "没有填0"),
            money(
                INCOME_DISABILITY_ALLOWANCE,
                "残疾人补贴（元）",
                "困难残疾人生活补贴和重度残疾人护理补贴；没有填0",
            ),
            money(
                INCOME_PENSION,
                "养老金（元）",
                "城乡居民基础养老金、退休金；没有填0",
            ),
            money(
                INCOME_OTHER_TRANSFERS,
                "其他转移性收入（元）",
                "惠农补贴、赡养费、临时救助等；没有填0",
            ),
            money(
                INCOME_PROPERTY,
                "财产性收入（元）",
                "土地流转租金、房屋出租、入股分红等；没有填0",
            ),
            money(
                COST_PRODUCTION,
                "生产经营支出（元）",
                "种子、化肥、农药、饲料、雇工等，计算纯收入时扣除；没有填0",
            ),
        ],
    );

    let spending = section(
        "rigid_spending",
        "刚性支出（报销后）",
        vec![
            money(
                SPENDING_MEDICAL,
                "医疗自付费用（元）",
                "医保报销和医疗救助之后自己负担的部分；没有填0",
            ),
            Item::new(MEDICAL_BILLS_PHOTO, "医疗费用票据照片", ItemKind::Photo)
                .help("住院结算单、门诊票据等")
                .shown_if(Condition::at_least(SPENDING_MEDICAL, 1))
                .photos(one_photo),
            money(
                SPENDING_EDUCATION,
                "教育支出（元）",
                "学费、住宿费、生活费等扣除资助后的部分；没有填0",
            ),
        ],
    );

    let two_no_worries = section(
        "two_no_worries",
        "两不愁",
        vec![
            Item::new(
                FOOD_SUFFICIENT,
                "吃饭不愁：口粮或买粮的钱是否够吃",
                ItemKind::YesNo,
            ),
            Item::new(
                CLOTHING_SUFFICIENT,
                "穿衣不愁：四季衣物和被褥是否齐全",
                ItemKind::YesNo,
            ),
        ],
    );

    let education = section(
        "compulsory_education",
        "义务教育保障",
        vec![
            Item::new(
                HAS_SCHOOL_AGE_CHILDREN,
                "家中是否有6至15周岁的适龄儿童",
                ItemKind::YesNo,
            ),
            Item::new(
                CHILD_OUT_OF_SCHOOL,
                "是否有适龄儿童失学辍学",
                ItemKind::YesNo,
            )
            .shown_if(Condition::yes(HAS_SCHOOL_AGE_CHILDREN)),
            Item::new(
                OUT_OF_SCHOOL_REASON,
                "失学辍学原因",
                choice(&[
                    ("economic", "家庭经济困难"),
                    ("illness_disability", "因病因残（含送教上门）"),
                    ("weariness", "厌学"),
                    ("other", "其他"),
                ]),
            )
            .shown_if(Condition::yes(CHILD_OUT_OF_SCHOOL)),
            Item::new(OUT_OF_SCHOOL_DETAIL, "失学辍学情况说明", text(200))
                .optional()
                .shown_if(Condition::yes(CHILD_OUT_OF_SCHOOL)),
        ],
    );

    let medical = section(
        "basic_medical",
        "基本医疗保障",
        vec![
            Item::new(
                MEDICAL_INSURANCE_ALL,
                "家庭成员是否全部参加城乡居民基本医疗保险",
                ItemKind::YesNo,
            ),
            Item::new(
                CRITICAL_ILLNESS_INSURANCE,
                "是否全部纳入大病保险",
                ItemKind::YesNo,
            ),
            Item::new(MEDICAL_ASSISTANCE, "是否享受医疗救助", ItemKind::YesNo).optional(),
            Item::new(HAS_CHRONIC_PATIENT, "是否有慢性病患者", ItemKind::YesNo),
            Item::new(
                CHRONIC_CARD,
                "慢性病患者是否已办理慢病卡（门诊慢特病）",
                ItemKind::YesNo,
            )
            .shown_if(Condition::yes(HAS_CHRONIC_PATIENT)),
        ],
    );

    let housing = section(
        "safe_housing",
        "住房安全保障",
        vec![
            Item::new(
                HOUSING_RATING,
                "住房安全等级",
                choice(&[
                    ("a", "A级（安全）"),
                    ("b", "B级（基本安全）"),
                    ("c", "C级（局部危险）"),
                    ("d", "D级（整体危险）"),
                ]),
            )
            .help("请拍摄住房外观照片")
            .photos(one_photo),
            Item::new(HOUSING_CRACKS, "墙体是否有明显裂缝或倾斜", ItemKind::YesNo),
            Item::new(HOUSING_LEAKS, "屋顶是否漏雨", ItemKind::YesNo),
            Item::new(HOUSING_RENOVATION, "是否已纳入危房改造", ItemKind::YesNo)
                .optional()
                .shown_if(Condition::any_of(HOUSING_RATING, &["c", "d"])),
        ],
    );

    let water = section(
        "drinking_water",
        "饮水安全",
        vec![
            Item::new(
                WATER_SOURCE_TYPE,
                "水源类型",
                choice(&[
                    ("piped", "集中供水（自来水）"),
                    ("well", "水井"),
                    ("cellar", "水窖"),
                    ("spring", "山泉水"),
                    ("other", "其他"),
                ]),
            ),
            Item::new(
                WATER_LITRES_PER_PERSON_DAY,
                "人均每天可用水量",
                int(0, 1000, "升"),
            )
            .help("甘肃标准：每人每天不少于20升"),
            Item::new(
                WATER_QUALITY_METHOD,
                "水质判断依据",
                choice(&[
                    ("lab_report", "有水质检测报告"),
                    ("sensory", "现场看、闻、尝（分散供水）"),
                ]),
            ),
            Item::new(
                WATER_QUALITY_REPORT_PHOTO,
                "水质检测报告照片",
                ItemKind::Photo,
            )
            .shown_if(Condition::equals(WATER_QUALITY_METHOD, "lab_report"))
            .photos(one_photo),
            Item::new(WATER_QUALITY_OK, "水质是否达标", ItemKind::YesNo)
                .help("有检测报告的以报告为准；现场判断：无色、无异味、无肉眼可见杂质"),
            Item::new(WATER_PIPED_IN, "是否自来水入户", ItemKind::YesNo),
            Item::new(
                WATER_FETCH_MINUTES,
                "人力取水往返时间",
                int(0, 1440, "分钟"),
            )
            .help("不超过20分钟为方便")
            .shown_if(not_piped.clone()),
            Item::new(
                WATER_FETCH_HORIZONTAL_M,
                "取水水平距离",
                int(0, 100_000, "米"),
            )
            .help("不超过800米")
            .shown_if(not_piped.clone()),
            Item::new(WATER_FETCH_VERTICAL_M, "取水垂直距离", int(0, 10_000, "米"))
                .help("不超过80米")
                .shown_if(not_piped),
            Item::new(WATER_OUTAGE_DAYS, "一年中停水或缺水天数", int(0, 366, "天"))
                .help("不超过36天为达标（供水保证率不低于90%）"),
            Item::new(WATER_SOURCE_PHOTO, "水源照片", ItemKind::Photo)
                .help("水龙头、水井或水窖")
                .photos(one_photo),
        ],
    );

    let risk_options = RiskType::ALL
        .iter()
        .map(|r| ChoiceOption {
            value: risk_type_value(*r),
            label_zh: r.name_zh().to_owned(),
        })
        .collect();
    let risk = section(
        "risk",
        "风险研判与帮扶需求",
        vec![
            Item::new(
                RISK_TYPES,
                "风险类型（可多选）",
                ItemKind::MultiChoice {
                    options: risk_options,
                },
            ),
            Item::new(RISK_OTHER_DETAIL, "其他风险说明", text(200)).shown_if(Condition::equals(
                RISK_TYPES,
                risk_type_value(RiskType::Other).as_str(),
            )),
            Item::new(HARDSHIP_DESCRIPTION, "家庭困难情况描述", text(500)),
            Item::new(
                NEEDS,
                "帮扶需求（可多选）",
                ItemKind::MultiChoice {
                    options: [
                        ("medical_assistance", "医疗救助"),
                        ("temporary_assistance", "临时救助"),
                        ("dibao", "低保"),
                        ("employment", "就业帮扶"),
                        ("public_welfare_job", "公益岗位"),
                        ("industry", "产业帮扶"),
                        ("education_aid", "教育资助"),
                        ("housing_renovation", "住房改造"),
                        ("water_project", "饮水工程"),
                        ("insurance", "保险"),
                        ("other", "其他"),
                    ]
                    .iter()
                    .map(|(v, l)| ChoiceOption::new(v, l))
                    .collect(),
                },
            ),
            Item::new(NEEDS_DETAIL, "帮扶需求说明", text(300)).optional(),
        ],
    );

    let category_options = [
        MonitoringCategory::UnstableFormerlyPoor,
        MonitoringCategory::MarginalAtRisk,
        MonitoringCategory::SuddenSevereHardship,
    ]
    .iter()
    .map(|c| ChoiceOption {
        value: category_value(*c),
        label_zh: c.name_zh().to_owned(),
    })
    .collect();
    let conclusion = section(
        "conclusion",
        "核查结论",
        vec![
            Item::new(
                CONCLUSION,
                "核查结论",
                ItemKind::Choice {
                    options: [Conclusion::Qualifies, Conclusion::DoesNotQualify]
                        .iter()
                        .map(|c| ChoiceOption::new(c.value(), c.name_zh()))
                        .collect(),
                },
            ),
            Item::new(
                MONITORING_CATEGORY,
                "建议监测对象类型",
                ItemKind::Choice {
                    options: category_options,
                },
            )
            .shown_if(Condition::equals(CONCLUSION, Conclusion::Qualifies.value())),
            Item::new(NOT_QUALIFIED_REASON, "不符合的理由", text(300))
                .help("将在5个工作日内告知申请人")
                .shown_if(Condition::equals(
                    CONCLUSION,
                    Conclusion::DoesNotQualify.value(),
                )),
            Item::new(VERIFIER_OPINION, "核查人意见", text(300)).optional(),
        ],
    );

    let authorisation = section(
        "authorisation",
        "承诺授权与佐证照片",
        vec![
            Item::new(
                AUTHORISATION_SIGNATURE,
                "承诺授权书（户主签字并按手印）",
                ItemKind::Signature,
            )
            .help("请拍摄签字按手印后的承诺授权书全页")
            .photos(one_photo),
            Item::new(EVIDENCE_PHOTOS, "其他佐证照片", ItemKind::Photo)
                .help("证件、收入凭证、家中情况等")
                .optional()
                .photos(PhotoRequirement::Optional),
        ],
    );

    let derivation = Derivation {
        household_size: Some(HOUSEHOLD_SIZE.to_owned()),
        income: [
            INCOME_WAGES,
            INCOME_CROPS,
            INCOME_LIVESTOCK,
            INCOME_OTHER_BUSINESS,
            INCOME_DIBAO,
            INCOME_TEKUN,
            INCOME_DISABILITY_ALLOWANCE,
            INCOME_PENSION,
            INCOME_OTHER_TRANSFERS,
            INCOME_PROPERTY,
        ]
        .map(str::to_owned)
        .to_vec(),
        deductions: vec![COST_PRODUCTION.to_owned()],
        rigid_spending: vec![SPENDING_MEDICAL.to_owned(), SPENDING_EDUCATION.to_owned()],
        risk_types: Some(RISK_TYPES.to_owned()),
        category: Some(MONITORING_CATEGORY.to_owned()),
        conclusion: Some(CONCLUSION.to_owned()),
        checks: default_checks(),
    };

    ChecklistTemplate {
        id: default_template_id(),
        code: DEFAULT_TEMPLATE_CODE.to_owned(),
        version: 1,
        title_zh: "甘肃省防止返贫监测对象入户核查表".to_owned(),
        monitoring_line_yuan: DEFAULT_MONITORING_LINE_YUAN,
        sections: vec![
            household,
            income,
            spending,
            two_no_worries,
            education,
            medical,
            housing,
            water,
            risk,
            conclusion,
            authorisation,
        ],
        derivation,
    }
}

fn default_checks() -> Vec<Check> {
    use keys::*;
    vec![
        check(
            "food",
            Aspect::Food,
            "吃饭不愁",
            Condition::yes(FOOD_SUFFICIENT),
            "吃饭有困难：口粮或买粮的钱不够",
        ),
        check(
            "clothing",
            Aspect::Clothing,
            "穿衣不愁",
            Condition::yes(CLOTHING_SUFFICIENT),
            "穿衣有困难：四季衣物或被褥不齐",
        ),
        check(
            "no_dropout_for_money",
            Aspect::CompulsoryEducation,
            "无适龄儿童因经济困难失学辍学",
            Condition::any(vec![
                Condition::no(HAS_SCHOOL_AGE_CHILDREN),
                Condition::no(CHILD_OUT_OF_SCHOOL),
                Condition::not(Condition::equals(OUT_OF_SCHOOL_REASON, "economic")),
            ]),
            "义务教育无保障：有适龄儿童因家庭经济困难失学辍学",
        ),
        check(
            "no_dropout",
            Aspect::Other,
            "无适龄儿童失学辍学",
            Condition::any(vec![
                Condition::no(HAS_SCHOOL_AGE_CHILDREN),
                Condition::no(CHILD_OUT_OF_SCHOOL),
            ]),
            "有6至15周岁适龄儿童失学辍学，需落实控辍保学",
        ),
        check(
            "medical_insurance",
            Aspect::BasicMedical,
            "参加城乡居民医保和大病保险",
            Condition::all(vec![
                Condition::yes(MEDICAL_INSURANCE_ALL),
                Condition::yes(CRITICAL_ILLNESS_INSURANCE),
            ]),
            "基本医疗无保障：有家庭成员未参加城乡居民医保或大病保险",
        ),
        check(
            "chronic_card",
            Aspect::BasicMedical,
            "慢性病患者已办慢病卡",
            Condition::any(vec![
                Condition::no(HAS_CHRONIC_PATIENT),
                Condition::yes(CHRONIC_CARD),
            ]),
            "基本医疗无保障：慢性病患者未办理慢病卡",
        ),
        check(
            "housing_rating",
            Aspect::SafeHousing,
            "住房为A级或B级",
            Condition::any_of(HOUSING_RATING, &["a", "b"]),
            "住房不安全：住房鉴定为C级或D级",
        ),
        check(
            "housing_cracks",
            Aspect::SafeHousing,
            "墙体无明显裂缝",
            Condition::no(HOUSING_CRACKS),
            "住房不安全：墙体有明显裂缝或倾斜",
        ),
        check(
            "housing_leaks",
            Aspect::SafeHousing,
            "屋顶不漏雨",
            Condition::no(HOUSING_LEAKS),
            "住房不安全：屋顶漏雨",
        ),
        check(
            "water_quantity",
            Aspect::WaterQuantity,
            "水量：每人每天不少于20升",
            Condition::at_least(WATER_LITRES_PER_PERSON_DAY, 20),
            "饮水不安全：水量不足（每人每天不足20升）",
        ),
        check(
            "water_quality",
            Aspect::WaterQuality,
            "水质达标",
            Condition::yes(WATER_QUALITY_OK),
            "饮水不安全：水质不达标",
        ),
        // 《农村饮水安全评价准则》 as applied in Gansu: convenient when piped in, or when a
        // round trip on foot takes at most 20 minutes, or when the source is at most 800 m
        // away horizontally and at most 80 m up or down (both).
        check(
            "water_convenience",
            Aspect::WaterConvenience,
            "取水方便：自来水入户，或往返不超过20分钟，或水平不超过800米且垂直不超过80米",
            Condition::any(vec![
                Condition::yes(WATER_PIPED_IN),
                Condition::at_most(WATER_FETCH_MINUTES, 20),
                Condition::all(vec![
                    Condition::at_most(WATER_FETCH_HORIZONTAL_M, 800),
                    Condition::at_most(WATER_FETCH_VERTICAL_M, 80),
                ]),
            ]),
            "饮水不安全：取水不方便（未通自来水，往返超过20分钟且距离超标）",
        ),
        check(
            "water_reliability",
            Aspect::WaterReliability,
            "供水保证率：一年停水不超过36天",
            Condition::at_most(WATER_OUTAGE_DAYS, 36),
            "饮水不安全：供水不稳定（一年停水超过36天）",
        ),
        check(
            "has_labour",
            Aspect::Other,
            "家中有劳动力",
            Condition::at_least(LABOUR_COUNT, 1),
            "家中无劳动力",
        ),
        check(
            "medical_cost",
            Aspect::Other,
            "医疗自付不超过2万元",
            Condition::at_most(SPENDING_MEDICAL, 2_000_000),
            "报销后医疗自付费用超过2万元",
        ),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::keys::*;
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn t() -> ChecklistTemplate {
        default_template()
    }

    fn photo(n: u128) -> PhotoId {
        PhotoId::from_parts(1_750_000_000_000, n)
    }

    fn answers(pairs: &[(&str, Answer)]) -> Answers {
        pairs
            .iter()
            .map(|(k, a)| ((*k).to_owned(), a.clone()))
            .collect()
    }

    fn yes() -> Answer {
        Answer::Bool(true)
    }

    fn no() -> Answer {
        Answer::Bool(false)
    }

    fn ch(v: &str) -> Answer {
        Answer::Choice(v.to_owned())
    }

    /// A complete, valid filling of the default template: 3 people, ¥15,000 of wages, every
    /// guarantee kept, water safe (piped in), qualifies; plus the house photo.
    pub(crate) fn filled() -> (Answers, ItemPhotos) {
        let mut a = answers(&[
            (HOUSEHOLD_SIZE, Answer::Integer(3)),
            (LABOUR_COUNT, Answer::Integer(1)),
            (SERIOUSLY_ILL_COUNT, Answer::Integer(1)),
            (DISABLED_COUNT, Answer::Integer(0)),
            (MIGRANT_WORKER_COUNT, Answer::Integer(1)),
            (INCOME_WAGES, Answer::yuan(15_000)),
            (SPENDING_MEDICAL, Answer::yuan(0)),
            (SPENDING_EDUCATION, Answer::yuan(0)),
            (FOOD_SUFFICIENT, yes()),
            (CLOTHING_SUFFICIENT, yes()),
            (HAS_SCHOOL_AGE_CHILDREN, no()),
            (MEDICAL_INSURANCE_ALL, yes()),
            (CRITICAL_ILLNESS_INSURANCE, yes()),
            (HAS_CHRONIC_PATIENT, no()),
            (HOUSING_RATING, ch("b")),
            (HOUSING_CRACKS, no()),
            (HOUSING_LEAKS, no()),
            (WATER_SOURCE_TYPE, ch("piped")),
            (WATER_LITRES_PER_PERSON_DAY, Answer::Integer(40)),
            (WATER_QUALITY_METHOD, ch("sensory")),
            (WATER_QUALITY_OK, yes()),
            (WATER_PIPED_IN, yes()),
            (WATER_OUTAGE_DAYS, Answer::Integer(3)),
            (WATER_SOURCE_PHOTO, Answer::Photos(vec![photo(1)])),
            (RISK_TYPES, Answer::Choices(vec!["illness".into()])),
            (
                HARDSHIP_DESCRIPTION,
                Answer::Text("户主患病，收入减少".into()),
            ),
            (NEEDS, Answer::Choices(vec!["medical_assistance".into()])),
            (CONCLUSION, ch("qualifies")),
            (MONITORING_CATEGORY, ch("marginal_at_risk")),
            (AUTHORISATION_SIGNATURE, Answer::Photos(vec![photo(2)])),
        ]);
        for k in [
            INCOME_CROPS,
            INCOME_LIVESTOCK,
            INCOME_OTHER_BUSINESS,
            INCOME_DIBAO,
            INCOME_TEKUN,
            INCOME_DISABILITY_ALLOWANCE,
            INCOME_PENSION,
            INCOME_OTHER_TRANSFERS,
            INCOME_PROPERTY,
            COST_PRODUCTION,
        ] {
            a.insert(k.to_owned(), Answer::yuan(0));
        }
        let photos = ItemPhotos::from([(HOUSING_RATING.to_owned(), vec![photo(3)])]);
        (a, photos)
    }

    fn with(mut a: Answers, pairs: &[(&str, Answer)]) -> Answers {
        for (k, v) in pairs {
            a.insert((*k).to_owned(), v.clone());
        }
        a
    }

    // ---- template ----------------------------------------------------------------------

    #[test]
    fn default_template_is_valid() {
        assert_eq!(t().validate(), Ok(()));
    }

    #[test]
    fn default_template_keys_unique_and_references_exist() {
        let t = t();
        let keys: Vec<&str> = t.items().map(|i| i.key.as_str()).collect();
        let unique: BTreeSet<&str> = keys.iter().copied().collect();
        assert_eq!(keys.len(), unique.len(), "duplicate item keys");
        for item in t.items() {
            for r in item.show_if.iter().flat_map(Condition::referenced_items) {
                let pos_ref = keys
                    .iter()
                    .position(|k| *k == r)
                    .expect("show_if refers to an item");
                let pos = keys.iter().position(|k| *k == item.key).expect("own key");
                assert!(pos_ref < pos, "{} refers to later item {r}", item.key);
            }
        }
        let d = &t.derivation;
        let named = d
            .household_size
            .iter()
            .chain(&d.income)
            .chain(&d.deductions)
            .chain(&d.rigid_spending)
            .chain(&d.risk_types)
            .chain(&d.category)
            .chain(&d.conclusion);
        for k in named {
            assert!(
                unique.contains(k.as_str()),
                "derivation names unknown item {k}"
            );
        }
        for c in &d.checks {
            for r in c.pass_if.referenced_items() {
                assert!(unique.contains(r), "check {} names unknown item {r}", c.key);
            }
        }
        assert_eq!(t.version, 1);
        assert_eq!(t.monitoring_line_yuan, 6000);
        assert_eq!(t.code, "gansu-home-verification");
    }

    #[test]
    fn default_template_covers_the_minimum_content() {
        let t = t();
        let d = &t.derivation;
        for a in Aspect::WATER_TESTS.into_iter().chain([
            Aspect::Food,
            Aspect::Clothing,
            Aspect::CompulsoryEducation,
            Aspect::BasicMedical,
            Aspect::SafeHousing,
        ]) {
            assert!(d.checks.iter().any(|c| c.aspect == a), "no check for {a:?}");
        }
        let sig = t.item(AUTHORISATION_SIGNATURE).expect("signature item");
        assert_eq!(sig.kind, ItemKind::Signature);
        assert!(sig.is_required());
        let house = t.item(HOUSING_RATING).expect("housing item");
        assert_eq!(house.photo, PhotoRequirement::Required { min: 1 });
        let water = t.item(WATER_SOURCE_PHOTO).expect("water photo");
        assert_eq!(water.kind, ItemKind::Photo);
        let Some(ItemKind::MultiChoice { options }) = t.item(RISK_TYPES).map(|i| &i.kind) else {
            panic!("risk types is a multi-choice");
        };
        assert_eq!(options.len(), RiskType::ALL.len());
        assert!(
            options
                .iter()
                .any(|o| o.value == "illness" && o.label_zh == "因病")
        );
    }

    fn bad_template(edit: impl FnOnce(&mut ChecklistTemplate)) -> Vec<TemplateProblem> {
        let mut t = t();
        edit(&mut t);
        t.validate().expect_err("template should be refused")
    }

    #[test]
    fn validate_refuses_duplicate_keys_and_bad_references() {
        let p = bad_template(|t| {
            let copy = t.sections[0].items[0].clone();
            t.sections[1].items.push(copy);
        });
        assert!(p.contains(&TemplateProblem::DuplicateItem(HOUSEHOLD_SIZE.into())));

        let p = bad_template(|t| {
            t.sections[0].items[0].show_if = Some(Condition::yes("no_such_item"));
        });
        assert!(
            matches!(&p[..], [TemplateProblem::UnknownReference { refers_to, .. }]
            if refers_to == "no_such_item")
        );

        let p = bad_template(|t| {
            t.sections[0].items[0].show_if = Some(Condition::yes(WATER_PIPED_IN));
        });
        assert_eq!(
            p,
            vec![TemplateProblem::ForwardReference {
                item: HOUSEHOLD_SIZE.into(),
                refers_to: WATER_PIPED_IN.into()
            }]
        );

        let p = bad_template(|t| t.derivation.income.push(FOOD_SUFFICIENT.into()));
        assert!(
            matches!(&p[..], [TemplateProblem::WrongKind { item, .. }] if item == FOOD_SUFFICIENT)
        );

        let p = bad_template(|t| t.monitoring_line_yuan = 0);
        assert_eq!(p, vec![TemplateProblem::BadMonitoringLine(0)]);
        assert_eq!(p[0].to_string(), "监测线应大于0元，现为0元");
    }

    // ---- skip logic --------------------------------------------------------------------

    #[rstest]
    #[case::reason_hidden_at_start(OUT_OF_SCHOOL_REASON, vec![], false)]
    #[case::reason_hidden_without_children(OUT_OF_SCHOOL_REASON, vec![(HAS_SCHOOL_AGE_CHILDREN, no()), (CHILD_OUT_OF_SCHOOL, yes())], false)]
    #[case::reason_hidden_all_in_school(OUT_OF_SCHOOL_REASON, vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, no())], false)]
    #[case::reason_shown(OUT_OF_SCHOOL_REASON, vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes())], true)]
    #[case::dropout_question_shown(CHILD_OUT_OF_SCHOOL, vec![(HAS_SCHOOL_AGE_CHILDREN, yes())], true)]
    #[case::fetch_time_hidden_unanswered(WATER_FETCH_MINUTES, vec![], false)]
    #[case::fetch_time_hidden_piped(WATER_FETCH_MINUTES, vec![(WATER_PIPED_IN, yes())], false)]
    #[case::fetch_time_shown(WATER_FETCH_MINUTES, vec![(WATER_PIPED_IN, no())], true)]
    #[case::fetch_distance_shown(WATER_FETCH_VERTICAL_M, vec![(WATER_PIPED_IN, no())], true)]
    #[case::report_photo_shown(WATER_QUALITY_REPORT_PHOTO, vec![(WATER_QUALITY_METHOD, ch("lab_report"))], true)]
    #[case::report_photo_hidden(WATER_QUALITY_REPORT_PHOTO, vec![(WATER_QUALITY_METHOD, ch("sensory"))], false)]
    #[case::reason_not_qualified_shown(NOT_QUALIFIED_REASON, vec![(CONCLUSION, ch("does_not_qualify"))], true)]
    #[case::reason_not_qualified_hidden(NOT_QUALIFIED_REASON, vec![(CONCLUSION, ch("qualifies"))], false)]
    #[case::category_shown(MONITORING_CATEGORY, vec![(CONCLUSION, ch("qualifies"))], true)]
    #[case::category_hidden(MONITORING_CATEGORY, vec![(CONCLUSION, ch("does_not_qualify"))], false)]
    #[case::bills_shown(MEDICAL_BILLS_PHOTO, vec![(SPENDING_MEDICAL, Answer::Money { fen: 1 })], true)]
    #[case::bills_hidden(MEDICAL_BILLS_PHOTO, vec![(SPENDING_MEDICAL, Answer::yuan(0))], false)]
    #[case::other_risk_shown(RISK_OTHER_DETAIL, vec![(RISK_TYPES, Answer::Choices(vec!["illness".into(), "other".into()]))], true)]
    #[case::other_risk_hidden(RISK_OTHER_DETAIL, vec![(RISK_TYPES, Answer::Choices(vec!["illness".into()]))], false)]
    #[case::renovation_shown(HOUSING_RENOVATION, vec![(HOUSING_RATING, ch("d"))], true)]
    #[case::wrong_type_does_not_show(WATER_FETCH_MINUTES, vec![(WATER_PIPED_IN, ch("no"))], false)]
    #[case::always_shown(HOUSEHOLD_SIZE, vec![], true)]
    fn skip_logic(#[case] key: &str, #[case] given: Vec<(&str, Answer)>, #[case] shown: bool) {
        let a = answers(&given);
        let visible = visible_items(&t(), &a);
        assert_eq!(visible.iter().any(|k| k == key), shown, "{key}");
        assert_eq!(evaluate(&t(), &a).visible, visible);
    }

    #[test]
    fn three_valued_conditions() {
        let a = answers(&[
            (WATER_PIPED_IN, no()),
            (WATER_FETCH_MINUTES, Answer::Integer(30)),
        ]);
        let c = Condition::any(vec![
            Condition::yes(WATER_PIPED_IN),
            Condition::at_most(WATER_FETCH_MINUTES, 20),
            Condition::at_most(WATER_FETCH_HORIZONTAL_M, 800),
        ]);
        assert_eq!(c.eval(&a), None);
        assert_eq!(Condition::not(Condition::yes("x")).eval(&a), None);
        assert_eq!(Condition::answered("x").eval(&a), Some(false));
        assert_eq!(Condition::all(vec![]).eval(&a), Some(true));
        assert_eq!(Condition::any(vec![]).eval(&a), Some(false));
        assert_eq!(
            Condition::all(vec![Condition::no(WATER_PIPED_IN), Condition::yes("x")]).eval(&a),
            None
        );
        assert_eq!(
            Condition::all(vec![Condition::yes(WATER_PIPED_IN), Condition::yes("x")]).eval(&a),
            Some(false)
        );
    }

    // ---- income ------------------------------------------------------------------------

    #[rstest]
    #[case::example_below(3, 1_500_000, 0, 5000, LineStatus::Below, 1000)]
    #[case::exactly_on_line(3, 1_800_000, 0, 6000, LineStatus::AtOrAbove, 0)]
    #[case::one_fen_short(3, 1_799_999, 0, 5999, LineStatus::Below, 1)]
    #[case::costs_deducted(4, 3_000_000, 600_000, 6000, LineStatus::AtOrAbove, 0)]
    #[case::above(2, 2_000_000, 0, 10_000, LineStatus::AtOrAbove, -4000)]
    #[case::loss_rounds_down(2, 0, 100_001, -501, LineStatus::Below, 6501)]
    fn income_per_person_against_line(
        #[case] size: i64,
        #[case] wages_fen: i64,
        #[case] cost_fen: i64,
        #[case] per_person_yuan: i64,
        #[case] status: LineStatus,
        #[case] gap_yuan: i64,
    ) {
        let (a, _) = filled();
        let a = with(
            a,
            &[
                (HOUSEHOLD_SIZE, Answer::Integer(size)),
                (INCOME_WAGES, Answer::Money { fen: wages_fen }),
                (COST_PRODUCTION, Answer::Money { fen: cost_fen }),
            ],
        );
        let e = evaluate(&t(), &a);
        let inc = e.income.expect("income known");
        assert_eq!(e.household_size, Some(u32::try_from(size).expect("small")));
        assert_eq!(inc.net_income_fen, wages_fen - cost_fen);
        assert_eq!(inc.per_person_yuan, per_person_yuan);
        assert_eq!(inc.line_status, status);
        assert_eq!(inc.gap_yuan, gap_yuan);
        assert!(inc.complete);
        let listed = e.problems.iter().any(|p| p.contains("低于监测线"));
        assert_eq!(listed, status == LineStatus::Below);
    }

    #[test]
    fn income_example_in_words_and_configurable_line() {
        let (a, _) = filled();
        let e = evaluate(&t(), &a);
        assert_eq!(
            e.problems[0],
            "家庭年人均纯收入5000元，低于监测线6000元（差1000元）"
        );

        let mut other_province = t();
        other_province.monitoring_line_yuan = 4500;
        let e = evaluate(&other_province, &a);
        let inc = e.income.expect("income");
        assert_eq!(
            (inc.line_status, inc.gap_yuan),
            (LineStatus::AtOrAbove, -500)
        );
        assert!(!e.problems.iter().any(|p| p.contains("监测线")));
    }

    #[test]
    fn rigid_spending_is_reported_beside_net_income() {
        let (a, photos) = filled();
        let a = with(
            a,
            &[
                (INCOME_WAGES, Answer::yuan(30_000)),
                (SPENDING_MEDICAL, Answer::yuan(24_000)),
                (MEDICAL_BILLS_PHOTO, Answer::Photos(vec![photo(9)])),
            ],
        );
        let e = evaluate(&t(), &a);
        let inc = e.income.expect("income");
        assert_eq!(inc.per_person_yuan, 10_000);
        assert_eq!(inc.rigid_spending_fen, 2_400_000);
        assert_eq!(inc.per_person_after_rigid_yuan, 2000);
        assert!(
            e.problems
                .contains(&"扣除刚性支出后家庭年人均收入2000元，低于监测线6000元".to_owned())
        );
        assert!(
            e.problems
                .contains(&"报销后医疗自付费用超过2万元".to_owned())
        );
        assert_eq!(check_complete(&t(), &a, &photos), Ok(()));
    }

    #[test]
    fn income_incomplete_or_unknown_size() {
        let a = answers(&[
            (HOUSEHOLD_SIZE, Answer::Integer(2)),
            (INCOME_WAGES, Answer::yuan(1000)),
        ]);
        let e = evaluate(&t(), &a);
        let inc = e.income.expect("running total");
        assert!(!inc.complete);
        assert_eq!(inc.gross_income_fen, 100_000);
        assert!(
            e.problems.is_empty(),
            "no verdict on a running total: {:?}",
            e.problems
        );

        let e = evaluate(&t(), &answers(&[(INCOME_WAGES, Answer::yuan(1000))]));
        assert_eq!((e.household_size, e.income), (None, None));
    }

    proptest! {
        #[test]
        fn below_line_iff_net_below_line_times_size(
            size in 1i64..=30,
            wages in 0i64..=MAX_MONEY_FEN,
            cost in 0i64..=MAX_MONEY_FEN,
            line in 1i64..=50_000,
        ) {
            let (a, _) = filled();
            let a = with(a, &[
                (HOUSEHOLD_SIZE, Answer::Integer(size)),
                (INCOME_WAGES, Answer::Money { fen: wages }),
                (COST_PRODUCTION, Answer::Money { fen: cost }),
            ]);
            let mut tpl = t();
            tpl.monitoring_line_yuan = line;
            let inc = evaluate(&tpl, &a).income.expect("income");
            let net = wages - cost;
            prop_assert_eq!(inc.line_status == LineStatus::Below, net < line * 100 * size);
            prop_assert!(inc.per_person_fen * size <= net && net < (inc.per_person_fen + 1) * size);
            prop_assert_eq!(inc.gap_yuan > 0, inc.line_status == LineStatus::Below);
        }
    }

    // ---- water -------------------------------------------------------------------------

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum T {
        Pass,
        Fail,
        Unanswered,
    }

    fn water_answers(q: T, quality: T, conv: T, rel: T) -> Answers {
        let mut a = Answers::new();
        let mut put = |k: &str, v: Answer| {
            a.insert(k.to_owned(), v);
        };
        match q {
            T::Pass => put(WATER_LITRES_PER_PERSON_DAY, Answer::Integer(20)),
            T::Fail => put(WATER_LITRES_PER_PERSON_DAY, Answer::Integer(19)),
            T::Unanswered => {}
        }
        match quality {
            T::Pass => put(WATER_QUALITY_OK, yes()),
            T::Fail => put(WATER_QUALITY_OK, no()),
            T::Unanswered => {}
        }
        match conv {
            T::Pass => put(WATER_PIPED_IN, yes()),
            T::Fail => {
                put(WATER_PIPED_IN, no());
                put(WATER_FETCH_MINUTES, Answer::Integer(21));
                put(WATER_FETCH_HORIZONTAL_M, Answer::Integer(801));
                put(WATER_FETCH_VERTICAL_M, Answer::Integer(10));
            }
            T::Unanswered => {}
        }
        match rel {
            T::Pass => put(WATER_OUTAGE_DAYS, Answer::Integer(36)),
            T::Fail => put(WATER_OUTAGE_DAYS, Answer::Integer(37)),
            T::Unanswered => {}
        }
        a
    }

    #[test]
    fn water_unsafe_iff_any_test_fails_all_combinations() {
        let states = [T::Pass, T::Fail, T::Unanswered];
        let mut seen = 0;
        for q in states {
            for quality in states {
                for conv in states {
                    for rel in states {
                        let tests = [q, quality, conv, rel];
                        let e = evaluate(&t(), &water_answers(q, quality, conv, rel));
                        let expected = if tests.contains(&T::Fail) {
                            WaterSafety::Unsafe
                        } else if tests.contains(&T::Unanswered) {
                            WaterSafety::Unknown
                        } else {
                            WaterSafety::Safe
                        };
                        assert_eq!(e.water, expected, "{tests:?}");
                        let verdicts = tests.map(|s| match s {
                            T::Pass => Verdict::Pass,
                            T::Fail => Verdict::Fail,
                            T::Unanswered => Verdict::Unknown,
                        });
                        assert_eq!(e.water_tests, verdicts, "{tests:?}");
                        let failures = e
                            .problems
                            .iter()
                            .filter(|p| p.starts_with("饮水不安全"))
                            .count();
                        assert_eq!(failures, tests.iter().filter(|s| **s == T::Fail).count());
                        seen += 1;
                    }
                }
            }
        }
        assert_eq!(seen, 81);
    }

    #[rstest]
    #[case::piped_in(Some(true), None, None, None, Verdict::Pass)]
    #[case::piped_in_ignores_stale_distances(
        Some(true),
        Some(99),
        Some(9999),
        Some(999),
        Verdict::Pass
    )]
    #[case::close_in_time(Some(false), Some(20), None, None, Verdict::Pass)]
    #[case::near_enough(Some(false), Some(30), Some(800), Some(80), Verdict::Pass)]
    #[case::too_high(Some(false), Some(30), Some(800), Some(81), Verdict::Fail)]
    #[case::too_far(Some(false), Some(21), Some(801), Some(0), Verdict::Fail)]
    #[case::distance_unknown(Some(false), Some(30), None, Some(10), Verdict::Unknown)]
    #[case::nothing(None, None, None, None, Verdict::Unknown)]
    fn water_convenience(
        #[case] piped: Option<bool>,
        #[case] minutes: Option<i64>,
        #[case] horizontal: Option<i64>,
        #[case] vertical: Option<i64>,
        #[case] verdict: Verdict,
    ) {
        let mut a = Answers::new();
        let ints = [
            (WATER_FETCH_MINUTES, minutes),
            (WATER_FETCH_HORIZONTAL_M, horizontal),
            (WATER_FETCH_VERTICAL_M, vertical),
        ];
        for (k, v) in ints {
            if let Some(v) = v {
                a.insert(k.to_owned(), Answer::Integer(v));
            }
        }
        if let Some(p) = piped {
            a.insert(WATER_PIPED_IN.to_owned(), Answer::Bool(p));
        }
        let e = evaluate(&t(), &a);
        assert_eq!(e.water_tests[2], verdict);
        assert_eq!(e.aspect(Aspect::WaterConvenience), verdict);
    }

    proptest! {
        #[test]
        fn water_matches_the_four_rules(
            litres in 0i64..=60,
            quality in any::<bool>(),
            piped in any::<bool>(),
            minutes in 0i64..=60,
            horizontal in 0i64..=2000,
            vertical in 0i64..=200,
            outage in 0i64..=366,
        ) {
            let a = answers(&[
                (WATER_LITRES_PER_PERSON_DAY, Answer::Integer(litres)),
                (WATER_QUALITY_OK, Answer::Bool(quality)),
                (WATER_PIPED_IN, Answer::Bool(piped)),
                (WATER_FETCH_MINUTES, Answer::Integer(minutes)),
                (WATER_FETCH_HORIZONTAL_M, Answer::Integer(horizontal)),
                (WATER_FETCH_VERTICAL_M, Answer::Integer(vertical)),
                (WATER_OUTAGE_DAYS, Answer::Integer(outage)),
            ]);
            let convenient = piped || minutes <= 20 || (horizontal <= 800 && vertical <= 80);
            let safe = litres >= 20 && quality && convenient && outage <= 36;
            let expected = if safe { WaterSafety::Safe } else { WaterSafety::Unsafe };
            prop_assert_eq!(evaluate(&t(), &a).water, expected);
        }
    }

    // ---- 两不愁 and 三保障 ----------------------------------------------------------------

    #[test]
    fn complete_filling_has_everything_guaranteed() {
        let (a, _) = filled();
        let e = evaluate(&t(), &a);
        assert_eq!(e.two_no_worries, Verdict::Pass);
        assert_eq!(e.three_guarantees(), Verdict::Pass);
        assert_eq!(e.water, WaterSafety::Safe);
        assert_eq!(e.risk_types, vec![RiskType::Illness]);
        assert_eq!(e.category, Some(MonitoringCategory::MarginalAtRisk));
        assert_eq!(e.conclusion, Some(Conclusion::Qualifies));
        assert!(
            e.unanswered_required.is_empty(),
            "{:?}",
            e.unanswered_required
        );
        // Only the income problem of the 3 × ¥5,000 household.
        assert_eq!(e.problems.len(), 1);
    }

    #[rstest]
    #[case::no_children(vec![(HAS_SCHOOL_AGE_CHILDREN, no())], Verdict::Pass, Verdict::Pass)]
    #[case::in_school(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, no())], Verdict::Pass, Verdict::Pass)]
    #[case::dropout_reason_unknown(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes())], Verdict::Unknown, Verdict::Fail)]
    #[case::dropout_for_money(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("economic"))], Verdict::Fail, Verdict::Fail)]
    #[case::dropout_for_illness(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("illness_disability"))], Verdict::Pass, Verdict::Fail)]
    #[case::stale_dropout_ignored(vec![(HAS_SCHOOL_AGE_CHILDREN, no()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("economic"))], Verdict::Pass, Verdict::Pass)]
    fn compulsory_education(
        #[case] given: Vec<(&str, Answer)>,
        #[case] guaranteed: Verdict,
        #[case] no_dropout: Verdict,
    ) {
        let e = evaluate(&t(), &answers(&given));
        assert_eq!(e.compulsory_education, guaranteed);
        let c = e
            .checks
            .iter()
            .find(|c| c.key == "no_dropout")
            .expect("check");
        assert_eq!(c.verdict, no_dropout);
    }

    #[rstest]
    #[case::no_food(FOOD_SUFFICIENT, no(), "吃饭有困难：口粮或买粮的钱不够")]
    #[case::no_clothes(CLOTHING_SUFFICIENT, no(), "穿衣有困难：四季衣物或被褥不齐")]
    #[case::uninsured(
        MEDICAL_INSURANCE_ALL,
        no(),
        "基本医疗无保障：有家庭成员未参加城乡居民医保或大病保险"
    )]
    #[case::c_rated(HOUSING_RATING, ch("c"), "住房不安全：住房鉴定为C级或D级")]
    #[case::leaking(HOUSING_LEAKS, yes(), "住房不安全：屋顶漏雨")]
    #[case::no_labour(LABOUR_COUNT, Answer::Integer(0), "家中无劳动力")]
    fn failures_are_listed_in_words(
        #[case] key: &str,
        #[case] answer: Answer,
        #[case] words: &str,
    ) {
        let (a, _) = filled();
        let e = evaluate(&t(), &with(a, &[(key, answer)]));
        assert!(e.problems.iter().any(|p| p == words), "{:?}", e.problems);
    }

    #[test]
    fn housing_and_two_no_worries_verdicts() {
        let (a, _) = filled();
        let e = evaluate(&t(), &with(a.clone(), &[(HOUSING_RATING, ch("d"))]));
        assert_eq!(e.safe_housing, Verdict::Fail);
        assert_eq!(e.three_guarantees(), Verdict::Fail);
        let e = evaluate(&t(), &with(a, &[(CLOTHING_SUFFICIENT, no())]));
        assert_eq!(
            (e.food, e.clothing, e.two_no_worries),
            (Verdict::Pass, Verdict::Fail, Verdict::Fail)
        );
        let e = evaluate(&t(), &Answers::new());
        assert_eq!(e.two_no_worries, Verdict::Unknown);
        assert_eq!(e.water, WaterSafety::Unknown);
    }

    // ---- validation and completeness -----------------------------------------------------

    #[rstest]
    #[case::wrong_type(HOUSEHOLD_SIZE, Answer::Text("三".into()), AnswerProblemKind::WrongType, "“共同生活家庭人口数”的答案应为整数")]
    #[case::too_small(
        HOUSEHOLD_SIZE,
        Answer::Integer(0),
        AnswerProblemKind::OutOfRange,
        "“共同生活家庭人口数”应在1到30人之间"
    )]
    #[case::too_big(
        WATER_OUTAGE_DAYS,
        Answer::Integer(367),
        AnswerProblemKind::OutOfRange,
        "“一年中停水或缺水天数”应在0到366天之间"
    )]
    #[case::negative_money(INCOME_WAGES, Answer::Money { fen: -1 }, AnswerProblemKind::OutOfRange, "“务工收入（元）”金额不能为负数")]
    #[case::huge_money(INCOME_WAGES, Answer::Money { fen: MAX_MONEY_FEN + 1 }, AnswerProblemKind::OutOfRange, "“务工收入（元）”金额过大，请核对")]
    #[case::unknown_choice(
        HOUSING_RATING,
        ch("e"),
        AnswerProblemKind::UnknownChoice,
        "“住房安全等级”没有“e”这个选项"
    )]
    #[case::unknown_multi(RISK_TYPES, Answer::Choices(vec!["poverty".into()]), AnswerProblemKind::UnknownChoice, "“风险类型（可多选）”没有“poverty”这个选项")]
    #[case::duplicate_multi(RISK_TYPES, Answer::Choices(vec!["illness".into(), "illness".into()]), AnswerProblemKind::DuplicateChoice, "“风险类型（可多选）”的选项“illness”选了两次")]
    #[case::too_long(HARDSHIP_DESCRIPTION, Answer::Text("难".repeat(501)), AnswerProblemKind::TooLong, "“家庭困难情况描述”最多500个字，现在有501个字")]
    #[case::money_as_integer(
        INCOME_WAGES,
        Answer::Integer(100),
        AnswerProblemKind::WrongType,
        "“务工收入（元）”的答案应为金额"
    )]
    #[case::unknown_item(
        "no_such_item",
        yes(),
        AnswerProblemKind::UnknownItem,
        "核查表中没有“no_such_item”这一项"
    )]
    fn typing_errors(
        #[case] key: &str,
        #[case] answer: Answer,
        #[case] kind: AnswerProblemKind,
        #[case] message: &str,
    ) {
        let a = answers(&[(key, answer)]);
        let problems = validate_answers(&t(), &a).expect_err("invalid");
        assert_eq!(
            problems,
            vec![AnswerProblem {
                item: key.to_owned(),
                kind,
                message_zh: message.to_owned()
            }]
        );
    }

    #[test]
    fn answers_to_hidden_items_are_ignored_not_errors() {
        let a = answers(&[
            (HAS_SCHOOL_AGE_CHILDREN, no()),
            (OUT_OF_SCHOOL_REASON, Answer::Bool(true)),
            (WATER_PIPED_IN, yes()),
            (WATER_FETCH_MINUTES, Answer::Integer(-5)),
        ]);
        assert_eq!(validate_answers(&t(), &a), Ok(()));
        let (mut full, photos) = filled();
        full.extend(a);
        assert_eq!(check_complete(&t(), &full, &photos), Ok(()));
    }

    #[test]
    fn complete_filling_passes() {
        let (a, photos) = filled();
        assert_eq!(validate_answers(&t(), &a), Ok(()));
        assert_eq!(check_complete(&t(), &a, &photos), Ok(()));
    }

    fn missing(a: &Answers, photos: &ItemPhotos) -> Vec<(String, AnswerProblemKind, String)> {
        check_complete(&t(), a, photos)
            .expect_err("incomplete")
            .into_iter()
            .map(|p| (p.item, p.kind, p.message_zh))
            .collect()
    }

    #[test]
    fn missing_signature_is_named() {
        let (mut a, photos) = filled();
        a.remove(AUTHORISATION_SIGNATURE);
        assert_eq!(
            missing(&a, &photos),
            vec![(
                AUTHORISATION_SIGNATURE.to_owned(),
                AnswerProblemKind::MissingSignature,
                "请拍照：承诺授权书（户主签字并按手印）".to_owned()
            )]
        );
        // An empty list of photos is no signature either.
        a.insert(AUTHORISATION_SIGNATURE.to_owned(), Answer::Photos(vec![]));
        assert_eq!(
            missing(&a, &photos)[0].1,
            AnswerProblemKind::MissingSignature
        );
    }

    #[rstest]
    #[case::water_quantity(WATER_LITRES_PER_PERSON_DAY, "请填写：人均每天可用水量")]
    #[case::conclusion(CONCLUSION, "请填写：核查结论")]
    #[case::water_photo(WATER_SOURCE_PHOTO, "请拍照：水源照片")]
    fn missing_required_items(#[case] key: &str, #[case] message: &str) {
        let (mut a, photos) = filled();
        a.remove(key);
        let m = missing(&a, &photos);
        assert_eq!(m[0].0, key);
        assert_eq!(m[0].2, message);
        assert!(
            evaluate(&t(), &a)
                .unanswered_required
                .contains(&key.to_owned())
        );
    }

    #[test]
    fn skip_logic_drives_completeness() {
        let (a, photos) = filled();
        let a = with(a, &[(CONCLUSION, ch("does_not_qualify"))]);
        assert_eq!(
            missing(&a, &photos),
            vec![(
                NOT_QUALIFIED_REASON.to_owned(),
                AnswerProblemKind::Missing,
                "请填写：不符合的理由".to_owned()
            )]
        );
        let a = with(
            a,
            &[(NOT_QUALIFIED_REASON, Answer::Text("收入高于监测线".into()))],
        );
        assert_eq!(check_complete(&t(), &a, &photos), Ok(()));
        let a = with(
            a,
            &[
                (WATER_PIPED_IN, no()),
                (WATER_FETCH_MINUTES, Answer::Integer(10)),
            ],
        );
        let keys: Vec<String> = missing(&a, &photos).into_iter().map(|m| m.0).collect();
        assert_eq!(
            keys,
            vec![
                WATER_FETCH_HORIZONTAL_M.to_owned(),
                WATER_FETCH_VERTICAL_M.to_owned()
            ]
        );
    }

    #[test]
    fn required_photos_on_ordinary_items() {
        let (a, _) = filled();
        assert_eq!(
            missing(&a, &ItemPhotos::new()),
            vec![(
                HOUSING_RATING.to_owned(),
                AnswerProblemKind::MissingPhotos,
                "请拍照：住房安全等级（至少1张，现有0张）".to_owned()
            )]
        );
        let a = with(a, &[(SPENDING_MEDICAL, Answer::yuan(800))]);
        let (_, photos) = filled();
        assert_eq!(missing(&a, &photos)[0].0, MEDICAL_BILLS_PHOTO);
    }

    #[test]
    fn blank_text_is_not_an_answer() {
        let (a, photos) = filled();
        let a = with(a, &[(HARDSHIP_DESCRIPTION, Answer::Text("   ".into()))]);
        assert_eq!(missing(&a, &photos)[0].0, HARDSHIP_DESCRIPTION);
    }

    // ---- JSON ----------------------------------------------------------------------------

    #[test]
    fn template_json_round_trip_and_shape() {
        let t = t();
        let json = serde_json::to_string(&t).expect("ser");
        let back: ChecklistTemplate = serde_json::from_str(&json).expect("de");
        assert_eq!(back, t);
        for snippet in [
            "\"code\":\"gansu-home-verification\"",
            "\"monitoring_line_yuan\":6000",
            "\"kind\":{\"type\":\"yes_no\"}",
            "\"kind\":{\"type\":\"integer\",\"min\":1,\"max\":30,\"unit_zh\":\"人\"}",
            "\"kind\":{\"type\":\"money\"}",
            "\"kind\":{\"type\":\"signature\"}",
            "\"show_if\":{\"op\":\"equals\",\"item\":\"water_piped_in\",\"value\":false}",
            "\"photo\":{\"type\":\"required\",\"min\":1}",
            "\"aspect\":\"water_convenience\"",
            "{\"value\":\"illness\",\"label_zh\":\"因病\"}",
        ] {
            assert!(json.contains(snippet), "missing {snippet}");
        }
        // Serialising is deterministic.
        assert_eq!(serde_json::to_string(&back).expect("ser"), json);
    }

    #[test]
    fn minimal_template_json_uses_defaults() {
        let json = format!(
            r#"{{"id":"{}","code":"x","version":2,"title_zh":"测试","sections":[
                {{"key":"s","title_zh":"一","items":[
                    {{"key":"a","label_zh":"是否","kind":{{"type":"yes_no"}}}},
                    {{"key":"b","label_zh":"原因","kind":{{"type":"text","max_chars":20}},"required":true,
                      "show_if":{{"op":"not","condition":{{"op":"equals","item":"a","value":true}}}}}}
                ]}}]}}"#,
            default_template_id()
        );
        let t: ChecklistTemplate = serde_json::from_str(&json).expect("de");
        assert_eq!(t.monitoring_line_yuan, DEFAULT_MONITORING_LINE_YUAN);
        assert_eq!(t.derivation, Derivation::default());
        assert_eq!(t.validate(), Ok(()));
        let a = t.item("a").expect("a");
        assert!(!a.required);
        assert_eq!(a.photo, PhotoRequirement::None);
        assert_eq!(visible_items(&t, &Answers::new()), vec!["a".to_owned()]);
        let shown = visible_items(&t, &answers(&[("a", no())]));
        assert_eq!(shown, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn answers_json_round_trip_and_shape() {
        let a = answers(&[
            ("b", yes()),
            ("c", ch("a")),
            (
                "d",
                Answer::Date(NaiveDate::from_ymd_opt(2026, 3, 1).expect("date")),
            ),
            ("i", Answer::Integer(3)),
            ("m", Answer::yuan(15_000)),
            ("p", Answer::Photos(vec![photo(7)])),
            ("t", Answer::Text("好".into())),
            ("x", Answer::Choices(vec!["illness".into()])),
        ]);
        let json = serde_json::to_string(&a).expect("ser");
        assert_eq!(
            json,
            format!(
                concat!(
                    r#"{{"b":{{"type":"bool","value":true}},"c":{{"type":"choice","value":"a"}},"#,
                    r#""d":{{"type":"date","value":"2026-03-01"}},"i":{{"type":"integer","value":3}},"#,
                    r#""m":{{"type":"money","value":{{"fen":1500000}}}},"p":{{"type":"photos","value":["{}"]}},"#,
                    r#""t":{{"type":"text","value":"好"}},"x":{{"type":"choices","value":["illness"]}}}}"#
                ),
                photo(7)
            )
        );
        let back: Answers = serde_json::from_str(&json).expect("de");
        assert_eq!(back, a);
    }

    #[test]
    fn evaluation_serialises() {
        let (a, _) = filled();
        let e = evaluate(&t(), &a);
        let json = serde_json::to_string(&e).expect("ser");
        assert!(json.contains("\"water\":\"safe\""));
        assert!(json.contains("\"line_status\":\"below\""));
        let back: Evaluation = serde_json::from_str(&json).expect("de");
        assert_eq!(back, e);
    }
}
