//! The household file: creating it, per-field edits that merge, and settling conflicts.

use crate::store::tx::RecordTx;
use yijian_core::household::{Household, HouseholdField};
use yijian_core::ids::HouseholdId;
use yijian_core::protocol::{FieldConflict, FieldEdit, conflict_id, kinds};
use yijian_core::role::Role;

use super::*;

pub(super) fn create_household(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    h: &Household,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "建立农户档案",
    )?;
    if let Err(e) = h.validate() {
        return refuse("invalid", e.to_string(), "invalid household");
    }
    let id = h.id.to_string();
    if tx.get(kinds::HOUSEHOLD, &id)?.is_some() {
        return refuse(
            "already_exists",
            "该农户档案已存在",
            "household already exists",
        );
    }
    ctx.write(tx, kinds::HOUSEHOLD, &id, &h.village, h)?;
    ctx.audit(
        tx,
        "create_household",
        kinds::HOUSEHOLD,
        &id,
        &h.village,
        serde_json::json!({}),
    )
}

pub(super) fn edit_household(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    household_id: HouseholdId,
    edits: &[FieldEdit],
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "修改农户档案",
    )?;
    let id = household_id.to_string();
    let (mut h, _): (Household, _) = must_load(tx, kinds::HOUSEHOLD, &id, "农户档案")?;
    let village = auth.village.clone();
    let mut conflicts = Vec::new();
    let mut applied = Vec::new();
    for edit in edits {
        let field = HouseholdField::from_key(&edit.field).map_err(|e| {
            Fail::Refused(Refusal::new(
                "invalid",
                e.to_string(),
                "unknown household field",
            ))
        })?;
        let current = h.field_value(field);
        if current == edit.base {
            h.set_field(field, edit.value.clone()).map_err(|e| {
                Fail::Refused(Refusal::new(
                    "invalid",
                    e.to_string(),
                    "invalid field value",
                ))
            })?;
            applied.push(edit.field.clone());
        } else if current != edit.value {
            // Someone else changed this field from the same base: keep both for a person.
            conflicts.push(FieldConflict {
                household_id,
                field: edit.field.clone(),
                base: edit.base.clone(),
                theirs: current,
                mine: edit.value.clone(),
                resolved: false,
            });
        }
    }
    if !applied.is_empty() {
        ctx.write(tx, kinds::HOUSEHOLD, &id, &village, &h)?;
    }
    for c in &conflicts {
        ctx.write(
            tx,
            kinds::CONFLICT,
            &conflict_id(household_id, &c.field),
            &village,
            c,
        )?;
    }
    ctx.audit(
        tx,
        "edit_household",
        kinds::HOUSEHOLD,
        &id,
        &village,
        serde_json::json!({"applied": applied, "conflicts": conflicts.iter().map(|c| &c.field).collect::<Vec<_>>()}),
    )
}

pub(super) fn resolve_conflict(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    household_id: HouseholdId,
    field_key: &str,
    chosen: &serde_json::Value,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    ctx.require_role(
        &staff,
        &[Role::VillageWorker, Role::Township, Role::County],
        "处理档案冲突",
    )?;
    let cid = conflict_id(household_id, field_key);
    let (mut conflict, _): (FieldConflict, _) = must_load(tx, kinds::CONFLICT, &cid, "档案冲突")?;
    let village = auth.village.clone();
    let id = household_id.to_string();
    let (mut h, _): (Household, _) = must_load(tx, kinds::HOUSEHOLD, &id, "农户档案")?;
    let field = HouseholdField::from_key(field_key).map_err(|e| {
        Fail::Refused(Refusal::new(
            "invalid",
            e.to_string(),
            "unknown household field",
        ))
    })?;
    h.set_field(field, chosen.clone()).map_err(|e| {
        Fail::Refused(Refusal::new(
            "invalid",
            e.to_string(),
            "invalid field value",
        ))
    })?;
    conflict.resolved = true;
    ctx.write(tx, kinds::HOUSEHOLD, &id, &village, &h)?;
    ctx.write(tx, kinds::CONFLICT, &cid, &village, &conflict)?;
    ctx.audit(
        tx,
        "resolve_conflict",
        kinds::HOUSEHOLD,
        &id,
        &village,
        serde_json::json!({"field": field_key, "chosen": chosen}),
    )
}
