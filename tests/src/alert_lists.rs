//! A household register and a department's warning list at size, for the 100,000-line test and
//! `make bench-alerts`: one deterministic generator (no randomness, so both see the same file and
//! a failure can be replayed), built so that every outcome's count is known in advance.
//!
//! The register: household `h` lives in `villages[h % villages.len()]` and has three members
//! (`3h`, `3h + 1`, `3h + 2`), 30 % of households 脱贫户. Member `k`'s ID number is unique for
//! any `k` below 27 million. The list (医保, 医疗自付费用高) holds, in a fixed shuffled order:
//! - one line of 30,000 元 for the head of each of `leads` households (a lead each);
//! - for a quarter of those households, a line of 25,000 元 for a second member (added to the
//!   case the first line opened);
//! - 1 % exact copies of earlier below-threshold lines (duplicates within the file);
//! - 1 % lines whose ID number fails its check digit (rejected);
//! - 20 % valid ID numbers of people not in the register (unmatched);
//! - the rest below every threshold (under 4,000 元, each amount distinct).
//!
//! Amounts and dates come in the forms spreadsheets and department systems write: numbers,
//! `1,234.50元`, date cells, `2026/11/30`, `20261130`.

use anyhow::Result;
use chrono::NaiveDate;
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{HouseholdId, MemberId};
use yijian_core::validation::{ResidentIdNumber, id_check_char};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "马", "何", "魏", "牛", "祁",
];
const GIVEN: &[&str] = &[
    "建国", "秀英", "玉兰", "志强", "桂花", "大山", "小河", "红梅", "永福", "金花", "德明", "兰芳",
    "海龙", "春燕", "国栋", "文杰",
];

/// The 18-digit ID number of member `k`, registered in `county` (6 digits).
pub fn id_number(k: usize, county: &str) -> String {
    // A distinct birth day per thousand members (11 is prime to 27,000), three digits of
    // sequence within the day.
    let day = (k / 1000) * 11 % 27_000;
    let born = NaiveDate::from_ymd_opt(1950, 1, 1).expect("date")
        + chrono::Days::new(u64::try_from(day).expect("small"));
    let body = format!("{county}{}{:03}", born.format("%Y%m%d"), k % 1000);
    let check = id_check_char(&body).expect("17 digits");
    format!("{body}{check}")
}

/// The name of member `k`.
pub fn name(k: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[k % SURNAMES.len()],
        GIVEN[(k / SURNAMES.len()) % GIVEN.len()]
    )
}

/// Whether household `h` is a 脱贫户.
pub fn formerly_poor(h: usize) -> bool {
    h.wrapping_mul(2_654_435_761) % 10 < 3
}

/// Households `range` of the register, as the records `import_records` takes (the test and the
/// benchmark load the register this way, in batches).
pub fn register_records(
    range: std::ops::Range<usize>,
    villages: &[DivisionCode],
    today: NaiveDate,
) -> Result<Vec<yijian_server::store::ImportRecord>> {
    let hlc = yijian_core::hlc::Hlc {
        wall_ms: 1,
        counter: 0,
        node: 0,
    };
    range
        .map(|i| {
            let hh = household(i, villages, today)?;
            Ok(yijian_server::store::ImportRecord {
                kind: yijian_core::protocol::kinds::HOUSEHOLD.into(),
                id: hh.id.to_string(),
                village: hh.village.to_string(),
                body: Some(serde_json::to_string(&hh)?),
                hlc,
            })
        })
        .collect()
}

/// Household `h` of the register.
pub fn household(h: usize, villages: &[DivisionCode], today: NaiveDate) -> Result<Household> {
    let village = villages[h % villages.len()].clone();
    let county = &village.as_str()[..6];
    let mut hh = Household::new(HouseholdId::new(), village.clone(), format!("{}号", h + 1))?;
    hh.formerly_poor = formerly_poor(h);
    for j in 0..3 {
        let k = 3 * h + j;
        let relation = match j {
            0 => Relation::Head,
            1 => Relation::Spouse,
            _ => Relation::Son,
        };
        hh.add_member(
            Member::new(MemberId::new(), name(k), relation)
                .with_id_number(ResidentIdNumber::parse(&id_number(k, county), today)?),
        )?;
    }
    Ok(hh)
}

/// One line as a department writes it (the amount and date cells keep their spreadsheet form).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id_number: String,
    pub name: String,
    pub amount: Cell,
    pub occurred_on: Cell,
    pub note: String,
    pub total: f64,
}

/// A cell as a spreadsheet holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

impl Cell {
    fn csv_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(f) => format!("{f}"),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }
}

/// What the list must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub rows: usize,
    pub leads_created: usize,
    pub attached_to_open_cases: usize,
    pub duplicates: usize,
    pub below_threshold: usize,
    pub unmatched: usize,
    pub rejected: usize,
}

impl Expected {
    pub fn matched(&self) -> usize {
        self.rows - self.unmatched - self.rejected
    }
}

