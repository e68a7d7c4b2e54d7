//! The `PatientList` conformance suite: the contract in executable form.
//!
//! Each check is a `pub async fn` taking a fresh, empty list. Run them all
//! against a list with [`crate::patient_list_conformance!`].

use chrono::NaiveDate;
use gp_access::{ListedPatient, PatientList, RegistrationKind, StoreError};
use gp_core::{NhsNumber, PatientId, SequentialIds};

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "entries_are_found_by_patient_and_by_nhs_number",
    "an_nhs_number_belongs_to_one_patient",
    "an_entry_is_replaced_and_removed",
];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date")
}

fn entry(patient: PatientId, nhs: &str, kind: RegistrationKind) -> ListedPatient {
    ListedPatient::new(
        patient,
        NhsNumber::parse(nhs).expect("a valid NHS number"),
        NaiveDate::from_ymd_opt(1980, 2, 29).expect("a date"),
        kind,
        today(),
    )
    .expect("a valid entry")
}

/// An entry is found by patient and by NHS number; an empty list finds nothing.
pub async fn entries_are_found_by_patient_and_by_nhs_number<L: PatientList>(list: L) {
    let ids = SequentialIds::new(0x11570);
    let p = PatientId::new(&ids);
    assert_eq!(list.listed_patient(p).await.expect("read"), None);
    assert_eq!(list.list_size().await.expect("size"), 0);
    let e = entry(p, "943 476 5919", RegistrationKind::Regular);
    list.put_listed_patient(&e).await.expect("put");
    assert_eq!(list.listed_patient(p).await.expect("read"), Some(e.clone()));
    assert_eq!(
        list.listed_by_nhs_number(&e.nhs_number())
            .await
            .expect("read"),
        Some(e)
    );
    assert_eq!(list.list_size().await.expect("size"), 1);
}

/// A second patient with an NHS number already on the list is a
/// `Duplicate`, and the list is as it was.
pub async fn an_nhs_number_belongs_to_one_patient<L: PatientList>(list: L) {
    let ids = SequentialIds::new(0x11571);
    let (a, b) = (PatientId::new(&ids), PatientId::new(&ids));
    let first = entry(a, "943 476 5919", RegistrationKind::Regular);
    list.put_listed_patient(&first).await.expect("put");
    let err = list
        .put_listed_patient(&entry(b, "9434765919", RegistrationKind::Temporary))
        .await
        .expect_err("a duplicate NHS number");
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    assert_eq!(list.listed_patient(b).await.expect("read"), None);
    assert_eq!(list.list_size().await.expect("size"), 1);
    assert_eq!(
        list.listed_by_nhs_number(&first.nhs_number())
            .await
            .expect("read"),
        Some(first)
    );
}

/// Putting an entry for a listed patient replaces it (a new NHS number
/// frees the old one); removing answers whether the patient was listed.
pub async fn an_entry_is_replaced_and_removed<L: PatientList>(list: L) {
    let ids = SequentialIds::new(0x11572);
    let (a, b) = (PatientId::new(&ids), PatientId::new(&ids));
    list.put_listed_patient(&entry(a, "943 476 5919", RegistrationKind::Temporary))
        .await
        .expect("put");
    let moved = entry(a, "401 023 2137", RegistrationKind::Regular);
    list.put_listed_patient(&moved).await.expect("replace");
    assert_eq!(list.listed_patient(a).await.expect("read"), Some(moved));
    assert_eq!(list.list_size().await.expect("size"), 1);
    // The old number is free for another patient now.
    list.put_listed_patient(&entry(b, "943 476 5919", RegistrationKind::Regular))
        .await
        .expect("the freed number");
    assert!(list.remove_listed_patient(a).await.expect("remove"));
    assert!(!list.remove_listed_patient(a).await.expect("remove again"));
    assert_eq!(list.listed_patient(a).await.expect("read"), None);
    assert_eq!(list.list_size().await.expect("size"), 1);
}

/// Expands into one `#[tokio::test]` per patient list conformance check,
/// each given a fresh list made by `$make`.
#[macro_export]
macro_rules! patient_list_conformance {
    ($make:expr) => {
        $crate::patient_list_conformance!(@each $make;
            entries_are_found_by_patient_and_by_nhs_number,
            an_nhs_number_belongs_to_one_patient,
            an_entry_is_replaced_and_removed
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::patient_list::$check($make).await;
            }
        )+
    };
}
