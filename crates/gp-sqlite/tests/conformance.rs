//! The booking conformance suite against SQLite on a real file.

mod common;

gp_testkit::booking_store_conformance!(common::file_store("conformance"));

mod in_memory {
    gp_testkit::booking_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}
