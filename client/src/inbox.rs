//! The worker's inbox: every case on the phone, most urgent first.
//!
//! A township's phone can hold 30,000 cases, and the list must scroll smoothly and answer a
//! search as the worker types. Decoding every case body per keystroke would not do, so the
//! inbox is an in-memory index built once from the records ([`InboxIndex`]) and rebuilt only
//! when the store has been written since ([`LocalStore::write_count`]) or the day changed
//! (urgency depends on today). A page for the virtualised list is then a filter and a slice.
//!
//! Order: overdue cases first (the longest overdue at the top), then cases due soon, then the
//! rest by due date, then cases no clock runs on (newest declaration first).

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yijian_core::case::Case;
use yijian_core::clocks::{ClockFacts, most_urgent};
use yijian_core::workflow::Stage;

use crate::error::Result;
use crate::store::LocalStore;
use crate::views::{DueInfo, ProcedureRules, Urgency, village_name};
use yijian_core::protocol::kinds;

/// One row of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct InboxRow {
    pub case_id: String,
    pub household_id: Option<String>,
    pub name: String,
    pub id_last4: String,
    pub door_plate: Option<String>,
    pub address: String,
    pub village_name: String,
    pub stage: Stage,
    pub stage_zh: &'static str,
    pub source_zh: &'static str,
    pub risks_zh: Vec<&'static str>,
    pub receipt_no: Option<String>,
    pub due: Option<DueInfo>,
    pub pending: bool,
}

/// Which cases a page lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ts_rs::TS)]
pub struct InboxQuery {
    /// A name fragment, the last 4 ID characters, a door plate or receipt fragment; "" = all.
    #[serde(default)]
    pub search: String,
    /// `all`, `overdue`, `due_soon` or `stage:<stage>`.
    #[serde(default = "all")]
    pub filter: String,
    #[serde(default)]
    pub offset: usize,
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn all() -> String {
    "all".into()
}

fn default_limit() -> usize {
    50
}

impl Default for InboxQuery {
    fn default() -> Self {
        InboxQuery {
            search: String::new(),
            filter: all(),
            offset: 0,
            limit: default_limit(),
        }
    }
}

/// Cases per stage, for the chips above the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct StageCount {
    pub stage: Stage,
    pub stage_zh: &'static str,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct InboxCounts {
    pub overdue: usize,
    pub due_soon: usize,
    pub by_stage: Vec<StageCount>,
}

/// One page of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct InboxPage {
    pub today: NaiveDate,
    pub total: usize,
    pub matching: usize,
    pub counts: InboxCounts,
    pub offset: usize,
    pub rows: Vec<InboxRow>,
}

struct Entry {
    row: InboxRow,
    /// Name, door plate, receipt number and address, for substring search.
    haystack: String,
    sort: (u8, NaiveDate, Reverse<DateTime<Utc>>, String),
}

/// The inbox of one store on one day.
pub struct InboxIndex {
    built_at_write: u64,
    today: NaiveDate,
    entries: Vec<Entry>,
    counts: InboxCounts,
}

impl std::fmt::Debug for InboxIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxIndex")
            .field("today", &self.today)
            .field("entries", &self.entries.len())
            .finish()
    }
}

#[derive(Deserialize)]
struct PlanFacts {
    case_id: String,
    made_on: NaiveDate,
}

