//! The register households of the two townships and the extra self-declarations that fill
//! the lists: generated, deterministic names, ID numbers and phones.

use chrono::NaiveDate;
use yijian_core::case::RiskType;
use yijian_core::division::DivisionCode;
use yijian_core::ids::HouseholdId;
use yijian_core::regions::Regions;

use super::*;

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋",
];
const MEN: [&str; 16] = [
    "建国", "志强", "永福", "国平", "海军", "学文", "明亮", "德胜", "振华", "有才", "春生", "福林",
    "宝山", "长青", "进财", "世杰",
];
const WOMEN: [&str; 16] = [
    "秀兰", "桂英", "玉梅", "丽娟", "春花", "红霞", "淑珍", "小燕", "金凤", "翠萍", "彩霞", "艳芳",
    "桂芝", "兰英", "雪梅", "晓燕",
];

/// A person of household `n`, member `m`: (name, birth date, male).
fn person(
    n: usize,
    m: usize,
    surname: &str,
    male: bool,
    born: (i32, u32, u32),
) -> (String, String, bool) {
    let given = if male {
        MEN[(n * 7 + m * 3) % MEN.len()]
    } else {
        WOMEN[(n * 5 + m * 11) % WOMEN.len()]
    };
    let (y, mo, d) = born;
    (
        format!("{surname}{given}"),
        format!("{y:04}{mo:02}{d:02}"),
        male,
    )
}

/// The households of the two townships' registers (建档立卡 and monitored households alike):
/// about a dozen per village, two to six members each, entered by the township's staff.
pub(super) fn register_households(
    village: &DivisionCode,
    count: usize,
    today: NaiveDate,
) -> Result<Vec<yijian_core::household::Household>, DemoError> {
    use yijian_core::household::{Household, Member, Relation};
    use yijian_core::validation::ResidentIdNumber;
    let region = &village.as_str()[..6];
    let seed = village.as_str()[9..].parse::<usize>().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..count {
        let n = seed * 31 + i;
        let surname = SURNAMES[n % SURNAMES.len()];
        let mut h = Household::new(
            HouseholdId::new(),
            village.clone(),
            format!("{}社{}号", i % 6 + 1, i * 3 + 1),
        )
        .map_err(|e| DemoError::Invalid(e.to_string()))?;
        h.door_plate = Some(format!("{}-{:03}", village.as_str(), i + 1));
        h.formerly_poor = n % 3 == 0;
        let head_year = 1950 + (n * 7 % 36) as i32;
        let month = (n % 12 + 1) as u32;
        let mut people = vec![
            (
                person(n, 0, surname, true, (head_year, month, (n % 27 + 1) as u32)),
                Relation::Head,
            ),
            (
                person(
                    n,
                    1,
                    SURNAMES[(n + 5) % SURNAMES.len()],
                    false,
                    (head_year + 2, (month % 12) + 1, (n % 25 + 2) as u32),
                ),
                Relation::Spouse,
            ),
        ];
        for c in 0..(n % 4) {
            let male = (n + c) % 2 == 0;
            let year = (head_year + 24 + 3 * c as i32).min(2020);
            people.push((
                person(
                    n,
                    2 + c,
                    surname,
                    male,
                    (year, (c as u32 * 4 % 12) + 1, 9 + c as u32),
                ),
                if male {
                    Relation::Son
                } else {
                    Relation::Daughter
                },
            ));
        }
        if n % 5 == 0 && head_year > 1965 {
            people.push((
                person(n, 6, surname, n % 2 == 0, (head_year - 26, 3, 15)),
                Relation::Parent,
            ));
        }
        for (m, ((name, birth, male), relation)) in people.into_iter().enumerate() {
            // The sequence's last digit is odd for men, even for women (GB 11643).
            let seq = ((n * 13 + m * 7) % 450) * 2 + usize::from(male) + 100;
            let id = id_number(region, &birth, u32::try_from(seq % 1000).unwrap_or(101))?;
            let parsed = ResidentIdNumber::parse(&id, today)
                .map_err(|e| DemoError::Invalid(format!("{id}: {e}")))?;
            let member = Member::new(yijian_core::ids::MemberId::new(), name, relation)
                .with_id_number(parsed);
            h.add_member(member)
                .map_err(|e| DemoError::Invalid(e.to_string()))?;
        }
        h.phone =
            yijian_core::validation::MobileNumber::parse(&format!("137{:08}", 10_000_000 + n)).ok();
        out.push(h);
    }
    Ok(out)
}

/// Declarations from villages whose grid workers are not in the demonstration: waiting for the
/// township to accept, or accepted and waiting for a visit — some of them late.
pub(super) fn more_declarations(p: &Places) -> Vec<Script> {
    let villages: Vec<DivisionCode> = [p.nanchuan.parent(), p.neiguan.parent()]
        .into_iter()
        .flatten()
        .flat_map(|t| {
            Regions::gansu()
                .villages_in(&t)
                .map(|r| r.code.clone())
                .collect::<Vec<_>>()
        })
        .filter(|v| ![&p.nanchuan, &p.ziyun, &p.neiguan].contains(&v))
        .collect();
    let risks = [
        RiskType::Illness,
        RiskType::Disability,
        RiskType::Disaster,
        RiskType::Schooling,
        RiskType::UnstableEmployment,
        RiskType::Accident,
        RiskType::DrinkingWater,
    ];
    let words = [
        "家人生病住院，花费很大",
        "孩子残疾，需要长期康复",
        "暴雨冲垮了院墙和羊圈",
        "孩子上高中，学费和生活费困难",
        "打工的厂子停工，没有收入",
        "干活时摔伤，几个月不能劳动",
        "吃水要到三里外去拉",
    ];
    (0..24)
        .map(|i| {
            let male = i % 2 == 0;
            let surname = SURNAMES[(i * 5 + 3) % SURNAMES.len()];
            let given = if male {
                MEN[(i * 3) % MEN.len()]
            } else {
                WOMEN[(i * 7) % WOMEN.len()]
            };
            Script {
                name: format!("{surname}{given}"),
                birth: format!("{}{:02}{:02}", 1956 + i * 13 % 30, i % 12 + 1, i % 26 + 1),
                phone: format!("139000002{i:02}"),
                village: villages[i * 7 % villages.len()].clone(),
                declared_days_ago: (i * 3 % 23) as i64,
                risk: risks[i % risks.len()],
                description: words[i % words.len()].to_owned(),
                green_channel: false,
                acts: if i % 3 == 0 {
                    vec![(1, Act::Accept)]
                } else {
                    vec![]
                },
            }
        })
        .filter(|s| s.declared_days_ago > 1 || s.acts.is_empty())
        .collect()
}
