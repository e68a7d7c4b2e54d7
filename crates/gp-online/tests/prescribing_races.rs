//! Repeat requests racing with real threads on a real SQLite file, through
//! several connections at once.

use std::path::PathBuf;
use std::sync::Arc;

use gp_audit::AuditStore;
use gp_core::{Actor, Channel, FixedClock, MedicationId, PatientId, SequentialIds};
use gp_online::unchecked::Prescriptions;
use gp_online::{Answer, OrderRefused, Ordered};
use gp_prescribing::{OrderRequest, PrescribingRefusal, RequestChannel};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, repeat_item};

mod common;
use common::{race, rt};

type Facade = Prescriptions<SqliteStore, FixedClock>;

fn temp_db(name: &str) -> PathBuf {
    common::temp_db("gp-online-races", name)
}

/// A file with one patient holding `items` repeat items (never issued, so
/// never too early), and `connections` facades on it.
fn setup(
    name: &str,
    items: usize,
    connections: usize,
) -> (PathBuf, PatientId, Vec<MedicationId>, Vec<Arc<Facade>>) {
    let path = temp_db(name);
    let ids = SequentialIds::new(23);
    let patient = PatientId::new(&ids);
    let today = monday_morning().date_naive();
    let list: Vec<_> = (0..items)
        .map(|i| repeat_item(&ids, patient, i, None, today))
        .collect();
    rt().block_on(async {
        let facade = Prescriptions::new(
            SqliteStore::open(&path).unwrap(),
            FixedClock::new(monday_morning()),
        );
        for item in &list {
            let answer = facade
                .put_item(Actor::System, Channel::Internal, item)
                .await
                .unwrap();
            assert!(answer.refusal().is_none());
        }
    });
    let facades = (0..connections)
        .map(|_| {
            Arc::new(Prescriptions::new(
                SqliteStore::open(&path).unwrap(),
                FixedClock::new(monday_morning()),
            ))
        })
        .collect();
    (
        path,
        patient,
        list.into_iter().map(|i| i.id).collect(),
        facades,
    )
}

fn raw_count(path: &PathBuf, sql: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn order(
    facade: &Facade,
    patient: PatientId,
    item: MedicationId,
    runtime: &tokio::runtime::Runtime,
) -> Answer<Ordered, OrderRefused> {
    let request = OrderRequest::new(
        Actor::Patient { patient },
        RequestChannel::Online,
        patient,
        vec![item],
        None,
    )
    .unwrap();
    runtime.block_on(facade.request(&request)).unwrap()
}

fn accepted(answers: &[Answer<Ordered, OrderRefused>]) -> usize {
    answers
        .iter()
        .filter(|a| matches!(a, Answer::Done(_)))
        .count()
}

fn duplicates(answers: &[Answer<Ordered, OrderRefused>]) -> usize {
    answers
        .iter()
        .filter(
            |a| matches!(a, Answer::Refused(r) if r.reason == PrescribingRefusal::DuplicateRequest),
        )
        .count()
}

#[test]
fn two_online_requests_for_one_item_one_accepted_one_duplicate() {
    let rounds = 20;
    let (path, patient, items, facades) = setup("duplicate", rounds, 2);
    for &item in &items {
        let facades = facades.clone();
        let answers = race(2, move |t, runtime| {
            order(&facades[t], patient, item, runtime)
        });
        assert_eq!(
            (accepted(&answers), duplicates(&answers)),
            (1, 1),
            "item {item}: {answers:?}"
        );
    }
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM request_lines WHERE open = 1"),
        rounds as i64
    );
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM repeat_requests"),
        rounds as i64
    );
    // Every item put, every request and every refusal: one event each, chained.
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM audit_events"),
        3 * rounds as i64
    );
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(rt().block_on(store.verify_all()).unwrap(), Ok(()));
}

#[test]
fn eight_threads_on_four_connections_for_one_item() {
    let (path, patient, items, facades) = setup("eight", 1, 4);
    let item = items[0];
    let answers = race(8, move |t, runtime| {
        order(&facades[t % 4], patient, item, runtime)
    });
    assert_eq!(
        (accepted(&answers), duplicates(&answers)),
        (1, 7),
        "{answers:?}"
    );
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM request_lines WHERE open = 1"),
        1
    );
}

#[test]
fn requests_for_different_items_of_one_patient_all_go_through() {
    // They touch the same record, so all but one conflict at first; the
    // facade decides again and each gets its policy answer.
    let (path, patient, items, facades) = setup("different", 6, 3);
    let items = Arc::new(items);
    let answers = race(6, {
        let items = items.clone();
        move |t, runtime| order(&facades[t % 3], patient, items[t], runtime)
    });
    assert_eq!(accepted(&answers), 6, "{answers:?}");
    assert_eq!(
        raw_count(&path, "SELECT count(*) FROM request_lines WHERE open = 1"),
        6
    );
}
