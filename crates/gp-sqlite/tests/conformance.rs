//! The booking and audit conformance suites against SQLite, on a real file and in memory.

mod common;

gp_testkit::booking_store_conformance!(common::file_store("conformance"));

mod in_memory {
    gp_testkit::booking_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}

mod audit_on_file {
    gp_testkit::audit_store_conformance!(crate::common::file_store("audit"));
}

mod audit_in_memory {
    gp_testkit::audit_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}

mod prescribing_on_file {
    gp_testkit::prescribing_store_conformance!(crate::common::file_store("prescribing"));
}

mod prescribing_in_memory {
    gp_testkit::prescribing_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}

mod messaging_on_file {
    gp_testkit::message_store_conformance!(crate::common::file_store("messaging"));
}

mod messaging_in_memory {
    gp_testkit::message_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}

mod access_on_file {
    gp_testkit::access_store_conformance!(crate::common::file_store("access"));
}

mod access_in_memory {
    gp_testkit::access_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}

mod patient_list_on_file {
    gp_testkit::patient_list_conformance!(crate::common::file_store("patient-list"));
}

mod patient_list_in_memory {
    gp_testkit::patient_list_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}

mod problems_on_file {
    gp_testkit::problem_store_conformance!(crate::common::file_store("problems"));
}

mod problems_in_memory {
    gp_testkit::problem_store_conformance!(
        gp_sqlite::SqliteStore::open_in_memory().expect("open in memory")
    );
}
