//! The `PrescribingStore` conformance suite: the contract in executable form.
//!
//! Each check is a `pub async fn` taking a fresh, empty store and panicking
//! with a message that names the broken rule. Run them all against a store
//! with [`crate::prescribing_store_conformance!`].

use chrono::{DateTime, Duration, Utc};
use gp_core::{Actor, Channel, PatientId, SequentialIds, StaffId, StaffRole};
use gp_prescribing::{
    decide_approve, decide_flag_not_taken, decide_issue, decide_put_item, decide_request,
    decide_restriction, decide_review, decide_settings, CommitError, Committable, Decision,
    ItemAction, LineAction, LineStatus, OrderRequest, Precondition, PrescribingChange,
    PrescribingSettings, PrescribingStore, RepeatItem, RequestChannel, RestrictionScope,
    ReviewOutcome, StoreError,
};

use crate::fixtures::{monday_morning, repeat_item};

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "an_empty_store_has_defaults_and_empty_records",
    "committed_request_is_visible_everywhere",
    "second_request_from_the_same_snapshot_conflicts",
    "an_item_never_has_two_open_requests_even_without_preconditions",
    "line_moves_replace_the_request_and_issue_updates_the_item",
    "settings_versions_move_by_one_and_stale_settings_conflict",
    "restrictions_are_set_and_lifted",
    "the_review_list_holds_flagged_active_items_oldest_first",
    "changes_that_do_not_hang_together_write_nothing",
    "refusals_are_recorded_alone",
];

struct World {
    ids: SequentialIds,
    now: DateTime<Utc>,
    patient: PatientId,
    gp: Actor,
}

impl World {
    fn new() -> Self {
        let ids = SequentialIds::new(0x5C21);
        let patient = PatientId::new(&ids);
        let gp = Actor::Staff {
            staff: StaffId::new(&ids),
            role: StaffRole::Gp,
        };
        Self {
            ids,
            now: monday_morning(),
            patient,
            gp,
        }
    }

    fn item(&self, which: usize) -> RepeatItem {
        repeat_item(&self.ids, self.patient, which, None, self.now.date_naive())
    }

    fn me(&self) -> Actor {
        Actor::Patient {
            patient: self.patient,
        }
    }

    async fn put<S: PrescribingStore>(&self, store: &S, item: &RepeatItem) {
        let facts = store.load(item.patient).await.expect("load");
        let c = allowed(
            decide_put_item(
                &facts,
                Actor::System,
                Channel::Internal,
                item,
                self.now,
                &self.ids,
            )
            .expect("a valid item"),
        );
        store.commit(&c).await.expect("put item");
    }

    async fn order<S: PrescribingStore>(&self, store: &S, items: &[&RepeatItem]) -> Committable {
        let facts = store.load(self.patient).await.expect("load");
        let request = OrderRequest::new(
            self.me(),
            RequestChannel::Online,
            self.patient,
            items.iter().map(|i| i.id).collect(),
            None,
        )
        .expect("a valid request");
        allowed(decide_request(&facts, &request, self.now, &self.ids).expect("decided"))
    }

    fn line(&self, c: &Committable, actor: Actor) -> LineAction {
        let request = &c.change.requests[0];
        LineAction {
            actor,
            channel: Channel::Reception,
            patient: self.patient,
            request: request.id,
            item: request.lines[0].item,
        }
    }
}

fn allowed<R: std::fmt::Debug>(d: Decision<R>) -> Committable {
    match d {
        Decision::Allowed(c) => c,
        Decision::Refused(r) => panic!("the fixture decision was refused: {:?}", r.reason),
    }
}

async fn event_count<S: PrescribingStore>(store: &S) -> usize {
    store.audit_events().await.expect("audit events").len()
}

/// A store with nothing in it has default settings at version 0, an empty
/// record at version 0 for any patient, and empty queue, review list and trail.
pub async fn an_empty_store_has_defaults_and_empty_records<S: PrescribingStore>(store: S) {
    let w = World::new();
    let facts = store.load(w.patient).await.expect("load");
    assert_eq!(facts.settings.version, 0, "settings start at version 0");
    assert_eq!(facts.settings.settings, PrescribingSettings::default());
    assert_eq!(
        facts.record.version, 0,
        "a new patient's record is at version 0"
    );
    assert!(facts.record.items.is_empty() && facts.record.requests.is_empty());
    assert!(facts.record.restriction.is_none());
    assert!(store.queue().await.expect("queue").is_empty());
    assert!(store.review_list().await.expect("review").is_empty());
    assert_eq!(event_count(&store).await, 0);
}

