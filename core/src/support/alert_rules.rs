//! 部门预警规则: which lines of a department's list are warnings, and the checks every line of
//! such a list passes before anything is stored.
//!
//! Departments push lists of people (医保 each person's year-to-date self-paid costs, 住建 house
//! ratings, 教育 children out of school …). Whether a line is a warning differs by department
//! and by matter (预警事项), and the figures are policy that changes by place and year; so the
//! rules are a document an administrator edits on the server, like the holiday calendar, with
//! defaults that name their published source or say that none was found. The same document holds
//! the window within which a repeat of a warning is a duplicate and the share of closed cases the
//! routine spot check (常态抽查复核) draws each month.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::case::RiskType;
use crate::policy::{Policy, Population};
use crate::validation::{IdNumberError, ResidentIdNumber, id_check_char};

use super::FEN_PER_YUAN;

/// The built-in rules.
const GANSU_RULES_JSON: &str = include_str!("../../../assets/policy/alert-rules.json");

/// The columns every department's template has, in order.
pub const BASE_HEADERS: [&str; 6] = [
    "身份证号",
    "姓名",
    "预警事项",
    "金额（元）",
    "发生日期",
    "备注",
];

/// When a line of a matter is a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Criterion {
    /// Every line is (an event that counts by itself: a child out of school, assistance ended).
    Always,
    /// The amount reaches (超（含）) a figure.
    AmountAtLeast { yuan: i64 },
    /// The amount reaches the province's medical out-of-pocket threshold for the person's
    /// population ([`Policy::medical_out_of_pocket_yuan`]): one figure, kept in one place.
    MedicalThreshold,
    /// A column of the department's template holds one of these values (住建: 房屋等级 C or D).
    ColumnIn { column: String, values: Vec<String> },
    /// The amount reaches `percent` % of the household's annual income, as the line's
    /// `income_column` gives it. A line without that figure does not meet this criterion: no
    /// estimate of a household's income is made up here.
    ShareOfIncome { percent: u32, income_column: String },
    /// Any one of these (医保: over the amount for the person's population, or over a share of
    /// the household's income).
    AnyOf { any_of: Vec<Criterion> },
}

impl Criterion {
    /// Why the criterion cannot work with a department's template, if it cannot.
    fn problem(&self, extra_columns: &[String]) -> Option<&'static str> {
        match self {
            Criterion::AmountAtLeast { yuan } if *yuan <= 0 => Some("金额标准应大于0"),
            Criterion::ColumnIn { column, values } => {
                if !extra_columns.iter().any(|c| c == column) {
                    Some("所依据的列不在该部门模板的附加列中")
                } else if values.is_empty() {
                    Some("至少要有一个取值")
                } else {
                    None
                }
            }
            Criterion::ShareOfIncome {
                percent,
                income_column,
            } => {
                if !extra_columns.iter().any(|c| c == income_column) {
                    Some("所依据的收入列不在该部门模板的附加列中")
                } else if !(1..=1000).contains(percent) {
                    Some("收入占比应在1%到1000%之间")
                } else {
                    None
                }
            }
            Criterion::AnyOf { any_of } if any_of.is_empty() => Some("“任一条件”至少要有一项"),
            Criterion::AnyOf { any_of } => any_of.iter().find_map(|c| c.problem(extra_columns)),
            _ => None,
        }
    }
}

/// The rule of one matter (预警事项) of a department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterRule {
    /// As written in the 预警事项 column, e.g. "住院自付费用".
    pub matter: String,
    /// The risk type a lead from this matter starts with; the worker's visit may change it.
    pub risk_type: RiskType,
    pub criterion: Criterion,
    /// Where the criterion was published, or why it is a default.
    pub source: String,
}

/// A department's rules and the extra columns of its template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRules {
    /// The department's code in the policy's list.
    pub department: String,
    /// Columns after the six base ones (e.g. 住建: 房屋等级).
    #[serde(default)]
    pub extra_columns: Vec<String>,
    pub matters: Vec<MatterRule>,
}

