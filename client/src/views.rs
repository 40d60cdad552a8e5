//! What the app's screens show, computed on the device from its records.
//!
//! The screens never read raw records: they get these views, already in the words a worker
//! reads (stage names, "已逾期3个工作日", masked ID numbers), so every screen says the same
//! thing the same way and the CLI and tests can read exactly what the worker sees. Due dates use
//! [`ProcedureRules`]: the holiday calendar and deadline rules the server published (see
//! [`LocalStore::set_procedure_rules`]), or the compiled-in ones until it has.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yijian_core::calendar::HolidayCalendar;
use yijian_core::clocks::RunningClock;
use yijian_core::deadline::{DeadlineRules, DeadlineStatus};
use yijian_core::division::DivisionCode;
use yijian_core::ids::{CommandId, HouseholdId, PhotoId};
use yijian_core::regions::Regions;
use yijian_core::support::PhotoMeta;

use crate::error::{Error, Result};
use crate::store::{LocalStore, PhotoStatus};
use yijian_core::policy::Policy;
use yijian_core::protocol::kinds;

mod key {
    pub const CALENDAR: &str = "procedure_calendar";
    pub const RULES: &str = "procedure_rules";
    pub const POLICY: &str = "procedure_policy";
    /// The server's tag of the document the three above came from.
    pub const TAG: &str = "procedure_tag";
}

/// The calendar and deadline rules due dates are computed with, and the policy figures (the
/// year's income line) visits are judged by.
#[derive(Debug, Clone)]
pub struct ProcedureRules {
    pub rules: DeadlineRules,
    pub calendar: Arc<HolidayCalendar>,
    pub policy: Arc<Policy>,
}

impl Default for ProcedureRules {
    fn default() -> Self {
        ProcedureRules {
            rules: DeadlineRules::gansu(),
            calendar: Arc::new(HolidayCalendar::builtin().clone()),
            policy: Arc::new(Policy::gansu()),
        }
    }
}

impl LocalStore {
    /// The rules the server last published, else the compiled-in ones. A stored set that no
    /// longer parses (written by a newer app) is ignored rather than blocking the app.
    pub fn procedure_rules(&self) -> Result<ProcedureRules> {
        let mut out = ProcedureRules::default();
        if let Some(text) = self.meta(key::CALENDAR)?
            && let Ok(calendar) = HolidayCalendar::from_json(&text)
        {
            out.calendar = Arc::new(calendar);
        }
        if let Some(text) = self.meta(key::RULES)?
            && let Ok(rules) = DeadlineRules::from_json(&text)
        {
            out.rules = rules;
        }
        if let Some(text) = self.meta(key::POLICY)?
            && let Ok(policy) = Policy::from_json(&text)
        {
            out.policy = Arc::new(policy);
        }
        Ok(out)
    }

    /// Keep the policy figures the server published (validated first).
    pub fn set_policy(&self, policy_json: &str) -> Result<()> {
        Policy::from_json(policy_json).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.set_meta(key::POLICY, policy_json)
    }

    /// Keep a procedure document the server published, all or nothing, with its tag (so the
    /// next round asks "changed since?" instead of downloading it again). Nothing is kept if
    /// any part fails validation.
    pub fn keep_procedure(
        &self,
        doc: &yijian_core::protocol::procedure::ProcedureDocument,
        tag: Option<&str>,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        self.set_procedure_rules(
            &serde_json::to_string(&doc.calendar)?,
            &serde_json::to_string(&doc.rules)?,
        )?;
        self.set_policy(&serde_json::to_string(&doc.policy)?)?;
        self.put_templates(&doc.templates)?;
        match tag {
            Some(tag) => self.set_meta(key::TAG, tag)?,
            None => self.delete_meta(key::TAG)?,
        }
        tx.commit()?;
        Ok(())
    }

    /// The tag of the procedure document the phone keeps (see [`LocalStore::keep_procedure`]).
    pub fn procedure_tag(&self) -> Result<Option<String>> {
        self.meta(key::TAG)
    }

    /// Keep the calendar and rules the server published (validated first).
    pub fn set_procedure_rules(&self, calendar_json: &str, rules_json: &str) -> Result<()> {
        HolidayCalendar::from_json(calendar_json).map_err(|e| Error::Corrupt(e.to_string()))?;
        DeadlineRules::from_json(rules_json).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.set_meta(key::CALENDAR, calendar_json)?;
        self.set_meta(key::RULES, rules_json)
    }
}

