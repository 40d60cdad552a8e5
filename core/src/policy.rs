//! The province's policy figures as data: the yearly income line (监测收入标准), how long a
//! household has to appeal a refusal, the departments that push warnings, and the warning
//! thresholds.
//!
//! Each of these is set by the province, changes from year to year, and must not wait for a new
//! release: a province administrator edits the document on the server (as the holiday calendar
//! and the deadline rules), devices receive it with `/v1/procedure`, and every verdict names the
//! line and year it used. The built-in document is `assets/policy/gansu.json`; every figure in it
//! carries its published source, or says that none was found and the figure is a default.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::division::{DivisionCode, Level};

/// The built-in Gansu document.
const GANSU_JSON: &str = include_str!("../../assets/policy/gansu.json");

/// The income line of one year: annual net income per person, in yuan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct IncomeLine {
    pub year: i32,
    pub yuan: i64,
    /// Where the figure was published.
    pub source: String,
}

/// The line that applies on a date, and whether it is that year's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct MonitoringLine {
    pub yuan: i64,
    /// The year the figure was published for.
    pub year: i32,
    /// The date's own year has no published figure yet: the latest earlier one is used until
    /// it is (暂按上年标准).
    pub provisional: bool,
}

impl MonitoringLine {
    /// E.g. "2024年监测线7800元", "监测线7800元（暂按2024年标准）".
    pub fn describe_zh(&self) -> String {
        if self.provisional {
            format!("监测线{}元（暂按{}年标准）", self.yuan, self.year)
        } else {
            format!("{}年监测线{}元", self.year, self.yuan)
        }
    }
}

/// A department that pushes warnings (行业部门), by a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct DepartmentEntry {
    pub code: String,
    pub name_zh: String,
}

/// Which people a medical out-of-pocket threshold is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// 脱贫户 (建档立卡).
    FormerlyPoor,
    /// Households already monitored (监测对象).
    Monitored,
    /// Every other rural household.
    Other,
}

impl Population {
    pub const fn name_zh(self) -> &'static str {
        match self {
            Population::FormerlyPoor => "脱贫人口",
            Population::Monitored => "监测对象",
            Population::Other => "一般农户",
        }
    }
}

/// A threshold of annual medical out-of-pocket cost after reimbursement, reached at or above
/// (超（含）) the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct MedicalThreshold {
    pub population: Population,
    pub yuan: i64,
}

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("政策参数不是有效的JSON：{0}")]
    Json(String),
    #[error("政策参数的省份应为2位省级区划代码，“{0}”不是")]
    NotProvince(DivisionCode),
    #[error("至少要有一年的监测收入标准")]
    NoIncomeLine,
    #[error("{year}年的监测收入标准{yuan}元不合理（应在1000元到100000元之间）")]
    LineOutOfRange { year: i32, yuan: i64 },
    #[error("{0}年的监测收入标准重复")]
    DuplicateYear(i32),
    #[error("{0}年的监测收入标准没有写明出处")]
    LineWithoutSource(i32),
    #[error("申诉期限应在1到90天之间")]
    AppealWindow,
    #[error("常态化关注的回访间隔应在7到366天之间")]
    RoutineAttention,
    #[error("部门名单不能为空，部门编码和名称都要填写且不能重复")]
    Departments,
    #[error("医疗自付预警标准要为脱贫人口、监测对象和一般农户各设一项，且金额大于0")]
    MedicalThresholds,
}

/// The province's policy figures (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(try_from = "PolicyRepr")]
pub struct Policy {
    #[ts(type = "string")]
    pub province: DivisionCode,
    /// Sorted by year.
    pub income_lines: Vec<IncomeLine>,
    /// Days after the household was told of a refusal during which it may appeal; the case
    /// cannot be closed before they have passed.
    pub appeal_window_days: u32,
    pub appeal_window_source: String,
    /// Days between return visits to households under 常态化关注 (not included but watched,
    /// or after 风险消除).
    pub routine_attention_interval_days: u32,
    pub routine_attention_source: String,
    pub departments: Vec<DepartmentEntry>,
    pub departments_source: String,
    pub medical_out_of_pocket_yuan: Vec<MedicalThreshold>,
    pub medical_source: String,
}

fn default_routine_attention_days() -> u32 {
    90
}

