//! Monitoring's costs against raw baselines in the same process:
//!
//! - verifying the audit chain (`gp_audit::verify`: every link, sequence
//!   and hash) against raw SHA-256 over the same bytes;
//! - the POMI return for a month of a practice-year (10,000 patients,
//!   ~300,000 audit events in a SQLite file) through
//!   `gp_online::unchecked::monitoring::pomi` against one raw SQL query
//!   computing the same figures, the answers compared.
//!
//! Run with `cargo bench --bench monitoring`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use gp_audit::{chain, verify, AuditStore, ChainRecord};
use gp_core::{
    Actor, AuditEvent, Channel, Outcome, PatientId, ReasonCode, SequentialIds, StaffId, StaffRole,
};
use gp_monitoring::{Month, Practice};
use gp_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

mod common;
use common::temp_db;

/// A practice-year of audit events: registrations of 4,000 patients
/// through the year, then bookings, cancellations, reschedules and repeat
/// requests, online and by telephone, some refused.
fn practice_year(ids: &SequentialIds) -> Vec<AuditEvent> {
    let start: DateTime<Utc> = "2025-07-01T08:00:00Z".parse().unwrap_or_default();
    let desk = Actor::Staff {
        staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(1)),
        role: StaffRole::Receptionist,
    };
    let patients: Vec<PatientId> = (0..10_000).map(|_| PatientId::new(ids)).collect();
    let mut out = Vec::with_capacity(300_000);
    let minute = chrono::Duration::minutes(1);
    let event = |at, actor, channel, patient, action, outcome| {
        AuditEvent::decided(ids, at, actor, channel, Some(patient), action, outcome)
    };
    for (n, p) in patients.iter().take(4_000).enumerate() {
        let at = start + minute * (n as i32 * 120);
        out.push(event(
            at,
            desk,
            Channel::Reception,
            *p,
            "access.register",
            Outcome::Allowed,
        ));
        out.push(event(
            at,
            desk,
            Channel::Reception,
            *p,
            "access.verify_identity",
            Outcome::Allowed,
        ));
        let services = if n.is_multiple_of(3) {
            "appointments"
        } else {
            "appointments, repeat prescriptions, messages"
        };
        out.push(
            event(
                at,
                desk,
                Channel::Reception,
                *p,
                "access.services",
                Outcome::Allowed,
            )
            .with_detail("services", services),
        );
    }
    let taken = Outcome::Refused(ReasonCode::parse("SlotTaken").unwrap_or_else(|_| unreachable!()));
    let mut n = 0usize;
    while out.len() < 300_000 {
        let p = patients[n % 4_000];
        let at = start + minute * ((n as i32 * 105) % (365 * 24 * 60));
        let patient = Actor::Patient { patient: p };
        let (actor, channel) = if n.is_multiple_of(4) {
            (desk, Channel::Telephone)
        } else {
            (patient, Channel::Online)
        };
        let (action, outcome) = match n % 10 {
            0..=4 => ("appointment.book", Outcome::Allowed),
            5 => ("appointment.cancel", Outcome::Allowed),
            6 => ("appointment.reschedule", Outcome::Allowed),
            7 => ("appointment.book", taken.clone()),
            _ => ("prescription.request", Outcome::Allowed),
        };
        out.push(event(at, actor, channel, p, action, outcome));
        n += 1;
    }
    out
}