/// The whole document (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRules {
    pub departments: Vec<DepartmentRules>,
    /// A warning repeating one already taken up (same department, person and matter) within
    /// this many days is a duplicate.
    pub duplicate_window_days: u32,
    pub duplicate_window_source: String,
    /// Percent of the cases closed in a month (not qualified, rejected, risk eliminated) that
    /// the county's spot check draws.
    pub spot_check_percent: u32,
    pub spot_check_source: String,
}

/// Why a rules document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertRulesError {
    #[error("预警规则不是有效的JSON：{0}")]
    Json(String),
    #[error("预警规则中的部门“{0}”不在政策参数的部门名单中")]
    UnknownDepartment(String),
    #[error("部门“{0}”的预警规则重复")]
    DuplicateDepartment(String),
    #[error("部门“{department}”的预警事项“{matter}”有误：{why}")]
    BadMatter {
        department: String,
        matter: String,
        why: &'static str,
    },
    #[error("重复预警的判定期限应在1到366天之间")]
    DuplicateWindow,
    #[error("抽查比例应在1%到100%之间")]
    SpotCheckShare,
}

impl AlertRules {
    /// The built-in rules.
    #[allow(clippy::expect_used)]
    pub fn gansu() -> AlertRules {
        // The asset is checked by a test; a broken one fails every build's tests.
        AlertRules::from_json(GANSU_RULES_JSON, &Policy::gansu())
            .expect("assets/policy/alert-rules.json is valid")
    }

    /// Parse and check against the departments of `policy`.
    pub fn from_json(text: &str, policy: &Policy) -> Result<AlertRules, AlertRulesError> {
        let rules: AlertRules =
            serde_json::from_str(text).map_err(|e| AlertRulesError::Json(e.to_string()))?;
        rules.validate(policy)?;
        Ok(rules)
    }

    pub fn validate(&self, policy: &Policy) -> Result<(), AlertRulesError> {
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.departments {
            if !policy.departments.iter().any(|p| p.code == d.department) {
                return Err(AlertRulesError::UnknownDepartment(d.department.clone()));
            }
            if !seen.insert(d.department.as_str()) {
                return Err(AlertRulesError::DuplicateDepartment(d.department.clone()));
            }
            let bad = |m: &MatterRule, why| AlertRulesError::BadMatter {
                department: policy.department_name(&d.department).to_owned(),
                matter: m.matter.clone(),
                why,
            };
            let mut matters = std::collections::BTreeSet::new();
            for m in &d.matters {
                if m.matter.trim().is_empty() || !matters.insert(m.matter.trim()) {
                    return Err(bad(m, "事项名称为空或重复"));
                }
                if m.source.trim().is_empty() {
                    return Err(bad(m, "没有写明出处"));
                }
                if let Some(why) = m.criterion.problem(&d.extra_columns) {
                    return Err(bad(m, why));
                }
            }
        }
        if !(1..=366).contains(&self.duplicate_window_days) {
            return Err(AlertRulesError::DuplicateWindow);
        }
        if !(1..=100).contains(&self.spot_check_percent) {
            return Err(AlertRulesError::SpotCheckShare);
        }
        Ok(())
    }

    pub fn department(&self, code: &str) -> Option<&DepartmentRules> {
        self.departments.iter().find(|d| d.department == code)
    }
}

impl DepartmentRules {
    /// The template's header line.
    pub fn headers(&self) -> Vec<String> {
        BASE_HEADERS
            .iter()
            .map(|h| (*h).to_owned())
            .chain(self.extra_columns.iter().cloned())
            .collect()
    }

    pub fn matter(&self, name: &str) -> Option<&MatterRule> {
        self.matters.iter().find(|m| m.matter == name.trim())
    }
}

/// One line of a department's list as read from a file or the API: the text of each column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawAlertLine {
    pub id_number: String,
    pub name: String,
    pub matter: String,
    pub amount: String,
    pub occurred_on: String,
    pub note: String,
    #[serde(default)]
    pub extras: BTreeMap<String, String>,
}

