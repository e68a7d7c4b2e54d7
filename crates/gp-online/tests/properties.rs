//! Property tests: random sequences of search, book, cancel and reschedule by
//! random actors through random channels, against the in-memory store through
//! the facade, checked after every step.

use std::collections::HashMap;

use chrono::Duration;
use gp_booking::*;
use gp_core::{Clock, FixedClock, SequentialIds, SlotId};
use gp_online::unchecked::Appointments;
use gp_online::Answer;
use gp_testkit::fixtures::{monday_morning, patients_of_all_ages, practice};
use proptest::prelude::*;

mod common;
use common::{actor_channel, is_online, op, Op, Who};

async fn check_invariants(
    online: &Appointments<MemoryBookingStore, FixedClock>,
    patients: &[PatientFacts],
    slots: &[Slot],
) {
    let store = online.store();
    let mut live_per_slot: HashMap<SlotId, usize> = HashMap::new();
    for p in patients {
        for b in store.bookings_for_patient(p.patient).await.unwrap() {
            if b.is_live() {
                *live_per_slot.entry(b.slot).or_default() += 1;
                let state = store.slot(b.slot).await.unwrap().unwrap();
                assert_eq!(
                    state.live_booking,
                    Some(b.id),
                    "the slot shows its live booking"
                );
            }
        }
    }
    assert!(
        live_per_slot.values().all(|n| *n == 1),
        "never two live bookings on a slot"
    );
    for s in slots.iter().take(120) {
        let state = store.slot(s.id).await.unwrap().unwrap();
        if let Some(b) = state.live_booking {
            assert!(store.booking(b).await.unwrap().unwrap().is_live());
        }
    }
}

