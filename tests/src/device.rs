//! A phone for tests: the real device engine in its own data directory, and comparisons of
//! what devices and the server hold.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use yijian_client::store::LocalStore;
use yijian_client::{DeviceConfig, EngineConfig, SyncEngine};
use yijian_core::division::DivisionCode;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;

use crate::pg::PgCluster;
use crate::server::TestServer;

/// The password every test user gets.
pub const PASSWORD: &str = "password1";

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What keeps a test server's database alive: a temp dir, or a throwaway cluster.
#[derive(Debug)]
pub struct ServerHome {
    pub dir: tempfile::TempDir,
    pub cluster: Option<PgCluster>,
}

/// A server on `backend` with `settings`.
pub async fn server_on(
    backend: Backend,
    settings: ServerSettings,
) -> Result<(ServerHome, TestServer)> {
    let dir = tempfile::tempdir()?;
    let (cluster, location) = match backend {
        Backend::Sqlite => (
            None,
            DatabaseLocation::Sqlite {
                data_dir: dir.path().join("server"),
            },
        ),
        Backend::Postgres => {
            let cluster = PgCluster::start()?;
            let url = cluster.create_database("yijian").await?;
            (Some(cluster), DatabaseLocation::Postgres { url })
        }
    };
    let server = TestServer::start_with(location, settings).await?;
    Ok((ServerHome { dir, cluster }, server))
}

/// The PIN every test phone gets.
pub const PIN: &str = "240517";

/// A phone: its own data directory (encrypted store, as the app's), signed in as `login` on
/// `url` with [`PIN`] chosen.
pub struct Device {
    pub engine: Arc<SyncEngine>,
    pub phone: yijian_client::Device,
    pub dir: tempfile::TempDir,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl Device {
    pub async fn login(url: &str, login: &str, config: EngineConfig) -> Result<Device> {
        let dir = tempfile::tempdir()?;
        let mut phone = yijian_client::Device::at(
            dir.path(),
            DeviceConfig {
                engine: config,
                ..DeviceConfig::default()
            },
        )?;
        phone.login(url, login, PASSWORD, "测试手机").await?;
        phone.set_pin(PIN)?;
        let engine = phone.engine().context("store open after login")?;
        Ok(Device { engine, phone, dir })
    }

    pub fn store<R>(
        &self,
        f: impl FnOnce(&mut LocalStore) -> yijian_client::Result<R>,
    ) -> Result<R> {
        Ok(self.engine.with_store(f)?)
    }

    pub fn user_id(&self) -> Result<yijian_core::ids::UserId> {
        Ok(self.store(|s| s.session())?.context("signed in")?.user.id)
    }

    /// Records with a server version, as `(kind, id) → (village, version, hlc, body)`.
    pub fn records(&self) -> Result<RecordMap> {
        let mut out = BTreeMap::new();
        for r in self.store(|s| s.records(None))? {
            ensure!(!r.pending, "{} {} still pending", r.kind, r.id);
            out.insert(
                (r.kind, r.id),
                (r.village, r.version, r.hlc.to_string(), r.body),
            );
        }
        Ok(out)
    }
}

/// `(kind, id) → (village, version, hlc, body)`.
pub type RecordMap = BTreeMap<(String, String), (String, i64, String, Value)>;

/// Everything the server holds for `scope`, in the same shape.
pub async fn server_records(server: &TestServer, scope: &str) -> Result<RecordMap> {
    let scope = DivisionCode::parse(scope)?;
    let mut out = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = server.storage.pull(&scope, cursor.as_ref(), 5000).await?;
        for c in page.changes {
            let key = (c.kind.clone(), c.id.clone());
            match &c.data {
                Some(d) => {
                    out.insert(
                        key,
                        (
                            c.village.clone(),
                            c.version,
                            c.hlc.to_string(),
                            serde_json::from_str(d.get())?,
                        ),
                    );
                }
                None => {
                    out.remove(&key);
                }
            }
        }
        cursor = Some(page.next_cursor);
        if !page.has_more {
            return Ok(out);
        }
    }
}

/// How many records of `kind` a map holds.
pub fn count(map: &RecordMap, kind: &str) -> usize {
    map.keys().filter(|(k, _)| k == kind).count()
}

/// Bytes that start like a JPEG, deterministic from `seed` (the server checks the magic).
pub fn jpeg_like(len: usize, seed: u8) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = u32::from(seed) + 1;
    while v.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        v.push((x >> 16) as u8);
    }
    v.truncate(len);
    v
}
