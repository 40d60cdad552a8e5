//! The server's index of cases: one row per case, kept in the same transaction as every
//! write of the case, its plan and its follow-ups.
//!
//! Lists, counts and charts of the console, the duplicate check of the public form, the
//! resident's status page and the deadline job all ask questions across many cases ("every
//! open case in this county due by Friday", "an open case for this ID number"). Decoding every
//! case body for each of them would not scale to a province, so [`CaseRow`] keeps the answers
//! in columns. It is derived, never edited: [`save_case`] writes the case record, recomputes
//! its row (with its most urgent clock, from [`yijian_core::clocks`]), appends the case's
//! history, and logs the clocks the change completed ([`StepDone`]) for the on-time rates.

use chrono::{DateTime, NaiveDate, Utc};
use yijian_core::calendar::HolidayCalendar;
use yijian_core::case::{Case, CaseEvent, CaseEventKind};
use yijian_core::clocks::{ClockFacts, running_clocks};
use yijian_core::deadline::DeadlineRules;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::protocol::kinds;
use yijian_core::support::Plan;
use yijian_core::workflow::Stage;

use crate::store::StorageError;
use crate::store::rows::{CaseRow, StepDone};
use crate::store::tx::RecordTx;

/// Whether a case in `stage` is still in the procedure.
pub fn is_open(stage: Stage) -> bool {
    !matches!(
        stage,
        Stage::NotQualifiedNotified
            | Stage::RejectionUpheld
            | Stage::RiskEliminated
            | Stage::Closed
    )
}

/// The clock facts of a case, read from its plan and follow-up index.
pub fn clock_facts(tx: &mut dyn RecordTx, case: &Case) -> Result<ClockFacts, StorageError> {
    let plan_made_on = match case.state.plan {
        Some(plan_id) => tx
            .get(kinds::PLAN, &plan_id.to_string())?
            .and_then(|r| r.body)
            .and_then(|b| serde_json::from_str::<Plan>(&b).ok())
            .map(|p| p.made_on),
        None => None,
    };
    let follow_ups = tx.follow_up_facts(&case.id().to_string())?;
    Ok(ClockFacts {
        declared_on: case.declared_on(),
        plan_made_on,
        next_follow_up_due: follow_ups.next_due,
        last_follow_up_done: follow_ups.last_done,
    })
}

/// The index row of a case, as written by `w`.
pub fn row_of(
    case: &Case,
    facts: &ClockFacts,
    previous: Option<&CaseRow>,
    w: &CaseWrite<'_>,
) -> CaseRow {
    let (village, today, now) = (w.village.as_str(), w.today, w.now);
    let d = &case.declaration;
    let clock = running_clocks(&case.state, facts, w.rules, w.calendar)
        .into_iter()
        .next();
    let started = !matches!(case.state.stage, Stage::Declared | Stage::Accepted);
    let first_visit_on = previous
        .and_then(|p| p.first_visit_on)
        .or(case.state.verified_on)
        .or_else(|| (started && case.state.verification_visit.is_some()).then_some(today));
    let open = is_open(case.state.stage);
    CaseRow {
        case_id: case.id().to_string(),
        village: village.to_owned(),
        household_id: d.household_id.map(|h| h.to_string()),
        stage: case.state.stage,
        open,
        source: d.source,
        green_channel: case.state.green_channel,
        risk_types: d.risk_types.clone(),
        applicant_name: d.applicant.name.clone(),
        id_number: d.applicant.id_number.clone(),
        phone: d.applicant.phone.clone(),
        receipt_no: case.receipt_no.clone(),
        declared_at: d.declared_at,
        declared_on: case.declared_on(),
        first_visit_on,
        verified_on: case.state.verified_on,
        approved_on: case.state.approved_on,
        closed_on: if open {
            None
        } else {
            previous.and_then(|p| p.closed_on).or(Some(today))
        },
        plan_made_on: facts.plan_made_on,
        clock_step: clock.map(|c| c.step),
        clock_owner: clock.map(|c| c.owner),
        clock_due_on: clock.map(|c| c.due_on),
        updated_at: now,
    }
}

