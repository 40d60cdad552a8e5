//! Harness for the workspace-level tests: real servers on real ports, real databases.
//!
//! Nothing here is a stub. [`pg::PgCluster`] starts a throwaway PostgreSQL from Debian's
//! binaries; [`server::TestServer`] runs the real `yijian-server` application on `127.0.0.1:0`
//! and waits for `/healthz` instead of sleeping.

pub mod alert_lists;
pub mod api;
pub mod device;
pub mod field_qr;
pub mod http;
pub mod load;
pub mod nginx;
pub mod pg;
pub mod process;
pub mod proxy;
pub mod register_file;
pub mod resident;
pub mod s3;
pub mod server;
pub mod web;
pub mod webdriver;

/// The whole province (甘肃省, 62): the scope that sees everything.
pub fn province() -> yijian_core::division::DivisionCode {
    yijian_core::division::DivisionCode::parse("62").expect("the province's code")
}
