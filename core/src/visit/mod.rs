//! Home visits (入户核查、回访): a checklist filled at the household, offline, then locked.
//!
//! A [`Visit`] is filled against one version of a [`ChecklistTemplate`] and starts as a draft.
//! Every change goes through a method that checks the rules: answers are typed against the
//! template, a finalised visit is never edited, and finalising requires a complete checklist
//! (every shown required item, the required photos, the signed authorisation). A mistake found
//! after finalising is corrected by a new draft that copies the answers and names the visit it
//! [supersedes](Visit::supersedes), so the record that was signed stays as it was.
//!
//! The fields are private so the rules cannot be bypassed; the visit (de)serialises as a whole
//! for storage and sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checklist::{
    self, Answer, AnswerProblem, Answers, ChecklistTemplate, Evaluation, ItemKind, ItemPhotos,
};
use crate::ids::{CaseId, HouseholdId, PhotoId, TemplateId, UserId, VisitId};

mod evidence;
pub use evidence::*;

/// Why the visit happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum VisitPurpose {
    /// 入户核查 of a declaration or lead.
    Verification,
    /// 回访 during assistance.
    FollowUp,
    /// 风险消除核查 before proposing that the risk is gone.
    RiskEliminationCheck,
}

impl VisitPurpose {
    pub const fn name_zh(self) -> &'static str {
        match self {
            VisitPurpose::Verification => "入户核查",
            VisitPurpose::FollowUp => "帮扶回访",
            VisitPurpose::RiskEliminationCheck => "风险消除核查",
        }
    }

    pub const ALL: [VisitPurpose; 3] = [
        VisitPurpose::Verification,
        VisitPurpose::FollowUp,
        VisitPurpose::RiskEliminationCheck,
    ];
}

/// Draft (editable) or final (locked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VisitStatus {
    Draft,
    Final { finalized_at: DateTime<Utc> },
}

/// Why a position is not a valid GPS fix.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("纬度应在-90到90之间，现为{0}")]
    Latitude(f64),
    #[error("经度应在-180到180之间，现为{0}")]
    Longitude(f64),
    #[error("定位精度应为不小于0的米数，现为{0}")]
    Accuracy(f64),
}

/// Where the visit took place (WGS-84 as the phone's GPS reports it), with the fix's accuracy
/// radius in metres. Always valid: built by [`GeoPoint::new`] or checked on deserialisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGeoPoint", into = "RawGeoPoint")]
pub struct GeoPoint {
    lat: f64,
    lng: f64,
    accuracy_m: f64,
}

#[derive(Serialize, Deserialize)]
struct RawGeoPoint {
    lat: f64,
    lng: f64,
    accuracy_m: f64,
}

impl GeoPoint {
    /// Latitude in −90..=90, longitude in −180..=180, accuracy ≥ 0; NaN and infinities are
    /// refused.
    pub fn new(lat: f64, lng: f64, accuracy_m: f64) -> Result<GeoPoint, GeoError> {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lng) {
            return Err(GeoError::Longitude(lng));
        }
        if !(accuracy_m.is_finite() && accuracy_m >= 0.0) {
            return Err(GeoError::Accuracy(accuracy_m));
        }
        Ok(GeoPoint {
            lat,
            lng,
            accuracy_m,
        })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lng(&self) -> f64 {
        self.lng
    }

    pub fn accuracy_m(&self) -> f64 {
        self.accuracy_m
    }
}

impl TryFrom<RawGeoPoint> for GeoPoint {
    type Error = GeoError;
    fn try_from(r: RawGeoPoint) -> Result<Self, Self::Error> {
        GeoPoint::new(r.lat, r.lng, r.accuracy_m)
    }
}

impl From<GeoPoint> for RawGeoPoint {
    fn from(p: GeoPoint) -> RawGeoPoint {
        RawGeoPoint {
            lat: p.lat,
            lng: p.lng,
            accuracy_m: p.accuracy_m,
        }
    }
}

