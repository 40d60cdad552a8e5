//! The deadline job: every clock about to run out is announced to its owner, and every
//! overdue one is escalated to the level above — each exactly once.
//!
//! A run reads, from the case index, the open cases whose most urgent clock ends within one
//! working day (counted on the holiday calendar in force) and was not escalated yet (a
//! province keeps tens of thousands of escalated clocks, which need nothing more), and for each:
//! - **due soon** (at most one working day left): the owner — the role of the level that must
//!   act, at the case's division of that level — gets a text and a console notification;
//! - **overdue**: the owner is told, the level above gets a text and a notification to press
//!   for it (督办), and the case records the escalation in its history (so the phones and the
//!   resident's status page show it) and in the audit trail.
//!
//! "Exactly once" is a primary key: the notice `(case, clock, due date, kind)` is inserted in
//! the same transaction as the texts and the escalation, so a second run — or a second server
//! process running the job at the same moment — finds it and does nothing. A new due date (a
//! case returned for a new verification, the next follow-up) is a new clock and is announced
//! again. Runs take "now" as an argument, so tests drive the job across a month of days.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;
use yijian_core::case::{Case, CaseEventKind};
use yijian_core::deadline::{DeadlineStatus, Step as ClockStep, assess_within};
use yijian_core::division::DivisionCode;
use yijian_core::role::Role;
use yijian_core::validation::mask_name;

use crate::domain::cases::{CaseWrite, save_case};
use crate::domain::procedure::Procedure;
use crate::domain::resident::{date_zh, server_hlc, tell_staff, village_name};
use crate::sms::Template;
use crate::store::rows::{CaseRow, DeadlineNotice, NoticeKind};
use crate::store::tx::{AuditEntry, RecordTx};
use crate::store::{Storage, StorageError, read, write};

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Cases looked at: clocks due within the horizon or overdue, not yet escalated.
    pub examined: u32,
    pub reminded: u32,
    pub escalated: u32,
}

/// One run at `now`.
pub async fn run_once(
    storage: &dyn Storage,
    now: DateTime<Utc>,
) -> Result<RunReport, StorageError> {
    let procedure = Procedure::current(storage).await?;
    let today = yijian_core::time::china_date(now);
    let horizon = procedure.calendar.add_working_days(today, 1);
    let (rows, noticed) = read(storage, move |tx| {
        let rows = tx.clocks_to_notice(horizon)?;
        let ids: Vec<String> = rows.iter().map(|r| r.case_id.clone()).collect();
        let noticed = tx.notice_keys_of(&ids)?;
        Ok((rows, noticed))
    })
    .await?;
    let mut report = RunReport::default();
    for row in rows {
        report.examined += 1;
        // A province has tens of thousands of overdue clocks at any time; each is noticed once,
        // so most runs find nothing new. Skip those here instead of opening a transaction per
        // case (`notice_case` still decides, inside its transaction, for the rest).
        if let Some(key) = notice_due(&row, today, &procedure)
            && noticed.contains(&key)
        {
            continue;
        }
        let p = procedure.clone();
        let id = row.case_id.clone();
        match write(storage, move |tx| notice_case(tx, &id, now, &p)).await? {
            Some(NoticeKind::DueSoon) => report.reminded += 1,
            Some(NoticeKind::Overdue) => report.escalated += 1,
            None => {}
        }
    }
    if report.reminded + report.escalated > 0 {
        tracing::info!(?report, "deadline job");
    }
    Ok(report)
}

/// The notice `row`'s clock calls for today, if any, as (case, step, due date, kind).
fn notice_due(
    row: &CaseRow,
    today: NaiveDate,
    procedure: &Procedure,
) -> Option<(String, ClockStep, NaiveDate, NoticeKind)> {
    // A clock nobody owns cannot be announced to anyone (and would be looked at again on
    // every run).
    let (step, due, _) = (row.clock_step?, row.clock_due_on?, row.clock_owner?);
    if !row.open || step.is_minimum_period() {
        return None;
    }
    let kind = match assess_within(due, today, &procedure.calendar, 1) {
        DeadlineStatus::OnTime { .. } => return None,
        DeadlineStatus::DueSoon { .. } => NoticeKind::DueSoon,
        DeadlineStatus::Overdue { .. } => NoticeKind::Overdue,
    };
    Some((row.case_id.clone(), step, due, kind))
}

