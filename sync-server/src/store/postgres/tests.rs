//! Tests of this module's rules.

use super::*;
use yijian_core::protocol::Cursor;

#[test]
fn every_migration_file_is_embedded_in_order() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/server-postgres");
    yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
}

#[test]
fn cursors_parse_strictly() {
    assert_eq!(parse_cursor(None).expect("start"), ("0".into(), 0));
    let c = Cursor("p1234.56".into());
    assert_eq!(parse_cursor(Some(&c)).expect("ok"), ("1234".into(), 56));
    for bad in ["s12", "p.1", "p12", "p1x.2", "p1.x"] {
        assert!(parse_cursor(Some(&Cursor(bad.into()))).is_err(), "{bad}");
    }
}
