//! The `BookingStore` conformance suite: the contract in executable form.
//!
//! Each check is a `pub async fn` taking a fresh, empty store and panicking
//! with a message that names the broken rule. Run them all against a store
//! with [`crate::booking_store_conformance!`], which makes one test per check.

use chrono::{DateTime, Duration, Utc};
use gp_booking::{
    decide_amend, decide_book, decide_cancel, decide_reschedule, BookFacts, BookRequest,
    BookingChange, BookingPolicy, BookingStore, CancelRequest, CancellationReason, CommitError,
    Committable, Decision, PatientFacts, Precondition, RescheduleFacts, RescheduleRequest,
    Schedule, SearchQuery, StaffMember, StoreError,
};
use gp_booking::{AmendRequest, Booking, BookingDescription, CancelFacts, SlotState};
use gp_core::{Actor, Channel, Outcome, SequentialIds, SlotId};

use crate::fixtures::{adult, monday_morning, small_schedule};

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "schedule_is_stored_and_found_in_order",
    "schedule_with_unknown_clinician_writes_nothing",
    "schedule_with_duplicate_slot_writes_nothing",
    "schedule_with_a_slot_away_from_its_session_writes_nothing",
    "committed_booking_is_visible_everywhere",
    "second_booking_from_the_same_snapshot_conflicts",
    "a_taken_slot_is_never_booked_twice_even_without_preconditions",
    "changed_holdings_conflict",
    "cancel_frees_the_slot_and_cannot_happen_twice",
    "reschedule_is_all_or_nothing",
    "booking_a_missing_slot_is_an_error_and_writes_nothing",
    "refusals_are_recorded_alone",
    "book_in_one_step_commits_or_records_with_earlier_events",
    "bookings_for_patient_include_cancelled_in_booking_order",
    "the_policy_is_stored_versioned_and_read_with_the_booking_facts",
    "organisation_holdings_count_its_live_future_bookings",
    "amendments_replace_texts_only_and_conflict_when_stale",
    "adjacent_slots_are_booked_together_and_cancelled_together",
];

struct World {
    ids: SequentialIds,
    now: DateTime<Utc>,
    policy: BookingPolicy,
    gp: StaffMember,
    schedule: Schedule,
}

impl World {
    fn new(slots: usize) -> Self {
        let ids = SequentialIds::new(0xC0FFEE);
        let now = monday_morning();
        let (mut gp, schedule) = small_schedule(&ids, now, slots);
        // The SDS details a practice may record are stored with the member.
        gp.sds_user_id =
            Some(gp_booking::SdsUserId::parse("555123456789").expect("an SDS user id"));
        gp.job_role = Some(gp_booking::JobRole {
            code: gp_booking::JobRoleCode::parse("R0260").expect("a job role code"),
            name: gp_booking::JobRoleName::parse("General Medical Practitioner")
                .expect("a job role name"),
        });
        Self {
            ids,
            now,
            policy: BookingPolicy::default(),
            gp,
            schedule,
        }
    }

    async fn stored<S: BookingStore>(slots: usize, store: &S) -> Self {
        let world = Self::new(slots);
        store.put_staff(&world.gp).await.expect("put_staff");
        store
            .add_schedule(&world.schedule)
            .await
            .expect("add_schedule");
        world
    }

    fn slot(&self, i: usize) -> SlotId {
        self.schedule.slots[i].id
    }

    fn request(&self, patient: &PatientFacts, slot: SlotId) -> BookRequest {
        BookRequest::patient_online(patient.patient, slot)
    }

    async fn decide<S: BookingStore>(
        &self,
        store: &S,
        patient: &PatientFacts,
        slot: SlotId,
    ) -> Committable {
        let snap = store
            .load_book(slot, patient.patient, self.now)
            .await
            .expect("load_book");
        let facts = BookFacts {
            slot: snap.slot,
            patient: *patient,
            holdings: snap.holdings,
            holdings_since: self.now,
            organisation_holdings: None,
            adjacent: Vec::new(),
        };
        match decide_book(
            &self.policy,
            &facts,
            &self.request(patient, slot),
            self.now,
            &self.ids,
        ) {
            Decision::Allowed(c) => c,
            Decision::Refused(r) => panic!("the fixture booking was refused: {}", r.reason),
        }
    }

    async fn book<S: BookingStore>(
        &self,
        store: &S,
        patient: &PatientFacts,
        slot: SlotId,
    ) -> Committable {
        let c = self.decide(store, patient, slot).await;
        store.commit(&c).await.expect("commit of a fresh decision");
        c
    }

