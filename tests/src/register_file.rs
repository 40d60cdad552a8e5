//! A household register file at any size, as the national system exports it (one row per
//! person, the household's columns repeated), for `yijian-server import-register` in the tests
//! and in `make bench-scale`.
//!
//! Deterministic (a fixed mixing function of the household's index, no random state), so the
//! test and the benchmark see the same file and a failure can be replayed. Households are
//! spread over the real villages of the scope (the 17,718 of Gansu for the province), each
//! village weighted between 1 and 4.3 so villages differ in size as they do; households have one
//! to seven members with ages that fit their relation, ID numbers that pass every check and are
//! unique across the file (sequence numbers counted per county and birth day), a third are
//! 脱贫户 and about one in twenty is monitored with a category that fits.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use yijian_core::division::DivisionCode;
use yijian_core::regions::Regions;
use yijian_core::validation::id_check_char;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "马", "何", "魏", "牛", "祁", "郭",
    "包", "安", "冯", "蒲", "雷", "苏", "韩", "朱", "石", "胡", "罗", "鲁", "汪", "贾",
];
const MEN: &[&str] = &[
    "建国", "志强", "永福", "国平", "海军", "学文", "德胜", "振华", "有才", "春生", "福林", "宝山",
    "长青", "进财", "世杰", "大山", "小河", "国栋", "文杰", "海龙", "子轩", "浩然", "俊杰", "明轩",
];
const WOMEN: &[&str] = &[
    "秀兰", "桂英", "玉梅", "丽娟", "春花", "红霞", "淑珍", "小燕", "金凤", "翠萍", "彩霞", "艳芳",
    "桂芝", "兰英", "雪梅", "晓燕", "梓涵", "欣怡", "雨桐", "思琪", "佳怡", "玉兰", "金花", "兰芳",
];

/// The header the generated file carries (the template's, see the README).
pub const HEADER: &str = "户编号,村代码,门牌号,住址,姓名,身份证号,与户主关系,联系电话,是否脱贫户,监测状态,状态日期,监测对象类型";

/// A 64-bit mix of `x` (splitmix64's finaliser): the generator's only source of variety.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How many households each village of `scope` gets, `total` in all, in proportion to a fixed
/// weight per village.
pub fn households_per_village(scope: &DivisionCode, total: usize) -> Vec<(DivisionCode, usize)> {
    let villages: Vec<DivisionCode> = Regions::gansu()
        .villages_in(scope)
        .map(|r| r.code.clone())
        .collect();
    let weights: Vec<u64> = villages
        .iter()
        .map(|v| 30 + mix(v.as_str().parse::<u64>().unwrap_or(0)) % 100)
        .collect();
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let total_u = u64::try_from(total).unwrap_or(u64::MAX);
    let mut given = 0u64;
    let mut acc = 0u64;
    villages
        .into_iter()
        .zip(weights)
        .map(|(v, w)| {
            acc += w;
            // Cumulative rounding: the counts add up to `total` exactly.
            let upto = (u128::from(acc) * u128::from(total_u) / u128::from(sum)) as u64;
            let n = upto - given;
            given = upto;
            (v, usize::try_from(n).unwrap_or(0))
        })
        .collect()
}

/// One person's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub name: String,
    pub id_number: String,
    pub relation: &'static str,
}

/// One household as the file shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterHousehold {
    pub household_no: String,
    pub village: DivisionCode,
    pub door_plate: String,
    pub phone: String,
    pub formerly_poor: bool,
    /// (监测状态, 状态日期, 监测对象类型), empty when not monitored.
    pub monitoring: (&'static str, String, &'static str),
    pub people: Vec<PersonRow>,
}

/// Writes households with ID numbers unique across everything it has written.
#[derive(Debug, Default)]
pub struct Generator {
    /// Next sequence number per (county, birth date, sex).
    sequences: HashMap<(u32, NaiveDate, bool), u32>,
}

impl Generator {
    pub fn new() -> Generator {
        Generator::default()
    }

