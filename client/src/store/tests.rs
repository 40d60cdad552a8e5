//! The store's promises, each forced: a failure mid-transaction, a pull racing a pending edit,
//! a refusal, a phone clock turned back.

use chrono::TimeZone;
use serde_json::json;
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, HouseholdField};
use yijian_core::ids::{HouseholdId, UserId};
use yijian_core::protocol::{Change, Command, CommandBody, Wire};
use yijian_core::role::Role;
use yijian_core::support::PhotoOwner;

use super::*;
use yijian_core::protocol::kinds;

const VILLAGE: &str = "621102105201";
const T0_MS: i64 = 1_780_000_000_000;

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("valid time")
}

fn open(dir: &tempfile::TempDir) -> LocalStore {
    LocalStore::open(&dir.path().join("yijian.db"), &crate::fixtures::test_key())
        .expect("open")
        .with_clock(|| at(T0_MS))
}

fn village() -> DivisionCode {
    DivisionCode::parse(VILLAGE).expect("village")
}

fn household(n: u128, address: &str) -> Household {
    Household::new(
        HouseholdId::from_parts(1_770_000_000_000, n),
        village(),
        address,
    )
    .expect("household")
}

fn change(kind: &str, id: &str, version: i64, body: &Value) -> Change {
    Change {
        kind: kind.into(),
        id: id.into(),
        village: VILLAGE.into(),
        hlc: Hlc {
            wall_ms: 1_700_000_000_000 + version as u64,
            counter: 0,
            node: 9,
        },
        version,
        data: Some(RawValue::from_string(body.to_string()).expect("raw")),
    }
}

fn pull(store: &mut LocalStore, changes: &[Change], cursor: &str) -> ApplyTally {
    store
        .apply_changes(
            changes,
            &FeedPosition::Pull {
                next_cursor: Cursor(cursor.into()),
            },
        )
        .expect("apply")
}

fn body_of(store: &LocalStore, kind: &str, id: &str) -> Option<Value> {
    store.record(kind, id).expect("read").map(|r| r.body)
}

#[test]
fn every_migration_file_is_embedded_in_order() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/client");
    yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
}

#[test]
fn open_creates_directory_migrates_and_keeps_settings_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app/data/yijian.db");
    let store = LocalStore::open(&path, &crate::fixtures::test_key()).expect("open");
    assert_eq!(
        store.schema_version_count().expect("count"),
        MIGRATIONS.len() as i64
    );
    assert_eq!(store.meta("server").expect("meta"), None);
    store
        .set_meta("server", "http://127.0.0.1:8080")
        .expect("set");
    store
        .set_meta("server", "http://10.0.0.1:8080")
        .expect("overwrite");
    drop(store);
    let again = LocalStore::open(&path, &crate::fixtures::test_key()).expect("reopen");
    assert_eq!(
        again.meta("server").expect("meta").as_deref(),
        Some("http://10.0.0.1:8080")
    );
}

#[test]
fn a_local_change_writes_its_record_and_its_outbox_command_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let h = household(1, "南川村1社");
    let id = store.create_household(&h).expect("create");
    let rec = store
        .record(kinds::HOUSEHOLD, &h.id.to_string())
        .expect("read")
        .expect("record written");
    assert!(rec.pending);
    assert_eq!(rec.version, 0);
    assert_eq!(rec.body, serde_json::to_value(&h).expect("json"));
    let outbox = store.outbox(0, 10).expect("outbox");
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].command_id, id);
    assert_eq!(outbox[0].record_kind.as_deref(), Some(kinds::HOUSEHOLD));
    let cmd: Command = serde_json::from_str(outbox[0].command.get()).expect("command");
    assert_eq!(cmd.id, id);
    assert_eq!(
        cmd.hlc, rec.hlc,
        "the record carries its command's timestamp"
    );
    assert!(matches!(
        cmd.body,
        Wire::Known(CommandBody::CreateHousehold(ref x)) if *x == h
    ));
}

