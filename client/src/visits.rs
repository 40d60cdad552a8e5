//! Home visits on the phone: the working copy a worker fills, and the commands it becomes.
//!
//! A visit is filled over half an hour in a household's kitchen, item by item, with photos,
//! and the phone may be put away or die at any moment. So every answer is written at once to
//! the visit's **working copy** (`visit_drafts`, never synced), and only two actions turn it
//! into outbox commands: **save draft** (a `SaveVisit` of the draft, so colleagues and the
//! township can see the work in progress) and **finalise** (the locked visit and, for a
//! verification, the case's verification result — in one transaction).
//!
//! Starting a visit queues an empty draft at once: the visit's photos are recorded as they
//! are taken, and the server files a photo under a visit it already holds, so the visit must
//! travel first. For a verification of a case the township has accepted, starting also queues
//! the workflow step "开始入户核查".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use yijian_core::case::Case;
use yijian_core::checklist::{
    self, Answer, AnswerProblem, ChecklistTemplate, Conclusion, Evaluation, default_template,
};
use yijian_core::household::Household;
use yijian_core::ids::{CaseId, FollowUpId, HouseholdId, PhotoId, UserId, VisitId};
use yijian_core::policy::Policy;
use yijian_core::protocol::CommandBody;
use yijian_core::support::{FollowUp, PhotoOwner};
use yijian_core::visit::{
    Attendee, CadreRole, GeoPoint, NoFix, Visit, VisitError, VisitPlace, VisitPurpose,
};
use yijian_core::workflow::{Stage, Step, VerificationOutcome, VisitEvidence};

use crate::error::{Error, Result};
use crate::store::{LocalStore, Touch, timestamp};
use crate::views::PhotoUrls;
use yijian_core::protocol::kinds;

/// `device_meta` key of the templates the server published.
const TEMPLATES_KEY: &str = "checklist_templates";

/// A visit as the visit screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct VisitView {
    pub visit_id: VisitId,
    pub household_id: HouseholdId,
    pub case_id: Option<CaseId>,
    pub purpose: VisitPurpose,
    pub purpose_zh: &'static str,
    pub household_name: String,
    pub address: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub finalized_at: Option<DateTime<Utc>>,
    pub supersedes: Option<VisitId>,
    /// Whether this user may change it (their own, not final).
    pub editable: bool,
    pub template: ChecklistTemplate,
    pub answers: checklist::Answers,
    /// Photos per item key, photo and signature items included, in the order taken.
    pub item_photos: BTreeMap<String, Vec<crate::views::PhotoView>>,
    pub evaluation: Evaluation,
    pub outstanding: Vec<AnswerProblem>,
    pub unsaved_changes: bool,
    pub last_saved_at: Option<String>,
    /// Where the visit was made, as recorded (none until the device has tried).
    pub place: Option<PlaceView>,
    /// Who was present, as recorded.
    pub present: Vec<Attendee>,
    /// The household's members as the phone holds them, to tick who is present.
    pub members: Vec<MemberChoice>,
    /// The cadres' parts the screen offers.
    pub cadre_roles: Vec<CadreRoleOption>,
}

/// The visit's place as the screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct PlaceView {
    pub fixed: bool,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub no_fix: Option<NoFix>,
    /// When the fix was taken or its absence noted.
    pub at: DateTime<Utc>,
    /// "已定位（精度约12米）" or why there is no fix.
    pub describe_zh: String,
}

impl From<&VisitPlace> for PlaceView {
    fn from(p: &VisitPlace) -> PlaceView {
        let describe_zh = p.describe_zh();
        match p {
            VisitPlace::Fixed { point, fixed_at } => PlaceView {
                fixed: true,
                lat: Some(point.lat()),
                lng: Some(point.lng()),
                accuracy_m: Some(point.accuracy_m()),
                no_fix: None,
                at: *fixed_at,
                describe_zh,
            },
            VisitPlace::Unavailable { reason, noted_at } => PlaceView {
                fixed: false,
                lat: None,
                lng: None,
                accuracy_m: None,
                no_fix: Some(*reason),
                at: *noted_at,
                describe_zh,
            },
        }
    }
}

