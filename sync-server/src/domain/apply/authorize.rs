//! Whose record a command touches, decided from what the server has stored, before any domain
//! logic runs.
//!
//! A device names records by id, and ids travel in its commands; the only thing that says
//! which village a record belongs to is the server's stored copy. So every command is first
//! resolved here to the village it writes in: from the stored record it names (the case of a
//! step, the household of a visit, the owner of a photo), or, for a record that does not exist
//! yet, from the new body, which may not reuse an id the server already holds elsewhere. The
//! caller's scope is checked against that village here and nowhere later, so a refusal for
//! being out of scope never says anything about the record (not its stage, not its village),
//! and the handlers write only in the village this module returns. Records a command refers to
//! (the visit of a step, the plan of a case, a photo's blob) must belong to the same case or
//! household. The store keeps the last line: a record's village never changes by a write
//! (`RecordTx::put`).

use yijian_core::case::Case;
use yijian_core::division::DivisionCode;
use yijian_core::household::Household;
use yijian_core::ids::{CaseId, HouseholdId, VisitId};
use yijian_core::protocol::{CommandBody, FieldConflict, conflict_id, kinds};
use yijian_core::role::Staff;
use yijian_core::support::{FollowUp, PhotoMeta, PhotoOwner, Plan};
use yijian_core::visit::Visit;
use yijian_core::workflow::Step;

use super::{Ctx, Fail, load, refuse};
use crate::store::tx::RecordTx;

/// What a command may do: who acts, and the one village it writes in.
#[derive(Debug, Clone)]
pub(super) struct Authorized {
    pub staff: Staff,
    pub village: DivisionCode,
}

/// The one refusal for anything outside the caller's scope: it names nothing about the record.
pub(super) fn out_of_scope<T>() -> Result<T, Fail> {
    refuse(
        "out_of_scope",
        "该记录不在您的管辖范围内",
        "the record is outside the caller's scope",
    )
}

fn not_found<T>(what_zh: &str, kind: &str, id: &str) -> Result<T, Fail> {
    refuse(
        "not_found",
        format!("服务器上找不到该{what_zh}（{id}），请先同步它"),
        format!("{kind} {id} not found on the server"),
    )
}

fn mismatch<T>(zh: &str, en: &str) -> Result<T, Fail> {
    refuse("invalid", zh, en)
}

/// The stored village of a record, `None` when the server does not hold it (or it is deleted).
fn stored_village(
    tx: &mut dyn RecordTx,
    kind: &str,
    id: &str,
) -> Result<Option<DivisionCode>, Fail> {
    match tx.get(kind, id)? {
        Some(rec) => Ok(Some(DivisionCode::parse(&rec.village).map_err(|e| {
            crate::store::StorageError::Corrupt(format!("{kind} {id} village: {e}"))
        })?)),
        None => Ok(None),
    }
}

/// A stored record, which must exist and be within scope.
fn in_scope<T: serde::de::DeserializeOwned>(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    kind: &str,
    id: &str,
    what_zh: &str,
) -> Result<(T, DivisionCode), Fail> {
    match load::<T>(tx, kind, id)? {
        Some((value, village)) if staff.covers(&village) => Ok((value, village)),
        Some(_) => out_of_scope(),
        None => not_found(what_zh, kind, id),
    }
}

/// A record about to be created under `id` in `village`: the id must be free, or already be
/// this village's (a retry or a later version); one held elsewhere is out of scope.
fn new_or_same_village(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    kind: &str,
    id: &str,
    village: &DivisionCode,
) -> Result<(), Fail> {
    if !staff.covers(village) {
        return out_of_scope();
    }
    match stored_village(tx, kind, id)? {
        Some(stored) if &stored != village => {
            if staff.covers(&stored) {
                mismatch(
                    "同一编号的记录已属于另一个村，不能移动",
                    "a record cannot move to another village",
                )
            } else {
                out_of_scope()
            }
        }
        _ => Ok(()),
    }
}

/// The household a case belongs to, if it has one.
fn household_of(case: &Case) -> Option<HouseholdId> {
    case.declaration.household_id
}

/// A visit referred to by a step of `case`: stored, in the case's village, of the case's
/// household, and not made for another case.
fn visit_of_case(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    visit_id: VisitId,
    case: &Case,
    village: &DivisionCode,
) -> Result<(), Fail> {
    let id = visit_id.to_string();
    let Some((visit, visit_village)) = load::<Visit>(tx, kinds::VISIT, &id)? else {
        return not_found("核查记录", kinds::VISIT, &id);
    };
    if !staff.covers(&visit_village) {
        return out_of_scope();
    }
    if &visit_village != village
        || Some(visit.household_id()) != household_of(case)
        || visit.case_id().is_some_and(|c| c != case.id())
    {
        return mismatch(
            "该核查记录不属于这个案件的农户",
            "the visit belongs to another household or case",
        );
    }
    Ok(())
}

