//! How both backends write values into columns: unit enums by their serde names (the shared
//! [`yijian_core::codec`]), division scopes as key ranges.

use yijian_core::division::DivisionCode;

use super::StorageError;

/// A unit enum as stored (its serde name).
pub fn enum_text<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    yijian_core::codec::enum_text(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// A stored unit enum.
pub fn enum_parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StorageError> {
    yijian_core::codec::enum_parse(s).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// `[lower, upper)` bounds of the codes that start with `scope` (codes are digits, and ':'
/// sorts right after '9').
pub fn scope_range(scope: &DivisionCode) -> (String, String) {
    (scope.to_string(), format!("{scope}:"))
}