/// The raw baseline: every figure of the return from one SQL query over
/// the audit events' JSON, the list and the stored settings.
fn raw_pomi(conn: &Connection, month: &Month) -> Vec<u64> {
    let (start, end) = (
        month.start().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        month.end().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.ev;
         CREATE TEMP TABLE ev AS SELECT seq,
             json_extract(body, '$.action') AS action, json_extract(body, '$.patient') AS patient,
             json_extract(body, '$.at') AS at, json_extract(body, '$.channel') AS channel,
             json_extract(body, '$.outcome') AS outcome, json_extract(body, '$.details.services') AS services,
             json_extract(body, '$.details.outcome') AS review
           FROM audit_events;
         CREATE INDEX temp.ev_by_patient ON ev (patient, action, seq);",
    )
    .expect("events");
    let sql = "
        WITH acc AS (SELECT * FROM ev WHERE outcome = 'Allowed' AND patient IS NOT NULL AND at < ?2),
        reg AS (SELECT patient, max(seq) AS rseq FROM acc WHERE action = 'access.register' GROUP BY patient),
        st AS (SELECT r.patient,
            EXISTS (SELECT 1 FROM acc a WHERE a.patient = r.patient AND a.action = 'access.verify_identity' AND a.seq > r.rseq) AS verified,
            (SELECT a.services FROM acc a WHERE a.patient = r.patient AND a.action = 'access.services' AND a.seq > r.rseq ORDER BY a.seq DESC LIMIT 1) AS services,
            (SELECT min(a.at) FROM acc a WHERE a.patient = r.patient AND a.action = 'access.services' AND a.services <> '') AS first_enabled,
            COALESCE((SELECT a.action <> 'access.restore' FROM acc a WHERE a.patient = r.patient AND a.seq > r.rseq
                AND (a.action IN ('access.suspend', 'access.restore') OR (a.action = 'coercion.review' AND a.review = 'OnlineAccessWithdrawn'))
                ORDER BY a.seq DESC LIMIT 1), 0) AS suspended
          FROM reg r),
        en AS (SELECT *, verified AND NOT suspended AS ok FROM st),
        used AS (SELECT
            COALESCE(sum(CASE WHEN action = 'appointment.reschedule' THEN 2 WHEN action IN ('appointment.book', 'appointment.cancel') THEN 1 ELSE 0 END), 0) AS appts,
            COALESCE(sum(action = 'prescription.request'), 0) AS presc
          FROM ev WHERE outcome = 'Allowed' AND channel = 'Online' AND at >= ?1 AND at < ?2)
        SELECT (SELECT count(*) FROM patient_list),
          (SELECT COALESCE(sum(ok AND instr(services, 'appointments') > 0), 0) FROM en),
          (SELECT appts FROM used),
          (SELECT COALESCE(sum(ok AND instr(services, 'repeat prescriptions') > 0), 0) FROM en),
          (SELECT presc FROM used),
          (SELECT COALESCE(sum(ok AND COALESCE(services, '') <> ''), 0) FROM en),
          (SELECT COALESCE(sum(ok AND COALESCE(services, '') <> '' AND first_enabled >= ?1), 0) FROM en)";
    let row: [i64; 7] = conn
        .query_row(sql, [start, end], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ])
        })
        .expect("the figures");
    let [list, appts_enabled, appts_use, presc_enabled, presc_use, total, new] =
        row.map(|v| u64::try_from(v).unwrap_or(0));
    // Both services are offered with the default settings the file holds.
    vec![
        list,
        2,
        2,
        0,
        appts_enabled,
        appts_use,
        presc_enabled,
        presc_use,
        0,
        0,
        total,
        new,
        appts_use + presc_use,
    ]
}

fn chain_bench(c: &mut Criterion) {
    let ids = SequentialIds::new(11);
    let events: Vec<AuditEvent> = practice_year(&ids).into_iter().take(100_000).collect();
    let records: Vec<ChainRecord> = chain([0; 32], 1, &events);
    let head = records.last().map(|r| (r.seq, r.hash));
    let ours = |records: &[ChainRecord]| verify([0; 32], 1, records, head).expect("intact");
    let raw = |records: &[ChainRecord]| {
        let mut prev = [0u8; 32];
        for r in records {
            let mut h = Sha256::new();
            h.update(prev);
            h.update(r.body.as_bytes());
            let hash: [u8; 32] = h.finalize().into();
            assert_eq!(hash, r.hash);
            prev = hash;
        }
    };
    let mut group = c.benchmark_group("verify_100000_events");
    group.bench_function("gp_audit_verify", |b| b.iter(|| ours(&records)));
    group.bench_function("raw_sha256", |b| b.iter(|| raw(&records)));
    group.finish();
    let (mut a, mut r) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..5 {
        let t = Instant::now();
        ours(&records);
        a += t.elapsed();
        let t = Instant::now();
        raw(&records);
        r += t.elapsed();
    }
    println!(
        "chain verification, 100,000 events: ours {:?} / raw SHA-256 {:?} = {:.2}x the raw speed (target >= 0.8x)",
        a / 5,
        r / 5,
        r.as_secs_f64() / a.as_secs_f64()
    );
}

fn pomi_bench() {
    let ids = SequentialIds::new(12);
    let path = temp_db("pomi");
    let config = SqliteConfig {
        synchronous: Synchronous::Normal,
        ..SqliteConfig::default()
    };
    let store = Arc::new(SqliteStore::open_with(&path, config).expect("open"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let events = practice_year(&ids);
    rt.block_on(async {
        for chunk in events.chunks(20_000) {
            store.append(chunk).await.expect("events");
        }
    });
    let month = Month::parse("2026-03").expect("a month");
    let practice = Practice::example();
    let conn = Connection::open(&path).expect("open");
    let (mut ours_t, mut raw_t) = (Duration::ZERO, Duration::ZERO);
    let rounds = 3;
    for _ in 0..rounds {
        let t = Instant::now();
        let ours = rt
            .block_on(gp_online::unchecked::monitoring::pomi(
                store.as_ref(),
                month,
                &practice,
            ))
            .expect("a return");
        ours_t += t.elapsed();
        let t = Instant::now();
        let raw = raw_pomi(&conn, &month);
        raw_t += t.elapsed();
        let figures: Vec<u64> = ours.fields.iter().map(|f| f.value).collect();
        assert_eq!(figures, raw, "both sides give the same return");
    }
    println!(
        "POMI return for a month of a practice-year ({} audit events): ours {:?} / raw SQL {:?} = {:.2}x (target <= 1.5x)",
        events.len(),
        ours_t / rounds,
        raw_t / rounds,
        ours_t.as_secs_f64() / raw_t.as_secs_f64()
    );
}

fn main() {
    let mut c = common::criterion();
    println!();
    chain_bench(&mut c);
    pomi_bench();
}
