//! What an operator runs beside serving: command-line administration and the demonstration
//! data.
//!
//! - [`accounts_cli`]: the first administrator, users in bulk from a CSV file, revoking a device;
//! - [`demo`]: `demo-seed`, a county's worth of staff, households and cases made through the
//!   real code paths.

pub mod accounts_cli;
pub mod demo;
