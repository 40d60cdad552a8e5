//! The engine against a scripted server: real HTTP on a real port, with answers chosen by each
//! test (a 503 on the second snapshot page, a refusal in the middle of a batch, a revoked
//! token, a photo the server already holds half of). The real server is exercised by the
//! workspace's end-to-end tests; here the point is the failures a real server rarely gives.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, post};
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use yijian_core::division::DivisionCode;
use yijian_core::household::Household;
use yijian_core::ids::{CommandId, DeviceId, HouseholdId, UserId};
use yijian_core::protocol::{
    Change, CommandResult, Cursor, Outcome, PullResponse, PushRequest, PushResponse, SnapshotPage,
    Wire,
};
use yijian_core::role::Role;
use yijian_core::support::PhotoOwner;

use super::*;
use crate::store::{Account, PhotoStatus, Session};
use yijian_core::protocol::kinds;

const VILLAGE: &str = "621102105201";

/// What the scripted server does and what it saw.
#[derive(Default)]
struct Script {
    /// Answer the next N pushes with this status.
    push_fail: Vec<u16>,
    refuse: HashSet<CommandId>,
    /// Command ids of each push, in order.
    pushes: Vec<Vec<CommandId>>,
    /// Snapshot pages by token ("" = first).
    pages: HashMap<String, SnapshotPage>,
    /// Answer the next request for this page with 503.
    page_fail: HashSet<String>,
    /// Page tokens asked for, in order.
    pages_asked: Vec<String>,
    pulls_asked: Vec<String>,
    /// Cursors the server no longer knows.
    bad_cursors: HashSet<String>,
    blobs: HashMap<String, Vec<u8>>,
    blob_reject: HashMap<String, u16>,
    /// `Content-Range` headers received.
    ranges: Vec<String>,
    requests: u64,
    /// Hold each push this long before answering it (a slow server).
    push_delay: Option<Duration>,
    /// A push is being handled (between its arrival and its answer).
    push_in_flight: bool,
    /// A request that arrived while a push was in flight: "push" or "pull".
    overlapped: Vec<&'static str>,
    /// Changes the next feed page carries (then `next_cursor` "r1").
    feed: Vec<Change>,
}

type Shared = Arc<Mutex<Script>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Script> {
    s.lock().expect("script lock")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message, "message_en": code})),
    )
        .into_response()
}

async fn push(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let body = if headers.get("content-encoding").is_some_and(|v| v == "zstd") {
        zstd::decode_all(&body[..]).expect("zstd body")
    } else {
        body.to_vec()
    };
    let req: PushRequest = serde_json::from_slice(&body).expect("push body");
    let delay = {
        let mut s = lock(&s);
        if s.push_in_flight {
            s.overlapped.push("push");
        }
        s.push_in_flight = true;
        s.push_delay
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut s = lock(&s);
    s.push_in_flight = false;
    s.requests += 1;
    if !s.push_fail.is_empty() {
        let status = s.push_fail.remove(0);
        return match status {
            401 => error(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "登录已失效，请重新登录",
            ),
            n => error(
                StatusCode::from_u16(n).expect("status"),
                "storage_unavailable",
                "服务器暂时无法处理，请稍后重试",
            ),
        };
    }
    s.pushes.push(req.commands.iter().map(|c| c.id).collect());
    let results = req
        .commands
        .iter()
        .map(|c| CommandResult {
            id: c.id,
            outcome: Wire::Known(if s.refuse.contains(&c.id) {
                Outcome::Refused {
                    code: "role_not_allowed".into(),
                    message_zh: "您的角色不能审批".into(),
                    message_en: "role".into(),
                }
            } else {
                Outcome::Applied
            }),
        })
        .collect();
    axum::Json(PushResponse {
        server_time: Utc::now(),
        results,
    })
    .into_response()
}

async fn snapshot(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = lock(&s);
    s.requests += 1;
    let token = q.get("page").cloned().unwrap_or_default();
    s.pages_asked.push(token.clone());
    if s.page_fail.remove(&token) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "稍后重试",
        );
    }
    match s.pages.get(&token) {
        Some(p) => axum::Json(p.clone()).into_response(),
        None => error(StatusCode::BAD_REQUEST, "bad_cursor", "同步位置无效"),
    }
}

