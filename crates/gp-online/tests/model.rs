//! Model-based property test: the same random operations applied through the
//! facade to gp-sqlite and to the in-memory store give the same answers and
//! leave the same observable state.

use chrono::Duration;
use gp_audit::AuditStore;
use gp_booking::*;
use gp_core::{Clock, FixedClock, PatientId, SequentialIds, StaffId};
use gp_online::unchecked::Appointments;
use gp_online::Answer;
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, patients_of_all_ages, practice};
use proptest::prelude::*;

mod common;
use common::{actor_channel, op, Op, Who};

/// What a caller sees of one operation.
#[derive(Debug, PartialEq)]
enum Seen {
    Search(Answer<Vec<Slot>>),
    Booking(Box<Answer<Booking>>),
    Nothing,
}

struct World {
    patients: Vec<PatientFacts>,
    slots: Vec<Slot>,
    receptionist: StaffId,
}

async fn apply<S: BookingStore>(online: &Appointments<S, FixedClock>, w: &World, op: &Op) -> Seen {
    let who = |patient: usize, who: Who| {
        let p = w.patients[patient];
        let (actor, channel) = actor_channel(who, p.patient, w.receptionist);
        (p, actor, channel)
    };
    let nth_booking = |patient: PatientId, nth: usize| async move {
        let mine = online.store().bookings_for_patient(patient).await.unwrap();
        mine.get(nth % mine.len().max(1)).cloned()
    };
    match *op {
        Op::Wait { minutes } => {
            online.clock().advance(Duration::minutes(minutes));
            Seen::Nothing
        }
        Op::Search {
            patient,
            who: w_,
            from_hours,
            days,
        } => {
            let (p, actor, channel) = who(patient, w_);
            let from = online.clock().now() + Duration::hours(from_hours);
            let request = SearchRequest {
                actor,
                channel,
                patient: Some(p),
                query: SearchQuery::between(from, from + Duration::days(days)),
            };
            Seen::Search(online.search(&request).await.unwrap())
        }
        Op::Book {
            patient,
            who: w_,
            slot,
        } => {
            let (p, actor, channel) = who(patient, w_);
            let request = BookRequest {
                actor,
                channel,
                ..BookRequest::patient_online(p.patient, w.slots[slot].id)
            };
            Seen::Booking(Box::new(online.book(&request, &p).await.unwrap()))
        }
        Op::Cancel {
            patient,
            who: w_,
            nth,
        } => {
            let (p, actor, channel) = who(patient, w_);
            let Some(b) = nth_booking(p.patient, nth).await else {
                return Seen::Nothing;
            };
            let request = CancelRequest {
                actor,
                channel,
                booking: b.id,
                reason: CancellationReason::parse("Not needed").unwrap(),
                version: None,
            };
            Seen::Booking(Box::new(online.cancel(&request).await.unwrap()))
        }
        Op::Reschedule {
            patient,
            who: w_,
            nth,
            slot,
        } => {
            let (p, actor, channel) = who(patient, w_);
            let Some(b) = nth_booking(p.patient, nth).await else {
                return Seen::Nothing;
            };
            let request = RescheduleRequest {
                actor,
                channel,
                booking: b.id,
                new_slot: w.slots[slot].id,
                reason: CancellationReason::parse("Moved").unwrap(),
                holding_limit_override: None,
            };
            Seen::Booking(Box::new(online.reschedule(&request, &p).await.unwrap()))
        }
    }
}

async fn same_state(a: &impl BookingStore, b: &impl BookingStore, w: &World) {
    for p in &w.patients {
        assert_eq!(
            a.bookings_for_patient(p.patient).await.unwrap(),
            b.bookings_for_patient(p.patient).await.unwrap(),
            "bookings of patient {}",
            p.patient
        );
    }
    let first_days = SearchQuery::between(monday_morning(), monday_morning() + Duration::days(3));
    assert_eq!(
        a.find_slots(&first_days).await.unwrap(),
        b.find_slots(&first_days).await.unwrap(),
        "slots"
    );
    // Personal text is salted from the operating system: the salts and
    // salted hashes differ between stores by design. Each hash must match
    // its own words and salt; everything else must be equal.
    let comparable = |events: Vec<gp_core::AuditEvent>| -> Vec<gp_core::AuditEvent> {
        events
            .into_iter()
            .map(|mut e| {
                for t in &mut e.texts {
                    assert_eq!(e.details[&format!("{}_sha256", t.key)], t.digest());
                    t.salt = gp_core::uuid::Uuid::nil();
                }
                e.details.retain(|k, _| !k.ends_with("_sha256"));
                e
            })
            .collect()
    };
    assert_eq!(
        comparable(a.audit_events().await.unwrap()),
        comparable(b.audit_events().await.unwrap()),
        "audit trail"
    );
}

async fn run(ops: Vec<Op>) {
    let ids = SequentialIds::new(3);
    let fixture = practice(&ids, monday_morning().date_naive());
    let world = World {
        patients: patients_of_all_ages(&ids, monday_morning().date_naive()),
        slots: fixture.schedule.slots.clone(),
        receptionist: fixture.receptionist.id,
    };
    let memory = MemoryBookingStore::new();
    let sqlite = SqliteStore::open_in_memory().unwrap();
    for s in fixture.staff() {
        memory.put_staff(&s).await.unwrap();
        sqlite.put_staff(&s).await.unwrap();
    }
    memory.add_schedule(&fixture.schedule).await.unwrap();
    sqlite.add_schedule(&fixture.schedule).await.unwrap();
    let clock = || FixedClock::new(monday_morning());
    let ids = || Box::new(SequentialIds::new(4));
    let model = Appointments::with_ids(memory, clock(), ids());
    let real = Appointments::with_ids(sqlite, clock(), ids());
    for op in &ops {
        let expected = apply(&model, &world, op).await;
        let seen = apply(&real, &world, op).await;
        assert_eq!(seen, expected, "answers differ for {op:?}");
        same_state(model.store(), real.store(), &world).await;
    }
    assert_eq!(
        real.store().verify_all().await.unwrap(),
        Ok(()),
        "the SQLite audit chain verifies"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_behaves_like_the_in_memory_model(ops in proptest::collection::vec(op(), 1..50)) {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run(ops));
    }
}
