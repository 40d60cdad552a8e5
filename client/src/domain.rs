//! What a grid worker does, as local changes: each helper builds the command the server will
//! validate and the bodies the device shows meanwhile, then records both in one transaction
//! ([`LocalStore::record_command`]).
//!
//! The device checks what it can offline (an ID number's check digit, a household's own
//! rules) so the worker hears about a typo at once instead of after the next sync; the server
//! checks everything again, including what only it knows (scope, workflow state).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use yijian_core::case::{Case, CaseSource, Declaration};
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, HouseholdField};
use yijian_core::ids::{CaseId, CommandId, HouseholdId, PhotoId};
use yijian_core::protocol::{CommandBody, FieldConflict, FieldEdit};
use yijian_core::support::{PhotoMeta, PhotoMime, PhotoOwner, Sha256Hex};
use yijian_core::validation::ResidentIdNumber;
use yijian_core::visit::Visit;
use yijian_core::workflow::Step;

use yijian_core::protocol::{conflict_id, kinds};

use crate::error::{Error, Result};
use crate::store::{LocalStore, Touch};

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl LocalStore {
    /// A new household profile.
    pub fn create_household(&mut self, h: &Household) -> Result<CommandId> {
        h.validate().map_err(|e| Error::invalid(e.to_string()))?;
        let touch = Touch::new(kinds::HOUSEHOLD, h.id, &h.village, h)?;
        self.record_command(CommandBody::CreateHousehold(h.clone()), &[touch])
    }

    /// A declaration filed by a cadre (代申报) or a lead found on a visit (排查发现). The case
    /// shows on the device at once; the server adds the receipt number.
    pub fn declare(&mut self, d: &Declaration) -> Result<CommandId> {
        if d.applicant.name.trim().is_empty() {
            return Err(Error::invalid("请填写申请人姓名"));
        }
        ResidentIdNumber::parse(
            &d.applicant.id_number,
            yijian_core::time::china_date(self.now()),
        )
        .map_err(|e| Error::invalid(e.to_string()))?;
        if d.source == CaseSource::ProxyFiled {
            let proxy = d.proxy.as_ref().ok_or_else(|| {
                Error::invalid("代申报须记录代填人、与申请人关系和申请人确认（手印或签字照片）")
            })?;
            proxy
                .validate()
                .map_err(|e| Error::invalid(e.to_string()))?;
        }
        let case = Case::declared(d.clone());
        let touch = Touch::new(kinds::CASE, d.case_id, &d.village, &case)?;
        self.record_command(CommandBody::Declare(d.clone()), &[touch])
    }

    /// A workflow step on a case. The server owns the workflow: the device does not guess the
    /// next state, it only keeps the case from being overwritten until the server answers.
    pub fn case_step(&mut self, case_id: CaseId, step: Step) -> Result<CommandId> {
        let rec = self
            .record(kinds::CASE, &case_id.to_string())?
            .ok_or_else(|| Error::invalid(format!("本机没有这个案件（{case_id}），请先同步")))?;
        let touch = Touch {
            kind: rec.kind,
            id: rec.id,
            village: rec.village,
            body: rec.body,
        };
        self.record_command(CommandBody::CaseStep { case_id, step }, &[touch])
    }

    /// Save a visit (draft or final) of a household the device holds.
    pub fn save_visit(&mut self, v: &Visit) -> Result<CommandId> {
        let village = self.village_of(kinds::HOUSEHOLD, &v.household_id().to_string())?;
        let touch = Touch::new(kinds::VISIT, v.id(), village, v)?;
        self.record_command(CommandBody::SaveVisit(v.clone()), &[touch])
    }

    fn village_of(&self, kind: &str, id: &str) -> Result<String> {
        self.record(kind, id)?
            .map(|r| r.village)
            .ok_or_else(|| Error::invalid(format!("本机找不到该记录（{kind} {id}），请先同步")))
    }

    /// A photo already shrunk and saved at `file`: its metadata record goes to the outbox, its
    /// bytes to the upload queue (sent once the metadata is acknowledged), in one transaction.
    pub fn record_photo(
        &mut self,
        file: &Path,
        owner: PhotoOwner,
        width: u32,
        height: u32,
        taken_at: Option<DateTime<Utc>>,
    ) -> Result<PhotoMeta> {
        self.record_photo_as(PhotoId::new(), file, owner, width, height, taken_at)
    }

    /// [`LocalStore::record_photo`] with an id chosen beforehand: a proxy declaration names
    /// its confirmation photo, and the photo's record (owned by the case) must follow the
    /// declaration in the outbox, since the server files it under the case.
    pub fn record_photo_as(
        &mut self,
        id: PhotoId,
        file: &Path,
        owner: PhotoOwner,
        width: u32,
        height: u32,
        taken_at: Option<DateTime<Utc>>,
    ) -> Result<PhotoMeta> {
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let sha = Sha256Hex::parse(&sha256_hex(&bytes))
            .map_err(|e| Error::Corrupt(format!("sha256: {e}")))?;
        let village = match &owner {
            PhotoOwner::VisitItem { visit_id, .. } => {
                self.village_of(kinds::VISIT, &visit_id.to_string())?
            }
            PhotoOwner::Household { household_id } => {
                self.village_of(kinds::HOUSEHOLD, &household_id.to_string())?
            }
            PhotoOwner::Case { case_id }
            | PhotoOwner::ProxyConfirmation { case_id }
            | PhotoOwner::PublicNotice { case_id } => {
                self.village_of(kinds::CASE, &case_id.to_string())?
            }
        };
        let meta = PhotoMeta {
            id,
            sha256: sha.clone(),
            bytes: bytes.len() as u64,
            width,
            height,
            mime: PhotoMime::Jpeg,
            taken_at,
            owner,
            thumb_sha256: None,
        };
        meta.validate().map_err(|e| Error::invalid(e.to_string()))?;
        let id = meta.id.to_string();
        let touch = Touch::new(kinds::PHOTO, &id, village, &meta)?;
        let now = self.now();
        // The photo store keeps its own sealed copy: the original may be deleted, and the
        // queue never points at a plain file.
        let files = self.photo_files();
        files.write(sha.as_str(), &bytes)?;
        let path = files.path(sha.as_str());
        self.record_command_with(CommandBody::RecordPhoto(meta.clone()), &[touch], |tx| {
            LocalStore::queue_photo_in(
                tx,
                sha.as_str(),
                &path,
                meta.bytes,
                (kinds::PHOTO, &id),
                now,
            )
        })?;
        Ok(meta)
    }

    /// The household as the device shows it.
    pub fn household(&self, id: HouseholdId) -> Result<Option<Household>> {
        Ok(self
            .typed::<Household>(kinds::HOUSEHOLD, &id.to_string())?
            .map(|(h, _)| h))
    }

    /// Change household fields. Each edit carries the value the device saw before (`base`), so
    /// the server can merge per field and keep a conflict when someone else changed the same
    /// field meanwhile. Fields set to their current value are left out.
    pub fn edit_household(
        &mut self,
        id: HouseholdId,
        changes: &[(HouseholdField, Value)],
    ) -> Result<CommandId> {
        let (mut h, village) = self
            .typed::<Household>(kinds::HOUSEHOLD, &id.to_string())?
            .ok_or_else(|| Error::invalid(format!("本机没有这户的档案（{id}），请先同步")))?;
        let mut edits = Vec::new();
        for (field, value) in changes {
            let base = h.field_value(*field);
            h.set_field(*field, value.clone())
                .map_err(|e| Error::invalid(e.to_string()))?;
            let value = h.field_value(*field);
            if value != base {
                edits.push(FieldEdit {
                    field: field.key().to_owned(),
                    base,
                    value,
                });
            }
        }
        if edits.is_empty() {
            return Err(Error::invalid("没有需要保存的修改"));
        }
        let touch = Touch::new(kinds::HOUSEHOLD, id, village, &h)?;
        self.record_command(
            CommandBody::EditHousehold {
                household_id: id,
                edits,
            },
            &[touch],
        )
    }

    /// Field conflicts the device holds (unresolved only unless `all`).
    pub fn conflicts(&self, all: bool) -> Result<Vec<FieldConflict>> {
        let mut out = Vec::new();
        for r in self.records(Some(kinds::CONFLICT))? {
            let c: FieldConflict = serde_json::from_value(r.body)?;
            if all || !c.resolved {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Settle a conflict by choosing the field's value (base, theirs, mine or a new one).
    pub fn resolve_conflict(
        &mut self,
        household_id: HouseholdId,
        field: HouseholdField,
        chosen: Value,
    ) -> Result<CommandId> {
        let cid = conflict_id(household_id, field.key());
        let (mut conflict, village) = self
            .typed::<FieldConflict>(kinds::CONFLICT, &cid)?
            .ok_or_else(|| Error::invalid(format!("本机没有这条档案冲突（{cid}）")))?;
        let mut h = self
            .household(household_id)?
            .ok_or_else(|| Error::invalid(format!("本机没有这户的档案（{household_id}）")))?;
        h.set_field(field, chosen.clone())
            .map_err(|e| Error::invalid(e.to_string()))?;
        conflict.resolved = true;
        let touches = [
            Touch::new(kinds::HOUSEHOLD, household_id, &village, &h)?,
            Touch::new(kinds::CONFLICT, &cid, &village, &conflict)?,
        ];
        self.record_command(
            CommandBody::ResolveConflict {
                household_id,
                field: field.key().to_owned(),
                chosen: h.field_value(field),
            },
            &touches,
        )
    }

    /// A free-form document (the sync benchmark's workload; stored as kind `doc:<kind>`).
    pub fn put_document(
        &mut self,
        kind: &str,
        id: &str,
        village: &DivisionCode,
        data: Value,
    ) -> Result<CommandId> {
        if kind.is_empty() || id.is_empty() {
            return Err(Error::invalid("文档类型和编号不能为空"));
        }
        let touch = Touch::new(
            format!("{}{kind}", kinds::DOCUMENT_PREFIX),
            id,
            village,
            &data,
        )?;
        self.record_command(
            CommandBody::PutDocument {
                kind: kind.to_owned(),
                id: id.to_owned(),
                village: village.clone(),
                data,
            },
            &[touch],
        )
    }
}

/// What [`LocalStore::seed_households`] made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub households: u64,
    pub visits: u64,
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "马", "何",
];
const GIVEN: [&str; 8] = [
    "建国", "秀英", "志强", "桂兰", "海军", "玉梅", "永福", "春花",
];

impl LocalStore {
    /// Test data made offline, valid by the server's rules: `n` households in `village`, each
    /// with a head of household, and (when `visitor` is the signed-in user) a draft home visit
    /// each. Every household and visit is its own command, as a worker would make them.
    pub fn seed_households(
        &mut self,
        village: &DivisionCode,
        n: u64,
        visitor: Option<yijian_core::ids::UserId>,
    ) -> Result<SeedReport> {
        use yijian_core::household::{Member, Relation};
        use yijian_core::ids::{MemberId, VisitId};
        use yijian_core::visit::VisitPurpose;

        let template = yijian_core::checklist::default_template();
        let mut report = SeedReport::default();
        for i in 0..n {
            let idx = usize::try_from(i).unwrap_or(0);
            let mut h = Household::new(
                HouseholdId::new(),
                village.clone(),
                format!("{}社{}号", i / 40 + 1, i % 40 + 1),
            )
            .map_err(|e| Error::invalid(e.to_string()))?;
            h.door_plate = Some(format!("{}-{:03}", village.as_str(), i + 1));
            let name = format!(
                "{}{}",
                SURNAMES[idx % SURNAMES.len()],
                GIVEN[(idx / SURNAMES.len()) % GIVEN.len()]
            );
            h.add_member(Member::new(MemberId::new(), name, Relation::Head))
                .map_err(|e| Error::invalid(e.to_string()))?;
            self.create_household(&h)?;
            report.households += 1;
            if let Some(visitor) = visitor {
                let v = Visit::new(
                    VisitId::new(),
                    h.id,
                    None,
                    VisitPurpose::Verification,
                    &template,
                    visitor,
                    self.now(),
                );
                self.save_visit(&v)?;
                report.visits += 1;
            }
        }
        Ok(report)
    }
}