/// A line that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLine {
    pub id_number: ResidentIdNumber,
    pub name: String,
    pub matter: String,
    pub amount_fen: Option<i64>,
    pub occurred_on: NaiveDate,
    pub note: String,
    pub extras: BTreeMap<String, String>,
}

impl AlertLine {
    /// The warning's facts in a line, as the worker and the console read them:
    /// `医保预警：住院自付费用 19151.81元（2026年11月30日）；医疗总费用（元）：70447.56`.
    pub fn facts_zh(&self, department_name: &str) -> String {
        let mut s = format!("{department_name}预警：{}", self.matter);
        if let Some(fen) = self.amount_fen {
            s.push_str(&format!(" {}元", yuan_text(fen)));
        }
        let d = self.occurred_on;
        s.push_str(&format!("（{}年{}月{}日）", d.year(), d.month(), d.day()));
        for (k, v) in &self.extras {
            if !v.trim().is_empty() {
                s.push_str(&format!("；{k}：{v}"));
            }
        }
        if !self.note.trim().is_empty() {
            s.push_str(&format!("；备注：{}", self.note.trim()));
        }
        s
    }
}

/// `19151.81`, `20000`.
pub fn yuan_text(fen: i64) -> String {
    let (y, f) = (fen / FEN_PER_YUAN, (fen % FEN_PER_YUAN).abs());
    if f == 0 {
        y.to_string()
    } else if f % 10 == 0 {
        format!("{y}.{}", f / 10)
    } else {
        format!("{y}.{f:02}")
    }
}

/// Check one line against the department's rules; every problem of the line, in words.
pub fn check_line(
    rules: &DepartmentRules,
    raw: &RawAlertLine,
    today: NaiveDate,
) -> Result<AlertLine, Vec<String>> {
    let mut problems = Vec::new();
    let id_number = match parse_id_number(&raw.id_number, today) {
        Ok(n) => Some(n),
        Err(e) => {
            problems.push(format!("身份证号“{}”有误：{e}", raw.id_number.trim()));
            None
        }
    };
    let name = raw.name.trim();
    if name.is_empty() {
        problems.push("姓名为空".to_owned());
    } else if name.chars().count() > 50 {
        problems.push("姓名超过50个字".to_owned());
    }
    let matter = rules.matter(&raw.matter);
    if matter.is_none() {
        let known = rules
            .matters
            .iter()
            .map(|m| m.matter.as_str())
            .collect::<Vec<_>>()
            .join("、");
        problems.push(format!(
            "预警事项“{}”不在本部门的预警规则中（可填：{known}）",
            raw.matter.trim()
        ));
    }
    let amount_fen = if raw.amount.trim().is_empty() {
        None
    } else {
        match parse_amount_fen(&raw.amount) {
            Ok(f) => Some(f),
            Err(why) => {
                problems.push(format!("金额“{}”有误：{why}", raw.amount.trim()));
                None
            }
        }
    };
    if let Some(m) = matter
        && matches!(
            m.criterion,
            Criterion::AmountAtLeast { .. } | Criterion::MedicalThreshold
        )
        && raw.amount.trim().is_empty()
    {
        problems.push(format!("预警事项“{}”须填写金额", m.matter));
    }
    let occurred_on = match parse_date(&raw.occurred_on) {
        Ok(d) if d > today => {
            problems.push(format!("发生日期{d}晚于今天"));
            None
        }
        Ok(d) => Some(d),
        Err(why) => {
            problems.push(format!("发生日期“{}”有误：{why}", raw.occurred_on.trim()));
            None
        }
    };
    if let Some(Criterion::ColumnIn { column, .. }) = matter.map(|m| &m.criterion)
        && raw.extras.get(column).is_none_or(|v| v.trim().is_empty())
    {
        problems.push(format!("预警事项“{}”须填写“{column}”", raw.raw_matter()));
    }
    if raw.note.chars().count() > 500 {
        problems.push("备注超过500个字".to_owned());
    }
    match (id_number, matter, occurred_on) {
        (Some(id_number), Some(m), Some(occurred_on)) if problems.is_empty() => Ok(AlertLine {
            id_number,
            name: name.to_owned(),
            matter: m.matter.clone(),
            amount_fen,
            occurred_on,
            note: raw.note.trim().to_owned(),
            extras: raw
                .extras
                .iter()
                .map(|(k, v)| (k.clone(), v.trim().to_owned()))
                .collect(),
        }),
        _ => Err(problems),
    }
}

