//! Errors of the messaging crate: what went wrong, as opposed to what the rules refused.

use gp_core::ParseError;
use thiserror::Error;

use crate::decide::Precondition;

/// A message or reply could not be made from what was given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MessageError {
    /// A subject or body was empty, too long or held control characters.
    #[error(transparent)]
    Text(#[from] ParseError),
}

/// A store could not do what was asked, for a reason of its own.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed while working.
    #[error("the message store is unavailable: {0}")]
    Unavailable(String),
    /// A change did not hang together; nothing was written.
    #[error("the change is not valid: {0}")]
    Invalid(String),
    /// Stored data could not be read back as valid values.
    #[error("stored message data is not valid: {0}")]
    Corrupt(String),
}

/// A commit did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommitError {
    /// A fact the decision relied on no longer holds; nothing was written.
    /// Load the facts again and decide again.
    #[error("the facts changed before the commit: {0}")]
    Conflict(Precondition),
    /// The store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}
