//! Sync protocol wire types: what devices and the server say to each other.
//!
//! Devices push **commands** (each a thing a worker did, with a device-made UUIDv7 id that makes
//! a retried push a no-op) and pull a **change feed** of their scope from an opaque **cursor**.
//! A first sync reads a paged, resumable **snapshot** instead of replaying history.
//!
//! Phones update late. A server that learns a new record or command type must not break an
//! older app, so every tagged enum that crosses the wire travels inside [`Wire`]: a type the
//! reader does not know arrives as [`Wire::Unknown`] with its raw JSON kept (the app stores it and
//! can apply it after an upgrade) instead of failing the whole page. A *known* type whose data is
//! malformed is still an error: tolerance is for the future, not for bugs.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::case::{Case, Declaration};
use crate::checklist::ChecklistTemplate;
use crate::division::DivisionCode;
use crate::hlc::Hlc;
use crate::household::Household;
use crate::ids::{CaseId, CommandId, DeviceId, HouseholdId};
use crate::support::{Appeal, FollowUp, PhotoMeta, Plan};
use crate::visit::Visit;
use crate::workflow::Step;

pub mod auth;
pub mod kinds;
pub mod procedure;

/// Version of this protocol; sent with every request so the server can refuse what it cannot
/// serve with a clear message instead of misreading it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Tagged enums that travel inside [`Wire`] list the tags they know.
pub trait KnownTags {
    /// Every `"type"` value this enum (de)serialises.
    const TAGS: &'static [&'static str];
}

/// A tagged value that may be of a type this program does not know yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire<T> {
    Known(T),
    /// From a newer peer: kept as it came, so it can be stored and applied after an upgrade.
    Unknown {
        kind: String,
        data: Value,
    },
}

impl<T> Wire<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Wire::Known(t) => Some(t),
            Wire::Unknown { .. } => None,
        }
    }
}

impl<T> From<T> for Wire<T> {
    fn from(t: T) -> Self {
        Wire::Known(t)
    }
}

impl<T: Serialize> Serialize for Wire<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Wire::Known(t) => t.serialize(s),
            Wire::Unknown { kind, data } => {
                #[derive(Serialize)]
                struct Raw<'a> {
                    #[serde(rename = "type")]
                    kind: &'a str,
                    data: &'a Value,
                }
                Raw { kind, data }.serialize(s)
            }
        }
    }
}

impl<'de, T: DeserializeOwned + KnownTags> Deserialize<'de> for Wire<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(d)?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| D::Error::custom("missing string field \"type\""))?
            .to_owned();
        if T::TAGS.contains(&kind.as_str()) {
            return T::deserialize(value)
                .map(Wire::Known)
                .map_err(D::Error::custom);
        }
        let data = match value {
            Value::Object(mut map) => map.remove("data").unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Ok(Wire::Unknown { kind, data })
    }
}

/// One field of a household profile changed offline: what the device saw before (`base`) and
/// what it wrote (`value`). The server merges per field and keeps a conflict when two devices
/// changed the same field from the same base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEdit {
    pub field: String,
    pub base: Value,
    pub value: Value,
}

/// What a device asks the server to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum CommandBody {
    Declare(Declaration),
    CaseStep {
        case_id: CaseId,
        step: Step,
    },
    CreateHousehold(Household),
    EditHousehold {
        household_id: HouseholdId,
        edits: Vec<FieldEdit>,
    },
    SaveVisit(Visit),
    RecordPhoto(PhotoMeta),
    SavePlan(Plan),
    SaveFollowUp(FollowUp),
    ResolveConflict {
        household_id: HouseholdId,
        field: String,
        chosen: Value,
    },
    /// A free-form document outside the domain's record kinds (stored as kind `doc:<kind>`).
    /// Refused unless the server is configured to accept raw documents; used to measure the sync
    /// machinery with the reference workload, whose documents are not this domain's types.
    PutDocument {
        kind: String,
        id: String,
        village: DivisionCode,
        data: Value,
    },
}

impl KnownTags for CommandBody {
    const TAGS: &'static [&'static str] = &[
        "declare",
        "case_step",
        "create_household",
        "edit_household",
        "save_visit",
        "record_photo",
        "save_plan",
        "save_follow_up",
        "resolve_conflict",
        "put_document",
    ];
}

/// One command in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Made on the device; the server's idempotency key together with `device_id`.
    pub id: CommandId,
    pub hlc: Hlc,
    pub body: Wire<CommandBody>,
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: DeviceId,
    pub commands: Vec<Command>,
}

/// What became of one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Applied by an earlier push of the same command (same id, same body): nothing done.
    AlreadyApplied,
    /// Refused for good: goes to the device's quarantine with the reason.
    Refused {
        code: String,
        message_zh: String,
        message_en: String,
    },
}

impl KnownTags for Outcome {
    const TAGS: &'static [&'static str] = &["applied", "already_applied", "refused"];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    pub id: CommandId,
    pub outcome: Wire<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub server_time: DateTime<Utc>,
    pub results: Vec<CommandResult>,
}

