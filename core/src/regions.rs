//! The registry of administrative units: codes, names and the tree they form.
//!
//! The Gansu list (`assets/regions/gansu.csv`, 19,224 units down to village level) is compiled
//! in and parsed once on first use; a caller may also build a registry from other CSV text of
//! the same shape. Units are kept in one `Vec` sorted by code. Because a unit's code begins
//! with its parent's, every subtree is one contiguous run of that vector: lookups are binary
//! searches and "everything under this scope" is a slice, with no extra index.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::division::{DivisionCode, DivisionCodeError, Level};

/// The header line the CSV must start with.
pub const CSV_HEADER: &str = "code,name,level,parent_code";

/// One administrative unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub code: DivisionCode,
    pub name: String,
    pub level: Level,
    /// The unit one level up; `None` for a province.
    pub parent: Option<DivisionCode>,
}

/// Why CSV text is not a valid division list. Line numbers count from 1, the header being
/// line 1, as a text editor shows them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionsError {
    #[error("区划表是空的，第1行应为表头“{CSV_HEADER}”")]
    Empty,
    #[error("区划表第1行应为表头“{CSV_HEADER}”，实际是“{0}”")]
    BadHeader(String),
    #[error("区划表第{line}行含有引号，区划表不支持带引号的字段，请去掉引号")]
    Quoted { line: usize },
    #[error("区划表第{line}行应有4列（代码、名称、级别、上级代码），实际有{found}列")]
    WrongColumnCount { line: usize, found: usize },
    #[error("区划表第{line}行的代码有误：{source}")]
    BadCode {
        line: usize,
        source: DivisionCodeError,
    },
    #[error("区划表第{line}行（代码{code}）的名称是空的")]
    EmptyName { line: usize, code: DivisionCode },
    #[error(
        "区划表第{line}行的级别“{found}”无法识别，应为province、city、county、township或village"
    )]
    UnknownLevel { line: usize, found: String },
    #[error("区划表第{line}行：代码{code}是{}级，级别列却写的是{}级", .expected.name_zh(), .found.name_zh())]
    LevelMismatch {
        line: usize,
        code: DivisionCode,
        expected: Level,
        found: Level,
    },
    #[error("区划表第{line}行：代码{code}的上级代码应为“{expected}”，实际是“{found}”")]
    WrongParent {
        line: usize,
        code: DivisionCode,
        expected: String,
        found: String,
    },
    #[error("区划表第{line}行：代码{code}的上级{parent}不在表中")]
    MissingParent {
        line: usize,
        code: DivisionCode,
        parent: DivisionCode,
    },
    #[error("区划表第{line}行：代码{code}与第{first_line}行重复")]
    Duplicate {
        line: usize,
        first_line: usize,
        code: DivisionCode,
    },
}

impl RegionsError {
    /// The line the error is about (1 for header problems).
    pub fn line(&self) -> usize {
        match self {
            RegionsError::Empty | RegionsError::BadHeader(_) => 1,
            RegionsError::Quoted { line }
            | RegionsError::WrongColumnCount { line, .. }
            | RegionsError::BadCode { line, .. }
            | RegionsError::EmptyName { line, .. }
            | RegionsError::UnknownLevel { line, .. }
            | RegionsError::LevelMismatch { line, .. }
            | RegionsError::WrongParent { line, .. }
            | RegionsError::MissingParent { line, .. }
            | RegionsError::Duplicate { line, .. } => *line,
        }
    }
}

/// A validated set of administrative units forming a tree (or several, one per province).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions {
    /// Sorted by code; codes are unique.
    regions: Vec<Region>,
    /// Number of units at each level, indexed like [`Level::ALL`].
    counts: [usize; 5],
}

static GANSU: OnceLock<Result<Regions, RegionsError>> = OnceLock::new();