    fn cancel_request(&self, patient: &PatientFacts, booking: gp_core::BookingId) -> CancelRequest {
        CancelRequest {
            actor: Actor::Patient {
                patient: patient.patient,
            },
            channel: Channel::Online,
            booking,
            reason: CancellationReason::parse("No longer needed").expect("valid reason"),
            version: None,
        }
    }
}

fn booked(c: &Committable) -> &gp_booking::Booking {
    match &c.change {
        BookingChange::Book(b) => b,
        BookingChange::BookAdjacent(all) if !all.is_empty() => &all[0],
        BookingChange::Reschedule { book, .. } => book,
        _ => panic!("not a booking"),
    }
}

/// Stored slots come back from `find_slots` in order of start, filtered by
/// the query; a stored staff member is read back by `staff_member`.
pub async fn schedule_is_stored_and_found_in_order<S: BookingStore>(store: S) {
    let w = World::stored(6, &store).await;
    assert_eq!(
        store.staff_member(w.gp.id).await.expect("staff_member"),
        Some(w.gp.clone()),
        "a stored staff member is read back"
    );
    assert_eq!(
        store
            .staff_member(gp_core::StaffId::from_uuid(gp_core::uuid::Uuid::nil()))
            .await
            .expect("staff_member"),
        None
    );
    let all = store
        .find_slots(&SearchQuery::between(w.now, w.now + Duration::days(14)))
        .await
        .expect("find_slots");
    assert_eq!(all.len(), 6, "every stored slot in range is found");
    assert!(
        all.windows(2)
            .all(|p| p[0].slot.start() <= p[1].slot.start()),
        "in order of start"
    );
    assert!(
        all.iter().all(|s| s.live_booking.is_none()),
        "new slots are free"
    );
    assert_eq!(
        all[0].slot, w.schedule.slots[0],
        "slots come back as stored"
    );
    let narrow = SearchQuery::between(w.schedule.slots[1].start(), w.schedule.slots[3].start());
    assert_eq!(
        store.find_slots(&narrow).await.expect("find_slots").len(),
        2,
        "from inclusive, to exclusive"
    );
    let mut other = SearchQuery::between(w.now, w.now + Duration::days(14));
    other.clinician = Some(gp_core::StaffId::new(&w.ids));
    assert!(
        store
            .find_slots(&other)
            .await
            .expect("find_slots")
            .is_empty(),
        "clinician filter"
    );
    let empty = SearchQuery::between(w.now, w.now);
    assert!(
        store
            .find_slots(&empty)
            .await
            .expect("find_slots")
            .is_empty(),
        "an empty range finds nothing"
    );
    assert_eq!(
        store.slot(w.slot(2)).await.expect("slot").map(|s| s.slot),
        Some(w.schedule.slots[2].clone())
    );
}

/// A schedule naming a clinician who is not stored fails with `Missing` and stores nothing.
pub async fn schedule_with_unknown_clinician_writes_nothing<S: BookingStore>(store: S) {
    let w = World::new(3);
    let err = store
        .add_schedule(&w.schedule)
        .await
        .expect_err("unknown clinician");
    assert!(
        matches!(err, StoreError::Missing(_)),
        "Missing, got {err:?}"
    );
    assert!(
        store.slot(w.slot(0)).await.expect("slot").is_none(),
        "nothing stored"
    );
}

/// A schedule repeating a stored slot fails with `Duplicate` and stores none of its slots.
pub async fn schedule_with_duplicate_slot_writes_nothing<S: BookingStore>(store: S) {
    let w = World::stored(2, &store).await;
    let (_, mut more) = small_schedule(&w.ids, w.now + Duration::days(2), 2);
    for s in &mut more.slots {
        s.clinician = w.gp.id;
    }
    for s in &mut more.sessions {
        s.clinician = w.gp.id;
    }
    let fresh = more.slots[0].id;
    more.slots.push(w.schedule.slots[0].clone());
    let err = store.add_schedule(&more).await.expect_err("duplicate slot");
    assert!(
        matches!(err, StoreError::Duplicate(_)),
        "Duplicate, got {err:?}"
    );
    assert!(
        store.slot(fresh).await.expect("slot").is_none(),
        "all or nothing"
    );
}

