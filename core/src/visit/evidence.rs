//! Where, when and before whom a home visit was made: the evidence a township reviewer weighs
//! before trusting a checklist filled offline.
//!
//! A visit records its place as a GPS fix with its accuracy and time, or — said plainly — why
//! there is none (a desktop has no positioning; the worker refused the permission; no fix came
//! in time). It records who was present: members of the household and cadres. Nothing here
//! blocks a visit: a mountain kitchen may have no fix, and a worker must still be able to
//! finish. Instead [`check_evidence`] turns the record into warnings the console shows beside
//! the visit, comparing the fix with the village's other visits, because a county official
//! reading a case wants to know at a glance whether the visit was made at the house.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{GeoPoint, Visit};
use crate::household::Relation;
use crate::ids::MemberId;

/// Why a visit has no GPS fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum NoFix {
    /// The device has no location service (the desktop app).
    NoLocationService,
    /// The worker did not allow the app to use the location.
    PermissionDenied,
    /// No fix within the time allowed (indoors, deep valley, no satellites).
    NoSignal,
}

impl NoFix {
    pub const fn name_zh(self) -> &'static str {
        match self {
            NoFix::NoLocationService => "本设备没有定位功能（电脑版不能定位）",
            NoFix::PermissionDenied => "未允许本应用使用位置信息",
            NoFix::NoSignal => "限定时间内未能定位（信号弱或在室内）",
        }
    }
}

/// The visit's place as the device recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VisitPlace {
    /// A fix, with the time the device took it.
    Fixed {
        point: GeoPoint,
        fixed_at: DateTime<Utc>,
    },
    /// No fix, and why, noted at this time.
    Unavailable {
        reason: NoFix,
        noted_at: DateTime<Utc>,
    },
}

impl VisitPlace {
    pub fn point(&self) -> Option<GeoPoint> {
        match self {
            VisitPlace::Fixed { point, .. } => Some(*point),
            VisitPlace::Unavailable { .. } => None,
        }
    }

    /// One line for a reader: "已定位（精度约12米）" or the reason there is no fix.
    pub fn describe_zh(&self) -> String {
        match self {
            VisitPlace::Fixed { point, .. } => {
                format!("已定位（精度约{}米）", point.accuracy_m().round() as i64)
            }
            VisitPlace::Unavailable { reason, .. } => format!("未定位：{}", reason.name_zh()),
        }
    }
}

/// A cadre's part at a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CadreRole {
    /// 村干部
    VillageCadre,
    /// 驻村工作队员
    WorkTeam,
    /// 帮扶责任人
    HelpResponsible,
    /// 网格员
    GridWorker,
    /// 乡镇干部
    TownshipCadre,
    /// 其他
    Other,
}

impl CadreRole {
    pub const ALL: [CadreRole; 6] = [
        CadreRole::VillageCadre,
        CadreRole::WorkTeam,
        CadreRole::HelpResponsible,
        CadreRole::GridWorker,
        CadreRole::TownshipCadre,
        CadreRole::Other,
    ];

    pub const fn name_zh(self) -> &'static str {
        match self {
            CadreRole::VillageCadre => "村干部",
            CadreRole::WorkTeam => "驻村工作队员",
            CadreRole::HelpResponsible => "帮扶责任人",
            CadreRole::GridWorker => "网格员",
            CadreRole::TownshipCadre => "乡镇干部",
            CadreRole::Other => "其他人员",
        }
    }
}

/// Someone present at the visit. A member's name and relation are copied at the time, so the
/// record says who was there even if the household's register changes later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attendee {
    Member {
        member_id: MemberId,
        name: String,
        relation: Relation,
    },
    Cadre {
        name: String,
        role: CadreRole,
    },
}

/// Longest name accepted for someone present (Chinese names are 2–4 characters; Tibetan names
/// written in Chinese characters run longer).
pub const ATTENDEE_NAME_MAX: usize = 30;

