//! The booking conformance suite against the in-memory store.

gp_testkit::booking_store_conformance!(gp_booking::MemoryBookingStore::new());

#[test]
fn the_macro_runs_every_listed_check() {
    // Keeps CHECKS and the macro's list in step: a check added to one and not
    // the other fails here.
    let source = include_str!("../src/booking.rs");
    let macro_list = source
        .split("(@each $make;")
        .nth(1)
        .and_then(|s| s.split(");").next())
        .unwrap_or("");
    let names: Vec<&str> = macro_list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(names, gp_testkit::booking::CHECKS);
}