/// Why a change to a visit is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VisitError {
    /// The visit is final: edits and a second finalisation are refused.
    #[error("已定稿的核查表不能修改，如需更正请新建更正版本")]
    Finalized,
    /// A correction can only be made of a finalised visit.
    #[error("只有已定稿的核查表才能新建更正版本")]
    NotFinal,
    /// The template passed is not the one the visit is filled against.
    #[error(
        "核查表模板版本不符：本次核查使用第{visit_version}版（{visit_template}），传入的是第{given_version}版（{given_template}）"
    )]
    TemplateMismatch {
        visit_template: TemplateId,
        visit_version: u32,
        given_template: TemplateId,
        given_version: u32,
    },
    #[error("核查表中没有“{0}”这一项")]
    UnknownItem(String),
    /// The answer does not fit the item (type, range, option, length).
    #[error("{0}")]
    InvalidAnswer(AnswerProblem),
    /// Photos cannot be attached to this item.
    #[error("“{0}”这一项不需要拍照")]
    PhotosNotAllowed(String),
    /// The list of people present is not acceptable (a blank name, someone twice).
    #[error("{0}")]
    Attendee(String),
    /// Finalising refused: what is still missing or wrong, item by item.
    #[error("核查表还没有填完，不能定稿：{}", join_problems(.0))]
    Incomplete(Vec<AnswerProblem>),
}

impl VisitError {
    /// A stable code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            VisitError::Finalized => "finalized",
            VisitError::NotFinal => "not_final",
            VisitError::TemplateMismatch { .. } => "template_mismatch",
            VisitError::UnknownItem(_) => "unknown_item",
            VisitError::InvalidAnswer(_) => "invalid_answer",
            VisitError::PhotosNotAllowed(_) => "photos_not_allowed",
            VisitError::Attendee(_) => "attendee",
            VisitError::Incomplete(_) => "incomplete",
        }
    }
}

