//! An online repeat request + audit through gp-sqlite versus raw rusqlite
//! doing the same reads and writes. Both sides run in the same process; the
//! ratio is the figure.
//!
//! Run with `cargo bench --bench prescribing`.
//!
//! Each request is for a different patient with two items on their list, so
//! every request goes through. "One at a time" alternates one of ours with one
//! raw; "in bursts" runs 300 of ours back to back, then 300 raw.

use std::time::Instant;

use gp_core::{Actor, Channel, FixedClock, MedicationId, PatientId, SequentialIds};
use gp_online::unchecked::Prescriptions;
use gp_online::Answer;
use gp_prescribing::{decide_put_item, Decision, OrderRequest, PrescribingStore, RequestChannel};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, repeat_item};
use rusqlite::{params, Connection, TransactionBehavior};

mod common;
use common::{bursts, chain, paired, report, rt, temp_db, AUDIT_TABLES};

/// Our side: a facade on a fresh file with `n` patients, two items each.
struct Ours {
    facade: Prescriptions<SqliteStore, FixedClock>,
    patients: Vec<(PatientId, MedicationId)>,
    next: usize,
}

impl Ours {
    fn new(n: usize, rt: &tokio::runtime::Runtime) -> Self {
        let ids = SequentialIds::new(1);
        let store = SqliteStore::open(temp_db("ours")).expect("open");
        let today = monday_morning().date_naive();
        let mut patients = Vec::with_capacity(n);
        rt.block_on(async {
            for _ in 0..n {
                let p = PatientId::new(&ids);
                for which in 0..2 {
                    let item = repeat_item(&ids, p, which, None, today);
                    let facts = store.load(p).await.expect("load");
                    let Ok(Decision::Allowed(c)) = decide_put_item(
                        &facts,
                        Actor::System,
                        Channel::Internal,
                        &item,
                        monday_morning(),
                        &ids,
                    ) else {
                        panic!("put refused");
                    };
                    PrescribingStore::commit(&store, &c).await.expect("put");
                    if which == 0 {
                        patients.push((p, item.id));
                    }
                }
            }
        });
        Self {
            facade: Prescriptions::new(store, FixedClock::new(monday_morning())),
            patients,
            next: 0,
        }
    }

    fn order_one(&mut self, rt: &tokio::runtime::Runtime) {
        let (patient, item) = self.patients[self.next];
        self.next += 1;
        let request = OrderRequest::new(
            Actor::Patient { patient },
            RequestChannel::Online,
            patient,
            vec![item],
            Some("To the usual pharmacy, please."),
        )
        .expect("request");
        let answer = rt.block_on(self.facade.request(&request)).expect("order");
        assert!(matches!(answer, Answer::Done(_)), "refused: {answer:?}");
    }
}

/// The baseline: plain rusqlite, same pragmas, one transaction doing the same
/// reads (version, settings, the patient's items and requests, no open line)
/// and writes (request, line, version, chained audit event, head).
struct Raw {
    conn: Connection,
    next: usize,
    n: usize,
}

