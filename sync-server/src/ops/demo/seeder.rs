//! Walking a scripted case through the procedure: each act is a command pushed by the staff
//! member whose job it is, at the time the script says.

use crate::domain::apply::ApplySettings;
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self, Declared};
use crate::store::rows::DeviceSession;
use crate::store::{Storage, read, write};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use yijian_core::case::{Applicant, CaseSource, Declaration, MonitoringCategory};
use yijian_core::checklist::{ChecklistTemplate, EXAMPLE_PHOTO_ITEMS, example_filling};
use yijian_core::division::DivisionCode;
use yijian_core::form::{DeclarationForm, PhoneRule, check_declaration};
use yijian_core::hlc::HlcClock;
use yijian_core::household::Household;
use yijian_core::ids::{CaseId, CommandId, HouseholdId, MeasureId, PhotoId, PlanId, VisitId};
use yijian_core::protocol::auth::Account;
use yijian_core::protocol::kinds;
use yijian_core::protocol::{Command, CommandBody, Outcome, Wire};
use yijian_core::role::Role;
use yijian_core::support::{
    FollowUp, Measure, MeasureKind, PhotoMeta, PhotoMime, PhotoOwner, Plan, Sha256Hex,
};
use yijian_core::visit::{Attendee, CadreRole, GeoPoint, Visit, VisitPlace, VisitPurpose};
use yijian_core::workflow::{NoticeMethod, Step, VerificationOutcome, VisitEvidence};

use super::*;

/// 10:00 Beijing time `days` days before `now` (never after `now`), plus `minutes`.
fn at(now: DateTime<Utc>, days: i64, minutes: i64) -> DateTime<Utc> {
    let today = yijian_core::time::china_date(now);
    let date = today - Duration::days(days);
    let ten = NaiveTime::from_hms_opt(2, 0, 0).unwrap_or(NaiveTime::MIN);
    let t = date.and_time(ten).and_utc() + Duration::minutes(minutes);
    t.min(now - Duration::minutes(5))
}

/// A case being walked through the procedure.
pub(super) struct Walking {
    pub(super) case_id: CaseId,
    pub(super) household_id: HouseholdId,
    pub(super) village: DivisionCode,
    pub(super) receipt_no: String,
    pub(super) phone: String,
    pub(super) verification_visit: Option<VisitId>,
    pub(super) plan: Option<PlanId>,
}

pub(super) struct Seeder {
    pub(super) storage: Arc<dyn Storage>,
    pub(super) procedure: Procedure,
    pub(super) template: ChecklistTemplate,
    pub(super) clock: HlcClock,
    /// Sessions by role and scope.
    pub(super) sessions: HashMap<(Role, String), DeviceSession>,
    /// The three stand-in photos of each village (house, water source, signature): (sha,
    /// bytes). Each village has its own bytes, as real photos would: a photo record may name
    /// only a blob that no village outside the worker's scope holds.
    pub(super) photos: HashMap<String, Vec<(Sha256Hex, u64)>>,
    pub(super) now: DateTime<Utc>,
}

