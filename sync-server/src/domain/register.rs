//! The household register (建档立卡户 and 监测户) imported from the national system's export.
//!
//! A county's staff already hold their register as a spreadsheet: one row per person, the
//! household's columns repeated on each of its members' rows, as the national monitoring system
//! exports it. Without it every household would have to be typed again on a phone before the
//! department warnings could be matched or a worker could open a household's file.
//!
//! The file is read whole and every row checked before anything is written; a household with
//! one bad row is left out whole (nothing half-stored), and if the bad rows exceed the
//! operator's share the run writes nothing at all. Households get ids derived from their
//! household number ([`household_id_for`]), so importing the same or a newer export again
//! updates each household in place and never makes a second one. Writing goes in batches, one
//! transaction each, through the same record store as every other change (the change feed, the
//! `member_ids` index the warning matching uses), so a run interrupted halfway is completed by
//! running it again.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use yijian_core::case::MonitoringCategory;
use yijian_core::division::DivisionCode;
use yijian_core::division::Level;
use yijian_core::household::{Household, Member, MonitoringStatus, Relation};
use yijian_core::ids::{HouseholdId, MemberId};
use yijian_core::protocol::kinds;
use yijian_core::regions::Regions;
use yijian_core::validation::{MobileNumber, ResidentIdNumber};

use crate::domain::resident::server_hlc;
use crate::store::tx::{AuditEntry, RecordTx, RecordWrite};
use crate::store::{Storage, StorageError};

/// The columns, as the README documents them: (header, required).
pub const COLUMNS: [(&str, bool); 12] = [
    (HOUSEHOLD_NO, true),
    (VILLAGE_CODE, true),
    (DOOR_PLATE, false),
    (ADDRESS, false),
    (NAME, true),
    (ID_NUMBER, false),
    (RELATION, true),
    (PHONE, false),
    (FORMERLY_POOR, false),
    (MONITORING, false),
    (MONITORING_SINCE, false),
    (CATEGORY, false),
];

const HOUSEHOLD_NO: &str = "户编号";
const VILLAGE_CODE: &str = "村代码";
const DOOR_PLATE: &str = "门牌号";
const ADDRESS: &str = "住址";
const NAME: &str = "姓名";
const ID_NUMBER: &str = "身份证号";
const RELATION: &str = "与户主关系";
const PHONE: &str = "联系电话";
const FORMERLY_POOR: &str = "是否脱贫户";
const MONITORING: &str = "监测状态";
const MONITORING_SINCE: &str = "状态日期";
const CATEGORY: &str = "监测对象类型";

/// Other names the national system's exports use for the same columns.
const ALIASES: [(&str, &str); 6] = [
    ("证件号码", ID_NUMBER),
    ("身份证号码", ID_NUMBER),
    ("行政区划代码", VILLAGE_CODE),
    ("户主关系", RELATION),
    ("纳入监测日期", MONITORING_SINCE),
    ("监测对象类别", CATEGORY),
];

/// Household ids are derived from the household number as a UUIDv7 with this fixed timestamp
/// (2020-01-01, before any record this system made), so they sort apart from devices' ids.
const REGISTER_EPOCH_MS: u64 = 1_577_836_800_000;

/// The id a household number always maps to.
pub fn household_id_for(household_no: &str) -> HouseholdId {
    HouseholdId::from_parts(REGISTER_EPOCH_MS, digest128(&["household", household_no]))
}

/// The id of a member first seen in the register, stable across runs of the same file.
fn member_id_for(household_no: &str, key: &str) -> MemberId {
    MemberId::from_parts(REGISTER_EPOCH_MS, digest128(&["member", household_no, key]))
}

fn digest128(parts: &[&str]) -> u128 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b)
}

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("文件无法读取：{0}")]
    Malformed(String),
    #[error("文件不是UTF-8或GBK编码的CSV，也不是Excel文件")]
    Encoding,
    #[error("文件里没有数据行")]
    Empty,
    #[error("缺少“{0}”列；表头应包含：{1}")]
    MissingColumn(String, String),
    #[error(
        "{bad}/{total}行有误（{share:.1}%），超过允许的{allowed:.1}%，未导入任何农户；请按报告改正后重新导入"
    )]
    TooManyErrors {
        bad: usize,
        total: usize,
        share: f64,
        allowed: f64,
        /// Every bad row, for the report.
        errors: Vec<RowError>,
    },
    #[error("写入数据库失败（已写入的批次保留，重新导入同一文件即可完成）：{0}")]
    Storage(#[from] StorageError),
}