/// A slot is held at its session's surgery: a schedule with a slot at
/// another site is refused as invalid and writes nothing.
pub async fn schedule_with_a_slot_away_from_its_session_writes_nothing<S: BookingStore>(store: S) {
    let w = World::stored(2, &store).await;
    let (_, mut more) = small_schedule(&w.ids, w.now + Duration::days(2), 2);
    let branch = gp_core::OdsCode::parse("Y02911").expect("a site code");
    for s in &mut more.sessions {
        s.clinician = w.gp.id;
        s.site = Some(branch);
    }
    for s in &mut more.slots {
        s.clinician = w.gp.id;
        s.site = Some(branch);
    }
    more.slots[1].site = None;
    let fresh = more.slots[0].id;
    let err = store
        .add_schedule(&more)
        .await
        .expect_err("a slot away from its session");
    assert!(
        matches!(err, StoreError::Invalid(_)),
        "Invalid, got {err:?}"
    );
    assert!(
        store.slot(fresh).await.expect("slot").is_none(),
        "all or nothing"
    );
    // At its session's surgery, the same schedule is stored, site and all.
    more.slots[1].site = Some(branch);
    store.add_schedule(&more).await.expect("stored");
    let stored = store.slot(fresh).await.expect("slot").expect("the slot");
    assert_eq!(stored.slot.site, Some(branch));
}

/// After a commit the booking, the taken slot, the holding and the audit event are all visible.
pub async fn committed_booking_is_visible_everywhere<S: BookingStore>(store: S) {
    let w = World::stored(3, &store).await;
    let p = adult(&w.ids);
    let c = w.book(&store, &p, w.slot(1)).await;
    let b = booked(&c);
    assert_eq!(
        store.booking(b.id).await.expect("booking").as_ref(),
        Some(b),
        "booking stored as decided"
    );
    assert_eq!(
        store
            .slot(w.slot(1))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking),
        Some(b.id),
        "slot taken"
    );
    let snap = store
        .load_book(w.slot(1), p.patient, w.now)
        .await
        .expect("load_book");
    assert_eq!(snap.holdings.len(), 1, "the booking is a holding");
    assert_eq!(snap.holdings[0].booking, b.id);
    assert_eq!(snap.holdings[0].start, w.schedule.slots[1].start());
    let later = store
        .load_book(w.slot(1), p.patient, w.schedule.slots[2].start())
        .await
        .expect("load_book");
    assert!(
        later.holdings.is_empty(),
        "holdings before `since` are not returned"
    );
    let events = store.audit_events().await.expect("audit_events");
    assert_eq!(events, c.events, "the event is committed with the change");
    let facts = store.load_cancel(b.id).await.expect("load_cancel");
    assert_eq!(facts.booking.as_ref(), Some(b));
    assert_eq!(facts.slot.as_ref(), Some(&w.schedule.slots[1]));
}

/// Two decisions from one snapshot: the first commit wins; the second conflicts
/// on the slot and writes nothing, not even its event.
pub async fn second_booking_from_the_same_snapshot_conflicts<S: BookingStore>(store: S) {
    let w = World::stored(3, &store).await;
    let (a, b) = (adult(&w.ids), adult(&w.ids));
    let first = w.decide(&store, &a, w.slot(0)).await;
    let second = w.decide(&store, &b, w.slot(0)).await;
    store.commit(&first).await.expect("first commit");
    let err = store.commit(&second).await.expect_err("second commit");
    assert_eq!(
        err,
        CommitError::Conflict(Precondition::SlotFree(w.slot(0)))
    );
    assert_eq!(
        store.audit_events().await.expect("events").len(),
        1,
        "no event for a change that did not happen"
    );
    assert!(store
        .bookings_for_patient(b.patient)
        .await
        .expect("bookings")
        .is_empty());
}

/// The store itself refuses a second live booking on a slot, whatever the preconditions say.
pub async fn a_taken_slot_is_never_booked_twice_even_without_preconditions<S: BookingStore>(
    store: S,
) {
    let w = World::stored(2, &store).await;
    let (a, b) = (adult(&w.ids), adult(&w.ids));
    w.book(&store, &a, w.slot(0)).await;
    let mut sneaky = w.decide(&store, &b, w.slot(1)).await;
    sneaky.preconditions.clear();
    if let BookingChange::Book(booking) = &mut sneaky.change {
        booking.slot = w.slot(0);
    }
    let err = store.commit(&sneaky).await.expect_err("double booking");
    assert_eq!(
        err,
        CommitError::Conflict(Precondition::SlotFree(w.slot(0)))
    );
    assert!(
        store
            .bookings_for_patient(b.patient)
            .await
            .expect("bookings")
            .is_empty(),
        "nothing written"
    );
}

/// A decision made before the patient's holdings changed conflicts on them.
pub async fn changed_holdings_conflict<S: BookingStore>(store: S) {
    let w = World::stored(3, &store).await;
    let p = adult(&w.ids);
    let stale = w.decide(&store, &p, w.slot(0)).await;
    w.book(&store, &p, w.slot(1)).await;
    let err = store.commit(&stale).await.expect_err("stale holdings");
    assert!(
        matches!(err, CommitError::Conflict(Precondition::HoldingsUnchanged { patient, .. }) if patient == p.patient),
        "HoldingsUnchanged, got {err:?}"
    );
    assert_eq!(
        store
            .slot(w.slot(0))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking),
        None,
        "nothing written"
    );
}