impl RawAlertLine {
    fn raw_matter(&self) -> &str {
        self.matter.trim()
    }
}

/// Whether a checked line is a warning for a person of `population`.
pub fn is_warning(
    rule: &MatterRule,
    line: &AlertLine,
    policy: &Policy,
    population: Population,
) -> bool {
    meets(&rule.criterion, line, policy, population)
}

fn meets(criterion: &Criterion, line: &AlertLine, policy: &Policy, population: Population) -> bool {
    match criterion {
        Criterion::Always => true,
        Criterion::AmountAtLeast { yuan } => line
            .amount_fen
            .is_some_and(|f| f >= yuan.saturating_mul(FEN_PER_YUAN)),
        Criterion::MedicalThreshold => line
            .amount_fen
            .is_some_and(|f| policy.medical_cost_reaches_threshold(population, f)),
        Criterion::ColumnIn { column, values } => line.extras.get(column).is_some_and(|v| {
            let v = v.trim().trim_end_matches('级').to_uppercase();
            values.iter().any(|x| x.trim().to_uppercase() == v)
        }),
        Criterion::ShareOfIncome {
            percent,
            income_column,
        } => {
            let income = line
                .extras
                .get(income_column)
                .and_then(|v| parse_amount_fen(v).ok())
                .filter(|f| *f > 0);
            match (line.amount_fen, income) {
                // amount ≥ income × percent / 100, in integers.
                (Some(amount), Some(income)) => {
                    i128::from(amount) * 100 >= i128::from(income) * i128::from(*percent)
                }
                _ => false,
            }
        }
        Criterion::AnyOf { any_of } => any_of.iter().any(|c| meets(c, line, policy, population)),
    }
}

/// An ID number as departments' systems write it: the core's checks (full-width digits and
/// spaces are accepted), and an old 15-digit number (before 1999) converted to its 18-digit
/// form by GB 11643's own rule (insert the century `19`, append the check character), since
/// some departments' records still hold them.
pub fn parse_id_number(s: &str, today: NaiveDate) -> Result<ResidentIdNumber, IdNumberError> {
    match ResidentIdNumber::parse(s, today) {
        Err(IdNumberError::OldFifteenDigit) => {
            let digits: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| match c {
                    '０'..='９' => {
                        char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c)
                    }
                    c => c,
                })
                .collect();
            let body = format!("{}19{}", &digits[..6], &digits[6..]);
            let check = id_check_char(&body).ok_or(IdNumberError::OldFifteenDigit)?;
            ResidentIdNumber::parse(&format!("{body}{check}"), today)
        }
        other => other,
    }
}

/// An amount in yuan as spreadsheets write it (`19,151.81`, `19151.81元`, `￥20000`), in fen.
pub fn parse_amount_fen(s: &str) -> Result<i64, &'static str> {
    let cleaned: String = s
        .trim()
        .trim_end_matches('元')
        .trim_start_matches(['￥', '¥'])
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '\u{3000}'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            c => c,
        })
        .collect();
    if cleaned.starts_with('-') {
        return Err("金额不能为负数");
    }
    let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err("不是数字");
    }
    if frac.len() > 2 && frac[2..].chars().any(|c| c != '0') {
        return Err("最多两位小数（到分）");
    }
    let yuan: i64 = whole.parse().map_err(|_| "金额过大")?;
    if yuan > 100_000_000 {
        return Err("金额过大");
    }
    let mut f = frac.chars().take(2).collect::<String>();
    while f.len() < 2 {
        f.push('0');
    }
    let fen: i64 = f.parse().map_err(|_| "不是数字")?;
    Ok(yuan * FEN_PER_YUAN + fen)
}

