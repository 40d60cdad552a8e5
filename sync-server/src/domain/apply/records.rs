//! Records a worker makes around a case: home visits, photo records, plans, follow-ups (and the
//! benchmark's raw documents).

use crate::domain::cases::reindex_case;
use crate::store::tx::RecordTx;
use yijian_core::protocol::kinds;
use yijian_core::role::Role;
use yijian_core::support::{FollowUp, PhotoMeta, Plan};
use yijian_core::visit::Visit;

use super::*;

pub(super) fn save_visit(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    v: &Visit,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "提交入户核查",
    )?;
    let village = auth.village.clone();
    if v.visitor() != ctx.session.user.id {
        return refuse(
            "invalid",
            "核查人必须是当前登录的账号",
            "the visitor must be the signed-in user",
        );
    }
    // The app checks the list of people present; a client that does not is refused here.
    if let Err(problem) = yijian_core::visit::check_attendees(v.present()) {
        return refuse(
            "invalid",
            &problem,
            "the list of people present at the visit is invalid",
        );
    }
    let id = v.id().to_string();
    if let Some((old, _)) = load::<Visit>(tx, kinds::VISIT, &id)?
        && old.is_final()
    {
        return refuse(
            "visit_final",
            "已定稿的核查表不能修改，如需更正请新建更正版本",
            "a finalised visit cannot be changed; make a correction instead",
        );
    }
    ctx.write(tx, kinds::VISIT, &id, &village, v)?;
    ctx.audit(
        tx,
        if v.is_final() {
            "finalise_visit"
        } else {
            "save_visit"
        },
        kinds::VISIT,
        &id,
        &village,
        serde_json::json!({"household": v.household_id(), "case": v.case_id()}),
    )
}

pub(super) fn record_photo(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    p: &PhotoMeta,
) -> Result<(), Fail> {
    ctx.require_role(
        &auth.staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "记录照片",
    )?;
    if let Err(e) = p.validate() {
        return refuse("invalid", e.to_string(), "invalid photo metadata");
    }
    let village = auth.village.clone();
    let id = p.id.to_string();
    ctx.write(tx, kinds::PHOTO, &id, &village, p)?;
    tx.link_blob(p.sha256.as_str(), village.as_str())?;
    if let Some(thumb) = &p.thumb_sha256 {
        tx.link_blob(thumb.as_str(), village.as_str())?;
    }
    ctx.audit(
        tx,
        "record_photo",
        kinds::PHOTO,
        &id,
        &village,
        serde_json::json!({"sha256": p.sha256}),
    )
}

pub(super) fn save_plan(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    p: &Plan,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "制定帮扶计划",
    )?;
    if let Err(e) = p.validate() {
        return refuse("invalid", e.to_string(), "invalid plan");
    }
    let village = auth.village.clone();
    let id = p.id.to_string();
    ctx.write(tx, kinds::PLAN, &id, &village, p)?;
    // A plan in force dates the case's follow-up clock.
    reindex_case(tx, &p.case_id.to_string(), &ctx.case_write(&village, None))?;
    ctx.audit(
        tx,
        "save_plan",
        kinds::PLAN,
        &id,
        &village,
        serde_json::json!({"measures": p.measures.len()}),
    )
}

pub(super) fn save_follow_up(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    f: &FollowUp,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "记录回访",
    )?;
    let village = auth.village.clone();
    let id = f.id.to_string();
    ctx.write(tx, kinds::FOLLOW_UP, &id, &village, f)?;
    tx.index_follow_up(&id, &f.case_id.to_string(), f.due_on, f.done_on)?;
    reindex_case(tx, &f.case_id.to_string(), &ctx.case_write(&village, None))?;
    // A spot check's re-check visit: its result, and a lead again if the risk is still there.
    crate::domain::spot_checks::on_follow_up_done(tx, f, ctx.settings)?;
    // A routine-attention visit done (after 风险消除, or not included but watched): the next
    // one is scheduled here, since no step of the procedure follows it.
    if f.done_on.is_some()
        && let Some((case, _)) =
            load::<yijian_core::case::Case>(tx, kinds::CASE, &f.case_id.to_string())?
        && matches!(
            case.state.stage,
            yijian_core::workflow::Stage::RiskEliminated
                | yijian_core::workflow::Stage::NotQualifiedNotified
                | yijian_core::workflow::Stage::Closed
        )
    {
        super::case_step::schedule_next_follow_up(
            tx,
            ctx,
            &case,
            &village,
            ctx.settings.policy.routine_attention_interval_days,
        )?;
    }
    ctx.audit(
        tx,
        "save_follow_up",
        kinds::FOLLOW_UP,
        &id,
        &village,
        serde_json::json!({}),
    )
}

pub(super) fn put_document(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    kind: &str,
    id: &str,
    data: &serde_json::Value,
) -> Result<(), Fail> {
    if !ctx.settings.accept_raw_documents {
        return refuse(
            "raw_documents_disabled",
            "服务器未开启自由文档同步",
            "this server does not accept raw documents",
        );
    }
    if kind.is_empty() || id.is_empty() || kind.len() > 64 || id.len() > 128 {
        return refuse("invalid", "文档类型或编号不正确", "bad document kind or id");
    }
    let stored_kind = format!("{}{kind}", kinds::DOCUMENT_PREFIX);
    ctx.write(tx, &stored_kind, id, &auth.village, data)
}
