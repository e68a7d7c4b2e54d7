//! The booking and audit conformance suites against the in-memory stores.

gp_testkit::booking_store_conformance!(gp_booking::MemoryBookingStore::new());

mod prescribing {
    gp_testkit::prescribing_store_conformance!(gp_prescribing::MemoryPrescribingStore::new());
}

mod messaging {
    gp_testkit::message_store_conformance!(gp_messaging::MemoryMessageStore::new());
}

mod access {
    gp_testkit::access_store_conformance!(gp_access::MemoryAccessStore::new());
}

mod audit {
    gp_testkit::audit_store_conformance!(gp_audit::MemoryAuditStore::new());
}

mod patient_list {
    gp_testkit::patient_list_conformance!(gp_access::MemoryPatientList::new());
}

mod problems {
    gp_testkit::problem_store_conformance!(gp_monitoring::MemoryProblemStore::new());
}

/// The check names listed in a suite's macro.
fn macro_list(source: &str) -> Vec<&str> {
    let list = source
        .split("(@each $make;")
        .nth(1)
        .and_then(|s| s.split(");").next())
        .unwrap_or("");
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn the_macros_run_every_listed_check() {
    // Keeps CHECKS and each macro's list in step: a check added to one and
    // not the other fails here.
    assert_eq!(
        macro_list(include_str!("../src/booking.rs")),
        gp_testkit::booking::CHECKS
    );
    assert_eq!(
        macro_list(include_str!("../src/audit.rs")),
        gp_testkit::audit::CHECKS
    );
    assert_eq!(
        macro_list(include_str!("../src/prescribing.rs")),
        gp_testkit::prescribing::CHECKS
    );
    assert_eq!(
        macro_list(include_str!("../src/messaging.rs")),
        gp_testkit::messaging::CHECKS
    );
    assert_eq!(
        macro_list(include_str!("../src/access.rs")),
        gp_testkit::access::CHECKS
    );
    assert_eq!(
        macro_list(include_str!("../src/patient_list.rs")),
        gp_testkit::patient_list::CHECKS
    );
    assert_eq!(
        macro_list(include_str!("../src/problems.rs")),
        gp_testkit::problems::CHECKS
    );
}