impl Regions {
    /// The compiled-in Gansu list, parsed on first use.
    ///
    /// # Panics
    ///
    /// If the compiled-in file is invalid, which the tests of this module rule out.
    pub fn gansu() -> &'static Regions {
        match Self::try_gansu() {
            Ok(r) => r,
            Err(e) => panic!("compiled-in assets/regions/gansu.csv is invalid: {e}"),
        }
    }

    /// The compiled-in Gansu list, or why it could not be parsed.
    pub fn try_gansu() -> Result<&'static Regions, &'static RegionsError> {
        GANSU
            .get_or_init(|| Regions::from_csv(include_str!("../../assets/regions/gansu.csv")))
            .as_ref()
    }

    /// Parse and validate CSV text with the header `code,name,level,parent_code`.
    ///
    /// The format is deliberately narrow: comma-separated, no quoting (a `"` anywhere is an
    /// error), `\n` or `\r\n` line ends, an optional UTF-8 byte-order mark, blank lines
    /// ignored, spaces around fields trimmed. Each row is checked: the code parses, the level
    /// column (`province` … `village`) matches the code's length, `parent_code` is the code
    /// minus its last segment (empty for a province), the name is not empty. Then across
    /// rows: no code twice, every parent present. Errors name the line (header = line 1). A
    /// line that is wrong in itself is reported first (the first such line); only if every
    /// line is well-formed are cross-row problems reported, the earliest line first, so a
    /// malformed parent line is not misreported as a missing parent.
    pub fn from_csv(text: &str) -> Result<Regions, RegionsError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let header = lines
            .by_ref()
            .find(|(_, l)| !l.trim().is_empty())
            .map(|(_, l)| l.trim())
            .ok_or(RegionsError::Empty)?;
        if header != CSV_HEADER {
            return Err(RegionsError::BadHeader(header.to_owned()));
        }

        let mut rows: Vec<(usize, Region)> = Vec::new();
        for (line, text) in lines {
            if text.trim().is_empty() {
                continue;
            }
            rows.push((line, parse_row(line, text)?));
        }

        rows.sort_by(|a, b| a.1.code.cmp(&b.1.code).then(a.0.cmp(&b.0)));
        // Several rows may be wrong across rows; report the one with the lowest line number.
        let mut first_error: Option<RegionsError> = None;
        let mut note = |e: RegionsError| {
            if first_error.as_ref().is_none_or(|f| e.line() < f.line()) {
                first_error = Some(e);
            }
        };
        for pair in rows.windows(2) {
            let [(first_line, a), (line, b)] = pair else {
                continue;
            };
            if a.code == b.code {
                note(RegionsError::Duplicate {
                    line: *line,
                    first_line: *first_line,
                    code: b.code.clone(),
                });
            }
        }
        for (line, region) in &rows {
            if let Some(parent) = &region.parent
                && rows.binary_search_by(|(_, r)| r.code.cmp(parent)).is_err()
            {
                note(RegionsError::MissingParent {
                    line: *line,
                    code: region.code.clone(),
                    parent: parent.clone(),
                });
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }

        let regions: Vec<Region> = rows.into_iter().map(|(_, r)| r).collect();
        let mut counts = [0; 5];
        for r in &regions {
            counts[level_index(r.level)] += 1;
        }
        Ok(Regions { regions, counts })
    }

    /// Number of units in the registry.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// All units, ordered by code (so each parent comes right before its subtree).
    pub fn iter(&self) -> std::slice::Iter<'_, Region> {
        self.regions.iter()
    }

    /// Number of units at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.counts[level_index(level)]
    }

    /// The unit with this code.
    pub fn get(&self, code: &DivisionCode) -> Option<&Region> {
        self.regions
            .binary_search_by(|r| r.code.cmp(code))
            .ok()
            .and_then(|i| self.regions.get(i))
    }

    pub fn contains(&self, code: &DivisionCode) -> bool {
        self.get(code).is_some()
    }

    /// The units whose code starts with `scope`: the scope itself (if listed) and everything
    /// below it, ordered by code.
    pub fn subtree(&self, scope: &DivisionCode) -> &[Region] {
        let s = scope.as_str();
        let start = self.regions.partition_point(|r| r.code.as_str() < s);
        let rest = &self.regions[start..];
        let len = rest.partition_point(|r| r.code.as_str().starts_with(s));
        &rest[..len]
    }

    /// The units directly below `code`, ordered by code. Empty for a village or an unknown
    /// code.
    ///
    /// Walks the subtree by jumping from one child to the next over the child's own subtree,
    /// so listing a province's cities does not scan its villages.
    pub fn children(&self, code: &DivisionCode) -> impl Iterator<Item = &Region> + '_ {
        let subtree = self.subtree(code);
        // Skip `code` itself; every other unit in the subtree lies below one of its children
        // (parents are checked to exist), so the next child follows the current one's subtree.
        let mut rest = match subtree.split_first() {
            Some((first, rest)) if first.code == *code => rest,
            _ => subtree,
        };
        std::iter::from_fn(move || {
            let (child, below) = rest.split_first()?;
            rest = &below[below.partition_point(|r| r.code.is_within(&child.code))..];
            Some(child)
        })
    }

    /// The listed strict ancestors of `code`, from the province down to its parent. `code`
    /// itself need not be listed.
    pub fn ancestors_with_names(&self, code: &DivisionCode) -> Vec<&Region> {
        code.ancestors()
            .iter()
            .filter_map(|a| self.get(a))
            .collect()
    }

    /// The names from the province down to `code`, joined by `/`, e.g.
    /// `甘肃省/定西市/安定区/鲁家沟镇`. `None` if `code` is not listed.
    pub fn name_path(&self, code: &DivisionCode) -> Option<String> {
        let region = self.get(code)?;
        let mut names: Vec<&str> = self
            .ancestors_with_names(code)
            .into_iter()
            .map(|r| r.name.as_str())
            .collect();
        names.push(&region.name);
        Some(names.join("/"))
    }

    /// The unit named by a path of names from the top, e.g. `甘肃省/定西市/安定区/鲁家沟镇`.
    ///
    /// Separators: `/`, the full-width `／`, and whitespace (runs count as one). The province
    /// may be left out (`定西市/安定区/鲁家沟镇`). Each name must match a unit's full name
    /// exactly among the children of the unit matched before it, so a village is found only
    /// under its own township (village names repeat across townships). Without the
    /// province, a first name that fits cities of several provinces is ambiguous: `None`.
    pub fn find_by_path(&self, path: &str) -> Option<&Region> {
        let mut names = path
            .split(|c: char| c == '/' || c == '／' || c.is_whitespace())
            .filter(|n| !n.is_empty());
        let first = names.next()?;
        let provinces = self.regions.iter().filter(|r| r.level == Level::Province);
        let mut current = match provinces.clone().find(|p| p.name == first) {
            Some(p) => p,
            None => {
                let mut cities = provinces
                    .flat_map(|p| self.children(&p.code))
                    .filter(|c| c.name == first);
                let city = cities.next()?;
                if cities.next().is_some() {
                    return None;
                }
                city
            }
        };
        for name in names {
            current = self.children(&current.code).find(|c| c.name == name)?;
        }
        Some(current)
    }

    /// The villages in `scope` (the scope itself if it is a village), ordered by code.
    pub fn villages_in(&self, scope: &DivisionCode) -> impl Iterator<Item = &Region> + '_ {
        self.subtree(scope)
            .iter()
            .filter(|r| r.level == Level::Village)
    }

    /// Units whose name contains `fragment` (trimmed), for pickers: higher levels first, then
    /// by code; at most `limit`. An empty fragment finds nothing.
    pub fn search(&self, fragment: &str, limit: usize) -> Vec<&Region> {
        search_in(&self.regions, fragment, limit)
    }

    /// Like [`Regions::search`], restricted to `scope` and the units below it.
    pub fn search_within(
        &self,
        scope: &DivisionCode,
        fragment: &str,
        limit: usize,
    ) -> Vec<&Region> {
        search_in(self.subtree(scope), fragment, limit)
    }
}