/// A date as spreadsheets write it: `2026-11-30`, `2026/11/30`, `2026.11.30`, `20261130`,
/// `2026年11月30日`, or an Excel serial day number (`46356`: days since 1899-12-30, what a
/// date cell becomes when the file is saved as CSV with the cell formatted as a number).
pub fn parse_date(s: &str) -> Result<NaiveDate, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("为空");
    }
    // An Excel serial (1 = 1900-01-01; the 1900 leap-year bug makes day 0 1899-12-30 for every
    // date after February 1900, the only ones that matter here).
    if let Ok(serial) = t.parse::<f64>()
        && (20_000.0..=80_000.0).contains(&serial)
    {
        let base = NaiveDate::from_ymd_opt(1899, 12, 30).ok_or("日期无效")?;
        return base
            .checked_add_days(chrono::Days::new(serial.trunc() as u64))
            .ok_or("日期无效");
    }
    if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").map_err(|_| "日期无效");
    }
    let normal: String = t
        .replace(['年', '月', '/', '.'], "-")
        .trim_end_matches('日')
        .to_owned();
    // Excel's "yyyy-mm-dd hh:mm:ss" date-times: the day is what counts.
    let day = normal.split([' ', 'T']).next().unwrap_or(&normal);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| "应写作2026-11-30")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).expect("date")
    }

    #[test]
    fn the_built_in_rules_are_valid_and_sourced() {
        let r = AlertRules::gansu();
        for code in ["medical_security", "housing_construction", "education"] {
            assert!(r.department(code).is_some(), "{code}");
        }
        assert!(
            r.departments
                .iter()
                .flat_map(|d| &d.matters)
                .all(|m| !m.source.trim().is_empty())
        );
    }

    #[rstest]
    #[case("19151.81", 1_915_181)]
    #[case("19,151.81", 1_915_181)]
    #[case("19，151.81元", 1_915_181)]
    #[case("￥20000", 2_000_000)]
    #[case(" 20000.5 ", 2_000_050)]
    #[case("７０，４４７．５６", 7_044_756)]
    #[case("12.340", 1234)]
    fn amounts_as_spreadsheets_write_them(#[case] s: &str, #[case] fen: i64) {
        assert_eq!(parse_amount_fen(s), Ok(fen));
    }

    #[rstest]
    #[case("abc")]
    #[case("-5")]
    #[case("1.234")]
    #[case("")]
    fn bad_amounts(#[case] s: &str) {
        assert!(parse_amount_fen(s).is_err(), "{s}");
    }

    #[rstest]
    #[case("2026-11-30")]
    #[case("2026/11/30")]
    #[case("2026.11.30")]
    #[case("20261130")]
    #[case("2026年11月30日")]
    #[case("46356")]
    #[case("46356.0")]
    #[case("2026-11-30 00:00:00")]
    fn dates_as_spreadsheets_write_them(#[case] s: &str) {
        assert_eq!(
            parse_date(s),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 30).expect("d"))
        );
    }

    #[test]
    fn a_fifteen_digit_number_becomes_its_eighteen_digit_form() {
        // 15-digit form of 11010519491231002X (GB 11643's example).
        let n = parse_id_number("110105491231002", today()).expect("upgraded");
        assert_eq!(n.as_str(), "11010519491231002X");
        let full_width =
            parse_id_number("１１０１０５１９４９１２３１００２ｘ", today()).expect("fw");
        assert_eq!(full_width, n);
    }

    #[test]
    fn a_line_with_every_problem_says_each() {
        let rules = AlertRules::gansu();
        let d = rules.department("medical_security").expect("医保");
        let raw = RawAlertLine {
            id_number: "123".into(),
            name: " ".into(),
            matter: "买彩票".into(),
            amount: "很多".into(),
            occurred_on: "明天".into(),
            ..RawAlertLine::default()
        };
        let problems = check_line(d, &raw, today()).expect_err("bad");
        assert_eq!(problems.len(), 5, "{problems:?}");
    }

    #[test]
    fn the_seed_example_is_a_warning_for_a_formerly_poor_household_only() {
        let rules = AlertRules::gansu();
        let d = rules.department("medical_security").expect("医保");
        let raw = RawAlertLine {
            id_number: "11010519491231002X".into(),
            name: "张三".into(),
            matter: d.matters[0].matter.clone(),
            amount: "19,151.81".into(),
            occurred_on: "2026-11-30".into(),
            ..RawAlertLine::default()
        };
        let line = check_line(d, &raw, today()).expect("ok");
        let policy = Policy::gansu();
        assert!(is_warning(
            &d.matters[0],
            &line,
            &policy,
            Population::FormerlyPoor
        ));
        assert!(!is_warning(
            &d.matters[0],
            &line,
            &policy,
            Population::Other
        ));
    }

    #[test]
    fn an_ordinary_household_is_warned_when_the_cost_is_half_its_income() {
        let rules = AlertRules::gansu();
        let d = rules.department("medical_security").expect("医保");
        let mut raw = RawAlertLine {
            id_number: "11010519491231002X".into(),
            name: "张三".into(),
            matter: d.matters[0].matter.clone(),
            amount: "19,151.81".into(),
            occurred_on: "2026-11-30".into(),
            ..RawAlertLine::default()
        };
        let policy = Policy::gansu();
        let warned = |raw: &RawAlertLine| {
            let line = check_line(d, raw, today()).expect("ok");
            is_warning(&d.matters[0], &line, &policy, Population::Other)
        };
        // Below 20,000 元 and no income on the line: not a warning.
        assert!(!warned(&raw));
        // 19,151.81 of 38,303.62 is 50 %: a warning; of 38,303.64 just under: not.
        raw.extras
            .insert("家庭年收入（元）".into(), "38,303.62元".into());
        assert!(warned(&raw));
        raw.extras
            .insert("家庭年收入（元）".into(), "38303.64".into());
        assert!(!warned(&raw));
        // An unreadable or zero income is no income.
        for bad in ["", "0", "不详"] {
            raw.extras.insert("家庭年收入（元）".into(), bad.into());
            assert!(!warned(&raw), "{bad}");
        }
    }

    #[test]
    fn a_share_of_income_must_name_a_column_of_the_template() {
        let mut rules = AlertRules::gansu();
        let d = rules
            .departments
            .iter_mut()
            .find(|d| d.department == "medical_security")
            .expect("医保");
        d.extra_columns.retain(|c| c != "家庭年收入（元）");
        let err = rules.validate(&Policy::gansu()).expect_err("column gone");
        assert!(err.to_string().contains("收入列"), "{err}");
    }

    #[test]
    fn a_house_rated_c_or_d_is_a_warning() {
        let rules = AlertRules::gansu();
        let d = rules.department("housing_construction").expect("住建");
        let m = &d.matters[0];
        let mut raw = RawAlertLine {
            id_number: "11010519491231002X".into(),
            name: "张三".into(),
            matter: m.matter.clone(),
            occurred_on: "2026-11-30".into(),
            ..RawAlertLine::default()
        };
        raw.extras.insert("房屋等级".into(), "C级".into());
        let line = check_line(d, &raw, today()).expect("ok");
        assert!(is_warning(m, &line, &Policy::gansu(), Population::Other));
        raw.extras.insert("房屋等级".into(), "b".into());
        let line = check_line(d, &raw, today()).expect("ok");
        assert!(!is_warning(m, &line, &Policy::gansu(), Population::Other));
    }
}