    fn id_number(&mut self, county: &str, born: NaiveDate, male: bool) -> String {
        // Sequence digits: odd for men, even for women (GB 11643), so 500 people per county,
        // birth day and sex; the rare 501st is born a day later.
        let mut born = born;
        let seq = loop {
            let key = (county.parse::<u32>().unwrap_or(0), born, male);
            let n = self.sequences.entry(key).or_insert(0);
            if *n < 500 {
                *n += 1;
                break (*n - 1) * 2 + u32::from(male);
            }
            born = born.succ_opt().unwrap_or(born);
        };
        let body = format!("{county}{}{seq:03}", born.format("%Y%m%d"));
        let check = id_check_char(&body).unwrap_or('0');
        format!("{body}{check}")
    }

    /// Household `i` of `village` (`global` numbers households across the whole file).
    pub fn household(
        &mut self,
        village: &DivisionCode,
        i: usize,
        global: usize,
        today: NaiveDate,
    ) -> RegisterHousehold {
        let r = mix(global as u64 ^ 0x5eed_0001);
        let county = &village.as_str()[..6];
        let surname = SURNAMES[(r % SURNAMES.len() as u64) as usize];
        let pick = |list: &[&str], salt: u64| -> String {
            list[(mix(r ^ salt) % list.len() as u64) as usize].to_owned()
        };
        // A day in `years` years from `from_year`, never later than last year.
        let day = |salt: u64, from_year: i32, years: i64| -> NaiveDate {
            let last = today.year() - 1;
            let from_year = from_year.min(last);
            let years = years.min(i64::from(last - from_year)).max(1);
            let start = NaiveDate::from_ymd_opt(from_year, 1, 1).unwrap_or(today);
            start + chrono::Days::new(mix(r ^ salt) % (years.unsigned_abs() * 365))
        };
        let head_born = day(1, 1940, 50);
        let head_male = r % 10 < 8;
        let mut people = Vec::new();
        let mut add = |g: &mut Generator, name: String, born: NaiveDate, male: bool, rel| {
            let id_number = g.id_number(county, born, male);
            people.push(PersonRow {
                name,
                id_number,
                relation: rel,
            });
        };
        add(
            self,
            format!("{surname}{}", pick(if head_male { MEN } else { WOMEN }, 2)),
            head_born,
            head_male,
            "户主",
        );
        let size = 1 + (mix(r ^ 3) % 100) as usize * 7 / 100; // 1–7, most 3–5
        let head_year = head_born.year();
        if size >= 2 {
            let spouse_surname = SURNAMES[(mix(r ^ 4) % SURNAMES.len() as u64) as usize];
            add(
                self,
                format!(
                    "{spouse_surname}{}",
                    pick(if head_male { WOMEN } else { MEN }, 5)
                ),
                day(6, head_year - 3, 6),
                !head_male,
                "配偶",
            );
        }
        for c in 2..size {
            let salt = 10 + c as u64 * 7;
            let male = mix(r ^ salt) % 2 == 0;
            let (rel, born) = match c {
                2..=4 => (
                    if male { "子" } else { "女" },
                    day(salt + 1, head_year + 20, 15),
                ),
                5 => ("孙子女", day(salt + 1, head_year + 45, 12)),
                _ => ("父母", day(salt + 1, head_year - 30, 8)),
            };
            let name = if rel == "父母" {
                format!(
                    "{}{}",
                    SURNAMES[(mix(r ^ salt) % 30) as usize],
                    pick(if male { MEN } else { WOMEN }, salt + 2)
                )
            } else {
                format!(
                    "{surname}{}",
                    pick(if male { MEN } else { WOMEN }, salt + 2)
                )
            };
            add(self, name, born, male, rel);
        }
        let formerly_poor = mix(r ^ 20) % 3 == 0;
        let monitoring = if mix(r ^ 21) % 20 == 0 {
            let since = day(22, today.year() - 3, 3);
            let category = if formerly_poor {
                "脱贫不稳定户"
            } else if mix(r ^ 23) % 4 == 0 {
                "突发严重困难户"
            } else {
                "边缘易致贫户"
            };
            if mix(r ^ 24) % 3 == 0 {
                ("已消除风险", since.format("%Y-%m-%d").to_string(), category)
            } else {
                ("监测中", since.format("%Y-%m-%d").to_string(), category)
            }
        } else {
            ("", String::new(), "")
        };
        RegisterHousehold {
            household_no: format!("{}{:04}", village.as_str(), i + 1),
            village: village.clone(),
            door_plate: format!("{}社{}号", i % 9 + 1, i / 9 + 1),
            phone: format!("1{}{:09}", [3, 5, 7, 8, 9][(r % 5) as usize], global),
            formerly_poor,
            monitoring,
            people,
        }
    }
}