/// How the screens load a photo file: `prefix` followed by its SHA-256 (the app registers a
/// protocol that serves `photos/<sha256>.jpg`; the CLI uses `file://` paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUrls {
    pub prefix: String,
}

impl PhotoUrls {
    pub fn url(&self, sha256: &str) -> String {
        format!("{}{sha256}", self.prefix)
    }
}

/// Where a photo's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    Waiting,
    Uploading,
    Done,
    Failed,
    /// Taken on another phone: the bytes are on the server only.
    Remote,
}

/// A photo as a screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PhotoView {
    pub id: PhotoId,
    /// `None` when the file is not on this phone.
    pub url: Option<String>,
    pub thumb_url: Option<String>,
    pub caption_zh: String,
    pub taken_at: Option<DateTime<Utc>>,
    pub upload: UploadState,
}

impl LocalStore {
    /// The view of the photo `id`, captioned `caption_zh`.
    pub fn photo_view(&self, id: PhotoId, caption_zh: &str, urls: &PhotoUrls) -> Result<PhotoView> {
        let meta = self
            .typed::<PhotoMeta>(kinds::PHOTO, &id.to_string())?
            .map(|(m, _)| m);
        let files = self.photo_files();
        let local = |sha: &str| files.exists(sha).then(|| urls.url(sha));
        let Some(meta) = meta else {
            return Ok(PhotoView {
                id,
                url: None,
                thumb_url: None,
                caption_zh: caption_zh.to_owned(),
                taken_at: None,
                upload: UploadState::Remote,
            });
        };
        let url = local(meta.sha256.as_str());
        let thumb_url = meta
            .thumb_sha256
            .as_ref()
            .and_then(|t| local(t.as_str()))
            .or_else(|| url.clone());
        let upload = match self.photo_status(meta.sha256.as_str())? {
            Some(PhotoStatus::Waiting) => UploadState::Waiting,
            Some(PhotoStatus::Uploading) => UploadState::Uploading,
            Some(PhotoStatus::Done) => UploadState::Done,
            Some(PhotoStatus::Failed) => UploadState::Failed,
            None if url.is_some() => UploadState::Done,
            None => UploadState::Remote,
        };
        Ok(PhotoView {
            id,
            url,
            thumb_url,
            caption_zh: caption_zh.to_owned(),
            taken_at: meta.taken_at,
            upload,
        })
    }
}

/// A refused command as the sync screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct QuarantineEntry {
    pub command_id: String,
    /// What the worker did, e.g. "入户核查（王建国）".
    pub what_zh: String,
    pub reason_zh: String,
    pub code: String,
    pub quarantined_at: String,
}

/// Which value settles a field conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ConflictChoice {
    /// The value both edits started from.
    Base,
    /// The value already on the server.
    Theirs,
    /// This phone's edit.
    Mine,
}

/// A household field two people changed differently, as the sync screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ConflictEntry {
    pub household_id: String,
    pub household_name: String,
    pub field: String,
    pub field_zh: String,
    pub base_zh: String,
    pub theirs_zh: String,
    pub mine_zh: String,
}

