//! The case workflow as an explicit state machine.
//!
//! A case moves through the real procedure of 防止返贫动态监测和帮扶: declared → accepted →
//! home verification → verified (qualifies or not) → cross-check → 民主评议 → 公示 → township
//! review → county approval or rejection → 一户一策 plan → assistance with follow-ups → risk
//! elimination → closed; an appeal only after a rejection, decided one level up; and the green
//! channel (先帮扶后认定) where help comes first and identification is completed afterwards.
//!
//! Every step is a row of [`RULES`]: the stages it may start from, the roles that may take it,
//! and (in [`apply`]) its preconditions and required evidence. The server owns the workflow:
//! it calls [`apply`] for every step a device pushes, with evidence read from its own records,
//! and a refused step is a typed [`WorkflowError`] that the device shows in its quarantine.

mod apply;
mod rules;
mod stage;
mod state;
mod step;
#[cfg(test)]
mod tests;

pub use apply::*;
pub use rules::*;
pub use stage::*;
pub use state::*;
pub use step::*;