/// A household member the worker may tick as present.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct MemberChoice {
    pub member_id: yijian_core::ids::MemberId,
    pub name: String,
    pub relation: yijian_core::household::Relation,
    pub relation_zh: &'static str,
}

/// A cadre's part, with its Chinese name.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct CadreRoleOption {
    pub role: CadreRole,
    pub name_zh: &'static str,
}

fn visit_error(e: VisitError) -> Error {
    match e {
        VisitError::InvalidAnswer(p) => Error::field(&p.item.clone(), p.message_zh),
        VisitError::UnknownItem(key) => {
            Error::field(&key.clone(), format!("核查表中没有“{key}”这一项"))
        }
        other => Error::invalid(other.to_string()),
    }
}

/// A visit's working copy row.
struct Working {
    visit: Visit,
    saved: Option<String>,
    saved_at: Option<String>,
    body: String,
    case_started: bool,
}

impl LocalStore {
    /// The checklist new visits are filled against: the newest version of the built-in form's
    /// code the server has published, else the built-in one.
    pub fn current_template(&self) -> Result<ChecklistTemplate> {
        let builtin = default_template();
        let mut best = builtin.clone();
        for t in self.published_templates()? {
            if t.code == builtin.code && t.version > best.version && t.validate().is_ok() {
                best = t;
            }
        }
        Ok(best)
    }

    /// Keep the checklist templates the server publishes (the valid ones): new visits are
    /// filled against the newest, and visits filled against an older version keep it.
    pub fn put_templates(&self, templates: &[ChecklistTemplate]) -> Result<()> {
        let mut kept = self.published_templates()?;
        for t in templates.iter().filter(|t| t.validate().is_ok()) {
            kept.retain(|k| !(k.id == t.id && k.version == t.version));
            kept.push(t.clone());
        }
        self.set_meta(TEMPLATES_KEY, &serde_json::to_string(&kept)?)
    }

    /// Templates the server published (see [`LocalStore::put_templates`]) and template
    /// records the feed brought.
    fn published_templates(&self) -> Result<Vec<ChecklistTemplate>> {
        let mut out: Vec<ChecklistTemplate> = match self.meta(TEMPLATES_KEY)? {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None => Vec::new(),
        };
        self.for_each_body(kinds::TEMPLATE, |_, body| {
            if let Ok(t) = serde_json::from_str::<ChecklistTemplate>(body) {
                out.push(t);
            }
        })?;
        Ok(out)
    }

