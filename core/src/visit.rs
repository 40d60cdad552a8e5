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

/// Why the visit happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    location: Option<GeoPoint>,
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

    pub fn location(&self) -> Option<GeoPoint> {
        self.location
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

    /// Record where the visit took place.
    pub fn set_location(&mut self, location: GeoPoint) -> Result<(), VisitError> {
        if self.is_final() {
            return Err(VisitError::Finalized);
        }
        self.location = Some(location);
        Ok(())
    }

    /// The derived results of the answers so far.
    pub fn evaluate(&self, template: &ChecklistTemplate) -> Result<Evaluation, VisitError> {
        self.same_template(template)?;
        Ok(checklist::evaluate(template, &self.answers))
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

    /// A new draft correcting this finalised visit: same household, case, purpose, template
    /// and location, a copy of the answers and photos, started `at` by `visitor`, and
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
mod tests {
    use super::*;
    use crate::checklist::keys::*;
    use crate::checklist::{AnswerProblemKind, default_template, tests::filled};
    use chrono::TimeZone;
    use rstest::rstest;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0)
            .single()
            .expect("valid time")
    }

    fn photo(n: u128) -> PhotoId {
        PhotoId::from_parts(1_750_000_000_000, n)
    }

    fn draft() -> (Visit, ChecklistTemplate) {
        let t = default_template();
        let v = Visit::new(
            VisitId::from_parts(1_772_400_000_000, 1),
            HouseholdId::from_parts(1_772_400_000_000, 2),
            Some(CaseId::from_parts(1_772_400_000_000, 3)),
            VisitPurpose::Verification,
            &t,
            UserId::from_parts(1_772_400_000_000, 4),
            at(1),
        );
        (v, t)
    }

    /// A draft with every answer of a complete checklist, entered through the rules.
    fn filled_draft() -> (Visit, ChecklistTemplate) {
        let (mut v, t) = draft();
        let (answers, photos) = filled();
        for (k, a) in answers {
            v.set_answer(&k, a, &t).expect("valid answer");
        }
        for (k, ps) in photos {
            for p in ps {
                v.attach_photo(&k, p, &t).expect("photo allowed");
            }
        }
        (v, t)
    }

    #[test]
    fn new_visit_is_an_empty_draft_of_its_template() {
        let (v, t) = draft();
        assert_eq!(v.status(), VisitStatus::Draft);
        assert!(!v.is_final());
        assert!(v.answers().is_empty());
        assert!(v.uses(&t));
        assert_eq!((v.template_id(), v.template_version()), (t.id, 1));
        assert_eq!(v.supersedes(), None);
        assert_eq!(v.finalized_at(), None);
    }

    #[test]
    fn set_answer_checks_the_item() {
        let (mut v, t) = draft();
        v.set_answer(HOUSEHOLD_SIZE, Answer::Integer(3), &t)
            .expect("valid");
        assert_eq!(v.answers().get(HOUSEHOLD_SIZE), Some(&Answer::Integer(3)));

        let e = v
            .set_answer(HOUSEHOLD_SIZE, Answer::Integer(0), &t)
            .expect_err("out of range");
        assert!(
            matches!(&e, VisitError::InvalidAnswer(p) if p.kind == AnswerProblemKind::OutOfRange)
        );
        assert_eq!(e.to_string(), "“共同生活家庭人口数”应在1到30人之间");
        assert_eq!(v.answers().get(HOUSEHOLD_SIZE), Some(&Answer::Integer(3)));

        let e = v
            .set_answer("nope", Answer::Bool(true), &t)
            .expect_err("unknown");
        assert_eq!(e, VisitError::UnknownItem("nope".into()));
        assert_eq!(e.code(), "unknown_item");

        let mut other = default_template();
        other.version = 2;
        let e = v
            .set_answer(HOUSEHOLD_SIZE, Answer::Integer(3), &other)
            .expect_err("other version");
        assert_eq!(e.code(), "template_mismatch");

        v.clear_answer(HOUSEHOLD_SIZE, &t).expect("clear");
        assert!(v.answers().is_empty());
    }

    #[test]
    fn evaluation_follows_answers() {
        let (mut v, t) = draft();
        v.set_answer(HOUSEHOLD_SIZE, Answer::Integer(3), &t)
            .expect("valid");
        v.set_answer(INCOME_WAGES, Answer::yuan(15_000), &t)
            .expect("valid");
        let inc = v
            .evaluate(&t)
            .expect("same template")
            .income
            .expect("income");
        assert_eq!(inc.per_person_yuan, 5000);
    }

    #[test]
    fn finalize_refuses_without_signature_and_names_it() {
        let (mut v, t) = filled_draft();
        let sig = v.answers()[AUTHORISATION_SIGNATURE].photos()[0];
        v.detach_photo(AUTHORISATION_SIGNATURE, sig, &t)
            .expect("detach");
        assert!(!v.answers().contains_key(AUTHORISATION_SIGNATURE));

        let e = v.finalize(at(2), &t).expect_err("no signature");
        let VisitError::Incomplete(problems) = &e else {
            panic!("expected Incomplete, got {e:?}");
        };
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].item, AUTHORISATION_SIGNATURE);
        assert_eq!(problems[0].kind, AnswerProblemKind::MissingSignature);
        assert_eq!(
            e.to_string(),
            "核查表还没有填完，不能定稿：请拍照：承诺授权书（户主签字并按手印）"
        );
        assert_eq!(e.code(), "incomplete");
        assert!(!v.is_final());
        assert_eq!(v.outstanding(&t).expect("same template"), problems.clone());
    }

    #[test]
    fn finalized_visit_cannot_be_edited() {
        let (mut v, t) = filled_draft();
        assert_eq!(v.outstanding(&t).expect("same template"), vec![]);
        v.finalize(at(2), &t).expect("complete");
        assert_eq!(
            v.status(),
            VisitStatus::Final {
                finalized_at: at(2)
            }
        );
        assert_eq!(v.finalized_at(), Some(at(2)));

        let before = v.clone();
        let e = v
            .set_answer(HOUSEHOLD_SIZE, Answer::Integer(4), &t)
            .expect_err("locked");
        assert_eq!(e, VisitError::Finalized);
        assert_eq!(
            e.to_string(),
            "已定稿的核查表不能修改，如需更正请新建更正版本"
        );
        assert_eq!(
            v.clear_answer(HOUSEHOLD_SIZE, &t),
            Err(VisitError::Finalized)
        );
        assert_eq!(
            v.attach_photo(EVIDENCE_PHOTOS, photo(50), &t),
            Err(VisitError::Finalized)
        );
        assert_eq!(
            v.detach_photo(HOUSING_RATING, photo(3), &t),
            Err(VisitError::Finalized)
        );
        let here = GeoPoint::new(35.6, 104.6, 8.0).expect("valid");
        assert_eq!(v.set_location(here), Err(VisitError::Finalized));
        assert_eq!(v.finalize(at(3), &t), Err(VisitError::Finalized));
        assert_eq!(v, before);
    }

    #[test]
    fn finalize_drops_answers_to_hidden_items() {
        let (mut v, t) = filled_draft();
        v.set_answer(CONCLUSION, Answer::Choice("does_not_qualify".into()), &t)
            .expect("valid");
        v.set_answer(NOT_QUALIFIED_REASON, Answer::Text("收入稳定".into()), &t)
            .expect("valid");
        // The category answered earlier is now hidden.
        assert!(v.answers().contains_key(MONITORING_CATEGORY));
        v.finalize(at(2), &t).expect("complete");
        assert!(!v.answers().contains_key(MONITORING_CATEGORY));
        assert!(v.answers().contains_key(NOT_QUALIFIED_REASON));
    }

    #[test]
    fn correction_links_to_the_finalized_visit() {
        let (mut v, t) = filled_draft();
        let new_id = VisitId::from_parts(1_772_500_000_000, 9);
        let corrector = UserId::from_parts(1_772_500_000_000, 10);
        assert_eq!(
            v.correction(new_id, at(5), corrector),
            Err(VisitError::NotFinal)
        );
        assert_eq!(VisitError::NotFinal.code(), "not_final");

        v.set_location(GeoPoint::new(35.58, 104.62, 12.5).expect("valid"))
            .expect("draft");
        v.finalize(at(2), &t).expect("complete");
        let mut c = v.correction(new_id, at(5), corrector).expect("final");
        assert_eq!(c.id(), new_id);
        assert_eq!(c.supersedes(), Some(v.id()));
        assert_eq!(c.status(), VisitStatus::Draft);
        assert_eq!(c.visitor(), corrector);
        assert_eq!(c.started_at(), at(5));
        assert_eq!(c.answers(), v.answers());
        assert_eq!(c.item_photos(), v.item_photos());
        assert_eq!(
            (c.household_id(), c.case_id(), c.purpose(), c.location()),
            (v.household_id(), v.case_id(), v.purpose(), v.location())
        );
        assert!(c.uses(&t));

        c.set_answer(HOUSEHOLD_SIZE, Answer::Integer(4), &t)
            .expect("a correction is a draft");
        c.finalize(at(6), &t).expect("complete");
        assert_eq!(v.answers()[HOUSEHOLD_SIZE], Answer::Integer(3));
    }

    #[test]
    fn photos_go_to_the_answer_or_the_item() {
        let (mut v, t) = draft();
        v.attach_photo(WATER_SOURCE_PHOTO, photo(1), &t)
            .expect("photo item");
        v.attach_photo(WATER_SOURCE_PHOTO, photo(1), &t)
            .expect("again");
        v.attach_photo(WATER_SOURCE_PHOTO, photo(2), &t)
            .expect("second");
        assert_eq!(
            v.answers()[WATER_SOURCE_PHOTO],
            Answer::Photos(vec![photo(1), photo(2)])
        );
        v.attach_photo(HOUSING_RATING, photo(3), &t)
            .expect("house photo");
        assert_eq!(v.item_photos()[HOUSING_RATING], vec![photo(3)]);
        let e = v
            .attach_photo(HOUSEHOLD_SIZE, photo(4), &t)
            .expect_err("no photos");
        assert_eq!(e, VisitError::PhotosNotAllowed("共同生活家庭人口数".into()));
        assert_eq!(e.to_string(), "“共同生活家庭人口数”这一项不需要拍照");

        v.attach_photo(AUTHORISATION_SIGNATURE, photo(5), &t)
            .expect("signature");
        assert_eq!(v.authorisation_photos(&t), vec![photo(5)]);
        v.detach_photo(HOUSING_RATING, photo(3), &t)
            .expect("detach");
        assert!(v.item_photos().is_empty());
    }

    #[rstest]
    #[case::lanzhou(36.06, 103.83, 5.0, true)]
    #[case::poles_and_dateline(-90.0, 180.0, 0.0, true)]
    #[case::lat_too_big(90.01, 103.0, 5.0, false)]
    #[case::lat_too_small(-90.5, 103.0, 5.0, false)]
    #[case::lng_too_big(36.0, 180.5, 5.0, false)]
    #[case::lng_too_small(36.0, -181.0, 5.0, false)]
    #[case::nan_lat(f64::NAN, 103.0, 5.0, false)]
    #[case::infinite_lng(36.0, f64::INFINITY, 5.0, false)]
    #[case::negative_accuracy(36.0, 103.0, -1.0, false)]
    #[case::nan_accuracy(36.0, 103.0, f64::NAN, false)]
    fn geo_point_validation(
        #[case] lat: f64,
        #[case] lng: f64,
        #[case] accuracy: f64,
        #[case] ok: bool,
    ) {
        assert_eq!(GeoPoint::new(lat, lng, accuracy).is_ok(), ok);
    }

    #[test]
    fn geo_point_serde_validates() {
        let p = GeoPoint::new(36.06, 103.83, 5.0).expect("valid");
        let json = serde_json::to_string(&p).expect("ser");
        assert_eq!(json, r#"{"lat":36.06,"lng":103.83,"accuracy_m":5.0}"#);
        assert_eq!(serde_json::from_str::<GeoPoint>(&json).expect("de"), p);
        assert!(serde_json::from_str::<GeoPoint>(r#"{"lat":91,"lng":0,"accuracy_m":1}"#).is_err());
        assert_eq!(
            GeoPoint::new(91.0, 0.0, 1.0).expect_err("bad").to_string(),
            "纬度应在-90到90之间，现为91"
        );
    }

    #[test]
    fn visit_json_round_trip() {
        let (mut v, t) = filled_draft();
        v.set_location(GeoPoint::new(35.58, 104.62, 12.5).expect("valid"))
            .expect("draft");
        v.finalize(at(2), &t).expect("complete");
        let json = serde_json::to_string(&v).expect("ser");
        assert!(
            json.contains(r#""status":{"state":"final","finalized_at":"2026-03-02T02:00:00Z"}"#)
        );
        assert!(json.contains(r#""purpose":"verification""#));
        let back: Visit = serde_json::from_str(&json).expect("de");
        assert_eq!(back, v);
    }

    #[test]
    fn purposes_have_chinese_names() {
        let names: Vec<&str> = VisitPurpose::ALL.iter().map(|p| p.name_zh()).collect();
        assert_eq!(names, ["入户核查", "帮扶回访", "风险消除核查"]);
    }
}
