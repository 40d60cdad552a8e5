//! 照片: photo metadata (the bytes travel apart, named by their SHA-256).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, HouseholdId, PhotoId, VisitId};

use super::*;

/// Why a string is not a SHA-256 digest in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Sha256HexError {
    #[error("SHA-256摘要应为64位十六进制字符，实际为{0}位")]
    WrongLength(usize),
    #[error("SHA-256摘要只能包含小写十六进制字符（0-9、a-f）")]
    NotLowerHex,
}

/// A SHA-256 digest as 64 lowercase hex characters: the name of a photo's bytes on the device,
/// on the wire and in the blob store. Only the canonical spelling is accepted, so one content
/// has exactly one name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(s: &str) -> Result<Sha256Hex, Sha256HexError> {
        if s.len() != 64 {
            return Err(Sha256HexError::WrongLength(s.chars().count()));
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Sha256HexError::NotLowerHex);
        }
        Ok(Sha256Hex(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Sha256Hex {
    type Err = Sha256HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256Hex::parse(s)
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = Sha256HexError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Sha256Hex::parse(&s)
    }
}

impl From<Sha256Hex> for String {
    fn from(h: Sha256Hex) -> String {
        h.0
    }
}

/// Photo formats accepted. Photos are re-encoded as JPEG on the device when taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PhotoMime {
    #[serde(rename = "image/jpeg")]
    Jpeg,
}

impl PhotoMime {
    pub const fn as_str(self) -> &'static str {
        match self {
            PhotoMime::Jpeg => "image/jpeg",
        }
    }
}

/// What a photo documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhotoOwner {
    /// One item of a visit's checklist (house, water source, medical bills, …).
    VisitItem {
        visit_id: VisitId,
        item_key: String,
    },
    Case {
        case_id: CaseId,
    },
    Household {
        household_id: HouseholdId,
    },
    /// The applicant's thumbprint or signature confirming a proxy filing.
    ProxyConfirmation {
        case_id: CaseId,
    },
    /// The public notice (公示) posted in the village.
    PublicNotice {
        case_id: CaseId,
    },
}

/// A photo's metadata; the bytes travel separately, named by their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoMeta {
    pub id: PhotoId,
    pub sha256: Sha256Hex,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub mime: PhotoMime,
    /// From the camera; device clocks may be wrong, so this is evidence, not an ordering.
    pub taken_at: Option<DateTime<Utc>>,
    pub owner: PhotoOwner,
    pub thumb_sha256: Option<Sha256Hex>,
}

impl PhotoMeta {
    /// Non-empty file and picture; a checklist item is named.
    pub fn validate(&self) -> Result<(), SupportError> {
        if self.bytes == 0 {
            return Err(SupportError::EmptyPhoto("文件大小"));
        }
        if self.width == 0 {
            return Err(SupportError::EmptyPhoto("宽度"));
        }
        if self.height == 0 {
            return Err(SupportError::EmptyPhoto("高度"));
        }
        if let PhotoOwner::VisitItem { item_key, .. } = &self.owner
            && item_key.trim().is_empty()
        {
            return Err(SupportError::EmptyItemKey);
        }
        Ok(())
    }
}