/// The serde shape of [`Policy`], before validation.
#[derive(Debug, Deserialize)]
struct PolicyRepr {
    province: DivisionCode,
    income_lines: Vec<IncomeLine>,
    appeal_window_days: u32,
    #[serde(default)]
    appeal_window_source: String,
    #[serde(default = "default_routine_attention_days")]
    routine_attention_interval_days: u32,
    #[serde(default)]
    routine_attention_source: String,
    departments: Vec<DepartmentEntry>,
    #[serde(default)]
    departments_source: String,
    medical_out_of_pocket_yuan: Vec<MedicalThreshold>,
    #[serde(default)]
    medical_source: String,
}

impl TryFrom<PolicyRepr> for Policy {
    type Error = PolicyError;
    fn try_from(r: PolicyRepr) -> Result<Self, Self::Error> {
        let mut income_lines = r.income_lines;
        income_lines.sort_by_key(|l| l.year);
        let policy = Policy {
            province: r.province,
            income_lines,
            appeal_window_days: r.appeal_window_days,
            appeal_window_source: r.appeal_window_source,
            routine_attention_interval_days: r.routine_attention_interval_days,
            routine_attention_source: r.routine_attention_source,
            departments: r.departments,
            departments_source: r.departments_source,
            medical_out_of_pocket_yuan: r.medical_out_of_pocket_yuan,
            medical_source: r.medical_source,
        };
        policy.validate()?;
        Ok(policy)
    }
}

