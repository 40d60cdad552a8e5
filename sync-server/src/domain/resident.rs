//! What a resident does without an account: declare by QR code, look up the case, appeal.
//!
//! Each is one transaction, written once against [`RecordTx`] for both databases:
//! - [`declare`]: the household, the case (source: self-declared by QR) routed to its village,
//!   its receipt number, the audit line, and the texts — to the resident (receipt) and to the
//!   village's and the township's grid workers (new declaration, masked name). A resident who
//!   already has an open case gets that case's receipt instead of a second case.
//! - [`lookup`]: a case by receipt number and the last four digits of the phone, in words a
//!   resident understands: what has been done, what comes next and by when.
//! - [`appeal`]: after a rejection, the appeal (申诉), routed one level above the level that
//!   rejected, whose staff are told by text and in their console.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yijian_core::case::{Case, CaseEventKind, CaseSource, Declaration};
use yijian_core::clocks::running_clocks;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::form::CheckedForm;
use yijian_core::hlc::Hlc;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{AppealId, CaseId, HouseholdId, MemberId};
use yijian_core::regions::Regions;
use yijian_core::role::{Actor, Role};
use yijian_core::support::{Appeal, AppealFiler};
use yijian_core::validation::{MobileNumber, mask_name};
use yijian_core::workflow::{self, Stage, Step};

use crate::domain::apply::{ApplySettings, receipt_number};
use crate::domain::cases::{CaseWrite, clock_facts, save_case};
use crate::sms::{self, Template};
use crate::store::StorageError;
use crate::store::rows::Notification;
use crate::store::tx::{AuditEntry, RecordTx};

/// The server's own logical clock for records it writes (node 0 is never a device's).
pub fn server_hlc(now: DateTime<Utc>) -> Hlc {
    Hlc {
        wall_ms: u64::try_from(now.timestamp_millis()).unwrap_or(0),
        counter: 0,
        node: 0,
    }
}

/// A village's name as residents say it: township + village (`鲁家沟镇南川村`).
pub fn village_name(code: &DivisionCode) -> String {
    let regions = Regions::gansu();
    let short = |n: &str| {
        n.strip_suffix("村民委员会")
            .map(|s| format!("{s}村"))
            .or_else(|| n.strip_suffix("居民委员会").map(|s| format!("{s}社区")))
            .unwrap_or_else(|| n.to_owned())
    };
    let Some(v) = regions.get(code) else {
        return code.to_string();
    };
    match code.parent().and_then(|t| regions.get(&t)) {
        Some(t) => format!("{}{}", t.name, short(&v.name)),
        None => short(&v.name),
    }
}

/// What a declaration came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Declared {
    /// A new case with this receipt.
    New { case_id: String, receipt_no: String },
    /// The resident already has an open case. Its receipt is not shown to whoever typed the ID
    /// number (anyone may know one): it is texted again to the phone on file, at most once a
    /// day (`resent`; `false` when the case has no phone).
    Existing { case_id: String, resent: bool },
}

fn audit(
    tx: &mut dyn RecordTx,
    now: DateTime<Utc>,
    action: &str,
    kind: &str,
    id: &str,
    village: &DivisionCode,
    detail: serde_json::Value,
) -> Result<(), StorageError> {
    tx.audit(&AuditEntry {
        at: now,
        user_id: None,
        device_id: None,
        command_id: None,
        action: action.to_owned(),
        kind: kind.to_owned(),
        record_id: id.to_owned(),
        village: village.to_string(),
        detail: detail.to_string(),
    })
}

