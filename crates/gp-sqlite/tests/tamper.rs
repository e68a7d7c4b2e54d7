//! Editing, deleting or swapping audit rows behind the store's back is
//! reported at the exact sequence.

mod common;

use gp_audit::{AuditStore, BreakKind, ChainBreak};
use gp_booking::BookingStore;
use gp_core::{Actor, AuditAction, AuditEvent, Channel, Outcome, SequentialIds};
use gp_sqlite::SqliteStore;
use rusqlite::Connection;

async fn trail(name: &str, n: usize) -> (std::path::PathBuf, SqliteStore) {
    let path = common::temp_db(name);
    let store = SqliteStore::open(&path).unwrap();
    let ids = SequentialIds::new(3);
    let at = gp_testkit::fixtures::monday_morning();
    for i in 0..n {
        let e = AuditEvent::new(
            &ids,
            at,
            Actor::System,
            Channel::Internal,
            None,
            AuditAction::parse("appointment.cancel").unwrap(),
            Outcome::Allowed,
        )
        .with_detail("n", i.to_string());
        store
            .record_refusal(std::slice::from_ref(&e))
            .await
            .unwrap();
    }
    assert_eq!(
        store.verify_all().await.unwrap(),
        Ok(()),
        "intact before tampering"
    );
    assert_eq!(store.head().await.unwrap().map(|h| h.0), Some(n as u64));
    (path, store)
}

#[tokio::test]
async fn an_edited_row_is_reported_at_its_sequence() {
    let (path, store) = trail("edit", 10).await;
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE audit_events SET body = replace(body, 'appointment.cancel', 'appointment.book') WHERE seq = 6", [])
        .unwrap();
    assert_eq!(
        store.verify_all().await.unwrap(),
        Err(ChainBreak {
            seq: 6,
            kind: BreakKind::Modified
        })
    );
}

#[tokio::test]
async fn a_deleted_row_is_reported_missing() {
    let (path, store) = trail("delete", 10).await;
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM audit_events WHERE seq = 4", [])
        .unwrap();
    assert_eq!(
        store.verify_all().await.unwrap(),
        Err(ChainBreak {
            seq: 4,
            kind: BreakKind::Missing
        })
    );
}

#[tokio::test]
async fn deleting_the_newest_row_is_caught_by_the_head() {
    let (path, store) = trail("delete-last", 10).await;
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM audit_events WHERE seq = 10", [])
        .unwrap();
    assert_eq!(
        store.verify_all().await.unwrap(),
        Err(ChainBreak {
            seq: 10,
            kind: BreakKind::Missing
        })
    );
}

#[tokio::test]
async fn swapped_rows_are_out_of_order() {
    let (path, store) = trail("swap", 10).await;
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "UPDATE audit_events SET seq = -1 WHERE seq = 3;
             UPDATE audit_events SET seq = 3 WHERE seq = 7;
             UPDATE audit_events SET seq = 7 WHERE seq = -1;",
        )
        .unwrap();
    assert_eq!(
        store.verify_all().await.unwrap(),
        Err(ChainBreak {
            seq: 3,
            kind: BreakKind::OutOfOrder
        })
    );
}