/// The warning list of `rows` lines against a register of `households` households.
pub fn medical_list(
    rows: usize,
    households: usize,
    villages: &[DivisionCode],
    today: NaiveDate,
) -> (Vec<Line>, Expected) {
    let county = |h: usize| villages[h % villages.len()].as_str()[..6].to_owned();
    let leads = (rows / 50).min(households);
    let attached = leads / 4;
    let duplicates = rows / 100;
    let rejected = rows / 100;
    let unmatched = rows / 5;
    let below = rows - leads - attached - duplicates - rejected - unmatched;
    let day = |i: usize| today - chrono::Days::new(1 + u64::try_from(i % 27).expect("small"));
    // Spread the lead households over the register.
    let step = (households / leads.max(1)).max(1);
    let mut lines = Vec::with_capacity(rows);
    for i in 0..leads {
        let h = i * step;
        let k = 3 * h;
        lines.push(Line {
            id_number: id_number(k, &county(h)),
            name: name(k),
            amount: Cell::Number(30_000.0),
            occurred_on: Cell::Date(day(i)),
            note: "住院".into(),
            total: 90_000.0,
        });
        if i < attached {
            lines.push(Line {
                id_number: id_number(k + 1, &county(h)),
                name: name(k + 1),
                amount: Cell::Text("25,000.00元".into()),
                occurred_on: Cell::Text(day(i).format("%Y/%m/%d").to_string()),
                note: "住院".into(),
                total: 70_447.56,
            });
        }
    }
    let mut below_lines = Vec::with_capacity(below);
    for i in 0..below {
        let h = (i * 7919) % households;
        let k = 3 * h + i % 3;
        // Distinct amounts (100.00 to 3,999.99 元) so that no two lines are the same line.
        let fen = 10_000 + (i * 37) % 390_000;
        let amount = if i % 5 == 0 {
            let yuan = fen / 100;
            Cell::Text(if yuan >= 1000 {
                format!("{},{:03}.{:02}元", yuan / 1000, yuan % 1000, fen % 100)
            } else {
                format!("{yuan}.{:02}元", fen % 100)
            })
        } else {
            Cell::Number(fen as f64 / 100.0)
        };
        let occurred_on = match i % 3 {
            0 => Cell::Date(day(i)),
            1 => Cell::Text(day(i).format("%Y%m%d").to_string()),
            _ => Cell::Text(day(i).format("%Y-%m-%d").to_string()),
        };
        below_lines.push(Line {
            id_number: id_number(k, &county(h)),
            name: name(k),
            amount,
            occurred_on,
            note: String::new(),
            total: fen as f64 / 25.0,
        });
    }
    lines.extend(below_lines.iter().cloned());
    for i in 0..duplicates {
        lines.push(below_lines[(i * 104_729) % below_lines.len()].clone());
    }
    for i in 0..unmatched {
        // Members past the register's end: valid numbers of people the register lacks.
        let k = 3 * households + i;
        lines.push(Line {
            id_number: id_number(k, &county(i)),
            name: name(k),
            amount: Cell::Number(8_000.0),
            occurred_on: Cell::Date(day(i)),
            note: String::new(),
            total: 20_000.0,
        });
    }
    for i in 0..rejected {
        let mut number = id_number(3 * (i % households), &county(i));
        let last = if number.ends_with('0') { '1' } else { '0' };
        number.pop();
        number.push(last);
        lines.push(Line {
            id_number: number,
            name: name(i),
            amount: Cell::Number(100.0),
            occurred_on: Cell::Date(day(i)),
            note: String::new(),
            total: 100.0,
        });
    }
    // A fixed shuffle. Order changes no count: a household's second line is added to the case
    // its first line opened, whichever comes first, and of two equal lines the later one is
    // the duplicate.
    let n = lines.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x5DEE_CE66;
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from((state >> 33) % (i as u64 + 1)).expect("small");
        order.swap(i, j);
    }
    let lines = order.into_iter().map(|i| lines[i].clone()).collect();
    (
        lines,
        Expected {
            rows,
            leads_created: leads,
            attached_to_open_cases: attached,
            duplicates,
            below_threshold: below,
            unmatched,
            rejected,
        },
    )
}

/// The 医保 template's header.
pub const HEADER: [&str; 7] = [
    "身份证号",
    "姓名",
    "预警事项",
    "金额（元）",
    "发生日期",
    "备注",
    "医疗总费用（元）",
];

/// The list as a CSV file in GBK, as Excel in China saves it.
pub fn to_gbk_csv(lines: &[Line]) -> Vec<u8> {
    let mut text = HEADER.join(",");
    text.push_str("\r\n");
    for l in lines {
        let amount = l.amount.csv_text();
        let quoted = |s: &str| {
            if s.contains(',') {
                format!("\"{s}\"")
            } else {
                s.to_owned()
            }
        };
        text.push_str(&format!(
            "{},{},医疗自付费用高,{},{},{},{}\r\n",
            l.id_number,
            l.name,
            quoted(&amount),
            l.occurred_on.csv_text(),
            l.note,
            l.total
        ));
    }
    encoding_rs::GBK.encode(&text).0.into_owned()
}

/// The list as an Excel workbook: a title row above the header, as departments' exports have,
/// numbers as numbers, dates as date cells.
pub fn to_xlsx(lines: &[Line]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "甘肃省医疗保障局 防返贫监测预警名单")?;
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(1, u16::try_from(c)?, *h)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let r = u32::try_from(i)? + 2;
        sheet.write_string(r, 0, &l.id_number)?;
        sheet.write_string(r, 1, &l.name)?;
        sheet.write_string(r, 2, "医疗自付费用高")?;
        for (c, cell) in [(3u16, &l.amount), (4, &l.occurred_on)] {
            match cell {
                Cell::Text(s) => sheet.write_string(r, c, s)?,
                Cell::Number(f) => sheet.write_number(r, c, *f)?,
                Cell::Date(d) => sheet.write_datetime_with_format(
                    r,
                    c,
                    ExcelDateTime::from_ymd(
                        u16::try_from(chrono::Datelike::year(d))?,
                        u8::try_from(chrono::Datelike::month(d))?,
                        u8::try_from(chrono::Datelike::day(d))?,
                    )?,
                    &date_format,
                )?,
            };
        }
        sheet.write_string(r, 5, &l.note)?;
        sheet.write_number(r, 6, l.total)?;
    }
    Ok(book.save_to_buffer()?)
}