#[derive(Deserialize)]
struct FollowUpFacts {
    case_id: String,
    due_on: NaiveDate,
    done_on: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct HouseholdFacts {
    door_plate: Option<String>,
}

/// How a case's assistance phase stands: its plan's date and follow-up schedule.
#[derive(Debug, Clone, Copy, Default)]
struct AssistanceFacts {
    plan_made_on: Option<NaiveDate>,
    next_follow_up_due: Option<NaiveDate>,
    last_follow_up_done: Option<NaiveDate>,
}

/// The assistance facts of every case, by case id.
fn assistance_facts(store: &LocalStore) -> Result<HashMap<String, AssistanceFacts>> {
    let mut facts: HashMap<String, AssistanceFacts> = HashMap::new();
    store.for_each_body(kinds::PLAN, |_, body| {
        if let Ok(p) = serde_json::from_str::<PlanFacts>(body) {
            let e = facts.entry(p.case_id).or_default();
            e.plan_made_on = Some(e.plan_made_on.map_or(p.made_on, |d| d.min(p.made_on)));
        }
    })?;
    store.for_each_body(kinds::FOLLOW_UP, |_, body| {
        if let Ok(f) = serde_json::from_str::<FollowUpFacts>(body) {
            let e = facts.entry(f.case_id).or_default();
            match f.done_on {
                Some(done) => {
                    e.last_follow_up_done =
                        Some(e.last_follow_up_done.map_or(done, |d| d.max(done)));
                }
                None => {
                    e.next_follow_up_due =
                        Some(e.next_follow_up_due.map_or(f.due_on, |d| d.min(f.due_on)));
                }
            }
        }
    })?;
    Ok(facts)
}

/// What every entry of one build shares.
struct BuildContext<'a> {
    door_plates: &'a HashMap<String, String>,
    facts: &'a HashMap<String, AssistanceFacts>,
    pending: &'a std::collections::HashSet<String>,
    today: NaiveDate,
    procedure: &'a ProcedureRules,
}

impl InboxIndex {
    /// Build the index from every case on the device.
    pub fn build(store: &LocalStore, today: NaiveDate) -> Result<InboxIndex> {
        let built_at_write = store.write_count();
        let procedure = store.procedure_rules()?;
        let mut door_plates: HashMap<String, String> = HashMap::new();
        store.for_each_body(kinds::HOUSEHOLD, |id, body| {
            if let Ok(HouseholdFacts {
                door_plate: Some(plate),
            }) = serde_json::from_str(body)
            {
                door_plates.insert(id.to_owned(), plate);
            }
        })?;
        let facts = assistance_facts(store)?;
        let pending = store.pending_ids(kinds::CASE)?;
        let ctx = BuildContext {
            door_plates: &door_plates,
            facts: &facts,
            pending: &pending,
            today,
            procedure: &procedure,
        };
        let mut entries = Vec::new();
        let mut malformed = 0usize;
        store.for_each_record(
            kinds::CASE,
            |id, village, body| match serde_json::from_str::<Case>(body) {
                Ok(case) => entries.push(entry(id, village, &case, &ctx)),
                Err(_) => malformed += 1,
            },
        )?;
        if malformed > 0 {
            tracing::warn!(
                malformed,
                "cases the inbox could not read (newer app version?)"
            );
        }
        entries.sort_by(|a, b| a.sort.cmp(&b.sort));
        let counts = count(&entries);
        Ok(InboxIndex {
            built_at_write,
            today,
            entries,
            counts,
        })
    }