async fn pull(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = lock(&s);
    s.requests += 1;
    let cursor = q.get("cursor").cloned().unwrap_or_default();
    s.pulls_asked.push(cursor.clone());
    if s.push_in_flight {
        s.overlapped.push("pull");
    }
    if s.bad_cursors.contains(&cursor) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            "同步位置无效，请重新同步",
        );
    }
    let changes = std::mem::take(&mut s.feed);
    let next_cursor = if changes.is_empty() {
        Cursor(cursor)
    } else {
        Cursor("r1".into())
    };
    axum::Json(PullResponse {
        server_time: Utc::now(),
        changes,
        next_cursor,
        has_more: false,
    })
    .into_response()
}

async fn blob_head(State(s): State<Shared>, UrlPath(sha): UrlPath<String>) -> Response {
    let s = lock(&s);
    match s.blobs.get(&sha) {
        Some(b) if hex(&Sha256::digest(b)) == sha => StatusCode::OK.into_response(),
        held => (
            StatusCode::NOT_FOUND,
            [("upload-offset", held.map_or(0, Vec::len).to_string())],
        )
            .into_response(),
    }
}

async fn blob_put(
    State(s): State<Shared>,
    UrlPath(sha): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = lock(&s);
    if let Some(status) = s.blob_reject.get(&sha) {
        return error(
            StatusCode::from_u16(*status).expect("status"),
            "too_large",
            "照片太大（超过10MB）",
        );
    }
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .expect("content-range")
        .to_owned();
    s.ranges.push(range.clone());
    let (start, total) = {
        let spec = range.trim_start_matches("bytes ");
        let (span, total) = spec.split_once('/').expect("total");
        let (start, _) = span.split_once('-').expect("span");
        (
            start.parse::<usize>().expect("start"),
            total.parse::<usize>().expect("total"),
        )
    };
    let held = s.blobs.entry(sha.clone()).or_default();
    if start != held.len() {
        return (
            StatusCode::CONFLICT,
            [("upload-offset", held.len().to_string())],
        )
            .into_response();
    }
    held.extend_from_slice(&body);
    if held.len() < total {
        return (
            StatusCode::ACCEPTED,
            [("upload-offset", held.len().to_string())],
        )
            .into_response();
    }
    if hex(&Sha256::digest(&held[..])) != sha {
        s.blobs.remove(&sha);
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "照片内容校验失败",
        );
    }
    StatusCode::CREATED.into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn serve(script: Shared) -> String {
    let app = Router::new()
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/snapshot", get(snapshot))
        .route("/v1/sync/pull", get(pull))
        .route("/v1/blobs/{sha}", head(blob_head).put(blob_put))
        .with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn account() -> Account {
    Account {
        id: UserId::from_parts(1_770_000_000_000, 1),
        login: "13800000001".into(),
        name: "测试网格员".into(),
        role: Role::VillageWorker,
        scope: DivisionCode::parse(VILLAGE).expect("village"),
    }
}

fn device_engine(dir: &tempfile::TempDir, server: &str, config: EngineConfig) -> SyncEngine {
    let mut store = LocalStore::open(&dir.path().join("yijian.db"), &crate::fixtures::test_key())
        .expect("open");
    store
        .save_session(&Session {
            server: server.into(),
            token: "token".into(),
            device_id: DeviceId::from_parts(1_770_000_000_000, 7),
            user: account(),
            token_rejected: false,
        })
        .expect("session");
    SyncEngine::with_config(store, config).expect("engine")
}

fn household(n: u128) -> Household {
    Household::new(
        HouseholdId::from_parts(1_770_000_000_000, n),
        DivisionCode::parse(VILLAGE).expect("village"),
        format!("南川村{n}社"),
    )
    .expect("household")
}

fn change(h: &Household, version: i64) -> Change {
    Change {
        kind: kinds::HOUSEHOLD.into(),
        id: h.id.to_string(),
        village: VILLAGE.into(),
        hlc: yijian_core::hlc::Hlc {
            wall_ms: 1_770_000_000_000,
            counter: 0,
            node: 1,
        },
        version,
        data: Some(
            serde_json::value::to_raw_value(&serde_json::to_value(h).expect("json")).expect("raw"),
        ),
    }
}

/// An empty first sync: one snapshot page with nothing, then the feed.
fn empty_snapshot(script: &Shared) {
    lock(script).pages.insert(
        String::new(),
        SnapshotPage {
            server_time: Utc::now(),
            records: vec![],
            next_page: None,
            total_records: 0,
            resume_cursor: Cursor("r0".into()),
        },
    );
}

#[tokio::test]
async fn a_failed_push_keeps_the_outbox_and_counts_the_attempt() {
    let script = Shared::default();
    empty_snapshot(&script);
    lock(&script).push_fail = vec![503];
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = device_engine(&dir, &url, EngineConfig::default());
    for n in 1..=3 {
        engine
            .with_store(|s| s.create_household(&household(n)))
            .expect("create");
    }
    let err = engine.sync_once().await.expect_err("503");
    assert_eq!(err.kind(), ErrorKind::Network);
    let outbox = engine.with_store(|s| s.outbox(0, 10)).expect("outbox");
    assert_eq!(outbox.len(), 3);
    assert!(
        outbox
            .iter()
            .all(|e| e.attempts == 1 && e.last_error.is_some())
    );
    let status = engine.with_store(|s| s.status()).expect("status");
    assert!(status.last_sync_error.is_some());
    assert_eq!(status.last_sync_at, None);

    let report = engine.sync_once().await.expect("second round");
    assert_eq!(report.pushed.acknowledged, 3);
    assert_eq!(report.outbox_left, 0);
    let status = engine.with_store(|s| s.status()).expect("status");
    assert!(status.last_sync_at.is_some());
    assert_eq!(status.last_sync_error, None);
    assert_eq!(status.cursor.as_deref(), Some("r0"));
}

#[tokio::test]
async fn a_batch_too_large_for_the_server_is_sent_in_smaller_ones() {
    let script = Shared::default();
    empty_snapshot(&script);
    lock(&script).push_fail = vec![413, 413];
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = device_engine(&dir, &url, EngineConfig::default());
    for n in 1..=5 {
        engine
            .with_store(|s| s.create_household(&household(n)))
            .expect("create");
    }
    let report = engine.sync_once().await.expect("sync");
    assert_eq!(report.pushed.acknowledged, 5);
    let sizes: Vec<usize> = lock(&script).pushes.iter().map(Vec::len).collect();
    // 5 refused as too large, then 2, then one at a time.
    assert_eq!(sizes, [1, 1, 1, 1, 1]);
}

#[tokio::test]
async fn pushes_go_in_order_in_batches_and_a_refusal_blocks_nothing() {
    let script = Shared::default();
    empty_snapshot(&script);
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig {
        push_batch: 2,
        compress_above: 64,
        ..EngineConfig::default()
    };
    let engine = device_engine(&dir, &url, config);
    let ids: Vec<CommandId> = (1..=5)
        .map(|n| {
            engine
                .with_store(|s| s.create_household(&household(n)))
                .expect("create")
        })
        .collect();
    lock(&script).refuse.insert(ids[2]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    engine.set_progress(move |p| sink.lock().expect("events").push(p.clone()));

    let report = engine.sync_once().await.expect("sync");
    assert_eq!(report.push_batches, 3);
    assert_eq!(report.pushed.acknowledged, 4);
    assert_eq!(report.pushed.quarantined, 1);
    let pushed: Vec<CommandId> = lock(&script).pushes.concat();
    assert_eq!(pushed, ids, "every command, once, in the order made");
    let q = engine.with_store(|s| s.quarantine()).expect("quarantine");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].command_id, ids[2]);
    assert_eq!(q[0].message_zh, "您的角色不能审批");
    let pushes: Vec<SyncProgress> = events
        .lock()
        .expect("events")
        .iter()
        .filter(|p| p.phase == Phase::Push)
        .cloned()
        .collect();
    assert_eq!(
        pushes.iter().map(|p| p.records_done).collect::<Vec<_>>(),
        [2, 4, 5]
    );
    assert!(pushes.iter().all(|p| p.records_total == 5));

    // Retrying puts it back; the server refuses again and it returns to the quarantine.
    engine
        .with_store(|s| s.retry_quarantined(ids[2]))
        .expect("retry");
    let report = engine.sync_once().await.expect("sync");
    assert_eq!(report.pushed.quarantined, 1);
    assert_eq!(lock(&script).pushes.last(), Some(&vec![ids[2]]));
}

