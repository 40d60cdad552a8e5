//! Proxy declaration (代申报) on a cadre's phone, fully offline.
//!
//! The real rule: the cadre fills the form for the applicant, reads every answer back aloud,
//! and the applicant confirms with a thumbprint or signature, which is photographed. So the
//! form carries the resident form's fields ([`yijian_core::form`]) plus who filled it and how
//! they relate to the applicant; [`LocalStore::proxy_check`] gives the read-back lines (or
//! every problem at once), and [`LocalStore::proxy_submit`] records — in one transaction — the
//! household (when new), the declaration with its proxy record, and the confirmation photo.

use serde::{Deserialize, Serialize};
use yijian_core::case::{CaseSource, Declaration};
use yijian_core::division::DivisionCode;
use yijian_core::form::{
    self, CheckedForm, DeclarationForm, FORM_DIFFICULTIES, PhoneRule, check_declaration, risk_key,
};
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{CaseId, HouseholdId, MemberId, PhotoId};
use yijian_core::protocol::CommandBody;
use yijian_core::regions::Regions;
use yijian_core::support::{ConfirmationKind, PhotoOwner, ProxyFiling};

use crate::error::{Error, Result};
use crate::store::{Account, LocalStore, Touch};
use crate::views::village_name;
use yijian_core::protocol::kinds;

/// Longest filler name or relation, in characters.
const MAX_FILLER_CHARS: usize = 30;

/// The proxy form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ProxyForm {
    /// An existing household (opened from the inbox or a door-plate scan), or none: new.
    pub household_id: Option<String>,
    pub applicant_name: String,
    pub id_number: String,
    pub phone: String,
    pub village: String,
    pub address: String,
    pub household_size: String,
    pub risk_types: Vec<String>,
    pub description: String,
    pub filler_name: String,
    pub filler_relation: String,
    /// `thumbprint` or `signature`.
    pub confirmation: String,
}

/// One line the cadre reads aloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ReadBackLine {
    pub label_zh: &'static str,
    pub value_zh: String,
}

/// A difficulty type the form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct RiskOption {
    pub value: String,
    pub label_zh: &'static str,
}

/// The difficulty types of the form, in order.
pub fn risk_options() -> Vec<RiskOption> {
    FORM_DIFFICULTIES
        .iter()
        .map(|r| RiskOption {
            value: risk_key(*r),
            label_zh: r.name_zh(),
        })
        .collect()
}

/// A village the user may file for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct VillageOption {
    pub code: String,
    pub name: String,
}

/// The villages within `scope` (a village worker's one village; a township's villages).
pub fn villages_in(scope: &DivisionCode) -> Vec<VillageOption> {
    Regions::gansu()
        .villages_in(scope)
        .map(|r| VillageOption {
            code: r.code.to_string(),
            name: village_name(r.code.as_str()),
        })
        .collect()
}

/// A checked proxy form.
struct CheckedProxy {
    form: CheckedForm,
    household_id: Option<HouseholdId>,
    filler_name: String,
    filler_relation: String,
    confirmation: ConfirmationKind,
}

fn check(store: &LocalStore, f: &ProxyForm, user: &Account) -> Result<CheckedProxy> {
    let today = yijian_core::time::china_date(store.now());
    let declaration = DeclarationForm {
        applicant_name: f.applicant_name.clone(),
        id_number: f.id_number.clone(),
        phone: f.phone.clone(),
        village: f.village.clone(),
        address: f.address.clone(),
        household_size: f.household_size.clone(),
        risk_types: f.risk_types.clone(),
        description: f.description.clone(),
    };
    let mut problems: Vec<(String, String)> = Vec::new();
    let checked = match check_declaration(&declaration, today, PhoneRule::Optional, |v| {
        v.is_within(&user.scope)
    }) {
        Ok(c) => Some(c),
        Err(list) => {
            problems.extend(list.into_iter().map(|p| (p.field.to_owned(), p.message_zh)));
            None
        }
    };
    let household_id = match f.household_id.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(h) => match HouseholdId::parse(h) {
            Ok(id) if store.household(id)?.is_some() => Some(id),
            _ => {
                problems.push((
                    "household_id".into(),
                    "本机找不到这户的档案，请从待办或扫门牌重新打开".into(),
                ));
                None
            }
        },
    };
    let mut text = |field: &str, value: &str, empty_zh: &str| -> String {
        let v = value.trim();
        if v.is_empty() {
            problems.push((field.to_owned(), empty_zh.to_owned()));
        } else if v.chars().count() > MAX_FILLER_CHARS {
            problems.push((field.to_owned(), format!("最多{MAX_FILLER_CHARS}个字")));
        }
        v.to_owned()
    };
    let filler_name = text("filler_name", &f.filler_name, "请填写代填人姓名");
    let filler_relation = text(
        "filler_relation",
        &f.filler_relation,
        "请填写代填人与申请人的关系（如驻村干部）",
    );
    let confirmation = match f.confirmation.as_str() {
        "thumbprint" => Some(ConfirmationKind::Thumbprint),
        "signature" => Some(ConfirmationKind::Signature),
        _ => {
            problems.push((
                "confirmation".into(),
                "请选择申请人确认方式（按手印或签字）".into(),
            ));
            None
        }
    };
    match (problems.is_empty(), checked, confirmation) {
        (true, Some(form), Some(confirmation)) => Ok(CheckedProxy {
            form,
            household_id,
            filler_name,
            filler_relation,
            confirmation,
        }),
        _ => Err(Error::Fields(problems)),
    }
}

