//! Demonstration data: staff of every level and cases at every stage of the procedure, made
//! by the same code paths as real use, so `make run` opens on a console that shows something
//! and the browser tests have cases to act on.
//!
//! Nothing here writes records directly. Declarations go through the public form's
//! [`resident::declare`]; every later step is a command pushed by the seeded user whose job it
//! is, from a device of theirs, checked and applied by [`crate::domain::apply`] exactly as a phone's
//! would be — at a time in the past, so the deadline clocks show cases on time, due soon and
//! overdue. Photos are drawn stand-ins ([`crate::web::print::sheet::demo_photo`]) stored in the blob store.
//!
//! The figures are invented: names, ID numbers (valid check digits, invented people) and
//! phone numbers (the 138 0000 00xx and 139 0000 xxxx ranges).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use yijian_core::case::{Applicant, CaseSource, Declaration, MonitoringCategory, RiskType};
use yijian_core::checklist::{
    ChecklistTemplate, EXAMPLE_PHOTO_ITEMS, default_template, example_filling,
};
use yijian_core::division::{DivisionCode, Level};
use yijian_core::form::{DeclarationForm, PhoneRule, check_declaration};
use yijian_core::hlc::HlcClock;
use yijian_core::ids::{
    CaseId, CommandId, DeviceId, HouseholdId, MeasureId, PhotoId, PlanId, VisitId,
};
use yijian_core::protocol::{Command, CommandBody, Outcome, Wire};
use yijian_core::regions::Regions;
use yijian_core::role::Role;
use yijian_core::support::{
    FollowUp, Measure, MeasureKind, PhotoMeta, PhotoMime, PhotoOwner, Plan, Sha256Hex,
};
use yijian_core::validation::id_check_char;
use yijian_core::visit::{Visit, VisitPurpose};
use yijian_core::workflow::{NoticeMethod, Step, VerificationOutcome, VisitEvidence};

use crate::blobstore::{BlobStore, ChunkSpan};
use crate::domain::accounts::{NewUser, new_device_token, role_key};
use crate::domain::apply::ApplySettings;
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self, Declared};
use crate::store::rows::DeviceSession;
use crate::store::{Storage, StorageError, read, write};
use yijian_core::protocol::auth::Account;
use yijian_core::protocol::kinds;

/// The password of every demonstration account.
pub const DEMO_PASSWORD: &str = "yijian2026";

/// Why the demonstration data could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database already has users; demonstration data is only added to an empty one")]
    NotEmpty,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("demo step refused ({what}): {message}")]
    Refused { what: String, message: String },
    #[error("demo data invalid: {0}")]
    Invalid(String),
}

/// A seeded account.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub login: String,
    pub password: String,
    pub role: &'static str,
    pub role_zh: &'static str,
    pub scope: String,
    pub scope_name: String,
    pub name: String,
}

/// A seeded case, as the tests and the README talk about it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCase {
    pub case_id: String,
    pub receipt_no: String,
    pub applicant: String,
    pub phone: String,
    /// The stage, as on the wire (`township_reviewed`).
    pub stage: String,
    pub village: String,
    pub village_name: String,
}

/// What `demo-seed` made.
#[derive(Debug, Clone, Serialize)]
pub struct DemoData {
    pub users: Vec<DemoUser>,
    pub cases: Vec<DemoCase>,
}

/// The places the demonstration happens in.
struct Places {
    nanchuan: DivisionCode,
    ziyun: DivisionCode,
    neiguan: DivisionCode,
    tongwei: DivisionCode,
}

fn code(s: &str) -> Result<DivisionCode, DemoError> {
    DivisionCode::parse(s).map_err(|e| DemoError::Invalid(format!("{s}: {e}")))
}

impl Places {
    fn new() -> Result<Places, DemoError> {
        let first_village = |scope: &str| -> Result<DivisionCode, DemoError> {
            Regions::gansu()
                .villages_in(&code(scope)?)
                .find(|r| r.name.ends_with("村民委员会"))
                .map(|r| r.code.clone())
                .ok_or_else(|| DemoError::Invalid(format!("no village in {scope}")))
        };
        Ok(Places {
            nanchuan: code("621102105201")?,
            ziyun: code("621102105202")?,
            neiguan: code("621102102201")?,
            tongwei: first_village("621121")?,
        })
    }
}

