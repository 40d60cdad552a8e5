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
/// sorts right after '9' byte by byte). Compared byte by byte: SQLite's default; on PostgreSQL
/// with the pattern operators `~>=~`/`~<~` (a language collation orders ':' differently) over
/// `text_pattern_ops` indexes.
pub fn scope_range(scope: &DivisionCode) -> (String, String) {
    (scope.to_string(), format!("{scope}:"))
}

/// The ID numbers of a household body's members, read as plain JSON so that storage needs no
/// more of the household than this.
pub fn member_id_numbers(body: Option<&str>) -> Vec<String> {
    let Some(v) = body.and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok()) else {
        return Vec::new();
    };
    v.get("members")
        .and_then(|m| m.as_array())
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("id_number").and_then(|n| n.as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