impl Policy {
    /// Gansu's figures, as built in.
    #[allow(clippy::expect_used)]
    pub fn gansu() -> Policy {
        // The asset is checked by a test; a broken one fails every build's tests.
        Policy::from_json(GANSU_JSON).expect("assets/policy/gansu.json is valid")
    }

    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let repr: PolicyRepr =
            serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))?;
        Policy::try_from(repr)
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.province.level() != Level::Province {
            return Err(PolicyError::NotProvince(self.province.clone()));
        }
        if self.income_lines.is_empty() {
            return Err(PolicyError::NoIncomeLine);
        }
        for (i, line) in self.income_lines.iter().enumerate() {
            if !(1000..=100_000).contains(&line.yuan) {
                return Err(PolicyError::LineOutOfRange {
                    year: line.year,
                    yuan: line.yuan,
                });
            }
            if line.source.trim().is_empty() {
                return Err(PolicyError::LineWithoutSource(line.year));
            }
            if self.income_lines[..i].iter().any(|l| l.year == line.year) {
                return Err(PolicyError::DuplicateYear(line.year));
            }
        }
        if !(1..=90).contains(&self.appeal_window_days) {
            return Err(PolicyError::AppealWindow);
        }
        if !(7..=366).contains(&self.routine_attention_interval_days) {
            return Err(PolicyError::RoutineAttention);
        }
        let mut codes = std::collections::BTreeSet::new();
        if self.departments.is_empty()
            || self.departments.iter().any(|d| {
                d.code.trim().is_empty()
                    || d.name_zh.trim().is_empty()
                    || !codes.insert(d.code.as_str())
            })
        {
            return Err(PolicyError::Departments);
        }
        let covered = [
            Population::FormerlyPoor,
            Population::Monitored,
            Population::Other,
        ]
        .iter()
        .all(|p| {
            self.medical_out_of_pocket_yuan
                .iter()
                .filter(|t| t.population == *p)
                .count()
                == 1
        });
        if !covered || self.medical_out_of_pocket_yuan.iter().any(|t| t.yuan <= 0) {
            return Err(PolicyError::MedicalThresholds);
        }
        Ok(())
    }

    /// The line in force on `date`: that year's figure, or the latest earlier one marked
    /// provisional. A date before every published year gets the earliest figure, provisional.
    pub fn income_line_on(&self, date: NaiveDate) -> MonitoringLine {
        let year = date.year();
        let line = self
            .income_lines
            .iter()
            .rev()
            .find(|l| l.year <= year)
            .or_else(|| self.income_lines.first());
        match line {
            Some(l) => MonitoringLine {
                yuan: l.yuan,
                year: l.year,
                provisional: l.year != year,
            },
            // validate() refuses an empty list; this keeps the function total.
            None => MonitoringLine {
                yuan: crate::checklist::DEFAULT_MONITORING_LINE_YUAN,
                year,
                provisional: true,
            },
        }
    }

    /// The department's name, or the code itself when the list no longer has it.
    pub fn department_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.departments
            .iter()
            .find(|d| d.code == code)
            .map_or(code, |d| d.name_zh.as_str())
    }

    /// Whether an annual medical out-of-pocket cost (in fen) reaches the threshold for
    /// `population`.
    pub fn medical_cost_reaches_threshold(&self, population: Population, fen: i64) -> bool {
        self.medical_out_of_pocket_yuan
            .iter()
            .find(|t| t.population == population)
            .is_some_and(|t| fen >= t.yuan.saturating_mul(100))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::gansu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn the_built_in_document_is_valid_and_every_line_has_a_source() {
        let p = Policy::gansu();
        assert_eq!(p.province.as_str(), "62");
        assert!(p.income_lines.iter().all(|l| !l.source.trim().is_empty()));
        assert_eq!(p.departments.len(), 17);
        assert!(!p.departments_source.is_empty() && !p.medical_source.is_empty());
        // The 旺苍 list names these four, which the earlier built-in list had made up.
        for name in ["群工", "宣传（网信中心）", "行政审批", "乡村振兴"] {
            assert!(p.departments.iter().any(|d| d.name_zh == name), "{name}");
        }
    }

    #[rstest]
    #[case::own_year("2024-06-30", 7800, 2024, false)]
    #[case::year_without_figure("2026-12-05", 7800, 2024, true)]
    #[case::earlier_year("2023-01-01", 7200, 2023, false)]
    #[case::gap_year("2022-05-01", 6000, 2021, true)]
    #[case::before_all("2019-05-01", 6000, 2021, true)]
    fn the_line_of_a_date(
        #[case] date: &str,
        #[case] yuan: i64,
        #[case] year: i32,
        #[case] provisional: bool,
    ) {
        let line = Policy::gansu().income_line_on(d(date));
        assert_eq!(
            line,
            MonitoringLine {
                yuan,
                year,
                provisional
            }
        );
    }

    #[test]
    fn a_line_names_its_year_in_words() {
        let p = Policy::gansu();
        assert_eq!(
            p.income_line_on(d("2024-03-01")).describe_zh(),
            "2024年监测线7800元"
        );
        assert_eq!(
            p.income_line_on(d("2026-03-01")).describe_zh(),
            "监测线7800元（暂按2024年标准）"
        );
    }

    #[test]
    fn the_seed_example_reaches_the_medical_threshold_of_a_formerly_poor_household() {
        // The seed: self-paid ¥19,151.81 after reimbursement.
        let p = Policy::gansu();
        assert!(p.medical_cost_reaches_threshold(Population::FormerlyPoor, 1_915_181));
        assert!(p.medical_cost_reaches_threshold(Population::Monitored, 1_915_181));
        assert!(!p.medical_cost_reaches_threshold(Population::Other, 1_915_181));
        // 超（含）: the figure itself counts.
        assert!(p.medical_cost_reaches_threshold(Population::Other, 2_000_000));
        assert!(!p.medical_cost_reaches_threshold(Population::Other, 1_999_999));
    }

    #[rstest]
    #[case::no_lines(r#""income_lines": []"#, "至少要有一年")]
    #[case::silly_line(
        r#""income_lines": [{"year": 2024, "yuan": 78, "source": "x"}]"#,
        "不合理"
    )]
    #[case::no_source(
        r#""income_lines": [{"year": 2024, "yuan": 7800, "source": " "}]"#,
        "出处"
    )]
    #[case::duplicate(
        r#""income_lines": [{"year": 2024, "yuan": 7800, "source": "a"}, {"year": 2024, "yuan": 7900, "source": "b"}]"#,
        "重复"
    )]
    fn bad_lines_are_refused_in_words(#[case] lines: &str, #[case] says: &str) {
        let mut v: serde_json::Value = serde_json::from_str(GANSU_JSON).expect("json");
        let patch: serde_json::Value =
            serde_json::from_str(&format!("{{{lines}}}")).expect("patch");
        v["income_lines"] = patch["income_lines"].clone();
        let err = Policy::from_json(&v.to_string()).expect_err("refused");
        assert!(err.to_string().contains(says), "{err}");
    }

    #[test]
    fn other_bad_figures_are_refused() {
        let base: serde_json::Value = serde_json::from_str(GANSU_JSON).expect("json");
        let refused = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = base.clone();
            f(&mut v);
            Policy::from_json(&v.to_string()).expect_err("refused")
        };
        assert_eq!(
            refused(&|v| v["appeal_window_days"] = 0.into()),
            PolicyError::AppealWindow
        );
        assert_eq!(
            refused(&|v| v["departments"] = serde_json::json!([])),
            PolicyError::Departments
        );
        assert_eq!(
            refused(&|v| v["medical_out_of_pocket_yuan"] =
                serde_json::json!([{"population": "other", "yuan": 20000}])),
            PolicyError::MedicalThresholds
        );
        assert!(matches!(
            refused(&|v| v["province"] = "6211".into()),
            PolicyError::NotProvince(_)
        ));
    }
}
