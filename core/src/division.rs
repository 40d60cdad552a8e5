//! Statistical division codes (统计用区划代码) and the scope rule built on them.
//!
//! A code is 2 (province), 4 (city), 6 (county), 9 (township) or 12 (village) digits, and a
//! unit's code begins with its parent's. So "may this user see this case" is "does the case's
//! village code start with the user's scope code": one string prefix, the same on the phone,
//! in SQL (`LIKE '6211%'`) and in the server's authorisation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The five administrative levels, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    City,
    County,
    Township,
    Village,
}

impl Level {
    /// Number of digits in a code of this level.
    pub const fn code_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }

    /// The level whose codes have `len` digits.
    pub const fn from_code_len(len: usize) -> Option<Level> {
        match len {
            2 => Some(Level::Province),
            4 => Some(Level::City),
            6 => Some(Level::County),
            9 => Some(Level::Township),
            12 => Some(Level::Village),
            _ => None,
        }
    }

    /// The level one step up (a village's township, …); `None` for the province.
    pub const fn parent(self) -> Option<Level> {
        match self {
            Level::Province => None,
            Level::City => Some(Level::Province),
            Level::County => Some(Level::City),
            Level::Township => Some(Level::County),
            Level::Village => Some(Level::Township),
        }
    }

    /// The Chinese name of the level, as shown to users.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Level::Province => "省",
            Level::City => "市",
            Level::County => "县",
            Level::Township => "乡镇",
            Level::Village => "村",
        }
    }

    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
    ];
}

/// Why a string is not a division code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionCodeError {
    #[error("区划代码不能为空")]
    Empty,
    #[error("区划代码只能包含数字，“{0}”中有其他字符")]
    NotDigits(String),
    #[error("区划代码应为2、4、6、9或12位数字，“{code}”是{len}位")]
    BadLength { code: String, len: usize },
    #[error("区划代码“{0}”的省级代码不存在（应为11至82之间）")]
    BadProvince(String),
    #[error("区划代码“{0}”中下级部分全为0，不是有效的下级单位")]
    ZeroSegment(String),
}

/// A validated division code such as `62` (甘肃省) or `621102105201`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS)]
#[ts(type = "string")]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Parse and validate. Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, DivisionCodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DivisionCodeError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DivisionCodeError::NotDigits(s.to_owned()));
        }
        let Some(level) = Level::from_code_len(s.len()) else {
            return Err(DivisionCodeError::BadLength {
                code: s.to_owned(),
                len: s.chars().count(),
            });
        };
        let province: u32 = s[..2].parse().unwrap_or(0);
        if !(11..=82).contains(&province) {
            return Err(DivisionCodeError::BadProvince(s.to_owned()));
        }
        // Each lower segment identifies a unit below its parent; all zeros would name the
        // parent itself in a longer spelling and make prefix scoping ambiguous.
        let mut start = 2;
        for l in &Level::ALL[1..=level_index(level)] {
            let end = l.code_len();
            if s[start..end].bytes().all(|b| b == b'0') {
                return Err(DivisionCodeError::ZeroSegment(s.to_owned()));
            }
            start = end;
        }
        Ok(DivisionCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        // Validated in `parse`, so the length always maps to a level.
        Level::from_code_len(self.0.len()).unwrap_or(Level::Village)
    }

    /// The unit one level up, `None` for a province.
    pub fn parent(&self) -> Option<DivisionCode> {
        self.level()
            .parent()
            .map(|l| DivisionCode(self.0[..l.code_len()].to_owned()))
    }

    /// The ancestor at `level`, if `level` is at or above this code's level.
    pub fn at_level(&self, level: Level) -> Option<DivisionCode> {
        (level <= self.level()).then(|| DivisionCode(self.0[..level.code_len()].to_owned()))
    }

    /// All strict ancestors, from the province down to the parent.
    pub fn ancestors(&self) -> Vec<DivisionCode> {
        Level::ALL
            .iter()
            .filter(|l| **l < self.level())
            .map(|l| DivisionCode(self.0[..l.code_len()].to_owned()))
            .collect()
    }

    /// Whether `self` is `other` or lies below it.
    pub fn is_within(&self, scope: &DivisionCode) -> bool {
        self.0.starts_with(&scope.0)
    }

    /// Whether `self` is a strict ancestor of `other`.
    pub fn is_ancestor_of(&self, other: &DivisionCode) -> bool {
        self != other && other.is_within(self)
    }
}

fn level_index(level: Level) -> usize {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0)
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DivisionCode {
    type Err = DivisionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(s)
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = DivisionCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DivisionCode::parse(&s)
    }
}

impl From<DivisionCode> for String {
    fn from(c: DivisionCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid code")
    }

    #[rstest]
    #[case("62", Level::Province)]
    #[case("6211", Level::City)]
    #[case("621102", Level::County)]
    #[case("621102105", Level::Township)]
    #[case("621102105201", Level::Village)]
    #[case(" 6211 ", Level::City)]
    fn parses_each_level(#[case] s: &str, #[case] level: Level) {
        assert_eq!(code(s).level(), level);
    }

    #[rstest]
    #[case("", DivisionCodeError::Empty)]
    #[case("62a1", DivisionCodeError::NotDigits("62a1".into()))]
    #[case("621", DivisionCodeError::BadLength { code: "621".into(), len: 3 })]
    #[case("6211021052011", DivisionCodeError::BadLength { code: "6211021052011".into(), len: 13 })]
    #[case("99", DivisionCodeError::BadProvince("99".into()))]
    #[case("6200", DivisionCodeError::ZeroSegment("6200".into()))]
    #[case("621102105000", DivisionCodeError::ZeroSegment("621102105000".into()))]
    fn rejects_bad_codes(#[case] s: &str, #[case] err: DivisionCodeError) {
        assert_eq!(DivisionCode::parse(s), Err(err));
    }

    #[test]
    fn errors_are_in_chinese() {
        let e = DivisionCode::parse("621").expect_err("bad length");
        assert_eq!(
            e.to_string(),
            "区划代码应为2、4、6、9或12位数字，“621”是3位"
        );
    }

    #[test]
    fn parent_and_ancestors() {
        let v = code("621102105201");
        assert_eq!(v.parent(), Some(code("621102105")));
        assert_eq!(
            v.ancestors(),
            vec![code("62"), code("6211"), code("621102"), code("621102105")]
        );
        assert_eq!(code("62").parent(), None);
        assert_eq!(v.at_level(Level::County), Some(code("621102")));
        assert_eq!(code("6211").at_level(Level::Village), None);
    }

    #[test]
    fn scope_is_prefix() {
        let v = code("621102105201");
        assert!(v.is_within(&code("6211")));
        assert!(v.is_within(&v));
        assert!(!v.is_within(&code("6212")));
        assert!(!code("6211").is_within(&v));
        assert!(code("6211").is_ancestor_of(&v));
        assert!(!v.is_ancestor_of(&v));
    }

    #[test]
    fn serde_validates() {
        let ok: DivisionCode = serde_json::from_str("\"621102\"").expect("valid");
        assert_eq!(ok, code("621102"));
        assert!(serde_json::from_str::<DivisionCode>("\"62110\"").is_err());
        assert_eq!(serde_json::to_string(&ok).expect("ser"), "\"621102\"");
    }
}
