//! Book + audit through gp-sqlite versus raw rusqlite doing the same writes,
//! and a 14-day free-slot search over ~30,000 slots versus the raw indexed
//! query. Both sides run in the same process; the ratio is the figure.
//!
//! Run with `cargo bench --bench booking`.
//!
//! Booking is measured two ways. "One at a time" alternates one booking of
//! ours with one raw: our database thread has gone to sleep between each of
//! ours, so each booking pays for waking it. "In bursts" runs 300 of ours back
//! to back, then 300 raw, as during the morning rush.

use std::time::Instant;

use gp_booking::{
    BookRequest, BookingStore, PatientFacts, Schedule, SearchQuery, SearchRequest, Slot,
};
use gp_core::{Actor, Channel, FixedClock, SequentialIds};
use gp_online::unchecked::Appointments;
use gp_online::Answer;
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{adult, monday_morning, practice, small_schedule};
use rusqlite::{params, Connection, TransactionBehavior};

mod common;
use common::{chain, paired, raw_holdings_below_limit, rt, temp_db, AUDIT_TABLES};

/// Our side: a facade on a fresh file with `n` free slots.
struct Ours {
    online: Appointments<SqliteStore, FixedClock>,
    slots: Vec<Slot>,
    ids: SequentialIds,
    next: usize,
}

impl Ours {
    fn new(n: usize) -> Self {
        let ids = SequentialIds::new(1);
        let (gp, schedule) = small_schedule(&ids, monday_morning(), n);
        let store = SqliteStore::open(temp_db("ours")).expect("open");
        rt().block_on(async {
            store.put_staff(&gp).await.expect("staff");
            store.add_schedule(&schedule).await.expect("schedule");
        });
        let online = Appointments::new(store, FixedClock::new(monday_morning()));
        // Tens of thousands of slots reach most of a year ahead: the
        // practice lets patients book that far (the default is 28 days).
        let policy = gp_booking::BookingPolicy::new(gp_booking::BookingSettings {
            online_booking_horizon_days: 365,
            ..Default::default()
        })
        .expect("a valid policy");
        let manager = Actor::Staff {
            staff: gp_core::StaffId::new(&ids),
            role: gp_core::StaffRole::PracticeManager,
        };
        let stored = rt()
            .block_on(online.set_policy(manager, Channel::Reception, &policy))
            .expect("policy");
        assert!(stored.refusal().is_none());
        Self {
            online,
            slots: schedule.slots,
            ids,
            next: 0,
        }
    }

    fn book_one(&mut self, rt: &tokio::runtime::Runtime) {
        let p: PatientFacts = adult(&self.ids);
        let slot = &self.slots[self.next];
        self.next += 1;
        let request = BookRequest::patient_online(p.patient, slot.id);
        let answer = rt.block_on(self.online.book(&request, &p)).expect("book");
        assert!(
            matches!(answer, Answer::Done(_)),
            "benchmark booking refused: {:?}",
            answer.refusal()
        );
    }
}

/// The baseline: plain rusqlite with the same pragmas and the same writes in
/// one transaction: check the slot is free and read the patient's holdings,
/// insert the booking, chain and insert the audit event, move the head.
struct Raw {
    conn: Connection,
    slots: Vec<String>,
    next: usize,
}

impl Raw {
    fn new(n: usize) -> Self {
        let conn = Connection::open(temp_db("raw")).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             CREATE TABLE slots (id TEXT PRIMARY KEY, start_at INTEGER NOT NULL);
             CREATE INDEX slots_by_start ON slots(start_at);
             CREATE TABLE bookings (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                 slot TEXT NOT NULL REFERENCES slots(id), patient TEXT NOT NULL, channel TEXT NOT NULL,
                 cancelled INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
             CREATE UNIQUE INDEX one_live ON bookings(slot) WHERE cancelled = 0;
             CREATE INDEX live_by_patient ON bookings(patient) WHERE cancelled = 0;
             ",
        )
        .expect("schema");
        conn.execute_batch(AUDIT_TABLES).expect("audit tables");
        let ids = SequentialIds::new(1);
        let (_, schedule) = small_schedule(&ids, monday_morning(), n);
        let mut slots = Vec::with_capacity(n);
        {
            let mut insert = conn
                .prepare("INSERT INTO slots (id, start_at) VALUES (?1, ?2)")
                .expect("prepare");
            for s in &schedule.slots {
                insert
                    .execute(params![
                        s.id.to_string(),
                        s.start().timestamp_nanos_opt().unwrap_or(0)
                    ])
                    .expect("slot");
                slots.push(s.id.to_string());
            }
        }
        Self {
            conn,
            slots,
            next: 0,
        }
    }

    fn book_one(&mut self) {
        let slot = self.slots[self.next].clone();
        let n = self.next;
        self.next += 1;
        let t = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        let taken: bool = t
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM bookings WHERE slot = ?1 AND cancelled = 0)",
                [&slot],
                |r| r.get(0),
            )
            .expect("check");
        assert!(!taken);
        let patient = format!("patient-{n}");
        raw_holdings_below_limit(&t, &patient);
        let body = format!(r#"{{"id":"booking-{n}","slot":"{slot}","patient":"{patient}"}}"#);
        t.execute(
            "INSERT INTO bookings (id, slot, patient, channel, body) VALUES (?1, ?2, ?3, '\"Online\"', ?4)",
            params![format!("booking-{n}"), slot, patient, body],
        )
        .expect("insert booking");
        let event = format!(r#"{{"id":"event-{n}","action":"appointment.book","slot":"{slot}"}}"#);
        chain(&t, format!("event-{n}"), event);
        t.commit().expect("commit");
    }
}