/// One bad row: where it is and why, in Chinese for the county's staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: i64,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第{}行 {}：{}", self.line, self.column, self.reason)
    }
}

/// One person's row, checked.
#[derive(Debug, Clone)]
struct PersonRow {
    line: i64,
    name: String,
    id_number: Option<ResidentIdNumber>,
    relation: Relation,
}

/// A household as the file describes it, every row checked.
#[derive(Debug, Clone)]
pub struct RegisterHousehold {
    pub household_no: String,
    pub village: DivisionCode,
    first_line: i64,
    door_plate: Option<String>,
    address: Option<String>,
    phone: Option<MobileNumber>,
    formerly_poor: Option<bool>,
    monitoring: Option<MonitoringStatus>,
    category: Option<MonitoringCategory>,
    people: Vec<PersonRow>,
}

/// The file read and checked: the households that may be written, and every bad row.
#[derive(Debug, Clone)]
pub struct CheckedRegister {
    pub households: Vec<RegisterHousehold>,
    pub errors: Vec<RowError>,
    /// Data rows in the file (blank rows not counted).
    pub rows: usize,
    /// Households left out for a bad row.
    pub households_left_out: usize,
}

impl CheckedRegister {
    /// Share of rows that are bad, 0.0–1.0.
    pub fn error_share(&self) -> f64 {
        if self.rows == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let share = self.bad_rows() as f64 / self.rows as f64;
        share
    }

    pub fn bad_rows(&self) -> usize {
        lines_with_errors(&self.errors)
    }
}

/// How many rows `errors` name (a row may have several).
fn lines_with_errors(errors: &[RowError]) -> usize {
    errors
        .iter()
        .map(|e| e.line)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterSummary {
    /// Data rows read.
    pub rows: usize,
    /// Households in the file that passed every check.
    pub households: usize,
    pub members: usize,
    pub created: usize,
    pub updated: usize,
    /// Already stored exactly as the file says.
    pub unchanged: usize,
    /// Households left out because one of their rows is bad (listed in the report).
    pub households_left_out: usize,
    pub bad_rows: usize,
}

/// A data row: its line number in the file (1 = the first line) and its cells.
pub type Row = (i64, Vec<String>);

/// The rows of a file: CSV in UTF-8 or GBK, or the first sheet of an Excel workbook; title rows
/// above the header are skipped. Returns the header and (line number, cells) per row.
pub fn read_table(bytes: &[u8]) -> Result<(Vec<String>, Vec<Row>), RegisterError> {
    let is_header = |cells: &[String]| {
        cells
            .iter()
            .any(|c| canonical_header(c) == Some(HOUSEHOLD_NO))
    };
    let rows: Vec<Row> = if super::alerts::is_workbook(bytes) {
        use calamine::Reader;
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| RegisterError::Malformed(format!("Excel文件无法读取（{e}）")))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or(RegisterError::Empty)?
            .map_err(|e| RegisterError::Malformed(format!("Excel文件无法读取（{e}）")))?;
        let first_row = i64::from(range.start().map_or(0, |(r, _)| r));
        let width = range.width();
        range
            .rows()
            .enumerate()
            .map(|(i, row)| {
                let mut cells: Vec<String> = row.iter().map(super::alerts::cell_text).collect();
                cells.resize(width, String::new());
                (first_row + i64::try_from(i).unwrap_or(i64::MAX) + 1, cells)
            })
            .collect()
    } else {
        let text = super::alerts::decode(bytes).map_err(|_| RegisterError::Encoding)?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| RegisterError::Malformed(e.to_string()))?;
            let line = record
                .position()
                .map_or(0, |p| i64::try_from(p.line()).unwrap_or(i64::MAX));
            rows.push((line, record.iter().map(str::to_owned).collect()));
        }
        rows
    };
    let mut rows = rows.into_iter();
    let header = loop {
        match rows.next() {
            Some((_, cells)) if is_header(&cells) => break cells,
            Some(_) => {}
            None => {
                return Err(RegisterError::MissingColumn(
                    HOUSEHOLD_NO.to_owned(),
                    header_line(),
                ));
            }
        }
    };
    let data: Vec<Row> = rows
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    if data.is_empty() {
        return Err(RegisterError::Empty);
    }
    Ok((header, data))
}