/// The device writes one batch's answer while the next batch travels, and asks for the feed
/// while it writes the last one: yet a batch leaves only once the server answered the one
/// before, the feed is asked for once the last push is answered, and the pulled copies of the
/// pushed records land after their commands left the outbox (so none is kept aside).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_leave_one_after_another_and_the_feed_after_the_last_answer() {
    let script = Shared::default();
    empty_snapshot(&script);
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig {
        push_batch: 2,
        ..EngineConfig::default()
    };
    let engine = Arc::new(device_engine(&dir, &url, config));
    engine.sync_once().await.expect("first sync");
    assert_eq!(lock(&script).pulls_asked, ["r0"]);

    let made: Vec<Household> = (1..=5).map(household).collect();
    let ids: Vec<CommandId> = made
        .iter()
        .map(|h| {
            engine
                .with_store(|s| s.create_household(h))
                .expect("create")
        })
        .collect();
    {
        let mut s = lock(&script);
        s.push_delay = Some(Duration::from_millis(30));
        s.feed = made.iter().map(|h| change(h, 1)).collect();
    }
    // On a runtime worker, as the app's sync loop runs.
    let round = Arc::clone(&engine);
    let report = tokio::spawn(async move { round.sync_once().await })
        .await
        .expect("round")
        .expect("sync");

    let s = lock(&script);
    assert_eq!(
        s.pushes.concat(),
        ids,
        "every command, once, in the order made"
    );
    assert_eq!(s.pushes.len(), 3);
    assert!(s.overlapped.is_empty(), "{:?}", s.overlapped);
    assert_eq!(
        s.pulls_asked,
        ["r0", "r0"],
        "the feed asked for once a round"
    );
    drop(s);
    assert_eq!(report.pushed.acknowledged, 5);
    assert_eq!((report.pulled, report.kept_aside), (5, 0));
    assert_eq!(report.outbox_left, 0);
    assert_eq!(report.cursor.as_deref(), Some("r1"));
    for h in &made {
        let r = engine
            .with_store(|s| s.record(kinds::HOUSEHOLD, &h.id.to_string()))
            .expect("read")
            .expect("kept");
        assert_eq!((r.version, r.pending), (1, false), "{}", h.id);
    }
}

