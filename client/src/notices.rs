//! The office's messages on the phone.
//!
//! The server addresses messages to a role at a division — a new declaration for the village's
//! worker, "due in one working day", "overdue and escalated" — and the console lists them. A
//! grid worker has no console: the sync round fetches the same messages after the highest id the
//! phone holds ([`SyncEngine`](crate::SyncEngine)), and the inbox shows how many are unread, so
//! a worker in a village without signal still reads what arrived at the last sync.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;
use yijian_core::case::Case;
use yijian_core::protocol::Notice;

use crate::error::Result;
use crate::store::LocalStore;
use yijian_core::protocol::kinds;

/// Most messages the list shows (the newest); older ones stay in the database.
pub const LIST_LIMIT: u32 = 100;

/// One message as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct NoticeView {
    pub id: i64,
    /// The case it is about.
    pub case_id: Option<String>,
    /// The case is on the phone: the screen links to it.
    pub case_on_phone: bool,
    /// Its household, when the case has one on the phone: the link opens the household file.
    pub household_id: Option<String>,
    pub kind: String,
    pub text_zh: String,
    pub at: DateTime<Utc>,
    pub read: bool,
}

/// The message list: newest first, with the number not yet read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct NoticeList {
    pub unread: u64,
    pub notices: Vec<NoticeView>,
}

impl LocalStore {
    /// The highest server id held: the next fetch asks for messages after it.
    pub fn last_notice_id(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT coalesce(max(id), 0) FROM notices", [], |r| r.get(0))?)
    }

    /// Keep messages fetched from the server (one transaction; a message already held stays as
    /// it is, read or not).
    pub fn keep_notices(&mut self, notices: &[Notice]) -> Result<usize> {
        let tx = self.conn_mut().transaction()?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO notices (id, case_id, kind, text_zh, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            for n in notices {
                added += insert.execute(params![
                    n.id,
                    n.case_id,
                    n.kind,
                    n.text_zh,
                    n.at.to_rfc3339()
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The newest [`LIST_LIMIT`] messages and the count of unread ones.
    pub fn notices(&self) -> Result<NoticeList> {
        let c = self.conn();
        let unread: i64 = c.query_row("SELECT count(*) FROM notices WHERE read = 0", [], |r| {
            r.get(0)
        })?;
        let mut stmt = c.prepare_cached(
            "SELECT id, case_id, kind, text_zh, at, read FROM notices ORDER BY id DESC LIMIT ?1",
        )?;
        let mut rows = stmt.query([LIST_LIMIT])?;
        let mut notices = Vec::new();
        while let Some(r) = rows.next()? {
            let at: String = r.get(4)?;
            let case_id: Option<String> = r.get(1)?;
            let case = match &case_id {
                Some(id) => self.record(kinds::CASE, id)?,
                None => None,
            };
            notices.push(NoticeView {
                id: r.get(0)?,
                case_on_phone: case.is_some(),
                household_id: case
                    .and_then(|c| serde_json::from_value::<Case>(c.body).ok())
                    .and_then(|c| c.declaration.household_id)
                    .map(|h| h.to_string()),
                case_id,
                kind: r.get(2)?,
                text_zh: r.get(3)?,
                // Written by `keep_notices` as RFC 3339; an unreadable one shows as the epoch
                // rather than hiding the message.
                at: DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                read: r.get::<_, i64>(5)? != 0,
            });
        }
        Ok(NoticeList {
            unread: u64::try_from(unread).unwrap_or(0),
            notices,
        })
    }

    /// Mark every message read (the worker opened the list).
    pub fn mark_notices_read(&self) -> Result<()> {
        self.conn()
            .execute("UPDATE notices SET read = 1 WHERE read = 0", [])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(id: i64, text: &str) -> Notice {
        Notice {
            id,
            case_id: Some(format!("case-{id}")),
            kind: "due_soon".into(),
            text_zh: text.into(),
            at: DateTime::parse_from_rfc3339("2026-10-09T01:00:00Z")
                .expect("time")
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn kept_once_listed_newest_first_and_read_stays_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store =
            LocalStore::open(&dir.path().join("device.db"), &crate::fixtures::test_key())
                .expect("open");
        assert_eq!(store.last_notice_id().expect("max"), 0);
        assert_eq!(
            store
                .keep_notices(&[notice(3, "甲"), notice(7, "乙")])
                .expect("keep"),
            2
        );
        store.mark_notices_read().expect("read");
        // The same message again (a retried fetch) neither duplicates nor un-reads it.
        assert_eq!(
            store
                .keep_notices(&[notice(7, "乙"), notice(9, "丙")])
                .expect("keep"),
            1
        );
        assert_eq!(store.last_notice_id().expect("max"), 9);
        let list = store.notices().expect("list");
        assert_eq!(list.unread, 1);
        let ids: Vec<i64> = list.notices.iter().map(|n| n.id).collect();
        assert_eq!(ids, [9, 7, 3]);
        assert!(!list.notices[0].read && list.notices[1].read);
        assert_eq!(list.notices[0].text_zh, "丙");
        assert_eq!(list.notices[0].at, notice(9, "").at);
    }
}
