//! [`Storage`] on PostgreSQL: accounts, devices, the change feed and transactions on the pool.

use super::Session;
use crate::store::codec::{enum_text, scope_range};
use crate::store::rows::DeviceSession;
use crate::store::tx::{RecordTx, StoredRecord};
use crate::store::{
    Credentials, DeviceInfo, FeedPage, ImportRecord, SnapshotMark, SnapshotSlice, Storage,
    StorageError, StorageHealth,
};
use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use serde_json::value::RawValue;
use yijian_core::division::DivisionCode;
use yijian_core::ids::{DeviceId, UserId};
use yijian_core::protocol::auth::Account;
use yijian_core::protocol::{Change, Cursor};

use super::*;

#[async_trait::async_trait]
impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        let migrations = self
            .with_client(|c| {
                let row = c.query_one("SELECT count(*) FROM schema_migrations", &[])?;
                Ok(row.get(0))
            })
            .await?;
        Ok(StorageHealth {
            backend: "postgres",
            migrations,
            pool: Some(self.pool_health().await?),
        })
    }

    async fn create_users(&self, users: Vec<(Account, String)>) -> Result<(), StorageError> {
        self.with_client(move |c| {
            let mut tx = c.transaction()?;
            for (user, hash) in &users {
                let r = tx.execute(
                    "INSERT INTO users (id, login, name, role, scope, password_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, now())",
                    &[
                        &user.id.to_string(),
                        &user.login,
                        &user.name,
                        &enum_text(&user.role)?,
                        &user.scope.to_string(),
                        hash,
                    ],
                );
                match r {
                    Ok(_) => {}
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
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
        self.with_client(move |c| {
            c.query_opt(
                "SELECT id, login, name, role, scope, password_hash, disabled_at IS NOT NULL
                 FROM users WHERE login = $1",
                &[&login],
            )?
            .map(|r| {
                Ok(Credentials {
                    user: user_from_row(&r, 0)?,
                    password_hash: r.get(5),
                    disabled: r.get(6),
                })
            })
            .transpose()
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<Account>, StorageError> {
        self.with_client(|c| {
            c.query(
                "SELECT id, login, name, role, scope FROM users ORDER BY scope, login",
                &[],
            )?
            .iter()
            .map(|r| user_from_row(r, 0))
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
        self.with_client(move |c| {
            c.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &device_id.to_string(),
                    &user_id.to_string(),
                    &name,
                    &token_hash,
                    &now,
                    &expires_at,
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
        self.with_client(move |c| {
            let n = c.execute(
                "UPDATE devices SET token_hash = $1, name = $2, revoked_at = NULL, last_seen_at = $3,
                                    expires_at = $6
                 WHERE id = $4 AND user_id = $5",
                &[
                    &token_hash,
                    &name,
                    &now,
                    &device_id.to_string(),
                    &user_id.to_string(),
                    &expires_at,
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
        self.with_client(move |c| {
            c.query_opt(
                "SELECT d.id, u.id, u.login, u.name, u.role, u.scope
                 FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL
                   AND (d.expires_at IS NULL OR d.expires_at > $2)",
                &[&token_hash, &now],
            )?
            .map(|r| {
                let device: String = r.get(0);
                Ok(DeviceSession {
                    device_id: device.parse().map_err(corrupt("device id"))?,
                    user: user_from_row(&r, 1)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn revoke_device(&self, device_id: DeviceId) -> Result<bool, StorageError> {
        self.with_client(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = now(), escrow_key = NULL
                 WHERE id = $1 AND revoked_at IS NULL",
                &[&device_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn revoked_device(&self, token_hash: &str) -> Result<Option<DeviceId>, StorageError> {
        let token_hash = token_hash.to_owned();
        self.with_client(move |c| {
            c.query_opt(
                "SELECT id FROM devices WHERE token_hash = $1 AND revoked_at IS NOT NULL",
                &[&token_hash],
            )?
            .map(|r| r.get::<_, String>(0).parse().map_err(corrupt("device id")))
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
        self.with_client(move |c| {
            Ok(c.query_one(
                "UPDATE devices SET escrow_key = coalesce(escrow_key, $1) WHERE id = $2
                 RETURNING escrow_key",
                &[&fresh, &device_id.to_string()],
            )?
            .get(0))
        })
        .await
    }

    async fn confirm_wipe(
        &self,
        device_id: DeviceId,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.with_client(move |c| {
            c.execute(
                "UPDATE devices SET wiped_at = $1 WHERE id = $2 AND revoked_at IS NOT NULL",
                &[&now, &device_id.to_string()],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_devices(&self, user_id: UserId) -> Result<Vec<DeviceInfo>, StorageError> {
        self.with_client(move |c| {
            c.query(
                "SELECT id, name, created_at, last_seen_at, revoked_at IS NOT NULL, wiped_at
                 FROM devices WHERE user_id = $1 ORDER BY created_at",
                &[&user_id.to_string()],
            )?
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                Ok(DeviceInfo {
                    id: id.parse().map_err(corrupt("device id"))?,
                    user_id,
                    name: r.get(1),
                    created_at: r.get(2),
                    last_seen_at: r.get(3),
                    revoked: r.get(4),
                    wiped_at: r.get(5),
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
        let (after_tx, after_seq) = parse_cursor(cursor)?;
        let (lo, hi) = scope_range(scope);
        let village_scope = scope.level() == yijian_core::division::Level::Village;
        self.with_client(move |c| {
            // The text form is named apart: an output column called `change_tx` would make
            // ORDER BY sort by the text ("1000" < "735") instead of the transaction id.
            let rows = if village_scope {
                // A village (most phones) reads its own slice of the scope index in feed order
                // and stops at the page's end; a range would collect and sort the village's
                // every row on each pull (a province's plan did so, several ms a pull).
                c.query(
                    "SELECT kind, id, village, body, hlc, version, change_tx::text AS tx_text, change_seq
                     FROM records
                     WHERE village = $3
                       AND (change_tx, change_seq) > ($1::text::xid8, $2)
                       AND change_tx < pg_snapshot_xmin(pg_current_snapshot())
                     ORDER BY records.change_tx, records.change_seq
                     LIMIT $4",
                    &[&after_tx, &after_seq, &lo, &(i64::from(limit) + 1)],
                )?
            } else {
                c.query(
                    "SELECT kind, id, village, body, hlc, version, change_tx::text AS tx_text, change_seq
                     FROM records
                     WHERE (change_tx, change_seq) > ($1::text::xid8, $2)
                       AND change_tx < pg_snapshot_xmin(pg_current_snapshot())
                       AND village ~>=~ $3 AND village ~<~ $4
                     ORDER BY records.change_tx, records.change_seq
                     LIMIT $5",
                    &[&after_tx, &after_seq, &lo, &hi, &(i64::from(limit) + 1)],
                )?
            };
            let has_more = rows.len() > limit as usize;
            let mut next = (after_tx, after_seq);
            let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
            for r in rows.iter().take(limit as usize) {
                next = (r.get(6), r.get(7));
                changes.push(feed_change(r)?);
            }
            Ok(FeedPage {
                changes,
                next_cursor: Cursor(format!("p{}.{}", next.0, next.1)),
                has_more,
            })
        })
        .await
    }

    async fn feed_head(&self) -> Result<Cursor, StorageError> {
        self.with_client(|c| {
            // Below the oldest transaction still running, as the feed itself reads: a change
            // that commits later has a higher position, whatever its transaction id.
            // The text form named apart, or ORDER BY would sort the text ("999" > "1000").
            let row = c.query_opt(
                "SELECT change_tx::text AS tx_text, change_seq FROM records
                  WHERE change_tx < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY records.change_tx DESC, records.change_seq DESC LIMIT 1",
                &[],
            )?;
            let (tx, seq): (String, i64) = row.map_or(("0".into(), 0), |r| (r.get(0), r.get(1)));
            Ok(Cursor(format!("p{tx}.{seq}")))
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
        self.with_client(move |c| {
            // The first village at or after `from` that has a record (a scope's villages come
            // from its records, not from the division list: a moved household's village counts).
            let village_from = |c: &mut postgres::Client, from: &str, inclusive: bool| {
                let sql = if inclusive {
                    "SELECT village FROM records WHERE village ~>=~ $1 AND village ~<~ $2
                      ORDER BY village USING ~<~ LIMIT 1"
                } else {
                    "SELECT village FROM records WHERE village ~>~ $1 AND village ~<~ $2
                      ORDER BY village USING ~<~ LIMIT 1"
                };
                let row = c.query_opt(sql, &[&from, &hi])?;
                Ok::<_, StorageError>(row.map(|r| r.get::<_, String>(0)))
            };
            let mut records = Vec::with_capacity(limit);
            let (mut village, mut after) = match start {
                Some(start) => start,
                None => match village_from(c, &lo, true)? {
                    Some(v) => (v, ("0".to_owned(), 0)),
                    None => {
                        return Ok(SnapshotSlice {
                            records,
                            next: None,
                        });
                    }
                },
            };
            loop {
                let want = limit - records.len();
                let rows = c.query(
                    "SELECT kind, id, village, body, hlc, version, change_tx::text AS tx_text,
                            change_seq
                       FROM records
                      WHERE village = $1 AND (change_tx, change_seq) > ($2::text::xid8, $3)
                        AND body IS NOT NULL
                      ORDER BY records.change_tx, records.change_seq
                      LIMIT $4",
                    &[&village, &after.0, &after.1, &(want as i64 + 1)],
                )?;
                for r in rows.iter().take(want) {
                    after = (r.get(6), r.get(7));
                    records.push(feed_change(r)?);
                }
                if rows.len() > want {
                    let after = Cursor(format!("p{}.{}", after.0, after.1));
                    return Ok(SnapshotSlice {
                        records,
                        next: Some(SnapshotMark { village, after }),
                    });
                }
                let Some(next) = village_from(c, &village, false)? else {
                    return Ok(SnapshotSlice {
                        records,
                        next: None,
                    });
                };
                (village, after) = (next, ("0".to_owned(), 0));
                if records.len() == limit {
                    let after = Cursor("p0.0".into());
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
        self.with_client(move |c| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM records WHERE village ~>=~ $1 AND village ~<~ $2 AND body IS NOT NULL",
                    &[&lo, &hi],
                )?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn import_records(&self, records: Vec<ImportRecord>) -> Result<(), StorageError> {
        self.in_tx(move |rtx| {
            let now = Utc::now();
            for r in &records {
                rtx.put(&r.kind, &r.id, &r.village, r.body.as_deref(), r.hlc, now)?;
            }
            Ok(())
        })
        .await
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<StoredRecord>, StorageError> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.in_tx(move |tx| tx.get(&kind, &id)).await
    }

    async fn blob_visible(&self, sha256: &str, scope: &DivisionCode) -> Result<bool, StorageError> {
        let sha256 = sha256.to_owned();
        let (lo, hi) = scope_range(scope);
        self.with_client(move |c| {
            Ok(c.query_one(
                "SELECT EXISTS (SELECT 1 FROM blob_owners
                                WHERE sha256 = $1 AND village ~>=~ $2 AND village ~<~ $3)",
                &[&sha256, &lo, &hi],
            )?
            .get(0))
        })
        .await
    }

    async fn link_blob(&self, sha256: &str, village: &DivisionCode) -> Result<(), StorageError> {
        let (sha256, village) = (sha256.to_owned(), village.to_string());
        self.in_tx(move |tx| tx.link_blob(&sha256, &village)).await
    }

    async fn transact(
        &self,
        work: crate::store::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.in_tx(move |tx| work(tx)).await
    }

    async fn read_only(
        &self,
        work: crate::store::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, StorageError> {
        self.with_session(move |session| {
            let Session { client, statements } = session;
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let out = work(&mut PgTx {
                tx: &mut tx,
                locking: false,
                statements,
                pending: Pending::default(),
                prefetched: std::collections::HashMap::new(),
            })?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

/// A feed row (`kind, id, village, body, hlc, version, …`) as the change sent to phones.
fn feed_change(r: &postgres::Row) -> Result<Change, StorageError> {
    let body: Option<String> = r.get(3);
    let hlc: String = r.get(4);
    Ok(Change {
        kind: r.get(0),
        id: r.get(1),
        village: r.get(2),
        hlc: hlc.parse().map_err(corrupt("record hlc"))?,
        version: r.get(5),
        data: body
            .map(RawValue::from_string)
            .transpose()
            .map_err(corrupt("record body"))?,
    })
}
