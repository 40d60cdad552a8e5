//! The home-verification checklist (入户核查表) as data.
//!
//! A province changes its form by publishing a new [`ChecklistTemplate`] version, which the
//! server sends to phones as JSON; no app release is needed. A template is a list of
//! [`Section`]s of [`Item`]s, each with a kind ([`ItemKind`]), whether it is required, which
//! photos it needs ([`PhotoRequirement`]) and when it is shown at all ([`Condition`], the skip
//! logic). The template also carries a small declarative table, [`Derivation`], that says which
//! items are the household size, which are income, costs and rigid spending, and which checks
//! decide 两不愁、三保障 and 饮水安全; [`evaluate`] reads only that table, so a new version of
//! the form reuses the derivation by naming its own items.
//!
//! Answers are a map from item key to [`Answer`]. Photos may also be attached to any item
//! ([`ItemPhotos`]), e.g. the photo of the house under 住房安全等级. Photo-only items
//! ([`ItemKind::Photo`]) and the signed authorisation ([`ItemKind::Signature`]) keep their
//! photos in their answer.
//!
//! Three functions read answers against a template, all pure and cheap enough to run on every
//! keystroke: [`evaluate`] (derived results), [`validate_answers`] (typing errors) and
//! [`check_complete`] (may the visit be finalised).
//!
//! # Skip logic and unknowns
//! Conditions are evaluated in three-valued logic: a condition about an item that is hidden,
//! unanswered or answered with the wrong type is *unknown*, and `not`/`all`/`any` follow Kleene's
//! rules (`any` is true as soon as one part is true, even if others are unknown). An item is
//! shown only when its condition is *true*, so "reason out of school" stays hidden until "a
//! child is out of school" is answered yes. A condition may refer only to items that come
//! before it in the template ([`ChecklistTemplate::validate`] enforces this), so visibility is
//! one pass in template order, and an answer to a hidden item never shows or hides anything.
//! Answers to hidden items are kept while editing but ignored by every derivation and check.

use std::collections::BTreeMap;

use crate::ids::PhotoId;

mod answer;
mod condition;
mod default;
mod derivation;
mod evaluate;
mod template;
#[cfg(test)]
pub(crate) mod tests;

pub use answer::*;
pub use condition::*;
pub use default::*;
pub use derivation::*;
pub use evaluate::*;
pub use template::*;

/// The monitoring line (监测线) when a province has not set its own: annual net income per
/// person, in yuan.
pub const DEFAULT_MONITORING_LINE_YUAN: i64 = 6000;

/// The code of the built-in Gansu template.
pub const DEFAULT_TEMPLATE_CODE: &str = "gansu-home-verification";

/// The largest amount of money one answer may hold: ¥1,000,000,000 (10亿元), in fen. Larger
/// figures are typing errors, and the bound keeps every sum far from `i64` overflow.
pub const MAX_MONEY_FEN: i64 = 100_000_000_000;

/// Answers to a checklist, by item key.
pub type Answers = BTreeMap<String, Answer>;

/// Photos attached to items that are not themselves photo items, by item key.
pub type ItemPhotos = BTreeMap<String, Vec<PhotoId>>;
