//! 常态抽查复核: each month every county re-checks a share of the cases it closed the month
//! before as not qualified, rejected or risk-eliminated, so that a household wrongly left out
//! or let go is found again.
//!
//! The deadline job draws the sample ([`run_month`]). The draw is seeded by the county and the
//! month, so it is reproducible, and the `(county, month)` row is inserted in the same
//! transaction as the sample: however many server processes run the job, a county's month is
//! drawn once. Each drawn case gets a return visit (a follow-up record, which the app already
//! does for closed cases) assigned to a grid worker who did not work on the case. When that visit
//! comes back with risks still present ([`on_follow_up_done`]), the household is taken up again
//! as a lead.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use yijian_core::case::{Case, CaseEventKind, CaseSource, Declaration};
use yijian_core::division::{DivisionCode, Level};
use yijian_core::ids::{CaseId, FollowUpId};
use yijian_core::protocol::kinds;
use yijian_core::role::Role;
use yijian_core::support::FollowUp;
use yijian_core::workflow::Stage;

use crate::domain::apply::{ApplySettings, receipt_number};
use crate::domain::cases::{CaseWrite, save_case};
use crate::domain::procedure::Procedure;
use crate::domain::resident::{server_hlc, tell_staff, village_name};
use crate::sms::Template;
use crate::store::rows::{CaseRow, SpotCheckMonth, SpotCheckRow};
use crate::store::tx::RecordTx;
use crate::store::{Storage, StorageError, read, write};

/// Days the re-check visit is due after the draw.
const DUE_DAYS: u64 = 20;

/// Stages a case can be closed in that the spot check re-examines.
fn eligible(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::NotQualifiedNotified
            | Stage::Rejected
            | Stage::RejectionUpheld
            | Stage::RiskEliminated
    )
}

/// `2026-11`.
pub fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The month before the one `today` is in.
pub fn previous_month(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first.pred_opt().unwrap_or(first)
}

/// A reproducible seed of a county's month (FNV-1a of `county:month`).
pub fn seed_of(county: &str, month: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{county}:{month}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The next number of a seeded xorshift sequence.
fn next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Draw every county's sample for the month `month_of` is in (see the module docs); the
/// number of cases drawn.
pub async fn run_month(
    storage: &dyn Storage,
    month_of: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let month = month_key(month_of);
    let first = month_of.with_day(1).unwrap_or(month_of);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let rows = read(storage, move |tx| {
        Ok(tx
            .cases_closed_between(first, next)?
            .into_iter()
            .filter(|r| eligible(r.stage))
            .collect::<Vec<_>>())
    })
    .await?;
    let mut counties: std::collections::BTreeMap<String, Vec<CaseRow>> = Default::default();
    for r in rows {
        if let Some(c) = DivisionCode::parse(&r.village)
            .ok()
            .and_then(|v| v.at_level(Level::County))
        {
            counties.entry(c.to_string()).or_default().push(r);
        }
    }
    let procedure = Procedure::current(storage).await?;
    let mut drawn = 0;
    for (county, cases) in counties {
        let p = procedure.clone();
        let m = month.clone();
        drawn += write(storage, move |tx| draw(tx, &county, &m, &cases, &p, now)).await?;
    }
    Ok(drawn)
}

fn draw(
    tx: &mut dyn RecordTx,
    county: &str,
    month: &str,
    cases: &[CaseRow],
    procedure: &Procedure,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let mut sorted: Vec<&CaseRow> = cases.iter().collect();
    sorted.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let percent = procedure.alert_rules.spot_check_percent;
    let n = sorted.len();
    let take = (n * percent as usize).div_ceil(100).min(n);
    let seed = seed_of(county, month);
    let claimed = tx.claim_spot_check_month(&SpotCheckMonth {
        county: county.to_owned(),
        month: month.to_owned(),
        seed,
        percent,
        eligible: i64::try_from(n).unwrap_or(i64::MAX),
        drawn: i64::try_from(take).unwrap_or(i64::MAX),
        drawn_at: now,
    })?;
    if !claimed {
        return Ok(0);
    }
    // A seeded Fisher–Yates shuffle of the cases in id order: the same county and month always
    // give the same sample.
    let mut state = seed | 1;
    for i in (1..sorted.len()).rev() {
        let j = usize::try_from(next(&mut state) % (i as u64 + 1)).unwrap_or(0);
        sorted.swap(i, j);
    }
    let today = yijian_core::time::china_date(now);
    for row in sorted.into_iter().take(take) {
        let Some(household) = row.household_id.as_deref() else {
            continue;
        };
        let village = DivisionCode::parse(&row.village)
            .map_err(|e| StorageError::Corrupt(format!("case village: {e}")))?;
        // Whoever worked on the case does not re-check it.
        let worked: std::collections::BTreeSet<String> = tx
            .audit_of(kinds::CASE, &row.case_id)?
            .into_iter()
            .filter_map(|a| a.user_id)
            .collect();
        let mut candidates: Vec<_> = tx
            .users_with(Role::VillageWorker, &village)?
            .into_iter()
            .filter(|u| !worked.contains(&u.id.to_string()))
            .collect();
        candidates.sort_by(|a, b| a.login.cmp(&b.login));
        let assignee = (!candidates.is_empty()).then(|| {
            let i = usize::try_from(next(&mut state) % candidates.len() as u64).unwrap_or(0);
            candidates.swap_remove(i)
        });
        let case_id: CaseId = row
            .case_id
            .parse()
            .map_err(|e| StorageError::Corrupt(format!("case id: {e}")))?;
        let household_id = household
            .parse()
            .map_err(|e| StorageError::Corrupt(format!("household id: {e}")))?;
        let due = today
            .checked_add_days(chrono::Days::new(DUE_DAYS))
            .unwrap_or(today);
        // A return visit already scheduled (常态化关注) is the re-check: the phone does the
        // earliest open one, and a second would leave the routine schedule without its next.
        let scheduled = tx
            .records_in_village(kinds::FOLLOW_UP, village.as_str())?
            .into_iter()
            .filter_map(|r| r.body)
            .filter_map(|b| serde_json::from_str::<FollowUp>(&b).ok())
            .filter(|f| f.case_id == case_id && f.done_on.is_none())
            .min_by_key(|f| f.due_on);
        let (fid, due) = match scheduled {
            Some(f) => (f.id.to_string(), f.due_on),
            None => {
                let f = FollowUp::scheduled(FollowUpId::new(), case_id, household_id, due);
                let fid = f.id.to_string();
                tx.put(
                    kinds::FOLLOW_UP,
                    &fid,
                    village.as_str(),
                    Some(&serde_json::to_string(&f)?),
                    server_hlc(now),
                    now,
                )?;
                tx.index_follow_up(&fid, &row.case_id, due, None)?;
                (fid, due)
            }
        };
        tx.put_spot_check(&SpotCheckRow {
            county: county.to_owned(),
            month: month.to_owned(),
            case_id: row.case_id.clone(),
            village: row.village.clone(),
            closed_stage: row.stage,
            follow_up_id: fid,
            assigned_to: assignee.as_ref().map(|u| u.id.to_string()),
            assigned_name: assignee.as_ref().map(|u| u.name.clone()),
            result: "pending".to_owned(),
            finding: None,
            done_on: None,
            new_case_id: None,
        })?;
        if let Some(u) = &assignee {
            let place = village_name(&village);
            let name = yijian_core::validation::mask_name(&row.applicant_name);
            let text = format!(
                "常态抽查复核：请于{}前回访{}{}户（已{}），在手机上完成回访。",
                crate::domain::resident::date_zh(due),
                place,
                name,
                stage_zh(row.stage)
            );
            tx.enqueue_sms(
                &crate::store::rows::NewSms {
                    out_id: crate::sms::out_id(&["spot-check", &row.case_id, month, &u.login]),
                    phone: u.login.clone(),
                    template: "spot_check".to_owned(),
                    params: serde_json::json!({}),
                    text_zh: text,
                    case_id: Some(row.case_id.clone()),
                    created_at: now,
                },
                now,
            )?;
        }
    }
    tracing::info!(
        county,
        month,
        eligible = n,
        drawn = take,
        "spot check drawn"
    );
    Ok(take)
}

fn stage_zh(stage: Stage) -> &'static str {
    match stage {
        Stage::RiskEliminated => "风险消除",
        Stage::Rejected | Stage::RejectionUpheld => "未获批准",
        _ => "核实不符合条件",
    }
}