#[tokio::test]
async fn the_first_sync_resumes_from_the_saved_snapshot_page_after_a_cut() {
    let script = Shared::default();
    let hs: Vec<Household> = (1..=4).map(household).collect();
    {
        let mut s = lock(&script);
        s.pages.insert(
            String::new(),
            SnapshotPage {
                server_time: Utc::now(),
                records: vec![change(&hs[0], 1), change(&hs[1], 1)],
                next_page: Some("p2".into()),
                total_records: 4,
                resume_cursor: Cursor("p2".into()),
            },
        );
        s.pages.insert(
            "p2".into(),
            SnapshotPage {
                server_time: Utc::now(),
                records: vec![change(&hs[2], 1), change(&hs[3], 1)],
                next_page: None,
                total_records: 4,
                resume_cursor: Cursor("r1".into()),
            },
        );
        s.page_fail.insert("p2".into());
    }
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = device_engine(&dir, &url, EngineConfig::default());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    engine.set_progress(move |p| sink.lock().expect("events").push(p.clone()));

    let err = engine.sync_once().await.expect_err("cut on page 2");
    assert!(err.is_retryable());
    let status = engine.with_store(|s| s.status()).expect("status");
    assert_eq!(status.records, 2, "page 1 is kept");
    assert_eq!(status.snapshot, Some((2, 4)));

    let report = engine.sync_once().await.expect("resumed");
    assert_eq!(report.snapshot_pages, 1);
    assert_eq!(report.pulled, 2);
    assert_eq!(lock(&script).pages_asked, ["", "p2", "p2"]);
    assert_eq!(lock(&script).pulls_asked, ["r1"]);
    let status = engine.with_store(|s| s.status()).expect("status");
    assert_eq!(status.records, 4);
    assert_eq!(status.snapshot, None);
    assert_eq!(status.cursor.as_deref(), Some("r1"));
    let snap: Vec<(u64, u64)> = events
        .lock()
        .expect("events")
        .iter()
        .filter(|p| p.phase == Phase::Snapshot)
        .map(|p| (p.records_done, p.records_total))
        .collect();
    assert_eq!(snap, [(2, 4), (4, 4)]);
}

