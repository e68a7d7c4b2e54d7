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

/// A key of the supplier's, kept outside the database.
fn key() -> gp_audit::HmacKey {
    gp_audit::HmacKey::new("practice-a81001-2026", &[7u8; 32]).unwrap()
}

/// Rewrites rows `from..` of the trail as an insider with write access
/// would: each body as given by `edit`, every hash recomputed, the head moved.
fn rewrite(path: &std::path::Path, from: i64, edit: impl Fn(i64, String) -> String) {
    let conn = Connection::open(path).unwrap();
    let rows: Vec<(i64, Vec<u8>, String)> = conn
        .prepare("SELECT seq, prev_hash, body FROM audit_events WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev: gp_audit::Hash = rows[0].1.clone().try_into().unwrap();
    for (seq, _, body) in rows {
        let body = edit(seq, body);
        let hash = gp_audit::link(&prev, &body);
        conn.execute(
            "UPDATE audit_events SET prev_hash = ?2, hash = ?3, body = ?4 WHERE seq = ?1",
            rusqlite::params![seq, &prev[..], &hash[..], body],
        )
        .unwrap();
        conn.execute(
            "UPDATE audit_head SET seq = ?1, hash = ?2",
            rusqlite::params![seq, &hash[..]],
        )
        .unwrap();
        prev = hash;
    }
}

#[tokio::test]
async fn a_trail_rewritten_with_every_hash_recomputed_fails_against_a_checkpoint() {
    let (path, store) = trail("rewrite", 10).await;
    let at = gp_testkit::fixtures::monday_morning();
    let checkpoint = store.checkpoint(&key(), at).await.unwrap().unwrap();
    assert_eq!(checkpoint.seq, 10);
    assert_eq!(
        store.verify_against(&checkpoint, &key()).await.unwrap(),
        Ok(())
    );
    rewrite(&path, 4, |seq, body| {
        if seq == 4 {
            body.replace("appointment.cancel", "appointment.book")
        } else {
            body
        }
    });
    // The chain alone cannot tell: every hash was recomputed.
    assert_eq!(store.verify_all().await.unwrap(), Ok(()));
    assert_eq!(
        store.verify_against(&checkpoint, &key()).await.unwrap(),
        Err(gp_audit::TrailBreak::Rewritten { seq: 10 })
    );
}

#[tokio::test]
async fn a_trail_cut_back_with_its_head_moved_fails_against_a_checkpoint() {
    let (path, store) = trail("truncate", 10).await;
    let at = gp_testkit::fixtures::monday_morning();
    let checkpoint = store.checkpoint(&key(), at).await.unwrap().unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DELETE FROM audit_events WHERE seq > 7;
         UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_events WHERE seq = 7);",
    )
    .unwrap();
    assert_eq!(
        store.verify_all().await.unwrap(),
        Ok(()),
        "the chain alone cannot tell"
    );
    assert_eq!(
        store.verify_against(&checkpoint, &key()).await.unwrap(),
        Err(gp_audit::TrailBreak::Truncated {
            head: 7,
            checkpoint: 10
        })
    );
}

#[tokio::test]
async fn a_head_moved_back_over_rows_left_in_place_is_a_break() {
    let (path, store) = trail("head-back", 10).await;
    let at = gp_testkit::fixtures::monday_morning();
    let checkpoint = store.checkpoint(&key(), at).await.unwrap().unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_events WHERE seq = 7);",
        )
        .unwrap();
    let beyond = ChainBreak {
        seq: 8,
        kind: BreakKind::BeyondHead,
    };
    assert_eq!(store.verify_all().await.unwrap(), Err(beyond));
    assert_eq!(
        store.verify_against(&checkpoint, &key()).await.unwrap(),
        Err(gp_audit::TrailBreak::Chain(beyond))
    );
}