fn join_problems(problems: &[AnswerProblem]) -> String {
    problems
        .iter()
        .map(|p| p.message_zh.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

/// One home visit and its checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    id: VisitId,
    household_id: HouseholdId,
    case_id: Option<CaseId>,
    purpose: VisitPurpose,
    template_id: TemplateId,
    template_version: u32,
    visitor: UserId,
    started_at: DateTime<Utc>,
    status: VisitStatus,
    answers: Answers,
    /// Photos attached to items that are not photo items (e.g. the house under 住房安全等级).
    item_photos: ItemPhotos,
    /// Where it was made (a fix, or why there is none); `None` until the device has tried.
    #[serde(default)]
    location: Option<VisitPlace>,
    /// Who was present (household members, cadres).
    #[serde(default)]
    present: Vec<Attendee>,
    /// The finalised visit this one corrects.
    supersedes: Option<VisitId>,
}

impl Visit {
    /// A new, empty draft filled against `template`.
    pub fn new(
        id: VisitId,
        household_id: HouseholdId,
        case_id: Option<CaseId>,
        purpose: VisitPurpose,
        template: &ChecklistTemplate,
        visitor: UserId,
        started_at: DateTime<Utc>,
    ) -> Visit {
        Visit {
            id,
            household_id,
            case_id,
            purpose,
            template_id: template.id,
            template_version: template.version,
            visitor,
            started_at,
            status: VisitStatus::Draft,
            answers: Answers::new(),
            item_photos: ItemPhotos::new(),
            location: None,
            present: Vec::new(),
            supersedes: None,
        }
    }

    pub fn id(&self) -> VisitId {
        self.id
    }

    pub fn household_id(&self) -> HouseholdId {
        self.household_id
    }

    pub fn case_id(&self) -> Option<CaseId> {
        self.case_id
    }

    pub fn purpose(&self) -> VisitPurpose {
        self.purpose
    }

    pub fn template_id(&self) -> TemplateId {
        self.template_id
    }

    pub fn template_version(&self) -> u32 {
        self.template_version
    }

    pub fn visitor(&self) -> UserId {
        self.visitor
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn status(&self) -> VisitStatus {
        self.status
    }

    pub fn is_final(&self) -> bool {
        matches!(self.status, VisitStatus::Final { .. })
    }

    pub fn finalized_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            VisitStatus::Final { finalized_at } => Some(finalized_at),
            VisitStatus::Draft => None,
        }
    }

    pub fn answers(&self) -> &Answers {
        &self.answers
    }

    pub fn item_photos(&self) -> &ItemPhotos {
        &self.item_photos
    }

    pub fn location(&self) -> Option<&VisitPlace> {
        self.location.as_ref()
    }

    pub fn present(&self) -> &[Attendee] {
        &self.present
    }

    pub fn supersedes(&self) -> Option<VisitId> {
        self.supersedes
    }

    /// Whether `template` is the version this visit is filled against.
    pub fn uses(&self, template: &ChecklistTemplate) -> bool {
        self.template_id == template.id && self.template_version == template.version
    }

    fn editable(&self, template: &ChecklistTemplate) -> Result<(), VisitError> {
        if self.is_final() {
            return Err(VisitError::Finalized);
        }
        self.same_template(template)
    }

    fn same_template(&self, template: &ChecklistTemplate) -> Result<(), VisitError> {
        if self.uses(template) {
            Ok(())
        } else {
            Err(VisitError::TemplateMismatch {
                visit_template: self.template_id,
                visit_version: self.template_version,
                given_template: template.id,
                given_version: template.version,
            })
        }
    }

    /// Set (or replace) the answer to one item. The answer must fit the item (type, range,
    /// options, length); whether the item is currently shown does not matter.
    pub fn set_answer(
        &mut self,
        key: &str,
        answer: Answer,
        template: &ChecklistTemplate,
    ) -> Result<(), VisitError> {
        self.editable(template)?;
        let item = template
            .item(key)
            .ok_or_else(|| VisitError::UnknownItem(key.to_owned()))?;
        item.check_answer(&answer)
            .map_err(VisitError::InvalidAnswer)?;
        self.answers.insert(key.to_owned(), answer);
        Ok(())
    }

    /// Remove the answer to one item (and nothing else: attached photos stay).
    pub fn clear_answer(
        &mut self,
        key: &str,
        template: &ChecklistTemplate,
    ) -> Result<(), VisitError> {
        self.editable(template)?;
        if template.item(key).is_none() {
            return Err(VisitError::UnknownItem(key.to_owned()));
        }
        self.answers.remove(key);
        Ok(())
    }

    /// Attach a photo to an item. For photo items and the signature, the photo joins the
    /// item's answer; for other items it goes to [`Visit::item_photos`]. Attaching the same
    /// photo twice is a no-op.
    pub fn attach_photo(
        &mut self,
        key: &str,
        photo: PhotoId,
        template: &ChecklistTemplate,
    ) -> Result<(), VisitError> {
        self.editable(template)?;
        let item = template
            .item(key)
            .ok_or_else(|| VisitError::UnknownItem(key.to_owned()))?;
        if !item.takes_photos() {
            return Err(VisitError::PhotosNotAllowed(item.label_zh.clone()));
        }
        if item.kind.is_photo() {
            let entry = self
                .answers
                .entry(key.to_owned())
                .or_insert_with(|| Answer::Photos(Vec::new()));
            match entry {
                Answer::Photos(list) => push_unique(list, photo),
                // Only photos are ever stored here (set_answer checks types).
                other => *other = Answer::Photos(vec![photo]),
            }
        } else {
            push_unique(self.item_photos.entry(key.to_owned()).or_default(), photo);
        }
        Ok(())
    }

    /// Remove a photo from an item (from its answer or its attached photos).
    pub fn detach_photo(
        &mut self,
        key: &str,
        photo: PhotoId,
        template: &ChecklistTemplate,
    ) -> Result<(), VisitError> {
        self.editable(template)?;
        let item = template
            .item(key)
            .ok_or_else(|| VisitError::UnknownItem(key.to_owned()))?;
        if item.kind.is_photo() {
            if let Some(Answer::Photos(list)) = self.answers.get_mut(key) {
                list.retain(|p| *p != photo);
                if list.is_empty() {
                    self.answers.remove(key);
                }
            }
        }
        if let Some(list) = self.item_photos.get_mut(key) {
            list.retain(|p| *p != photo);
            if list.is_empty() {
                self.item_photos.remove(key);
            }
        }
        Ok(())
    }

    /// Record where the visit took place (or why the device could not tell). A later reading
    /// replaces an earlier one: the worker may try again outside the house.
    pub fn set_location(&mut self, location: VisitPlace) -> Result<(), VisitError> {
        if self.is_final() {
            return Err(VisitError::Finalized);
        }
        self.location = Some(location);
        Ok(())
    }

    /// Record who is present (the whole list, replacing the previous one).
    pub fn set_present(&mut self, present: Vec<Attendee>) -> Result<(), VisitError> {
        if self.is_final() {
            return Err(VisitError::Finalized);
        }
        check_attendees(&present).map_err(VisitError::Attendee)?;
        self.present = present;
        Ok(())
    }

    /// The derived results of the answers so far.
    pub fn evaluate(&self, template: &ChecklistTemplate) -> Result<Evaluation, VisitError> {
        self.same_template(template)?;
        Ok(checklist::evaluate(template, &self.answers))
    }

    /// The derived results against the province's line for the visit's year (the year it
    /// started, Beijing time), so the verdict names that line.
    pub fn evaluate_under(
        &self,
        template: &ChecklistTemplate,
        policy: &crate::policy::Policy,
    ) -> Result<Evaluation, VisitError> {
        self.same_template(template)?;
        let line = policy.income_line_on(crate::time::china_date(self.started_at));
        Ok(checklist::evaluate_against(
            template,
            &self.answers,
            Some(line),
        ))
    }

    /// What still stands between this visit and finalising (empty when it may be finalised).
    pub fn outstanding(
        &self,
        template: &ChecklistTemplate,
    ) -> Result<Vec<AnswerProblem>, VisitError> {
        self.same_template(template)?;
        Ok(
            checklist::check_complete(template, &self.answers, &self.item_photos)
                .err()
                .unwrap_or_default(),
        )
    }

    /// Lock the visit at `at`. Refused when already final, or when [`checklist::check_complete`]
    /// finds anything missing or wrong; then nothing changes. On success, answers to items that
    /// are hidden under the final answers are dropped, so the locked record holds exactly what
    /// the form showed (attached photos are evidence and are kept).
    pub fn finalize(
        &mut self,
        at: DateTime<Utc>,
        template: &ChecklistTemplate,
    ) -> Result<(), VisitError> {
        self.editable(template)?;
        checklist::check_complete(template, &self.answers, &self.item_photos)
            .map_err(VisitError::Incomplete)?;
        let visible = checklist::visible_items(template, &self.answers);
        self.answers.retain(|k, _| visible.contains(k));
        self.status = VisitStatus::Final { finalized_at: at };
        Ok(())
    }

    /// A new draft correcting this finalised visit: same household, case, purpose, template,
    /// location and people present, a copy of the answers and photos, started `at` by `visitor`, and
    /// [`supersedes`](Visit::supersedes) this visit. Refused for a draft (edit it instead).
    pub fn correction(
        &self,
        new_id: VisitId,
        at: DateTime<Utc>,
        visitor: UserId,
    ) -> Result<Visit, VisitError> {
        if !self.is_final() {
            return Err(VisitError::NotFinal);
        }
        Ok(Visit {
            id: new_id,
            visitor,
            started_at: at,
            status: VisitStatus::Draft,
            supersedes: Some(self.id),
            ..self.clone()
        })
    }

    /// Photos of the household's signed authorisation (承诺授权书 with 手印): the answers of
    /// the template's shown signature items.
    pub fn authorisation_photos(&self, template: &ChecklistTemplate) -> Vec<PhotoId> {
        let visible = checklist::visible_items(template, &self.answers);
        template
            .items()
            .filter(|i| i.kind == ItemKind::Signature && visible.contains(&i.key))
            .filter_map(|i| self.answers.get(&i.key))
            .flat_map(|a| a.photos().iter().copied())
            .collect()
    }
}

fn push_unique(list: &mut Vec<PhotoId>, photo: PhotoId) {
    if !list.contains(&photo) {
        list.push(photo);
    }
}

#[cfg(test)]
mod tests;
