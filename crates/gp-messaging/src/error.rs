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

pub use gp_core::StoreError;

/// A messaging commit did not happen; nothing was written.
pub type CommitError = gp_core::CommitError<Precondition>;
