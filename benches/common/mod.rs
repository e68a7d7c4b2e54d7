//! What the benchmarks share: temporary databases, a runtime, the raw
//! baseline's audit chain, and paired timing of our side against the raw one.
#![allow(dead_code)] // reason: each benchmark uses a different part

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gp_access::{
    AccessRecord, IdentityVerification, PatientAccount, RegistrationKind, Service,
    VerificationMethod,
};
use gp_core::{NhsNumber, OdsCode, PatientId, StaffId};
use gp_testkit::fixtures::monday_morning;
use rusqlite::{params, Transaction};
use sha2::{Digest, Sha256};

/// A fresh database path under the system's temporary folder.
pub fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("gp-online-bench");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{name}-{}.db", gp_core::uuid::Uuid::new_v4()))
}

/// A single-threaded runtime.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// The raw baseline's audit tables: the chain and its head, as gp-sqlite keeps them.
pub const AUDIT_TABLES: &str =
    "CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
     prev_hash BLOB NOT NULL, hash BLOB NOT NULL, body TEXT NOT NULL);
 CREATE TABLE audit_head (one INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL);";

/// The raw baseline's audit append: read the head, hash the event onto it
/// with SHA-256, insert it and move the head.
pub fn chain(t: &Transaction<'_>, id: String, event: String) {
    let (seq, prev): (i64, Vec<u8>) = t
        .query_row("SELECT seq, hash FROM audit_head WHERE one = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap_or((0, vec![0; 32]));
    let mut h = Sha256::new();
    h.update(&prev);
    h.update(event.as_bytes());
    let hash = h.finalize().to_vec();
    t.execute(
        "INSERT INTO audit_events (seq, id, prev_hash, hash, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq + 1, id, prev, hash, event],
    )
    .expect("event");
    t.execute(
        "INSERT INTO audit_head (one, seq, hash) VALUES (1, ?1, ?2) ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![seq + 1, hash],
    )
    .expect("head");
}

/// Times `iters` rounds of each side, alternating, and returns (ours, raw).
pub fn paired(iters: u32, mut ours: impl FnMut(), mut raw: impl FnMut()) -> (Duration, Duration) {
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..iters {
        let t = Instant::now();
        ours();
        a += t.elapsed();
        let t = Instant::now();
        raw();
        b += t.elapsed();
    }
    (a, b)
}

/// Times `n` of ours back to back, then `n` raw, and returns (ours, raw).
pub fn bursts(n: u32, mut ours: impl FnMut(), mut raw: impl FnMut()) -> (Duration, Duration) {
    let t = Instant::now();
    (0..n).for_each(|_| ours());
    let a = t.elapsed();
    let t = Instant::now();
    (0..n).for_each(|_| raw());
    (a, t.elapsed())
}

/// Prints one line of figures: per-operation times and their ratio.
pub fn report(label: &str, n: u32, (ours, raw): (Duration, Duration), unit: &str) {
    println!(
        "{label}: ours {:?} / raw {:?} per {unit} = {:.2}x",
        ours / n,
        raw / n,
        ours.as_secs_f64() / raw.as_secs_f64()
    );
}

/// A patient's access record: registered, verified, every service on.
pub fn record(patient: PatientId, staff: StaffId) -> AccessRecord {
    let at = monday_morning() - chrono::Duration::days(30);
    AccessRecord {
        patient,
        version: 0,
        account: Some(PatientAccount {
            patient,
            nhs_number: NhsNumber::parse("9434765919").expect("valid"),
            date_of_birth: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("date"),
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").expect("valid"),
            registered_by: staff,
            registered_at: at,
            identity: Some(IdentityVerification {
                method: VerificationMethod::DocumentsSeen,
                verified_by: Some(staff),
                at,
            }),
            services: Service::ALL.into_iter().collect(),
            suspended: None,
            linkage: None,
        }),
        grants: Vec::new(),
        applications: Vec::new(),
        concerns: Vec::new(),
    }
}

/// The raw baseline's access records: `patient-0` .. `patient-{n-1}`, each
/// registered, verified and with every service on, as JSON bodies.
pub fn raw_access_records(conn: &rusqlite::Connection, n: usize) {
    let staff = StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(9));
    for i in 0..n {
        let patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(i as u128 + 1));
        let body = serde_json::to_string(&record(patient, staff)).expect("json");
        conn.execute(
            "INSERT INTO access_records (patient, version, body) VALUES (?1, 1, ?2)",
            params![format!("patient-{i}"), body],
        )
        .expect("record");
    }
}

/// The raw baseline's holding check: the patient's live bookings, fewer
/// than the default limit of two.
pub fn raw_holdings_below_limit(t: &Transaction<'_>, patient: &str) {
    let held: i64 = t
        .query_row(
            "SELECT count(*) FROM bookings WHERE patient = ?1 AND cancelled = 0",
            [patient],
            |r| r.get(0),
        )
        .expect("holdings");
    assert!(held < 2);
}

/// Criterion with small samples, so that `cargo bench` finishes in minutes.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args()
}

/// A practice on a file at `path`: `staff_members`, `schedule`, and
/// `patients` with access records (registered, verified, every service).
pub fn practice_with(
    path: &std::path::Path,
    patients: usize,
    schedule: &gp_booking::Schedule,
    staff_members: &[gp_booking::StaffMember],
) -> (
    std::sync::Arc<gp_online::Practice<gp_sqlite::SqliteStore, gp_core::FixedClock>>,
    Vec<PatientId>,
) {
    let ids = gp_core::SequentialIds::new(7);
    let store = std::sync::Arc::new(gp_sqlite::SqliteStore::open(path).expect("open"));
    let staff = StaffId::new(&ids);
    let patients: Vec<PatientId> = (0..patients).map(|_| PatientId::new(&ids)).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for member in staff_members {
            gp_booking::BookingStore::put_staff(store.as_ref(), member)
                .await
                .expect("staff");
        }
        gp_booking::BookingStore::add_schedule(store.as_ref(), schedule)
            .await
            .expect("schedule");
        for p in &patients {
            let c = gp_access::Committable {
                change: gp_access::AccessChange {
                    record: Some(record(*p, staff)),
                    ..gp_access::AccessChange::default()
                },
                events: Vec::new(),
                preconditions: Vec::new(),
            };
            gp_access::AccessStore::commit(store.as_ref(), &c)
                .await
                .expect("record");
        }
    });
    let practice = gp_online::Practice::new(
        store,
        std::sync::Arc::new(gp_core::FixedClock::new(monday_morning())),
    );
    (std::sync::Arc::new(practice), patients)
}