/// A store holding ~30,000 slots: fifteen copies of the six-week practice.
fn big_practice() -> (
    Appointments<SqliteStore, FixedClock>,
    Connection,
    PatientFacts,
) {
    let ids = SequentialIds::new(2);
    let path = temp_db("search");
    let store = SqliteStore::open(&path).expect("open");
    let mut total = 0;
    rt().block_on(async {
        for _ in 0..15 {
            let p = practice(&ids, monday_morning().date_naive());
            for s in p.staff() {
                store.put_staff(&s).await.expect("staff");
            }
            total += p.schedule.slots.len();
            store
                .add_schedule(&Schedule {
                    sessions: p.schedule.sessions,
                    slots: p.schedule.slots,
                })
                .await
                .expect("schedule");
        }
    });
    println!("search benchmark: {total} slots over six weeks");
    let online = Appointments::new(store, FixedClock::new(monday_morning()));
    (
        online,
        Connection::open(&path).expect("raw connection"),
        adult(&ids),
    )
}

fn search_request(p: &PatientFacts) -> SearchRequest {
    SearchRequest {
        actor: Actor::Patient { patient: p.patient },
        channel: Channel::Online,
        patient: Some(*p),
        query: SearchQuery::between(
            monday_morning(),
            monday_morning() + chrono::Duration::days(14),
        ),
    }
}

fn raw_search(conn: &Connection) -> usize {
    let from = monday_morning().timestamp_nanos_opt().unwrap_or(0);
    let to = (monday_morning() + chrono::Duration::days(14))
        .timestamp_nanos_opt()
        .unwrap_or(0);
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.id, s.session, s.clinician, s.role, s.start_at, s.end_at, s.slot_type, s.delivery, \
             s.availability, s.reserved_for FROM slots s LEFT JOIN bookings b ON b.slot = s.id AND b.cancelled = 0 \
             WHERE s.start_at >= ?1 AND s.start_at < ?2 AND b.id IS NULL ORDER BY s.start_at",
        )
        .expect("prepare");
    let rows = stmt
        .query_map(params![from, to], |r| {
            // Read every column, as the adapter does; leave them as text.
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })
        .expect("query");
    rows.count()
}

fn main() {
    let runtime = rt();
    let mut c = common::criterion();

    // Book + audit.
    let mut ours = Ours::new(40_000);
    let mut raw = Raw::new(40_000);
    let (a, b) = paired(300, || ours.book_one(&runtime), || raw.book_one());
    // The same work in bursts: 300 of ours back to back, then 300 raw.
    let t = Instant::now();
    (0..300).for_each(|_| ours.book_one(&runtime));
    let burst_ours = t.elapsed();
    let t = Instant::now();
    (0..300).for_each(|_| raw.book_one());
    let burst_raw = t.elapsed();
    let mut group = c.benchmark_group("book_and_audit");
    group.bench_function("gp_sqlite", |bench| {
        bench.iter_custom(|iters| {
            if ours.slots.len() - ours.next < iters as usize {
                ours = Ours::new(40_000.max(iters as usize));
            }
            let t = Instant::now();
            (0..iters).for_each(|_| ours.book_one(&runtime));
            t.elapsed()
        })
    });
    group.bench_function("raw_rusqlite", |bench| {
        bench.iter_custom(|iters| {
            if raw.slots.len() - raw.next < iters as usize {
                raw = Raw::new(40_000.max(iters as usize));
            }
            let t = Instant::now();
            (0..iters).for_each(|_| raw.book_one());
            t.elapsed()
        })
    });
    group.finish();

    // 14-day free-slot search.
    let (online, conn, patient) = big_practice();
    let request = search_request(&patient);
    let (sa, sb) = paired(
        30,
        || {
            let found = runtime.block_on(online.search(&request)).expect("search");
            assert!(found.done().is_some_and(|v| !v.is_empty()));
        },
        || {
            assert!(raw_search(&conn) > 0);
        },
    );
    let mut group = c.benchmark_group("search_14_days");
    group.bench_function("gp_sqlite", |bench| {
        bench.iter(|| runtime.block_on(online.search(&request)).expect("search"))
    });
    group.bench_function("raw_sql", |bench| bench.iter(|| raw_search(&conn)));
    group.finish();

    println!();
    println!(
        "book + audit, one at a time : gp-sqlite {:?} / raw {:?} per booking = {:.2}x (target <= 1.5x)",
        a / 300,
        b / 300,
        a.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "book + audit, in bursts     : gp-sqlite {:?} / raw {:?} per booking = {:.2}x (target <= 1.5x)",
        burst_ours / 300,
        burst_raw / 300,
        burst_ours.as_secs_f64() / burst_raw.as_secs_f64()
    );
    println!(
        "14-day search               : gp-sqlite {:?} / raw {:?} per search  = {:.2}x (target <= 2x)",
        sa / 30,
        sb / 30,
        sa.as_secs_f64() / sb.as_secs_f64()
    );
}