/// Text and notify the staff of `role` at `scope` (their console; a text to each).
#[allow(clippy::too_many_arguments)]
pub fn tell_staff(
    tx: &mut dyn RecordTx,
    role: Role,
    scope: &DivisionCode,
    template: Template,
    params: &[(&str, &str)],
    case_id: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.notify(&Notification {
        id: 0,
        role,
        scope: scope.to_string(),
        case_id: Some(case_id.to_owned()),
        kind: template.key().to_owned(),
        text_zh: sms::render(template, params),
        at: now,
    })?;
    for user in tx.users_with(role, scope)? {
        if MobileNumber::parse(&user.login).is_err() {
            continue;
        }
        let id = sms::out_id(&[template.key(), case_id, key, &user.login]);
        let msg = sms::message(id, &user.login, template, params, Some(case_id), now);
        tx.enqueue_sms(&msg, now)?;
    }
    Ok(())
}

/// Tell a new case's village grid workers and its township (console and text), as a
/// declaration and a department lead both do.
pub fn tell_village_and_township(
    tx: &mut dyn RecordTx,
    village: &DivisionCode,
    params: &[(&str, &str)],
    case_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let township = village.at_level(Level::Township);
    let staff = [
        (Role::VillageWorker, Some(village.clone())),
        (Role::Township, township),
    ];
    for (role, scope) in staff {
        if let Some(scope) = scope {
            let template = Template::NewDeclaration;
            tell_staff(tx, role, &scope, template, params, case_id, "new", now)?;
        }
    }
    Ok(())
}

/// File a resident's declaration from the public form (see the module docs).
pub fn declare(
    tx: &mut dyn RecordTx,
    form: &CheckedForm,
    settings: &ApplySettings,
) -> Result<Declared, StorageError> {
    let now = settings.now;
    if let Some(existing) = tx.open_case_of(form.id_number.as_str())? {
        let resent = match (&existing.phone, &existing.receipt_no) {
            (Some(phone), Some(receipt)) => {
                let days = settings.rules.home_verification.amount.to_string();
                let day = settings.today.to_string();
                let msg = sms::message(
                    sms::out_id(&["receipt-again", &existing.case_id, &day]),
                    phone,
                    Template::Receipt,
                    &[("receipt", receipt), ("days", &days)],
                    Some(&existing.case_id),
                    now,
                );
                // The same out_id twice is queued once: one text per case per day, however
                // often the form is sent.
                tx.enqueue_sms(&msg, now)?;
                true
            }
            _ => false,
        };
        return Ok(Declared::Existing {
            case_id: existing.case_id,
            resent,
        });
    }
    let village = form.village.clone();
    let hlc = server_hlc(now);
    let mut household =
        Household::new(HouseholdId::new(), village.clone(), &form.applicant.address)
            .map_err(|e| StorageError::Corrupt(format!("checked form rejected: {e}")))?;
    household.phone = form.phone.clone();
    household
        .add_member(
            Member::new(MemberId::new(), &form.applicant.name, Relation::Head)
                .with_id_number(form.id_number.clone()),
        )
        .map_err(|e| StorageError::Corrupt(format!("checked form rejected: {e}")))?;
    let hid = household.id.to_string();
    tx.put(
        "household",
        &hid,
        village.as_str(),
        Some(&serde_json::to_string(&household)?),
        hlc,
        now,
    )?;
    let declaration = Declaration {
        case_id: CaseId::new(),
        household_id: Some(household.id),
        village: village.clone(),
        source: CaseSource::SelfDeclaredQr,
        risk_types: form.risk_types.clone(),
        description: form.description.clone(),
        applicant: form.applicant.clone(),
        proxy: None,
        declared_at: now,
    };
    let mut case = Case::declared(declaration);
    let receipt = receipt_number(&village, tx.next_receipt(village.as_str())?);
    case.receipt_no = Some(receipt.clone());
    let case_id = case.id().to_string();
    save_case(
        tx,
        &mut case,
        &CaseWrite {
            village: &village,
            hlc,
            now,
            today: settings.today,
            rules: &settings.rules,
            calendar: &settings.calendar,
            event: Some((
                CaseEventKind::Declared,
                Some("申请人本人（扫码申报）".to_owned()),
                None,
            )),
            work_done_on: None,
        },
    )?;
    audit(
        tx,
        now,
        "declare_public",
        "case",
        &case_id,
        &village,
        serde_json::json!({"receipt_no": receipt, "household": hid}),
    )?;
    let days = settings.rules.home_verification.amount.to_string();
    if let Some(phone) = &form.phone {
        let msg = sms::message(
            sms::out_id(&["receipt", &case_id]),
            phone.as_str(),
            Template::Receipt,
            &[("receipt", &receipt), ("days", &days)],
            Some(&case_id),
            now,
        );
        tx.enqueue_sms(&msg, now)?;
    }
    let facts = clock_facts(tx, &case)?;
    let due = running_clocks(&case.state, &facts, &settings.rules, &settings.calendar)
        .into_iter()
        .find(|c| c.step == yijian_core::deadline::Step::HomeVerification)
        .map(|c| date_zh(c.due_on))
        .unwrap_or_default();
    let name = mask_name(&form.applicant.name);
    let risks = form
        .risk_types
        .iter()
        .map(|r| r.name_zh())
        .collect::<Vec<_>>()
        .join("、");
    let place = village_name(&village);
    let params = [
        ("village", place.as_str()),
        ("name", name.as_str()),
        ("source", "扫码"),
        ("risks", risks.as_str()),
        ("receipt", receipt.as_str()),
        ("due", due.as_str()),
    ];
    tell_village_and_township(tx, &village, &params, &case_id, now)?;
    Ok(Declared::New {
        case_id,
        receipt_no: receipt,
    })
}