/// A committed request is in the patient's record, in the queue and in the
/// trail, and the record's version moved on by one per commit.
pub async fn committed_request_is_visible_everywhere<S: PrescribingStore>(store: S) {
    let w = World::new();
    let (a, b) = (w.item(0), w.item(1));
    w.put(&store, &a).await;
    w.put(&store, &b).await;
    let c = w.order(&store, &[&a, &b]).await;
    store.commit(&c).await.expect("commit the request");
    let facts = store.load(w.patient).await.expect("load");
    assert_eq!(facts.record.version, 3, "three commits, three versions");
    assert_eq!(
        facts.record.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![a.id, b.id],
        "items come back in the order first stored"
    );
    assert_eq!(facts.record.requests, c.change.requests);
    assert_eq!(store.queue().await.expect("queue"), c.change.requests);
    let id = c.change.requests[0].id;
    assert_eq!(
        store.request_patient(id).await.expect("owner"),
        Some(w.patient)
    );
    let events = store.audit_events().await.expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2], c.events[0],
        "the request's event is the last appended"
    );
}

/// Two decisions from one snapshot: the first commits, the second conflicts
/// and writes nothing.
pub async fn second_request_from_the_same_snapshot_conflicts<S: PrescribingStore>(store: S) {
    let w = World::new();
    let a = w.item(0);
    w.put(&store, &a).await;
    let first = w.order(&store, &[&a]).await;
    let second = w.order(&store, &[&a]).await;
    store.commit(&first).await.expect("first commit");
    let before = event_count(&store).await;
    match store.commit(&second).await {
        Err(CommitError::Conflict(
            Precondition::PatientUnchanged { .. } | Precondition::NoOpenRequest(_),
        )) => {}
        other => panic!("the second request must conflict, got {other:?}"),
    }
    assert_eq!(
        store.queue().await.expect("queue").len(),
        1,
        "nothing was written"
    );
    assert_eq!(
        event_count(&store).await,
        before,
        "no event for a change that did not happen"
    );
}

/// Even with its preconditions stripped, a commit that would give an item a
/// second open request conflicts with `NoOpenRequest` and writes nothing.
pub async fn an_item_never_has_two_open_requests_even_without_preconditions<S: PrescribingStore>(
    store: S,
) {
    let w = World::new();
    let a = w.item(0);
    w.put(&store, &a).await;
    let first = w.order(&store, &[&a]).await;
    let mut second = w.order(&store, &[&a]).await;
    second.preconditions.clear();
    store.commit(&first).await.expect("first commit");
    let version = store.load(w.patient).await.expect("load").record.version;
    assert_eq!(
        store.commit(&second).await,
        Err(CommitError::Conflict(Precondition::NoOpenRequest(a.id)))
    );
    let facts = store.load(w.patient).await.expect("load");
    assert_eq!(facts.record.version, version, "nothing was written");
    assert_eq!(facts.record.requests.len(), 1);
}

/// Approving and issuing replace the stored request (never add one); the
/// issue updates the item; an issued request leaves the queue.
pub async fn line_moves_replace_the_request_and_issue_updates_the_item<S: PrescribingStore>(
    store: S,
) {
    let w = World::new();
    let a = w.item(0);
    w.put(&store, &a).await;
    let c = w.order(&store, &[&a]).await;
    store.commit(&c).await.expect("request");
    let action = w.line(&c, w.gp);
    let facts = store.load(w.patient).await.expect("load");
    store
        .commit(&allowed(decide_approve(&facts, &action, w.now, &w.ids)))
        .await
        .expect("approve");
    let queue = store.queue().await.expect("queue");
    assert_eq!(queue.len(), 1, "an approved line is still open");
    assert_eq!(queue[0].lines[0].state.status(), LineStatus::Approved);
    let facts = store.load(w.patient).await.expect("load");
    store
        .commit(&allowed(decide_issue(&facts, &action, w.now, &w.ids)))
        .await
        .expect("issue");
    let facts = store.load(w.patient).await.expect("load");
    assert_eq!(facts.record.requests.len(), 1, "moves replace the request");
    assert_eq!(
        facts.record.requests[0].lines[0].state.status(),
        LineStatus::Issued
    );
    assert_eq!(
        facts.record.items[0].issues_remaining,
        a.issues_remaining - 1
    );
    assert_eq!(facts.record.items[0].last_issued, Some(w.now.date_naive()));
    assert!(
        store.queue().await.expect("queue").is_empty(),
        "issued requests leave the queue"
    );
    assert!(
        !facts.record.has_open_request(a.id),
        "an issued line is closed"
    );
}

