//! Races through the facade with real threads on a real SQLite file, several
//! connections at once (one store per group of threads, as separate processes
//! of a supplier's system would have).

use std::path::PathBuf;
use std::sync::Arc;

use gp_audit::AuditStore;

use gp_booking::*;
use gp_core::{FixedClock, SequentialIds};
use gp_online::unchecked::Appointments;
use gp_online::Answer;
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{adult, monday_morning, small_schedule};

mod common;
use common::{done, race, rt};

const LIVE_ROWS: &str = "SELECT count(*) FROM bookings WHERE cancelled = 0";
const EVENTS: &str = "SELECT count(*) FROM audit_events";

type Facade = Appointments<SqliteStore, FixedClock>;

fn temp_db(name: &str) -> PathBuf {
    common::temp_db("gp-online-races", name)
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
            Arc::new(Appointments::new(
                SqliteStore::open(&path).unwrap(),
                FixedClock::new(monday_morning()),
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
    let slot = slots[0].id;
    let answers = race(200, move |i, rt| {
        let p = adult(&SequentialIds::new(5000 + i as u64));
        let online = &facades[i % facades.len()];
        rt.block_on(online.book(&BookRequest::patient_online(p.patient, slot), &p))
            .unwrap()
    });
    let taken = answers
        .iter()
        .filter(|a| a.refusal() == Some(&BookingRefusal::SlotTaken))
        .count();
    assert_eq!((done(&answers), taken), (1, 199));
    assert_eq!(raw_count(&path, LIVE_ROWS), 1, "one live row");
    assert_eq!(raw_count(&path, EVENTS), 200, "one event per attempt");
}

#[test]
fn one_patient_twenty_slots_at_once_gets_exactly_the_holding_limit() {
    let (path, slots, facades) = setup("holding", 20, 4);
    let p = adult(&SequentialIds::new(77));
    let answers = race(20, move |i, rt| {
        let online = &facades[i % facades.len()];
        rt.block_on(online.book(&BookRequest::patient_online(p.patient, slots[i].id), &p))
            .unwrap()
    });
    assert_eq!(done(&answers), 2);
    assert!(answers
        .iter()
        .filter_map(Answer::refusal)
        .all(|r| *r == BookingRefusal::HoldingLimitReached { limit: 2 }));
    assert_eq!(raw_count(&path, LIVE_ROWS), 2);
}

#[test]
fn a_thousand_patients_sixty_slots() {
    let (path, slots, facades) = setup("thousand", 60, 4);
    let per_thread = 20;
    let first = facades[0].clone();
    let answers: Vec<Answer<Booking>> = race(50, move |t, rt| {
        let online = &facades[t % facades.len()];
        (0..per_thread)
            .map(|k| {
                let n = t * per_thread + k;
                let p = adult(&SequentialIds::new(10_000 + n as u64));
                let slot = slots[(n * 7) % slots.len()].id;
                rt.block_on(online.book(&BookRequest::patient_online(p.patient, slot), &p))
                    .unwrap()
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(answers.len(), 1000);
    assert_eq!(done(&answers), 60);
    assert_eq!(
        raw_count(
            &path,
            "SELECT count(*) FROM (SELECT slot FROM bookings WHERE cancelled = 0 GROUP BY slot HAVING count(*) > 1)"
        ),
        0,
        "no slot with two live bookings"
    );
    assert_eq!(raw_count(&path, LIVE_ROWS), 60);
    assert_eq!(
        raw_count(&path, EVENTS),
        1000,
        "exactly one event per attempt"
    );
    let chain = rt().block_on(first.store().verify_all()).unwrap();
    assert_eq!(chain, Ok(()), "the audit chain verifies after the race");
    assert_eq!(
        rt().block_on(first.store().head()).unwrap().map(|h| h.0),
        Some(1000)
    );
}