impl Attendee {
    pub fn name(&self) -> &str {
        match self {
            Attendee::Member { name, .. } | Attendee::Cadre { name, .. } => name,
        }
    }

    /// "张三（户主）", "王五（村干部）".
    pub fn describe_zh(&self) -> String {
        match self {
            Attendee::Member { name, relation, .. } => format!("{name}（{}）", relation.name_zh()),
            Attendee::Cadre { name, role } => format!("{name}（{}）", role.name_zh()),
        }
    }

    /// The name must be written (trimmed, at most [`ATTENDEE_NAME_MAX`] characters, no control
    /// characters).
    pub fn check(&self) -> Result<(), String> {
        let name = self.name();
        if name.trim().is_empty() {
            return Err("在场人员的姓名不能为空".into());
        }
        if name.trim() != name {
            return Err(format!("在场人员“{}”的姓名前后不能有空格", name.trim()));
        }
        if name.chars().count() > ATTENDEE_NAME_MAX {
            return Err(format!(
                "在场人员的姓名不能超过{ATTENDEE_NAME_MAX}个字：{name}"
            ));
        }
        if name.chars().any(char::is_control) {
            return Err("在场人员的姓名中有无法显示的字符".into());
        }
        Ok(())
    }

    fn same_person(&self, other: &Attendee) -> bool {
        match (self, other) {
            (Attendee::Member { member_id: a, .. }, Attendee::Member { member_id: b, .. }) => {
                a == b
            }
            (Attendee::Cadre { name: a, role: r }, Attendee::Cadre { name: b, role: s }) => {
                a == b && r == s
            }
            _ => false,
        }
    }
}

/// Check a list of people present: each valid, nobody twice.
pub fn check_attendees(list: &[Attendee]) -> Result<(), String> {
    for (i, a) in list.iter().enumerate() {
        a.check()?;
        if list[..i].iter().any(|b| b.same_person(a)) {
            return Err(format!("在场人员“{}”重复填写了", a.name()));
        }
    }
    Ok(())
}

/// A fix further than this from the village's other visits (beyond its own accuracy) is
/// flagged. An administrative village in Gansu's mountains spans a few kilometres between its
/// natural villages (自然村); 3 km past the median of the others is outside it.
pub const FAR_FROM_VILLAGE_M: f64 = 3_000.0;
/// Fixes less precise than this prove little (a cell-tower position) and are flagged.
pub const IMPRECISE_M: f64 = 500.0;
/// Other visits with a fix needed before a distance is judged.
pub const MIN_COMPARED: usize = 3;
/// A fix taken this long before the visit started or after it ended is flagged.
pub const TIME_APART_MIN: i64 = 60;

/// Something a reviewer should look at about a visit's evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum EvidenceWarning {
    /// A finalised visit without a place (made before places were recorded).
    PlaceNotRecorded,
    NoFix(NoFix),
    Imprecise {
        accuracy_m: f64,
    },
    FarFromVillage {
        distance_m: f64,
    },
    TimeApart {
        minutes: i64,
    },
    NobodyPresent,
    NoMemberPresent,
}

impl EvidenceWarning {
    pub fn message_zh(&self) -> String {
        match self {
            EvidenceWarning::PlaceNotRecorded => "未记录核查地点".into(),
            EvidenceWarning::NoFix(r) => format!("未定位：{}", r.name_zh()),
            EvidenceWarning::Imprecise { accuracy_m } => format!(
                "定位精度仅约{}米，不能说明核查地点",
                accuracy_m.round() as i64
            ),
            EvidenceWarning::FarFromVillage { distance_m } => format!(
                "定位点距本村其他核查地点约{:.1}公里，请核实是否入户",
                distance_m / 1000.0
            ),
            EvidenceWarning::TimeApart { minutes } => {
                format!("定位时间与核查时间相差约{minutes}分钟")
            }
            EvidenceWarning::NobodyPresent => "未记录在场人员".into(),
            EvidenceWarning::NoMemberPresent => "在场人员中没有该户成员".into(),
        }
    }