impl RegisterHousehold {
    /// The household's rows in the file's CSV form.
    pub fn write_csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        let (status, date, category) = &self.monitoring;
        for p in &self.people {
            writeln!(
                out,
                "{},{},{},,{},{},{},{},{},{},{},{}",
                self.household_no,
                self.village,
                self.door_plate,
                p.name,
                p.id_number,
                p.relation,
                self.phone,
                if self.formerly_poor { "是" } else { "否" },
                status,
                date,
                category
            )?;
        }
        Ok(())
    }
}

/// Write a register of `total` households over the villages of `scope` to `out` (UTF-8 CSV);
/// returns (households, rows).
pub fn write_register(
    scope: &DivisionCode,
    total: usize,
    today: NaiveDate,
    out: &mut impl Write,
) -> Result<(usize, usize)> {
    writeln!(out, "{HEADER}")?;
    let mut generator = Generator::new();
    let (mut households, mut rows) = (0, 0);
    for (village, n) in households_per_village(scope, total) {
        for i in 0..n {
            let h = generator.household(&village, i, households, today);
            h.write_csv(out).context("writing the register")?;
            households += 1;
            rows += h.people.len();
        }
    }
    Ok((households, rows))
}

/// A case in the generated register, as the case index holds it, with the clocks it completed.
#[derive(Debug, Clone)]
pub struct GeneratedCase {
    pub row: yijian_server::store::rows::CaseRow,
    pub done: Vec<yijian_server::store::rows::StepDone>,
}

