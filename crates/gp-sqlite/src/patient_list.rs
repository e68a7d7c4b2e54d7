//! The PatientList port on SQLite: the practice's list in a table of its own.

use async_trait::async_trait;
use gp_access::{ListedPatient, PatientList, StoreError};
use gp_core::{NhsNumber, PatientId};
use rusqlite::{params, ErrorCode, OptionalExtension};

use crate::rows::{from_json, json, storage};
use crate::store::SqliteStore;

/// The patient's entry on the list, read on `conn` (inside a caller's transaction).
pub(crate) fn listed(
    conn: &rusqlite::Connection,
    patient: PatientId,
) -> Result<Option<ListedPatient>, StoreError> {
    one(
        conn,
        "SELECT body FROM patient_list WHERE patient = ?1",
        patient.to_string(),
    )
}

fn one(
    conn: &rusqlite::Connection,
    sql: &str,
    key: String,
) -> Result<Option<ListedPatient>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
}

#[async_trait]
impl PatientList for SqliteStore {
    async fn listed_patient(
        &self,
        patient: PatientId,
    ) -> Result<Option<ListedPatient>, StoreError> {
        self.call(move |conn| listed(conn, patient)).await
    }

    async fn listed_by_nhs_number(
        &self,
        nhs_number: &NhsNumber,
    ) -> Result<Option<ListedPatient>, StoreError> {
        let digits = nhs_number.digits();
        self.call(move |conn| {
            one(
                conn,
                "SELECT body FROM patient_list WHERE nhs_number = ?1",
                digits,
            )
        })
        .await
    }

    async fn put_listed_patient(&self, entry: &ListedPatient) -> Result<(), StoreError> {
        let (patient, nhs) = (entry.patient().to_string(), entry.nhs_number().digits());
        let body = json(entry)?;
        self.write(move |t| {
            t.prepare_cached(
                "INSERT INTO patient_list (patient, nhs_number, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (patient) DO UPDATE SET nhs_number = excluded.nhs_number, body = excluded.body",
            )
            .and_then(|mut s| s.execute(params![patient, nhs, body]))
            .map_err(|e| match e.sqlite_error_code() {
                Some(ErrorCode::ConstraintViolation) => {
                    StoreError::Duplicate(format!("NHS number of patient {patient}"))
                }
                _ => storage(e),
            })?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    async fn remove_listed_patient(&self, patient: PatientId) -> Result<bool, StoreError> {
        self.write(move |t| {
            let n = t
                .execute(
                    "DELETE FROM patient_list WHERE patient = ?1",
                    [patient.to_string()],
                )
                .map_err(storage)?;
            Ok::<_, StoreError>(n > 0)
        })
        .await
    }

    async fn list_size(&self) -> Result<u64, StoreError> {
        self.call(|conn| {
            let n: i64 = conn
                .query_row("SELECT COUNT(*) FROM patient_list", [], |r| r.get(0))
                .map_err(storage)?;
            u64::try_from(n).map_err(crate::rows::corrupt)
        })
        .await
    }
}
