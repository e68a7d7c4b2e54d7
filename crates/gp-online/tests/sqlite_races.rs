//! Races through the facade with real threads on a real SQLite file, several
//! connections at once (one store per group of threads, as separate processes
//! of a supplier's system would have).

use std::path::PathBuf;
use std::sync::{Arc, Barrier};

use gp_booking::*;
use gp_core::{FixedClock, SequentialIds};
use gp_online::{Answer, Online};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{adult, monday_morning, small_schedule};

type Facade = Online<SqliteStore, FixedClock>;

fn temp_db(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gp-online-races");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.db", gp_core::uuid::Uuid::new_v4()))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A file with `slots` free routine slots, and `connections` facades on it.
fn setup(name: &str, slots: usize, connections: usize) -> (PathBuf, Vec<Slot>, Vec<Arc<Facade>>) {
    let path = temp_db(name);
    let ids = SequentialIds::new(11);
    let (gp, schedule) = small_schedule(&ids, monday_morning(), slots);
    rt().block_on(async {
        let store = SqliteStore::open(&path).unwrap();
        store.put_staff(&gp).await.unwrap();
        store.add_schedule(&schedule).await.unwrap();
    });
    let facades = (0..connections)
        .map(|_| {
            Arc::new(Online::new(
                SqliteStore::open(&path).unwrap(),
                FixedClock::new(monday_morning()),
                BookingPolicy::default(),
            ))
        })
        .collect();
    (path, schedule.slots, facades)
}

fn raw_count(path: &PathBuf, sql: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn two_hundred_patients_one_slot_exactly_one_booking() {
    let (path, slots, facades) = setup("one-slot", 1, 4);
    let threads = 200;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let online = facades[i % facades.len()].clone();
            let (barrier, slot) = (barrier.clone(), slots[0].clone());
            std::thread::spawn(move || {
                let p = adult(&SequentialIds::new(5000 + i as u64));
                barrier.wait();
                rt().block_on(online.book(&BookRequest::patient_online(p.patient, slot.id), &p))
                    .unwrap()
            })
        })
        .collect();
    let answers: Vec<Answer<Booking>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let booked = answers
        .iter()
        .filter(|a| matches!(a, Answer::Done(_)))
        .count();
    let taken = answers
        .iter()
        .filter(|a| a.refusal() == Some(&BookingRefusal::SlotTaken))
        .count();
    assert_eq!((booked, taken), (1, 199));
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM bookings WHERE cancelled = 0"),
        1,
        "one live row"
    );
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM audit_events"),
        200,
        "one event per attempt"
    );
}

#[test]
fn one_patient_twenty_slots_at_once_gets_exactly_the_holding_limit() {
    let (path, slots, facades) = setup("holding", 20, 4);
    let p = adult(&SequentialIds::new(77));
    let barrier = Arc::new(Barrier::new(20));
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let online = facades[i % facades.len()].clone();
            let (barrier, slot) = (barrier.clone(), slots[i].clone());
            std::thread::spawn(move || {
                barrier.wait();
                rt().block_on(online.book(&BookRequest::patient_online(p.patient, slot.id), &p))
                    .unwrap()
            })
        })
        .collect();
    let answers: Vec<Answer<Booking>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        answers
            .iter()
            .filter(|a| matches!(a, Answer::Done(_)))
            .count(),
        2
    );
    assert!(answers
        .iter()
        .filter_map(Answer::refusal)
        .all(|r| *r == BookingRefusal::HoldingLimitReached { limit: 2 }));
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM bookings WHERE cancelled = 0"),
        2
    );
}

#[test]
fn a_thousand_patients_sixty_slots() {
    let (path, slots, facades) = setup("thousand", 60, 4);
    let slots = Arc::new(slots);
    let threads = 50;
    let per_thread = 20;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let online = facades[t % facades.len()].clone();
            let (barrier, slots) = (barrier.clone(), slots.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let runtime = rt();
                (0..per_thread)
                    .map(|k| {
                        let n = t * per_thread + k;
                        let p = adult(&SequentialIds::new(10_000 + n as u64));
                        let slot = &slots[(n * 7) % slots.len()];
                        runtime
                            .block_on(
                                online.book(&BookRequest::patient_online(p.patient, slot.id), &p),
                            )
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<Answer<Booking>> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(answers.len(), 1000);
    assert_eq!(
        answers
            .iter()
            .filter(|a| matches!(a, Answer::Done(_)))
            .count(),
        60
    );
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM (SELECT slot FROM bookings WHERE cancelled = 0 GROUP BY slot HAVING count(*) > 1)"),
        0,
        "no slot with two live bookings"
    );
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM bookings WHERE cancelled = 0"),
        60
    );
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM audit_events"),
        1000,
        "exactly one event per attempt"
    );
}