impl<'a> IntoIterator for &'a Regions {
    type Item = &'a Region;
    type IntoIter = std::slice::Iter<'a, Region>;
    fn into_iter(self) -> Self::IntoIter {
        self.regions.iter()
    }
}

fn search_in<'a>(regions: &'a [Region], fragment: &str, limit: usize) -> Vec<&'a Region> {
    let fragment = fragment.trim();
    if fragment.is_empty() || limit == 0 {
        return Vec::new();
    }
    let mut found: Vec<&Region> = regions
        .iter()
        .filter(|r| r.name.contains(fragment))
        .collect();
    // `regions` is sorted by code, and the sort is stable.
    found.sort_by_key(|r| r.level);
    found.truncate(limit);
    found
}

fn parse_row(line: usize, text: &str) -> Result<Region, RegionsError> {
    if text.contains('"') {
        return Err(RegionsError::Quoted { line });
    }
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let [code, name, level, parent] = fields.as_slice() else {
        return Err(RegionsError::WrongColumnCount {
            line,
            found: fields.len(),
        });
    };
    let code =
        DivisionCode::parse(code).map_err(|source| RegionsError::BadCode { line, source })?;
    if name.is_empty() {
        return Err(RegionsError::EmptyName { line, code });
    }
    let found = parse_level(level).ok_or_else(|| RegionsError::UnknownLevel {
        line,
        found: (*level).to_owned(),
    })?;
    if found != code.level() {
        return Err(RegionsError::LevelMismatch {
            line,
            expected: code.level(),
            code,
            found,
        });
    }
    let expected = code.parent();
    let expected_str = expected.as_ref().map(DivisionCode::as_str).unwrap_or("");
    if *parent != expected_str {
        return Err(RegionsError::WrongParent {
            line,
            expected: expected_str.to_owned(),
            found: (*parent).to_owned(),
            code,
        });
    }
    Ok(Region {
        code,
        name: (*name).to_owned(),
        level: found,
        parent: expected,
    })
}