    /// The template version a visit was filled against.
    pub fn template_of(&self, visit: &Visit) -> Result<ChecklistTemplate> {
        let builtin = default_template();
        if visit.uses(&builtin) {
            return Ok(builtin);
        }
        self.published_templates()?
            .into_iter()
            .find(|t| visit.uses(t))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "本机没有这份核查表的第{}版模板，请先同步",
                    visit.template_version()
                ))
            })
    }

    fn working(&self, id: VisitId) -> Result<Option<Working>> {
        let row: Option<(String, Option<String>, Option<String>, bool)> = self
            .conn()
            .query_row(
                "SELECT body, saved_body, saved_at, case_started FROM visit_drafts
                  WHERE visit_id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(body, saved, saved_at, case_started)| {
            Ok(Working {
                visit: serde_json::from_str(&body)?,
                saved,
                saved_at,
                body,
                case_started,
            })
        })
        .transpose()
    }

    fn put_working(&self, visit: &Visit) -> Result<()> {
        self.conn().execute(
            "INSERT INTO visit_drafts (visit_id, body, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (visit_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            params![
                visit.id().to_string(),
                serde_json::to_string(visit)?,
                timestamp(self.now())
            ],
        )?;
        Ok(())
    }

    /// The visit as the worker last left it: the working copy if there is one, else the record.
    pub fn visit(&self, id: VisitId) -> Result<Visit> {
        if let Some(w) = self.working(id)? {
            return Ok(w.visit);
        }
        self.typed::<Visit>(kinds::VISIT, &id.to_string())?
            .map(|(v, _)| v)
            .ok_or_else(|| Error::NotFound(format!("本机没有这次核查记录（{id}）")))
    }

    /// Ids of visits with a working copy, for the household file's "继续核查".
    pub fn working_visit_ids(&self) -> Result<Vec<VisitId>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT visit_id FROM visit_drafts ORDER BY updated_at DESC")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| VisitId::parse(&r?).map_err(|e| Error::Corrupt(e.to_string())))
            .collect()
    }

    fn touch_of(&self, kind: &str, id: &str) -> Result<Touch> {
        let rec = self
            .record(kind, id)?
            .ok_or_else(|| Error::NotFound(format!("本机找不到该记录（{kind} {id}），请先同步")))?;
        Ok(Touch {
            kind: rec.kind,
            id: rec.id,
            village: rec.village,
            body: rec.body,
        })
    }

    /// Start a visit of a household the phone holds, filled by `visitor` against the current
    /// template. Returns the new visit's id.
    pub fn start_visit(
        &mut self,
        household_id: HouseholdId,
        case_id: Option<CaseId>,
        purpose: VisitPurpose,
        visitor: UserId,
    ) -> Result<VisitId> {
        let household = self.touch_of(kinds::HOUSEHOLD, &household_id.to_string())?;
        let mut commands = Vec::new();
        let mut case_started = false;
        let visit = Visit::new(
            VisitId::new(),
            household_id,
            case_id,
            purpose,
            &self.current_template()?,
            visitor,
            self.now(),
        );
        commands.push((
            CommandBody::SaveVisit(visit.clone()),
            vec![Touch::new(
                kinds::VISIT,
                visit.id(),
                &household.village,
                &visit,
            )?],
        ));
        if let Some(case_id) = case_id {
            let (case, _) = self
                .typed::<Case>(kinds::CASE, &case_id.to_string())?
                .ok_or_else(|| Error::NotFound("本机没有这个案件，请先同步".into()))?;
            if case.declaration.household_id != Some(household_id) {
                return Err(Error::invalid("这个案件不属于该农户"));
            }
            if purpose == VisitPurpose::Verification && case.state.stage == Stage::Accepted {
                case_started = true;
                commands.push((
                    CommandBody::CaseStep {
                        case_id,
                        step: Step::StartVerification {
                            visit_id: visit.id(),
                        },
                    },
                    vec![self.touch_of(kinds::CASE, &case_id.to_string())?],
                ));
            }
        }
        let body = serde_json::to_string(&visit)?;
        let now = timestamp(self.now());
        self.record_batch(commands, |tx| {
            tx.execute(
                "INSERT INTO visit_drafts (visit_id, body, saved_body, case_started, updated_at,
                                           saved_at)
                 VALUES (?1, ?2, ?2, ?3, ?4, ?4)",
                params![visit.id().to_string(), body, case_started, now],
            )?;
            Ok(())
        })?;
        Ok(visit.id())
    }

    /// The working copy of a visit of this user's that may still be changed, made from the
    /// record if the phone has none yet (a draft synced from another phone of the same user).
    fn editable_working(&self, id: VisitId, user: UserId) -> Result<Visit> {
        let visit = self.visit(id)?;
        if visit.is_final() {
            return Err(Error::invalid(
                "已定稿的核查表不能修改，如需更正请点“更正”新建更正版本",
            ));
        }
        if visit.visitor() != user {
            return Err(Error::invalid("这是其他同事的核查记录，只能查看"));
        }
        Ok(visit)
    }

    /// Set (`Some`) or clear (`None`) one item's answer in the working copy.
    pub fn visit_answer(
        &mut self,
        id: VisitId,
        user: UserId,
        key: &str,
        answer: Option<Answer>,
    ) -> Result<()> {
        let mut visit = self.editable_working(id, user)?;
        let template = self.template_of(&visit)?;
        match answer {
            Some(a) => visit.set_answer(key, a, &template),
            None => visit.clear_answer(key, &template),
        }
        .map_err(visit_error)?;
        self.put_working(&visit)
    }

    /// Attach a staged photo to one item: the photo's record and upload are queued now (the
    /// visit is already on its way to the server), the working copy lists it.
    pub fn visit_attach_photo(
        &mut self,
        id: VisitId,
        user: UserId,
        key: &str,
        sha256: &str,
    ) -> Result<PhotoId> {
        let mut visit = self.editable_working(id, user)?;
        let template = self.template_of(&visit)?;
        let photo_id = PhotoId::new();
        // Check the item takes photos before anything is written.
        let mut updated = visit.clone();
        updated
            .attach_photo(key, photo_id, &template)
            .map_err(visit_error)?;
        let village = self.touch_of(kinds::VISIT, &id.to_string())?.village;
        let staged = self.staged_photo(sha256)?;
        let attached = self.attach_staged(
            photo_id,
            &staged,
            PhotoOwner::VisitItem {
                visit_id: id,
                item_key: key.to_owned(),
            },
            &village,
        )?;
        visit = updated;
        let now = self.now();
        let body = serde_json::to_string(&visit)?;
        let at = timestamp(now);
        self.record_batch(vec![attached.command.clone()], |tx| {
            attached.queue_in(tx, now)?;
            tx.execute(
                "UPDATE visit_drafts SET body = ?2, updated_at = ?3 WHERE visit_id = ?1",
                params![id.to_string(), body, at],
            )?;
            Ok(())
        })?;
        Ok(photo_id)
    }

    /// Record where the visit is being made: the device's fix, or why it has none. Kept in the
    /// working copy and sent with the next save or the finalised visit.
    pub fn visit_record_place(
        &mut self,
        id: VisitId,
        user: UserId,
        reading: std::result::Result<(GeoPoint, DateTime<Utc>), NoFix>,
    ) -> Result<()> {
        let mut visit = self.editable_working(id, user)?;
        let place = match reading {
            Ok((point, fixed_at)) => VisitPlace::Fixed { point, fixed_at },
            Err(reason) => VisitPlace::Unavailable {
                reason,
                noted_at: self.now(),
            },
        };
        visit.set_location(place).map_err(visit_error)?;
        self.put_working(&visit)
    }

    /// Record who is present (the whole list). Household members are checked against the
    /// household the phone holds, and their names and relations taken from it, so a tick
    /// cannot name someone of another household.
    pub fn visit_set_present(
        &mut self,
        id: VisitId,
        user: UserId,
        present: Vec<Attendee>,
    ) -> Result<()> {
        let mut visit = self.editable_working(id, user)?;
        let household: Option<Household> = self.household(visit.household_id())?;
        let mut checked = Vec::with_capacity(present.len());
        for a in present {
            checked.push(match a {
                Attendee::Member { member_id, .. } => {
                    let m = household
                        .as_ref()
                        .and_then(|h| h.members.iter().find(|m| m.id == member_id))
                        .ok_or_else(|| Error::invalid("所选在场人员不是该户成员，请刷新后重选"))?;
                    Attendee::Member {
                        member_id,
                        name: m.name.clone(),
                        relation: m.relation,
                    }
                }
                Attendee::Cadre { name, role } => Attendee::Cadre {
                    name: name.trim().to_owned(),
                    role,
                },
            });
        }
        visit
            .set_present(checked)
            .map_err(|e| Error::field("present", e.to_string()))?;
        self.put_working(&visit)
    }

    /// Take a photo off an item (its record stays: evidence is never deleted).
    pub fn visit_detach_photo(
        &mut self,
        id: VisitId,
        user: UserId,
        key: &str,
        photo: PhotoId,
    ) -> Result<()> {
        let mut visit = self.editable_working(id, user)?;
        let template = self.template_of(&visit)?;
        visit
            .detach_photo(key, photo, &template)
            .map_err(visit_error)?;
        self.put_working(&visit)
    }

    /// Queue the working copy for the server as a draft.
    pub fn visit_save_draft(&mut self, id: VisitId, user: UserId) -> Result<()> {
        let visit = self.editable_working(id, user)?;
        let village = self.touch_of(kinds::VISIT, &id.to_string())?.village;
        let body = serde_json::to_string(&visit)?;
        let at = timestamp(self.now());
        self.record_batch(
            vec![(
                CommandBody::SaveVisit(visit.clone()),
                vec![Touch::new(kinds::VISIT, id, &village, &visit)?],
            )],
            |tx| {
                tx.execute(
                    "INSERT INTO visit_drafts (visit_id, body, saved_body, updated_at, saved_at)
                     VALUES (?1, ?2, ?2, ?3, ?3)
                     ON CONFLICT (visit_id) DO UPDATE
                        SET body = excluded.body, saved_body = excluded.body,
                            updated_at = excluded.updated_at, saved_at = excluded.saved_at",
                    params![id.to_string(), body, at],
                )?;
                Ok(())
            },
        )?;
        Ok(())
    }

    /// Lock the visit and send it; for the verification of a case, send the verification
    /// result with it (and the start of the verification, if the case has not recorded it).
    pub fn visit_finalise(&mut self, id: VisitId, user: UserId) -> Result<()> {
        let case_started = self.working(id)?.is_some_and(|w| w.case_started);
        let mut visit = self.editable_working(id, user)?;
        let template = self.template_of(&visit)?;
        let policy = self.procedure_rules()?.policy;
        visit.finalize(self.now(), &template).map_err(visit_error)?;
        let village = self.touch_of(kinds::VISIT, &id.to_string())?.village;
        let mut commands = vec![(
            CommandBody::SaveVisit(visit.clone()),
            vec![Touch::new(kinds::VISIT, id, &village, &visit)?],
        )];
        if visit.purpose() == VisitPurpose::Verification
            && let Some(case_id) = visit.case_id()
            && let Some((case, _)) = self.typed::<Case>(kinds::CASE, &case_id.to_string())?
        {
            let stage = case.state.stage;
            let case_touch = || self.touch_of(kinds::CASE, &case_id.to_string());
            if matches!(stage, Stage::Declared | Stage::Accepted)
                && case.state.verification_visit != Some(id)
                && !case_started
            {
                // The server decides whether the case may move: a case the township has not
                // accepted yet is refused there and waits in the quarantine for a retry.
                commands.push((
                    CommandBody::CaseStep {
                        case_id,
                        step: Step::StartVerification { visit_id: id },
                    },
                    vec![case_touch()?],
                ));
            }
            if matches!(stage, Stage::Declared | Stage::Accepted | Stage::Verifying) {
                commands.push((
                    CommandBody::CaseStep {
                        case_id,
                        step: Step::RecordVerification {
                            visit: VisitEvidence {
                                visit_id: id,
                                finalised: true,
                                authorisation_photo: visit
                                    .authorisation_photos(&template)
                                    .first()
                                    .copied(),
                                finalised_on: visit
                                    .finalized_at()
                                    .map(yijian_core::time::china_date),
                            },
                            outcome: verification_outcome(&visit, &template, &policy)?,
                        },
                    },
                    vec![case_touch()?],
                ));
            }
        }
        if let Some(case_id) = visit.case_id()
            && let Some((case, _)) = self.typed::<Case>(kinds::CASE, &case_id.to_string())?
        {
            let case_touch = || self.touch_of(kinds::CASE, &case_id.to_string());
            match (visit.purpose(), case.state.stage) {
                (
                    VisitPurpose::FollowUp,
                    stage @ (Stage::PlanMade
                    | Stage::Assisting
                    | Stage::RiskEliminated
                    | Stage::NotQualifiedNotified
                    | Stage::Rejected
                    | Stage::RejectionUpheld
                    | Stage::Closed),
                ) => {
                    // During assistance the return visit is also a step of the case; under
                    // 常态化关注 (after 风险消除, or not included but watched) and for a
                    // spot check's re-check of a refused case it is recorded alone.
                    let assisting = matches!(stage, Stage::PlanMade | Stage::Assisting);
                    // The return visit the server scheduled is the one done now (or, during
                    // assistance, if this phone has not received it yet, a new one done today).
                    let today = yijian_core::time::china_date(self.now());
                    let open = match self.open_follow_up(case_id)? {
                        Some(f) => Some(f),
                        None if assisting => Some(FollowUp::scheduled(
                            FollowUpId::new(),
                            case_id,
                            visit.household_id(),
                            today,
                        )),
                        None => None,
                    };
                    if let Some(mut f) = open {
                        f.done_on = Some(today);
                        f.visit_id = Some(id);
                        f.by = Some(user);
                        f.note = follow_up_note(&visit, &template, &policy)?;
                        commands.push((
                            CommandBody::SaveFollowUp(f.clone()),
                            vec![Touch::new(kinds::FOLLOW_UP, f.id, &village, &f)?],
                        ));
                    }
                    if assisting {
                        commands.push((
                            CommandBody::CaseStep {
                                case_id,
                                step: Step::RecordFollowUp { visit_id: id },
                            },
                            vec![case_touch()?],
                        ));
                    }
                }
                (VisitPurpose::RiskEliminationCheck, Stage::Assisting) => {
                    // Proposed only when the check shows the risk gone; otherwise the visit
                    // stays on record and assistance goes on.
                    let (income_above_line, guarantees_kept) =
                        risk_gone(&visit, &template, &policy)?;
                    if income_above_line && guarantees_kept {
                        commands.push((
                            CommandBody::CaseStep {
                                case_id,
                                step: Step::ProposeRiskElimination {
                                    visit_id: id,
                                    income_above_line,
                                    guarantees_kept,
                                },
                            },
                            vec![case_touch()?],
                        ));
                    }
                }
                _ => {}
            }
        }
        self.record_batch(commands, |tx| {
            tx.execute(
                "DELETE FROM visit_drafts WHERE visit_id = ?1",
                [id.to_string()],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// The earliest follow-up of the case not done yet, as this phone holds it.
    fn open_follow_up(&self, case_id: CaseId) -> Result<Option<FollowUp>> {
        let id = case_id.to_string();
        Ok(self
            .records_where(kinds::FOLLOW_UP, "$.case_id", &id)?
            .into_iter()
            .filter_map(|r| serde_json::from_value::<FollowUp>(r.body).ok())
            .filter(|f| f.done_on.is_none())
            .min_by_key(|f| f.due_on))
    }

    /// A new draft correcting a finalised visit (the old one stays as it was, linked).
    pub fn visit_correct(&mut self, id: VisitId, user: UserId) -> Result<VisitId> {
        let old = self.visit(id)?;
        let new = old
            .correction(VisitId::new(), self.now(), user)
            .map_err(visit_error)?;
        let village = self.touch_of(kinds::VISIT, &id.to_string())?.village;
        let body = serde_json::to_string(&new)?;
        let at = timestamp(self.now());
        self.record_batch(
            vec![(
                CommandBody::SaveVisit(new.clone()),
                vec![Touch::new(kinds::VISIT, new.id(), &village, &new)?],
            )],
            |tx| {
                tx.execute(
                    "INSERT INTO visit_drafts (visit_id, body, saved_body, updated_at, saved_at)
                     VALUES (?1, ?2, ?2, ?3, ?3)",
                    params![new.id().to_string(), body, at],
                )?;
                Ok(())
            },
        )?;
        Ok(new.id())
    }

    /// The visit screen's view.
    pub fn visit_view(&self, id: VisitId, user: UserId, urls: &PhotoUrls) -> Result<VisitView> {
        let working = self.working(id)?;
        let visit = match &working {
            Some(w) => w.visit.clone(),
            None => self.visit(id)?,
        };
        let template = self.template_of(&visit)?;
        let policy = self.procedure_rules()?.policy;
        let evaluation = visit
            .evaluate_under(&template, &policy)
            .map_err(visit_error)?;
        let outstanding = visit.outstanding(&template).map_err(visit_error)?;
        let household: Option<Household> = self.household(visit.household_id())?;
        let mut item_photos: BTreeMap<String, Vec<crate::views::PhotoView>> = BTreeMap::new();
        for item in template.items() {
            let mut ids: Vec<PhotoId> = visit
                .answers()
                .get(&item.key)
                .map(|a| a.photos().to_vec())
                .unwrap_or_default();
            ids.extend(visit.item_photos().get(&item.key).into_iter().flatten());
            if !ids.is_empty() {
                let views = ids
                    .iter()
                    .map(|p| self.photo_view(*p, &item.label_zh, urls))
                    .collect::<Result<Vec<_>>>()?;
                item_photos.insert(item.key.clone(), views);
            }
        }
        let members = household
            .as_ref()
            .map(|h| {
                h.members
                    .iter()
                    .map(|m| MemberChoice {
                        member_id: m.id,
                        name: m.name.clone(),
                        relation: m.relation,
                        relation_zh: m.relation.name_zh(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let unsaved_changes = working
            .as_ref()
            .is_some_and(|w| w.saved.as_deref() != Some(w.body.as_str()));
        Ok(VisitView {
            visit_id: visit.id(),
            household_id: visit.household_id(),
            case_id: visit.case_id(),
            purpose: visit.purpose(),
            purpose_zh: visit.purpose().name_zh(),
            household_name: household
                .as_ref()
                .and_then(|h| h.head_member().map(|m| m.name.clone()))
                .unwrap_or_default(),
            address: household.map(|h| h.address).unwrap_or_default(),
            is_final: visit.is_final(),
            finalized_at: visit.finalized_at(),
            supersedes: visit.supersedes(),
            editable: !visit.is_final() && visit.visitor() == user,
            answers: visit.answers().clone(),
            item_photos,
            evaluation,
            outstanding,
            unsaved_changes,
            last_saved_at: working.and_then(|w| w.saved_at),
            place: visit.location().map(PlaceView::from),
            present: visit.present().to_vec(),
            members,
            cadre_roles: CadreRole::ALL
                .iter()
                .map(|r| CadreRoleOption {
                    role: *r,
                    name_zh: r.name_zh(),
                })
                .collect(),
            template,
        })
    }
}

/// What the return visit found, in a line for the case's follow-up list.
fn follow_up_note(visit: &Visit, template: &ChecklistTemplate, policy: &Policy) -> Result<String> {
    let evaluation = visit
        .evaluate_under(template, policy)
        .map_err(visit_error)?;
    let income = evaluation
        .income
        .as_ref()
        .map(|i| format!("人均纯收入{}元（{}）", i.per_person_yuan, i.line_zh()));
    let mut parts: Vec<String> = income.into_iter().collect();
    if evaluation.problems.is_empty() {
        parts.push("“两不愁三保障”及饮水安全均有保障".to_owned());
    } else {
        parts.push(format!("仍存在：{}", evaluation.problems.join("；")));
    }
    Ok(parts.join("，"))
}

/// Whether a risk-elimination check found the risk gone, by the rule the server applies
/// (income after rigid spending against the year's line, every guarantee kept): the phone
/// proposes only what the server will accept.
fn risk_gone(visit: &Visit, template: &ChecklistTemplate, policy: &Policy) -> Result<(bool, bool)> {
    let check = visit
        .evaluate_under(template, policy)
        .map_err(visit_error)?
        .risk_check();
    Ok((check.income_above_line, check.guarantees_kept))
}

/// The verification result the answers give: qualifies (with the category and risk types the
/// worker chose) or not (with the reason written down).
fn verification_outcome(
    visit: &Visit,
    template: &ChecklistTemplate,
    policy: &Policy,
) -> Result<VerificationOutcome> {
    let evaluation = visit
        .evaluate_under(template, policy)
        .map_err(visit_error)?;
    match evaluation.conclusion {
        Some(Conclusion::Qualifies) => {
            let category = evaluation
                .category
                .ok_or_else(|| Error::invalid("核查结论为符合条件时须选择监测对象类型"))?;
            Ok(VerificationOutcome::Qualifies {
                category,
                risk_types: evaluation.risk_types,
            })
        }
        Some(Conclusion::DoesNotQualify) => {
            let reason = match visit.answers().get(checklist::keys::NOT_QUALIFIED_REASON) {
                Some(Answer::Text(t)) if !t.trim().is_empty() => t.trim().to_owned(),
                _ => evaluation.problems.join("；"),
            };
            Ok(VerificationOutcome::DoesNotQualify {
                reason: if reason.is_empty() {
                    "经入户核查不符合监测对象识别条件".to_owned()
                } else {
                    reason
                },
            })
        }
        None => Err(Error::invalid("请先填写核查结论")),
    }
}

#[cfg(test)]
mod tests;
