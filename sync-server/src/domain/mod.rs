//! What the server decides: the procedure's rules applied to stored records.
//!
//! Everything here runs inside one storage transaction ([`crate::store::tx::RecordTx`]) and is
//! written once for both databases; it knows nothing of HTTP or HTML.
//!
//! - [`apply`]: what a command pushed by a device does (role, scope, workflow, evidence).
//! - [`resident`]: what a resident does without an account (declare, look up, appeal).
//! - [`cases`]: the case index (stage, clocks, owners) kept beside each case record.
//! - [`procedure`]: the holiday calendar and deadline rules in force.
//! - [`deadlines`]: the job that reminds and escalates by those clocks.
//! - [`accounts`]: users, device sessions, passwords and tokens.

pub mod accounts;
pub mod alerts;
pub mod apply;
pub mod cases;
pub mod deadlines;
pub mod procedure;
pub mod register;
pub mod resident;
pub mod sign_in;
pub mod spot_checks;