/// A field value in words.
fn field_value_zh(
    field: Option<yijian_core::household::HouseholdField>,
    v: &serde_json::Value,
) -> String {
    use yijian_core::case::MonitoringCategory;
    use yijian_core::household::{HouseholdField, MonitoringStatus};
    match (field, v) {
        (_, serde_json::Value::Null) => "（空）".to_owned(),
        (_, serde_json::Value::Bool(b)) => if *b { "是" } else { "否" }.to_owned(),
        (Some(HouseholdField::Category), _) => {
            serde_json::from_value::<MonitoringCategory>(v.clone())
                .map_or_else(|_| v.to_string(), |c| c.name_zh().to_owned())
        }
        (Some(HouseholdField::Monitoring), _) => {
            serde_json::from_value::<MonitoringStatus>(v.clone())
                .map_or_else(|_| v.to_string(), |m| m.name_zh().to_owned())
        }
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

impl LocalStore {
    /// The people a command is about, in words.
    fn command_what_zh(&self, command: &serde_json::Value) -> String {
        use yijian_core::protocol::{CommandBody, Wire};
        let parsed: Option<Wire<CommandBody>> = command
            .get("body")
            .and_then(|b| serde_json::from_value(b.clone()).ok());
        let head_of = |h: yijian_core::ids::HouseholdId| {
            self.household(h)
                .ok()
                .flatten()
                .and_then(|h| h.head_member().map(|m| m.name.clone()))
                .unwrap_or_default()
        };
        let applicant_of = |c: yijian_core::ids::CaseId| {
            self.typed::<yijian_core::case::Case>(kinds::CASE, &c.to_string())
                .ok()
                .flatten()
                .map(|(c, _)| c.declaration.applicant.name)
                .unwrap_or_default()
        };
        let with = |what: &str, who: String| {
            if who.is_empty() {
                what.to_owned()
            } else {
                format!("{what}（{who}）")
            }
        };
        match parsed {
            Some(Wire::Known(body)) => match body {
                CommandBody::Declare(d) => with("申报", d.applicant.name),
                CommandBody::CaseStep { case_id, step } => {
                    with(step.kind().name_zh(), applicant_of(case_id))
                }
                CommandBody::CreateHousehold(h) => with("新建农户档案", h.address),
                CommandBody::EditHousehold { household_id, .. } => {
                    with("修改农户档案", head_of(household_id))
                }
                CommandBody::SaveVisit(v) => with(v.purpose().name_zh(), head_of(v.household_id())),
                CommandBody::RecordPhoto(_) => "照片".to_owned(),
                CommandBody::SavePlan(p) => with("一户一策", head_of(p.household_id)),
                CommandBody::SaveFollowUp(f) => with("帮扶回访", head_of(f.household_id)),
                CommandBody::ResolveConflict { household_id, .. } => {
                    with("处理档案冲突", head_of(household_id))
                }
                CommandBody::PutDocument { kind, .. } => with("文档", kind),
            },
            Some(Wire::Unknown { kind, .. }) => format!("新版本的操作（{kind}）"),
            None => "无法识别的操作".to_owned(),
        }
    }

    /// The quarantine as the sync screen lists it, oldest first.
    pub fn quarantine_view(&self) -> Result<Vec<QuarantineEntry>> {
        Ok(self
            .quarantine()?
            .into_iter()
            .map(|q| QuarantineEntry {
                command_id: q.command_id.to_string(),
                what_zh: self.command_what_zh(&q.command),
                reason_zh: q.message_zh,
                code: q.code,
                quarantined_at: q.quarantined_at,
            })
            .collect())
    }

    /// Unresolved conflicts as the sync screen lists them.
    /// Settle a conflict by choosing one of its three values: what the screens offer.
    pub fn resolve_conflict_with(
        &mut self,
        household_id: HouseholdId,
        field: &str,
        choice: ConflictChoice,
    ) -> Result<CommandId> {
        let field = yijian_core::household::HouseholdField::from_key(field)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let conflict = self
            .conflicts(false)?
            .into_iter()
            .find(|c| c.household_id == household_id && c.field == field.key())
            .ok_or_else(|| Error::NotFound("这条档案冲突已经处理过了".into()))?;
        let chosen = match choice {
            ConflictChoice::Base => conflict.base,
            ConflictChoice::Theirs => conflict.theirs,
            ConflictChoice::Mine => conflict.mine,
        };
        self.resolve_conflict(household_id, field, chosen)
    }

    pub fn conflicts_view(&self) -> Result<Vec<ConflictEntry>> {
        use yijian_core::household::HouseholdField;
        Ok(self
            .conflicts(false)?
            .into_iter()
            .map(|c| {
                let field = HouseholdField::from_key(&c.field).ok();
                ConflictEntry {
                    household_id: c.household_id.to_string(),
                    household_name: self
                        .household(c.household_id)
                        .ok()
                        .flatten()
                        .and_then(|h| h.head_member().map(|m| m.name.clone()))
                        .unwrap_or_default(),
                    field_zh: field.map_or_else(|| c.field.clone(), |f| f.label_zh().to_owned()),
                    base_zh: field_value_zh(field, &c.base),
                    theirs_zh: field_value_zh(field, &c.theirs),
                    mine_zh: field_value_zh(field, &c.mine),
                    field: c.field,
                }
            })
            .collect())
    }
}

/// How urgent a clock is, as the inbox colours it (and says in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Overdue,
    DueSoon,
    OnTime,
}

/// A clock as a screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DueInfo {
    pub step: yijian_core::deadline::Step,
    pub step_zh: &'static str,
    pub due_on: NaiveDate,
    pub urgency: Urgency,
    pub label_zh: String,
    /// The due date is in a year whose holidays are not published yet.
    pub provisional: bool,
}

