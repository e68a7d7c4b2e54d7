//! The practice's patient list: who is registered at the practice, whether
//! or not they use online services.
//!
//! In a real deployment the list is the supplier's own register (the
//! clinical system's registration module). [`PatientList`] is the port the
//! supplier implements over it; [`MemoryPatientList`] and gp-sqlite's store
//! implement it for trials and tests. Online services are a separate,
//! optional account ([`crate::AccessRecord`]) on top of a listed patient.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use gp_core::{NhsNumber, PatientId};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::StoreError;
use crate::model::RegistrationKind;

/// The oldest a date of birth on the list may be, in years before today.
pub const MAX_AGE_YEARS: i32 = 130;

/// Why a list entry could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ListError {
    /// The date of birth is after today.
    #[error("a date of birth ({0}) cannot be in the future")]
    BornInFuture(NaiveDate),
    /// The date of birth is more than 130 years before today.
    #[error("a date of birth ({0}) more than 130 years ago is not a living patient's")]
    BornTooLongAgo(NaiveDate),
}

/// Checks a living patient's date of birth against `today`: neither after
/// it nor more than 130 years before it.
pub fn check_date_of_birth(date_of_birth: NaiveDate, today: NaiveDate) -> Result<(), ListError> {
    if date_of_birth > today {
        return Err(ListError::BornInFuture(date_of_birth));
    }
    let oldest = today
        .with_year(today.year() - MAX_AGE_YEARS)
        .or_else(|| {
            // 29 February, 130 years back, falls on 1 March.
            NaiveDate::from_ymd_opt(today.year() - MAX_AGE_YEARS, 3, 1)
        })
        .unwrap_or(NaiveDate::MIN);
    if date_of_birth < oldest {
        return Err(ListError::BornTooLongAgo(date_of_birth));
    }
    Ok(())
}

/// A patient on the practice's list: NHS number, date of birth and whether
/// they are a regular patient or a temporary resident.
///
/// Made only through [`ListedPatient::new`], which checks the date of birth
/// against the day it is listed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedPatient {
    patient: PatientId,
    nhs_number: NhsNumber,
    date_of_birth: NaiveDate,
    registration: RegistrationKind,
}

impl fmt::Debug for ListedPatient {
    // The NHS number and date of birth are personal data: not in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListedPatient")
            .field("patient", &self.patient)
            .field("registration", &self.registration)
            .finish_non_exhaustive()
    }
}

impl ListedPatient {
    /// A list entry, listed on `today` (practice-local date): the date of
    /// birth may be neither after today nor more than 130 years before it.
    pub fn new(
        patient: PatientId,
        nhs_number: NhsNumber,
        date_of_birth: NaiveDate,
        registration: RegistrationKind,
        today: NaiveDate,
    ) -> Result<Self, ListError> {
        check_date_of_birth(date_of_birth, today)?;
        Ok(Self {
            patient,
            nhs_number,
            date_of_birth,
            registration,
        })
    }

    /// The patient.
    pub fn patient(&self) -> PatientId {
        self.patient
    }

    /// Their NHS number.
    pub fn nhs_number(&self) -> NhsNumber {
        self.nhs_number
    }

    /// Their date of birth.
    pub fn date_of_birth(&self) -> NaiveDate {
        self.date_of_birth
    }

    /// Regular or temporary.
    pub fn registration(&self) -> RegistrationKind {
        self.registration
    }
}

/// The practice's patient list, as the online services read it.
///
/// # Contract
///
/// - [`PatientList::listed_patient`] answers the entry stored for a patient,
///   or `None`; [`PatientList::listed_by_nhs_number`] the entry with that NHS
///   number.
/// - **An NHS number is unique within the practice.**
///   [`PatientList::put_listed_patient`] adds an entry or replaces the one
///   with the same patient id; if another patient holds the NHS number it
///   fails with [`StoreError::Duplicate`] and writes nothing.
/// - [`PatientList::remove_listed_patient`] takes a patient off the list
///   (they left the practice), answering whether they were on it.
/// - [`PatientList::list_size`] counts the entries.
/// - A storage failure is a [`StoreError`], never a panic, and leaves the
///   list as it was.
///
/// The conformance suite `gp_testkit::patient_list` is the executable form.
#[async_trait]
pub trait PatientList: Send + Sync {
    /// The patient's entry, if they are on the list.
    async fn listed_patient(&self, patient: PatientId)
        -> Result<Option<ListedPatient>, StoreError>;

    /// The entry with this NHS number, if any.
    async fn listed_by_nhs_number(
        &self,
        nhs_number: &NhsNumber,
    ) -> Result<Option<ListedPatient>, StoreError>;

