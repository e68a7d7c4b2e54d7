//! A store opened to read only reads what is there and changes nothing.

mod common;

use gp_access::{ListedPatient, PatientList, RegistrationKind};
use gp_audit::AuditStore;
use gp_core::{PatientId, SequentialIds, StoreError};
use gp_sqlite::{OpenError, SqliteStore};
use gp_testkit::fixtures::nhs_number;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn entry(ids: &SequentialIds, n: u64) -> ListedPatient {
    let born = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date");
    ListedPatient::new(
        PatientId::new(ids),
        nhs_number(n),
        born,
        RegistrationKind::Regular,
        born,
    )
    .expect("an entry")
}

#[test]
fn a_read_only_store_reads_and_never_writes() {
    let path = common::temp_db("read-only");
    let ids = SequentialIds::new(1);
    {
        let store = SqliteStore::open(&path).expect("a store");
        block_on(store.put_listed_patient(&entry(&ids, 1))).expect("listed");
    }
    let before = std::fs::read(&path).expect("the file");
    let store = SqliteStore::open_read_only(&path).expect("opened to read");
    assert_eq!(block_on(store.list_size()).expect("a size"), 1);
    assert!(block_on(store.verify_all()).expect("verified").is_ok());
    let write = block_on(store.put_listed_patient(&entry(&ids, 2)));
    assert!(
        matches!(write, Err(StoreError::Unavailable(_))),
        "{write:?}"
    );
    drop(store);
    assert_eq!(
        std::fs::read(&path).expect("the file"),
        before,
        "not a byte changed"
    );
    for suffix in ["-wal", "-shm"] {
        let mut side = path.clone().into_os_string();
        side.push(suffix);
        assert!(
            !std::path::Path::new(&side).exists(),
            "no {suffix} file left beside the database"
        );
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_name_that_looks_like_a_uri_is_that_file() {
    let dir = std::env::temp_dir().join(format!("gp-read-only-uri-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let ids = SequentialIds::new(2);
    let real = dir.join("file:practice.db");
    {
        let store = SqliteStore::open(&real).expect("a store named like a URI");
        block_on(store.put_listed_patient(&entry(&ids, 3))).expect("listed");
    }
    assert!(real.is_file(), "the file has the name given");
    let store = SqliteStore::open_read_only(&real).expect("opened to read");
    assert_eq!(block_on(store.list_size()).expect("a size"), 1);
    drop(store);
    // An empty file is not a practice database to read.
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").expect("an empty file");
    assert!(matches!(
        SqliteStore::open_read_only(&empty),
        Err(OpenError::NotOurs { .. })
    ));
    assert_eq!(std::fs::read(&empty).expect("kept"), b"");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_read_only_open_refuses_what_it_cannot_read_as_it_is() {
    let dir = std::env::temp_dir().join(format!("gp-read-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let missing = dir.join("missing.db");
    assert!(matches!(
        SqliteStore::open_read_only(&missing),
        Err(OpenError::CannotOpen { .. })
    ));
    assert!(!missing.exists(), "nothing was created");
    let text = dir.join("notes.db");
    std::fs::write(&text, b"not a database at all, just some words").expect("a file");
    assert!(SqliteStore::open_read_only(&text).is_err());
    assert_eq!(
        std::fs::read(&text).expect("kept"),
        b"not a database at all, just some words"
    );
    assert!(SqliteStore::open_read_only(&dir).is_err(), "a directory");
    let _ = std::fs::remove_dir_all(&dir);
}
