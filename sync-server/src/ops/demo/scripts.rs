//! The scripted cases, read from `assets/demo/cases.toml`, and their shared runs of acts.

use yijian_core::case::RiskType;
use yijian_core::division::DivisionCode;
use yijian_core::form::FORM_DIFFICULTIES;

use serde::Deserialize;

use super::*;

/// One step of a demonstration case (`day` days after its declaration, see [`TimedAct`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Act {
    Accept,
    StartVisit,
    FinishVisit {
        qualifies: bool,
    },
    NotifyNotQualified,
    CrossCheck,
    DemocraticReview,
    /// The notice, taken down the day before this day after lasting `days` full days (the
    /// posting day not counted).
    PublicNotice {
        days: i64,
    },
    TownshipReview,
    CountyApprove,
    CountyReject,
    ResidentAppeal,
    /// Decided one level above the refusal: the city for the county's, the township for the
    /// village's (`township = true`).
    DecideAppeal {
        upheld: bool,
        #[serde(default)]
        township: bool,
    },
    /// 上门解疑释惑 after an appeal that failed.
    ExplainAppeal,
    /// A QR declaration switched to the green channel (先帮扶后认定).
    SwitchToGreenChannel,
    MakePlan,
    FollowUp,
    ProposeRiskElimination,
    ReviewRiskElimination,
    /// `false`: not yet — back to assistance (回头帮).
    DecideRiskElimination {
        approve: bool,
    },
    EmergencyAssistance,
    Close,
}

/// An act and its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) struct TimedAct {
    day: i64,
    #[serde(flatten)]
    act: Act,
}

/// A run of acts many cases share, from `start` days after the declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
enum Preset {
    /// Accept, visit, verification, cross-check, 民主评议, 公示 for 5 days, township review;
    /// `take` keeps only the first acts (a case that stopped halfway).
    Identified { start: i64, take: Option<usize> },
    /// Identified, then county approval on day `start + 14`.
    Approved { start: i64 },
    /// Approved from day 0, the plan on day 17, a return visit every 30 days for `months`.
    Assisted { months: i64 },
}

impl Preset {
    fn acts(self) -> Vec<(i64, Act)> {
        match self {
            Preset::Identified { start, take } => {
                let mut a = identified(start);
                a.truncate(take.unwrap_or(a.len()));
                a
            }
            Preset::Approved { start } => approved(start),
            Preset::Assisted { months } => {
                let mut a = approved(0);
                a.push((17, Act::MakePlan));
                for m in 1..=months {
                    a.push((17 + 30 * m, Act::FollowUp));
                }
                a
            }
        }
    }
}

fn identified(start: i64) -> Vec<(i64, Act)> {
    vec![
        (start, Act::Accept),
        (start + 1, Act::StartVisit),
        (start + 2, Act::FinishVisit { qualifies: true }),
        (start + 4, Act::CrossCheck),
        (start + 5, Act::DemocraticReview),
        (start + 11, Act::PublicNotice { days: 5 }),
        (start + 12, Act::TownshipReview),
    ]
}

fn approved(start: i64) -> Vec<(i64, Act)> {
    let mut a = identified(start);
    a.push((start + 14, Act::CountyApprove));
    a
}

/// A demonstration case: who declares, where, when, and what has happened since.
#[derive(Debug, Clone)]
pub(super) struct Script {
    pub(super) name: String,
    pub(super) birth: String,
    pub(super) phone: String,
    pub(super) village: DivisionCode,
    pub(super) declared_days_ago: i64,
    pub(super) risk: RiskType,
    pub(super) description: String,
    pub(super) green_channel: bool,
    pub(super) acts: Vec<(i64, Act)>,
}

/// A case as `assets/demo/cases.toml` writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptEntry {
    name: String,
    birth: String,
    phone: String,
    /// A key of [`Places`] (`nanchuan`, `ziyun`, `neiguan`, `tongwei`).
    village: String,
    declared_days_ago: i64,
    risk: RiskType,
    description: String,
    #[serde(default)]
    green_channel: bool,
    #[serde(default)]
    preset: Option<Preset>,
    #[serde(default)]
    acts: Vec<TimedAct>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    case: Vec<ScriptEntry>,
}

/// The scripted cases as shipped.
const CASES_TOML: &str = include_str!("../../../../assets/demo/cases.toml");

/// The scripted cases of `text` (the TOML of `assets/demo/cases.toml`), their villages
/// resolved, each case's acts in the order of their days.
pub(super) fn parse_scripts(text: &str, p: &Places) -> Result<Vec<Script>, DemoError> {
    let file: ScriptFile =
        toml::from_str(text).map_err(|e| DemoError::Invalid(format!("cases.toml: {e}")))?;
    file.case
        .into_iter()
        .map(|e| {
            let village = p.by_key(&e.village).ok_or_else(|| {
                DemoError::Invalid(format!(
                    "cases.toml: {}: unknown village {:?}",
                    e.name, e.village
                ))
            })?;
            let mut acts = e.preset.map(Preset::acts).unwrap_or_default();
            acts.extend(e.acts.iter().map(|t| (t.day, t.act)));
            if acts.windows(2).any(|w| w[1].0 < w[0].0) {
                return Err(DemoError::Invalid(format!(
                    "cases.toml: {}: acts are not in the order of their days",
                    e.name
                )));
            }
            Ok(Script {
                name: e.name,
                birth: e.birth,
                phone: e.phone,
                village,
                declared_days_ago: e.declared_days_ago,
                risk: e.risk,
                description: e.description,
                green_channel: e.green_channel,
                acts,
            })
        })
        .collect()
}

