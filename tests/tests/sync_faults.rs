//! Fault injection: the device engine syncing through a link that cuts connections at seeded
//! random byte offsets — inside pushes, inside pulls and snapshot pages, inside photo uploads.
//!
//! At least 200 connections are cut per run. Afterwards nothing is missing, nothing is
//! duplicated (every record the devices created was written exactly once on the server), no
//! command is left in an outbox or quarantine, and every photo on the server is byte-identical
//! to the device's. The seed is printed; `YIJIAN_FAULT_SEED=<n>` replays a run.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Result, ensure};
use yijian_client::EngineConfig;
use yijian_core::division::DivisionCode;
use yijian_core::ids::HouseholdId;
use yijian_core::protocol::kinds;
use yijian_core::role::Role;
use yijian_core::support::PhotoOwner;
use yijian_server::ServerSettings;
use yijian_tests::api::ApiDevice;
use yijian_tests::device::{
    Backend, Device, PASSWORD, RecordMap, count, jpeg_like, server_on, server_records,
};
use yijian_tests::proxy::FaultProxy;

const VILLAGE: &str = "621102105201";
const MIN_CUTS: u64 = 200;

fn seed() -> u64 {
    std::env::var("YIJIAN_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026_1128)
}

/// Sync until a round succeeds with nothing left to send; every failure must be a network
/// failure (a cut), never a refusal or a corruption.
async fn sync_until_clean(d: &Device, what: &str, seed: u64) -> Result<u32> {
    let started = Instant::now();
    let mut failures = 0u32;
    loop {
        match d.engine.sync_once().await {
            Ok(report) if report.outbox_left == 0 && report.photos_retry_later == 0 => {
                let status = d.store(|s| s.status())?;
                if status.photos_pending == 0 {
                    return Ok(failures);
                }
            }
            Ok(_) => {}
            Err(e) => {
                ensure!(
                    e.is_retryable(),
                    "seed {seed}, {what}: non-network failure {e}"
                );
                failures += 1;
            }
        }
        ensure!(
            started.elapsed().as_secs() < 180,
            "seed {seed}, {what}: no clean round after {failures} failures"
        );
    }
}

fn cut_config() -> EngineConfig {
    EngineConfig {
        // Every request on its own connection, so every request faces the link; small batches
        // and pages so a sync is many requests.
        reuse_connections: false,
        push_batch: 10,
        pull_limit: 25,
        snapshot_limit: 25,
        photo_chunk: 16 * 1024,
        photo_backoff: yijian_client::sync::Backoff {
            base: std::time::Duration::from_millis(1),
            cap: std::time::Duration::from_millis(5),
        },
        ..EngineConfig::default()
    }
}

async fn cuts_everywhere(backend: Backend) -> Result<()> {
    let seed = seed();
    eprintln!("fault seed {seed} ({backend:?})");
    let (_home, server) = server_on(backend, ServerSettings::default()).await?;
    server
        .create_user("13800000001", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    server
        .create_user("13800000002", Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    let village = DivisionCode::parse(VILLAGE)?;
    let proxy = FaultProxy::start(server.addr, seed).await?;
    let mut cuts = BTreeMap::new();

    // Each phase adds work until the link has cut at least PHASE_CUTS connections in it.
    const PHASE_CUTS: u64 = 70;

    // Push: households with a visit each, made offline, pushed through a link that cuts 60% of
    // the connections within their first 3 KiB either way (inside headers and bodies).
    let d = Device::login(&proxy.url(), "13800000001", cut_config()).await?;
    let me = d.user_id()?;
    let mut pushed = 0u64;
    proxy.set_cuts(600, 3 * 1024);
    let before = proxy.cuts();
    while proxy.cuts() - before < PHASE_CUTS {
        d.store(|s| s.seed_households(&village, 20, Some(me)))?;
        pushed += 20;
        sync_until_clean(&d, "push", seed).await?;
    }
    cuts.insert("push", proxy.cuts() - before);

    // Pull: another worker on a good link keeps adding households; a new phone's first sync
    // (snapshot pages) and the first phone's delta pulls go through the cutting link.
    let other = Device::login(&server.url(), "13800000002", EngineConfig::default()).await?;
    let mut added = 0u64;
    let mut fresh: Option<Device> = None;
    let before = proxy.cuts();
    while proxy.cuts() - before < PHASE_CUTS {
        other.store(|s| s.seed_households(&village, 50, None))?;
        added += 50;
        other.engine.sync_once().await?;
        if fresh.is_none() {
            let f = Device::login(&proxy.url(), "13800000002", cut_config()).await?;
            sync_until_clean(&f, "snapshot", seed).await?;
            fresh = Some(f);
        }
        sync_until_clean(&d, "pull", seed).await?;
    }
    cuts.insert("pull", proxy.cuts() - before);
    let fresh = fresh.ok_or_else(|| anyhow::anyhow!("no fresh device"))?;

    // Photo upload: photos of 100 KB, uploaded in 16 KiB chunks through a link that cuts
    // connections inside the chunk bodies.
    let households: Vec<HouseholdId> = d
        .store(|s| s.records(Some(kinds::HOUSEHOLD)))?
        .into_iter()
        .map(|r| r.id.parse())
        .collect::<Result<_, _>>()?;
    let mut photos = Vec::new();
    proxy.set_cuts(600, 20 * 1024);
    let before = proxy.cuts();
    while proxy.cuts() - before < PHASE_CUTS {
        for _ in 0..3 {
            let i = photos.len();
            let path = d.dir.path().join(format!("photo{i}.jpg"));
            std::fs::write(
                &path,
                jpeg_like(100_000, u8::try_from(i % 250).unwrap_or(0)),
            )?;
            let owner = PhotoOwner::Household {
                household_id: households[i % households.len()],
            };
            let meta = d.store(|s| s.record_photo(&path, owner, 1600, 1200, None))?;
            photos.push((meta.sha256.to_string(), std::fs::read(&path)?));
        }
        sync_until_clean(&d, "photos", seed).await?;
    }
    cuts.insert("photos", proxy.cuts() - before);

    // The link heals; everyone syncs once more.
    proxy.set_cuts(0, 1);
    for dev in [&d, &other, &fresh] {
        dev.engine.sync_once().await?;
        let status = dev.store(|s| s.status())?;
        assert_eq!((status.outbox, status.quarantine), (0, 0), "nothing stuck");
        assert_eq!(status.photos_failed, 0);
    }

    let total: u64 = cuts.values().sum();
    eprintln!("seed {seed}: cuts per phase {cuts:?}, total {total}");
    assert!(
        total >= MIN_CUTS,
        "seed {seed}: only {total} cuts ({cuts:?})"
    );

    let on_server: RecordMap = server_records(&server, VILLAGE).await?;
    let expected = usize::try_from(pushed + added)?;
    assert_eq!(
        count(&on_server, kinds::HOUSEHOLD),
        expected,
        "nothing lost"
    );
    assert_eq!(count(&on_server, kinds::VISIT), usize::try_from(pushed)?);
    assert_eq!(count(&on_server, kinds::PHOTO), photos.len());
    // Nothing applied twice: every record devices created was written exactly once.
    for ((kind, id), (_, version, _, _)) in &on_server {
        assert_eq!(*version, 1, "{kind} {id} written {version} times");
    }
    for (name, dev) in [("first", &d), ("other", &other), ("fresh", &fresh)] {
        let held = dev.records()?;
        let differ: Vec<_> = on_server
            .iter()
            .filter(|(k, v)| held.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.1, held.get(k).map(|h| h.1)))
            .chain(
                held.keys()
                    .filter(|k| !on_server.contains_key(*k))
                    .map(|k| (k.clone(), -1, None)),
            )
            .take(5)
            .collect();
        assert!(
            differ.is_empty(),
            "seed {seed}: the {name} device differs from the server ({} vs {} records), e.g. (key, server version, device version) {differ:?}",
            held.len(),
            on_server.len()
        );
    }
    let reader = ApiDevice::login(&server.url(), "13800000002", PASSWORD).await?;
    for (sha, bytes) in &photos {
        assert_eq!(
            &reader.blob(sha).await?,
            bytes,
            "photo {sha} byte-identical"
        );
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_in_push_pull_and_photo_upload_on_sqlite() -> Result<()> {
    cuts_everywhere(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_in_push_pull_and_photo_upload_on_postgres() -> Result<()> {
    cuts_everywhere(Backend::Postgres).await
}