/// Who does what in the demonstration (login, name, role, scope).
fn staff_list(
    p: &Places,
) -> Result<Vec<(&'static str, &'static str, Role, DivisionCode)>, DemoError> {
    let up = |c: &DivisionCode, l: Level| {
        c.at_level(l)
            .ok_or_else(|| DemoError::Invalid(format!("{c} has no {l:?}")))
    };
    Ok(vec![
        ("13800000000", "系统管理员", Role::Admin, code("62")?),
        (
            "13800000001",
            "李建华",
            Role::VillageWorker,
            p.nanchuan.clone(),
        ),
        (
            "13800000002",
            "马晓燕",
            Role::VillageWorker,
            p.ziyun.clone(),
        ),
        (
            "13800000003",
            "王志强",
            Role::VillageWorker,
            p.neiguan.clone(),
        ),
        (
            "13800000004",
            "何军",
            Role::VillageWorker,
            p.tongwei.clone(),
        ),
        (
            "13800000011",
            "陈国平",
            Role::Township,
            up(&p.nanchuan, Level::Township)?,
        ),
        (
            "13800000012",
            "杨丽",
            Role::Township,
            up(&p.neiguan, Level::Township)?,
        ),
        (
            "13800000013",
            "赵磊",
            Role::Township,
            up(&p.tongwei, Level::Township)?,
        ),
        (
            "13800000021",
            "张文斌",
            Role::County,
            up(&p.nanchuan, Level::County)?,
        ),
        (
            "13800000022",
            "刘海",
            Role::County,
            up(&p.tongwei, Level::County)?,
        ),
        (
            "13800000031",
            "赵明",
            Role::City,
            up(&p.nanchuan, Level::City)?,
        ),
        ("13800000041", "孙立新", Role::Province, code("62")?),
    ])
}

/// An invented resident ID number: region, birth date, sequence, check digit.
fn id_number(region: &str, birth: &str, seq: u32) -> Result<String, DemoError> {
    let body = format!("{region}{birth}{seq:03}");
    let check = id_check_char(&body)
        .ok_or_else(|| DemoError::Invalid(format!("no check digit for {body}")))?;
    Ok(format!("{body}{check}"))
}

/// 10:00 Beijing time `days` days before `now` (never after `now`), plus `minutes`.
fn at(now: DateTime<Utc>, days: i64, minutes: i64) -> DateTime<Utc> {
    let today = yijian_core::time::china_date(now);
    let date = today - Duration::days(days);
    let ten = NaiveTime::from_hms_opt(2, 0, 0).unwrap_or(NaiveTime::MIN);
    let t = date.and_time(ten).and_utc() + Duration::minutes(minutes);
    t.min(now - Duration::minutes(5))
}

/// One step of a demonstration case, `day` days after its declaration.
#[derive(Debug, Clone, Copy)]
enum Act {
    Accept,
    StartVisit,
    FinishVisit {
        qualifies: bool,
    },
    NotifyNotQualified,
    CrossCheck,
    DemocraticReview,
    /// The notice is posted on this day and taken down `days` later.
    PublicNotice {
        days: i64,
    },
    TownshipReview,
    CountyApprove,
    CountyReject,
    ResidentAppeal,
    DecideAppeal {
        upheld: bool,
    },
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

/// A demonstration case: who declares, where, when, and what has happened since.
struct Script {
    name: String,
    birth: String,
    phone: String,
    village: DivisionCode,
    declared_days_ago: i64,
    risk: RiskType,
    description: &'static str,
    green_channel: bool,
    acts: Vec<(i64, Act)>,
}

/// A case being walked through the procedure.
struct Walking {
    case_id: CaseId,
    household_id: HouseholdId,
    village: DivisionCode,
    receipt_no: String,
    phone: String,
    verification_visit: Option<VisitId>,
    plan: Option<PlanId>,
}

struct Seeder {
    storage: Arc<dyn Storage>,
    procedure: Procedure,
    template: ChecklistTemplate,
    clock: HlcClock,
    /// Sessions by role and scope.
    sessions: HashMap<(Role, String), DeviceSession>,
    /// The three stand-in photos: (sha, bytes, width, height).
    photos: Vec<(Sha256Hex, u64)>,
    now: DateTime<Utc>,
}

impl Seeder {
    /// The session of the user of `role` whose scope covers `village`.
    fn who(&self, role: Role, village: &DivisionCode) -> Result<DeviceSession, DemoError> {
        let scope = match role.level() {
            Some(level) => village
                .at_level(level)
                .ok_or_else(|| DemoError::Invalid(format!("{village} has no {level:?}")))?,
            None => code("62")?,
        };
        self.sessions
            .get(&(role, scope.to_string()))
            .cloned()
            .ok_or_else(|| DemoError::Invalid(format!("no demo {role:?} for {scope}")))
    }

    async fn push(
        &mut self,
        session: &DeviceSession,
        at: DateTime<Utc>,
        what: &str,
        bodies: Vec<CommandBody>,
    ) -> Result<(), DemoError> {
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        let commands: Vec<Command> = bodies
            .into_iter()
            .map(|b| Command {
                id: CommandId::new(),
                hlc: self.clock.tick(ms),
                body: Wire::Known(b),
            })
            .collect();
        let settings = ApplySettings::with(at, &self.procedure);
        let results =
            crate::domain::apply::push(&*self.storage, session, commands, &settings).await?;
        for r in results {
            if let Wire::Known(Outcome::Refused {
                message_en,
                message_zh,
                ..
            }) = r.outcome
            {
                return Err(DemoError::Refused {
                    what: what.to_owned(),
                    message: format!("{message_en} / {message_zh}"),
                });
            }
        }
        Ok(())
    }

