//! An authorized booking through `Practice` (the access records asked first,
//! the authorization's event committed with the booking) versus raw rusqlite
//! doing the same reads and writes; and a patient's look at their
//! appointments, as a practice that records only denied reads and as one
//! that records every read (`recording_every_read`), versus raw rusqlite
//! reading the same (and appending the chained event). Both sides run in
//! the same process; the ratio is the figure.
//!
//! Run with `cargo bench --bench practice`.

use std::sync::Arc;
use std::time::Instant;

use gp_access::{AccessChange, AccessRecord, AccessStore, Committable};
use gp_booking::{BookRequest, BookingStore, Slot};
use gp_core::{FixedClock, PatientId, SequentialIds, StaffId};
use gp_online::{Answer, Practice};
use gp_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use gp_testkit::fixtures::{monday_morning, small_schedule};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod common;
use common::{
    bursts, chain, paired, raw_access_records, raw_holdings_below_limit, record, report, rt,
    temp_db, AUDIT_TABLES,
};

struct Ours {
    practice: Practice<SqliteStore, FixedClock>,
    slots: Vec<Slot>,
    patients: Vec<PatientId>,
    next: usize,
}

impl Ours {
    fn new(n: usize, rt: &tokio::runtime::Runtime, synchronous: Synchronous) -> Self {
        let ids = SequentialIds::new(1);
        let (gp, schedule) = small_schedule(&ids, monday_morning(), n);
        let config = SqliteConfig {
            synchronous,
            ..SqliteConfig::default()
        };
        let store = Arc::new(SqliteStore::open_with(temp_db("practice"), config).expect("open"));
        let staff = StaffId::new(&ids);
        let patients: Vec<PatientId> = (0..n).map(|_| PatientId::new(&ids)).collect();
        rt.block_on(async {
            store.put_staff(&gp).await.expect("staff");
            store.add_schedule(&schedule).await.expect("schedule");
            for p in &patients {
                let c = Committable {
                    change: AccessChange {
                        record: Some(record(*p, staff)),
                        ..AccessChange::default()
                    },
                    events: Vec::new(),
                    preconditions: Vec::new(),
                };
                AccessStore::commit(store.as_ref(), &c)
                    .await
                    .expect("record");
            }
        });
        let practice = Practice::new(store, Arc::new(FixedClock::new(monday_morning())));
        Self {
            practice,
            slots: schedule.slots,
            patients,
            next: 0,
        }
    }

    /// The `i`th booked patient looks at their appointments through `practice`.
    fn read_one(
        &self,
        practice: &Practice<SqliteStore, FixedClock>,
        rt: &tokio::runtime::Runtime,
        i: usize,
    ) {
        let patient = self.patients[i % self.next];
        let by = gp_access::By::patient_online(patient);
        let answer = rt
            .block_on(practice.appointments(&by, patient))
            .expect("read");
        assert_eq!(answer.done().map(|b| b.len()), Some(1));
    }

    fn book_one(&mut self, rt: &tokio::runtime::Runtime) {
        let (patient, slot) = (self.patients[self.next], self.slots[self.next].id);
        self.next += 1;
        let request = BookRequest::patient_online(patient, slot);
        let answer = rt.block_on(self.practice.book(&request)).expect("book");
        assert!(
            matches!(answer, Answer::Done(_)),
            "refused: {:?}",
            answer.refusal()
        );
    }
}

/// The baseline's authorization: the patient's access record read and
/// decoded (registered online), and their entry on the practice's list.
fn raw_authorize(t: &rusqlite::Transaction<'_>, patient: &str) {
    let body: String = t
        .query_row(
            "SELECT body FROM access_records WHERE patient = ?1",
            [patient],
            |r| r.get(0),
        )
        .expect("record");
    let record: AccessRecord = serde_json::from_str(&body).expect("decode");
    assert!(record.account.is_some());
    let listed: Option<String> = t
        .query_row(
            "SELECT body FROM patient_list WHERE patient = ?1",
            [patient],
            |r| r.get(0),
        )
        .optional()
        .expect("list");
    assert!(listed.is_none());
}

/// The baseline: one transaction reading the access record and the slot and
/// holdings, inserting the booking and two chained events, moving the head.
struct Raw {
    conn: Connection,
    next: usize,
    n: usize,
}