    /// Adds the entry, or replaces the one for the same patient.
    async fn put_listed_patient(&self, entry: &ListedPatient) -> Result<(), StoreError>;

    /// Takes the patient off the list; answers whether they were on it.
    async fn remove_listed_patient(&self, patient: PatientId) -> Result<bool, StoreError>;

    /// How many patients are on the list.
    async fn list_size(&self) -> Result<u64, StoreError>;
}

/// A shared list is a list.
#[async_trait]
impl<T: PatientList + ?Sized> PatientList for std::sync::Arc<T> {
    async fn listed_patient(
        &self,
        patient: PatientId,
    ) -> Result<Option<ListedPatient>, StoreError> {
        (**self).listed_patient(patient).await
    }
    async fn listed_by_nhs_number(
        &self,
        nhs_number: &NhsNumber,
    ) -> Result<Option<ListedPatient>, StoreError> {
        (**self).listed_by_nhs_number(nhs_number).await
    }
    async fn put_listed_patient(&self, entry: &ListedPatient) -> Result<(), StoreError> {
        (**self).put_listed_patient(entry).await
    }
    async fn remove_listed_patient(&self, patient: PatientId) -> Result<bool, StoreError> {
        (**self).remove_listed_patient(patient).await
    }
    async fn list_size(&self) -> Result<u64, StoreError> {
        (**self).list_size().await
    }
}

/// A [`PatientList`] in memory, for tests and trials.
#[derive(Debug, Default)]
pub struct MemoryPatientList {
    entries: Mutex<HashMap<PatientId, ListedPatient>>,
}

impl MemoryPatientList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, HashMap<PatientId, ListedPatient>>, StoreError> {
        self.entries
            .lock()
            .map_err(|_| StoreError::Unavailable("the patient list's lock is poisoned".into()))
    }
}

#[async_trait]
impl PatientList for MemoryPatientList {
    async fn listed_patient(
        &self,
        patient: PatientId,
    ) -> Result<Option<ListedPatient>, StoreError> {
        Ok(self.lock()?.get(&patient).cloned())
    }

    async fn listed_by_nhs_number(
        &self,
        nhs_number: &NhsNumber,
    ) -> Result<Option<ListedPatient>, StoreError> {
        Ok(self
            .lock()?
            .values()
            .find(|e| &e.nhs_number == nhs_number)
            .cloned())
    }

    async fn put_listed_patient(&self, entry: &ListedPatient) -> Result<(), StoreError> {
        let mut entries = self.lock()?;
        if entries
            .values()
            .any(|e| e.nhs_number == entry.nhs_number && e.patient != entry.patient)
        {
            return Err(StoreError::Duplicate(format!(
                "NHS number of patient {}",
                entry.patient
            )));
        }
        entries.insert(entry.patient, entry.clone());
        Ok(())
    }

    async fn remove_listed_patient(&self, patient: PatientId) -> Result<bool, StoreError> {
        Ok(self.lock()?.remove(&patient).is_some())
    }

    async fn list_size(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn entry(dob: NaiveDate, today: NaiveDate) -> Result<ListedPatient, ListError> {
        let ids = gp_core::SequentialIds::new(1);
        ListedPatient::new(
            PatientId::new(&ids),
            NhsNumber::parse("9434765919").unwrap(),
            dob,
            RegistrationKind::Regular,
            today,
        )
    }

    #[test]
    fn a_date_of_birth_is_neither_future_nor_more_than_130_years_ago() {
        let today = date(2026, 11, 25);
        assert!(entry(today, today).is_ok());
        assert_eq!(
            entry(date(2026, 11, 26), today).unwrap_err(),
            ListError::BornInFuture(date(2026, 11, 26))
        );
        assert!(entry(date(1896, 11, 25), today).is_ok());
        assert_eq!(
            entry(date(1896, 11, 24), today).unwrap_err(),
            ListError::BornTooLongAgo(date(1896, 11, 24))
        );
        // 130 years before 29 February 2028 is 1 March 1898 (1898 is not a leap year).
        let leap = date(2028, 2, 29);
        assert!(entry(date(1898, 3, 1), leap).is_ok());
        assert!(entry(date(1898, 2, 28), leap).is_err());
    }

    #[test]
    fn debug_leaves_out_the_nhs_number_and_date_of_birth() {
        let e = entry(date(1980, 5, 17), date(2026, 1, 1)).unwrap();
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("9434765919") && !shown.contains("1980"),
            "{shown}"
        );
    }
}
