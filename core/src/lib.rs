//! `yijian-core`: the one place where the domain of Yijian (一键申报) is written down.
//!
//! Every other crate — the device engine, the Tauri app, the sync server — speaks these types.
//! Nothing here does I/O: no files, no sockets, no database. Data that the domain needs (the
//! Gansu division list, the statutory holiday calendar) is compiled in from `data/` and can be
//! replaced at run time by data the caller loads. That keeps every rule testable to the edge
//! and guarantees that a due date computed on a phone in a village with no signal is the same
//! due date the county's server computes.

pub mod calendar;
pub mod case;
pub mod checklist;
pub mod clocks;
pub mod codec;
pub mod deadline;
pub mod division;
pub mod form;
pub mod hlc;
pub mod household;
pub mod ids;
pub mod policy;
pub mod protocol;
pub mod qrcodes;
pub mod regions;
pub mod role;
pub mod schema;
pub mod support;
pub mod time;
pub mod validation;
pub mod visit;
pub mod workflow;