#[tokio::test]
async fn a_forged_or_foreign_checkpoint_is_refused_and_one_kept_as_text_reads_back() {
    let (_path, store) = trail("forged", 3).await;
    let at = gp_testkit::fixtures::monday_morning();
    let checkpoint = store.checkpoint(&key(), at).await.unwrap().unwrap();
    // Kept as a line of text elsewhere, it reads back the same.
    let line = checkpoint.to_line();
    assert!(line.starts_with("gp-audit-checkpoint v1 3 "), "{line}");
    let back = gp_audit::Checkpoint::from_line(&line).unwrap();
    assert_eq!(back, checkpoint);
    assert_eq!(store.verify_against(&back, &key()).await.unwrap(), Ok(()));
    // Changed, or checked with another key: refused.
    let mut forged = checkpoint.clone();
    forged.seq = 2;
    assert_eq!(
        store.verify_against(&forged, &key()).await.unwrap(),
        Err(gp_audit::TrailBreak::BadSignature)
    );
    let other = gp_audit::HmacKey::new("practice-a81001-2026", &[8u8; 32]).unwrap();
    assert_eq!(
        store.verify_against(&checkpoint, &other).await.unwrap(),
        Err(gp_audit::TrailBreak::BadSignature)
    );
    assert!(gp_audit::HmacKey::new("short", &[1u8; 16]).is_err());
    assert!(gp_audit::Checkpoint::from_line("gp-audit-checkpoint v1 x").is_err());
}

#[tokio::test]
async fn one_checkpoint_has_one_line_and_bad_keys_or_times_sign_nothing() {
    let (_path, store) = trail("canonical", 2).await;
    let at = gp_testkit::fixtures::monday_morning();
    let checkpoint = store.checkpoint(&key(), at).await.unwrap().unwrap();
    let line = checkpoint.to_line();
    assert_eq!(
        gp_audit::Checkpoint::from_line(&format!("{line}\n")).unwrap(),
        checkpoint
    );
    // Other spellings of the same checkpoint are not accepted.
    let fields: Vec<&str> = line.split(' ').collect();
    for other in [
        line.to_uppercase()
            .replacen("GP-AUDIT-CHECKPOINT V1", "gp-audit-checkpoint v1", 1),
        line.replacen(" 2 ", " +2 ", 1),
        line.replacen(" 2 ", " 02 ", 1),
        line.replacen(' ', "  ", 1),
        line.replacen(' ', "\t", 1),
        format!(" {line}"),
        format!("{line} "),
        format!("{line}\r\n"),
        line.replacen(fields[6], &format!("+{}", &fields[6][1..]), 1),
    ] {
        assert!(
            gp_audit::Checkpoint::from_line(&other).is_err(),
            "accepted {other:?}"
        );
    }
    // A signer with a key name outside the format, or a time a checkpoint
    // cannot hold, signs nothing.
    struct Loose;
    impl gp_audit::Signer for Loose {
        fn key_id(&self) -> &str {
            "my key\ngp-audit-checkpoint v1"
        }
        fn sign(&self, _: &[u8]) -> Vec<u8> {
            vec![1]
        }
    }
    assert!(matches!(
        store.checkpoint(&Loose, at).await,
        Err(gp_audit::AuditError::Checkpoint(
            gp_audit::CheckpointError::KeyId
        ))
    ));
    let far = chrono::DateTime::parse_from_rfc3339("3000-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    assert!(matches!(
        store.checkpoint(&key(), far).await,
        Err(gp_audit::AuditError::Checkpoint(
            gp_audit::CheckpointError::Time
        ))
    ));
}

#[tokio::test]
async fn rows_with_their_head_removed_are_a_break_and_row_zero_is_not_exported() {
    let (path, store) = trail("headless", 3).await;
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO audit_events (seq, id, prev_hash, hash, body) \
         SELECT 0, 'forged', prev_hash, hash, 'forged' FROM audit_events WHERE seq = 1",
        [],
    )
    .unwrap();
    let export = store.export(0, 3).await.unwrap();
    assert_eq!(export.lines().count(), 3);
    assert!(!export.contains("forged"));
    conn.execute("DELETE FROM audit_events WHERE seq = 0", [])
        .unwrap();
    conn.execute("DELETE FROM audit_head", []).unwrap();
    assert_eq!(
        store.verify_all().await.unwrap(),
        Err(ChainBreak {
            seq: 1,
            kind: BreakKind::BeyondHead
        })
    );
}