/// A photo record referred to by a step (meeting minutes, the notice on the wall): when the
/// server holds it, it is this village's.
fn photo_of_village(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    photo: Option<yijian_core::ids::PhotoId>,
    village: &DivisionCode,
) -> Result<(), Fail> {
    let Some(photo) = photo else {
        return Ok(());
    };
    match stored_village(tx, kinds::PHOTO, &photo.to_string())? {
        Some(v) if !staff.covers(&v) => out_of_scope(),
        Some(v) if &v != village => mismatch(
            "引用的照片不属于这个村",
            "the photo belongs to another village",
        ),
        _ => Ok(()),
    }
}

/// The village a photo record's owner is stored in.
fn owner_village(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    owner: &PhotoOwner,
) -> Result<DivisionCode, Fail> {
    Ok(match owner {
        PhotoOwner::VisitItem { visit_id, .. } => {
            in_scope::<Visit>(tx, staff, kinds::VISIT, &visit_id.to_string(), "核查记录")?.1
        }
        PhotoOwner::Household { household_id } => {
            in_scope::<Household>(
                tx,
                staff,
                kinds::HOUSEHOLD,
                &household_id.to_string(),
                "农户档案",
            )?
            .1
        }
        PhotoOwner::Case { case_id }
        | PhotoOwner::ProxyConfirmation { case_id }
        | PhotoOwner::PublicNotice { case_id } => {
            in_scope::<Case>(tx, staff, kinds::CASE, &case_id.to_string(), "案件")?.1
        }
    })
}

/// A blob may be named by a photo record only when no village holds it yet (a photo about to
/// be uploaded) or a village within the caller's scope already does: naming someone else's
/// photo must not make it readable.
fn blob_linkable(tx: &mut dyn RecordTx, staff: &Staff, sha256: &str) -> Result<(), Fail> {
    let owners = tx.blob_owners(sha256)?;
    let visible = owners
        .iter()
        .filter_map(|v| DivisionCode::parse(v).ok())
        .any(|v| staff.covers(&v));
    if owners.is_empty() || visible {
        Ok(())
    } else {
        out_of_scope()
    }
}

/// A case named by a record (plan, follow-up): stored and within scope.
fn case_in_scope(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    case_id: CaseId,
) -> Result<(Case, DivisionCode), Fail> {
    in_scope::<Case>(tx, staff, kinds::CASE, &case_id.to_string(), "案件")
}

