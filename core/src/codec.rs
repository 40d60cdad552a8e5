//! Unit enums as text: the serde name of a variant (`county_approve`, `self_declared_qr`) is
//! how it is stored in index columns, named in form fields and written in URLs, so one pair
//! of functions serves the server's databases, its pages and the device.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value that is not a unit enum, or text that names no variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

/// The serde name of a unit enum variant.
pub fn enum_text<T: Serialize>(v: &T) -> Result<String, CodecError> {
    match serde_json::to_value(v).map_err(|e| CodecError(e.to_string()))? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(CodecError(format!("not a unit enum: {other}"))),
    }
}

/// The variant a serde name stands for.
pub fn enum_parse<T: DeserializeOwned>(s: &str) -> Result<T, CodecError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| CodecError(format!("{s:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::Role;

    #[test]
    fn unit_enums_round_trip_by_their_serde_names() {
        assert_eq!(
            enum_text(&Role::VillageWorker).as_deref(),
            Ok("village_worker")
        );
        assert_eq!(enum_parse::<Role>("county"), Ok(Role::County));
        assert!(enum_parse::<Role>("mayor").is_err());
        assert!(enum_text(&vec![1]).is_err());
    }
}