/// Cancelling frees the slot for another patient; a second cancellation conflicts.
pub async fn cancel_frees_the_slot_and_cannot_happen_twice<S: BookingStore>(store: S) {
    let w = World::stored(2, &store).await;
    let (a, b) = (adult(&w.ids), adult(&w.ids));
    let c = w.book(&store, &a, w.slot(0)).await;
    let id = booked(&c).id;
    let facts = store.load_cancel(id).await.expect("load_cancel");
    let Decision::Allowed(cancel) =
        decide_cancel(&w.policy, &facts, &w.cancel_request(&a, id), w.now, &w.ids)
    else {
        panic!("the fixture cancellation was refused");
    };
    store.commit(&cancel).await.expect("cancel");
    let stored = store
        .booking(id)
        .await
        .expect("booking")
        .expect("still stored");
    assert!(!stored.is_live(), "cancelled");
    assert_eq!(
        stored.cancellation.as_ref().map(|x| x.reason.as_str()),
        Some("No longer needed")
    );
    assert_eq!(
        store
            .slot(w.slot(0))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking),
        None,
        "slot free"
    );
    assert!(store
        .load_book(w.slot(0), a.patient, w.now)
        .await
        .expect("load")
        .holdings
        .is_empty());
    let err = store.commit(&cancel).await.expect_err("second cancel");
    assert_eq!(err, CommitError::Conflict(Precondition::BookingLive(id)));
    w.book(&store, &b, w.slot(0)).await;
    assert_eq!(store.audit_events().await.expect("events").len(), 3);
}

/// A reschedule onto a slot taken meanwhile conflicts and leaves the old booking live.
pub async fn reschedule_is_all_or_nothing<S: BookingStore>(store: S) {
    let w = World::stored(3, &store).await;
    let (a, b) = (adult(&w.ids), adult(&w.ids));
    let c = w.book(&store, &a, w.slot(0)).await;
    let id = booked(&c).id;
    let request = RescheduleRequest {
        actor: Actor::Patient { patient: a.patient },
        channel: Channel::Online,
        booking: id,
        new_slot: w.slot(1),
        reason: CancellationReason::parse("Later suits me").expect("valid"),
        holding_limit_override: None,
    };
    let snap = store
        .load_book(w.slot(1), a.patient, w.now)
        .await
        .expect("load");
    let facts = RescheduleFacts {
        current: store.load_cancel(id).await.expect("load_cancel"),
        new: BookFacts {
            slot: snap.slot,
            patient: a,
            holdings: snap.holdings,
            holdings_since: w.now,
            organisation_holdings: None,
            adjacent: Vec::new(),
        },
    };
    let Decision::Allowed(move_it) = decide_reschedule(&w.policy, &facts, &request, w.now, &w.ids)
    else {
        panic!("the fixture reschedule was refused");
    };
    let mut blocked = move_it.clone();
    blocked
        .preconditions
        .retain(|p| !matches!(p, Precondition::SlotFree(_)));
    w.book(&store, &b, w.slot(1)).await;
    let err = store.commit(&blocked).await.expect_err("new slot taken");
    assert_eq!(
        err,
        CommitError::Conflict(Precondition::SlotFree(w.slot(1)))
    );
    assert!(
        store
            .booking(id)
            .await
            .expect("booking")
            .expect("stored")
            .is_live(),
        "old booking untouched"
    );
    // Onto a free slot it goes through, both halves together.
    let snap = store
        .load_book(w.slot(2), a.patient, w.now)
        .await
        .expect("load");
    let facts = RescheduleFacts {
        current: store.load_cancel(id).await.expect("load_cancel"),
        new: BookFacts {
            slot: snap.slot,
            patient: a,
            holdings: snap.holdings,
            holdings_since: w.now,
            organisation_holdings: None,
            adjacent: Vec::new(),
        },
    };
    let request = RescheduleRequest {
        new_slot: w.slot(2),
        ..request
    };
    let Decision::Allowed(ok) = decide_reschedule(&w.policy, &facts, &request, w.now, &w.ids)
    else {
        panic!("the second reschedule was refused");
    };
    store.commit(&ok).await.expect("reschedule");
    assert!(
        !store
            .booking(id)
            .await
            .expect("booking")
            .expect("stored")
            .is_live(),
        "old cancelled"
    );
    assert_eq!(
        store
            .slot(w.slot(0))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking),
        None
    );
    assert_eq!(
        store
            .slot(w.slot(2))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking),
        Some(booked(&ok).id)
    );
}