impl Seeder {
    /// The session of the user of `role` whose scope covers `village`.
    pub(super) fn who(
        &self,
        role: Role,
        village: &DivisionCode,
    ) -> Result<DeviceSession, DemoError> {
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

    pub(super) async fn push(
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

    fn photo_meta(
        &self,
        village: &DivisionCode,
        n: usize,
        owner: PhotoOwner,
        taken: DateTime<Utc>,
    ) -> Result<PhotoMeta, DemoError> {
        let own = self
            .photos
            .get(village.as_str())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| DemoError::Invalid(format!("no demo photos for {village}")))?;
        let (sha, bytes) = own[n % own.len()].clone();
        Ok(PhotoMeta {
            id: PhotoId::new(),
            sha256: sha,
            bytes,
            width: 960,
            height: 720,
            mime: PhotoMime::Jpeg,
            taken_at: Some(taken),
            owner,
            thumb_sha256: None,
        })
    }

    /// Where a demonstration visit is made and who is there: a fix a few hundred metres from
    /// the village's own spot (each village has one, derived from its code), the household's
    /// head and the village cadre. The console's map of evidence then has something to weigh.
    async fn visit_evidence(
        &self,
        c: &Walking,
        started: DateTime<Utc>,
    ) -> Result<(VisitPlace, Vec<Attendee>), DemoError> {
        let code: u64 = c.village.as_str().parse().unwrap_or(0);
        // 甘肃's farmland lies within roughly 34.5–37°N, 102.5–106°E.
        let lat = 34.5 + (code % 997) as f64 / 997.0 * 2.5;
        let lng = 102.5 + (code % 991) as f64 / 991.0 * 3.5;
        let spread: u64 = c.household_id.to_string().bytes().map(u64::from).sum();
        let dlat = ((spread % 9) as f64 - 4.0) * 0.001;
        let dlng = ((spread / 9 % 9) as f64 - 4.0) * 0.001;
        let point = GeoPoint::new(lat + dlat, lng + dlng, 8.0 + (spread % 12) as f64)
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
        let place = VisitPlace::Fixed {
            point,
            fixed_at: started + Duration::minutes(2),
        };
        let household: Option<Household> = self
            .storage
            .record(kinds::HOUSEHOLD, &c.household_id.to_string())
            .await?
            .and_then(|r| r.body)
            .and_then(|b| serde_json::from_str(&b).ok());
        let mut present: Vec<Attendee> = household
            .as_ref()
            .and_then(|h| h.head_member())
            .map(|m| Attendee::Member {
                member_id: m.id,
                name: m.name.clone(),
                relation: m.relation,
            })
            .into_iter()
            .collect();
        present.push(Attendee::Cadre {
            name: "马永成".into(),
            role: CadreRole::VillageCadre,
        });
        Ok((place, present))
    }

    /// The commands of a complete home visit: draft, its photos, the final version.
    async fn visit_commands(
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
        let (place, present) = self.visit_evidence(c, started).await?;
        v.set_location(place).map_err(bad)?;
        v.set_present(present).map_err(bad)?;
        let mut bodies = vec![CommandBody::SaveVisit(v.clone())];
        for (key, answer) in example_filling() {
            let answer = match key {
                yijian_core::checklist::keys::CONCLUSION if !qualifies => {
                    yijian_core::checklist::Answer::Choice("does_not_qualify".into())
                }
                // Wages after the measures took effect: ¥9,675 per person, over the line.
                yijian_core::checklist::keys::INCOME_WAGES
                    if purpose == VisitPurpose::RiskEliminationCheck =>
                {
                    yijian_core::checklist::Answer::yuan(36_000)
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
                &c.village,
                n,
                PhotoOwner::VisitItem {
                    visit_id: id,
                    item_key: (*key).to_owned(),
                },
                started + Duration::minutes(10 + n as i64),
            )?;
            v.attach_photo(key, meta.id, &self.template).map_err(bad)?;
            bodies.push(CommandBody::RecordPhoto(meta));
        }
        v.finalize(finished, &self.template).map_err(bad)?;
        bodies.push(CommandBody::SaveVisit(v));
        Ok((id, bodies))
    }

    pub(super) async fn declare(&mut self, s: &Script, n: u32) -> Result<Walking, DemoError> {
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

    pub(super) async fn act(
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
                let (visit_id, mut bodies) = self
                    .visit_commands(
                        c,
                        VisitPurpose::Verification,
                        &who.user,
                        t - Duration::minutes(50),
                        t,
                        qualifies,
                    )
                    .await?;
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
                            finalised_on: None,
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
                    routine_attention: false,
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
                let meta = self.photo_meta(&v, 1, PhotoOwner::Case { case_id: id }, t)?;
                let step = Step::RecordDemocraticReview {
                    held_on: today,
                    participants: 15,
                    agreed: true,
                    minutes_photo: Some(meta.id),
                    opinion: String::new(),
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
                let meta = self.photo_meta(&v, 2, PhotoOwner::PublicNotice { case_id: id }, t)?;
                // Posted `days + 1` days ago and taken down yesterday: the posting day is not
                // counted, so the notice lasted `days` full days.
                let from = today - Duration::days(days + 1);
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
            Act::DecideAppeal { upheld, township } => {
                let who = self.who(if township { Role::Township } else { Role::City }, &v)?;
                let reason = match (township, upheld) {
                    (true, true) => {
                        "经乡镇复核，家中有重病患者，医疗自付费用未计入，申诉成立，转入认定程序"
                    }
                    (true, false) => "经乡镇复核，维持村级核查结论",
                    (false, true) => "经市级复核，车辆和房产登记在其兄弟名下，申诉成立",
                    (false, false) => "经市级复核，维持县级不予纳入的决定",
                };
                let step = Step::DecideAppeal {
                    upheld,
                    reason: reason.into(),
                    category: upheld.then_some(MonitoringCategory::MarginalAtRisk),
                };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::ExplainAppeal => {
                let who = self.who(Role::VillageWorker, &v)?;
                let step = Step::RecordAppealExplanation { on: today };
                self.push(&who, t, &what, vec![Self::step(id, step)]).await
            }
            Act::SwitchToGreenChannel => {
                let who = self.who(Role::Township, &v)?;
                let step = Step::SwitchToGreenChannel {
                    reason: "家属扫码申报后核实：户主突发重病住院，急需救助，转入绿色通道先行帮扶"
                        .into(),
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
                let (visit_id, mut bodies) = self
                    .visit_commands(
                        c,
                        VisitPurpose::FollowUp,
                        &who.user,
                        t - Duration::minutes(40),
                        t,
                        true,
                    )
                    .await?;
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
                let (visit_id, mut bodies) = self
                    .visit_commands(
                        c,
                        VisitPurpose::RiskEliminationCheck,
                        &who.user,
                        t - Duration::minutes(40),
                        t,
                        true,
                    )
                    .await?;
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