/// The template's header line.
pub fn header_line() -> String {
    COLUMNS.map(|(h, _)| h).join(",")
}

fn canonical_header(h: &str) -> Option<&'static str> {
    let h = h
        .trim()
        .trim_start_matches('\u{feff}')
        .replace([' ', '\u{3000}'], "");
    COLUMNS
        .iter()
        .map(|(c, _)| *c)
        .find(|c| *c == h)
        .or_else(|| ALIASES.iter().find(|(a, _)| *a == h).map(|(_, c)| *c))
}

/// Check every row of the file against the template and the register's rules, for households in
/// `scope` (a county's staff import their county). Nothing is written.
pub fn check(
    bytes: &[u8],
    scope: &DivisionCode,
    today: NaiveDate,
) -> Result<CheckedRegister, RegisterError> {
    let (header, data) = read_table(bytes)?;
    let mut col: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if let Some(c) = canonical_header(h) {
            col.entry(c).or_insert(i);
        }
    }
    for (c, required) in COLUMNS {
        if required && !col.contains_key(c) {
            return Err(RegisterError::MissingColumn(c.to_owned(), header_line()));
        }
    }
    let regions = Regions::gansu();
    let mut errors = Vec::new();
    let mut order: Vec<String> = Vec::new();
    let mut numbers_seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut households: HashMap<String, RegisterHousehold> = HashMap::new();
    let mut bad_households: std::collections::HashSet<String> = std::collections::HashSet::new();
    // Where each ID number was first seen, across the whole file.
    let mut seen_ids: HashMap<String, (i64, String)> = HashMap::new();
    let rows = data.len();
    for (line, cells) in data {
        let get = |c: &str| -> String {
            col.get(c)
                .and_then(|&i| cells.get(i))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        // A row is good when checking it added no error.
        let errors_before = errors.len();
        let mut bad = |column: &str, reason: String| {
            errors.push(RowError {
                line,
                column: column.to_owned(),
                reason,
            });
        };
        let number = get(HOUSEHOLD_NO);
        if number.is_empty() {
            bad(HOUSEHOLD_NO, "户编号不能为空".into());
            continue;
        }
        if number.chars().count() > 40
            || !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            bad(
                HOUSEHOLD_NO,
                format!("户编号“{number}”应为数字或字母（最多40位）"),
            );
            continue;
        }
        let village_text = get(VILLAGE_CODE);
        let village = match DivisionCode::parse(&village_text) {
            Ok(v) if v.level() == Level::Village && regions.get(&v).is_some() => {
                if v.is_within(scope) {
                    Some(v)
                } else {
                    bad(
                        VILLAGE_CODE,
                        format!(
                            "村代码{village_text}不在本次导入的范围（{}）内",
                            regions
                                .get(scope)
                                .map_or(scope.as_str(), |r| r.name.as_str())
                        ),
                    );
                    None
                }
            }
            Ok(_) => {
                bad(
                    VILLAGE_CODE,
                    format!("“{village_text}”不是甘肃省的12位村级区划代码"),
                );
                None
            }
            Err(_) => {
                bad(
                    VILLAGE_CODE,
                    if village_text.is_empty() {
                        "村代码不能为空".to_owned()
                    } else {
                        format!("“{village_text}”不是12位村级区划代码")
                    },
                );
                None
            }
        };
        let name = get(NAME);
        if name.is_empty() {
            bad(NAME, "姓名不能为空".into());
        } else if name.chars().count() > 30 {
            bad(NAME, "姓名过长（最多30字）".into());
        }
        let relation_text = get(RELATION);
        let relation = relation_of(&relation_text);
        if relation.is_none() {
            bad(
                RELATION,
                format!(
                    "“{relation_text}”不是可用的与户主关系，应填：{}",
                    Relation::ALL.map(Relation::name_zh).join("、")
                ),
            );
        }
        let id_text = get(ID_NUMBER);
        let id_number = if id_text.is_empty() {
            None
        } else {
            match ResidentIdNumber::parse(&id_text, today) {
                Ok(n) => {
                    let key = n.as_str().to_owned();
                    if let Some((first, first_no)) = seen_ids.get(&key) {
                        bad(
                            ID_NUMBER,
                            format!(
                                "身份证号与第{first}行（户编号{first_no}）重复，同一人只能登记一次"
                            ),
                        );
                    } else {
                        seen_ids.insert(key, (line, number.clone()));
                    }
                    Some(n)
                }
                Err(e) => {
                    bad(ID_NUMBER, e.to_string());
                    None
                }
            }
        };
        let phone_text = get(PHONE);
        let phone = if phone_text.is_empty() {
            None
        } else {
            match MobileNumber::parse(&phone_text) {
                Ok(p) => Some(p),
                Err(e) => {
                    bad(PHONE, e.to_string());
                    None
                }
            }
        };
        let poor_text = get(FORMERLY_POOR);
        let formerly_poor = match poor_text.as_str() {
            "" => None,
            "是" | "脱贫户" | "Y" | "y" | "1" => Some(true),
            "否" | "一般农户" | "N" | "n" | "0" => Some(false),
            other => {
                bad(FORMERLY_POOR, format!("“{other}”应填“是”或“否”"));
                None
            }
        };
        let status_text = get(MONITORING);
        let since_text = get(MONITORING_SINCE);
        let since = if since_text.is_empty() {
            None
        } else {
            match parse_date(&since_text) {
                Some(d) if d <= today => Some(d),
                Some(_) => {
                    bad(MONITORING_SINCE, format!("日期{since_text}晚于今天"));
                    None
                }
                None => {
                    bad(
                        MONITORING_SINCE,
                        format!("“{since_text}”不是日期，应写成2024-03-15"),
                    );
                    None
                }
            }
        };
        let monitoring = match status_text.as_str() {
            "" => None,
            "未纳入" | "未纳入监测" => Some(MonitoringStatus::NotMonitored),
            "监测中" | "纳入监测" | "未消除风险" => match since {
                Some(since) => Some(MonitoringStatus::Monitoring { since }),
                None if since_text.is_empty() => {
                    bad(MONITORING_SINCE, "监测中的农户须填纳入监测日期".into());
                    None
                }
                None => None,
            },
            "已消除风险" | "风险已消除" => match since {
                Some(on) => Some(MonitoringStatus::RiskEliminated { on }),
                None if since_text.is_empty() => {
                    bad(MONITORING_SINCE, "已消除风险的农户须填风险消除日期".into());
                    None
                }
                None => None,
            },
            other => {
                bad(
                    MONITORING,
                    format!("“{other}”应填“未纳入”“监测中”或“已消除风险”"),
                );
                None
            }
        };
        let category_text = get(CATEGORY);
        let category = if category_text.is_empty() {
            None
        } else {
            let found = [
                MonitoringCategory::UnstableFormerlyPoor,
                MonitoringCategory::MarginalAtRisk,
                MonitoringCategory::SuddenSevereHardship,
            ]
            .into_iter()
            .find(|c| c.name_zh() == category_text);
            if found.is_none() {
                bad(
                    CATEGORY,
                    format!("“{category_text}”应填“脱贫不稳定户”“边缘易致贫户”或“突发严重困难户”"),
                );
            }
            found
        };
        let door_plate = Some(get(DOOR_PLATE)).filter(|s| !s.is_empty());
        let address = Some(get(ADDRESS)).filter(|s| !s.is_empty());
        if numbers_seen.insert(number.clone()) {
            order.push(number.clone());
        }
        let Some(village) = village else {
            bad_households.insert(number);
            continue;
        };
        let entry = households
            .entry(number.clone())
            .or_insert_with(|| RegisterHousehold {
                household_no: number.clone(),
                village: village.clone(),
                first_line: line,
                door_plate: None,
                address: None,
                phone: None,
                formerly_poor: None,
                monitoring: None,
                category: None,
                people: Vec::new(),
            });
        // The household's columns are repeated on every member's row; they must agree.
        if entry.village != village {
            bad(
                VILLAGE_CODE,
                format!(
                    "同一户编号{number}在第{}行的村代码是{}，本行是{village}",
                    entry.first_line, entry.village
                ),
            );
        }
        merge_household_value(&mut entry.door_plate, door_plate);
        merge_household_value(&mut entry.address, address);
        merge_household_value(&mut entry.phone, phone);
        merge_household_value(&mut entry.formerly_poor, formerly_poor);
        merge_household_value(&mut entry.monitoring, monitoring);
        merge_household_value(&mut entry.category, category);
        if errors.len() != errors_before {
            bad_households.insert(number);
            continue;
        }
        if let Some(relation) = relation {
            entry.people.push(PersonRow {
                line,
                name,
                id_number,
                relation,
            });
        }
    }
    // Household-level checks: one head, category fitting the household's history.
    for number in &order {
        let Some(h) = households.get(number) else {
            continue;
        };
        if bad_households.contains(number) {
            continue;
        }
        let heads: Vec<&PersonRow> = h
            .people
            .iter()
            .filter(|p| p.relation == Relation::Head)
            .collect();
        let problem = match heads.len() {
            0 => Some((
                h.first_line,
                RELATION,
                format!("户编号{number}没有户主，请标明一名户主"),
            )),
            1 => None,
            n => Some((
                heads[1].line,
                RELATION,
                format!("户编号{number}登记了{n}名户主，一户只能有一名"),
            )),
        };
        let problem = problem.or_else(|| match (h.category, h.formerly_poor) {
            (Some(MonitoringCategory::UnstableFormerlyPoor), Some(false) | None) => Some((
                h.first_line,
                CATEGORY,
                "脱贫不稳定户须是脱贫户（是否脱贫户应填“是”）".to_owned(),
            )),
            (Some(MonitoringCategory::MarginalAtRisk), Some(true)) => Some((
                h.first_line,
                CATEGORY,
                "边缘易致贫户不能是脱贫户，脱贫户请填脱贫不稳定户".to_owned(),
            )),
            _ => None,
        });
        if let Some((line, column, reason)) = problem {
            errors.push(RowError {
                line,
                column: column.to_owned(),
                reason,
            });
            bad_households.insert(number.clone());
        }
    }
    errors.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.column.cmp(&b.column)));
    let kept = order
        .into_iter()
        .filter(|number| !bad_households.contains(number))
        .filter_map(|number| households.remove(&number))
        .collect();
    Ok(CheckedRegister {
        households: kept,
        errors,
        rows,
        households_left_out: bad_households.len(),
    })
}