async fn run(ops: Vec<Op>) {
    let ids = SequentialIds::new(3);
    let fixture = practice(&ids, monday_morning().date_naive());
    let store = MemoryBookingStore::new();
    for s in fixture.staff() {
        store.put_staff(&s).await.unwrap();
    }
    store.add_schedule(&fixture.schedule).await.unwrap();
    let patients = patients_of_all_ages(&ids, monday_morning().date_naive());
    let slots = fixture.schedule.slots.clone();
    let online = Appointments::with_ids(
        store,
        FixedClock::new(monday_morning()),
        Box::new(SequentialIds::new(4)),
    );
    let limit = 2usize;
    let receptionist = fixture.receptionist.id;
    for op in ops {
        let before = online.store().audit_events().await.unwrap().len();
        let now = online.clock().now();
        let mut expected_events = 1;
        match op {
            Op::Wait { minutes } => {
                online.clock().advance(Duration::minutes(minutes));
                expected_events = 0;
            }
            Op::Search {
                patient,
                who,
                from_hours,
                days,
            } => {
                let p = patients[patient];
                let (actor, channel) = actor_channel(who, p.patient, receptionist);
                let from = now + Duration::hours(from_hours);
                let request = SearchRequest {
                    actor,
                    channel,
                    patient: Some(p),
                    query: SearchQuery::between(from, from + Duration::days(days)),
                };
                match online.search(&request).await.unwrap() {
                    Answer::Done(found) => {
                        expected_events = 0;
                        for slot in found {
                            let state = online.store().slot(slot.id).await.unwrap().unwrap();
                            assert_eq!(state.live_booking, None, "search never shows a taken slot");
                            assert!(slot.start() > now, "search never shows a started slot");
                            if is_online(who) {
                                assert_ne!(
                                    slot.slot_type,
                                    SlotType::Urgent,
                                    "no urgent slot online"
                                );
                                assert_eq!(slot.reserved_for, None, "no reserved slot online");
                                assert!(
                                    online
                                        .policy()
                                        .await
                                        .unwrap()
                                        .policy
                                        .online_release_at(&slot)
                                        .is_none_or(|r| r <= now),
                                    "no unreleased slot online"
                                );
                            }
                        }
                    }
                    Answer::Refused(_) => {}
                }
            }
            Op::Book { patient, who, slot } => {
                let p = patients[patient];
                let (actor, channel) = actor_channel(who, p.patient, receptionist);
                let request = BookRequest {
                    actor,
                    channel,
                    patient: p.patient,
                    slot: slots[slot].id,
                    description: None,
                    comment: None,
                    holding_limit_override: match who {
                        Who::Receptionist(true) => {
                            Some(OverrideReason::parse("Patient is a carer").unwrap())
                        }
                        _ => None,
                    },
                    organisation_contact: None,
                    adjacent: Vec::new(),
                };
                let holds_before = online
                    .store()
                    .load_book(slots[slot].id, p.patient, now)
                    .await
                    .unwrap()
                    .holdings
                    .len();
                if let Answer::Done(b) = online.book(&request, &p).await.unwrap() {
                    assert_eq!(
                        b.patient, p.patient,
                        "a confirmed booking is really the patient's"
                    );
                    let holds = online
                        .store()
                        .load_book(slots[slot].id, p.patient, now)
                        .await
                        .unwrap()
                        .holdings
                        .len();
                    assert_eq!(holds, holds_before + 1);
                    if is_online(who) {
                        assert!(
                            holds <= limit,
                            "an online booking never exceeds the holding limit"
                        );
                    }
                }
            }
            Op::Cancel { patient, who, nth } => {
                let p = patients[patient];
                let (actor, channel) = actor_channel(who, p.patient, receptionist);
                let mine = online
                    .store()
                    .bookings_for_patient(p.patient)
                    .await
                    .unwrap();
                let Some(b) = mine.get(nth % mine.len().max(1)) else {
                    continue; // nothing to act on: no decision, no event
                };
                let request = CancelRequest {
                    actor,
                    channel,
                    booking: b.id,
                    reason: CancellationReason::parse("Not needed").unwrap(),
                    version: None,
                };
                if let Answer::Done(done) = online.cancel(&request).await.unwrap() {
                    assert!(!done.is_live());
                    assert_eq!(
                        online
                            .store()
                            .slot(done.slot)
                            .await
                            .unwrap()
                            .unwrap()
                            .live_booking,
                        None,
                        "cancelling frees the slot"
                    );
                }
            }
            Op::Reschedule {
                patient,
                who,
                nth,
                slot,
            } => {
                let p = patients[patient];
                let (actor, channel) = actor_channel(who, p.patient, receptionist);
                let mine = online
                    .store()
                    .bookings_for_patient(p.patient)
                    .await
                    .unwrap();
                let Some(old) = mine.get(nth % mine.len().max(1)).cloned() else {
                    continue; // nothing to act on: no decision, no event
                };
                let request = RescheduleRequest {
                    actor,
                    channel,
                    booking: old.id,
                    new_slot: slots[slot].id,
                    reason: CancellationReason::parse("Moved").unwrap(),
                    holding_limit_override: None,
                };
                let old_live = online
                    .store()
                    .booking(old.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .is_live();
                match online.reschedule(&request, &p).await.unwrap() {
                    Answer::Done(new) => {
                        assert!(old_live);
                        assert!(
                            !online
                                .store()
                                .booking(old.id)
                                .await
                                .unwrap()
                                .unwrap()
                                .is_live(),
                            "old cancelled"
                        );
                        assert!(
                            online
                                .store()
                                .booking(new.id)
                                .await
                                .unwrap()
                                .unwrap()
                                .is_live(),
                            "new live"
                        );
                    }
                    Answer::Refused(_) => {
                        let still = online
                            .store()
                            .booking(old.id)
                            .await
                            .unwrap()
                            .unwrap()
                            .is_live();
                        assert_eq!(still, old_live, "a refused reschedule changes nothing");
                    }
                }
            }
        }
        let after = online.store().audit_events().await.unwrap().len();
        assert_eq!(
            after - before,
            expected_events,
            "one audit event per decision"
        );
        check_invariants(&online, &patients, &slots).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_invariant(ops in proptest::collection::vec(op(), 1..60)) {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run(ops));
    }
}
