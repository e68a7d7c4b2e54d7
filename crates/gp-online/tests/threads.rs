//! Real threads racing through the facade on one shared in-memory store.

use std::sync::Arc;

use gp_booking::*;
use gp_core::{FixedClock, SequentialIds};
use gp_online::unchecked::Appointments;
use gp_online::Answer;
use gp_testkit::fixtures::{adult, monday_morning, practice};

mod common;
use common::{done, race, rt};

type Facade = Appointments<MemoryBookingStore, FixedClock>;

async fn setup() -> (Arc<Facade>, Vec<Slot>) {
    let ids = SequentialIds::new(9);
    let fixture = practice(&ids, monday_morning().date_naive());
    let store = MemoryBookingStore::new();
    for s in fixture.staff() {
        store.put_staff(&s).await.unwrap();
    }
    store.add_schedule(&fixture.schedule).await.unwrap();
    let routine: Vec<Slot> = fixture
        .schedule
        .slots
        .iter()
        .filter(|s| {
            s.slot_type == SlotType::RoutineGp
                && s.reserved_for.is_none()
                && s.availability == SlotAvailability::Open
        })
        .cloned()
        .collect();
    (
        Arc::new(Appointments::new(store, FixedClock::new(monday_morning()))),
        routine,
    )
}

#[test]
fn many_patients_one_slot_exactly_one_wins() {
    let (online, slots) = rt().block_on(setup());
    let target = slots[3].clone();
    let threads = 32;
    let facade = online.clone();
    let answers = race(threads, move |i, rt| {
        let p = adult(&SequentialIds::new(1000 + i as u64));
        rt.block_on(facade.book(&BookRequest::patient_online(p.patient, target.id), &p))
            .unwrap()
    });
    let taken = answers
        .iter()
        .filter(|a| a.refusal() == Some(&BookingRefusal::SlotTaken))
        .count();
    assert_eq!((done(&answers), taken), (1, threads - 1));
    let events = rt().block_on(online.store().audit_events()).unwrap();
    assert_eq!(events.len(), threads, "one event per attempt");
    assert_eq!(events.iter().filter(|e| e.outcome.is_allowed()).count(), 1);
}

#[test]
fn one_patient_racing_for_many_slots_never_passes_the_holding_limit() {
    let (online, slots) = rt().block_on(setup());
    let p = adult(&SequentialIds::new(77));
    let answers = race(20, move |i, rt| {
        rt.block_on(online.book(&BookRequest::patient_online(p.patient, slots[i].id), &p))
            .unwrap()
    });
    assert_eq!(done(&answers), 2, "the default holding limit is 2");
    assert!(answers
        .iter()
        .filter_map(Answer::refusal)
        .all(|r| *r == BookingRefusal::HoldingLimitReached { limit: 2 }));
}
