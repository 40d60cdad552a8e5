//! The household record: its members, village, category and monitoring status.

use crate::case::MonitoringCategory;
use crate::division::DivisionCode;
use crate::ids::{HouseholdId, MemberId};
use crate::validation::MobileNumber;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// A household (户) as stored and synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub id: HouseholdId,
    /// The village (12-digit code); decides who may see the household.
    pub village: DivisionCode,
    /// 门牌号 / 户码, as printed on the door-plate QR code.
    pub door_plate: Option<String>,
    pub address: String,
    /// The member who is 户主; that member's relation is [`Relation::Head`].
    pub head: Option<MemberId>,
    pub members: Vec<Member>,
    /// 监测对象类型, once the household has been identified.
    pub category: Option<MonitoringCategory>,
    pub monitoring: MonitoringStatus,
    /// 脱贫户: was registered as poor (建档立卡) and lifted out of poverty. Decides which
    /// category fits: 脱贫不稳定户 only for such households, 边缘易致贫户 only for others.
    pub formerly_poor: bool,
    /// The household's contact phone.
    pub phone: Option<MobileNumber>,
}

impl Household {
    /// An empty, unmonitored household in `village` at `address`.
    pub fn new(
        id: HouseholdId,
        village: DivisionCode,
        address: impl Into<String>,
    ) -> Result<Household, HouseholdError> {
        check_village(&village)?;
        let address = address.into().trim().to_owned();
        if address.is_empty() {
            return Err(HouseholdError::EmptyAddress);
        }
        Ok(Household {
            id,
            village,
            door_plate: None,
            address,
            head: None,
            members: Vec::new(),
            category: None,
            monitoring: MonitoringStatus::NotMonitored,
            formerly_poor: false,
            phone: None,
        })
    }

    pub fn member(&self, id: MemberId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The head of household, if one is recorded and present.
    pub fn head_member(&self) -> Option<&Member> {
        self.head.and_then(|id| self.member(id))
    }

    /// Members who actually live with the household (共同生活).
    pub fn members_living_together(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.living_together)
    }

    /// Whether a member living together counts as working-age labour on `today` (see
    /// [`Member::counts_as_labour`]: aged 16–59 inclusive, labour capacity not lost, not
    /// seriously ill, not severely disabled).
    ///
    /// A household with no working-age member is never closed out of monitoring (风险消除),
    /// whatever its income: the workflow must check this before risk elimination.
    pub fn has_working_age_member(&self, today: NaiveDate) -> bool {
        self.members_living_together()
            .any(|m| m.counts_as_labour(today))
    }