/// `2026年12月8日`.
pub fn date_zh(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// One line of a case's progress, as a resident reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressLine {
    pub on: NaiveDate,
    pub text_zh: String,
}

/// A case as the status page shows it to the resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseStatus {
    pub receipt_no: String,
    pub applicant_masked: String,
    /// The village, which picks the page's language (Tibetan for 甘南).
    pub village: Option<DivisionCode>,
    pub village_name: String,
    pub stage: Stage,
    /// The stage in a resident's words.
    pub stage_zh: String,
    pub done: Vec<ProgressLine>,
    /// What comes next and by when, if anything does.
    pub next_zh: Option<String>,
    /// Why the household was not included (after a rejection or a negative verification).
    pub rejection_reason: Option<String>,
    pub may_appeal: bool,
    /// Who decides an appeal (`市级`).
    pub appeal_to_zh: Option<String>,
}

/// What a resident is told for each stage.
fn stage_for_resident(stage: Stage) -> &'static str {
    match stage {
        Stage::Declared => "已收到申报，等待乡镇受理",
        Stage::Accepted => "已受理，等待村网格员上门核实",
        Stage::Verifying => "村网格员正在入户核实",
        Stage::VerifiedQualifies
        | Stage::CrossChecked
        | Stage::DemocraticReviewed
        | Stage::PubliclyNoticed => "核实完成，正在村里评议和公示",
        Stage::VerifiedNotQualified | Stage::NotQualifiedNotified => "经核实暂不符合条件",
        Stage::TownshipReviewed => "乡镇已复核，等待县里审批",
        Stage::Approved => "县里已审批，已纳入帮扶",
        Stage::Rejected => "评议或审批未通过",
        Stage::Appealed => "申诉已提交，正在由上级办理",
        Stage::RejectionUpheld => "申诉未获支持",
        Stage::PlanMade | Stage::Assisting => "正在帮扶",
        Stage::RiskEliminationProposed
        | Stage::RiskEliminationAssessed
        | Stage::RiskEliminationNoticed
        | Stage::RiskEliminationReviewed => "正在办理风险消除",
        Stage::RiskEliminated => "风险已消除",
        Stage::Closed => "已办结",
    }
}