fn parse_level(s: &str) -> Option<Level> {
    match s {
        "province" => Some(Level::Province),
        "city" => Some(Level::City),
        "county" => Some(Level::County),
        "township" => Some(Level::Township),
        "village" => Some(Level::Village),
        _ => None,
    }
}

fn level_index(level: Level) -> usize {
    match level {
        Level::Province => 0,
        Level::City => 1,
        Level::County => 2,
        Level::Township => 3,
        Level::Village => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid code")
    }

    fn gansu() -> &'static Regions {
        Regions::gansu()
    }

    fn names(regions: &[&Region]) -> Vec<String> {
        regions.iter().map(|r| r.name.clone()).collect()
    }

    #[test]
    fn gansu_counts_per_level() {
        let g = gansu();
        assert_eq!(g.count(Level::Province), 1);
        assert_eq!(g.count(Level::City), 14);
        assert_eq!(g.count(Level::County), 88);
        assert_eq!(g.count(Level::Township), 1403);
        assert_eq!(g.count(Level::Village), 17718);
        assert_eq!(g.len(), 1 + 14 + 88 + 1403 + 17718);
        assert!(std::ptr::eq(g, Regions::gansu()), "parsed once");
        assert!(Regions::try_gansu().is_ok());
    }

    #[test]
    fn lujiagou_lies_in_anding_district_of_dingxi() {
        let g = gansu();
        let town = g.get(&code("621102105")).expect("鲁家沟镇 listed");
        assert_eq!(town.name, "鲁家沟镇");
        assert_eq!(town.level, Level::Township);
        assert_eq!(town.parent, Some(code("621102")));
        let ancestors = g.ancestors_with_names(&town.code);
        assert_eq!(names(&ancestors), ["甘肃省", "定西市", "安定区"]);
        assert_eq!(ancestors[1].code, code("6211"));
        assert_eq!(ancestors[2].code, code("621102"));
        assert_eq!(
            g.name_path(&town.code).as_deref(),
            Some("甘肃省/定西市/安定区/鲁家沟镇")
        );
        assert!(code("621102105").is_within(&code("6211")));
    }

    #[rstest]
    #[case("甘肃省/定西市/安定区/鲁家沟镇")]
    #[case("定西市/安定区/鲁家沟镇")]
    #[case("甘肃省／定西市／安定区／鲁家沟镇")]
    #[case("甘肃省 定西市 安定区 鲁家沟镇")]
    #[case(" 定西市 / 安定区　/ 鲁家沟镇/ ")]
    fn find_by_path_accepts_separators(#[case] path: &str) {
        let found = gansu().find_by_path(path).expect("found");
        assert_eq!(found.code, code("621102105"));
    }

    #[rstest]
    #[case::empty("")]
    #[case::separators_only(" / ／ ")]
    #[case::skipped_level("甘肃省/安定区/鲁家沟镇")]
    #[case::fragment("甘肃省/定西市/安定区/鲁家沟")]
    #[case::wrong_parent("甘肃省/兰州市/安定区/鲁家沟镇")]
    #[case::unknown_top("陕西省/定西市")]
    fn find_by_path_rejects(#[case] path: &str) {
        assert_eq!(gansu().find_by_path(path), None);
    }

    #[test]
    fn find_by_path_stops_at_any_level() {
        let g = gansu();
        let find = |p: &str| g.find_by_path(p).map(|r| r.code.clone());
        assert_eq!(find("甘肃省"), Some(code("62")));
        assert_eq!(find("定西市"), Some(code("6211")));
        assert_eq!(find("甘肃省/定西市/安定区"), Some(code("621102")));
    }

    #[test]
    fn gaodengjia_village_is_under_nanlong_town() {
        let g = gansu();
        let village = g.get(&code("622901102201")).expect("listed");
        assert_eq!(village.name, "高邓家村委会");
        assert_eq!(village.level, Level::Village);
        assert_eq!(village.parent, Some(code("622901102")));
        let town = g.get(&code("622901102")).expect("listed");
        assert_eq!(town.name, "南龙镇");
        assert_eq!(
            g.name_path(&village.code).as_deref(),
            Some("甘肃省/临夏回族自治州/临夏市/南龙镇/高邓家村委会")
        );
        assert_eq!(
            g.find_by_path("临夏回族自治州/临夏市/南龙镇/高邓家村委会")
                .map(|r| &r.code),
            Some(&village.code)
        );
        assert!(g.children(&town.code).any(|v| v.code == village.code));
    }

    #[test]
    fn every_village_chain_reaches_gansu() {
        let g = gansu();
        let mut villages = 0;
        for village in g.villages_in(&code("62")) {
            villages += 1;
            let mut current = village;
            let mut steps = 0;
            while let Some(parent) = &current.parent {
                let up = g.get(parent).expect("parent listed");
                assert!(up.level < current.level);
                assert!(current.code.is_within(&up.code));
                current = up;
                steps += 1;
            }
            assert_eq!(current.code, code("62"));
            assert_eq!(steps, 4);
        }
        assert_eq!(villages, 17718);
    }

    #[test]
    fn every_name_path_finds_its_unit_again() {
        // Village names repeat across townships; the path still picks the right one.
        let g = gansu();
        let mut seen = std::collections::HashMap::new();
        let mut repeated = 0;
        for r in g {
            let path = g.name_path(&r.code).expect("listed");
            assert_eq!(
                g.find_by_path(&path).map(|f| &f.code),
                Some(&r.code),
                "{path}"
            );
            if r.level == Level::Village && seen.insert(r.name.clone(), ()).is_some() {
                repeated += 1;
            }
        }
        assert!(repeated > 100, "village names do repeat ({repeated})");
    }

    #[test]
    fn children_are_direct_and_ordered() {
        let g = gansu();
        let cities: Vec<&Region> = g.children(&code("62")).collect();
        assert_eq!(cities.len(), 14);
        assert_eq!(cities[0].name, "兰州市");
        for scope in ["62", "6211", "621102", "621102105"] {
            let scope = code(scope);
            let kids: Vec<&Region> = g.children(&scope).collect();
            assert!(!kids.is_empty());
            assert!(kids.windows(2).all(|w| w[0].code < w[1].code));
            assert!(kids.iter().all(|k| k.parent.as_ref() == Some(&scope)));
            let expected = g
                .iter()
                .filter(|r| r.parent.as_ref() == Some(&scope))
                .count();
            assert_eq!(kids.len(), expected);
        }
        assert_eq!(g.children(&code("622901102201")).count(), 0);
        assert_eq!(g.children(&code("6299")).count(), 0);
        assert_eq!(g.children(&code("11")).count(), 0);
    }

    #[test]
    fn villages_in_scope() {
        let g = gansu();
        let town = code("621102105");
        let villages: Vec<&Region> = g.villages_in(&town).collect();
        assert_eq!(villages.len(), g.children(&town).count());
        assert!(villages.iter().all(|v| v.code.is_within(&town)));
        let county: usize = g
            .children(&code("621102"))
            .map(|t| g.villages_in(&t.code).count())
            .sum();
        assert_eq!(g.villages_in(&code("621102")).count(), county);
        let v = code("622901102201");
        assert_eq!(g.villages_in(&v).count(), 1);
        assert_eq!(g.subtree(&code("6299")).len(), 0);
    }

    #[test]
    fn search_by_fragment() {
        let g = gansu();
        let found = g.search("鲁家沟", 50);
        assert_eq!(found.first().map(|r| &r.code), Some(&code("621102105")));
        assert!(found.iter().all(|r| r.name.contains("鲁家沟")));
        assert!(found.windows(2).all(|w| w[0].level <= w[1].level));
        assert_eq!(g.search("村委会", 5).len(), 5);
        assert!(g.search("", 5).is_empty());
        assert!(g.search("  ", 5).is_empty());
        assert!(g.search("鲁家沟", 0).is_empty());
        assert!(g.search("不存在的地名", 5).is_empty());
        let within = g.search_within(&code("622901"), "村", 1000);
        assert!(!within.is_empty());
        assert!(within.iter().all(|r| r.code.is_within(&code("622901"))));
    }

    const SMALL: &str = "\u{feff}code,name,level,parent_code\r\n62,甘肃省,province,\r\n6211,定西市,city,62\r\n\r\n621102,安定区,county,6211\r\n";

    #[test]
    fn small_csv_with_bom_crlf_and_blank_lines() {
        let r = Regions::from_csv(SMALL).expect("valid");
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.name_path(&code("621102")).as_deref(),
            Some("甘肃省/定西市/安定区")
        );
        // Order in the file does not matter.
        let shuffled = "code,name,level,parent_code\n621102,安定区,county,6211\n6211,定西市,city,62\n62,甘肃省,province,\n";
        assert_eq!(Regions::from_csv(shuffled), Ok(r));
    }

    const HEAD: &str = "code,name,level,parent_code\n62,甘肃省,province,\n";

    #[rstest]
    #[case::empty("", 1, "区划表是空的")]
    #[case::bad_header("code,name,level\n62,甘肃省,province,\n", 1, "表头")]
    #[case::quoted("62,\"甘肃省\",province,\n", 3, "引号")]
    #[case::too_few_columns("6211,定西市,city\n", 3, "应有4列")]
    #[case::too_many_columns("6211,定西市,city,62,x\n", 3, "实际有5列")]
    #[case::bad_code("621,定西市,city,62\n", 3, "代码有误")]
    #[case::empty_name("6211,,city,62\n", 3, "名称是空的")]
    #[case::unknown_level("6211,定西市,prefecture,62\n", 3, "prefecture")]
    #[case::level_mismatch("6211,定西市,county,62\n", 3, "是市级，级别列却写的是县级")]
    #[case::wrong_parent("621102,安定区,county,62\n", 3, "上级代码应为“6211”")]
    #[case::missing_parent(
        "6211,定西市,city,62\n621102105,鲁家沟镇,township,621102\n",
        4,
        "上级621102不在表中"
    )]
    #[case::duplicate(
        "6211,定西市,city,62\n6201,兰州市,city,62\n6211,定西,city,62\n",
        5,
        "与第3行重复"
    )]
    #[case::first_of_several(
        "6211,定西市,city,62\n9,x,city,62\n621102105,鲁家沟镇,township,621102\n",
        4,
        "代码有误"
    )]
    fn malformed_csv_names_the_line(#[case] body: &str, #[case] line: usize, #[case] words: &str) {
        let text = if line == 1 {
            body.to_owned()
        } else {
            format!("{HEAD}{body}")
        };
        let err = Regions::from_csv(&text).expect_err("invalid");
        assert_eq!(err.line(), line, "{err}");
        let message = err.to_string();
        assert!(message.contains(words), "{message}");
        if line > 1 {
            assert!(message.contains(&format!("第{line}行")), "{message}");
        }
    }

    #[test]
    fn missing_parent_reports_the_earliest_line() {
        let text = format!(
            "{HEAD}621102105,鲁家沟镇,township,621102\n6211,定西市,city,62\n621102,安定区,county,6211\n622901102,南龙镇,township,622901\n"
        );
        let err = Regions::from_csv(&text).expect_err("622901 missing");
        assert_eq!(
            err,
            RegionsError::MissingParent {
                line: 6,
                code: code("622901102"),
                parent: code("622901"),
            }
        );
    }
}
