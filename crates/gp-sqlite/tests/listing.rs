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