#[tokio::test]
async fn a_cursor_the_server_no_longer_knows_rebuilds_the_view_from_a_new_snapshot() {
    let script = Shared::default();
    let (gone, kept) = (household(1), household(2));
    let page = |records: Vec<Change>, resume: &str| SnapshotPage {
        server_time: Utc::now(),
        total_records: records.len() as u64,
        records,
        next_page: None,
        resume_cursor: Cursor(resume.into()),
    };
    lock(&script).pages.insert(
        String::new(),
        page(vec![change(&gone, 1), change(&kept, 1)], "old"),
    );
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = device_engine(&dir, &url, EngineConfig::default());
    engine.sync_once().await.expect("first sync");

    // The server was restored from a backup: it lost one record and the old cursor.
    {
        let mut s = lock(&script);
        s.bad_cursors.insert("old".into());
        s.pages
            .insert(String::new(), page(vec![change(&kept, 1)], "new"));
    }
    let mine = household(3);
    engine
        .with_store(|s| s.create_household(&mine))
        .expect("create");
    let report = engine.sync_once().await.expect("rebuilt");
    assert_eq!(report.snapshot_pages, 1);
    assert_eq!(lock(&script).pulls_asked, ["old", "old", "new"]);
    let ids: Vec<String> = engine
        .with_store(|s| s.records(None))
        .expect("records")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(ids.contains(&kept.id.to_string()));
    assert!(
        ids.contains(&mine.id.to_string()),
        "the device's own work stays"
    );
    assert!(!ids.contains(&gone.id.to_string()));
    assert_eq!(
        engine
            .with_store(|s| s.status())
            .expect("status")
            .cursor
            .as_deref(),
        Some("new")
    );
}

#[tokio::test]
async fn a_revoked_token_stops_syncing_until_the_next_login() {
    let script = Shared::default();
    empty_snapshot(&script);
    lock(&script).push_fail = vec![401];
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = device_engine(&dir, &url, EngineConfig::default());
    engine
        .with_store(|s| s.create_household(&household(1)))
        .expect("create");
    let err = engine.sync_once().await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.to_string(), "登录已失效，请重新登录");
    let requests = lock(&script).requests;
    let err = engine.sync_once().await.expect_err("still rejected");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(
        lock(&script).requests,
        requests,
        "no request with a dead token"
    );
    let status = engine.with_store(|s| s.status()).expect("status");
    assert!(status.token_rejected && !status.logged_in);
    assert_eq!(status.outbox, 1, "the work stays");
}