/// A household column is taken from the first of its members' rows that fills it.
fn merge_household_value<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// The relation as the form prints it, or as the national system's export words it.
fn relation_of(text: &str) -> Option<Relation> {
    let t = text.trim();
    Relation::from_name_zh(t).or(match t {
        "本人" => Some(Relation::Head),
        "妻" | "夫" | "妻子" | "丈夫" => Some(Relation::Spouse),
        "之子" | "儿子" | "长子" | "次子" => Some(Relation::Son),
        "之女" | "女儿" | "长女" | "次女" => Some(Relation::Daughter),
        "之儿媳" | "儿媳妇" => Some(Relation::DaughterInLaw),
        "之女婿" => Some(Relation::SonInLaw),
        "之父" | "之母" | "父亲" | "母亲" | "父" | "母" => Some(Relation::Parent),
        "之孙子" | "之孙女" | "孙子" | "孙女" | "外孙子" | "外孙女" => {
            Some(Relation::Grandchild)
        }
        "兄" | "弟" | "姐" | "妹" | "兄弟" | "姐妹" => Some(Relation::Sibling),
        _ => None,
    })
}

/// A date as exports and people write it.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

impl RegisterHousehold {
    /// The household as stored after this import: a new one, or the stored one with the
    /// register's facts brought in. Once a household exists, its monitoring status and category
    /// belong to the procedure in this system (an approval here is newer than any export), so
    /// the file's values for them count only when the household is created. Members are matched
    /// by ID number, then by name and relation; a matched member keeps its id and everything a
    /// worker recorded at home (health, work, schooling); a member no longer in the file has
    /// left the household.
    fn to_household(&self, existing: Option<&Household>) -> Result<Household, String> {
        let no = &self.household_no;
        let mut h = match existing {
            Some(e) => e.clone(),
            None => {
                let address = self.address.clone().unwrap_or_else(|| {
                    let place = crate::domain::resident::village_name(&self.village);
                    format!("{place}{}", self.door_plate.as_deref().unwrap_or(""))
                });
                let mut h = Household::new(household_id_for(no), self.village.clone(), address)
                    .map_err(|e| e.to_string())?;
                h.monitoring = self.monitoring.unwrap_or(MonitoringStatus::NotMonitored);
                h.category = self.category;
                h
            }
        };
        if let Some(a) = &self.address {
            h.address.clone_from(a);
        }
        if let Some(d) = &self.door_plate {
            h.door_plate = Some(d.clone());
        }
        if let Some(p) = &self.phone {
            h.phone = Some(p.clone());
        }
        if let Some(f) = self.formerly_poor {
            h.formerly_poor = f;
        }
        let mut before = std::mem::take(&mut h.members);
        h.head = None;
        for p in &self.people {
            let found = before
                .iter()
                .position(|m| p.id_number.is_some() && m.id_number == p.id_number)
                .or_else(|| {
                    before.iter().position(|m| {
                        m.name == p.name
                            && m.relation == p.relation
                            && (m.id_number.is_none() || p.id_number.is_none())
                    })
                });
            let mut member = match found {
                Some(i) => before.remove(i),
                None => {
                    let key = p.id_number.as_ref().map_or_else(
                        || format!("{}/{}", p.name, p.relation.name_zh()),
                        |n| n.as_str().to_owned(),
                    );
                    Member::new(member_id_for(no, &key), p.name.clone(), p.relation)
                }
            };
            member.name.clone_from(&p.name);
            member.relation = p.relation;
            if p.id_number.is_some() {
                member.set_id_number(p.id_number.clone());
            }
            h.add_member(member).map_err(|e| e.to_string())?;
        }
        h.validate().map_err(|e| e.to_string())?;
        Ok(h)
    }
}