impl Raw {
    fn new(n: usize) -> Self {
        let conn = Connection::open(temp_db("raw")).expect("open");
        conn.execute_batch(AUDIT_TABLES).expect("audit tables");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             CREATE TABLE prescribing_settings (one INTEGER PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE prescribing_patients (patient TEXT PRIMARY KEY, version INTEGER NOT NULL, restriction TEXT);
             CREATE TABLE repeat_items (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                 patient TEXT NOT NULL REFERENCES prescribing_patients(patient), body TEXT NOT NULL);
             CREATE INDEX items_by_patient ON repeat_items(patient, seq);
             CREATE TABLE repeat_requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                 patient TEXT NOT NULL REFERENCES prescribing_patients(patient), at INTEGER NOT NULL,
                 open INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE INDEX requests_by_patient ON repeat_requests(patient, seq);
             CREATE TABLE request_lines (request TEXT NOT NULL REFERENCES repeat_requests(id),
                 item TEXT NOT NULL REFERENCES repeat_items(id), open INTEGER NOT NULL, PRIMARY KEY (request, item));
             CREATE UNIQUE INDEX one_open ON request_lines(item) WHERE open = 1;
             BEGIN;",
        )
        .expect("schema");
        for i in 0..n {
            conn.execute(
                "INSERT INTO prescribing_patients (patient, version) VALUES (?1, 2)",
                [format!("patient-{i}")],
            )
            .expect("patient");
            for k in 0..2 {
                conn.execute(
                    "INSERT INTO repeat_items (id, patient, body) VALUES (?1, ?2, ?3)",
                    params![
                        format!("item-{i}-{k}"),
                        format!("patient-{i}"),
                        format!(r#"{{"id":"item-{i}-{k}","drug":"Paracetamol 500mg tablets"}}"#)
                    ],
                )
                .expect("item");
            }
        }
        conn.execute_batch("COMMIT;").expect("commit");
        Self { conn, next: 0, n }
    }

    fn order_one(&mut self) {
        let i = self.next;
        self.next += 1;
        let (patient, item, request) = (
            format!("patient-{i}"),
            format!("item-{i}-0"),
            format!("request-{i}"),
        );
        let t = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        let version: i64 = t
            .query_row(
                "SELECT version FROM prescribing_patients WHERE patient = ?1",
                [&patient],
                |r| r.get(0),
            )
            .expect("version");
        let _settings: Option<String> = t
            .query_row(
                "SELECT body FROM prescribing_settings WHERE one = 1",
                [],
                |r| r.get(0),
            )
            .ok();
        let read_bodies = |sql: &str| -> usize {
            let mut stmt = t.prepare_cached(sql).expect("prepare");
            let rows = stmt
                .query_map([&patient], |r| r.get::<_, String>(0))
                .expect("query");
            rows.count()
        };
        assert_eq!(
            read_bodies("SELECT body FROM repeat_items WHERE patient = ?1 ORDER BY seq"),
            2
        );
        read_bodies("SELECT body FROM repeat_requests WHERE patient = ?1 ORDER BY seq");
        let open: bool = t
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM request_lines WHERE item = ?1 AND open = 1)",
                [&item],
                |r| r.get(0),
            )
            .expect("open");
        assert!(!open);
        let body = format!(
            r#"{{"id":"{request}","patient":"{patient}","lines":[{{"item":"{item}","state":"Requested"}}],"message":"To the usual pharmacy, please."}}"#
        );
        t.execute(
            "INSERT INTO repeat_requests (id, patient, at, open, body) VALUES (?1, ?2, ?3, 1, ?4)",
            params![request, patient, i as i64, body],
        )
        .expect("request");
        t.execute(
            "INSERT INTO request_lines (request, item, open) VALUES (?1, ?2, 1)",
            params![request, item],
        )
        .expect("line");
        t.execute(
            "UPDATE prescribing_patients SET version = ?2 WHERE patient = ?1",
            params![patient, version + 1],
        )
        .expect("version");
        let event = format!(
            r#"{{"id":"event-{i}","action":"prescription.request","request":"{request}"}}"#
        );
        chain(&t, format!("event-{i}"), event);
        t.commit().expect("commit");
    }
}

fn main() {
    let runtime = rt();
    let mut c = common::criterion();
    const N: usize = 3_000;
    let mut ours = Ours::new(N, &runtime);
    let mut raw = Raw::new(N);

    let one = paired(300, || ours.order_one(&runtime), || raw.order_one());
    let burst = bursts(300, || ours.order_one(&runtime), || raw.order_one());

    let mut group = c.benchmark_group("repeat_request_and_audit");
    group.bench_function("gp_sqlite", |bench| {
        bench.iter_custom(|iters| {
            if ours.patients.len() - ours.next < iters as usize {
                ours = Ours::new(N.max(iters as usize), &runtime);
            }
            let t = Instant::now();
            (0..iters).for_each(|_| ours.order_one(&runtime));
            t.elapsed()
        })
    });
    group.bench_function("raw_rusqlite", |bench| {
        bench.iter_custom(|iters| {
            if raw.n - raw.next < iters as usize {
                raw = Raw::new(N.max(iters as usize));
            }
            let t = Instant::now();
            (0..iters).for_each(|_| raw.order_one());
            t.elapsed()
        })
    });
    group.finish();

    println!();
    report("repeat request + audit, one at a time", 300, one, "request");
    report(
        "repeat request + audit, in bursts    ",
        300,
        burst,
        "request",
    );
}
