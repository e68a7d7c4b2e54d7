//! The `AuditStore` conformance suite: the chain contract in executable form.
//!
//! Each check is a `pub async fn` taking a fresh, empty store. Run them all
//! with [`crate::audit_store_conformance!`], one test per check.

use chrono::Duration;
use gp_audit::{chain, link, verify, AuditError, AuditStore, GENESIS};
use gp_core::{Actor, AuditAction, AuditEvent, Channel, Outcome, SequentialIds};

use crate::fixtures::monday_morning;

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "an_empty_trail_has_no_head_and_verifies",
    "appends_are_numbered_and_chained_from_genesis",
    "later_appends_continue_the_chain",
    "ranges_are_inclusive_ordered_and_verify_from_their_predecessor",
    "a_duplicate_event_fails_the_whole_append",
];

fn events(ids: &SequentialIds, n: usize) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| {
            AuditEvent::new(
                ids,
                monday_morning() + Duration::seconds(i as i64),
                Actor::System,
                Channel::Internal,
                None,
                AuditAction::known("appointment.cancel"),
                Outcome::Allowed,
            )
            .with_detail("n", i.to_string())
        })
        .collect()
}

/// An empty trail has no head, reads nothing and verifies.
pub async fn an_empty_trail_has_no_head_and_verifies<S: AuditStore>(store: S) {
    assert_eq!(store.head().await.expect("head"), None);
    assert!(store.read(1, u64::MAX).await.expect("read").is_empty());
    assert_eq!(store.verify_all().await.expect("verify"), Ok(()));
}

/// Appended events get sequences 1, 2, ... and hashes chained from genesis,
/// over their canonical encoding; the head is the last.
pub async fn appends_are_numbered_and_chained_from_genesis<S: AuditStore>(store: S) {
    let ids = SequentialIds::new(21);
    let batch = events(&ids, 3);
    store.append(&batch).await.expect("append");
    let records = store.read(1, u64::MAX).await.expect("read");
    assert_eq!(
        records,
        chain(GENESIS, 1, &batch),
        "records are the chain of the events"
    );
    assert_eq!(records[0].prev_hash, GENESIS);
    assert_eq!(records[1].hash, link(&records[0].hash, &records[1].body));
    assert_eq!(
        records[2].event().expect("decodes"),
        batch[2],
        "bodies decode to the events"
    );
    assert_eq!(
        store.head().await.expect("head"),
        Some((3, records[2].hash))
    );
    assert_eq!(store.verify_all().await.expect("verify"), Ok(()));
}

/// A second append continues from the head of the first.
pub async fn later_appends_continue_the_chain<S: AuditStore>(store: S) {
    let ids = SequentialIds::new(22);
    let first = events(&ids, 2);
    let second = events(&ids, 2);
    store.append(&first).await.expect("append");
    store.append(&second).await.expect("append");
    let records = store.read(1, u64::MAX).await.expect("read");
    let expected = chain(GENESIS, 1, &[first, second].concat());
    assert_eq!(records, expected);
    assert_eq!(store.head().await.expect("head").map(|h| h.0), Some(4));
    assert_eq!(store.verify_all().await.expect("verify"), Ok(()));
}

/// `read(from, to)` includes both ends, in order; a range verifies from the
/// hash of the record before it.
pub async fn ranges_are_inclusive_ordered_and_verify_from_their_predecessor<S: AuditStore>(
    store: S,
) {
    let ids = SequentialIds::new(23);
    store.append(&events(&ids, 6)).await.expect("append");
    let all = store.read(1, 6).await.expect("read");
    let middle = store.read(3, 5).await.expect("read");
    assert_eq!(
        middle.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(middle.as_slice(), &all[2..5]);
    assert_eq!(verify(all[1].hash, 3, &middle, None), Ok(()));
    assert!(
        store.read(7, 9).await.expect("read").is_empty(),
        "past the head reads nothing"
    );
}

/// An append naming an event already in the trail (or twice in one call)
/// fails with `Duplicate` and appends nothing.
pub async fn a_duplicate_event_fails_the_whole_append<S: AuditStore>(store: S) {
    let ids = SequentialIds::new(24);
    let batch = events(&ids, 2);
    store.append(&batch).await.expect("append");
    let again = [events(&ids, 1), vec![batch[0].clone()]].concat();
    let err = store.append(&again).await.expect_err("duplicate");
    assert!(
        matches!(err, AuditError::Duplicate(_)),
        "Duplicate, got {err:?}"
    );
    let fresh = events(&ids, 1);
    let twice = [fresh.clone(), fresh].concat();
    assert!(
        matches!(store.append(&twice).await, Err(AuditError::Duplicate(_))),
        "twice in one call"
    );
    assert_eq!(
        store.head().await.expect("head").map(|h| h.0),
        Some(2),
        "nothing appended"
    );
    assert_eq!(store.verify_all().await.expect("verify"), Ok(()));
}

/// Expands into one `#[tokio::test]` per audit conformance check, each given
/// a fresh store made by `$make`.
///
/// ```text
/// gp_testkit::audit_store_conformance!(gp_audit::MemoryAuditStore::new());
/// ```
#[macro_export]
macro_rules! audit_store_conformance {
    ($make:expr) => {
        $crate::audit_store_conformance!(@each $make;
            an_empty_trail_has_no_head_and_verifies,
            appends_are_numbered_and_chained_from_genesis,
            later_appends_continue_the_chain,
            ranges_are_inclusive_ordered_and_verify_from_their_predecessor,
            a_duplicate_event_fails_the_whole_append
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::audit::$check($make).await;
            }
        )+
    };
}