/// Announce or escalate one case's clock if it is due; what was done, if anything.
fn notice_case(
    tx: &mut dyn RecordTx,
    case_id: &str,
    now: DateTime<Utc>,
    procedure: &Procedure,
) -> Result<Option<NoticeKind>, StorageError> {
    let today = yijian_core::time::china_date(now);
    // Read again inside the transaction: the case may have moved since the list was read.
    let Some(row) = tx.case_row(case_id)? else {
        return Ok(None);
    };
    let (Some(owner), Some((_, step, due, kind))) =
        (row.clock_owner, notice_due(&row, today, procedure))
    else {
        return Ok(None);
    };
    let village = DivisionCode::parse(&row.village)
        .map_err(|e| StorageError::Corrupt(format!("case {case_id} village: {e}")))?;
    let above = owner.parent();
    let notice = DeadlineNotice {
        case_id: case_id.to_owned(),
        village: row.village.clone(),
        step,
        due_on: due,
        kind,
        owner,
        escalated_to: (kind == NoticeKind::Overdue).then_some(above).flatten(),
        at: now,
    };
    if !tx.notice_once(&notice)? {
        return Ok(None);
    }
    let name = mask_name(&row.applicant_name);
    let place = village_name(&village);
    let due_text = date_zh(due);
    let params = [
        ("village", place.as_str()),
        ("name", name.as_str()),
        ("step", step.name_zh()),
        ("due", due_text.as_str()),
    ];
    let key = format!(
        "{}:{due}",
        serde_json::to_value(step)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    if let Some(scope) = village.at_level(owner) {
        let template = match kind {
            NoticeKind::DueSoon => Template::DueSoon,
            NoticeKind::Overdue => Template::Overdue,
        };
        tell_staff(
            tx,
            Role::for_level(owner),
            &scope,
            template,
            &params,
            case_id,
            &key,
            now,
        )?;
    }
    if kind == NoticeKind::Overdue
        && let Some(level) = above
        && let Some(scope) = village.at_level(level)
    {
        tell_staff(
            tx,
            Role::for_level(level),
            &scope,
            Template::Escalated,
            &params,
            case_id,
            &key,
            now,
        )?;
        if let Some(body) = tx
            .get(yijian_core::protocol::kinds::CASE, case_id)?
            .and_then(|r| r.body)
        {
            let mut case: Case = serde_json::from_str(&body)?;
            save_case(
                tx,
                &mut case,
                &CaseWrite {
                    village: &village,
                    hlc: server_hlc(now),
                    now,
                    today,
                    rules: &procedure.rules,
                    calendar: &procedure.calendar,
                    event: Some((
                        CaseEventKind::Escalated { to: level },
                        Some("系统（逾期督办）".to_owned()),
                        Some(format!("“{}”应于{due_text}前办结", step.name_zh())),
                    )),
                    work_done_on: None,
                },
            )?;
        }
        tx.audit(&AuditEntry {
            at: now,
            user_id: None,
            device_id: None,
            command_id: None,
            action: "escalate".to_owned(),
            kind: yijian_core::protocol::kinds::CASE.to_owned(),
            record_id: case_id.to_owned(),
            village: row.village.clone(),
            detail: serde_json::json!({"step": step, "due_on": due, "owner": owner, "to": level})
                .to_string(),
        })?;
    }
    Ok(Some(kind))
}

/// Run the job every `interval` until `shutdown` turns true.
pub async fn run(
    storage: Arc<dyn Storage>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    // The month whose draw this process has made: a past month's closed cases do not change
    // (a case is closed on the server's date), so the draw, which reads every case of the
    // province, runs once a month here instead of on every run.
    let mut drawn: Option<NaiveDate> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = run_once(&*storage, Utc::now()).await {
            tracing::warn!(error = %e, "deadline job failed; will run again");
        }
        // Last month's 常态抽查复核: drawn once per county, whichever process gets there first.
        let now = Utc::now();
        let month = crate::domain::spot_checks::previous_month(yijian_core::time::china_date(now));
        if drawn != Some(month) {
            match crate::domain::spot_checks::run_month(&*storage, month, now).await {
                Ok(_) => drawn = Some(month),
                Err(e) => tracing::warn!(error = %e, "spot check draw failed; will run again"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yijian_core::division::Level;
    use yijian_core::workflow::Stage;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("day")
    }

    fn overdue_row(owner: Option<Level>) -> CaseRow {
        CaseRow {
            stage: Stage::Declared,
            declared_on: day(1) - chrono::Duration::days(11),
            clock_step: Some(ClockStep::Accept),
            clock_owner: owner,
            clock_due_on: Some(day(1)),
            ..CaseRow::sample()
        }
    }

    #[test]
    fn an_overdue_clock_is_noticed_only_when_someone_owns_it() {
        let procedure = Procedure::default();
        let owned = notice_due(&overdue_row(Some(Level::Township)), day(7), &procedure);
        assert_eq!(
            owned,
            Some((
                "c1".to_owned(),
                ClockStep::Accept,
                day(1),
                NoticeKind::Overdue
            ))
        );
        // Without an owner there is nobody to tell: the run passes over it instead of opening
        // a transaction for it on every run.
        assert_eq!(notice_due(&overdue_row(None), day(7), &procedure), None);
    }
}