/// How a run writes.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The largest share of bad rows (0.0–1.0) with which the good households are still
    /// written; above it nothing is.
    pub max_error_share: f64,
    /// Households per transaction.
    pub batch_size: usize,
    /// Who ran it, for the audit trail.
    pub by: String,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            max_error_share: 0.01,
            batch_size: 1000,
            by: "command line".to_owned(),
        }
    }
}

/// What one batch did.
#[derive(Debug, Default)]
struct BatchOutcome {
    created: usize,
    updated: usize,
    unchanged: usize,
    members: usize,
    refused: Vec<RowError>,
}

/// Write the checked households, one transaction per batch; `progress(done, total)` after each.
/// Returns the summary and every bad row (the file's and those found against stored records).
pub async fn import(
    storage: &dyn Storage,
    checked: CheckedRegister,
    file_sha256: &str,
    options: &ImportOptions,
    now: DateTime<Utc>,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<(RegisterSummary, Vec<RowError>), RegisterError> {
    let share = checked.error_share();
    if share > options.max_error_share {
        return Err(RegisterError::TooManyErrors {
            bad: checked.bad_rows(),
            total: checked.rows,
            share: share * 100.0,
            allowed: options.max_error_share * 100.0,
            errors: checked.errors,
        });
    }
    let total = checked.households.len();
    let mut summary = RegisterSummary {
        rows: checked.rows,
        households_left_out: checked.households_left_out,
        ..RegisterSummary::default()
    };
    let mut errors = checked.errors;
    let mut done = 0;
    for (n, batch) in checked
        .households
        .chunks(options.batch_size.max(1))
        .enumerate()
    {
        let batch: Arc<Vec<RegisterHousehold>> = Arc::new(batch.to_vec());
        let (by, sha) = (options.by.clone(), file_sha256.to_owned());
        let work = Arc::clone(&batch);
        let outcome = crate::store::write(storage, move |tx| {
            let out = write_batch(tx, &work, now)?;
            let detail = serde_json::json!({
                "by": by,
                "file_sha256": sha,
                "batch": n,
                "households": work.len(),
                "created": out.created,
                "updated": out.updated,
                "unchanged": out.unchanged,
            });
            tx.audit(&AuditEntry {
                at: now,
                user_id: None,
                device_id: None,
                command_id: None,
                action: "import_register".to_owned(),
                kind: kinds::HOUSEHOLD.to_owned(),
                record_id: format!("register:{sha}:{n}"),
                village: work
                    .first()
                    .map(|h| h.village.to_string())
                    .unwrap_or_default(),
                detail: detail.to_string(),
            })?;
            Ok(out)
        })
        .await?;
        summary.created += outcome.created;
        summary.updated += outcome.updated;
        summary.unchanged += outcome.unchanged;
        summary.members += outcome.members;
        summary.households_left_out += outcome.refused.len();
        errors.extend(outcome.refused);
        done += batch.len();
        progress(done, total);
    }
    summary.households = summary.created + summary.updated + summary.unchanged;
    errors.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.column.cmp(&b.column)));
    summary.bad_rows = lines_with_errors(&errors);
    Ok((summary, errors))
}