/// A return visit was recorded: if it is a spot check's, keep its result, and when the worker
/// found risks still there (the app's note says 仍存在), take the household up again as a lead.
pub fn on_follow_up_done(
    tx: &mut dyn RecordTx,
    follow_up: &FollowUp,
    settings: &ApplySettings,
) -> Result<(), StorageError> {
    let Some(done_on) = follow_up.done_on else {
        return Ok(());
    };
    let Some(mut check) = tx.spot_check_by_follow_up(&follow_up.id.to_string())? else {
        return Ok(());
    };
    if check.result != "pending" {
        return Ok(());
    }
    let differs = follow_up.note.contains("仍存在");
    check.result = if differs { "differs" } else { "same" }.to_owned();
    check.finding = Some(follow_up.note.clone());
    check.done_on = Some(done_on);
    if differs && let Some(body) = tx.get(kinds::CASE, &check.case_id)?.and_then(|r| r.body) {
        let old: Case = serde_json::from_str(&body)?;
        let village = old.village().clone();
        let mut case = Case::declared(Declaration {
            case_id: CaseId::new(),
            household_id: old.declaration.household_id,
            village: village.clone(),
            source: CaseSource::WorkerDiscovery,
            risk_types: old.declaration.risk_types.clone(),
            description: format!("常态抽查复核发现：{}", follow_up.note),
            applicant: old.declaration.applicant.clone(),
            proxy: None,
            declared_at: settings.now,
        });
        let receipt = receipt_number(&village, tx.next_receipt(village.as_str())?);
        case.receipt_no = Some(receipt.clone());
        let new_id = case.id().to_string();
        save_case(
            tx,
            &mut case,
            &CaseWrite {
                village: &village,
                hlc: server_hlc(settings.now),
                now: settings.now,
                today: settings.today,
                rules: &settings.rules,
                calendar: &settings.calendar,
                event: Some((
                    CaseEventKind::Declared,
                    Some("常态抽查复核".to_owned()),
                    Some(follow_up.note.clone()),
                )),
                work_done_on: None,
            },
        )?;
        let name = yijian_core::validation::mask_name(&case.declaration.applicant.name);
        let place = village_name(&village);
        let risks = case
            .declaration
            .risk_types
            .iter()
            .map(|r| r.name_zh())
            .collect::<Vec<_>>()
            .join("、");
        let params = [
            ("village", place.as_str()),
            ("name", name.as_str()),
            ("source", "常态抽查复核"),
            ("risks", risks.as_str()),
            ("receipt", receipt.as_str()),
            ("due", ""),
        ];
        if let Some(township) = village.at_level(Level::Township) {
            tell_staff(
                tx,
                Role::Township,
                &township,
                Template::NewDeclaration,
                &params,
                &new_id,
                "spot-check",
                settings.now,
            )?;
        }
        check.new_case_id = Some(new_id);
    }
    tx.put_spot_check(&check)
}
