//! Demonstration data: staff of every level and cases at every stage of the procedure, made
//! by the same code paths as real use, so `make run` opens on a console that shows something
//! and the browser tests have cases to act on.
//!
//! Nothing here writes records directly. Declarations go through the public form's
//! [`resident::declare`]; every later step is a command pushed by the seeded user whose job it
//! is, from a device of theirs, checked and applied by [`crate::domain::apply`] exactly as a phone's
//! would be — at a time in the past, so the deadline clocks show cases on time, due soon and
//! overdue. Photos are drawn stand-ins ([`crate::web::print::sheet::demo_photo`]) stored in the blob store.
//!
//! The figures are invented: names, ID numbers (valid check digits, invented people) and
//! phone numbers (the 138 0000 00xx and 139 0000 xxxx ranges).

use crate::store::StorageError;
use serde::Serialize;

mod register;
mod scripts;
mod seed;
mod seeder;
mod staff;
mod township;

use register::*;
use scripts::*;
pub use seed::*;
use seeder::*;
use staff::*;
pub use township::*;

/// The password of every demonstration account.
pub const DEMO_PASSWORD: &str = "yijian2026";

/// Why the demonstration data could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database already has users; demonstration data is only added to an empty one")]
    NotEmpty,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("demo step refused ({what}): {message}")]
    Refused { what: String, message: String },
    #[error("demo data invalid: {0}")]
    Invalid(String),
}

/// A seeded account.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub login: String,
    pub password: String,
    pub role: &'static str,
    pub role_zh: &'static str,
    pub scope: String,
    pub scope_name: String,
    pub name: String,
}

/// A seeded case, as the tests and the README talk about it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCase {
    pub case_id: String,
    pub receipt_no: String,
    pub applicant: String,
    pub phone: String,
    /// The stage, as on the wire (`township_reviewed`).
    pub stage: String,
    pub village: String,
    pub village_name: String,
}

/// What `demo-seed` made.
#[derive(Debug, Clone, Serialize)]
pub struct DemoData {
    pub users: Vec<DemoUser>,
    pub cases: Vec<DemoCase>,
}
