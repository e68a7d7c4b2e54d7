//! The authorization guard: the access record and staff profile versions
//! an action was authorized on, checked in the action's own transaction.

use gp_booking::StoreError;
use gp_core::{AccessGuard, PatientId};
use rusqlite::{Connection, OptionalExtension};

use crate::rows::*;

/// The version of a patient's access record (0 if none is stored).
pub(crate) fn access_version(conn: &Connection, patient: PatientId) -> Result<u64, StoreError> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT version FROM access_records WHERE patient = ?1")
        .and_then(|mut s| s.query_row([patient.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    version.map_or(Ok(0), |v| u64::try_from(v).map_err(corrupt))
}

/// Whether the access record (and the acting staff member's profile) is
/// still at the version an action was authorized on.
pub(crate) fn guard_holds(conn: &Connection, guard: &AccessGuard) -> Result<bool, StoreError> {
    if access_version(conn, guard.patient)? != guard.version {
        return Ok(false);
    }
    Ok(match guard.staff {
        None => true,
        Some((id, version)) => crate::access::staff(conn, id)?.map_or(0, |p| p.version) == version,
    })
}