#[test]
fn a_failure_mid_transaction_leaves_neither_records_nor_outbox_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let first = household(1, "一社");
    store.create_household(&first).expect("create");
    let hlc_before = store.last_hlc().expect("hlc");

    // The second touch violates a CHECK after the first was written.
    let h = household(2, "二社");
    let good = Touch::new(kinds::HOUSEHOLD, h.id, VILLAGE, &h).expect("touch");
    let bad = Touch {
        kind: String::new(),
        ..good.clone()
    };
    let err = store
        .record_command(
            CommandBody::CreateHousehold(h.clone()),
            &[good.clone(), bad],
        )
        .expect_err("check constraint");
    assert_eq!(err.kind(), crate::ErrorKind::Storage);

    // The outbox insert fails (a reused command id) after the records were written.
    let reused = store.outbox(0, 1).expect("outbox")[0].command_id;
    let err = store
        .record_command_as(
            reused,
            CommandBody::CreateHousehold(h.clone()),
            &[good],
            |_| Ok(()),
        )
        .expect_err("unique command id");
    assert_eq!(err.kind(), crate::ErrorKind::Storage);

    // Extra writes in the same transaction fail last.
    let h3 = household(3, "三社");
    let err = store
        .record_command_with(
            CommandBody::CreateHousehold(h3.clone()),
            &[Touch::new(kinds::HOUSEHOLD, h3.id, VILLAGE, &h3).expect("touch")],
            |_| Err(Error::invalid("forced")),
        )
        .expect_err("extra fails");
    assert_eq!(err.to_string(), "forced");

    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &h.id.to_string()), None);
    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &h3.id.to_string()), None);
    assert_eq!(store.outbox_len().expect("len"), 1);
    assert_eq!(store.records(None).expect("records").len(), 1);
    assert_eq!(
        store.last_hlc().expect("hlc"),
        hlc_before,
        "clock rolled back too"
    );
}

#[test]
fn command_timestamps_keep_increasing_when_the_phone_clock_is_turned_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("yijian.db");
    let mut store = LocalStore::open(&path, &crate::fixtures::test_key())
        .expect("open")
        .with_clock(|| at(T0_MS));
    store
        .create_household(&household(1, "一社"))
        .expect("create");
    let first = store.last_hlc().expect("hlc").expect("set");
    drop(store);
    // The worker sets the phone three days back and restarts the app.
    let mut store = LocalStore::open(&path, &crate::fixtures::test_key())
        .expect("reopen")
        .with_clock(|| at(T0_MS - 3 * 86_400_000));
    store
        .create_household(&household(2, "二社"))
        .expect("create");
    let second = store.last_hlc().expect("hlc").expect("set");
    assert!(second > first, "{second} after {first}");
    let outbox = store.outbox(0, 10).expect("outbox");
    let hlcs: Vec<Hlc> = outbox
        .iter()
        .map(|e| {
            serde_json::from_str::<Command>(e.command.get())
                .expect("command")
                .hlc
        })
        .collect();
    assert!(hlcs[0] < hlcs[1]);
}

#[test]
fn a_pull_never_overwrites_a_pending_change_and_the_server_copy_wins_after_acknowledgement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let h = household(1, "旧地址");
    let id = h.id.to_string();
    let v1 = serde_json::to_value(&h).expect("json");
    pull(&mut store, &[change(kinds::HOUSEHOLD, &id, 1, &v1)], "c1");

    let cmd = store
        .edit_household(h.id, &[(HouseholdField::Address, json!("我改的地址"))])
        .expect("edit");
    let mine = body_of(&store, kinds::HOUSEHOLD, &id).expect("record");
    assert_eq!(mine["address"], "我改的地址");

    // Someone else's change arrives while ours is unsent: kept aside, not shown.
    let mut theirs = h.clone();
    theirs.address = "别人改的地址".into();
    let v2 = serde_json::to_value(&theirs).expect("json");
    let tally = pull(&mut store, &[change(kinds::HOUSEHOLD, &id, 2, &v2)], "c2");
    assert_eq!(tally.kept_aside, 1);
    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &id), Some(mine.clone()));
    assert!(
        store
            .record(kinds::HOUSEHOLD, &id)
            .expect("read")
            .expect("rec")
            .pending
    );
    assert_eq!(
        store.pull_state().expect("state"),
        PullState::Feed {
            cursor: Cursor("c2".into())
        }
    );

    // Acknowledged: the server merged it (and its merge arrives through the feed); the copy
    // kept aside is the newest the device has seen, so it replaces the local body now.
    store
        .apply_push_actions(&[OutboxAction::Ack(cmd)])
        .expect("ack");
    let rec = store
        .record(kinds::HOUSEHOLD, &id)
        .expect("read")
        .expect("rec");
    assert!(!rec.pending);
    assert_eq!(rec.body, v2);
    assert_eq!(rec.version, 2);

    // Acknowledged with no pull in between: the local body stays until the feed brings the
    // server's result.
    let cmd = store
        .edit_household(h.id, &[(HouseholdField::DoorPlate, json!("7号"))])
        .expect("edit");
    store
        .apply_push_actions(&[OutboxAction::Ack(cmd)])
        .expect("ack");
    let rec = store
        .record(kinds::HOUSEHOLD, &id)
        .expect("read")
        .expect("rec");
    assert_eq!(rec.body["door_plate"], "7号");
    assert_eq!(rec.version, 2);
    let mut merged = theirs.clone();
    merged.door_plate = Some("7号".into());
    let v3 = serde_json::to_value(&merged).expect("json");
    pull(&mut store, &[change(kinds::HOUSEHOLD, &id, 3, &v3)], "c3");
    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &id), Some(v3));
}