impl LocalStore {
    /// Check a proxy form; on success, the lines to read back to the applicant.
    pub fn proxy_check(&self, form: &ProxyForm, user: &Account) -> Result<Vec<ReadBackLine>> {
        let c = check(self, form, user)?;
        let f = &c.form;
        let line = |label_zh, value_zh: String| ReadBackLine { label_zh, value_zh };
        Ok(vec![
            line("申请人", f.applicant.name.clone()),
            line("身份证号", spaced_id(f.id_number.as_str())),
            line(
                "手机号",
                f.phone
                    .as_ref()
                    .map_or_else(|| "没有".to_owned(), |p| p.as_str().to_owned()),
            ),
            line(
                "住址",
                format!(
                    "{}{}",
                    village_name(f.village.as_str()),
                    f.applicant.address
                ),
            ),
            line(
                "家庭人口",
                f.household_size
                    .map_or_else(String::new, |n| format!("{n}人")),
            ),
            line(
                "困难类型",
                f.risk_types
                    .iter()
                    .map(|r| r.name_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            line(
                "困难情况",
                if f.description.is_empty() {
                    "（未填写）".to_owned()
                } else {
                    f.description.clone()
                },
            ),
            line(
                "代填人",
                format!("{}（{}）", c.filler_name, c.filler_relation),
            ),
            line("确认方式", c.confirmation.name_zh().to_owned()),
        ])
    }

    /// Record the declaration with its confirmation photo (a staged photo's SHA-256).
    /// Returns the new case and the household it belongs to.
    pub fn proxy_submit(
        &mut self,
        form: &ProxyForm,
        user: &Account,
        confirmation_sha256: &str,
    ) -> Result<(CaseId, HouseholdId)> {
        let c = check(self, form, user)?;
        let staged = self.staged_photo(confirmation_sha256)?;
        let village = c.form.village.clone();
        let mut commands = Vec::new();
        let household_id = match c.household_id {
            Some(id) => id,
            None => {
                let mut h = Household::new(
                    HouseholdId::new(),
                    village.clone(),
                    &c.form.applicant.address,
                )
                .map_err(|e| Error::field(form::fields::ADDRESS, e.to_string()))?;
                h.phone = c.form.phone.clone();
                h.add_member(
                    Member::new(MemberId::new(), &c.form.applicant.name, Relation::Head)
                        .with_id_number(c.form.id_number.clone()),
                )
                .map_err(|e| Error::invalid(e.to_string()))?;
                commands.push((
                    CommandBody::CreateHousehold(h.clone()),
                    vec![Touch::new(kinds::HOUSEHOLD, h.id, &village, &h)?],
                ));
                h.id
            }
        };
        let case_id = CaseId::new();
        let photo_id = PhotoId::new();
        let declaration = Declaration {
            case_id,
            household_id: Some(household_id),
            village: village.clone(),
            source: CaseSource::ProxyFiled,
            risk_types: c.form.risk_types.clone(),
            description: c.form.description.clone(),
            applicant: c.form.applicant.clone(),
            proxy: Some(ProxyFiling {
                filled_by: user.id,
                filler_name: c.filler_name.clone(),
                relation_to_applicant: c.filler_relation.clone(),
                read_back_done: true,
                confirmation: c.confirmation,
                confirmation_photo: Some(photo_id),
            }),
            declared_at: self.now(),
        };
        let case = yijian_core::case::Case::declared(declaration.clone());
        commands.push((
            CommandBody::Declare(declaration),
            vec![Touch::new(kinds::CASE, case_id, &village, &case)?],
        ));
        let attached = self.attach_staged(
            photo_id,
            &staged,
            PhotoOwner::ProxyConfirmation { case_id },
            village.as_str(),
        )?;
        commands.push(attached.command.clone());
        let now = self.now();
        self.record_batch(commands, |tx| {
            attached.queue_in(tx, now)?;
            tx.execute("DELETE FROM form_drafts WHERE key = 'proxy'", [])?;
            Ok(())
        })?;
        Ok((case_id, household_id))
    }
}

/// An ID number in groups, easier to read aloud: `110105 19491231 002X`.
fn spaced_id(id: &str) -> String {
    if id.len() == 18 && id.is_ascii() {
        format!("{} {} {}", &id[..6], &id[6..14], &id[14..])
    } else {
        id.to_owned()
    }
}

#[cfg(test)]
mod tests;
