//! Identifiers: one UUIDv7 newtype per entity.
//!
//! Ids are made on the device that creates the thing, offline, so they must be globally unique
//! without asking anyone; UUIDv7 also sorts by creation time, which keeps SQLite's b-trees and
//! the change feed append-mostly. A newtype per entity makes it a compile error to pass a
//! visit's id where a case's is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("编号格式不正确：{0}")]
    Malformed(String),
    #[error("编号不是按时间生成的UUIDv7：{0}")]
    NotV7(String),
}

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[derive(ts_rs::TS)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh id for something created now.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// An id made from a known millisecond timestamp and random bits, so tests and
            /// simulations can be deterministic.
            pub fn from_parts(unix_ms: u64, random: u128) -> Self {
                let v = (u128::from(unix_ms & 0xFFFF_FFFF_FFFF) << 80)
                    | (0x7u128 << 76)
                    | ((random >> 64) & 0x0FFF) << 64
                    | (0b10u128 << 62)
                    | (random & 0x3FFF_FFFF_FFFF_FFFF);
                Self(Uuid::from_u128(v))
            }

            /// Accept only a UUIDv7 (the ids this system makes).
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let u = Uuid::parse_str(s.trim()).map_err(|_| IdError::Malformed(s.to_owned()))?;
                if u.get_version_num() != 7 {
                    return Err(IdError::NotV7(s.to_owned()));
                }
                Ok(Self(u))
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Milliseconds since the Unix epoch at which the id was made.
            pub fn unix_ms(&self) -> u64 {
                (self.0.as_u128() >> 80) as u64
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

entity_id!(
    /// A household (户).
    HouseholdId
);
entity_id!(
    /// A person in a household.
    MemberId
);
entity_id!(
    /// A case: a declaration or a lead, followed to its end.
    CaseId
);
entity_id!(
    /// A home visit (入户核查 or 回访).
    VisitId
);
entity_id!(
    /// A version of a checklist template.
    TemplateId
);
entity_id!(
    /// A one-household-one-plan (一户一策).
    PlanId
);
entity_id!(
    /// One assistance measure inside a plan.
    MeasureId
);
entity_id!(
    /// A scheduled or done follow-up (回访).
    FollowUpId
);
entity_id!(
    /// An appeal (申诉) against a rejection.
    AppealId
);
entity_id!(
    /// A photo's metadata record (the bytes are named by SHA-256).
    PhotoId
);
entity_id!(
    /// A department's risk alert (部门预警).
    AlertId
);
entity_id!(
    /// A user account.
    UserId
);
entity_id!(
    /// A device (one phone or PC login).
    DeviceId
);
entity_id!(
    /// A sync command, made on the device; the server's idempotency key.
    CommandId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v7_and_sort_by_time() {
        let a = CaseId::from_parts(1_700_000_000_000, 42);
        let b = CaseId::from_parts(1_700_000_000_001, 1);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.unix_ms(), 1_700_000_000_000);
        let fresh = CaseId::new();
        assert_eq!(fresh.as_uuid().get_version_num(), 7);
        assert_ne!(fresh, CaseId::new());
    }

    #[test]
    fn parse_round_trip_and_rejects_other_versions() {
        let id = VisitId::new();
        assert_eq!(VisitId::parse(&id.to_string()), Ok(id));
        assert!(matches!(
            VisitId::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
            Err(IdError::NotV7(_))
        ));
        assert!(matches!(VisitId::parse("nope"), Err(IdError::Malformed(_))));
    }

    #[test]
    fn serde_is_a_plain_string() {
        let id = HouseholdId::from_parts(1, 2);
        let json = serde_json::to_string(&id).expect("ser");
        assert_eq!(json, format!("\"{id}\""));
        let back: HouseholdId = serde_json::from_str(&json).expect("de");
        assert_eq!(back, id);
    }
}
