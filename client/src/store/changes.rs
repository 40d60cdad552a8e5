//! Local changes: a worker's edit and its outbox command, written in one transaction.

use crate::error::{Error, Result};
use rusqlite::{Transaction, params};
use yijian_core::hlc::Hlc;
use yijian_core::ids::CommandId;
use yijian_core::protocol::{Command, CommandBody, Wire};

use super::*;

impl LocalStore {
    /// Record a local change: upsert the touched records with the bodies the device shows and
    /// append the command to the outbox, all in one transaction, with a timestamp from the
    /// persisted HLC.
    pub fn record_command(&mut self, body: CommandBody, touches: &[Touch]) -> Result<CommandId> {
        self.record_command_with(body, touches, |_| Ok(()))
    }

    /// [`LocalStore::record_command`] plus more writes (`extra`) in the same transaction.
    pub(crate) fn record_command_with(
        &mut self,
        body: CommandBody,
        touches: &[Touch],
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<CommandId> {
        let id = CommandId::new();
        self.record_command_as(id, body, touches, extra)?;
        Ok(id)
    }

    /// With a given command id (tests force a duplicate id to fail mid-transaction).
    pub(crate) fn record_command_as(
        &mut self,
        id: CommandId,
        body: CommandBody,
        touches: &[Touch],
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<Command> {
        let mut commands = self.record_batch_as(vec![(id, body, touches.to_vec())], extra)?;
        commands
            .pop()
            .ok_or_else(|| Error::Corrupt("no command recorded".into()))
    }

    /// Several local changes that belong together (a declaration and its confirmation photo,
    /// a finalised visit and its result), in ONE transaction and in this order: either all
    /// are recorded or none.
    pub fn record_batch(
        &mut self,
        commands: Vec<(CommandBody, Vec<Touch>)>,
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<Vec<CommandId>> {
        let with_ids = commands
            .into_iter()
            .map(|(body, touches)| (CommandId::new(), body, touches))
            .collect();
        Ok(self
            .record_batch_as(with_ids, extra)?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }

    fn record_batch_as(
        &mut self,
        commands: Vec<(CommandId, CommandBody, Vec<Touch>)>,
        extra: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<Vec<Command>> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let mut clock = load_clock(&tx)?;
        let mut recorded = Vec::with_capacity(commands.len());
        for (id, body, touches) in commands {
            let hlc = clock.tick(unix_ms(now));
            set_state(&tx, key::HLC_LAST, &hlc.to_string())?;
            for t in &touches {
                upsert_local(&tx, t, hlc)?;
            }
            let command = Command {
                id,
                hlc,
                body: Wire::Known(body),
            };
            let main = touches.first();
            tx.execute(
                "INSERT INTO outbox (command_id, command, record_kind, record_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.to_string(),
                    serde_json::to_string(&command)?,
                    main.map(|t| &t.kind),
                    main.map(|t| &t.id),
                    timestamp(now)
                ],
            )?;
            for t in &touches {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox_touches (command_id, kind, id) VALUES (?1, ?2, ?3)",
                    (id.to_string(), &t.kind, &t.id),
                )?;
            }
            recorded.push(command);
        }
        extra(&tx)?;
        tx.commit()?;
        Ok(recorded)
    }

    /// The last HLC timestamp this device issued or observed.
    pub fn last_hlc(&self) -> Result<Option<Hlc>> {
        parse_state(&self.conn, key::HLC_LAST)
    }
}