    /// Whether the index still describes `store` on `today`.
    pub fn is_current(&self, store: &LocalStore, today: NaiveDate) -> bool {
        self.built_at_write == store.write_count() && self.today == today
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One page of the cases matching `query`.
    pub fn page(&self, query: &InboxQuery) -> InboxPage {
        let search = normalise_search(&query.search);
        let stage_filter: Option<Stage> = query
            .filter
            .strip_prefix("stage:")
            .and_then(|s| serde_json::from_value(serde_json::Value::String(s.to_owned())).ok());
        let matches = |e: &&Entry| {
            let by_filter = match query.filter.as_str() {
                "overdue" => e
                    .row
                    .due
                    .as_ref()
                    .is_some_and(|d| d.urgency == Urgency::Overdue),
                "due_soon" => e
                    .row
                    .due
                    .as_ref()
                    .is_some_and(|d| d.urgency == Urgency::DueSoon),
                f if f.starts_with("stage:") => Some(e.row.stage) == stage_filter,
                _ => true,
            };
            by_filter && (search.is_empty() || e.matches(&search))
        };
        let limit = query.limit.clamp(1, 500);
        let mut matching = 0usize;
        let mut rows = Vec::with_capacity(limit);
        for e in self.entries.iter().filter(matches) {
            if matching >= query.offset && rows.len() < limit {
                rows.push(e.row.clone());
            }
            matching += 1;
        }
        InboxPage {
            today: self.today,
            total: self.entries.len(),
            matching,
            counts: self.counts.clone(),
            offset: query.offset,
            rows,
        }
    }
}

impl Entry {
    fn matches(&self, search: &str) -> bool {
        self.haystack.contains(search)
            || (search.chars().count() == 4 && self.row.id_last4 == search)
    }
}

/// Trimmed, full-width digits and letters made ASCII, `x` upper-cased (ID numbers end in X).
fn normalise_search(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            other => other,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn entry(id: &str, village: &str, case: &Case, ctx: &BuildContext<'_>) -> Entry {
    let d = &case.declaration;
    let door_plates = ctx.door_plates;
    let (today, procedure) = (ctx.today, ctx.procedure);
    let pending = ctx.pending.contains(id);
    let assistance = ctx.facts.get(id).copied().unwrap_or_default();
    let household_id = d.household_id.map(|h| h.to_string());
    let door_plate = household_id
        .as_ref()
        .and_then(|h| door_plates.get(h))
        .cloned();
    let facts = ClockFacts {
        declared_on: case.declared_on(),
        plan_made_on: assistance.plan_made_on,
        next_follow_up_due: assistance.next_follow_up_due,
        last_follow_up_done: assistance.last_follow_up_done,
    };
    let due = most_urgent(&case.state, &facts, &procedure.rules, &procedure.calendar)
        .map(|c| DueInfo::of(&c, today, &procedure.calendar));
    let id_number = normalise_search(&d.applicant.id_number);
    let id_last4: String = id_number
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let bucket = match due.as_ref().map(|d| d.urgency) {
        Some(Urgency::Overdue) => 0,
        Some(Urgency::DueSoon) => 1,
        Some(Urgency::OnTime) => 2,
        None => 3,
    };
    let sort = (
        bucket,
        due.as_ref().map_or(NaiveDate::MAX, |d| d.due_on),
        Reverse(d.declared_at),
        id.to_owned(),
    );
    let haystack = normalise_search(&format!(
        "{}\u{1}{}\u{1}{}\u{1}{}",
        d.applicant.name,
        door_plate.as_deref().unwrap_or(""),
        case.receipt_no.as_deref().unwrap_or(""),
        d.applicant.address
    ));
    Entry {
        row: InboxRow {
            case_id: id.to_owned(),
            household_id,
            name: d.applicant.name.clone(),
            id_last4,
            door_plate,
            address: d.applicant.address.clone(),
            village_name: village_name(village),
            stage: case.state.stage,
            stage_zh: case.state.stage.name_zh(),
            source_zh: d.source.name_zh(),
            risks_zh: d.risk_types.iter().map(|r| r.name_zh()).collect(),
            receipt_no: case.receipt_no.clone(),
            due,
            pending,
        },
        haystack,
        sort,
    }
}

fn count(entries: &[Entry]) -> InboxCounts {
    let mut by_stage: Vec<StageCount> = Vec::new();
    let (mut overdue, mut due_soon) = (0, 0);
    for e in entries {
        match e.row.due.as_ref().map(|d| d.urgency) {
            Some(Urgency::Overdue) => overdue += 1,
            Some(Urgency::DueSoon) => due_soon += 1,
            _ => {}
        }
        match by_stage.iter_mut().find(|s| s.stage == e.row.stage) {
            Some(s) => s.count += 1,
            None => by_stage.push(StageCount {
                stage: e.row.stage,
                stage_zh: e.row.stage.name_zh(),
                count: 1,
            }),
        }
    }
    // In procedure order, as the chips read left to right.
    by_stage.sort_by_key(|s| Stage::ALL.iter().position(|x| *x == s.stage));
    InboxCounts {
        overdue,
        due_soon,
        by_stage,
    }
}

/// The inbox of a store, rebuilt when it is stale.
#[derive(Debug, Default)]
pub struct InboxCache {
    index: Option<InboxIndex>,
}

impl InboxCache {
    pub fn page(
        &mut self,
        store: &LocalStore,
        today: NaiveDate,
        query: &InboxQuery,
    ) -> Result<InboxPage> {
        let stale = self
            .index
            .as_ref()
            .is_none_or(|i| !i.is_current(store, today));
        if stale {
            self.index = Some(InboxIndex::build(store, today)?);
        }
        match &self.index {
            Some(index) => Ok(index.page(query)),
            None => Ok(InboxIndex::build(store, today)?.page(query)),
        }
    }
}

#[cfg(test)]
mod tests;