    fn photo_meta(&self, n: usize, owner: PhotoOwner, taken: DateTime<Utc>) -> PhotoMeta {
        let (sha, bytes) = self.photos[n % self.photos.len()].clone();
        PhotoMeta {
            id: PhotoId::new(),
            sha256: sha,
            bytes,
            width: 960,
            height: 720,
            mime: PhotoMime::Jpeg,
            taken_at: Some(taken),
            owner,
            thumb_sha256: None,
        }
    }

    /// The commands of a complete home visit: draft, its photos, the final version.
    fn visit_commands(
        &self,
        c: &Walking,
        purpose: VisitPurpose,
        visitor: &Account,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        qualifies: bool,
    ) -> Result<(VisitId, Vec<CommandBody>), DemoError> {
        let bad = |e: yijian_core::visit::VisitError| DemoError::Invalid(e.to_string());
        let id = VisitId::new();
        let mut v = Visit::new(
            id,
            c.household_id,
            Some(c.case_id),
            purpose,
            &self.template,
            visitor.id,
            started,
        );
        let mut bodies = vec![CommandBody::SaveVisit(v.clone())];
        for (key, answer) in example_filling() {
            let answer = match key {
                yijian_core::checklist::keys::CONCLUSION if !qualifies => {
                    yijian_core::checklist::Answer::Choice("does_not_qualify".into())
                }
                _ => answer,
            };
            if !qualifies && key == yijian_core::checklist::keys::MONITORING_CATEGORY {
                continue;
            }
            v.set_answer(key, answer, &self.template).map_err(bad)?;
        }
        if !qualifies {
            let reason = yijian_core::checklist::keys::NOT_QUALIFIED_REASON;
            v.set_answer(
                reason,
                yijian_core::checklist::Answer::Text(
                    "家庭人均纯收入高于监测范围，无刚性支出".into(),
                ),
                &self.template,
            )
            .map_err(bad)?;
        }
        for (n, key) in EXAMPLE_PHOTO_ITEMS.iter().enumerate() {
            let meta = self.photo_meta(
                n,
                PhotoOwner::VisitItem {
                    visit_id: id,
                    item_key: (*key).to_owned(),
                },
                started + Duration::minutes(10 + n as i64),
            );
            v.attach_photo(key, meta.id, &self.template).map_err(bad)?;
            bodies.push(CommandBody::RecordPhoto(meta));
        }
        v.finalize(finished, &self.template).map_err(bad)?;
        bodies.push(CommandBody::SaveVisit(v));
        Ok((id, bodies))
    }

    async fn declare(&mut self, s: &Script, n: u32) -> Result<Walking, DemoError> {
        let when = at(self.now, s.declared_days_ago, i64::from(n));
        let region = &s.village.as_str()[..6];
        let id_number = id_number(region, &s.birth, 100 + n)?;
        if s.green_channel {
            // A grid worker meets a household in sudden trouble: help first, identify after.
            let worker = self.who(Role::VillageWorker, &s.village)?;
            let case_id = CaseId::new();
            let household_id = HouseholdId::new();
            let mut h = yijian_core::household::Household::new(
                household_id,
                s.village.clone(),
                format!("{}社{}号", n % 6 + 1, 10 + n),
            )
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
            let parsed = yijian_core::validation::ResidentIdNumber::parse(
                &id_number,
                yijian_core::time::china_date(when),
            )
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
            h.add_member(
                yijian_core::household::Member::new(
                    yijian_core::ids::MemberId::new(),
                    s.name.as_str(),
                    yijian_core::household::Relation::Head,
                )
                .with_id_number(parsed),
            )
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
            h.phone = yijian_core::validation::MobileNumber::parse(&s.phone).ok();
            let d = Declaration {
                case_id,
                household_id: Some(household_id),
                village: s.village.clone(),
                source: CaseSource::GreenChannel,
                risk_types: vec![s.risk],
                description: s.description.to_owned(),
                applicant: Applicant {
                    name: s.name.to_owned(),
                    id_number: id_number.clone(),
                    phone: Some(s.phone.to_owned()),
                    address: h.address.clone(),
                    household_size: Some(3),
                },
                proxy: None,
                declared_at: when,
            };
            self.push(
                &worker,
                when,
                "green channel",
                vec![CommandBody::CreateHousehold(h), CommandBody::Declare(d)],
            )
            .await?;
            let id = case_id.to_string();
            let receipt_no = read(&*self.storage, move |tx| tx.case_row(&id))
                .await?
                .and_then(|r| r.receipt_no)
                .unwrap_or_default();
            return Ok(Walking {
                case_id,
                household_id,
                village: s.village.clone(),
                receipt_no,
                phone: s.phone.to_owned(),
                verification_visit: None,
                plan: None,
            });
        }
        let form = DeclarationForm {
            applicant_name: s.name.to_owned(),
            id_number,
            phone: s.phone.to_owned(),
            village: s.village.to_string(),
            address: format!("{}社{}号", n % 6 + 1, 10 + n),
            household_size: "4".into(),
            risk_types: vec![crate::store::codec::enum_text(&s.risk)?],
            description: s.description.to_owned(),
        };
        let checked = check_declaration(
            &form,
            yijian_core::time::china_date(when),
            PhoneRule::Required,
            |_| true,
        )
        .map_err(|p| DemoError::Invalid(format!("{}: {p:?}", s.name)))?;
        let settings = ApplySettings::with(when, &self.procedure);
        let declared = write(&*self.storage, move |tx| {
            resident::declare(tx, &checked, &settings)
        })
        .await?;
        let Declared::New {
            case_id,
            receipt_no,
        } = declared
        else {
            return Err(DemoError::Invalid(format!("{} declared twice", s.name)));
        };
        let case_id: CaseId = case_id
            .parse()
            .map_err(|_| DemoError::Invalid("case id".into()))?;
        let id = case_id.to_string();
        let household_id = read(&*self.storage, move |tx| tx.case_row(&id))
            .await?
            .and_then(|r| r.household_id)
            .and_then(|h| h.parse::<HouseholdId>().ok())
            .ok_or_else(|| DemoError::Invalid("declared case has no household".into()))?;
        Ok(Walking {
            case_id,
            household_id,
            village: s.village.clone(),
            receipt_no,
            phone: s.phone.to_owned(),
            verification_visit: None,
            plan: None,
        })
    }