    /// A stable code for tests and the page's markup.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceWarning::PlaceNotRecorded => "place_not_recorded",
            EvidenceWarning::NoFix(_) => "no_fix",
            EvidenceWarning::Imprecise { .. } => "imprecise",
            EvidenceWarning::FarFromVillage { .. } => "far_from_village",
            EvidenceWarning::TimeApart { .. } => "time_apart",
            EvidenceWarning::NobodyPresent => "nobody_present",
            EvidenceWarning::NoMemberPresent => "no_member_present",
        }
    }
}

/// What [`check_evidence`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceCheck {
    pub warnings: Vec<EvidenceWarning>,
    /// Distance from the median of the village's other fixes, when there were enough of them.
    pub distance_to_village_m: Option<f64>,
    /// How many of the village's other visits had a precise fix to compare with.
    pub compared_with: usize,
}

/// Great-circle distance in metres (haversine on a sphere of the Earth's mean radius: within
/// 0.5 % of the ellipsoid, ample for "was it in the village").
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    const R: f64 = 6_371_008.8;
    let (la1, la2) = (a.lat().to_radians(), b.lat().to_radians());
    let dla = la2 - la1;
    let dlo = (b.lng() - a.lng()).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Weigh a visit's evidence against `others`: the fixes of the same village's other visits.
/// The village's centre is the component-wise median of the precise ones, so one wrong fix
/// among them does not move it.
pub fn check_evidence(visit: &Visit, others: &[GeoPoint]) -> EvidenceCheck {
    let mut warnings = Vec::new();
    let precise: Vec<GeoPoint> = others
        .iter()
        .copied()
        .filter(|p| p.accuracy_m() <= IMPRECISE_M)
        .collect();
    let mut distance_to_village_m = None;
    match visit.location() {
        None if visit.is_final() => warnings.push(EvidenceWarning::PlaceNotRecorded),
        None => {}
        Some(VisitPlace::Unavailable { reason, .. }) => {
            warnings.push(EvidenceWarning::NoFix(*reason));
        }
        Some(VisitPlace::Fixed { point, fixed_at }) => {
            if point.accuracy_m() > IMPRECISE_M {
                warnings.push(EvidenceWarning::Imprecise {
                    accuracy_m: point.accuracy_m(),
                });
            }
            if precise.len() >= MIN_COMPARED {
                let centre = GeoPoint::new(
                    median(precise.iter().map(|p| p.lat()).collect()),
                    median(precise.iter().map(|p| p.lng()).collect()),
                    0.0,
                );
                if let Ok(centre) = centre {
                    let d = distance_m(*point, centre);
                    distance_to_village_m = Some(d);
                    if d - point.accuracy_m() > FAR_FROM_VILLAGE_M {
                        warnings.push(EvidenceWarning::FarFromVillage { distance_m: d });
                    }
                }
            }
            // A correction carries the original visit's place, fixed before it started.
            if visit.supersedes().is_none() {
                let start = visit.started_at();
                let end = visit.finalized_at().unwrap_or(start).max(start);
                let apart = if *fixed_at < start {
                    (start - *fixed_at).num_minutes()
                } else if *fixed_at > end {
                    (*fixed_at - end).num_minutes()
                } else {
                    0
                };
                if apart > TIME_APART_MIN {
                    warnings.push(EvidenceWarning::TimeApart { minutes: apart });
                }
            }
        }
    }
    if visit.is_final() {
        if visit.present().is_empty() {
            warnings.push(EvidenceWarning::NobodyPresent);
        } else if !visit
            .present()
            .iter()
            .any(|a| matches!(a, Attendee::Member { .. }))
        {
            warnings.push(EvidenceWarning::NoMemberPresent);
        }
    }
    EvidenceCheck {
        warnings,
        distance_to_village_m,
        compared_with: precise.len(),
    }
}