#[test]
fn a_refused_change_is_quarantined_the_server_copy_restored_and_retry_requeues_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let h = household(1, "旧地址");
    let id = h.id.to_string();
    let v1 = serde_json::to_value(&h).expect("json");
    pull(&mut store, &[change(kinds::HOUSEHOLD, &id, 1, &v1)], "c1");
    let edit = store
        .edit_household(h.id, &[(HouseholdField::Address, json!("新地址"))])
        .expect("edit");
    let local_only = household(2, "只在本机");
    let create = store.create_household(&local_only).expect("create");
    let later = store
        .create_household(&household(3, "后面的"))
        .expect("create");

    let tally = store
        .apply_push_actions(&[
            OutboxAction::Quarantine {
                id: edit,
                code: "out_of_scope".into(),
                message_zh: "不在您的管辖范围内".into(),
                message_en: "out of scope".into(),
            },
            OutboxAction::Quarantine {
                id: create,
                code: "invalid".into(),
                message_zh: "住址不能为空".into(),
                message_en: "invalid".into(),
            },
            OutboxAction::Ack(later),
        ])
        .expect("apply");
    assert_eq!(
        tally,
        PushTally {
            acknowledged: 1,
            quarantined: 2,
            kept: 0
        }
    );
    assert_eq!(store.outbox_len().expect("len"), 0);
    // The server's copy is what the device shows again; nothing of the worker's is lost: the
    // command waits in the quarantine with the reason.
    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &id), Some(v1));
    assert!(
        body_of(&store, kinds::HOUSEHOLD, &local_only.id.to_string()).is_some(),
        "a record that exists only here is kept"
    );
    let q = store.quarantine().expect("quarantine");
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].command_id, edit);
    assert_eq!(q[0].code, "out_of_scope");
    assert_eq!(q[0].message_zh, "不在您的管辖范围内");
    assert_eq!(q[0].record_id.as_deref(), Some(id.as_str()));

    store.retry_quarantined(edit).expect("retry");
    assert_eq!(store.quarantine_len().expect("len"), 1);
    let outbox = store.outbox(0, 10).expect("outbox");
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].command_id, edit);
    assert!(
        store
            .record(kinds::HOUSEHOLD, &id)
            .expect("read")
            .expect("rec")
            .pending
    );
    assert!(
        store.retry_quarantined(edit).is_err(),
        "no longer quarantined"
    );
    store.discard_quarantined(create).expect("discard");
    assert_eq!(store.quarantine_len().expect("len"), 0);
    assert_eq!(
        body_of(&store, kinds::HOUSEHOLD, &local_only.id.to_string()),
        None,
        "discarding drops what existed only here"
    );
    assert!(
        body_of(&store, kinds::HOUSEHOLD, &id).is_some(),
        "a server record stays"
    );
}

#[test]
fn a_page_and_its_cursor_are_written_together_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let a = household(1, "一社");
    let b = household(2, "二社");
    pull(
        &mut store,
        &[change(
            kinds::HOUSEHOLD,
            &a.id.to_string(),
            1,
            &serde_json::to_value(&a).expect("json"),
        )],
        "c1",
    );
    // The second change of the next page cannot be stored: the first must not stay either,
    // and the cursor must not move past the page.
    let broken = vec![
        change(
            kinds::HOUSEHOLD,
            &b.id.to_string(),
            1,
            &serde_json::to_value(&b).expect("json"),
        ),
        change("", "x", 1, &json!({})),
    ];
    store
        .apply_changes(
            &broken,
            &FeedPosition::Pull {
                next_cursor: Cursor("c2".into()),
            },
        )
        .expect_err("check constraint");
    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &b.id.to_string()), None);
    assert_eq!(
        store.pull_state().expect("state"),
        PullState::Feed {
            cursor: Cursor("c1".into())
        }
    );
    // A deletion removes the record.
    let mut gone = change(kinds::HOUSEHOLD, &a.id.to_string(), 2, &json!({}));
    gone.data = None;
    pull(&mut store, &[gone], "c3");
    assert_eq!(body_of(&store, kinds::HOUSEHOLD, &a.id.to_string()), None);
}

