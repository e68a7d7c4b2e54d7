//! The 08:00 rush on a file database at `synchronous=FULL`: 1,000 patients
//! booking at once through one `Practice` (one `SqliteStore`, which commits
//! the writes waiting together in one transaction), against raw rusqlite
//! booking the same attempts serially, one transaction each, with the same
//! reads and writes. Then a 14-day online search over a 30,000-slot
//! practice while bookings go on, against a raw query over a schema built
//! for that query (free slots found by an index range scan). Both sides run
//! in the same process; the ratios are the figures.
//!
//! Run with `cargo bench --bench rush`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, Weekday};
use criterion::Criterion;
use gp_access::{AccessRecord, By};
use gp_booking::{
    BookRequest, DeliveryMode, Schedule, SearchQuery, SessionTemplate, Slot, SlotAvailability,
    SlotType, StaffMember,
};
use gp_core::{local_date, SequentialIds, StaffId, StaffRole};
use gp_online::Answer;
use gp_testkit::fixtures::{monday_morning, small_schedule};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod common;
use common::{
    chain, practice_with, raw_access_records, raw_holdings_below_limit, temp_db, AUDIT_TABLES,
};

/// Patients with access records, on a store at `path`.
/// The raw baseline's schema: access records, slots with a `booked` flag
/// and a partial index of free slots by start, bookings, the audit chain.
fn raw(path: &std::path::Path, patients: usize, slots: &[Slot]) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(AUDIT_TABLES).expect("audit tables");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         CREATE TABLE access_records (patient TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE TABLE booking_settings (one INTEGER PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE TABLE slots (id TEXT PRIMARY KEY, session TEXT NOT NULL, clinician TEXT NOT NULL,
             role TEXT NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, slot_type TEXT NOT NULL,
             delivery TEXT NOT NULL, availability TEXT NOT NULL, reserved_for TEXT, booked INTEGER NOT NULL DEFAULT 0);
         CREATE INDEX free_by_start ON slots(start_at) WHERE booked = 0;
         CREATE TABLE bookings (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
             slot TEXT NOT NULL REFERENCES slots(id), patient TEXT NOT NULL, channel TEXT NOT NULL,
             cancelled INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
         CREATE UNIQUE INDEX one_live ON bookings(slot) WHERE cancelled = 0;
         CREATE INDEX live_by_patient ON bookings(patient) WHERE cancelled = 0;
         BEGIN;",
    )
    .expect("schema");
    raw_access_records(&conn, patients);
    for (i, s) in slots.iter().enumerate() {
        conn.execute(
            "INSERT INTO slots (id, session, clinician, role, start_at, end_at, slot_type, delivery, availability)
             VALUES (?1, ?2, ?3, 'Gp', ?4, ?5, 'RoutineGp', 'InPerson', 'Open')",
            params![
                format!("slot-{i}"),
                s.session.to_string(),
                s.clinician.to_string(),
                s.start().timestamp_nanos_opt().unwrap_or_default(),
                s.period.end().timestamp_nanos_opt().unwrap_or_default()
            ],
        )
        .expect("slot");
    }
    conn.execute_batch("COMMIT;").expect("commit");
    conn
}

/// One raw attempt: the same reads and writes as an authorized booking,
/// or the authorization and refusal recorded when the slot is taken.
fn raw_attempt(conn: &mut Connection, n: usize, patient: usize, slot: usize) -> bool {
    let (patient, slot) = (format!("patient-{patient}"), format!("slot-{slot}"));
    let t = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("begin");
    let body: String = t
        .query_row(
            "SELECT body FROM access_records WHERE patient = ?1",
            [&patient],
            |r| r.get(0),
        )
        .expect("record");
    let record: AccessRecord = serde_json::from_str(&body).expect("decode");
    assert!(record.account.is_some());
    let _policy: Option<String> = t
        .query_row("SELECT body FROM booking_settings WHERE one = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .expect("policy");
    let taken: bool = t
        .query_row("SELECT booked FROM slots WHERE id = ?1", [&slot], |r| {
            r.get(0)
        })
        .expect("slot");
    raw_holdings_below_limit(&t, &patient);
    chain(
        &t,
        format!("auth-{n}"),
        format!(r#"{{"action":"access.authorize","patient":"{patient}"}}"#),
    );
    if taken {
        chain(
            &t,
            format!("refused-{n}"),
            format!(r#"{{"action":"appointment.book","outcome":"SlotTaken","slot":"{slot}"}}"#),
        );
    } else {
        t.execute(
            "INSERT INTO bookings (id, slot, patient, channel, body) VALUES (?1, ?2, ?3, 'Online', ?4)",
            params![format!("booking-{n}"), slot, patient, format!(r#"{{"id":"booking-{n}"}}"#)],
        )
        .expect("booking");
        t.execute("UPDATE slots SET booked = 1 WHERE id = ?1", [&slot])
            .expect("flag");
        chain(
            &t,
            format!("book-{n}"),
            format!(r#"{{"action":"appointment.book","slot":"{slot}"}}"#),
        );
    }
    t.commit().expect("commit");
    !taken
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Live bookings, and slots holding more than one, in a database file.
fn bookings_in(path: &std::path::Path) -> (i64, i64) {
    let conn = Connection::open(path).expect("open");
    let live = conn
        .query_row(
            "SELECT count(*) FROM bookings WHERE cancelled = 0",
            [],
            |r| r.get(0),
        )
        .expect("count");
    let doubled = conn
        .query_row(
            "SELECT count(*) FROM (SELECT slot FROM bookings WHERE cancelled = 0 GROUP BY slot HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    (live, doubled)
}

fn rush(patients: usize, slots: usize) {
    let ids = SequentialIds::new(1);
    let (gp, schedule) = small_schedule(&ids, monday_morning(), slots);
    let (ours_path, raw_path) = (temp_db("rush"), temp_db("rush-raw"));
    let (practice, people) = practice_with(&ours_path, patients, &schedule, &[gp]);
    let mut conn = raw(&raw_path, patients, &schedule.slots);

    // Ours: everyone at once, queued to the one store.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let start = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let tasks: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let practice = practice.clone();
                let request = BookRequest::patient_online(*p, schedule.slots[i % slots].id);
                tokio::spawn(async move {
                    let answer = practice.book(&request).await.expect("book");
                    assert!(matches!(
                        &answer,
                        Answer::Done(_)
                            | Answer::Refused(gp_online::Refused::Booking(
                                gp_booking::BookingRefusal::SlotTaken
                            ))
                    ));
                    start.elapsed()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let ours_total = start.elapsed();
    drop(practice);

    // Raw: the same attempts, serially, one transaction each.
    let start = Instant::now();
    let mut raw_latencies = Vec::with_capacity(patients);
    let mut raw_booked = 0;
    for i in 0..patients {
        if raw_attempt(&mut conn, i, i, i % slots) {
            raw_booked += 1;
        }
        raw_latencies.push(start.elapsed());
    }
    let raw_total = start.elapsed();
    latencies.sort();
    raw_latencies.sort();
    let (live, doubled) = bookings_in(&ours_path);
    assert_eq!(doubled, 0, "no slot is booked twice");
    assert_eq!(
        live as usize,
        slots.min(patients),
        "every slot is booked once"
    );
    assert_eq!(raw_booked, slots.min(patients));
    println!(
        "rush, {patients} patients at {slots} slots: ours {:.0} attempts/s, p50 {:?}, p99 {:?} | raw serial {:.0}/s, p50 {:?}, p99 {:?} | ours {:.2}x the raw throughput; {live} booked, none twice",
        patients as f64 / ours_total.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        patients as f64 / raw_total.as_secs_f64(),
        percentile(&raw_latencies, 0.5),
        percentile(&raw_latencies, 0.99),
        raw_total.as_secs_f64() / ours_total.as_secs_f64(),
    );
}

/// 25 GPs, weekdays 08:00-18:00 in 10-minute slots, four weeks: 30,000 slots.
fn big_schedule(ids: &SequentialIds) -> (Vec<StaffMember>, Schedule) {
    let gps: Vec<StaffMember> = (0..25)
        .map(|n| StaffMember::new(StaffId::new(ids), format!("Dr {n}"), StaffRole::Gp))
        .collect();
    let mut templates = Vec::new();
    for gp in &gps {
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ] {
            templates.push(SessionTemplate {
                site: None,
                clinician: gp.id,
                role: gp.role,
                weekday: day,
                start: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
                end: chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
                slot_minutes: 10,
                slot_type: SlotType::RoutineGp,
                delivery: DeliveryMode::InPerson,
                availability: SlotAvailability::Open,
                reserved_for: None,
            });
        }
    }
    let from = local_date(monday_morning());
    let schedule =
        Schedule::from_templates(&templates, from, from + Days::days(27), ids).expect("schedule");
    (gps, schedule)
}

/// A raw search: the access record and policy read, then the free online
/// slots in the span by an index range scan, decoded into rows.
#[allow(clippy::type_complexity)]
fn raw_search(conn: &Connection, from: i64, to: i64) -> usize {
    let body: String = conn
        .query_row(
            "SELECT body FROM access_records WHERE patient = 'patient-0'",
            [],
            |r| r.get(0),
        )
        .expect("record");
    let record: AccessRecord = serde_json::from_str(&body).expect("decode");
    assert!(record.account.is_some());
    let _policy: Option<String> = conn
        .query_row("SELECT body FROM booking_settings WHERE one = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .expect("policy");
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, session, clinician, role, start_at, end_at, slot_type, delivery, availability, reserved_for
             FROM slots WHERE booked = 0 AND start_at >= ?1 AND start_at < ?2
               AND role IN ('Gp', 'Nurse') AND slot_type IN ('RoutineGp', 'CervicalSmear', 'DiabetesReview', 'FluVaccination')
               AND availability = 'Open' AND reserved_for IS NULL
             ORDER BY start_at, id",
        )
        .expect("query");
    let rows: Vec<(
        String,
        String,
        String,
        String,
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
    )> = stmt
        .query_map(params![from, to], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("decode");
    rows.len()
}

fn search(c: &mut Criterion) {
    let ids = SequentialIds::new(3);
    let (gps, schedule) = big_schedule(&ids);
    let (ours_path, raw_path) = (temp_db("search"), temp_db("search-raw"));
    let (practice, people) = practice_with(&ours_path, 2_000, &schedule, &gps);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let conn = raw(&raw_path, 2_000, &schedule.slots);
    let now = monday_morning();
    let query = SearchQuery::between(now, now + Days::days(14));
    let (from, to) = (
        now.timestamp_nanos_opt().unwrap_or_default(),
        (now + Days::days(14))
            .timestamp_nanos_opt()
            .unwrap_or_default(),
    );
    let searcher = people[0];
    let by = By::patient_online(searcher);
    let ours_found = rt
        .block_on(practice.search(&by, searcher, query.clone()))
        .expect("search")
        .done()
        .expect("allowed")
        .len();
    let raw_found = raw_search(&conn, from, to);
    assert_eq!(ours_found, raw_found, "both sides find the same free slots");

    // Bookings go on while the searches run: ours through the same store,
    // raw on a second connection to the same file.
    let stop = Arc::new(AtomicBool::new(false));
    let booker = {
        let (practice, stop, slots) = (practice.clone(), stop.clone(), schedule.slots.clone());
        let people = people[1..].to_vec();
        rt.spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < people.len() {
                // From the far end, so the searched fortnight stays the same size.
                let slot = &slots[slots.len() - 1 - i];
                let _ = practice
                    .book(&BookRequest::patient_online(people[i], slot.id))
                    .await;
                i += 1;
            }
            i
        })
    };
    let mut group = c.benchmark_group("online_search_14_days_30000_slots");
    let (mut ours_time, mut ours_n) = (Duration::ZERO, 0u64);
    group.bench_function("practice", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                rt.block_on(practice.search(&by, searcher, query.clone()))
                    .expect("search");
            }
            let e = t.elapsed();
            ours_time += e;
            ours_n += iters;
            e
        })
    });
    stop.store(true, Ordering::Relaxed);
    let booked = rt.block_on(booker).expect("booker");
    let raw_stop = Arc::new(AtomicBool::new(false));
    let raw_booker = {
        let (stop, path, n) = (raw_stop.clone(), raw_path.clone(), schedule.slots.len());
        std::thread::spawn(move || {
            let mut conn = Connection::open(path).expect("open");
            conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 1_999 {
                raw_attempt(&mut conn, 100_000 + i, i + 1, n - 1 - i);
                i += 1;
            }
            i
        })
    };
    let (mut raw_time, mut raw_n) = (Duration::ZERO, 0u64);
    group.bench_function("raw_rusqlite", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                raw_search(&conn, from, to);
            }
            let e = t.elapsed();
            raw_time += e;
            raw_n += iters;
            e
        })
    });
    group.finish();
    raw_stop.store(true, Ordering::Relaxed);
    let raw_booked = raw_booker.join().expect("raw booker");
    let (ours_each, raw_each) = (
        ours_time / ours_n.max(1) as u32,
        raw_time / raw_n.max(1) as u32,
    );
    println!(
        "online search, 14 days of {} slots ({ours_found} free rows) while booking ({booked} ours, {raw_booked} raw): ours {ours_each:?} ({:.0} searches/s) / raw {raw_each:?} ({:.0}/s) = {:.2}x",
        schedule.slots.len(),
        1.0 / ours_each.as_secs_f64(),
        1.0 / raw_each.as_secs_f64(),
        ours_each.as_secs_f64() / raw_each.as_secs_f64()
    );
}

fn main() {
    let mut c = common::criterion();
    println!();
    rush(1_000, 60);
    rush(1_000, 1_000);
    search(&mut c);
}
