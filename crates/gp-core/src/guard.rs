//! What a change was authorized on, checked again when it is committed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{PatientId, StaffId};

/// The version of a patient's access record (and of the acting staff
/// member's profile) that an action was authorized on. A change carries it as a precondition; a store that keeps the access
/// records beside the change (such as gp-sqlite's) checks it inside the
/// change's own write transaction, so a revocation or suspension that
/// commits first wins and the change is decided again.
///
/// A patient with no stored access record is at version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccessGuard {
    /// The patient.
    pub patient: PatientId,
    /// The access record's version the authorization read.
    pub version: u64,
    /// For a member of staff, their profile's version the authorization
    /// read (a role or competency taken away first wins too).
    pub staff: Option<(StaffId, u64)>,
}

impl fmt::Display for AccessGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "patient {}'s access record changed after the authorization",
            self.patient
        )
    }
}
