//! Property tests: random sequences of search, book, cancel and reschedule by
//! random actors through random channels, against the in-memory store through
//! the facade, checked after every step.

use std::collections::HashMap;

use chrono::Duration;
use gp_booking::*;
use gp_core::{
    Actor, Channel, Clock, FixedClock, PatientId, ProxyId, SequentialIds, SlotId, StaffId,
    StaffRole,
};
use gp_online::{Answer, Online};
use gp_testkit::fixtures::{monday_morning, patients_of_all_ages, practice};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Who {
    Patient,
    Proxy,
    Receptionist(bool),
}

#[derive(Debug, Clone)]
enum Op {
    Search {
        patient: usize,
        who: Who,
        from_hours: i64,
        days: i64,
    },
    Book {
        patient: usize,
        who: Who,
        slot: usize,
    },
    Cancel {
        patient: usize,
        who: Who,
        nth: usize,
    },
    Reschedule {
        patient: usize,
        who: Who,
        nth: usize,
        slot: usize,
    },
    Wait {
        minutes: i64,
    },
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Patient),
        1 => Just(Who::Proxy),
        2 => any::<bool>().prop_map(Who::Receptionist),
    ]
}

/// Slots are drawn from the first 120 (the first days), so requests collide.
fn op() -> impl Strategy<Value = Op> {
    let patient = 0usize..13;
    prop_oneof![
        2 => (patient.clone(), who(), 0i64..72, 1i64..17).prop_map(|(patient, who, from_hours, days)| Op::Search { patient, who, from_hours, days }),
        6 => (patient.clone(), who(), 0usize..120).prop_map(|(patient, who, slot)| Op::Book { patient, who, slot }),
        2 => (patient.clone(), who(), 0usize..4).prop_map(|(patient, who, nth)| Op::Cancel { patient, who, nth }),
        2 => (patient, who(), 0usize..4, 0usize..120).prop_map(|(patient, who, nth, slot)| Op::Reschedule { patient, who, nth, slot }),
        1 => (1i64..600).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

fn actor_channel(who: Who, patient: PatientId, receptionist: StaffId) -> (Actor, Channel) {
    match who {
        Who::Patient => (Actor::Patient { patient }, Channel::Online),
        Who::Proxy => (
            Actor::Proxy {
                proxy: ProxyId::from_uuid(uuid_from(patient)),
                for_patient: patient,
            },
            Channel::Online,
        ),
        Who::Receptionist(phone) => (
            Actor::Staff {
                staff: receptionist,
                role: StaffRole::Receptionist,
            },
            if phone {
                Channel::Telephone
            } else {
                Channel::Reception
            },
        ),
    }
}

fn uuid_from(p: PatientId) -> gp_core::uuid::Uuid {
    gp_core::uuid::Uuid::from_u128(p.as_uuid().as_u128() ^ 1)
}

fn is_online(who: Who) -> bool {
    !matches!(who, Who::Receptionist(_))
}

async fn check_invariants(
    online: &Online<MemoryBookingStore, FixedClock>,
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
    let online = Online::with_ids(
        store,
        FixedClock::new(monday_morning()),
        BookingPolicy::default(),
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
