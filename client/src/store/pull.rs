//! Pulling: the feed position and applying the server's changes around pending local edits.

use crate::error::Result;
use yijian_core::protocol::{Change, Cursor};

use super::*;

impl LocalStore {
    /// Where pulling continues.
    pub fn pull_state(&self) -> Result<PullState> {
        if let Some(cursor) = get_state(&self.conn, key::CURSOR)? {
            return Ok(PullState::Feed {
                cursor: Cursor(cursor),
            });
        }
        Ok(PullState::Snapshot {
            page: get_state(&self.conn, key::SNAPSHOT_PAGE)?,
            done: parse_state(&self.conn, key::SNAPSHOT_DONE)?.unwrap_or(0),
            total: parse_state(&self.conn, key::SNAPSHOT_TOTAL)?.unwrap_or(0),
        })
    }

    /// Forget where pulling stands, to rebuild the device's view from a new snapshot (the
    /// server no longer knows the saved cursor). Records the server sent are dropped (the
    /// snapshot brings back the ones that still exist); pending and device-only records stay.
    pub fn restart_pull(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM records
              WHERE version > 0
                AND NOT EXISTS (SELECT 1 FROM outbox_touches t
                                 WHERE t.kind = records.kind AND t.id = records.id)",
            [],
        )?;
        // Pending records keep their body; whatever the server holds now arrives anew.
        tx.execute(
            "UPDATE records SET version = 0, server_body = NULL, server_hlc = NULL,
                    server_version = NULL, restore_on_release = 0",
            [],
        )?;
        for k in [
            key::CURSOR,
            key::SNAPSHOT_PAGE,
            key::SNAPSHOT_DONE,
            key::SNAPSHOT_TOTAL,
        ] {
            delete_state(&tx, k)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Write a pulled page and where the feed continues, in one transaction.
    pub fn apply_changes(
        &mut self,
        changes: &[Change],
        position: &FeedPosition,
    ) -> Result<ApplyTally> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let mut tally = ApplyTally::default();
        // With nothing waiting to be sent (a first sync, most pulls) no record can be pending:
        // one query instead of one per record.
        let any_pending: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM outbox_touches)", [], |r| {
                r.get(0)
            })?;
        for c in changes {
            if apply_change(&tx, c, any_pending)? {
                tally.kept_aside += 1;
            } else {
                tally.applied += 1;
            }
        }
        if let Some(max) = changes.iter().map(|c| c.hlc).max() {
            let mut clock = load_clock(&tx)?;
            let seen = clock.observe(max, unix_ms(now));
            set_state(&tx, key::HLC_LAST, &seen.to_string())?;
        }
        match position {
            FeedPosition::Pull { next_cursor } => set_state(&tx, key::CURSOR, &next_cursor.0)?,
            FeedPosition::Snapshot {
                next_page: Some(page),
                total,
                ..
            } => {
                let done: u64 = parse_state(&tx, key::SNAPSHOT_DONE)?.unwrap_or(0);
                set_state(&tx, key::SNAPSHOT_PAGE, page)?;
                set_state(
                    &tx,
                    key::SNAPSHOT_DONE,
                    &(done + changes.len() as u64).to_string(),
                )?;
                set_state(&tx, key::SNAPSHOT_TOTAL, &total.to_string())?;
            }
            FeedPosition::Snapshot {
                next_page: None,
                resume_cursor,
                ..
            } => {
                set_state(&tx, key::CURSOR, &resume_cursor.0)?;
                delete_state(&tx, key::SNAPSHOT_PAGE)?;
                delete_state(&tx, key::SNAPSHOT_DONE)?;
                delete_state(&tx, key::SNAPSHOT_TOTAL)?;
            }
        }
        tx.commit()?;
        Ok(tally)
    }
}