    fn step(case_id: CaseId, step: Step) -> CommandBody {
        CommandBody::CaseStep { case_id, step }
    }

    /// The follow-up the server scheduled for the case and nobody has done yet.
    async fn open_follow_up(&self, c: &Walking) -> Result<FollowUp, DemoError> {
        let village = c.village.to_string();
        let records = read(&*self.storage, move |tx| {
            tx.records_in_village(kinds::FOLLOW_UP, &village)
        })
        .await?;
        records
            .iter()
            .filter_map(|r| r.body.as_deref())
            .filter_map(|b| serde_json::from_str::<FollowUp>(b).ok())
            .find(|f| f.case_id == c.case_id && f.done_on.is_none())
            .ok_or_else(|| DemoError::Invalid("no follow-up scheduled".into()))
    }

    async fn act(
        &mut self,
        c: &mut Walking,
        s: &Script,
        day: i64,
        act: Act,
    ) -> Result<(), DemoError> {
        let t = at(self.now, s.declared_days_ago - day, 30);
        let today: NaiveDate = yijian_core::time::china_date(t);
        let v = c.village.clone();
        let id = c.case_id;
        let what = format!("{} day {day} {act:?}", s.name);
        match act {
            Act::Accept => {
                let who = self.who(Role::Township, &v)?;
                self.push(&who, t, &what, vec![Self::step(id, Step::Accept)])
                    .await
            }
            Act::StartVisit => {
                let who = self.who(Role::VillageWorker, &v)?;
                let visit = Visit::new(
                    VisitId::new(),
                    c.household_id,
                    Some(id),
                    VisitPurpose::Verification,
                    &self.template,
                    who.user.id,
                    t,
                );
                c.verification_visit = Some(visit.id());
                let start = Step::StartVerification {
                    visit_id: visit.id(),
                };
                self.push(
                    &who,
                    t,
                    &what,
                    vec![CommandBody::SaveVisit(visit), Self::step(id, start)],
                )
                .await
            }
            Act::FinishVisit { qualifies } => {
                let who = self.who(Role::VillageWorker, &v)?;
                let (visit_id, mut bodies) = self.visit_commands(
                    c,
                    VisitPurpose::Verification,
                    &who.user,
                    t - Duration::minutes(50),
                    t,
                    qualifies,
                )?;
                if c.verification_visit.is_none() {
                    bodies.push(Self::step(id, Step::StartVerification { visit_id }));
                }
                c.verification_visit = Some(visit_id);
                let outcome = if qualifies {
                    VerificationOutcome::Qualifies {
                        category: MonitoringCategory::MarginalAtRisk,
                        risk_types: vec![s.risk],
                    }
                } else {
                    VerificationOutcome::DoesNotQualify {
                        reason: "家庭人均纯收入高于监测范围，无刚性支出".into(),
                    }
                };
                bodies.push(Self::step(
                    id,
                    Step::RecordVerification {
                        visit: VisitEvidence {
                            visit_id,
                            finalised: true,
                            authorisation_photo: None,
                        },
                        outcome,
                    },
                ));
                self.push(&who, t, &what, bodies).await
            }
            Act::NotifyNotQualified => {
                let who = self.who(Role::VillageWorker, &v)?;
                let step = Step::NotifyNotQualified {
                    on: today,
                    method: NoticeMethod::InPerson,
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::CrossCheck => {
                let who = self.who(Role::Township, &v)?;
                let step = Step::RecordCrossCheck {
                    on: today,
                    findings: "与民政、医保、残联数据比对，收入和支出情况一致".into(),
                    discrepancy: false,
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::DemocraticReview => {
                let who = self.who(Role::VillageWorker, &v)?;
                let meta = self.photo_meta(1, PhotoOwner::Case { case_id: id }, t);
                let step = Step::RecordDemocraticReview {
                    held_on: today,
                    participants: 15,
                    agreed: true,
                    minutes_photo: Some(meta.id),
                };
                self.push(
                    &who,
                    t,
                    &what,
                    vec![CommandBody::RecordPhoto(meta), Self::step(id, step)],
                )
                .await
            }
            Act::PublicNotice { days } => {
                let who = self.who(Role::VillageWorker, &v)?;
                let meta = self.photo_meta(2, PhotoOwner::PublicNotice { case_id: id }, t);
                let from = today - Duration::days(days);
                let step = Step::RecordPublicNotice {
                    from,
                    to: today - Duration::days(1),
                    photo: Some(meta.id),
                    objections: 0,
                    objections_resolved: true,
                };
                self.push(
                    &who,
                    t,
                    &what,
                    vec![CommandBody::RecordPhoto(meta), Self::step(id, step)],
                )
                .await
            }
            Act::TownshipReview => {
                let who = self.who(Role::Township, &v)?;
                let step = Step::TownshipReview {
                    agree: true,
                    opinion: "核查属实，程序完整，同意报县审批".into(),
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::CountyApprove => {
                let who = self.who(Role::County, &v)?;
                let step = Step::CountyApprove {
                    category: MonitoringCategory::MarginalAtRisk,
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::CountyReject => {
                let who = self.who(Role::County, &v)?;
                let step = Step::CountyReject {
                    reason: "经比对，家庭有登记在册的商品房和小轿车，不符合纳入条件".into(),
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::ResidentAppeal => {
                let settings = ApplySettings::with(t, &self.procedure);
                let receipt = c.receipt_no.clone();
                let last4 = c.phone[c.phone.len() - 4..].to_owned();
                let filed = write(&*self.storage, move |tx| {
                    resident::appeal(
                        tx,
                        &receipt,
                        &last4,
                        "车辆和房产是亲属名下的，不是我家的，请重新核实",
                        &settings,
                    )
                })
                .await?;
                filed.map(|_| ()).map_err(|e| DemoError::Refused {
                    what,
                    message: format!("{e:?}"),
                })
            }
            Act::DecideAppeal { upheld } => {
                let who = self.who(Role::City, &v)?;
                let step = Step::DecideAppeal {
                    upheld,
                    reason: if upheld {
                        "经市级复核，车辆和房产登记在其兄弟名下，申诉成立".into()
                    } else {
                        "经市级复核，维持县级不予纳入的决定".into()
                    },
                    category: upheld.then_some(MonitoringCategory::MarginalAtRisk),
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::MakePlan => {
                let who = self.who(Role::VillageWorker, &v)?;
                let plan_id = PlanId::new();
                let plan = Plan {
                    id: plan_id,
                    case_id: id,
                    household_id: c.household_id,
                    made_on: today,
                    made_by: who.user.id,
                    measures: vec![
                        Measure {
                            id: MeasureId::new(),
                            kind: MeasureKind::MedicalAssistance,
                            description: "大病医疗救助，住院费用二次报销".into(),
                            amount_fen: Some(860_000),
                            responsible_unit: "区医疗保障局".into(),
                            responsible_person: "周敏".into(),
                            due_on: Some(today + Duration::days(30)),
                            done_on: Some(today),
                        },
                        Measure {
                            id: MeasureId::new(),
                            kind: MeasureKind::Employment {
                                job_found: true,
                                monthly_wage_fen: Some(320_000),
                            },
                            description: "公益性岗位（村保洁员）".into(),
                            amount_fen: None,
                            responsible_unit: "鲁家沟镇人民政府".into(),
                            responsible_person: "陈国平".into(),
                            due_on: Some(today + Duration::days(15)),
                            done_on: Some(today),
                        },
                    ],
                };
                c.plan = Some(plan_id);
                let step = Step::MakePlan {
                    plan_id,
                    measures: 2,
                };
                self.push(
                    &who,
                    t,
                    &what,
                    vec![CommandBody::SavePlan(plan), Self::step(id, step)],
                )
                .await
            }
            Act::FollowUp => {
                let who = self.who(Role::VillageWorker, &v)?;
                let mut f = self.open_follow_up(c).await?;
                let (visit_id, mut bodies) = self.visit_commands(
                    c,
                    VisitPurpose::FollowUp,
                    &who.user,
                    t - Duration::minutes(40),
                    t,
                    true,
                )?;
                f.done_on = Some(today);
                f.visit_id = Some(visit_id);
                f.note = "措施已落实，户主病情稳定，已在公益性岗位上班".into();
                f.by = Some(who.user.id);
                bodies.push(CommandBody::SaveFollowUp(f));
                bodies.push(Self::step(id, Step::RecordFollowUp { visit_id }));
                self.push(&who, t, &what, bodies).await
            }
            Act::ProposeRiskElimination => {
                let who = self.who(Role::VillageWorker, &v)?;
                let (visit_id, mut bodies) = self.visit_commands(
                    c,
                    VisitPurpose::RiskEliminationCheck,
                    &who.user,
                    t - Duration::minutes(40),
                    t,
                    true,
                )?;
                bodies.push(Self::step(
                    id,
                    Step::ProposeRiskElimination {
                        visit_id,
                        income_above_line: true,
                        guarantees_kept: true,
                    },
                ));
                self.push(&who, t, &what, bodies).await
            }
            Act::ReviewRiskElimination => {
                let who = self.who(Role::Township, &v)?;
                let step = Step::ReviewRiskElimination {
                    agree: true,
                    opinion: "收入稳定超过监测线，“三保障”和饮水安全有保障，同意消除风险".into(),
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::DecideRiskElimination { approve } => {
                let who = self.who(Role::County, &v)?;
                let step = Step::DecideRiskElimination {
                    approve,
                    reason: if approve {
                        "同意风险消除，转入常态化监测".into()
                    } else {
                        "务工收入刚过监测线且不稳定，继续帮扶（回头帮）".into()
                    },
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::Close => {
                let who = self.who(Role::Township, &v)?;
                self.push(&who, t, &what, vec![Self::step(id, Step::Close)])
                    .await
            }
            Act::EmergencyAssistance => {
                let who = self.who(Role::Township, &v)?;
                let step = Step::RecordEmergencyAssistance {
                    on: today,
                    measure: "临时救助金，先行发放".into(),
                    amount_fen: Some(300_000),
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
        }
    }
}

/// The identification procedure up to the county's decision, as (day, act).
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

fn with(mut a: Vec<(i64, Act)>, more: &[(i64, Act)]) -> Vec<(i64, Act)> {
    a.extend_from_slice(more);
    a
}

fn scripts(p: &Places) -> Vec<Script> {
    let s = |name: &str,
             birth: &str,
             phone: &str,
             village: &DivisionCode,
             days,
             risk,
             description,
             acts| Script {
        name: name.to_owned(),
        birth: birth.to_owned(),
        phone: phone.to_owned(),
        village: village.clone(),
        declared_days_ago: days,
        risk,
        description,
        green_channel: false,
        acts,
    };
    let approved = |start| with(identified(start), &[(start + 14, Act::CountyApprove)]);
    let assisted = |months: i64| {
        let mut a = with(approved(0), &[(17, Act::MakePlan)]);
        for m in 1..=months {
            a.push((17 + 30 * m, Act::FollowUp));
        }
        a
    };
    let mut list = vec![
        s(
            "王秀兰",
            "19520314",
            "13900000101",
            &p.nanchuan,
            0,
            RiskType::Illness,
            "老伴住院做手术，花了四万多，家里没钱了",
            vec![],
        ),
        s(
            "马福祥",
            "19680522",
            "13900000102",
            &p.nanchuan,
            6,
            RiskType::Disability,
            "儿子车祸后残疾，干不了活",
            vec![],
        ),
        s(
            "李桂英",
            "19710808",
            "13900000103",
            &p.ziyun,
            2,
            RiskType::Disaster,
            "冰雹把今年的洋芋和玉米都打了",
            vec![(1, Act::Accept)],
        ),
        s(
            "张有财",
            "19650101",
            "13900000104",
            &p.nanchuan,
            12,
            RiskType::Illness,
            "得了尿毒症，每周透析三次",
            vec![(1, Act::Accept), (2, Act::StartVisit)],
        ),
        s(
            "杨建军",
            "19780917",
            "13900000105",
            &p.nanchuan,
            8,
            RiskType::UnstableEmployment,
            "在外打工的工厂倒闭，没有收入",
            vec![
                (1, Act::Accept),
                (2, Act::StartVisit),
                (3, Act::FinishVisit { qualifies: true }),
            ],
        ),
        s(
            "刘玉梅",
            "19800212",
            "13900000106",
            &p.ziyun,
            18,
            RiskType::Schooling,
            "两个孩子上大学，学费生活费负担重",
            identified(4)[..6].to_vec(),
        ),
        s(
            "赵永红",
            "19790705",
            "13900000107",
            &p.nanchuan,
            19,
            RiskType::Illness,
            "妻子乳腺癌化疗，自费部分很多",
            identified(1),
        ),
        s(
            "孙德明",
            "19770303",
            "13900000108",
            &p.nanchuan,
            18,
            RiskType::Illness,
            "父亲中风偏瘫，需要长期护理",
            identified(1),
        ),
        s(
            "周志刚",
            "19600919",
            "13900000109",
            &p.ziyun,
            26,
            RiskType::UnstableEmployment,
            "年纪大了找不到活干",
            with(identified(1), &[(15, Act::CountyReject)]),
        ),
        s(
            "吴春花",
            "19730111",
            "13900000110",
            &p.nanchuan,
            32,
            RiskType::Illness,
            "丈夫肝病住院，欠了外债",
            with(
                identified(1),
                &[(15, Act::CountyReject), (18, Act::ResidentAppeal)],
            ),
        ),
        s(
            "何淑珍",
            "19700320",
            "13900000121",
            &p.ziyun,
            38,
            RiskType::Illness,
            "丈夫患肺癌，化疗费用高",
            with(
                identified(1),
                &[
                    (15, Act::CountyReject),
                    (17, Act::ResidentAppeal),
                    (22, Act::DecideAppeal { upheld: true }),
                ],
            ),
        ),
        s(
            "郑国庆",
            "19691001",
            "13900000111",
            &p.ziyun,
            40,
            RiskType::HousingSafety,
            "房子漏雨，想申请危房改造",
            vec![
                (1, Act::Accept),
                (2, Act::StartVisit),
                (3, Act::FinishVisit { qualifies: false }),
                (5, Act::NotifyNotQualified),
            ],
        ),
        s(
            "冯丽娟",
            "19820606",
            "13900000112",
            &p.nanchuan,
            14,
            RiskType::Other,
            "家里收入少，希望得到帮助",
            vec![
                (1, Act::Accept),
                (2, Act::StartVisit),
                (9, Act::FinishVisit { qualifies: false }),
            ],
        ),
        s(
            "陈永福",
            "19751120",
            "13900000113",
            &p.nanchuan,
            34,
            RiskType::Illness,
            "心脏搭桥手术后不能干重活",
            approved(1),
        ),
        s(
            "褚建国",
            "19761225",
            "13900000114",
            &p.ziyun,
            75,
            RiskType::Illness,
            "孩子白血病，在兰州住院治疗",
            assisted(1),
        ),
        s(
            "卫小红",
            "19810418",
            "13900000115",
            &p.nanchuan,
            230,
            RiskType::Illness,
            "丈夫脑出血后行动不便",
            with(assisted(7), &[(228, Act::ProposeRiskElimination)]),
        ),
        s(
            "蒋学文",
            "19740730",
            "13900000116",
            &p.nanchuan,
            245,
            RiskType::Disability,
            "妻子重度残疾，需要人照顾",
            with(
                assisted(7),
                &[
                    (235, Act::ProposeRiskElimination),
                    (238, Act::ReviewRiskElimination),
                    (241, Act::DecideRiskElimination { approve: true }),
                ],
            ),
        ),
        s(
            "贾志明",
            "19770614",
            "13900000122",
            &p.nanchuan,
            236,
            RiskType::Illness,
            "母亲股骨头坏死做了置换手术",
            with(
                assisted(7),
                &[
                    (229, Act::ProposeRiskElimination),
                    (232, Act::ReviewRiskElimination),
                ],
            ),
        ),
        s(
            "龚秀云",
            "19790929",
            "13900000123",
            &p.ziyun,
            242,
            RiskType::UnstableEmployment,
            "丈夫在工地摔伤，半年没活干",
            with(
                assisted(7),
                &[
                    (230, Act::ProposeRiskElimination),
                    (233, Act::ReviewRiskElimination),
                    (236, Act::DecideRiskElimination { approve: false }),
                ],
            ),
        ),
        s(
            "曹丽萍",
            "19840108",
            "13900000124",
            &p.ziyun,
            10,
            RiskType::Illness,
            "女儿先天性心脏病需要手术",
            identified(1)[..4].to_vec(),
        ),
        s(
            "邓海涛",
            "19760411",
            "13900000125",
            &p.nanchuan,
            12,
            RiskType::Accident,
            "三轮车翻车，腿摔断了",
            identified(1)[..5].to_vec(),
        ),
        s(
            "许文静",
            "19810227",
            "13900000126",
            &p.nanchuan,
            44,
            RiskType::Other,
            "家里收入不稳定",
            with(
                identified(1),
                &[
                    (15, Act::CountyReject),
                    (17, Act::ResidentAppeal),
                    (22, Act::DecideAppeal { upheld: false }),
                ],
            ),
        ),
        s(
            "彭建平",
            "19660716",
            "13900000127",
            &p.ziyun,
            50,
            RiskType::HousingSafety,
            "老房子墙裂了",
            vec![
                (1, Act::Accept),
                (2, Act::StartVisit),
                (3, Act::FinishVisit { qualifies: false }),
                (5, Act::NotifyNotQualified),
                (7, Act::Close),
            ],
        ),
        s(
            "沈桂芝",
            "19580823",
            "13900000117",
            &p.neiguan,
            5,
            RiskType::Illness,
            "老伴癌症晚期，全家照顾",
            vec![],
        ),
        s(
            "韩振华",
            "19720202",
            "13900000118",
            &p.tongwei,
            9,
            RiskType::Disaster,
            "暴雨冲毁了圈舍，羊死了二十多只",
            vec![(1, Act::Accept)],
        ),
        s(
            "朱红霞",
            "19830315",
            "13900000119",
            &p.neiguan,
            45,
            RiskType::Illness,
            "丈夫尘肺病，不能再下井",
            with(assisted(0), &[]),
        ),
    ];
    list.push(Script {
        name: "秦大勇".into(),
        birth: "19790101".into(),
        phone: "13900000120".into(),
        village: p.nanchuan.clone(),
        declared_days_ago: 3,
        risk: RiskType::Disaster,
        description: "夜里失火，房子和粮食都烧了，一家人没地方住",
        green_channel: true,
        acts: vec![(0, Act::EmergencyAssistance), (1, Act::Accept)],
    });
    list
}

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
fn register_households(
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
fn more_declarations(p: &Places) -> Vec<Script> {
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
                description: words[i % words.len()],
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

/// Add the demonstration users and cases to an empty database.
pub async fn seed(
    storage: Arc<dyn Storage>,
    blobs: Arc<dyn BlobStore>,
    now: DateTime<Utc>,
) -> Result<DemoData, DemoError> {
    if !storage.list_users().await?.is_empty() {
        return Err(DemoError::NotEmpty);
    }
    let places = Places::new()?;
    let staff = staff_list(&places)?;
    // Hashing is deliberately slow; all passwords are the same, so hash once.
    let password_hash =
        tokio::task::spawn_blocking(|| crate::domain::accounts::hash_password(DEMO_PASSWORD))
            .await
            .map_err(|e| DemoError::Invalid(e.to_string()))?
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
    let mut users = Vec::new();
    let mut demo_users = Vec::new();
    for (login, name, role, scope) in &staff {
        let new = NewUser {
            login: (*login).to_owned(),
            name: (*name).to_owned(),
            role: *role,
            scope: scope.clone(),
            password: DEMO_PASSWORD.to_owned(),
        };
        new.check().map_err(|e| DemoError::Invalid(e.to_string()))?;
        let user = Account {
            id: yijian_core::ids::UserId::new(),
            login: (*login).to_owned(),
            name: (*name).to_owned(),
            role: *role,
            scope: scope.clone(),
        };
        demo_users.push(DemoUser {
            login: user.login.clone(),
            password: DEMO_PASSWORD.to_owned(),
            role: role_key(*role),
            role_zh: role.name_zh(),
            scope: scope.to_string(),
            scope_name: crate::web::console::scope_path(scope),
            name: user.name.clone(),
        });
        users.push((user, password_hash.clone()));
    }
    storage.create_users(users.clone()).await?;
    let mut sessions = HashMap::new();
    for (user, _) in &users {
        let (token, hash) = new_device_token().map_err(|e| DemoError::Invalid(e.to_string()))?;
        storage
            .create_device(DeviceId::new(), user.id, "演示数据", &hash, now)
            .await?;
        let session = storage
            .session(&crate::domain::accounts::token_hash(&token))
            .await?
            .ok_or_else(|| DemoError::Invalid("demo session missing".into()))?;
        sessions.insert((user.role, user.scope.to_string()), session);
    }
    let mut photos = Vec::new();
    for (caption, tint) in [
        ("房屋照片", [196, 214, 176]),
        ("水源照片", [176, 204, 224]),
        ("授权书签字", [232, 214, 180]),
    ] {
        let bytes = crate::web::print::sheet::demo_photo(caption, tint)
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
        let sha = Sha256Hex::parse(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
        let len = bytes.len() as u64;
        let span = ChunkSpan::new(0, len, len)
            .ok_or_else(|| DemoError::Invalid("empty demo photo".into()))?;
        let mut src: &[u8] = &bytes;
        blobs
            .append(&sha, span, &mut src)
            .await
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
        photos.push((sha, len));
    }
    let mut seeder = Seeder {
        storage: Arc::clone(&storage),
        procedure: Procedure::current(&*storage).await?,
        template: default_template(),
        clock: HlcClock::new(7),
        sessions,
        photos,
        now,
    };
    // The registers of the two townships.
    let today = yijian_core::time::china_date(now);
    let mut households = 0;
    for township in [places.nanchuan.parent(), places.neiguan.parent()]
        .into_iter()
        .flatten()
    {
        let villages: Vec<DivisionCode> = Regions::gansu()
            .villages_in(&township)
            .map(|r| r.code.clone())
            .collect();
        let staff = seeder.who(Role::Township, &township)?;
        for village in &villages {
            let list = register_households(village, 11, today)?;
            households += list.len();
            let bodies = list.into_iter().map(CommandBody::CreateHousehold).collect();
            let at = now - Duration::days(400);
            seeder.push(&staff, at, "register", bodies).await?;
        }
    }
    tracing::info!(households, "demo registers entered");
    let mut all = scripts(&places);
    all.extend(more_declarations(&places));
    let mut cases = Vec::new();
    for (n, script) in all.iter().enumerate() {
        let n = u32::try_from(n).unwrap_or(0);
        let mut c = seeder.declare(script, n).await?;
        for (day, act) in script.acts.clone() {
            seeder.act(&mut c, script, day, act).await?;
        }
        let id = c.case_id.to_string();
        let row = read(&*storage, move |tx| tx.case_row(&id))
            .await?
            .ok_or_else(|| DemoError::Invalid("demo case not indexed".into()))?;
        cases.push(DemoCase {
            case_id: c.case_id.to_string(),
            receipt_no: c.receipt_no.clone(),
            applicant: script.name.to_owned(),
            phone: c.phone.clone(),
            stage: crate::store::codec::enum_text(&row.stage)?,
            village: c.village.to_string(),
            village_name: resident::village_name(&c.village),
        });
    }
    // The township's hotline for the printed sheets.
    let contact = crate::store::rows::UnitContact {
        division: "621102105".into(),
        name: "鲁家沟镇人民政府".into(),
        phone: "0932-8123456".into(),
    };
    write(&*storage, move |tx| tx.put_unit_contact(&contact)).await?;
    Ok(DemoData {
        users: demo_users,
        cases,
    })
}
