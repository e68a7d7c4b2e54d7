//! Errors of the access crate: what went wrong, as opposed to what the rules refused.

use gp_core::{ParseError, RandomUnavailable};
use thiserror::Error;

use crate::decide::Precondition;

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
}

/// A store could not do what was asked, for a reason of its own.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed while working.
    #[error("the access store is unavailable: {0}")]
    Unavailable(String),
    /// A change did not hang together; nothing was written.
    #[error("the change is not valid: {0}")]
    Invalid(String),
    /// Stored data could not be read back as valid values.
    #[error("stored access data is not valid: {0}")]
    Corrupt(String),
}

/// A commit did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommitError {
    /// A fact the decision relied on no longer holds; nothing was written.
    #[error("the facts changed before the commit: {0}")]
    Conflict(Precondition),
    /// The store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}
