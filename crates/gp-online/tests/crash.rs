//! Crash safety: a child process books and cancels continuously on a database
//! file and is killed with SIGKILL mid-run, several times. After each kill the
//! file must pass SQLite's integrity check, the audit chain must verify, and
//! the live bookings must match their audit events one to one.
//!
//! The test runs itself as the child: with `GP_CRASH_CHILD_DB` set it books
//! until it is killed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gp_audit::AuditStore;
use gp_booking::*;
use gp_core::{BookingId, FixedClock, RandomIds, SequentialIds, SubjectKind};
use gp_online::unchecked::Appointments;
use gp_online::Answer;
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{adult, monday_morning, small_schedule};

const CHILD_ENV: &str = "GP_CRASH_CHILD_DB";
const TEST_NAME: &str = "killed_mid_booking_the_database_stays_consistent";
const SLOTS: usize = 3_000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// The child: book random slots for new patients and cancel some, forever.
fn child(path: &Path) -> ! {
    let runtime = rt();
    let store = SqliteStore::open(path).expect("child opens the database");
    let online = Appointments::new(store, FixedClock::new(monday_morning()));
    let slots = runtime
        .block_on(online.store().find_slots(&SearchQuery::between(
            monday_morning(),
            monday_morning() + chrono::Duration::days(60),
        )))
        .expect("slots");
    let mut x = u64::from(std::process::id()) | 1;
    loop {
        // xorshift: a cheap, varied choice of slot in each child.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let slot = &slots[(x % slots.len() as u64) as usize].slot;
        let p = adult(&RandomIds);
        let answer = runtime
            .block_on(online.book(&BookRequest::patient_online(p.patient, slot.id), &p))
            .expect("book");
        if let (Answer::Done(b), 0) = (answer, x % 3) {
            let cancel = CancelRequest {
                actor: gp_core::Actor::Patient { patient: p.patient },
                channel: gp_core::Channel::Online,
                booking: b.id,
                reason: CancellationReason::parse("Changed my mind").expect("reason"),
                version: None,
            };
            runtime.block_on(online.cancel(&cancel)).expect("cancel");
        }
    }
}

mod common;

fn temp_db() -> PathBuf {
    common::temp_db("gp-online-crash", "crash")
}

fn event_count(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .and_then(|c| c.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// Checks the file after a kill; returns how many audit events it holds.
fn check_after_kill(path: &Path, runtime: &tokio::runtime::Runtime) -> usize {
    let raw = rusqlite::Connection::open(path).unwrap();
    let integrity: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let live: BTreeSet<String> = raw
        .prepare("SELECT id FROM bookings WHERE cancelled = 0")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(raw);

    let store = SqliteStore::open(path).expect("reopens after the kill");
    assert_eq!(
        runtime.block_on(store.verify_all()).unwrap(),
        Ok(()),
        "the audit chain verifies"
    );
    let events = runtime
        .block_on(BookingStore::audit_events(&store))
        .unwrap();
    let allowed = |action: &str| -> BTreeSet<BookingId> {
        events
            .iter()
            .filter(|e| e.outcome.is_allowed() && e.action.as_str() == action)
            .flat_map(|e| e.subjects.iter().filter(|s| s.kind == SubjectKind::Booking))
            .map(|s| BookingId::from_uuid(s.id))
            .collect()
    };
    let booked = allowed(ACTION_BOOK);
    let cancelled = allowed(ACTION_CANCEL);
    assert!(
        cancelled.is_subset(&booked),
        "every cancelled booking was booked"
    );
    let expected_live: BTreeSet<String> = booked
        .difference(&cancelled)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        live, expected_live,
        "live bookings match their audit events one to one"
    );
    events.len()
}

#[test]
fn killed_mid_booking_the_database_stays_consistent() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
    }
    let path = temp_db();
    let runtime = rt();
    runtime.block_on(async {
        let (gp, schedule) = small_schedule(&SequentialIds::new(1), monday_morning(), SLOTS);
        let store = SqliteStore::open(&path).unwrap();
        store.put_staff(&gp).await.unwrap();
        store.add_schedule(&schedule).await.unwrap();
    });
    let exe = std::env::current_exe().unwrap();
    let mut seen = 0;
    for round in 0..5 {
        let before = event_count(&path);
        let mut child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it mid-run: once it has written some events, at a varying point.
        let target = before + 20 + 7 * round;
        let deadline = Instant::now() + Duration::from_secs(60);
        while event_count(&path) < target {
            assert!(Instant::now() < deadline, "the child made no progress");
            assert!(
                child.try_wait().unwrap().is_none(),
                "the child stopped by itself"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let now = check_after_kill(&path, &runtime);
        assert!(
            now as i64 >= target,
            "round {round}: committed events survive the kill"
        );
        seen = now;
    }
    assert!(
        seen >= 100,
        "five rounds wrote at least 100 events, saw {seen}"
    );
}
