//! The template: sections of items, their kinds, photos and skip conditions, and the
//! checks a new template version must pass before it is sent to phones.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::case::{MonitoringCategory, RiskType};
use crate::ids::TemplateId;

use super::*;

/// One version of a checklist form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "ChecklistSection")]
pub struct Section {
    pub key: String,
    pub title_zh: String,
    pub items: Vec<Item>,
}

/// One question of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "ChecklistItem")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
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
            .all(|o| crate::codec::enum_parse::<T>(&o.value).is_ok())
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