/// Booking a slot that was never stored fails with `Missing` and writes nothing.
pub async fn booking_a_missing_slot_is_an_error_and_writes_nothing<S: BookingStore>(store: S) {
    let w = World::stored(1, &store).await;
    let p = adult(&w.ids);
    let mut c = w.decide(&store, &p, w.slot(0)).await;
    let ghost = SlotId::new(&w.ids);
    c.preconditions.clear();
    if let BookingChange::Book(b) = &mut c.change {
        b.slot = ghost;
    }
    let err = store.commit(&c).await.expect_err("missing slot");
    assert!(
        matches!(err, CommitError::Store(StoreError::Missing(_))),
        "Missing, got {err:?}"
    );
    assert!(store.audit_events().await.expect("events").is_empty());
}

/// A refusal's event is appended alone, in order.
pub async fn refusals_are_recorded_alone<S: BookingStore>(store: S) {
    let w = World::stored(1, &store).await;
    let (a, b) = (adult(&w.ids), adult(&w.ids));
    let c = w.book(&store, &a, w.slot(0)).await;
    let snap = store
        .load_book(w.slot(0), b.patient, w.now)
        .await
        .expect("load");
    let facts = BookFacts {
        slot: snap.slot,
        patient: b,
        holdings: snap.holdings,
        holdings_since: w.now,
        organisation_holdings: None,
        adjacent: Vec::new(),
    };
    let Decision::Refused(r) =
        decide_book(&w.policy, &facts, &w.request(&b, w.slot(0)), w.now, &w.ids)
    else {
        panic!("a taken slot was allowed");
    };
    store
        .record_refusal(&r.events)
        .await
        .expect("record_refusal");
    let events = store.audit_events().await.expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0], c.events[0], "oldest first");
    assert_eq!(events[1], r.events[0]);
    assert!(matches!(&events[1].outcome, Outcome::Refused(code) if code.as_str() == "SlotTaken"));
}

/// `book_in_one_step` loads, decides and commits (or records the refusal),
/// with the earlier events first, and the answer is the decision taken.
pub async fn book_in_one_step_commits_or_records_with_earlier_events<S: BookingStore>(store: S) {
    let w = World::stored(1, &store).await;
    let (a, b) = (adult(&w.ids), adult(&w.ids));
    let earlier = |p: &PatientFacts| {
        gp_core::AuditEvent::new(
            &w.ids,
            w.now,
            Actor::Patient { patient: p.patient },
            Channel::Online,
            Some(p.patient),
            gp_core::AuditAction::known("access.authorize"),
            Outcome::Allowed,
        )
    };
    let decider = |p: PatientFacts| -> gp_booking::BookDecider {
        let (policy, request, now) = (w.policy.clone(), w.request(&p, w.slot(0)), w.now);
        let ids = SequentialIds::new(0xB00C + u64::from(p.patient.as_uuid().as_u128() as u16));
        Box::new(move |snap| {
            let facts = BookFacts {
                slot: snap.slot,
                patient: p,
                holdings: snap.holdings,
                holdings_since: now,
                organisation_holdings: None,
                adjacent: Vec::new(),
            };
            decide_book(&policy, &facts, &request, now, &ids)
        })
    };
    let first = earlier(&a);
    let d = store
        .book_in_one_step(
            w.slot(0),
            a.patient,
            w.now,
            vec![first.clone()],
            Vec::new(),
            decider(a),
        )
        .await
        .expect("book in one step");
    let Decision::Allowed(c) = d else {
        panic!("a free slot was refused")
    };
    assert_eq!(c.events[0], first, "the earlier event comes first");
    let state = store.slot(w.slot(0)).await.expect("slot").expect("stored");
    assert_eq!(
        state.live_booking,
        Some(booked(&c).id),
        "the booking is committed"
    );
    let second = earlier(&b);
    let d = store
        .book_in_one_step(
            w.slot(0),
            b.patient,
            w.now,
            vec![second.clone()],
            Vec::new(),
            decider(b),
        )
        .await
        .expect("book in one step");
    let Decision::Refused(r) = d else {
        panic!("a taken slot was allowed")
    };
    let events = store.audit_events().await.expect("events");
    assert_eq!(events.len(), 4);
    assert_eq!(&events[..2], &c.events[..]);
    assert_eq!(events[2], second);
    assert_eq!(
        r.events,
        events[2..],
        "the refusal is recorded after the earlier event, as answered"
    );
    assert!(matches!(&events[3].outcome, Outcome::Refused(code) if code.as_str() == "SlotTaken"));
}

