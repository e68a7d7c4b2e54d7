//! gp-sqlite reads a patient's list entry with their access record, in the
//! same read, exactly as its `PatientList` port answers it.

use gp_access::{AccessStore, ListedPatient, PatientList, RegistrationKind};
use gp_core::{PatientId, SequentialIds};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number};

#[tokio::test]
async fn the_access_facts_carry_the_list_entry_the_port_answers() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert!(store.loads_listing());
    let ids = SequentialIds::new(1);
    let (listed, unlisted) = (PatientId::new(&ids), PatientId::new(&ids));
    let today = monday_morning().date_naive();
    let dob = chrono::NaiveDate::from_ymd_opt(2001, 2, 3).unwrap();
    let entry = ListedPatient::new(
        listed,
        nhs_number(4),
        dob,
        RegistrationKind::Temporary,
        today,
    )
    .unwrap();
    store.put_listed_patient(&entry).await.unwrap();
    for patient in [listed, unlisted] {
        let facts = AccessStore::load(&store, patient, None).await.unwrap();
        assert_eq!(facts.listed, store.listed_patient(patient).await.unwrap());
    }
    assert_eq!(
        AccessStore::load(&store, listed, None)
            .await
            .unwrap()
            .listed,
        Some(entry)
    );
}

/// The indexed count of failed linkage attempts agrees with the port's
/// default count over the trail, on the same events.
#[tokio::test]
async fn failed_redemptions_are_counted_from_the_index_as_from_the_trail() {
    use gp_access::{MemoryAccessStore, REDEEM_ACTION};
    use gp_core::{Actor, AuditAction, AuditEvent, Channel, Outcome, ReasonCode};
    let sqlite = SqliteStore::open_in_memory().unwrap();
    let memory = MemoryAccessStore::new();
    let ids = SequentialIds::new(77);
    let start = monday_morning();
    let refused = Outcome::Refused(ReasonCode::parse("LinkageKeyInvalid").unwrap());
    for (minutes, action, outcome) in [
        (0, REDEEM_ACTION, refused.clone()),
        (10, REDEEM_ACTION, Outcome::Allowed),
        (20, "access.linkage_issue", refused.clone()),
        (30, REDEEM_ACTION, refused.clone()),
        (50, REDEEM_ACTION, refused.clone()),
    ] {
        let e = AuditEvent::new(
            &ids,
            start + chrono::Duration::minutes(minutes),
            Actor::System,
            Channel::Online,
            None,
            AuditAction::parse(action).unwrap(),
            outcome,
        );
        sqlite
            .record_refusal(std::slice::from_ref(&e))
            .await
            .unwrap();
        memory
            .record_refusal(std::slice::from_ref(&e))
            .await
            .unwrap();
    }
    for (from, until, expected) in [
        (-1, 60, 3),
        (0, 60, 3),
        (1, 60, 2),
        (30, 60, 2),
        (31, 60, 1),
        (51, 60, 0),
        (0, 30, 2),
        (0, 29, 1),
        (-60, -1, 0),
    ] {
        let from = start + chrono::Duration::minutes(from);
        let until = start + chrono::Duration::minutes(until);
        assert_eq!(
            memory.failed_redemptions_in(from, until).await.unwrap(),
            expected
        );
        assert_eq!(
            sqlite.failed_redemptions_in(from, until).await.unwrap(),
            expected,
            "from {from} to {until}"
        );
    }
    // Whole seconds on both: an event half a second before `from` counts.
    let half = start + chrono::Duration::milliseconds(500);
    assert_eq!(memory.failed_redemptions_in(half, half).await.unwrap(), 1);
    assert_eq!(sqlite.failed_redemptions_in(half, half).await.unwrap(), 1);
}