/// Each settings commit moves the version on by one; a decision on stale
/// settings conflicts.
pub async fn settings_versions_move_by_one_and_stale_settings_conflict<S: PrescribingStore>(
    store: S,
) {
    let w = World::new();
    let manager = Actor::Staff {
        staff: StaffId::new(&w.ids),
        role: StaffRole::PracticeManager,
    };
    let mut s = PrescribingSettings {
        too_early_days: 10,
        ..PrescribingSettings::default()
    };
    let current = store.settings().await.expect("settings");
    let first = allowed(
        decide_settings(&current, manager, Channel::Reception, &s, w.now, &w.ids).expect("valid"),
    );
    s.online_ordering = false;
    let stale = allowed(
        decide_settings(&current, manager, Channel::Reception, &s, w.now, &w.ids).expect("valid"),
    );
    store.commit(&first).await.expect("first settings");
    assert_eq!(
        store.commit(&stale).await,
        Err(CommitError::Conflict(Precondition::SettingsUnchanged {
            version: 0
        }))
    );
    let now = store.settings().await.expect("settings");
    assert_eq!(now.version, 1);
    assert_eq!(now.settings.too_early_days, 10);
    assert!(
        now.settings.online_ordering,
        "the stale change was not written"
    );
    let again = allowed(
        decide_settings(&now, manager, Channel::Reception, &s, w.now, &w.ids).expect("valid"),
    );
    store.commit(&again).await.expect("second settings");
    assert_eq!(store.settings().await.expect("settings").version, 2);
}

/// A restriction is stored with the record and can be lifted.
pub async fn restrictions_are_set_and_lifted<S: PrescribingStore>(store: S) {
    let w = World::new();
    let facts = store.load(w.patient).await.expect("load");
    let set = allowed(
        decide_restriction(
            &facts,
            w.gp,
            Channel::Reception,
            Some((
                RestrictionScope::Online,
                "Cannot keep to allowed quantities",
            )),
            w.now,
            &w.ids,
        )
        .expect("valid"),
    );
    store.commit(&set).await.expect("restrict");
    let facts = store.load(w.patient).await.expect("load");
    let r = facts.record.restriction.clone().expect("stored");
    assert_eq!(r.scope, RestrictionScope::Online);
    assert_eq!(r.reason, "Cannot keep to allowed quantities");
    assert_eq!(facts.record.version, 1);
    let lift = allowed(
        decide_restriction(&facts, w.gp, Channel::Reception, None, w.now, &w.ids).expect("valid"),
    );
    store.commit(&lift).await.expect("lift");
    let facts = store.load(w.patient).await.expect("load");
    assert!(facts.record.restriction.is_none());
    assert_eq!(facts.record.version, 2);
}

/// Flagged active items are on the review list, oldest flag first; a review
/// takes the item off.
pub async fn the_review_list_holds_flagged_active_items_oldest_first<S: PrescribingStore>(
    store: S,
) {
    let w = World::new();
    let (a, b, c) = (w.item(0), w.item(1), w.item(2));
    for i in [&a, &b, &c] {
        w.put(&store, i).await;
    }
    for (item, minutes) in [(&b, 0), (&a, 5)] {
        let facts = store.load(w.patient).await.expect("load");
        let action = ItemAction {
            actor: w.me(),
            channel: Channel::Online,
            patient: w.patient,
            item: item.id,
        };
        let d = decide_flag_not_taken(
            &facts,
            &action,
            Some("Stopped by the hospital"),
            w.now + Duration::minutes(minutes),
            &w.ids,
        )
        .expect("valid");
        store.commit(&allowed(d)).await.expect("flag");
    }
    let list: Vec<_> = store
        .review_list()
        .await
        .expect("review")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        list,
        vec![b.id, a.id],
        "oldest flag first, unflagged items absent"
    );
    let facts = store.load(w.patient).await.expect("load");
    let action = ItemAction {
        actor: w.gp,
        channel: Channel::Reception,
        patient: w.patient,
        item: b.id,
    };
    let d = decide_review(
        &facts,
        &action,
        &ReviewOutcome::End("No longer needed".into()),
        w.now,
        &w.ids,
    )
    .expect("valid");
    store.commit(&allowed(d)).await.expect("review");
    let list: Vec<_> = store
        .review_list()
        .await
        .expect("review")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(list, vec![a.id], "a reviewed item leaves the list");
}

