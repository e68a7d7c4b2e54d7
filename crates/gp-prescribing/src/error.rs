//! Errors of the prescribing crate: what went wrong, as opposed to what the rules refused.

use gp_core::ParseError;
use thiserror::Error;

use crate::concept::ConceptIdError;
use crate::decision::Precondition;

/// A repeat item could not be made from what was given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ItemError {
    /// A text field was empty, too long or held control characters.
    #[error(transparent)]
    Text(#[from] ParseError),
    /// A text field had spaces around it.
    #[error("the {0} has spaces before or after it")]
    Untrimmed(&'static str),
    /// The concept identifier was not valid.
    #[error(transparent)]
    Concept(#[from] ConceptIdError),
    /// The quantity was zero.
    #[error("a quantity must be at least one")]
    ZeroQuantity,
    /// The issue duration was zero or over a year.
    #[error("an issue must last 1 to 366 days, not {0}")]
    IssueDuration(u32),
    /// More issues were left than authorised.
    #[error("{remaining} issues cannot be left of {authorised} authorised")]
    MoreRemainingThanAuthorised {
        /// Issues left.
        remaining: u32,
        /// Issues authorised.
        authorised: u32,
    },
}

/// A prescribing setting was out of its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The too-early threshold was over a year.
    #[error("the too-early threshold must be 0 to 366 days, not {0}")]
    TooEarlyDays(u32),
    /// The most items per request was zero or over 50.
    #[error("a request must allow 1 to 50 items, not {0}")]
    MaxItems(u32),
    /// The longest message was zero or over 2,000 characters.
    #[error("the longest message must be 1 to 2000 characters, not {0}")]
    MaxMessage(u32),
}

/// A request could not be made from what was given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No item was asked for.
    #[error("a request must name at least one item")]
    NoItems,
    /// The same item was named twice.
    #[error("item {0} is named twice in one request")]
    RepeatedItem(gp_core::MedicationId),
    /// A text (a reason or note) was empty, too long or held control characters.
    #[error(transparent)]
    Text(#[from] ParseError),
}

pub use gp_core::StoreError;

/// A prescribing commit did not happen; nothing was written.
pub type CommitError = gp_core::CommitError<Precondition>;