/// `bookings_for_patient` lists live and cancelled bookings in the order they were made.
pub async fn bookings_for_patient_include_cancelled_in_booking_order<S: BookingStore>(store: S) {
    let w = World::stored(3, &store).await;
    let p = adult(&w.ids);
    let first = booked(&w.book(&store, &p, w.slot(2)).await).clone();
    let facts = store.load_cancel(first.id).await.expect("load_cancel");
    let Decision::Allowed(cancel) = decide_cancel(
        &w.policy,
        &facts,
        &w.cancel_request(&p, first.id),
        w.now,
        &w.ids,
    ) else {
        panic!("refused");
    };
    store.commit(&cancel).await.expect("cancel");
    let second = booked(&w.book(&store, &p, w.slot(0)).await).clone();
    let all = store
        .bookings_for_patient(p.patient)
        .await
        .expect("bookings");
    assert_eq!(
        all.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    assert!(!all[0].is_live() && all[1].is_live());
}

/// The booking policy is the default at version 0 until stored; a stored
/// policy moves the version on by one, is read with the booking facts, and a
/// stale `PolicyUnchanged` conflicts and writes nothing.
pub async fn the_policy_is_stored_versioned_and_read_with_the_booking_facts<S: BookingStore>(
    store: S,
) {
    let w = World::stored(1, &store).await;
    let first = store.policy().await.expect("policy");
    assert_eq!(
        (first.version, &first.policy),
        (0, &BookingPolicy::default()),
        "a store with no policy stored answers the default at version 0"
    );
    let manager = Actor::Staff {
        staff: gp_core::StaffId::new(&w.ids),
        role: gp_core::StaffRole::PracticeManager,
    };
    let policy = BookingPolicy::new(gp_booking::BookingSettings {
        online_search_window_days: 7,
        ..Default::default()
    })
    .expect("a valid policy");
    let Decision::Allowed(c) =
        gp_booking::decide_policy(&first, manager, Channel::Reception, &policy, w.now, &w.ids)
    else {
        panic!("staff may change the policy")
    };
    store.commit(&c).await.expect("commit the policy");
    let stored = store.policy().await.expect("policy");
    assert_eq!((stored.version, &stored.policy), (1, &policy));
    let snap = store
        .load_book(w.slot(0), gp_core::PatientId::new(&w.ids), w.now)
        .await
        .expect("load_book");
    assert_eq!(snap.policy, stored, "the booking facts carry the policy");
    // The same decision again was made on version 0: it conflicts.
    let err = store.commit(&c).await.expect_err("a stale policy change");
    assert_eq!(
        err,
        CommitError::Conflict(Precondition::PolicyUnchanged { version: 0 })
    );
    assert_eq!(store.policy().await.expect("policy").version, 1);
    assert_eq!(
        store.audit_events().await.expect("events").len(),
        1,
        "only the committed change's event is recorded"
    );
}

/// `organisation_holdings` answers the live bookings an organisation made
/// whose slots start at or after the instant given (not other
/// organisations', not patients', not cancelled ones), and
/// `OrganisationHoldingsUnchanged` holds exactly while they are as read.
pub async fn organisation_holdings_count_its_live_future_bookings<S: BookingStore>(store: S) {
    let w = World::stored(4, &store).await;
    let org = |code: &str| gp_core::OdsCode::parse(code).expect("a code");
    let by_org = |code: &str| Actor::Organisation {
        ods: org(code),
        kind: gp_core::OrganisationType::URGENT_CARE,
        requester: None,
    };
    let mut ours = std::collections::BTreeSet::new();
    for (i, who) in [
        (0, Some("X09")),
        (1, Some("X09")),
        (2, Some("X10")),
        (3, None),
    ] {
        let p = adult(&w.ids);
        let mut c = w.decide(&store, &p, w.slot(i)).await;
        c.preconditions.clear();
        if let BookingChange::Book(b) = &mut c.change {
            if let Some(code) = who {
                b.booked_by = by_org(code);
                b.channel = Channel::Organisation;
            }
            if who == Some("X09") {
                ours.insert(b.id);
            }
        }
        store.commit(&c).await.expect("commit");
    }
    let held = store
        .organisation_holdings(org("X09"), w.now)
        .await
        .expect("organisation_holdings");
    assert_eq!(held, ours, "X09's live bookings, not X10's or a patient's");
    let later = w.schedule.slots[1].start();
    assert_eq!(
        store
            .organisation_holdings(org("X09"), later)
            .await
            .expect("organisation_holdings")
            .len(),
        1,
        "only bookings whose slots start at or after the instant"
    );
    let guard = Precondition::OrganisationHoldingsUnchanged {
        organisation: org("X09"),
        since: w.now,
        bookings: held.clone(),
    };
    let first = *held.iter().next().expect("a booking");
    let facts = store.load_cancel(first).await.expect("load_cancel");
    let Decision::Allowed(cancel) = decide_cancel(
        &w.policy,
        &facts,
        &CancelRequest {
            actor: by_org("X09"),
            channel: Channel::Organisation,
            booking: first,
            reason: CancellationReason::parse("Not needed").expect("a reason"),
            version: None,
        },
        w.now,
        &w.ids,
    ) else {
        panic!("the fixture cancellation was refused");
    };
    let mut guarded = cancel.clone();
    guarded.preconditions.push(guard.clone());
    store
        .commit(&guarded)
        .await
        .expect("commit while unchanged");
    assert_eq!(
        store.commit(&guarded).await,
        Err(CommitError::Conflict(Precondition::BookingLive(first))),
        "the cancellation happened once"
    );
    let mut stale = cancel;
    stale.preconditions = vec![guard.clone()];
    stale.change = BookingChange::Policy(BookingPolicy::default());
    assert_eq!(
        store.commit(&stale).await,
        Err(CommitError::Conflict(guard)),
        "a cancelled booking changes the organisation's holdings"
    );
    assert_eq!(
        store
            .organisation_holdings(org("X09"), w.now)
            .await
            .expect("organisation_holdings")
            .len(),
        1
    );
}

/// An amendment stores the booking's new description, comment and count;
/// a stale one (amended meanwhile) is `Conflict(BookingUnchanged)`, one that
/// changes anything else is `Invalid`, and a cancelled booking is not
/// amended; nothing is written by a failed commit.
pub async fn amendments_replace_texts_only_and_conflict_when_stale<S: BookingStore>(store: S) {
    let w = World::stored(2, &store).await;
    let p = adult(&w.ids);
    let booked = booked(&w.book(&store, &p, w.slot(0)).await).clone();
    let staff = Actor::Staff {
        staff: w.gp.id,
        role: gp_core::StaffRole::Gp,
    };
    let amend = |facts: &CancelFacts, words: &str| match decide_amend(
        &w.policy,
        facts,
        &AmendRequest {
            actor: staff,
            channel: Channel::Reception,
            booking: booked.id,
            description: Some(BookingDescription::parse(words).expect("a description")),
            comment: None,
            version: None,
        },
        w.now,
        &w.ids,
    ) {
        Decision::Allowed(c) => c,
        Decision::Refused(r) => panic!("the fixture amendment was refused: {}", r.reason),
    };
    let read = store.load_cancel(booked.id).await.expect("load_cancel");
    let first = amend(&read, "First");
    let second_from_same_read = amend(&read, "Second");
    store.commit(&first).await.expect("commit an amendment");
    let stored = store
        .booking(booked.id)
        .await
        .expect("booking")
        .expect("there");
    assert_eq!(stored.amendments, 1);
    assert_eq!(
        stored.description.as_ref().map(|d| d.as_str()),
        Some("First")
    );
    assert_eq!((stored.slot, stored.patient), (booked.slot, booked.patient));
    assert!(
        matches!(
            store.commit(&second_from_same_read).await,
            Err(CommitError::Conflict(Precondition::BookingUnchanged { .. }))
        ),
        "an amendment from a stale read conflicts"
    );
    let mut unguarded = second_from_same_read.clone();
    unguarded.preconditions.clear();
    assert!(
        matches!(
            store.commit(&unguarded).await,
            Err(CommitError::Conflict(Precondition::BookingUnchanged { .. }))
        ),
        "a store refuses a stale amendment whatever the preconditions say"
    );
    let mut sly = amend(&store.load_cancel(booked.id).await.expect("load"), "Sly");
    if let BookingChange::Amend(b) = &mut sly.change {
        b.slot = w.slot(1);
    }
    assert!(
        matches!(
            store.commit(&sly).await,
            Err(CommitError::Store(StoreError::Invalid(_)))
        ),
        "an amendment may not move the booking"
    );
    let after: Option<Booking> = store.booking(booked.id).await.expect("booking");
    assert_eq!(
        after.as_ref(),
        Some(&stored),
        "failed commits wrote nothing"
    );
}

/// An appointment of several adjacent slots is stored whole or not at all
/// (one slot already taken: `Conflict(SlotFree)`, nothing written), and
/// cancelling its first booking cancels every booking joined to it, freeing
/// every slot.
pub async fn adjacent_slots_are_booked_together_and_cancelled_together<S: BookingStore>(store: S) {
    let w = World::stored(4, &store).await;
    let p = adult(&w.ids);
    let decide = |facts: BookFacts, slots: &[usize]| {
        let mut request = w.request(&p, w.slot(slots[0]));
        request.adjacent = slots[1..].iter().map(|i| w.slot(*i)).collect();
        match decide_book(&w.policy, &facts, &request, w.now, &w.ids) {
            Decision::Allowed(c) => c,
            Decision::Refused(r) => panic!("the fixture booking was refused: {}", r.reason),
        }
    };
    let facts = |snap: gp_booking::BookSnapshot, more: Vec<Option<SlotState>>| BookFacts {
        slot: snap.slot,
        patient: p,
        holdings: snap.holdings,
        holdings_since: w.now,
        organisation_holdings: None,
        adjacent: more,
    };
    let slot_ids: Vec<SlotId> = (0..4).map(|i| w.slot(i)).collect();
    let store_ref = &store;
    let load = |i: usize| {
        let id = slot_ids[i];
        async move { store_ref.slot(id).await.expect("slot") }
    };
    // Slots 0 and 1 together.
    let snap = store
        .load_book(w.slot(0), p.patient, w.now)
        .await
        .expect("load");
    let two = decide(facts(snap, vec![load(1).await]), &[0, 1]);
    let BookingChange::BookAdjacent(bookings) = &two.change else {
        panic!("an appointment of two slots is BookAdjacent");
    };
    assert_eq!(bookings.len(), 2);
    // Meanwhile slot 2 is taken: a pair of 2 and 3 decided before then is
    // refused whole.
    let snap = store
        .load_book(w.slot(2), p.patient, w.now)
        .await
        .expect("load");
    let mut pair = decide(facts(snap, vec![load(3).await]), &[2, 3]);
    store.commit(&two).await.expect("commit two slots");
    for i in [0, 1] {
        assert!(
            store
                .slot(w.slot(i))
                .await
                .expect("slot")
                .and_then(|s| s.live_booking)
                .is_some(),
            "slot {i} is taken"
        );
    }
    let other = adult(&w.ids);
    let third = w.book(&store, &other, w.slot(2)).await;
    pair.preconditions.clear();
    assert!(
        matches!(
            store.commit(&pair).await,
            Err(CommitError::Conflict(Precondition::SlotFree(_)))
        ),
        "one slot taken refuses the whole appointment, whatever the preconditions say"
    );
    assert!(
        store
            .slot(w.slot(3))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking)
            .is_none(),
        "nothing of the refused appointment was written"
    );
    // Cancelling the first booking cancels the joined one too.
    let lead = bookings[0].clone();
    let cancel_facts = store.load_cancel(lead.id).await.expect("load_cancel");
    let Decision::Allowed(cancel) = decide_cancel(
        &w.policy,
        &cancel_facts,
        &w.cancel_request(&p, lead.id),
        w.now,
        &w.ids,
    ) else {
        panic!("the fixture cancellation was refused");
    };
    store.commit(&cancel).await.expect("cancel");
    for b in bookings {
        let stored = store.booking(b.id).await.expect("booking").expect("there");
        assert!(
            !stored.is_live(),
            "{} was cancelled with its appointment",
            b.id
        );
    }
    for i in [0, 1] {
        assert!(store
            .slot(w.slot(i))
            .await
            .expect("slot")
            .and_then(|s| s.live_booking)
            .is_none());
    }
    assert!(booked(&third).is_live());
}

