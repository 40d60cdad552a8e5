//! Reading answers against a template: visibility, derived results, typing errors and
//! completeness. Pure and cheap enough to run on every keystroke.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::policy::MonitoringLine;

use crate::case::{MonitoringCategory, RiskType};
use crate::ids::PhotoId;

use super::*;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
    /// The year the line was published for; `None` when it is the template's own figure (no
    /// policy document was at hand).
    #[serde(default)]
    pub line_year: Option<i32>,
    /// The visit's year has no published line yet and the latest earlier one was used.
    #[serde(default)]
    pub line_provisional: bool,
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

impl IncomeSummary {
    /// The line in words, naming its year when known: "2024年监测线7800元".
    pub fn line_zh(&self) -> String {
        match self.line_year {
            Some(year) => MonitoringLine {
                yuan: self.monitoring_line_yuan,
                year,
                provisional: self.line_provisional,
            }
            .describe_zh(),
            None => format!("监测线{}元", self.monitoring_line_yuan),
        }
    }
}

/// What a risk-elimination check visit shows, computed from its answers (never taken from a
/// device's word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RiskCheck {
    /// Income per person after rigid spending (刚性支出) is at or above the line, with every
    /// income, deduction and rigid-spending item answered.
    pub income_above_line: bool,
    /// 两不愁、三保障 and safe drinking water all pass.
    pub guarantees_kept: bool,
    /// E.g. "扣除刚性支出后人均8200元，2024年监测线7800元".
    pub summary_zh: String,
}

impl Evaluation {
    /// The evidence for 风险消除 (see [`RiskCheck`]).
    pub fn risk_check(&self) -> RiskCheck {
        let income = self.income.as_ref().filter(|i| i.complete);
        let income_above_line = income.is_some_and(|i| {
            i.line_status == LineStatus::AtOrAbove
                && i.per_person_after_rigid_yuan >= i.monitoring_line_yuan
        });
        let guarantees_kept = self.two_no_worries == Verdict::Pass
            && self.three_guarantees() == Verdict::Pass
            && self.water == WaterSafety::Safe;
        let summary_zh = match income {
            Some(i) => format!(
                "人均纯收入{}元，扣除刚性支出后{}元，{}；两不愁三保障及饮水安全{}",
                i.per_person_yuan,
                i.per_person_after_rigid_yuan,
                i.line_zh(),
                if guarantees_kept {
                    "均有保障"
                } else {
                    "未全部保障"
                }
            ),
            None => "收入情况未填写完整".to_owned(),
        };
        RiskCheck {
            income_above_line,
            guarantees_kept,
            summary_zh,
        }
    }
}

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CheckOutcome {
    pub key: String,
    pub aspect: Aspect,
    pub verdict: Verdict,
}

/// Everything derived from the answers, recomputed whenever an answer changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
    evaluate_against(template, answers, None)
}

/// [`evaluate`] against the province's line of the visit's year (see
/// [`crate::policy::Policy::income_line_on`]) instead of the template's own figure; every income
/// verdict then names the line and its year.
pub fn evaluate_against(
    template: &ChecklistTemplate,
    answers: &Answers,
    line: Option<MonitoringLine>,
) -> Evaluation {
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

    let income = household_size.map(|size| income_summary(template, &eff, size, line));

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
                "家庭年人均纯收入{}元，低于{}（差{}元）",
                inc.per_person_yuan,
                inc.line_zh(),
                inc.gap_yuan
            ));
        } else if inc.per_person_after_rigid_yuan < inc.monitoring_line_yuan {
            problems.push(format!(
                "扣除刚性支出后家庭年人均收入{}元，低于{}",
                inc.per_person_after_rigid_yuan,
                inc.line_zh()
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
            .filter_map(|v| crate::codec::enum_parse::<RiskType>(v).ok())
            .collect(),
        _ => Vec::new(),
    };
    let choice = |key: &Option<String>| match key.as_deref().and_then(|k| eff.get(k)) {
        Some(Answer::Choice(v)) => Some(v.as_str()),
        _ => None,
    };
    let category =
        choice(&d.category).and_then(|v| crate::codec::enum_parse::<MonitoringCategory>(v).ok());
    let conclusion =
        choice(&d.conclusion).and_then(|v| crate::codec::enum_parse::<Conclusion>(v).ok());

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

fn income_summary(
    template: &ChecklistTemplate,
    eff: &Effective<'_>,
    size: u32,
    policy_line: Option<MonitoringLine>,
) -> IncomeSummary {
    let d = &template.derivation;
    let (gross, missing_income) = eff.sum_money(&d.income);
    let (deductions, missing_deductions) = eff.sum_money(&d.deductions);
    let (rigid, missing_rigid) = eff.sum_money(&d.rigid_spending);
    let net = gross.saturating_sub(deductions);
    let divisor = i64::from(size);
    let per_person_fen = net.div_euclid(divisor);
    let per_person_yuan = per_person_fen.div_euclid(100);
    let line = policy_line.map_or(template.monitoring_line_yuan, |l| l.yuan);
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
        line_year: policy_line.map(|l| l.year),
        line_provisional: policy_line.is_some_and(|l| l.provisional),
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