/// The step a clock waits for, in a resident's words.
fn clock_for_resident(step: yijian_core::deadline::Step) -> &'static str {
    use yijian_core::deadline::Step as S;
    match step {
        S::Accept => "乡镇受理",
        S::HomeVerification => "村网格员上门核实",
        S::NotifyNotQualified => "告知您不符合条件的原因",
        S::CountyApproval => "县里审批",
        S::Plan => "制定帮扶计划",
        S::FollowUp => "帮扶干部回访",
        S::PublicNotice => "村里公示",
    }
}

/// Why a lookup found nothing (the page says the same for both, so nobody can tell which
/// receipt numbers exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupMiss {
    NoSuchCase,
}

/// The case with this receipt whose applicant's phone ends in `last4`.
pub fn lookup(
    tx: &mut dyn RecordTx,
    receipt_no: &str,
    last4: &str,
    settings: &ApplySettings,
) -> Result<Result<(CaseStatus, Case), LookupMiss>, StorageError> {
    let Some(row) = tx.case_by_receipt(receipt_no.trim())? else {
        return Ok(Err(LookupMiss::NoSuchCase));
    };
    let phone_ok = row
        .phone
        .as_deref()
        .and_then(|p| MobileNumber::parse(p).ok())
        .is_some_and(|p| p.last4() == last4.trim());
    if !phone_ok {
        return Ok(Err(LookupMiss::NoSuchCase));
    }
    let Some(body) = tx
        .get(yijian_core::protocol::kinds::CASE, &row.case_id)?
        .and_then(|r| r.body)
    else {
        return Ok(Err(LookupMiss::NoSuchCase));
    };
    let case: Case = serde_json::from_str(&body)?;
    let china = |t: DateTime<Utc>| yijian_core::time::china_date(t);
    let done = case
        .history
        .iter()
        .map(|e| ProgressLine {
            on: china(e.at),
            text_zh: match e.kind {
                CaseEventKind::Declared => "提交申报".to_owned(),
                CaseEventKind::Step { step } => step.name_zh().to_owned(),
                CaseEventKind::Escalated { .. } => "上级督促办理".to_owned(),
                CaseEventKind::DepartmentWarning => "收到相关部门的信息".to_owned(),
            },
        })
        .collect();
    let facts = clock_facts(tx, &case)?;
    let next_zh = running_clocks(&case.state, &facts, &settings.rules, &settings.calendar)
        .into_iter()
        .next()
        .map(|c| {
            let late = c.due_on < settings.today;
            format!(
                "下一步：{}，{}{}前完成{}",
                clock_for_resident(c.step),
                if late { "原定" } else { "应在" },
                date_zh(c.due_on),
                if late {
                    "（已超期，已督促办理）"
                } else {
                    ""
                }
            )
        });
    let rejection_reason = match (&case.state.stage, &case.state.verification) {
        (Stage::Rejected | Stage::Appealed | Stage::RejectionUpheld, _) => {
            case.state.rejection_reason.clone()
        }
        (
            Stage::VerifiedNotQualified | Stage::NotQualifiedNotified,
            Some(workflow::VerificationOutcome::DoesNotQualify { reason }),
        ) => Some(reason.clone()),
        _ => None,
    };
    // A household told 不符合 before refusals were recorded by level was refused by the village.
    let refused_by = match case.state.stage {
        Stage::NotQualifiedNotified => case.state.rejected_by.or(Some(Level::Village)),
        _ => case.state.rejected_by,
    };
    let appeal_to = refused_by.and_then(Level::parent);
    let may_appeal = matches!(
        case.state.stage,
        Stage::Rejected | Stage::NotQualifiedNotified
    ) && appeal_to.is_some();
    Ok(Ok((
        CaseStatus {
            receipt_no: row.receipt_no.clone().unwrap_or_default(),
            applicant_masked: mask_name(&row.applicant_name),
            village: DivisionCode::parse(&row.village).ok(),
            village_name: DivisionCode::parse(&row.village)
                .map(|v| village_name(&v))
                .unwrap_or_default(),
            stage: case.state.stage,
            stage_zh: stage_for_resident(case.state.stage).to_owned(),
            done,
            next_zh,
            rejection_reason,
            may_appeal,
            appeal_to_zh: appeal_to.map(|l| format!("{}级", l.name_zh())),
        },
        case,
    )))
}