    /// Children aged 6–15 on `today` recorded as out of compulsory school (失学辍学), whether
    /// or not they live with the household: a registered child out of school fails 三保障
    /// wherever the child stays.
    pub fn children_out_of_school(&self, today: NaiveDate) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(move |m| m.is_child_out_of_school(today))
    }

    /// Add a member, keeping the household's invariants: unique member id and ID number, at
    /// most one head (a member added as head becomes the household's head).
    pub fn add_member(&mut self, member: Member) -> Result<(), HouseholdError> {
        member.validate(self.members.len() + 1)?;
        if self.member(member.id).is_some() {
            return Err(HouseholdError::DuplicateMemberId(member.id));
        }
        self.check_against_others(&member)?;
        if member.relation == Relation::Head {
            self.head = Some(member.id);
        }
        self.members.push(member);
        Ok(())
    }

    /// Remove a member (moved out, deceased); removing the head leaves the household without
    /// one until another member is made head.
    pub fn remove_member(&mut self, id: MemberId) -> Result<Member, HouseholdError> {
        let idx = self
            .members
            .iter()
            .position(|m| m.id == id)
            .ok_or(HouseholdError::NoSuchMember(id))?;
        if self.head == Some(id) {
            self.head = None;
        }
        Ok(self.members.remove(idx))
    }

    /// Check the whole record: village level, address, every member, one head consistent with
    /// the relations, unique member ids and ID numbers, category fitting the household's
    /// history. Returns the first problem found.
    pub fn validate(&self) -> Result<(), HouseholdError> {
        check_village(&self.village)?;
        if self.address.trim().is_empty() {
            return Err(HouseholdError::EmptyAddress);
        }
        for (i, m) in self.members.iter().enumerate() {
            m.validate(i + 1)?;
            if let Some(first) = self.members[..i].iter().find(|o| o.id == m.id) {
                return Err(HouseholdError::DuplicateMemberId(first.id));
            }
            if let Some(n) = &m.id_number
                && let Some(first) = self.members[..i]
                    .iter()
                    .find(|o| o.id_number.as_ref() == Some(n))
            {
                return Err(duplicate_id_number(n, first, m));
            }
        }
        let heads: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.relation == Relation::Head)
            .collect();
        if heads.len() > 1 {
            return Err(HouseholdError::MultipleHeads(heads.len()));
        }
        match (self.head, heads.first()) {
            (None, None) => {}
            (None, Some(m)) => {
                return Err(HouseholdError::HeadNotRecorded {
                    name: m.name.clone(),
                });
            }
            (Some(id), _) => match self.member(id) {
                None => return Err(HouseholdError::HeadNotAMember),
                Some(m) if m.relation != Relation::Head => {
                    return Err(HouseholdError::HeadRelationMismatch {
                        name: m.name.clone(),
                        relation: m.relation,
                    });
                }
                Some(_) => {}
            },
        }
        match self.category {
            Some(MonitoringCategory::UnstableFormerlyPoor) if !self.formerly_poor => {
                Err(HouseholdError::CategoryNeedsFormerlyPoor)
            }
            Some(MonitoringCategory::MarginalAtRisk) if self.formerly_poor => {
                Err(HouseholdError::CategoryExcludesFormerlyPoor)
            }
            _ => Ok(()),
        }
    }

    /// The current value of one household field, in the wire format.
    pub fn field_value(&self, field: HouseholdField) -> Value {
        match field {
            HouseholdField::Address => to_json(&self.address),
            HouseholdField::DoorPlate => to_json(&self.door_plate),
            HouseholdField::Phone => to_json(&self.phone),
            HouseholdField::Category => to_json(&self.category),
            HouseholdField::Monitoring => to_json(&self.monitoring),
            HouseholdField::FormerlyPoor => Value::Bool(self.formerly_poor),
        }
    }

    /// Set one household field from a wire-format value, checking the value itself. Text is
    /// trimmed; an empty door plate or phone clears it. Rules across fields (category versus
    /// 脱贫户) are left to [`Household::validate`], so that two edits merged in either order
    /// both apply.
    pub fn set_field(&mut self, field: HouseholdField, value: Value) -> Result<(), HouseholdError> {
        let label = field.label_zh();
        match field {
            HouseholdField::Address => {
                let address = string_value(label, value)?;
                if address.trim().is_empty() {
                    return Err(HouseholdError::EmptyAddress);
                }
                self.address = address.trim().to_owned();
            }
            HouseholdField::DoorPlate => self.door_plate = optional_string(label, value)?,
            HouseholdField::Phone => {
                self.phone = optional_string(label, value)?
                    .map(|s| MobileNumber::parse(&s).map_err(|e| invalid(label, e.to_string())))
                    .transpose()?;
            }
            HouseholdField::Category => self.category = typed(label, value)?,
            HouseholdField::Monitoring => self.monitoring = typed(label, value)?,
            HouseholdField::FormerlyPoor => self.formerly_poor = bool_value(label, value)?,
        }
        Ok(())
    }

    /// Set one field of one member. Besides the member's own checks: a member made head
    /// becomes the household's head (refused if another member is head), a head given another
    /// relation leaves the household without a head, and an ID number already used by another
    /// member is refused.
    pub fn set_member_field(
        &mut self,
        member: MemberId,
        field: MemberField,
        value: Value,
    ) -> Result<(), HouseholdError> {
        let idx = self
            .members
            .iter()
            .position(|m| m.id == member)
            .ok_or(HouseholdError::NoSuchMember(member))?;
        let mut updated = self.members[idx].clone();
        updated.set_field(field, value)?;
        self.check_against_others(&updated)?;
        if updated.relation == Relation::Head {
            self.head = Some(member);
        } else if self.head == Some(member) {
            self.head = None;
        }
        self.members[idx] = updated;
        Ok(())
    }

    /// Rules between `member` and every other member of the household.
    fn check_against_others(&self, member: &Member) -> Result<(), HouseholdError> {
        let others = || self.members.iter().filter(|o| o.id != member.id);
        if member.relation == Relation::Head && others().any(|o| o.relation == Relation::Head) {
            return Err(HouseholdError::MultipleHeads(2));
        }
        if let Some(n) = &member.id_number
            && let Some(other) = others().find(|o| o.id_number.as_ref() == Some(n))
        {
            return Err(duplicate_id_number(n, other, member));
        }
        Ok(())
    }
}