/// Expands into one `#[tokio::test]` per booking conformance check, each
/// given a fresh store made by `$make` (an expression evaluated once per test).
///
/// ```text
/// // in crates/<your-store>/tests/conformance.rs:
/// gp_testkit::booking_store_conformance!(gp_booking::MemoryBookingStore::new());
/// ```
#[macro_export]
macro_rules! booking_store_conformance {
    ($make:expr) => {
        $crate::booking_store_conformance!(@each $make;
            schedule_is_stored_and_found_in_order,
            schedule_with_unknown_clinician_writes_nothing,
            schedule_with_duplicate_slot_writes_nothing,
            schedule_with_a_slot_away_from_its_session_writes_nothing,
            committed_booking_is_visible_everywhere,
            second_booking_from_the_same_snapshot_conflicts,
            a_taken_slot_is_never_booked_twice_even_without_preconditions,
            changed_holdings_conflict,
            cancel_frees_the_slot_and_cannot_happen_twice,
            reschedule_is_all_or_nothing,
            booking_a_missing_slot_is_an_error_and_writes_nothing,
            refusals_are_recorded_alone,
            book_in_one_step_commits_or_records_with_earlier_events,
            bookings_for_patient_include_cancelled_in_booking_order,
            the_policy_is_stored_versioned_and_read_with_the_booking_facts,
            organisation_holdings_count_its_live_future_bookings,
            amendments_replace_texts_only_and_conflict_when_stale,
            adjacent_slots_are_booked_together_and_cancelled_together
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::booking::$check($make).await;
            }
        )+
    };
}
