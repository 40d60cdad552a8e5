//! 代申报: the record of a declaration a cadre filed for a resident.

use serde::{Deserialize, Serialize};

use crate::ids::{PhotoId, UserId};

use super::*;

/// How the applicant confirmed a proxy filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationKind {
    /// 按手印
    Thumbprint,
    /// 签字
    Signature,
}

impl ConfirmationKind {
    pub const fn name_zh(self) -> &'static str {
        match self {
            ConfirmationKind::Thumbprint => "按手印",
            ConfirmationKind::Signature => "签字",
        }
    }
}

/// The record of a declaration filed by a cadre on an applicant's behalf (代申报): the cadre
/// fills the form, reads it back to the applicant, and the applicant confirms with a
/// thumbprint or signature that is photographed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyFiling {
    pub filled_by: UserId,
    pub filler_name: String,
    /// e.g. 驻村干部, 帮扶干部, 网格员, 亲属.
    pub relation_to_applicant: String,
    pub read_back_done: bool,
    pub confirmation: ConfirmationKind,
    /// `None` while the filing is a draft on the cadre's phone; required to submit.
    pub confirmation_photo: Option<PhotoId>,
}

impl ProxyFiling {
    /// Ready to submit: the filler is named, the form was read back, and the confirmation
    /// photo is attached.
    pub fn validate(&self) -> Result<(), SupportError> {
        if self.filler_name.trim().is_empty() {
            return Err(SupportError::EmptyFillerName);
        }
        if self.relation_to_applicant.trim().is_empty() {
            return Err(SupportError::EmptyFillerRelation);
        }
        if !self.read_back_done {
            return Err(SupportError::NotReadBack);
        }
        if self.confirmation_photo.is_none() {
            return Err(SupportError::MissingConfirmationPhoto);
        }
        Ok(())
    }
}