/// Resolve the village a command writes in and check it against the caller's scope.
pub(super) fn authorize(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    body: &CommandBody,
) -> Result<Authorized, Fail> {
    let staff = ctx.staff()?;
    let village = match body {
        CommandBody::Declare(d) => {
            new_or_same_village(tx, &staff, kinds::CASE, &d.case_id.to_string(), &d.village)?;
            d.village.clone()
        }
        CommandBody::CaseStep { case_id, step } => {
            let (case, village) = case_in_scope(tx, &staff, *case_id)?;
            if let Step::FileAppeal { appeal_id, .. } = step
                && tx.get(kinds::APPEAL, &appeal_id.to_string())?.is_some()
            {
                return refuse(
                    "already_exists",
                    "该申诉编号已存在",
                    "an appeal with this id already exists",
                );
            }
            match step {
                Step::StartVerification { visit_id }
                | Step::RecordFollowUp { visit_id }
                | Step::ProposeRiskElimination { visit_id, .. } => {
                    visit_of_case(tx, &staff, *visit_id, &case, &village)?;
                }
                Step::RecordVerification { visit, .. } => {
                    visit_of_case(tx, &staff, visit.visit_id, &case, &village)?;
                }
                Step::MakePlan { plan_id, .. } => {
                    let id = plan_id.to_string();
                    match load::<Plan>(tx, kinds::PLAN, &id)? {
                        Some((_, v)) if !staff.covers(&v) => return out_of_scope(),
                        Some((plan, v)) if plan.case_id == *case_id && v == village => {}
                        Some(_) => {
                            return mismatch(
                                "该帮扶计划不属于这个案件",
                                "plan belongs to another case",
                            );
                        }
                        None => return not_found("帮扶计划", kinds::PLAN, &id),
                    }
                }
                Step::RecordDemocraticReview { minutes_photo, .. } => {
                    photo_of_village(tx, &staff, *minutes_photo, &village)?;
                }
                Step::RecordPublicNotice { photo, .. } => {
                    photo_of_village(tx, &staff, *photo, &village)?;
                }
                _ => {}
            }
            village
        }
        CommandBody::CreateHousehold(h) => {
            new_or_same_village(tx, &staff, kinds::HOUSEHOLD, &h.id.to_string(), &h.village)?;
            h.village.clone()
        }
        CommandBody::EditHousehold { household_id, .. } => {
            in_scope::<Household>(
                tx,
                &staff,
                kinds::HOUSEHOLD,
                &household_id.to_string(),
                "农户档案",
            )?
            .1
        }
        CommandBody::ResolveConflict {
            household_id,
            field,
            ..
        } => {
            let cid = conflict_id(*household_id, field);
            let (_, village) =
                in_scope::<FieldConflict>(tx, &staff, kinds::CONFLICT, &cid, "档案冲突")?;
            let (_, h_village) = in_scope::<Household>(
                tx,
                &staff,
                kinds::HOUSEHOLD,
                &household_id.to_string(),
                "农户档案",
            )?;
            if h_village != village {
                return mismatch(
                    "档案冲突与农户不在同一个村",
                    "conflict and household differ",
                );
            }
            village
        }
        CommandBody::SaveVisit(v) => {
            let (_, village) = in_scope::<Household>(
                tx,
                &staff,
                kinds::HOUSEHOLD,
                &v.household_id().to_string(),
                "农户档案",
            )?;
            let id = v.id().to_string();
            if let Some((old, old_village)) = load::<Visit>(tx, kinds::VISIT, &id)? {
                if !staff.covers(&old_village) {
                    return out_of_scope();
                }
                if old_village != village || old.household_id() != v.household_id() {
                    return mismatch(
                        "核查记录不能改到另一户",
                        "a visit cannot move to another household",
                    );
                }
            }
            if let Some(case_id) = v.case_id() {
                let (case, case_village) = case_in_scope(tx, &staff, case_id)?;
                if case_village != village || household_of(&case) != Some(v.household_id()) {
                    return mismatch(
                        "这个案件不属于该农户",
                        "the visit's case belongs to another household",
                    );
                }
            }
            village
        }
        CommandBody::RecordPhoto(p) => record_photo_village(tx, &staff, p)?,
        CommandBody::SavePlan(p) => {
            let (_, village) = case_in_scope(tx, &staff, p.case_id)?;
            new_or_same_village(tx, &staff, kinds::PLAN, &p.id.to_string(), &village)?;
            if let Some((old, _)) = load::<Plan>(tx, kinds::PLAN, &p.id.to_string())?
                && old.case_id != p.case_id
            {
                return mismatch(
                    "帮扶计划不能改到另一个案件",
                    "a plan cannot move to another case",
                );
            }
            village
        }
        CommandBody::SaveFollowUp(f) => follow_up_village(tx, &staff, f)?,
        CommandBody::PutDocument {
            kind, id, village, ..
        } => {
            let stored_kind = format!("{}{kind}", kinds::DOCUMENT_PREFIX);
            new_or_same_village(tx, &staff, &stored_kind, id, village)?;
            village.clone()
        }
    };
    Ok(Authorized { staff, village })
}

fn record_photo_village(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    p: &PhotoMeta,
) -> Result<DivisionCode, Fail> {
    let village = owner_village(tx, staff, &p.owner)?;
    new_or_same_village(tx, staff, kinds::PHOTO, &p.id.to_string(), &village)?;
    blob_linkable(tx, staff, p.sha256.as_str())?;
    if let Some(thumb) = &p.thumb_sha256 {
        blob_linkable(tx, staff, thumb.as_str())?;
    }
    Ok(village)
}

fn follow_up_village(
    tx: &mut dyn RecordTx,
    staff: &Staff,
    f: &FollowUp,
) -> Result<DivisionCode, Fail> {
    let (case, village) = case_in_scope(tx, staff, f.case_id)?;
    if household_of(&case) != Some(f.household_id) {
        return mismatch(
            "回访记录的农户与案件不符",
            "the follow-up's household is not the case's",
        );
    }
    new_or_same_village(tx, staff, kinds::FOLLOW_UP, &f.id.to_string(), &village)?;
    if let Some((old, _)) = load::<FollowUp>(tx, kinds::FOLLOW_UP, &f.id.to_string())?
        && old.case_id != f.case_id
    {
        return mismatch(
            "回访记录不能改到另一个案件",
            "a follow-up cannot move to another case",
        );
    }
    if let Some(visit_id) = f.visit_id {
        visit_of_case(tx, staff, visit_id, &case, &village)?;
    }
    Ok(village)
}