impl DueInfo {
    pub fn of(clock: &RunningClock, today: NaiveDate, calendar: &HolidayCalendar) -> DueInfo {
        let status = clock.status(today, calendar);
        DueInfo {
            step: clock.step,
            step_zh: clock.step.name_zh(),
            due_on: clock.due_on,
            urgency: match status {
                DeadlineStatus::Overdue { .. } => Urgency::Overdue,
                DeadlineStatus::DueSoon { .. } => Urgency::DueSoon,
                DeadlineStatus::OnTime { .. } => Urgency::OnTime,
            },
            label_zh: format!("{}{}", clock.step.name_zh(), status.label_zh()),
            provisional: !calendar
                .provisional_years(clock.anchor_on, clock.due_on)
                .is_empty(),
        }
    }
}

/// A village's name below its county, e.g. `鲁家沟镇太平村`; the code itself when unknown.
pub fn village_name(code: &str) -> String {
    let Ok(code) = DivisionCode::parse(code) else {
        return code.to_owned();
    };
    let regions = Regions::gansu();
    let Some(region) = regions.get(&code) else {
        return code.to_string();
    };
    let short = short_village(&region.name);
    match code.parent().and_then(|t| regions.get(&t)) {
        Some(township) => format!("{}{short}", township.name),
        None => short,
    }
}

/// "南川村民委员会" as people say it: "南川村" (and "…居民委员会" as "…社区").
fn short_village(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("村民委员会") {
        format!("{stem}村")
    } else if let Some(stem) = name.strip_suffix("居民委员会") {
        format!("{stem}社区")
    } else {
        name.to_owned()
    }
}

/// A division's name path without the province (`定西市安定区鲁家沟镇`).
pub fn scope_name(code: &DivisionCode) -> String {
    let regions = Regions::gansu();
    let mut names: Vec<String> = regions
        .ancestors_with_names(code)
        .into_iter()
        .filter(|r| r.code.level() != yijian_core::division::Level::Province)
        .map(|r| r.name.clone())
        .collect();
    if let Some(r) = regions.get(code) {
        names.push(r.name.clone());
    }
    if names.is_empty() {
        code.to_string()
    } else {
        names.concat()
    }
}

/// Money in fen as yuan with thousands separators: `150000` → `"1,500.00"`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_money_read_as_a_worker_reads_them() {
        assert_eq!(yuan(150_000), "1,500.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-123_456_789), "-1,234,567.89");
        assert_eq!(yuan(100_000_000), "1,000,000.00");
        let township = DivisionCode::parse("621102105").expect("code");
        assert_eq!(scope_name(&township), "定西市安定区鲁家沟镇");
        let village = Regions::gansu()
            .villages_in(&township)
            .next()
            .expect("a village")
            .code
            .clone();
        assert!(village_name(village.as_str()).starts_with("鲁家沟镇"));
        assert_eq!(short_village("南川村民委员会"), "南川村");
        assert_eq!(short_village("东关居民委员会"), "东关社区");
        assert_eq!(short_village("太平村"), "太平村");
        assert_eq!(village_name("999999999999"), "999999999999");
    }

    #[test]
    fn published_rules_replace_the_built_in_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            LocalStore::open(&dir.path().join("y.db"), &crate::fixtures::test_key()).expect("open");
        let default = store.procedure_rules().expect("rules");
        assert_eq!(default.rules, DeadlineRules::gansu());
        let mut rules = DeadlineRules::gansu();
        rules.home_verification.amount = 3;
        let calendar = serde_json::to_string(HolidayCalendar::builtin()).expect("ser");
        store
            .set_procedure_rules(&calendar, &serde_json::to_string(&rules).expect("ser"))
            .expect("set");
        assert_eq!(store.procedure_rules().expect("rules").rules, rules);
        assert!(store.set_procedure_rules("{", "{}").is_err());
    }
}