/// Why an appeal was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppealRefused {
    #[error("没有找到这个回执号，或手机尾号不对")]
    NotFound,
    #[error("{0}")]
    Workflow(String),
    #[error("{0}")]
    Invalid(String),
}

/// File an appeal for the resident (see the module docs).
pub fn appeal(
    tx: &mut dyn RecordTx,
    receipt_no: &str,
    last4: &str,
    reason: &str,
    settings: &ApplySettings,
) -> Result<Result<String, AppealRefused>, StorageError> {
    let (status, mut case) = match lookup(tx, receipt_no, last4, settings)? {
        Ok(found) => found,
        Err(_) => return Ok(Err(AppealRefused::NotFound)),
    };
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Ok(Err(AppealRefused::Invalid(
            "申诉理由最多500个字".to_owned(),
        )));
    }
    let village = case.village().clone();
    let appeal_id = AppealId::new();
    let step = Step::FileAppeal {
        appeal_id,
        reason: reason.to_owned(),
    };
    let context = settings.step_context(&village, case.declared_on(), false, 0);
    let next = match workflow::apply(&case.state, &Actor::Resident, &step, &context) {
        Ok(next) => next,
        Err(e) => return Ok(Err(AppealRefused::Workflow(e.to_string()))),
    };
    // The workflow names the refusing level (the village for a 不符合 or a 民主评议, the county).
    let Some(against) = next.rejected_by else {
        return Ok(Err(AppealRefused::Workflow(
            "这个案件目前不能申诉".to_owned(),
        )));
    };
    let appeal = match Appeal::file(
        appeal_id,
        case.id(),
        settings.now,
        AppealFiler::Resident {
            name: case.declaration.applicant.name.clone(),
            phone: case
                .declaration
                .applicant
                .phone
                .as_deref()
                .and_then(|p| MobileNumber::parse(p).ok()),
        },
        reason,
        against,
    ) {
        Ok(a) => a,
        Err(e) => return Ok(Err(AppealRefused::Invalid(e.to_string()))),
    };
    let now = settings.now;
    let hlc = server_hlc(now);
    tx.put(
        "appeal",
        &appeal_id.to_string(),
        village.as_str(),
        Some(&serde_json::to_string(&appeal)?),
        hlc,
        now,
    )?;
    case.state = next;
    let case_id = case.id().to_string();
    save_case(
        tx,
        &mut case,
        &CaseWrite {
            village: &village,
            hlc,
            now,
            today: settings.today,
            rules: &settings.rules,
            calendar: &settings.calendar,
            event: Some((
                CaseEventKind::Step {
                    step: workflow::StepKind::FileAppeal,
                },
                Some("申请人本人".to_owned()),
                Some(reason.to_owned()),
            )),
            work_done_on: None,
        },
    )?;
    audit(
        tx,
        now,
        "appeal_public",
        "case",
        &case_id,
        &village,
        serde_json::json!({"appeal": appeal_id, "to": appeal.decided_by_level}),
    )?;
    let deciding = appeal.decided_by_level;
    if let Some(scope) = village.at_level(deciding) {
        let name = mask_name(&case.declaration.applicant.name);
        let place = village_name(&village);
        tell_staff(
            tx,
            Role::for_level(deciding),
            &scope,
            Template::AppealFiled,
            &[
                ("village", place.as_str()),
                ("name", name.as_str()),
                ("receipt", status.receipt_no.as_str()),
            ],
            &case_id,
            &appeal_id.to_string(),
            now,
        )?;
    }
    Ok(Ok(format!("{}级", deciding.name_zh())))
}
