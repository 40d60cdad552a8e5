//! Case workflow (being written).
use serde::{Deserialize, Serialize};

/// Placeholder until the state machine lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {}