/// A position in the change feed. Opaque to devices: only the server reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// A field two devices changed differently from the same base: a person must choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub household_id: HouseholdId,
    pub field: String,
    pub base: Value,
    pub theirs: Value,
    pub mine: Value,
    pub resolved: bool,
}

/// Id of the conflict record of one household field.
pub fn conflict_id(household: HouseholdId, field: &str) -> String {
    format!("{household}:{field}")
}

/// A record the change feed or a snapshot carries.
// A record is parsed, matched and stored once per row; boxing the case would change every
// match for a few hundred bytes on the stack.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Record {
    Household(Household),
    Case(Case),
    Visit(Visit),
    Photo(PhotoMeta),
    Plan(Plan),
    FollowUp(FollowUp),
    Appeal(Appeal),
    Conflict(FieldConflict),
    Template(ChecklistTemplate),
}

impl KnownTags for Record {
    const TAGS: &'static [&'static str] = &[
        kinds::HOUSEHOLD,
        kinds::CASE,
        kinds::VISIT,
        kinds::PHOTO,
        kinds::PLAN,
        kinds::FOLLOW_UP,
        kinds::APPEAL,
        kinds::CONFLICT,
        kinds::TEMPLATE,
    ];
}

/// One entry of the change feed: the current body of a record that changed.
///
/// The body travels as raw JSON and is stored as such on the device: the sync layer never
/// needs to understand it, which keeps the first sync fast and lets an older app keep records
/// of kinds it does not know. [`Change::decode`] gives the typed record where one is wanted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// Record kind: a [`Record`] tag (`"household"`, `"case"`, …) or a newer one.
    pub kind: String,
    pub id: String,
    /// The village the record belongs to (decides who may see it).
    pub village: String,
    pub hlc: Hlc,
    /// Per-record version, +1 on every write.
    pub version: i64,
    /// `None`: the record was deleted.
    pub data: Option<Box<RawValue>>,
}

impl PartialEq for Change {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.id == other.id
            && self.village == other.village
            && self.hlc == other.hlc
            && self.version == other.version
            && self.data.as_ref().map(|d| d.get()) == other.data.as_ref().map(|d| d.get())
    }
}

impl Change {
    /// The typed record, `Wire::Unknown` for a kind this program does not know, `None` for a
    /// deletion. A known kind with a malformed body is an error.
    pub fn decode(&self) -> Result<Option<Wire<Record>>, serde_json::Error> {
        let Some(data) = &self.data else {
            return Ok(None);
        };
        if !Record::TAGS.contains(&self.kind.as_str()) {
            return Ok(Some(Wire::Unknown {
                kind: self.kind.clone(),
                data: serde_json::from_str(data.get())?,
            }));
        }
        let tagged = format!(
            "{{\"type\":{},\"data\":{}}}",
            serde_json::to_string(&self.kind)?,
            data.get()
        );
        serde_json::from_str::<Record>(&tagged).map(|r| Some(Wire::Known(r)))
    }

    /// A change carrying `record`.
    pub fn of(
        record: &Record,
        id: String,
        village: String,
        hlc: Hlc,
        version: i64,
    ) -> Result<Change, serde_json::Error> {
        let value = serde_json::to_value(record)?;
        let kind = value["type"].as_str().unwrap_or_default().to_owned();
        let data = serde_json::value::to_raw_value(&value["data"])?;
        Ok(Change {
            kind,
            id,
            village,
            hlc,
            version,
            data: Some(data),
        })
    }
}

/// `GET /v1/sync/pull?cursor=…&limit=…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub server_time: DateTime<Utc>,
    pub changes: Vec<Change>,
    /// Where to continue from; saved in the same transaction as the changes.
    pub next_cursor: Cursor,
    pub has_more: bool,
}

/// A message for the signed-in user's office (role at a division): a new declaration in the
/// village, a deadline one working day away, an overdue step escalated. The same messages the
/// console lists; the app keeps them so a worker sees them offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Increasing per server; a device asks for those after the highest it holds.
    pub id: i64,
    pub case_id: Option<String>,
    /// The message template, e.g. `new_declaration`, `due_soon`, `escalated`.
    pub kind: String,
    pub text_zh: String,
    pub at: DateTime<Utc>,
}

/// `GET /v1/notices?after=…&limit=…`: the user's messages with an id above `after`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticesResponse {
    pub server_time: DateTime<Utc>,
    pub notices: Vec<Notice>,
    /// More than `limit` were waiting: ask again after the last one.
    pub has_more: bool,
}

/// One page of a first-sync snapshot. Resumable: a device that lost the connection asks for
/// `next_page` again; `resume_cursor` is where the change feed continues once all pages are in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPage {
    pub server_time: DateTime<Utc>,
    pub records: Vec<Change>,
    pub next_page: Option<String>,
    pub total_records: u64,
    pub resume_cursor: Cursor,
}

#[cfg(test)]
mod tests;
