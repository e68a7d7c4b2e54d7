//! A supplier's own storage behind one of our ports: the practice's patient
//! list, which in a real deployment is the clinical system's register.
//!
//! The register below keeps rows in the supplier's own shape (an internal
//! number, the NHS number as typed, the date of birth as `DD/MM/YYYY`, a
//! temporary flag) and implements `gp_access::PatientList` over them. The
//! example then runs the port's conformance suite, the contract in
//! executable form, against it: a supplier runs the same checks before
//! going live (`gp_testkit::patient_list_conformance!` makes them tests).
//!
//! Run with `cargo run --example supplier_store`.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;
use gp_access::{ListedPatient, PatientList, RegistrationKind, StoreError};
use gp_core::{NhsNumber, PatientId};

/// One row of the supplier's register, in the supplier's own shape.
#[derive(Clone)]
struct RegisterRow {
    /// The clinical system's own patient number.
    internal: u128,
    /// The NHS number as the practice typed it (spaces and all).
    nhs: String,
    /// The date of birth as the clinical system keeps it.
    dob: String,
    /// A temporary resident.
    temporary: bool,
}

/// The supplier's register.
#[derive(Default)]
struct SupplierRegister {
    rows: Mutex<Vec<RegisterRow>>,
}

fn unavailable<T>(_: T) -> StoreError {
    StoreError::Unavailable("the register is unavailable".into())
}

impl SupplierRegister {
    fn rows(&self) -> Result<std::sync::MutexGuard<'_, Vec<RegisterRow>>, StoreError> {
        self.rows.lock().map_err(unavailable)
    }

    /// A row as the port's entry; a row the port cannot read is corrupt,
    /// never a panic.
    fn entry(row: &RegisterRow) -> Result<ListedPatient, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("register row {}: {what}", row.internal));
        let nhs = NhsNumber::parse(&row.nhs).map_err(|_| corrupt("NHS number"))?;
        let dob = NaiveDate::parse_from_str(&row.dob, "%d/%m/%Y")
            .map_err(|_| corrupt("date of birth"))?;
        let kind = if row.temporary {
            RegistrationKind::Temporary
        } else {
            RegistrationKind::Regular
        };
        let today = gp_core::local_date(chrono::Utc::now());
        ListedPatient::new(patient_of(row.internal), nhs, dob, kind, today)
            .map_err(|_| corrupt("date of birth out of range"))
    }
}

/// Our patient id for the clinical system's number (a real system would
/// keep the mapping; here the number is the id).
fn patient_of(internal: u128) -> PatientId {
    PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(internal))
}

#[async_trait]
impl PatientList for SupplierRegister {
    async fn listed_patient(
        &self,
        patient: PatientId,
    ) -> Result<Option<ListedPatient>, StoreError> {
        let rows = self.rows()?;
        rows.iter()
            .find(|r| patient_of(r.internal) == patient)
            .map(Self::entry)
            .transpose()
    }

    async fn listed_by_nhs_number(
        &self,
        nhs_number: &NhsNumber,
    ) -> Result<Option<ListedPatient>, StoreError> {
        let rows = self.rows()?;
        for row in rows.iter() {
            let entry = Self::entry(row)?;
            if entry.nhs_number() == *nhs_number {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    async fn put_listed_patient(&self, entry: &ListedPatient) -> Result<(), StoreError> {
        let mut rows = self.rows()?;
        // The contract: an NHS number belongs to one patient of the practice.
        for row in rows.iter() {
            if patient_of(row.internal) != entry.patient()
                && Self::entry(row)?.nhs_number() == entry.nhs_number()
            {
                return Err(StoreError::Duplicate(format!(
                    "NHS number of patient {}",
                    entry.patient()
                )));
            }
        }
        let row = RegisterRow {
            internal: entry.patient().as_uuid().as_u128(),
            nhs: entry.nhs_number().to_string(),
            dob: entry.date_of_birth().format("%d/%m/%Y").to_string(),
            temporary: entry.registration() == RegistrationKind::Temporary,
        };
        match rows.iter_mut().find(|r| r.internal == row.internal) {
            Some(existing) => *existing = row,
            None => rows.push(row),
        }
        Ok(())
    }

    async fn remove_listed_patient(&self, patient: PatientId) -> Result<bool, StoreError> {
        let mut rows = self.rows()?;
        let before = rows.len();
        rows.retain(|r| patient_of(r.internal) != patient);
        Ok(rows.len() != before)
    }

    async fn list_size(&self) -> Result<u64, StoreError> {
        Ok(self.rows()?.len() as u64)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("The supplier's register behind gp_access::PatientList, checked against the port's contract:");
    let checks = gp_testkit::patient_list::CHECKS;
    for name in checks {
        let register = SupplierRegister::default();
        // A broken rule panics with what it found, ending the run.
        let run = async {
            match *name {
                "entries_are_found_by_patient_and_by_nhs_number" => {
                    gp_testkit::patient_list::entries_are_found_by_patient_and_by_nhs_number(
                        register,
                    )
                    .await
                }
                "an_nhs_number_belongs_to_one_patient" => {
                    gp_testkit::patient_list::an_nhs_number_belongs_to_one_patient(register).await
                }
                "an_entry_is_replaced_and_removed" => {
                    gp_testkit::patient_list::an_entry_is_replaced_and_removed(register).await
                }
                other => panic!("a check this example does not know: {other}"),
            }
        };
        run.await;
        println!("  ok  {name}");
    }
    // A row the clinical system holds that the port cannot read is an
    // error the practice sees, not a panic.
    let register = SupplierRegister::default();
    register.rows().expect("rows").push(RegisterRow {
        internal: 7,
        nhs: "not a number".into(),
        dob: "31/02/1980".into(),
        temporary: false,
    });
    match register.listed_patient(patient_of(7)).await {
        Err(e) => println!("  ok  an unreadable row is an error: {e}"),
        Ok(found) => println!("  unexpected: {found:?}"),
    }
    println!("All {} checks of the contract hold.", checks.len());
}
