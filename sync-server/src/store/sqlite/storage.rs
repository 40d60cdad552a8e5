//! [`Storage`] on SQLite: accounts, devices, the change feed and transactions on the pools.

use crate::store::codec::{enum_text, scope_range};
use crate::store::rows::DeviceSession;
use crate::store::tx::{RecordTx, StoredRecord};
use crate::store::{
    Credentials, DeviceInfo, FeedPage, ImportRecord, SnapshotMark, SnapshotSlice, Storage,
    StorageError, StorageHealth,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::value::RawValue;
use yijian_core::division::DivisionCode;
use yijian_core::ids::{DeviceId, UserId};
use yijian_core::protocol::auth::Account;
use yijian_core::protocol::{Change, Cursor};

use super::*;

#[async_trait::async_trait]
impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        self.read(|c| {
            Ok(StorageHealth {
                backend: "sqlite",
                migrations: yijian_sqlite::applied_count(c)?,
                pool: None,
            })
        })
        .await
    }

    async fn create_users(&self, users: Vec<(Account, String)>) -> Result<(), StorageError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            for (user, hash) in &users {
                let r = tx.execute(
                    "INSERT INTO users (id, login, name, role, scope, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user.id.to_string(),
                        user.login,
                        user.name,
                        enum_text(&user.role)?,
                        user.scope.to_string(),
                        hash,
                        ts(Utc::now())
                    ],
                );
                match r {
                    Ok(_) => {}
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        return Err(StorageError::Duplicate(format!("login {}", user.login)));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn credentials(&self, login: &str) -> Result<Option<Credentials>, StorageError> {
        let login = login.to_owned();
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT id, login, name, role, scope, password_hash, disabled_at IS NOT NULL
                     FROM users WHERE login = ?1",
                    [login],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, bool>(6)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(id, login, name, role, scope, password_hash, disabled)| {
                Ok(Credentials {
                    user: user_from_row(id, login, name, role, scope)?,
                    password_hash,
                    disabled,
                })
            })
            .transpose()
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<Account>, StorageError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT id, login, name, role, scope FROM users ORDER BY scope, login")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.map(|row| {
                let (id, login, name, role, scope) = row?;
                user_from_row(id, login, name, role, scope)
            })
            .collect()
        })
        .await
    }

    async fn create_device(
        &self,
        device_id: DeviceId,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let name = name.to_owned();
        let token_hash = token_hash.to_owned();
        self.write(move |c| {
            c.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    device_id.to_string(),
                    user_id.to_string(),
                    name,
                    token_hash,
                    ts(now),
                    ts(expires_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn reauthorize_device(
        &self,
        device_id: DeviceId,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let name = name.to_owned();
        let token_hash = token_hash.to_owned();
        self.write(move |c| {
            let n = c.execute(
                "UPDATE devices SET token_hash = ?1, name = ?2, revoked_at = NULL, last_seen_at = ?3,
                                    expires_at = ?6
                 WHERE id = ?4 AND user_id = ?5",
                params![
                    token_hash,
                    name,
                    ts(now),
                    device_id.to_string(),
                    user_id.to_string(),
                    ts(expires_at)
                ],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DeviceSession>, StorageError> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT d.id, u.id, u.login, u.name, u.role, u.scope
                     FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL
                       AND (d.expires_at IS NULL OR d.expires_at > ?2)",
                    params![token_hash, ts(now)],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(device, id, login, name, role, scope)| {
                Ok(DeviceSession {
                    device_id: device.parse().map_err(corrupt("device id"))?,
                    user: user_from_row(id, login, name, role, scope)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn revoke_device(&self, device_id: DeviceId) -> Result<bool, StorageError> {
        self.write(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = ?1, escrow_key = NULL
                 WHERE id = ?2 AND revoked_at IS NULL",
                params![ts(Utc::now()), device_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn revoked_device(&self, token_hash: &str) -> Result<Option<DeviceId>, StorageError> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            let id: Option<String> = c
                .query_row(
                    "SELECT id FROM devices WHERE token_hash = ?1 AND revoked_at IS NOT NULL",
                    [token_hash],
                    |r| r.get(0),
                )
                .optional()?;
            id.map(|id| id.parse().map_err(corrupt("device id")))
                .transpose()
        })
        .await
    }

    async fn device_escrow_key(
        &self,
        device_id: DeviceId,
        fresh: &str,
    ) -> Result<String, StorageError> {
        let fresh = fresh.to_owned();
        self.write(move |c| {
            Ok(c.query_row(
                "UPDATE devices SET escrow_key = coalesce(escrow_key, ?1) WHERE id = ?2
                 RETURNING escrow_key",
                params![fresh, device_id.to_string()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn confirm_wipe(
        &self,
        device_id: DeviceId,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.write(move |c| {
            c.execute(
                "UPDATE devices SET wiped_at = ?1 WHERE id = ?2 AND revoked_at IS NOT NULL",
                params![ts(now), device_id.to_string()],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_devices(&self, user_id: UserId) -> Result<Vec<DeviceInfo>, StorageError> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, name, created_at, last_seen_at, revoked_at IS NOT NULL, wiped_at
                 FROM devices WHERE user_id = ?1 ORDER BY created_at",
            )?;
            let rows = stmt.query_map([user_id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (id, name, created, seen, revoked, wiped) = row?;
                Ok(DeviceInfo {
                    id: id.parse().map_err(corrupt("device id"))?,
                    user_id,
                    name,
                    created_at: parse_ts(&created)?,
                    last_seen_at: seen.as_deref().map(parse_ts).transpose()?,
                    revoked,
                    wiped_at: wiped.as_deref().map(parse_ts).transpose()?,
                })
            })
            .collect()
        })
        .await
    }

    async fn pull(
        &self,
        scope: &DivisionCode,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<FeedPage, StorageError> {
        let after = parse_cursor(cursor)?;
        let (lo, hi) = scope_range(scope);
        let village_scope = scope.level() == yijian_core::division::Level::Village;
        self.read(move |c| {
            // A village reads its own slice of (village, change_seq); a wider scope walks the
            // feed in change_seq order and filters ('+village' keeps the planner off the
            // village index, which would sort the whole scope on every page).
            let mut stmt = if village_scope {
                c.prepare_cached(
                    "SELECT kind, id, village, body, hlc, version, change_seq FROM records
                     WHERE village = ?2 AND change_seq > ?1 AND ?3 IS NOT NULL
                     ORDER BY change_seq LIMIT ?4",
                )?
            } else {
                c.prepare_cached(
                    "SELECT kind, id, village, body, hlc, version, change_seq FROM records
                     WHERE change_seq > ?1 AND +village >= ?2 AND +village < ?3
                     ORDER BY change_seq LIMIT ?4",
                )?
            };
            let mut rows = stmt.query(params![after, lo, hi, i64::from(limit) + 1])?;
            let mut changes = Vec::with_capacity(limit as usize);
            let mut last = after;
            let mut has_more = false;
            while let Some(r) = rows.next()? {
                if changes.len() == limit as usize {
                    has_more = true;
                    break;
                }
                last = r.get(6)?;
                changes.push(feed_change(r)?);
            }
            Ok(FeedPage {
                changes,
                next_cursor: Cursor(format!("s{last}")),
                has_more,
            })
        })
        .await
    }

    async fn feed_head(&self) -> Result<Cursor, StorageError> {
        self.read(|c| {
            // One writer at a time: whatever commits later takes a higher `change_seq`.
            let seq: i64 = c.query_row(
                "SELECT coalesce(max(change_seq), 0) FROM records",
                [],
                |r| r.get(0),
            )?;
            Ok(Cursor(format!("s{seq}")))
        })
        .await
    }

    async fn snapshot_page(
        &self,
        scope: &DivisionCode,
        from: Option<&SnapshotMark>,
        limit: u32,
    ) -> Result<SnapshotSlice, StorageError> {
        let (lo, hi) = scope_range(scope);
        let start = match from {
            Some(mark) => {
                mark.in_scope(scope)?;
                Some((mark.village.clone(), parse_cursor(Some(&mark.after))?))
            }
            None => None,
        };
        let limit = limit.max(1) as usize;
        self.read(move |c| {
            // The first village at or after `from` that has a record, from the scope index.
            let village_from = |from: &str, inclusive: bool| {
                let sql = if inclusive {
                    "SELECT village FROM records WHERE village >= ?1 AND village < ?2
                      ORDER BY village LIMIT 1"
                } else {
                    "SELECT village FROM records WHERE village > ?1 AND village < ?2
                      ORDER BY village LIMIT 1"
                };
                c.prepare_cached(sql)?
                    .query_row(params![from, hi], |r| r.get::<_, String>(0))
                    .optional()
                    .map_err(StorageError::from)
            };
            let mut records = Vec::with_capacity(limit);
            let (mut village, mut after) = match start {
                Some(start) => start,
                None => match village_from(&lo, true)? {
                    Some(v) => (v, 0),
                    None => {
                        return Ok(SnapshotSlice {
                            records,
                            next: None,
                        });
                    }
                },
            };
            let mut page = c.prepare_cached(
                "SELECT kind, id, village, body, hlc, version, change_seq FROM records
                  WHERE village = ?1 AND change_seq > ?2 AND body IS NOT NULL
                  ORDER BY change_seq LIMIT ?3",
            )?;
            loop {
                let want = limit - records.len();
                let mut rows = page.query(params![village, after, want as i64 + 1])?;
                let mut full = false;
                while let Some(r) = rows.next()? {
                    if records.len() == limit {
                        full = true;
                        break;
                    }
                    after = r.get(6)?;
                    records.push(feed_change(r)?);
                }
                drop(rows);
                if full {
                    let after = Cursor(format!("s{after}"));
                    return Ok(SnapshotSlice {
                        records,
                        next: Some(SnapshotMark { village, after }),
                    });
                }
                let Some(next) = village_from(&village, false)? else {
                    return Ok(SnapshotSlice {
                        records,
                        next: None,
                    });
                };
                (village, after) = (next, 0);
                if records.len() == limit {
                    let after = Cursor("s0".into());
                    return Ok(SnapshotSlice {
                        records,
                        next: Some(SnapshotMark { village, after }),
                    });
                }
            }
        })
        .await
    }

    async fn count_records(&self, scope: &DivisionCode) -> Result<u64, StorageError> {
        let (lo, hi) = scope_range(scope);
        self.read(move |c| {
            let n: i64 = c.query_row(
                // Both counts come from indexes without touching the bodies: testing
                // `body IS NOT NULL` row by row reads every record of the scope.
                "SELECT (SELECT count(*) FROM records WHERE village >= ?1 AND village < ?2)
                      - (SELECT count(*) FROM records INDEXED BY records_deleted_village
                         WHERE village >= ?1 AND village < ?2 AND body IS NULL)",
                params![lo, hi],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn import_records(&self, records: Vec<ImportRecord>) -> Result<(), StorageError> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut rtx = SqliteTx {
                    tx: &tx,
                    next_seq: None,
                };
                let now = Utc::now();
                for r in &records {
                    rtx.put(&r.kind, &r.id, &r.village, r.body.as_deref(), r.hlc, now)?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn blob_visible(&self, sha256: &str, scope: &DivisionCode) -> Result<bool, StorageError> {
        let sha256 = sha256.to_owned();
        let (lo, hi) = scope_range(scope);
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM blob_owners
                                WHERE sha256 = ?1 AND village >= ?2 AND village < ?3)",
                params![sha256, lo, hi],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn link_blob(&self, sha256: &str, village: &DivisionCode) -> Result<(), StorageError> {
        let (sha256, village) = (sha256.to_owned(), village.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            SqliteTx {
                tx: &tx,
                next_seq: None,
            }
            .link_blob(&sha256, &village)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.write(move |c| {
            let tx = c.transaction()?;
            let r = SqliteTx {
                tx: &tx,
                next_seq: None,
            }
            .get(&kind, &id)?;
            tx.commit()?;
            Ok(r)
        })
        .await
    }

    async fn transact(
        &self,
        work: crate::store::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = work(&mut SqliteTx {
                tx: &tx,
                next_seq: None,
            })?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn read_only(
        &self,
        work: crate::store::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.read(move |c| {
            // A read transaction on a reader connection: one consistent view under WAL.
            let tx = c.unchecked_transaction()?;
            let out = work(&mut SqliteTx {
                tx: &tx,
                next_seq: None,
            })?;
            tx.rollback()?;
            Ok(out)
        })
        .await
    }
}

/// A feed row (`kind, id, village, body, hlc, version, …`) as the change sent to phones.
fn feed_change(r: &rusqlite::Row<'_>) -> Result<Change, StorageError> {
    let body: Option<String> = r.get(3)?;
    let hlc: String = r.get(4)?;
    Ok(Change {
        kind: r.get(0)?,
        id: r.get(1)?,
        village: r.get(2)?,
        hlc: hlc.parse().map_err(corrupt("record hlc"))?,
        version: r.get(5)?,
        data: body
            .map(RawValue::from_string)
            .transpose()
            .map_err(corrupt("record body"))?,
    })
}