impl Raw {
    fn new(n: usize, synchronous: Synchronous) -> Self {
        let conn = Connection::open(temp_db("raw")).expect("open");
        let sync = match synchronous {
            Synchronous::Full => "FULL",
            _ => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync};"
        ))
        .expect("pragmas");
        conn.execute_batch(AUDIT_TABLES).expect("audit tables");
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE access_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, patient TEXT NOT NULL UNIQUE,
                 version INTEGER NOT NULL, account TEXT UNIQUE, body TEXT NOT NULL);
             CREATE TABLE patient_list (patient TEXT PRIMARY KEY, nhs_number TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
             CREATE TABLE booking_settings (one INTEGER PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE slots (id TEXT PRIMARY KEY, start_at INTEGER NOT NULL);
             CREATE TABLE bookings (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                 slot TEXT NOT NULL REFERENCES slots(id), patient TEXT NOT NULL, channel TEXT NOT NULL,
                 cancelled INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
             CREATE UNIQUE INDEX one_live ON bookings(slot) WHERE cancelled = 0;
             CREATE INDEX live_by_patient ON bookings(patient) WHERE cancelled = 0;
             BEGIN;",
        )
        .expect("schema");
        raw_access_records(&conn, n);
        for i in 0..n {
            conn.execute(
                "INSERT INTO slots (id, start_at) VALUES (?1, ?2)",
                params![format!("slot-{i}"), i as i64],
            )
            .expect("slot");
        }
        conn.execute_batch("COMMIT;").expect("commit");
        Self { conn, next: 0, n }
    }

    /// The `i`th booked patient's appointments: the access record and list
    /// entry read, the bookings read and decoded; with `record`, the
    /// allowed read's event chained in the same transaction.
    fn read_one(&mut self, i: usize, record: bool) {
        let patient = format!("patient-{}", i % self.next);
        let behavior = if record {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let t = self
            .conn
            .transaction_with_behavior(behavior)
            .expect("begin");
        raw_authorize(&t, &patient);
        let bookings: Vec<serde_json::Value> = {
            let mut stmt = t
                .prepare_cached("SELECT body FROM bookings WHERE patient = ?1 ORDER BY seq")
                .expect("prepare");
            let rows = stmt
                .query_map([&patient], |r| r.get::<_, String>(0))
                .expect("query");
            rows.map(|b| serde_json::from_str(&b.expect("row")).expect("decode"))
                .collect()
        };
        assert_eq!(bookings.len(), 1);
        if record {
            chain(
                &t,
                format!("read-{}", gp_core::uuid::Uuid::new_v4()),
                format!(r#"{{"action":"access.authorize","patient":"{patient}"}}"#),
            );
        }
        t.commit().expect("commit");
    }

    fn book_one(&mut self) {
        let i = self.next;
        self.next += 1;
        let (patient, slot) = (format!("patient-{i}"), format!("slot-{i}"));
        let t = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        raw_authorize(&t, &patient);
        // The stored policy.
        let policy: Option<String> = t
            .query_row("SELECT body FROM booking_settings WHERE one = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .expect("policy");
        assert!(policy.is_none());
        let taken: bool = t
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM bookings WHERE slot = ?1 AND cancelled = 0)",
                [&slot],
                |r| r.get(0),
            )
            .expect("check");
        assert!(!taken);
        raw_holdings_below_limit(&t, &patient);
        t.execute(
            "INSERT INTO bookings (id, slot, patient, channel, body) VALUES (?1, ?2, ?3, 'Online', ?4)",
            params![format!("booking-{i}"), slot, patient, format!(r#"{{"id":"booking-{i}"}}"#)],
        )
        .expect("booking");
        chain(
            &t,
            format!("auth-{i}"),
            format!(r#"{{"action":"access.authorize","patient":"{patient}"}}"#),
        );
        chain(
            &t,
            format!("book-{i}"),
            format!(r#"{{"action":"appointment.book","slot":"{slot}"}}"#),
        );
        t.commit().expect("commit");
    }
}

fn main() {
    let runtime = rt();
    let mut c = common::criterion();
    const N: usize = 3_000;
    let mut ours = Ours::new(N, &runtime, Synchronous::Normal);
    let mut raw = Raw::new(N, Synchronous::Normal);
    let normal = paired(300, || ours.book_one(&runtime), || raw.book_one());
    // Reads, on the 300 patients just booked.
    let recording = Practice::new(
        ours.practice.store().clone(),
        Arc::new(FixedClock::new(monday_morning())),
    )
    .recording_every_read();
    let mut i = 0;
    let mut j = 0;
    let denials_only = paired(
        300,
        || {
            ours.read_one(&ours.practice, &runtime, i);
            i += 1;
        },
        || {
            raw.read_one(j, false);
            j += 1;
        },
    );
    let (mut i, mut j) = (0, 0);
    let every_read = paired(
        300,
        || {
            ours.read_one(&recording, &runtime, i);
            i += 1;
        },
        || {
            raw.read_one(j, true);
            j += 1;
        },
    );
    let mut ours = Ours::new(N, &runtime, Synchronous::Full);
    let mut raw = Raw::new(N, Synchronous::Full);
    let one = paired(300, || ours.book_one(&runtime), || raw.book_one());
    let burst = bursts(300, || ours.book_one(&runtime), || raw.book_one());

    let mut group = c.benchmark_group("authorized_booking");
    group.bench_function("practice", |bench| {
        bench.iter_custom(|iters| {
            if ours.patients.len() - ours.next < iters as usize {
                ours = Ours::new(N.max(iters as usize), &runtime, Synchronous::Full);
            }
            let t = Instant::now();
            (0..iters).for_each(|_| ours.book_one(&runtime));
            t.elapsed()
        })
    });
    group.bench_function("raw_rusqlite", |bench| {
        bench.iter_custom(|iters| {
            if raw.n - raw.next < iters as usize {
                raw = Raw::new(N.max(iters as usize), Synchronous::Full);
            }
            let t = Instant::now();
            (0..iters).for_each(|_| raw.book_one());
            t.elapsed()
        })
    });
    group.finish();

    println!();
    report(
        "authorized booking, one at a time, synchronous=FULL  ",
        300,
        one,
        "booking",
    );
    report(
        "authorized booking, one at a time, synchronous=NORMAL",
        300,
        normal,
        "booking",
    );
    report(
        "authorized booking, in bursts, synchronous=FULL      ",
        300,
        burst,
        "booking",
    );
    report(
        "a patient's appointments, denials recorded (default), synchronous=NORMAL",
        300,
        denials_only,
        "read",
    );
    report(
        "a patient's appointments, every read recorded,        synchronous=NORMAL",
        300,
        every_read,
        "read",
    );
}