/// The scripted cases as shipped.
pub(super) fn scripts(p: &Places) -> Result<Vec<Script>, DemoError> {
    parse_scripts(CASES_TOML, p)
}

/// `n` cases over `villages` in turn, for [`super::walk_township`]: one in five in each of a
/// visit under way, identified (visit, 评议, 公示, township review), approved, and assisted with
/// two or three months of return visits. `salt` varies the applicants' birth dates (and so
/// their ID numbers) between runs on one database.
pub(super) fn township_scripts(villages: &[DivisionCode], n: usize, salt: u32) -> Vec<Script> {
    const SURNAMES: [&str; 10] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "马"];
    const GIVEN: [&str; 10] = [
        "秀兰", "建国", "桂英", "志强", "玉梅", "永福", "淑芳", "德明", "翠花", "海军",
    ];
    let mut out = Vec::with_capacity(n);
    for (k, village) in (0..n).zip(villages.iter().cycle()) {
        let k32 = u32::try_from(k).unwrap_or(0);
        // Nothing on the declaration's own day: the seeder stamps a declaration n minutes
        // after its day's start, later than a step of that day for the later cases.
        let (declared_days_ago, acts) = match k % 5 {
            0 => (3, vec![(1, Act::Accept), (2, Act::StartVisit)]),
            1 => (20, identified(1)),
            2 => (30, approved(1)),
            m => {
                let months = if m == 3 { 2 } else { 3 };
                let a: Vec<(i64, Act)> = Preset::Assisted { months }
                    .acts()
                    .into_iter()
                    .map(|(day, act)| (day + 1, act))
                    .collect();
                let last = a.last().map_or(0, |(d, _)| *d);
                (last + 5, a)
            }
        };
        let year = 1940 + (k32 + salt) % 50;
        let month = 1 + (k32 / 50 + salt) % 12;
        out.push(Script {
            name: format!("{}{}", SURNAMES[k % 10], GIVEN[k / 10 % 10]),
            birth: format!("{year}{month:02}{:02}", 10 + k % 18),
            phone: format!("1390002{:04}", k % 10_000),
            village: village.clone(),
            declared_days_ago,
            risk: FORM_DIFFICULTIES[k % FORM_DIFFICULTIES.len()],
            description: "家中有人患病住院，医疗支出大，收入减少".into(),
            green_channel: false,
            acts,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_cases_read_back_with_their_presets_expanded() {
        let p = Places::new().expect("places");
        let all = scripts(&p).expect("cases.toml");
        assert_eq!(all.len(), 31);
        let green: Vec<_> = all.iter().filter(|s| s.green_channel).collect();
        assert_eq!(green.len(), 1);
        let assisted = all.iter().find(|s| s.name == "蒋学文").expect("蒋学文");
        // approved (8 acts) + plan + 7 return visits + 5 risk-elimination acts (proposal,
        // its 民主评议 and 公示, township review, county decision).
        assert_eq!(assisted.acts.len(), 21);
        assert_eq!(
            assisted.acts.last(),
            Some(&(243, Act::DecideRiskElimination { approve: true }))
        );
        let cut = all.iter().find(|s| s.name == "曹丽萍").expect("曹丽萍");
        assert_eq!(cut.acts, identified(1)[..4].to_vec());
    }

    #[test]
    fn a_bad_case_is_refused_with_its_name() {
        let p = Places::new().expect("places");
        let case = |extra: &str| {
            format!(
                "[[case]]\nname = \"甲\"\nbirth = \"19700101\"\nphone = \"13900000001\"\n\
                 village = \"nanchuan\"\ndeclared_days_ago = 3\nrisk = \"illness\"\n\
                 description = \"x\"\n{extra}"
            )
        };
        let unknown_act = parse_scripts(&case("acts = [{ day = 1, act = \"fly\" }]"), &p);
        assert!(matches!(unknown_act, Err(DemoError::Invalid(m)) if m.contains("fly")));
        let unknown_place = parse_scripts(&case("").replace("nanchuan", "atlantis"), &p);
        assert!(
            matches!(unknown_place, Err(DemoError::Invalid(m)) if m.contains("甲") && m.contains("atlantis"))
        );
        let out_of_order = parse_scripts(
            &case("acts = [{ day = 2, act = \"start_visit\" }, { day = 1, act = \"accept\" }]"),
            &p,
        );
        assert!(matches!(out_of_order, Err(DemoError::Invalid(m)) if m.contains("order")));
    }
}