/// An item of another patient, an identifier stored for another patient, or
/// a request naming an item not on the list: `StoreError::Invalid`, nothing written.
pub async fn changes_that_do_not_hang_together_write_nothing<S: PrescribingStore>(store: S) {
    let w = World::new();
    let a = w.item(0);
    w.put(&store, &a).await;
    let other = PatientId::new(&w.ids);
    let events = event_count(&store).await;
    let invalid = |change: PrescribingChange| Committable {
        change,
        events: Vec::new(),
        preconditions: Vec::new(),
    };
    // An item of one patient in a change to another's record.
    let r = store
        .commit(&invalid(PrescribingChange {
            patient: Some(other),
            items: vec![a.clone()],
            ..PrescribingChange::default()
        }))
        .await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    // The same item id taken over by another patient.
    let mut stolen = a.clone();
    stolen.patient = other;
    let r = store
        .commit(&invalid(PrescribingChange {
            patient: Some(other),
            items: vec![stolen],
            ..PrescribingChange::default()
        }))
        .await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    // A request naming an item that is not on the list.
    let ghost = w.item(1);
    let mut c = w.order(&store, &[&a]).await;
    c.change.requests[0].lines[0].item = ghost.id;
    let r = store.commit(&c).await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    let facts = store.load(w.patient).await.expect("load");
    assert_eq!(facts.record.version, 1, "nothing was written");
    assert!(facts.record.requests.is_empty());
    assert_eq!(store.load(other).await.expect("load").record.version, 0);
    assert_eq!(event_count(&store).await, events);
}

/// Refusals append their events alone and change nothing else.
pub async fn refusals_are_recorded_alone<S: PrescribingStore>(store: S) {
    let w = World::new();
    let facts = store.load(w.patient).await.expect("load");
    let request = OrderRequest::new(
        w.me(),
        RequestChannel::Online,
        w.patient,
        vec![w.item(0).id, w.item(1).id],
        None,
    )
    .expect("valid");
    let Decision::Refused(refusal) =
        decide_request(&facts, &request, w.now, &w.ids).expect("decided")
    else {
        panic!("items not on the list must be refused");
    };
    assert_eq!(refusal.events.len(), 2, "one event per refused item");
    store.record_refusal(&refusal.events).await.expect("record");
    assert_eq!(store.audit_events().await.expect("events"), refusal.events);
    assert_eq!(store.load(w.patient).await.expect("load").record.version, 0);
}

/// Expands into one `#[tokio::test]` per prescribing conformance check, each
/// given a fresh store made by `$make`.
///
/// ```text
/// gp_testkit::prescribing_store_conformance!(gp_prescribing::MemoryPrescribingStore::new());
/// ```
#[macro_export]
macro_rules! prescribing_store_conformance {
    ($make:expr) => {
        $crate::prescribing_store_conformance!(@each $make;
            an_empty_store_has_defaults_and_empty_records,
            committed_request_is_visible_everywhere,
            second_request_from_the_same_snapshot_conflicts,
            an_item_never_has_two_open_requests_even_without_preconditions,
            line_moves_replace_the_request_and_issue_updates_the_item,
            settings_versions_move_by_one_and_stale_settings_conflict,
            restrictions_are_set_and_lifted,
            the_review_list_holds_flagged_active_items_oldest_first,
            changes_that_do_not_hang_together_write_nothing,
            refusals_are_recorded_alone
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::prescribing::$check($make).await;
            }
        )+
    };
}
