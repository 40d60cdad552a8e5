//! The household file (农户档案): everything the phone knows about one household, in one view.
//!
//! Before knocking on a door the worker wants the household's members, its open cases with
//! their clocks, what was decided and when, the plan and its measures, which follow-up is due,
//! and the photos taken so far. The records live apart (household, cases, visits, plans,
//! follow-ups, photos); this module gathers them through the expression indexes of the app
//! migration and says it all in words. Changes made on this phone and not yet acknowledged by
//! the server are marked `pending`, so the worker never mistakes "sent" for "done".

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yijian_core::case::{Case, CaseEvent};
use yijian_core::clocks::{ClockFacts, most_urgent};
use yijian_core::household::{Health, Household};
use yijian_core::ids::{CaseId, HouseholdId, UserId, VisitId};
use yijian_core::protocol::{Command, CommandBody, Wire};
use yijian_core::role::Role;
use yijian_core::support::{FollowUp, PhotoMeta, PhotoOwner, Plan};
use yijian_core::visit::{Visit, VisitPurpose};
use yijian_core::workflow::Stage;

use crate::error::{Error, Result};
use crate::store::LocalStore;
use crate::views::{DueInfo, PhotoUrls, PhotoView, village_name, yuan};
use yijian_core::protocol::kinds;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub relation_zh: &'static str,
    pub id_number_masked: Option<String>,
    pub age: Option<u32>,
    pub health_zh: String,
    pub work_zh: String,
    pub schooling_zh: Option<&'static str>,
    pub medical_insurance: bool,
    pub living_together: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub label_zh: String,
    pub by: Option<String>,
    pub note: Option<String>,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct MeasureView {
    pub kind_zh: &'static str,
    pub description: String,
    pub amount_yuan: Option<String>,
    pub responsible: String,
    pub due_on: Option<NaiveDate>,
    pub done_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PlanView {
    pub made_on: NaiveDate,
    pub measures: Vec<MeasureView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct FollowUpView {
    pub id: String,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    pub overdue: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ProxyView {
    pub filler_name: String,
    pub relation: String,
    pub confirmation_zh: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct CaseView {
    pub case_id: CaseId,
    pub household_id: Option<HouseholdId>,
    pub receipt_no: Option<String>,
    pub stage: Stage,
    pub stage_zh: &'static str,
    pub source_zh: &'static str,
    pub risks_zh: Vec<&'static str>,
    pub description: String,
    pub applicant_name: String,
    pub applicant_phone_masked: Option<String>,
    pub address: String,
    pub village_name: String,
    pub declared_at: DateTime<Utc>,
    pub green_channel: bool,
    pub category_zh: Option<&'static str>,
    pub due: Option<DueInfo>,
    pub timeline: Vec<TimelineEntry>,
    pub proxy: Option<ProxyView>,
    pub plan: Option<PlanView>,
    pub follow_ups: Vec<FollowUpView>,
    /// A visit of this case may be started from the phone now: the home verification, or a
    /// return visit once the plan is made.
    pub can_start_visit: bool,
    /// The purpose of that visit.
    pub visit_purpose: Option<VisitPurpose>,
    /// The risk-elimination check may be made now (assisting, monitored long enough, a
    /// measure in place): the visit that ends with the proposal to eliminate the risk.
    pub can_check_risk_elimination: bool,
    /// This user's unfinished visit for the case (its working copy is on the phone).
    pub open_visit_id: Option<VisitId>,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct VisitSummary {
    pub id: VisitId,
    pub case_id: Option<CaseId>,
    pub purpose_zh: &'static str,
    pub started_at: DateTime<Utc>,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub finalized_at: Option<DateTime<Utc>>,
    pub supersedes: Option<VisitId>,
    pub has_working_copy: bool,
    pub mine: bool,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct HouseholdFile {
    pub household_id: HouseholdId,
    pub head_name: String,
    pub address: String,
    pub door_plate: Option<String>,
    pub village: String,
    pub village_name: String,
    pub phone_masked: Option<String>,
    pub category_zh: Option<&'static str>,
    pub monitoring_zh: &'static str,
    pub formerly_poor: bool,
    pub members: Vec<MemberView>,
    pub cases: Vec<CaseView>,
    pub visits: Vec<VisitSummary>,
    pub photos: Vec<PhotoView>,
    pub pending: bool,
}

/// Who is looking, for what they may do from the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user: UserId,
    pub role: Role,
    pub today: NaiveDate,
}

fn health_zh(h: &Health) -> String {
    match h {
        Health::Disability { grade: Some(g) } => format!("残疾（{g}级）"),
        other => other.name_zh().to_owned(),
    }
}

fn member_view(m: &yijian_core::household::Member, today: NaiveDate) -> MemberView {
    MemberView {
        id: m.id.to_string(),
        name: m.name.clone(),
        relation_zh: m.relation.name_zh(),
        id_number_masked: m.id_number.as_ref().map(|n| n.masked()),
        age: m.age_on(today),
        health_zh: health_zh(&m.health),
        work_zh: match &m.work {
            yijian_core::household::WorkStatus::MigrantWork { place, months } => {
                format!("外出务工（{place}，{months}个月）")
            }
            other => other.name_zh().to_owned(),
        },
        schooling_zh: m.schooling.as_ref().map(|s| s.name_zh()),
        medical_insurance: m.medical_insurance,
        living_together: m.living_together,
    }
}

fn photo_caption(owner: &PhotoOwner) -> &'static str {
    match owner {
        PhotoOwner::VisitItem { .. } => "核查照片",
        PhotoOwner::Case { .. } => "案件材料",
        PhotoOwner::Household { .. } => "农户照片",
        PhotoOwner::ProxyConfirmation { .. } => "代申报确认（手印或签字）",
        PhotoOwner::PublicNotice { .. } => "公示照片",
    }
}

impl LocalStore {
    /// Commands in the outbox that touch a record, oldest first, with when they were made.
    fn pending_commands(&self, kind: &str, id: &str) -> Result<Vec<(Command, DateTime<Utc>)>> {
        Ok(self
            .commands_touching(kind, id)?
            .into_iter()
            .map(|c| {
                let at = command_time(&c.id);
                (c, at)
            })
            .collect())
    }

    /// The case view of one case.
    pub fn case_view(&self, case_id: CaseId, viewer: &Viewer) -> Result<CaseView> {
        let id = case_id.to_string();
        let rec = self
            .record(kinds::CASE, &id)?
            .ok_or_else(|| Error::NotFound(format!("本机没有这个案件（{id}），请先同步")))?;
        let case: Case = serde_json::from_value(rec.body.clone())
            .map_err(|e| Error::Corrupt(format!("case {id}: {e}")))?;
        let procedure = self.procedure_rules()?;
        let plans: Vec<Plan> = self
            .records_where(kinds::PLAN, "$.case_id", &id)?
            .into_iter()
            .filter_map(|r| serde_json::from_value(r.body).ok())
            .collect();
        let mut follow_ups: Vec<FollowUp> = self
            .records_where(kinds::FOLLOW_UP, "$.case_id", &id)?
            .into_iter()
            .filter_map(|r| serde_json::from_value(r.body).ok())
            .collect();
        follow_ups.sort_by_key(|f| f.due_on);
        let plan = plans.into_iter().max_by_key(|p| p.made_on);
        let facts = ClockFacts {
            declared_on: case.declared_on(),
            plan_made_on: plan.as_ref().map(|p| p.made_on),
            next_follow_up_due: follow_ups
                .iter()
                .filter(|f| f.done_on.is_none())
                .map(|f| f.due_on)
                .min(),
            last_follow_up_done: follow_ups.iter().filter_map(|f| f.done_on).max(),
        };
        let due = most_urgent(&case.state, &facts, &procedure.rules, &procedure.calendar)
            .map(|c| DueInfo::of(&c, viewer.today, &procedure.calendar));
        let timeline = self.timeline(&case, &id)?;
        let open_visit_id = self.open_visit_for(case_id, viewer.user)?;
        let d = &case.declaration;
        let stage = case.state.stage;
        let visit_purpose = match (viewer.role, stage) {
            (
                Role::VillageWorker | Role::Township | Role::County,
                Stage::Declared | Stage::Accepted | Stage::Verifying,
            ) => Some(VisitPurpose::Verification),
            (Role::VillageWorker | Role::Township, Stage::PlanMade | Stage::Assisting) => {
                Some(VisitPurpose::FollowUp)
            }
            _ => None,
        }
        .filter(|_| open_visit_id.is_none() && d.household_id.is_some());
        let can_start_visit = visit_purpose.is_some();
        let monitored_long_enough = case
            .state
            .monitoring_since
            .or(case.state.approved_on)
            .and_then(|since| {
                since.checked_add_months(chrono::Months::new(
                    yijian_core::workflow::MIN_MONITORING_MONTHS,
                ))
            })
            .is_some_and(|earliest| earliest <= viewer.today);
        let measure_in_place = plan
            .as_ref()
            .is_some_and(|p| p.measures_in_place(viewer.today) > 0);
        let can_check_risk_elimination = open_visit_id.is_none()
            && d.household_id.is_some()
            && viewer.role == Role::VillageWorker
            && stage == Stage::Assisting
            && monitored_long_enough
            && measure_in_place;
        Ok(CaseView {
            case_id,
            household_id: d.household_id,
            receipt_no: case.receipt_no.clone(),
            stage: case.state.stage,
            stage_zh: case.state.stage.name_zh(),
            source_zh: d.source.name_zh(),
            risks_zh: d.risk_types.iter().map(|r| r.name_zh()).collect(),
            description: d.description.clone(),
            applicant_name: d.applicant.name.clone(),
            applicant_phone_masked: d.applicant.phone.as_deref().map(|p| {
                yijian_core::validation::MobileNumber::parse(p)
                    .map(|m| m.masked())
                    .unwrap_or_else(|_| p.to_owned())
            }),
            address: d.applicant.address.clone(),
            village_name: village_name(&rec.village),
            declared_at: d.declared_at,
            green_channel: case.state.green_channel,
            category_zh: case.state.category.map(|c| c.name_zh()),
            due,
            timeline,
            proxy: d.proxy.as_ref().map(|p| ProxyView {
                filler_name: p.filler_name.clone(),
                relation: p.relation_to_applicant.clone(),
                confirmation_zh: p.confirmation.name_zh(),
            }),
            plan: plan.map(|p| PlanView {
                made_on: p.made_on,
                measures: p
                    .measures
                    .iter()
                    .map(|m| MeasureView {
                        kind_zh: m.kind.name_zh(),
                        description: m.description.clone(),
                        amount_yuan: m.amount_fen.map(yuan),
                        responsible: format!("{} {}", m.responsible_unit, m.responsible_person),
                        due_on: m.due_on,
                        done_on: m.done_on,
                    })
                    .collect(),
            }),
            follow_ups: follow_ups
                .iter()
                .map(|f| FollowUpView {
                    id: f.id.to_string(),
                    due_on: f.due_on,
                    done_on: f.done_on,
                    overdue: f.is_overdue(viewer.today),
                    note: f.note.clone(),
                })
                .collect(),
            can_start_visit,
            visit_purpose,
            can_check_risk_elimination,
            open_visit_id,
            pending: rec.pending,
        })
    }

    /// What happened to a case: the server's history, then what this phone has queued.
    fn timeline(&self, case: &Case, id: &str) -> Result<Vec<TimelineEntry>> {
        let mut out: Vec<TimelineEntry> = case
            .history
            .iter()
            .map(|e: &CaseEvent| TimelineEntry {
                at: e.at,
                label_zh: e.label_zh(),
                by: e.by.clone(),
                note: e.note.clone(),
                pending: false,
            })
            .collect();
        let pending = self.pending_commands(kinds::CASE, id)?;
        let declared_pending = pending
            .iter()
            .any(|(c, _)| matches!(c.body, Wire::Known(CommandBody::Declare(_))));
        if out.is_empty() {
            out.push(TimelineEntry {
                at: case.declaration.declared_at,
                label_zh: "提交申报".to_owned(),
                by: case
                    .declaration
                    .proxy
                    .as_ref()
                    .map(|p| format!("{}（代填）", p.filler_name)),
                note: None,
                pending: declared_pending,
            });
        }
        for (command, at) in pending {
            if let Wire::Known(CommandBody::CaseStep { step, .. }) = &command.body {
                out.push(TimelineEntry {
                    at,
                    label_zh: format!("{}（待上传）", step.kind().name_zh()),
                    by: None,
                    note: None,
                    pending: true,
                });
            }
        }
        Ok(out)
    }

    /// This user's unfinished visit of a case: a working copy on the phone.
    fn open_visit_for(&self, case_id: CaseId, user: UserId) -> Result<Option<VisitId>> {
        for id in self.working_visit_ids()? {
            let v = self.visit(id)?;
            if v.case_id() == Some(case_id) && v.visitor() == user && !v.is_final() {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The household file.
    pub fn household_file(
        &self,
        household_id: HouseholdId,
        viewer: &Viewer,
        urls: &PhotoUrls,
    ) -> Result<HouseholdFile> {
        let hid = household_id.to_string();
        let rec = self.record(kinds::HOUSEHOLD, &hid)?.ok_or_else(|| {
            Error::NotFound("本机没有这户的档案（可能不在您的管辖范围，或尚未同步）".into())
        })?;
        let h: Household = serde_json::from_value(rec.body.clone())
            .map_err(|e| Error::Corrupt(format!("household {hid}: {e}")))?;
        let mut cases = Vec::new();
        for r in self.records_where(kinds::CASE, "$.declaration.household_id", &hid)? {
            let case_id = CaseId::parse(&r.id).map_err(|e| Error::Corrupt(e.to_string()))?;
            cases.push(self.case_view(case_id, viewer)?);
        }
        cases.sort_by_key(|c| std::cmp::Reverse(c.declared_at));
        let working = self.working_visit_ids()?;
        let mut visits = Vec::new();
        let mut photos = Vec::new();
        for r in self.records_where(kinds::VISIT, "$.household_id", &hid)? {
            let v: Visit = match self
                .visit(VisitId::parse(&r.id).map_err(|e| Error::Corrupt(e.to_string()))?)
            {
                Ok(v) => v,
                Err(_) => continue,
            };
            for p in self.records_where(kinds::PHOTO, "$.owner.visit_id", &r.id)? {
                photos.push(self.photo_of_record(&p.body, urls)?);
            }
            visits.push(VisitSummary {
                id: v.id(),
                case_id: v.case_id(),
                purpose_zh: v.purpose().name_zh(),
                started_at: v.started_at(),
                is_final: v.is_final(),
                finalized_at: v.finalized_at(),
                supersedes: v.supersedes(),
                has_working_copy: working.contains(&v.id()),
                mine: v.visitor() == viewer.user,
                pending: r.pending,
            });
        }
        visits.sort_by_key(|v| std::cmp::Reverse(v.started_at));
        for p in self.records_where(kinds::PHOTO, "$.owner.household_id", &hid)? {
            photos.push(self.photo_of_record(&p.body, urls)?);
        }
        for c in &cases {
            for p in self.records_where(kinds::PHOTO, "$.owner.case_id", &c.case_id.to_string())? {
                photos.push(self.photo_of_record(&p.body, urls)?);
            }
        }
        photos.sort_by_key(|p| std::cmp::Reverse(p.id));
        let pending =
            rec.pending || cases.iter().any(|c| c.pending) || visits.iter().any(|v| v.pending);
        Ok(HouseholdFile {
            household_id,
            head_name: h.head_member().map(|m| m.name.clone()).unwrap_or_default(),
            address: h.address.clone(),
            door_plate: h.door_plate.clone(),
            village: rec.village.clone(),
            village_name: village_name(&rec.village),
            phone_masked: h.phone.as_ref().map(|p| p.masked()),
            category_zh: h.category.map(|c| c.name_zh()),
            monitoring_zh: h.monitoring.name_zh(),
            formerly_poor: h.formerly_poor,
            members: h
                .members
                .iter()
                .map(|m| member_view(m, viewer.today))
                .collect(),
            cases,
            visits,
            photos,
            pending,
        })
    }

    fn photo_of_record(&self, body: &serde_json::Value, urls: &PhotoUrls) -> Result<PhotoView> {
        let meta: PhotoMeta = serde_json::from_value(body.clone())?;
        let caption = match &meta.owner {
            PhotoOwner::VisitItem { visit_id, item_key } => self
                .visit(*visit_id)
                .ok()
                .and_then(|v| self.template_of(&v).ok())
                .and_then(|t| t.item(item_key).map(|i| i.label_zh.clone()))
                .unwrap_or_else(|| photo_caption(&meta.owner).to_owned()),
            other => photo_caption(other).to_owned(),
        };
        self.photo_view(meta.id, &caption, urls)
    }

    /// The household a scanned door-plate code names: one of our codes by id, any other text
    /// as a door-plate number. [`Error::NotFound`] when this phone holds no such household.
    pub fn household_by_scan(&self, text: &str) -> Result<HouseholdId> {
        use yijian_core::qrcodes::{DoorPlateRef, parse_door_plate};
        let not_here = || {
            Error::NotFound("未找到这个户码对应的农户：可能不在您的管辖范围，或尚未同步".to_owned())
        };
        match parse_door_plate(text).map_err(|e| Error::NotFound(e.to_string()))? {
            DoorPlateRef::Household { household_id } => {
                if self
                    .record(kinds::HOUSEHOLD, &household_id.to_string())?
                    .is_some()
                {
                    Ok(household_id)
                } else {
                    Err(not_here())
                }
            }
            DoorPlateRef::DoorPlate { number } => {
                let found = self.records_where(kinds::HOUSEHOLD, "$.door_plate", &number)?;
                match found.as_slice() {
                    [one] => HouseholdId::parse(&one.id).map_err(|e| Error::Corrupt(e.to_string())),
                    [] => Err(not_here()),
                    _ => Err(Error::NotFound(format!(
                        "门牌号“{number}”对应多户，请在待办中搜索"
                    ))),
                }
            }
        }
    }

    /// The purposes a new visit of this case can have from the phone.
    pub fn visit_purpose_for(&self, case: &CaseView) -> VisitPurpose {
        match case.stage {
            Stage::PlanMade | Stage::Assisting => VisitPurpose::FollowUp,
            _ => VisitPurpose::Verification,
        }
    }
}

/// When a command was made: its UUIDv7 carries the millisecond.
fn command_time(id: &yijian_core::ids::CommandId) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(i64::try_from(id.unix_ms()).unwrap_or(0)).unwrap_or_default()
}

#[cfg(test)]
mod tests;