/// Cases for about 1 in 40 households of the register `write_register(scope, total, today)`
/// writes (2.5 %), deterministic: every stage of the procedure, each source, one or two risk
/// types, declared over the last 18 months, open ones with a running clock due from two weeks
/// ago to two weeks ahead, and the clocks their stage has passed, on time or late.
///
/// They are index rows, not records built by the procedure's commands: what the dashboard and
/// its rollup read at province size, written by `bench-scale` and the dashboard test through
/// `RecordTx::index_case`/`log_step` (the write path the commands use).
pub fn generated_cases(scope: &DivisionCode, total: usize, today: NaiveDate) -> Vec<GeneratedCase> {
    use chrono::{Duration, TimeZone, Utc};
    use yijian_core::case::{CaseSource, RiskType};
    use yijian_core::deadline::Step as Clock;
    use yijian_core::division::Level;
    use yijian_core::workflow::Stage;
    use yijian_server::store::rows::{CaseRow, StepDone};

    let mut generator = Generator::new();
    let mut out = Vec::new();
    let mut global = 0usize;
    for (village, n) in households_per_village(scope, total) {
        for i in 0..n {
            let g = global;
            global += 1;
            let r = mix(g as u64 ^ 0xca5e_0001);
            if r % 40 != 0 {
                // The generator numbers ID numbers in order: keep it in step with the file.
                generator.household(&village, i, g, today);
                continue;
            }
            let h = generator.household(&village, i, g, today);
            let head = &h.people[0];
            let stage = Stage::ALL[(mix(r ^ 1) % Stage::ALL.len() as u64) as usize];
            let open = yijian_server::domain::cases::is_open(stage);
            let position = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
            let declared_on = today - Duration::days((mix(r ^ 2) % 540) as i64);
            let declared_at = Utc
                .from_local_datetime(&declared_on.and_hms_opt(2, 0, 0).unwrap_or_default())
                .single()
                .unwrap_or_else(Utc::now);
            let after = |days: u64, salt: u64| {
                let d = declared_on + Duration::days((mix(r ^ salt) % days) as i64 + 1);
                d.min(today)
            };
            let first_visit_on = (position >= 2).then(|| after(12, 3));
            let approved_on = (position >= 10
                && stage != Stage::Rejected
                && stage != Stage::Appealed
                && stage != Stage::RejectionUpheld)
                .then(|| after(40, 4).max(first_visit_on.unwrap_or(declared_on)));
            let risks: Vec<RiskType> = {
                let a = RiskType::ALL[(mix(r ^ 5) % RiskType::ALL.len() as u64) as usize];
                let b = RiskType::ALL[(mix(r ^ 6) % RiskType::ALL.len() as u64) as usize];
                if a == b || mix(r ^ 7) % 3 != 0 {
                    vec![a]
                } else {
                    vec![a, b]
                }
            };
            let clock = open.then(|| {
                let step = match position {
                    0 => Clock::Accept,
                    1..=2 => Clock::HomeVerification,
                    3..=9 => Clock::CountyApproval,
                    10 => Clock::Plan,
                    _ => Clock::FollowUp,
                };
                (
                    step,
                    today - Duration::days(14) + Duration::days((mix(r ^ 8) % 28) as i64),
                )
            });
            // A real case id (UUIDv7), stable for the household across runs.
            let case_id = yijian_core::ids::CaseId::from_parts(
                1_577_836_800_000 + g as u64,
                u128::from(r) << 64 | u128::from(mix(r ^ 16)),
            )
            .to_string();
            let mut done = Vec::new();
            let mut passed = |step: Clock, on: Option<NaiveDate>, salt: u64| {
                if let Some(done_on) = on {
                    // Three in four on time.
                    let slack = if mix(r ^ salt) % 4 == 0 { -2 } else { 3 };
                    done.push(StepDone {
                        case_id: case_id.clone(),
                        village: village.to_string(),
                        step,
                        due_on: done_on + Duration::days(slack),
                        done_on,
                    });
                }
            };
            passed(Clock::Accept, (position >= 1).then_some(declared_on), 9);
            passed(
                Clock::HomeVerification,
                first_visit_on.filter(|_| position >= 3),
                10,
            );
            passed(Clock::CountyApproval, approved_on, 11);
            out.push(GeneratedCase {
                row: CaseRow {
                    case_id: case_id.clone(),
                    village: village.to_string(),
                    household_id: Some(
                        yijian_server::domain::register::household_id_for(&h.household_no)
                            .to_string(),
                    ),
                    stage,
                    open,
                    source: CaseSource::ALL[(mix(r ^ 12) % CaseSource::ALL.len() as u64) as usize],
                    green_channel: mix(r ^ 13) % 20 == 0,
                    risk_types: risks,
                    applicant_name: head.name.clone(),
                    id_number: head.id_number.clone(),
                    phone: Some(h.phone.clone()),
                    receipt_no: Some(format!("G{g:011}")),
                    declared_at,
                    declared_on,
                    first_visit_on,
                    verified_on: first_visit_on.filter(|_| position >= 3),
                    approved_on,
                    closed_on: (!open).then(|| after(60, 14)),
                    plan_made_on: (position >= 14 && approved_on.is_some()).then(|| after(60, 15)),
                    clock_step: clock.map(|c| c.0),
                    // Who acts while the clock runs (`yijian_core::clocks`): the deadline job
                    // notices only clocks with an owner.
                    clock_owner: clock.map(|c| match c.0 {
                        Clock::Accept => Level::Township,
                        Clock::CountyApproval => Level::County,
                        _ => Level::Village,
                    }),
                    clock_due_on: clock.map(|c| c.1),
                    updated_at: declared_at,
                },
                done,
            });
        }
    }
    out
}

/// Write generated cases into a server's storage through `index_case` and `log_step` (which keep
/// the dashboard's rollup), 500 to a transaction.
pub async fn index_cases(
    storage: &dyn yijian_server::store::Storage,
    cases: &[GeneratedCase],
) -> Result<()> {
    for chunk in cases.chunks(500) {
        let chunk = chunk.to_vec();
        yijian_server::store::write(storage, move |tx| {
            for c in &chunk {
                tx.index_case(&c.row)?;
                for d in &c.done {
                    tx.log_step(d)?;
                }
            }
            Ok(())
        })
        .await?;
    }
    Ok(())
}
