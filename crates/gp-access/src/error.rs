//! Errors of the access crate: what went wrong, as opposed to what the rules refused.

use gp_core::{ParseError, RandomUnavailable};
use thiserror::Error;

use crate::decision::Precondition;

/// Bad input, or a setting out of range. Nothing was decided.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccessError {
    /// A text (a name, reason or note) was empty, too long or held control characters.
    #[error(transparent)]
    Text(#[from] ParseError),
    /// A setting was out of its range.
    #[error("{name} cannot be {value}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: u32,
    },
    /// An end date was not after the start date.
    #[error("proxy access must end after it starts")]
    EndBeforeStart,
    /// No service was named.
    #[error("at least one service must be named")]
    NoServices,
    /// The system could not make a linkage key.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    /// A date of birth was not a living patient's.
    #[error(transparent)]
    DateOfBirth(#[from] crate::patient_list::ListError),
    /// No patient was named (the empty identifier).
    #[error("no patient was named")]
    NoPatient,
}

pub use gp_core::StoreError;

/// An access commit did not happen; nothing was written.
pub type CommitError = gp_core::CommitError<Precondition>;
