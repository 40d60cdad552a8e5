//! Reading records as the device holds them (pending local edits included).

use crate::error::{Error, Result};
use rusqlite::OptionalExtension;
use yijian_core::protocol::Command;

use super::*;

impl LocalStore {
    fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(LocalRecordRow, bool)> {
        Ok((
            LocalRecordRow {
                kind: r.get(0)?,
                id: r.get(1)?,
                village: r.get(2)?,
                body: r.get(3)?,
                hlc: r.get(4)?,
                version: r.get(5)?,
            },
            r.get(6)?,
        ))
    }

    const RECORD_SELECT: &'static str = "SELECT kind, id, village, body, hlc, version,
            EXISTS (SELECT 1 FROM outbox_touches t WHERE t.kind = records.kind AND t.id = records.id)
          FROM records";

    /// One record as the device shows it.
    pub fn record(&self, kind: &str, id: &str) -> Result<Option<LocalRecord>> {
        let row = self
            .conn
            .query_row(
                &format!("{} WHERE kind = ?1 AND id = ?2", Self::RECORD_SELECT),
                (kind, id),
                Self::record_from_row,
            )
            .optional()?;
        row.map(|(r, pending)| r.into_record(pending)).transpose()
    }

    /// Every record (of `kind`, if given), ordered by kind and id.
    pub fn records(&self, kind: Option<&str>) -> Result<Vec<LocalRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "{} WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, id",
            Self::RECORD_SELECT
        ))?;
        let rows = stmt.query_map([kind], Self::record_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (r, pending) = row?;
            out.push(r.into_record(pending)?);
        }
        Ok(out)
    }

    /// Call `f(id, body)` for every record of `kind`, with the body as stored (JSON text), so
    /// a reader can decode only the fields it needs.
    pub fn for_each_body(&self, kind: &str, mut f: impl FnMut(&str, &str)) -> Result<()> {
        self.for_each_record(kind, |id, _, body| f(id, body))
    }

    /// Call `f(id, village, body)` for every record of `kind`.
    pub fn for_each_record(&self, kind: &str, mut f: impl FnMut(&str, &str, &str)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, village, body FROM records WHERE kind = ?1")?;
        let mut rows = stmt.query([kind])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> Result<&str> {
                r.get_ref(i)?
                    .as_str()
                    .map_err(|e| Error::Corrupt(format!("records column {i}: {e}")))
            };
            let (id, village, body) = (text(0)?, text(1)?, text(2)?);
            f(id, village, body);
        }
        Ok(())
    }

    /// The outbox commands that touch one record, in push order.
    pub fn commands_touching(&self, kind: &str, id: &str) -> Result<Vec<Command>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.command FROM outbox o
               JOIN outbox_touches t ON t.command_id = o.command_id
              WHERE t.kind = ?1 AND t.id = ?2
              ORDER BY o.seq",
        )?;
        let rows = stmt.query_map((kind, id), |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// Ids of the records of `kind` that a pending command touches.
    pub fn pending_ids(&self, kind: &str) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT id FROM outbox_touches WHERE kind = ?1")?;
        let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records of `kind` whose JSON `path` equals `value`, through the expression indexes of
    /// the app migration. `path` is written into the SQL as a literal (SQLite matches an
    /// expression index only against the same literal expression), so it must be a constant of
    /// this crate, e.g. `$.household_id` for visits.
    pub fn records_where(
        &self,
        kind: &'static str,
        path: &'static str,
        value: &str,
    ) -> Result<Vec<LocalRecord>> {
        let literal = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.' || b == b'$')
        };
        if !path.starts_with("$.") || !literal(path) || !literal(kind) {
            return Err(Error::Corrupt(format!(
                "bad record query {kind:?} {path:?}"
            )));
        }
        // Both literals, so the planner can match the partial expression index.
        let mut stmt = self.conn.prepare_cached(&format!(
            "{} WHERE kind = '{kind}' AND json_extract(body, '{path}') = ?1 ORDER BY id",
            Self::RECORD_SELECT
        ))?;
        let rows = stmt.query_map([value], Self::record_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (r, pending) = row?;
            out.push(r.into_record(pending)?);
        }
        Ok(out)
    }

    /// A record decoded as `T`, with its village.
    pub fn typed<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(T, String)>> {
        self.record(kind, id)?
            .map(|r| {
                serde_json::from_value(r.body)
                    .map(|t| (t, r.village))
                    .map_err(|e| Error::Corrupt(format!("{kind} {id}: {e}")))
            })
            .transpose()
    }
}