/// What the caller knows about the write of a case.
#[derive(Debug, Clone)]
pub struct CaseWrite<'a> {
    pub village: &'a DivisionCode,
    pub hlc: Hlc,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    pub rules: &'a DeadlineRules,
    pub calendar: &'a HolidayCalendar,
    /// The history entry for this write (`None`: a re-index, nothing happened to the case).
    pub event: Option<(CaseEventKind, Option<String>, Option<String>)>,
    /// The day the work this write records was done, when that is not today (a visit
    /// finalised offline): a completed clock is judged by it.
    pub work_done_on: Option<NaiveDate>,
}

/// Write a case record with its history entry, then its index row and the clocks it
/// completed.
pub fn save_case(
    tx: &mut dyn RecordTx,
    case: &mut Case,
    w: &CaseWrite<'_>,
) -> Result<(), StorageError> {
    if let Some((kind, by, note)) = &w.event {
        case.history.push(CaseEvent {
            at: w.now,
            kind: *kind,
            stage: case.state.stage,
            by: by.clone(),
            note: note.clone(),
        });
    }
    let text = serde_json::to_string(case)?;
    tx.put(
        kinds::CASE,
        &case.id().to_string(),
        w.village.as_str(),
        Some(&text),
        w.hlc,
        w.now,
    )?;
    index(tx, case, w)
}

/// Recompute a case's index row from the stored record (its plan or follow-ups changed, or
/// the rules did); the record itself is not written.
pub fn reindex_case(
    tx: &mut dyn RecordTx,
    case_id: &str,
    w: &CaseWrite<'_>,
) -> Result<(), StorageError> {
    let Some(body) = tx.get(kinds::CASE, case_id)?.and_then(|r| r.body) else {
        return Ok(());
    };
    let case: Case = serde_json::from_str(&body)
        .map_err(|e| StorageError::Corrupt(format!("case {case_id}: {e}")))?;
    index(
        tx,
        &case,
        &CaseWrite {
            event: None,
            ..w.clone()
        },
    )
}

fn index(tx: &mut dyn RecordTx, case: &Case, w: &CaseWrite<'_>) -> Result<(), StorageError> {
    let id = case.id().to_string();
    let previous = tx.case_row(&id)?;
    let facts = clock_facts(tx, case)?;
    let row = row_of(case, &facts, previous.as_ref(), w);
    // The clock the index had as most urgent, and that no longer runs with that due date, was
    // completed by this write (a new follow-up date means the previous follow-up was done).
    // A re-index (no event: new rules, a repair) completes nothing.
    if let Some(prev) = previous.as_ref().filter(|_| w.event.is_some())
        && let (Some(step), Some(due_on)) = (prev.clock_step, prev.clock_due_on)
    {
        let still = running_clocks(&case.state, &facts, w.rules, w.calendar)
            .iter()
            .any(|c| c.step == step && c.due_on == due_on);
        if !still {
            tx.log_step(&StepDone {
                case_id: id.clone(),
                village: w.village.to_string(),
                step,
                due_on,
                done_on: w.work_done_on.map_or(w.today, |d| d.min(w.today)),
            })?;
        }
    }
    tx.index_case(&row)
}

/// Recompute the index row of every open case: the calendar or the rules changed, so their
/// due dates did. Completes no clock (see [`index`]).
pub fn reindex_open(
    tx: &mut dyn RecordTx,
    rules: &DeadlineRules,
    calendar: &HolidayCalendar,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let open = tx.case_rows(&crate::store::rows::CaseQuery {
        // Yijian serves Gansu: every case is within the province.
        scope: "62".into(),
        open_only: true,
        due_by: None,
        limit: None,
    })?;
    for row in &open {
        let village = DivisionCode::parse(&row.village)
            .map_err(|e| StorageError::Corrupt(format!("case {}: {e}", row.case_id)))?;
        reindex_case(
            tx,
            &row.case_id,
            &CaseWrite {
                village: &village,
                hlc: crate::domain::resident::server_hlc(now),
                now,
                today: yijian_core::time::china_date(now),
                rules,
                calendar,
                event: None,
                work_done_on: None,
            },
        )?;
    }
    Ok(open.len())
}