#[tokio::test]
async fn photos_resume_from_the_servers_offset_and_a_refused_one_blocks_nothing() {
    let script = Shared::default();
    let h = household(1);
    lock(&script).pages.insert(
        String::new(),
        SnapshotPage {
            server_time: Utc::now(),
            records: vec![change(&h, 1)],
            next_page: None,
            total_records: 1,
            resume_cursor: Cursor("r0".into()),
        },
    );
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig {
        photo_chunk: 1000,
        ..EngineConfig::default()
    };
    let engine = device_engine(&dir, &url, config);
    engine.sync_once().await.expect("first sync");

    let big: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
    let huge: Vec<u8> = vec![7; 1200];
    let (pa, pb) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
    std::fs::write(&pa, &big).expect("write");
    std::fs::write(&pb, &huge).expect("write");
    let owner = PhotoOwner::Household { household_id: h.id };
    let huge_meta = engine
        .with_store(|s| s.record_photo(&pb, owner.clone(), 10, 10, None))
        .expect("photo b");
    let big_meta = engine
        .with_store(|s| s.record_photo(&pa, owner.clone(), 10, 10, None))
        .expect("photo a");
    {
        // The server already holds the first 600 bytes of one (a cut upload) and refuses the
        // other as too large.
        let mut s = lock(&script);
        s.blobs
            .insert(big_meta.sha256.to_string(), big[..600].to_vec());
        s.blob_reject.insert(huge_meta.sha256.to_string(), 413);
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    engine.set_progress(move |p| sink.lock().expect("events").push(p.clone()));

    let report = engine.sync_once().await.expect("sync");
    assert_eq!(report.pushed.acknowledged, 2);
    assert_eq!(report.photos_uploaded, 1);
    assert_eq!(report.photos_failed, 1);
    // The resumed photo sends only what the server did not hold.
    assert_eq!(report.photo_bytes_sent, 1900);
    assert_eq!(
        lock(&script).ranges,
        ["bytes 600-1599/2500", "bytes 1600-2499/2500"]
    );
    assert_eq!(
        lock(&script).blobs.get(big_meta.sha256.as_str()),
        Some(&big)
    );
    let photos = engine.with_store(|s| s.photos()).expect("photos");
    let by_sha: HashMap<&str, &crate::store::PhotoJob> =
        photos.iter().map(|p| (p.sha256.as_str(), p)).collect();
    let failed = by_sha[huge_meta.sha256.as_str()];
    assert_eq!(failed.status, PhotoStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("照片太大（超过10MB）"));
    let done = by_sha[big_meta.sha256.as_str()];
    assert_eq!(
        (done.status, done.uploaded_bytes),
        (PhotoStatus::Done, 2500)
    );
    let last_photo_event = events
        .lock()
        .expect("events")
        .iter()
        .rev()
        .find_map(|p| p.photo.clone());
    assert_eq!(
        last_photo_event,
        Some((big_meta.sha256.to_string(), 2500, 2500)),
        "progress per chunk, the last when the photo is complete"
    );
    // Nothing left to do in the next round.
    let report = engine.sync_once().await.expect("sync");
    assert_eq!(report.photos_uploaded + report.photos_failed, 0);
}

#[tokio::test]
async fn the_loop_retries_on_a_timer_with_backoff_and_syncs_on_a_trigger() {
    // A port with nobody listening: every round fails at once.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Arc::new(device_engine(&dir, &dead, EngineConfig::default()));
    engine
        .with_store(|s| s.create_household(&household(1)))
        .expect("create");
    let trigger = Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = LoopConfig {
        interval: Duration::from_secs(3600),
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
        },
    };
    let task = tokio::spawn(run_sync_loop(
        Arc::clone(&engine),
        Arc::clone(&trigger),
        stopped,
        config,
    ));
    // No trigger: the timer alone brings the retries.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let attempts = engine.with_store(|s| s.outbox(0, 1)).expect("outbox")[0].attempts;
        if attempts >= 3 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no timer retries");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("loop stops")
        .expect("join");

    // With a server and a long interval, a trigger is what starts the next round.
    let script = Shared::default();
    empty_snapshot(&script);
    let url = serve(Arc::clone(&script)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Arc::new(device_engine(&dir, &url, EngineConfig::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(run_sync_loop(
        Arc::clone(&engine),
        Arc::clone(&trigger),
        stopped,
        LoopConfig {
            interval: Duration::from_secs(3600),
            backoff: Backoff::default(),
        },
    ));
    wait_until(|| lock(&script).pages_asked.len() == 1).await;
    engine
        .with_store(|s| s.create_household(&household(2)))
        .expect("create");
    trigger.notify_one();
    wait_until(|| engine.with_store(|s| s.outbox_len()).expect("len") == 0).await;
    assert_eq!(lock(&script).pushes.len(), 1);
    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("loop stops")
        .expect("join");
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "condition not met");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn the_login_form_names_the_field_at_fault() {
    let field_of = |server: &str, login: &str, password: &str| {
        LoginForm::check(server, login, password)
            .err()
            .and_then(|e| e.field_name().map(str::to_owned))
    };
    assert_eq!(field_of("", "13800000001", "pw").as_deref(), Some("server"));
    assert_eq!(
        field_of("http:", "13800000001", "pw").as_deref(),
        Some("server")
    );
    assert_eq!(
        field_of("10.1.2.3:8080", "13800000001", "pw").as_deref(),
        Some("server")
    );
    assert_eq!(
        field_of("http://h", "1380000", "pw").as_deref(),
        Some("login")
    );
    assert_eq!(
        field_of("http://h", "13800000001", "").as_deref(),
        Some("password")
    );
    let ok = LoginForm::check(" https://h:8080/ ", "+86 138 0000 0001", "pw").expect("valid");
    assert_eq!(ok.server, "https://h:8080");
    assert_eq!(ok.login, "13800000001");
}