#[test]
fn snapshot_progress_is_saved_per_page_and_hands_over_to_the_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    assert_eq!(
        store.pull_state().expect("state"),
        PullState::Snapshot {
            page: None,
            done: 0,
            total: 0
        }
    );
    let page1: Vec<Change> = (1..=3)
        .map(|n| {
            let h = household(n, "一社");
            change(
                kinds::HOUSEHOLD,
                &h.id.to_string(),
                1,
                &serde_json::to_value(&h).expect("json"),
            )
        })
        .collect();
    store
        .apply_changes(
            &page1,
            &FeedPosition::Snapshot {
                next_page: Some("p2".into()),
                resume_cursor: Cursor("p2".into()),
                total: 5,
            },
        )
        .expect("page 1");
    assert_eq!(
        store.pull_state().expect("state"),
        PullState::Snapshot {
            page: Some("p2".into()),
            done: 3,
            total: 5
        }
    );
    assert_eq!(store.status().expect("status").snapshot, Some((3, 5)));
    // The same page again after a cut is harmless.
    store
        .apply_changes(
            &page1[2..],
            &FeedPosition::Snapshot {
                next_page: None,
                resume_cursor: Cursor("end".into()),
                total: 5,
            },
        )
        .expect("last page");
    assert_eq!(
        store.pull_state().expect("state"),
        PullState::Feed {
            cursor: Cursor("end".into())
        }
    );
    assert_eq!(store.records(None).expect("records").len(), 3);
    assert!(
        store.last_hlc().expect("hlc").is_some(),
        "pulled clocks observed"
    );
}

#[test]
fn a_photo_waits_for_its_metadata_record_to_be_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let h = household(1, "一社");
    pull(
        &mut store,
        &[change(
            kinds::HOUSEHOLD,
            &h.id.to_string(),
            1,
            &serde_json::to_value(&h).expect("json"),
        )],
        "c1",
    );
    let file = dir.path().join("house.jpg");
    std::fs::write(&file, b"\xff\xd8\xff\xe0 not really a jpeg").expect("write");
    let meta = store
        .record_photo(
            &file,
            PhotoOwner::Household { household_id: h.id },
            640,
            480,
            None,
        )
        .expect("photo");
    assert_eq!(meta.sha256.as_str().len(), 64);
    let now = at(T0_MS);
    assert!(
        store.photos_due(now).expect("due").is_empty(),
        "record not acknowledged"
    );
    assert_eq!(store.status().expect("status").photos_pending, 1);
    let cmd = store.outbox(0, 1).expect("outbox")[0].command_id;
    store
        .apply_push_actions(&[OutboxAction::Ack(cmd)])
        .expect("ack");
    let due = store.photos_due(now).expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].sha256, meta.sha256.as_str());
    assert_eq!(due[0].bytes, meta.bytes);

    // A transient failure backs this photo off; a permanent one fails it.
    store
        .photo_retry_later(&due[0].sha256, "超时", at(T0_MS + 60_000))
        .expect("later");
    assert!(store.photos_due(now).expect("due").is_empty());
    assert_eq!(store.photos_due(at(T0_MS + 60_000)).expect("due").len(), 1);
    store
        .photo_failed(&due[0].sha256, "照片太大")
        .expect("failed");
    let status = store.status().expect("status");
    assert_eq!((status.photos_pending, status.photos_failed), (0, 1));
    assert_eq!(store.photos().expect("photos")[0].attempts, 2);
}

#[test]
fn a_different_user_starts_from_an_empty_view_but_not_over_unsent_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let account = |n: u128| Account {
        id: UserId::from_parts(1_770_000_000_000, n),
        login: "13800000001".into(),
        name: "测试".into(),
        role: Role::VillageWorker,
        scope: village(),
    };
    let session = |n: u128| Session {
        server: "http://127.0.0.1:1".into(),
        token: "secret".into(),
        device_id: DeviceId::from_parts(1_770_000_000_000, n),
        user: account(n),
        token_rejected: false,
    };
    store.save_session(&session(1)).expect("login");
    assert!(!format!("{:?}", session(1)).contains("secret"));
    store
        .create_household(&household(1, "一社"))
        .expect("create");
    let err = store.save_session(&session(2)).expect_err("unsent work");
    assert_eq!(err.kind(), crate::ErrorKind::Invalid);
    // The same user logging in again keeps everything.
    store.save_session(&session(1)).expect("same user");
    assert_eq!(store.outbox_len().expect("len"), 1);
    store.mark_token_rejected().expect("reject");
    assert!(
        store
            .session()
            .expect("session")
            .expect("some")
            .token_rejected
    );
    store.save_session(&session(1)).expect("login again");
    assert!(
        !store
            .session()
            .expect("session")
            .expect("some")
            .token_rejected
    );
}
