//! The signed-in session and the sync bookkeeping the status screen shows.

use crate::error::{Error, Result};
use yijian_core::ids::DeviceId;

use super::*;

impl LocalStore {
    /// The signed-in session, if any.
    pub fn session(&self) -> Result<Option<Session>> {
        let (Some(server), Some(token), Some(device), Some(user)) = (
            get_state(&self.conn, key::SERVER)?,
            get_state(&self.conn, key::TOKEN)?,
            get_state(&self.conn, key::DEVICE_ID)?,
            get_state(&self.conn, key::USER)?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Session {
            server,
            token,
            device_id: DeviceId::parse(&device).map_err(|e| Error::Corrupt(e.to_string()))?,
            user: serde_json::from_str(&user)?,
            token_rejected: get_state(&self.conn, key::TOKEN_REJECTED)?.is_some(),
        }))
    }

    /// Remember a login. A different user on this device starts from an empty view (their
    /// scope differs); that is refused while the previous user's work is still unsent.
    pub fn save_session(&mut self, session: &Session) -> Result<()> {
        let tx = self.conn.transaction()?;
        let previous: Option<Account> = get_state(&tx, key::USER)?
            .map(|u| serde_json::from_str(&u))
            .transpose()?;
        let server_changed = get_state(&tx, key::SERVER)?
            .is_some_and(|s| s.trim_end_matches('/') != session.server.trim_end_matches('/'));
        let user_changed = previous.as_ref().is_some_and(|p| p.id != session.user.id);
        if user_changed || server_changed {
            let unsent = count(&tx, "SELECT count(*) FROM outbox")?
                + count(&tx, "SELECT count(*) FROM quarantine")?;
            if unsent > 0 {
                return Err(Error::invalid(format!(
                    "本机还有{unsent}条上一位用户未同步的记录，请先用原账号同步后再换账号登录"
                )));
            }
            tx.execute_batch(
                "DELETE FROM records; DELETE FROM photos; DELETE FROM notices;
                 DELETE FROM sync_state WHERE key IN
                    ('cursor', 'snapshot_page', 'snapshot_done', 'snapshot_total',
                     'last_sync_at', 'last_sync_error');",
            )?;
        }
        set_state(&tx, key::SERVER, &session.server)?;
        set_state(&tx, key::TOKEN, &session.token)?;
        set_state(&tx, key::DEVICE_ID, &session.device_id.to_string())?;
        set_state(&tx, key::USER, &serde_json::to_string(&session.user)?)?;
        delete_state(&tx, key::TOKEN_REJECTED)?;
        tx.commit()?;
        Ok(())
    }

    /// The id this device had on `server` (kept across logouts and revoked tokens), offered at
    /// the next login so the server keeps treating it as the same device.
    pub fn previous_device_id(&self, server: &str) -> Result<Option<String>> {
        let same_server = get_state(&self.conn, key::SERVER)?
            .is_some_and(|s| s.trim_end_matches('/') == server.trim_end_matches('/'));
        if !same_server {
            return Ok(None);
        }
        get_state(&self.conn, key::DEVICE_ID)
    }

    /// The server said 401 to the token: stop syncing until the worker logs in again.
    pub fn mark_token_rejected(&self) -> Result<()> {
        set_state(&self.conn, key::TOKEN_REJECTED, &timestamp(self.now()))
    }

    /// Forget the token (logout). Records, outbox and quarantine stay.
    pub fn clear_token(&self) -> Result<()> {
        delete_state(&self.conn, key::TOKEN)?;
        delete_state(&self.conn, key::TOKEN_REJECTED)
    }

    /// Remember how the last sync ended.
    pub fn note_sync_result(&self, error: Option<&str>) -> Result<()> {
        match error {
            None => {
                set_state(&self.conn, key::LAST_SYNC_AT, &timestamp(self.now()))?;
                delete_state(&self.conn, key::LAST_SYNC_ERROR)
            }
            Some(e) => set_state(&self.conn, key::LAST_SYNC_ERROR, e),
        }
    }

    /// Counts for a status line.
    pub fn status(&self) -> Result<Status> {
        let session = self.session()?;
        let c = &self.conn;
        let snapshot = match self.pull_state()? {
            PullState::Snapshot { done, total, page } if page.is_some() => Some((done, total)),
            _ => None,
        };
        Ok(Status {
            logged_in: session.as_ref().is_some_and(|s| !s.token_rejected),
            token_rejected: session.as_ref().is_some_and(|s| s.token_rejected),
            server: get_state(c, key::SERVER)?,
            device_id: get_state(c, key::DEVICE_ID)?,
            user: get_state(c, key::USER)?
                .map(|u| serde_json::from_str(&u))
                .transpose()?,
            outbox: count(c, "SELECT count(*) FROM outbox")?,
            quarantine: count(c, "SELECT count(*) FROM quarantine")?,
            records: count(c, "SELECT count(*) FROM records")?,
            photos_pending: count(
                c,
                "SELECT count(*) FROM photos WHERE status IN ('waiting', 'uploading')",
            )?,
            photos_failed: count(c, "SELECT count(*) FROM photos WHERE status = 'failed'")?,
            photos_done: count(c, "SELECT count(*) FROM photos WHERE status = 'done'")?,
            last_sync_at: get_state(c, key::LAST_SYNC_AT)?,
            last_sync_error: get_state(c, key::LAST_SYNC_ERROR)?,
            cursor: get_state(c, key::CURSOR)?,
            snapshot,
        })
    }
}
