//! Opening databases: migrations, newer schemas, foreign files, bad paths.

mod common;

use gp_booking::BookingStore;
use gp_sqlite::{OpenError, SqliteConfig, SqliteStore, Synchronous, SCHEMA_VERSION};
use rusqlite::Connection;

#[tokio::test]
async fn a_new_file_is_migrated_in_wal_mode_and_reopens_with_its_data() {
    let path = common::temp_db("reopen");
    {
        let store = SqliteStore::open(&path).unwrap();
        let ids = gp_core::SequentialIds::new(1);
        let (gp, schedule) =
            gp_testkit::fixtures::small_schedule(&ids, gp_testkit::fixtures::monday_morning(), 3);
        store.put_staff(&gp).await.unwrap();
        store.add_schedule(&schedule).await.unwrap();
    }
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = raw
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    drop(raw);
    let store = SqliteStore::open(&path).unwrap();
    let q = gp_booking::SearchQuery::between(
        gp_testkit::fixtures::monday_morning(),
        gp_testkit::fixtures::monday_morning() + chrono::Duration::days(3),
    );
    assert_eq!(
        store.find_slots(&q).await.unwrap().len(),
        3,
        "data survives reopening"
    );
}

#[test]
fn synchronous_normal_can_be_chosen() {
    let config = SqliteConfig {
        synchronous: Synchronous::Normal,
        ..SqliteConfig::default()
    };
    assert!(SqliteStore::open_with(common::temp_db("normal"), config).is_ok());
    assert_eq!(SqliteConfig::default().synchronous, Synchronous::Full);
}

#[test]
fn a_newer_schema_is_refused_and_the_file_left_unchanged() {
    let path = common::temp_db("newer");
    drop(SqliteStore::open(&path).unwrap());
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute(
            "INSERT INTO schema_migrations (version) VALUES (?1)",
            [SCHEMA_VERSION + 5],
        )
        .unwrap();
        raw.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert_eq!(
        err,
        OpenError::NewerSchema {
            found: SCHEMA_VERSION + 5,
            supported: SCHEMA_VERSION
        }
    );
    assert!(err.to_string().contains("upgrade"));
    assert_eq!(std::fs::read(&path).unwrap(), before, "file unchanged");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_unchanged() {
    let path = common::temp_db("foreign");
    let text = b"Appointments list exported from another system\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), text, "file unchanged");
}

#[test]
fn an_unopenable_path_is_a_typed_error() {
    let path = common::temp_db("missing-folder")
        .with_file_name("no-such-folder")
        .join("practice.db");
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::CannotOpen { .. }), "{err:?}");
    assert!(!path.exists());
}
