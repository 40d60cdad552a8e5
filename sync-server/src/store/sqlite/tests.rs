//! Tests of this module's rules.

use super::*;
use crate::store::{Storage, StorageError};
use std::path::Path;
use yijian_core::division::DivisionCode;

#[test]
fn every_migration_file_is_embedded_in_order() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/server-sqlite");
    yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
}

#[tokio::test]
async fn opens_migrates_once_and_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("nested/data");
    let s = SqliteStorage::open_in(&data).await.expect("open");
    assert!(s.path().exists());
    assert_eq!(
        s.health().await.expect("health").migrations,
        MIGRATIONS.len() as i64
    );
    drop(s);
    let again = SqliteStorage::open_in(&data).await.expect("reopen");
    assert_eq!(
        again.health().await.expect("health").migrations,
        MIGRATIONS.len() as i64
    );
    let mode: String = again
        .with_writer(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn refuses_a_database_from_a_newer_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStorage::open_in(dir.path()).await.expect("open");
    s.with_writer(|c| {
        c.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (99991231000000, 'future.sql', 'x')",
            [],
        )?;
        Ok(())
    })
    .await
    .expect("insert");
    drop(s);
    let err = SqliteStorage::open_in(dir.path())
        .await
        .expect_err("newer db");
    assert!(err.to_string().contains("newer version"), "{err}");
}

#[tokio::test]
async fn creating_users_is_all_or_nothing() {
    use crate::domain::accounts::NewUser;
    use yijian_core::role::Role;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStorage::open_in(dir.path()).await.expect("open");
    let user = |login: &str| {
        NewUser {
            login: login.into(),
            name: "测试".into(),
            role: Role::County,
            scope: DivisionCode::parse("621102").expect("code"),
            password: "long enough".into(),
        }
        .prepare()
        .expect("valid")
    };
    let (a, ha) = user("13800000001");
    let (b, hb) = user("13800000002");
    let (dup, hd) = user("13800000001");
    let err = s
        .create_users(vec![(a.clone(), ha.clone()), (b, hb), (dup, hd)])
        .await
        .expect_err("duplicate login");
    assert!(matches!(err, StorageError::Duplicate(_)), "{err}");
    assert!(
        s.list_users().await.expect("list").is_empty(),
        "nobody written"
    );
    s.create_user(&a, &ha).await.expect("one user");
    assert_eq!(s.list_users().await.expect("list"), vec![a]);
}

#[tokio::test]
async fn audit_trail_is_append_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStorage::open_in(dir.path()).await.expect("open");
    let err = s
        .with_writer(|c| {
            c.execute(
                "INSERT INTO audit (at, action, kind, record_id, village, detail) VALUES ('t', 'a', 'k', 'r', 'v', '{}')",
                [],
            )?;
            c.execute("UPDATE audit SET action = 'forged'", [])?;
            Ok(())
        })
        .await
        .expect_err("update refused");
    assert!(err.to_string().contains("append-only"), "{err}");
}