fn write_batch(
    tx: &mut dyn RecordTx,
    batch: &[RegisterHousehold],
    now: DateTime<Utc>,
) -> Result<BatchOutcome, StorageError> {
    let mut out = BatchOutcome::default();
    let ids: Vec<String> = batch
        .iter()
        .map(|r| household_id_for(&r.household_no).to_string())
        .collect();
    let mut stored: HashMap<String, Household> = HashMap::new();
    for record in tx.get_many(kinds::HOUSEHOLD, &ids)? {
        if let Some(body) = record.body {
            stored.insert(record.id, serde_json::from_str(&body)?);
        }
    }
    // (id, village, body) of the households to write.
    let mut writes: Vec<(String, String, String)> = Vec::new();
    for (r, id) in batch.iter().zip(&ids) {
        let existing = stored.get(id);
        if let Some(e) = existing
            && e.village != r.village
        {
            out.refused.push(RowError {
                line: r.first_line,
                column: VILLAGE_CODE.to_owned(),
                reason: format!(
                    "户编号{}已登记在村{}，迁往其他村请在系统中办理迁移，不能用导入改变",
                    r.household_no, e.village
                ),
            });
            continue;
        }
        let h = match r.to_household(existing) {
            Ok(h) => h,
            Err(reason) => {
                out.refused.push(RowError {
                    line: r.first_line,
                    column: HOUSEHOLD_NO.to_owned(),
                    reason: if existing.is_some() {
                        format!("与系统中已有的档案合并后不成立：{reason}")
                    } else {
                        reason
                    },
                });
                continue;
            }
        };
        out.members += h.members.len();
        match existing {
            Some(e) if *e == h => out.unchanged += 1,
            Some(_) => {
                out.updated += 1;
                writes.push((
                    id.clone(),
                    h.village.to_string(),
                    serde_json::to_string(&h)?,
                ));
            }
            None => {
                out.created += 1;
                writes.push((
                    id.clone(),
                    h.village.to_string(),
                    serde_json::to_string(&h)?,
                ));
            }
        }
    }
    let records: Vec<RecordWrite<'_>> = writes
        .iter()
        .map(|(id, village, body)| RecordWrite {
            kind: kinds::HOUSEHOLD,
            id,
            village,
            body: Some(body),
        })
        .collect();
    tx.put_many(&records, server_hlc(now), now)?;
    Ok(out)
}

/// The bad rows as the county's staff read them, one per line.
pub fn report_zh(errors: &[RowError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
