//! Real threads racing through the facade on one shared in-memory store.

use std::sync::{Arc, Barrier};

use gp_booking::*;
use gp_core::{FixedClock, SequentialIds};
use gp_online::{Answer, Online};
use gp_testkit::fixtures::{adult, monday_morning, practice};

type Facade = Online<MemoryBookingStore, FixedClock>;

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
        Arc::new(Online::new(
            store,
            FixedClock::new(monday_morning()),
            BookingPolicy::default(),
        )),
        routine,
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn many_patients_one_slot_exactly_one_wins() {
    let (online, slots) = rt().block_on(setup());
    let target = slots[3].clone();
    let threads = 32;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (online, barrier, target) = (online.clone(), barrier.clone(), target.clone());
            std::thread::spawn(move || {
                let p = adult(&SequentialIds::new(1000 + i as u64));
                barrier.wait();
                rt().block_on(online.book(&BookRequest::patient_online(p.patient, target.id), &p))
                    .unwrap()
            })
        })
        .collect();
    let answers: Vec<Answer<Booking>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won = answers
        .iter()
        .filter(|a| matches!(a, Answer::Done(_)))
        .count();
    let taken = answers
        .iter()
        .filter(|a| a.refusal() == Some(&BookingRefusal::SlotTaken))
        .count();
    assert_eq!((won, taken), (1, threads - 1));
    let events = rt().block_on(online.store().audit_events()).unwrap();
    assert_eq!(events.len(), threads, "one event per attempt");
    assert_eq!(events.iter().filter(|e| e.outcome.is_allowed()).count(), 1);
}

#[test]
fn one_patient_racing_for_many_slots_never_passes_the_holding_limit() {
    let (online, slots) = rt().block_on(setup());
    let p = adult(&SequentialIds::new(77));
    let threads = 20;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (online, barrier, slot) = (online.clone(), barrier.clone(), slots[i].clone());
            std::thread::spawn(move || {
                barrier.wait();
                rt().block_on(online.book(&BookRequest::patient_online(p.patient, slot.id), &p))
                    .unwrap()
            })
        })
        .collect();
    let answers: Vec<Answer<Booking>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won = answers
        .iter()
        .filter(|a| matches!(a, Answer::Done(_)))
        .count();
    assert_eq!(won, 2, "the default holding limit is 2");
    assert!(answers
        .iter()
        .filter_map(Answer::refusal)
        .all(|r| *r == BookingRefusal::HoldingLimitReached { limit: 2 }));
}
