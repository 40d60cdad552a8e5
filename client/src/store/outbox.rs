//! The outbox and the quarantine: what waits to be pushed, and what the server refused.

use crate::error::Result;
use rusqlite::params;
use serde_json::value::RawValue;
use yijian_core::ids::CommandId;

use super::*;

impl LocalStore {
    /// Up to `limit` outbox commands after `after_seq`, in order.
    pub fn outbox(&self, after_seq: i64, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, command_id, command, record_kind, record_id, attempts, last_error
               FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![after_seq, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, command, record_kind, record_id, attempts, last_error) = row?;
            out.push(OutboxEntry {
                seq,
                command_id: command_id(&id)?,
                command: RawValue::from_string(command)?,
                record_kind,
                record_id,
                attempts,
                last_error,
            });
        }
        Ok(out)
    }

    pub fn outbox_len(&self) -> Result<u64> {
        count(&self.conn, "SELECT count(*) FROM outbox")
    }

    /// Apply the decisions about one pushed batch, in one transaction.
    pub fn apply_push_actions(&mut self, actions: &[OutboxAction]) -> Result<PushTally> {
        let now = timestamp(self.now());
        let tx = self.conn.transaction()?;
        let mut tally = PushTally::default();
        for action in actions {
            match action {
                OutboxAction::Ack(id) => {
                    let id = id.to_string();
                    let touches = touches_of(&tx, &id)?;
                    let deleted = tx
                        .prepare_cached("DELETE FROM outbox WHERE command_id = ?1")?
                        .execute([&id])?;
                    if deleted == 0 {
                        continue;
                    }
                    for (kind, rid) in &touches {
                        release(&tx, kind, rid)?;
                    }
                    tally.acknowledged += 1;
                }
                OutboxAction::Quarantine {
                    id,
                    code,
                    message_zh,
                    message_en,
                } => {
                    let id = id.to_string();
                    let touches = touches_of(&tx, &id)?;
                    let moved = tx.execute(
                        "INSERT INTO quarantine (command_id, command, record_kind, record_id,
                                touches, code, message_zh, message_en, created_at, quarantined_at)
                         SELECT command_id, command, record_kind, record_id, ?2, ?3, ?4, ?5,
                                created_at, ?6
                           FROM outbox WHERE command_id = ?1
                         ON CONFLICT (command_id) DO UPDATE
                            SET code = excluded.code, message_zh = excluded.message_zh,
                                message_en = excluded.message_en,
                                quarantined_at = excluded.quarantined_at",
                        params![
                            id,
                            serde_json::to_string(&touches)?,
                            code,
                            message_zh,
                            message_en,
                            now
                        ],
                    )?;
                    if moved == 0 {
                        continue;
                    }
                    tx.execute("DELETE FROM outbox WHERE command_id = ?1", [&id])?;
                    // The device's change was not accepted: the server's copy wins.
                    for (kind, rid) in &touches {
                        tx.execute(
                            "UPDATE records SET restore_on_release = 1 WHERE kind = ?1 AND id = ?2",
                            (kind, rid),
                        )?;
                        release(&tx, kind, rid)?;
                    }
                    tally.quarantined += 1;
                }
                OutboxAction::Keep { id, error } => {
                    tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2
                          WHERE command_id = ?1",
                        (id.to_string(), error),
                    )?;
                    tally.kept += 1;
                }
            }
        }
        tx.commit()?;
        Ok(tally)
    }

    /// A push of these commands failed as a whole (no connection, 5xx): count the attempt.
    pub fn note_push_failure(&mut self, ids: &[CommandId], error: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE command_id = ?1",
                (id.to_string(), error),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Commands the server refused, oldest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedCommand>> {
        let mut stmt = self.conn.prepare(
            "SELECT command_id, command, record_kind, record_id, code, message_zh, message_en,
                    created_at, quarantined_at
               FROM quarantine ORDER BY quarantined_at, created_at, command_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, command, record_kind, record_id, code, zh, en, created, quarantined) = row?;
            out.push(QuarantinedCommand {
                command_id: command_id(&id)?,
                command: serde_json::from_str(&command)?,
                record_kind,
                record_id,
                code,
                message_zh: zh,
                message_en: en,
                created_at: created,
                quarantined_at: quarantined,
            });
        }
        Ok(out)
    }

    pub fn quarantine_len(&self) -> Result<u64> {
        count(&self.conn, "SELECT count(*) FROM quarantine")
    }

    /// Put a refused command back at the end of the outbox, unchanged (the server evaluates a
    /// refused command afresh: what made it fail may have changed). Its records become pending
    /// again, so a pull does not overwrite what the worker sees until the server answers.
    pub fn retry_quarantined(&mut self, id: CommandId) -> Result<()> {
        let tx = self.conn.transaction()?;
        let touches = quarantined_touches(&tx, id)?;
        tx.execute(
            "INSERT INTO outbox (command_id, command, record_kind, record_id, created_at)
             SELECT command_id, command, record_kind, record_id, created_at
               FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
        )?;
        for (kind, rid) in &touches {
            tx.execute(
                "INSERT OR IGNORE INTO outbox_touches (command_id, kind, id) VALUES (?1, ?2, ?3)",
                (id.to_string(), kind, rid),
            )?;
        }
        tx.execute(
            "DELETE FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Retry every quarantined command, oldest first; returns how many.
    pub fn retry_all_quarantined(&mut self) -> Result<usize> {
        let all = self.quarantine()?;
        for q in &all {
            self.retry_quarantined(q.command_id)?;
        }
        Ok(all.len())
    }

    /// Drop a refused command for good (the worker decided it was wrong).
    /// Records the command made that exist only on this device go with it (and the bytes of
    /// a photo whose record goes), so the device shows what the server holds.
    pub fn discard_quarantined(&mut self, id: CommandId) -> Result<()> {
        let tx = self.conn.transaction()?;
        let touches = quarantined_touches(&tx, id)?;
        for (kind, rid) in &touches {
            if is_pending(&tx, kind, rid)? {
                continue;
            }
            tx.execute(
                "DELETE FROM records WHERE kind = ?1 AND id = ?2 AND version = 0",
                (kind, rid),
            )?;
            tx.execute(
                "DELETE FROM photos WHERE owner_kind = ?1 AND owner_id = ?2 AND status <> 'done'",
                (kind, rid),
            )?;
        }
        tx.execute(
            "DELETE FROM quarantine WHERE command_id = ?1",
            [id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }
}
