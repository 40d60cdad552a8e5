//! Drafts of forms: whatever a worker has typed, kept on every change.
//!
//! A cadre filling a declaration for an elderly villager may be interrupted by a call, the
//! phone may run out of battery, the app may be killed by the system. What was typed must still
//! be there when the form is opened again, so the screens store their form's state here on
//! every change, under a key of their own (`proxy`, …). Drafts never leave the phone.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::{LocalStore, timestamp};

/// Longest draft kept, in bytes of JSON: a form, not a file.
pub const MAX_DRAFT_BYTES: usize = 64 * 1024;

impl LocalStore {
    /// The draft saved under `key`, if any.
    pub fn draft(&self, key: &str) -> Result<Option<Value>> {
        let text: Option<String> = self
            .conn()
            .query_row("SELECT value FROM form_drafts WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }

    /// Save (replace) the draft under `key`.
    pub fn put_draft(&self, key: &str, value: &Value) -> Result<()> {
        if key.is_empty() || key.len() > 64 {
            return Err(Error::invalid("草稿名称无效"));
        }
        let text = serde_json::to_string(value)?;
        if text.len() > MAX_DRAFT_BYTES {
            return Err(Error::invalid("草稿内容过长"));
        }
        self.conn().execute(
            "INSERT INTO form_drafts (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, text, timestamp(self.now())],
        )?;
        Ok(())
    }

    /// Drafts and staged photos not yet part of any record: typed or taken, not yet saved.
    pub fn unsaved_work(&self) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT (SELECT count(*) FROM form_drafts) + (SELECT count(*) FROM staged_photos)",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub fn clear_draft(&self, key: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM form_drafts WHERE key = ?1", [key])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_survive_reopening_and_can_be_cleared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("yijian.db");
        let store = LocalStore::open(&path, &crate::fixtures::test_key()).expect("open");
        assert_eq!(store.draft("proxy").expect("get"), None);
        let form = serde_json::json!({"applicant_name": "王秀英", "id_number": "62010"});
        store.put_draft("proxy", &form).expect("put");
        drop(store);
        let store = LocalStore::open(&path, &crate::fixtures::test_key()).expect("reopen");
        assert_eq!(store.draft("proxy").expect("get"), Some(form));
        let big = serde_json::json!({"x": "字".repeat(MAX_DRAFT_BYTES)});
        assert!(store.put_draft("proxy", &big).is_err());
        store.clear_draft("proxy").expect("clear");
        assert_eq!(store.draft("proxy").expect("get"), None);
    }
}
