//! Why the prescribing rules say no: stable reason codes with readable messages.

use std::fmt;

use chrono::NaiveDate;
use gp_core::Reason;
use serde::{Deserialize, Serialize};

use crate::request::LineStatus;

/// A refusal by the repeat prescribing rules. Each variant has a stable code
/// ([`Reason::code`], the variant's name) and a message for the person refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PrescribingRefusal {
    /// The practice does not take repeat orders online (setting `online_ordering`).
    OnlineOrderingOff,
    /// Staff have turned off online ordering for this patient.
    OnlineOrderingDisabledForPatient,
    /// Staff have turned off ordering by every channel for this patient.
    OrderingDisabledForPatient,
    /// The item is not on this patient's repeat list.
    ItemNotOnList,
    /// The item has been ended by the practice.
    ItemEnded,
    /// The item's review date has passed (online orders).
    ReviewOverdue {
        /// The review date.
        review_date: NaiveDate,
    },
    /// No authorised issues are left (online orders, and issuing).
    NoIssuesLeft,
    /// The previous supply lasts a while yet (setting `too_early_days`).
    TooEarlyToReorder {
        /// The first day it can be ordered online.
        earliest: NaiveDate,
    },
    /// The item already has an open request (requested or approved, not yet issued).
    DuplicateRequest,
    /// The practice does not take messages with requests (setting `messages_allowed`).
    MessagesNotAllowed,
    /// The message is longer than the practice allows (setting `max_message_chars`).
    MessageTooLong {
        /// The most characters allowed.
        max: u32,
    },
    /// The request names more items than the practice allows (setting `max_items_per_request`).
    TooManyItems {
        /// The most items allowed.
        max: u32,
    },
    /// The actor may not act for this patient.
    ActorNotForPatient,
    /// This actor may not act through this channel (for example a patient on
    /// a staff channel, or staff on the online channel).
    ChannelNotAllowed,
    /// Only a prescriber (GP, nurse or pharmacist) may do this.
    PrescriberOnly,
    /// This member of staff's role may not do this.
    RoleNotPermitted,
    /// No request with that identifier exists for this patient.
    RequestNotFound,
    /// The request has no line for that item.
    LineNotFound,
    /// A line can be cancelled, approved or rejected only while requested.
    LineNotRequested {
        /// Where the line is now.
        status: LineStatus,
    },
    /// A line can be issued only once approved.
    LineNotApproved {
        /// Where the line is now.
        status: LineStatus,
    },
    /// The item is not waiting for a review (nobody flagged it as no longer taken).
    NotFlaggedForReview,
}

impl Reason for PrescribingRefusal {
    fn code(&self) -> &'static str {
        use PrescribingRefusal::*;
        match self {
            OnlineOrderingOff => "OnlineOrderingOff",
            OnlineOrderingDisabledForPatient => "OnlineOrderingDisabledForPatient",
            OrderingDisabledForPatient => "OrderingDisabledForPatient",
            ItemNotOnList => "ItemNotOnList",
            ItemEnded => "ItemEnded",
            ReviewOverdue { .. } => "ReviewOverdue",
            NoIssuesLeft => "NoIssuesLeft",
            TooEarlyToReorder { .. } => "TooEarlyToReorder",
            DuplicateRequest => "DuplicateRequest",
            MessagesNotAllowed => "MessagesNotAllowed",
            MessageTooLong { .. } => "MessageTooLong",
            TooManyItems { .. } => "TooManyItems",
            ActorNotForPatient => "ActorNotForPatient",
            ChannelNotAllowed => "ChannelNotAllowed",
            PrescriberOnly => "PrescriberOnly",
            RoleNotPermitted => "RoleNotPermitted",
            RequestNotFound => "RequestNotFound",
            LineNotFound => "LineNotFound",
            LineNotRequested { .. } => "LineNotRequested",
            LineNotApproved { .. } => "LineNotApproved",
            NotFlaggedForReview => "NotFlaggedForReview",
        }
    }
}

impl fmt::Display for PrescribingRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PrescribingRefusal::*;
        match self {
            OnlineOrderingOff => f.write_str("The practice does not take repeat prescription orders online; please contact the practice."),
            OnlineOrderingDisabledForPatient => f.write_str("Online ordering has been turned off for you by the practice; please contact the practice to order."),
            OrderingDisabledForPatient => f.write_str("Repeat ordering has been turned off for this patient by the practice; a clinician must prescribe in consultation."),
            ItemNotOnList => f.write_str("This medicine is not on the repeat list."),
            ItemEnded => f.write_str("This medicine has been stopped by the practice."),
            ReviewOverdue { review_date } => write!(f, "This medicine was due for review on {}; please contact the practice to arrange a review.", review_date.format("%-d %B %Y")),
            NoIssuesLeft => f.write_str("No repeats of this medicine are left; please contact the practice."),
            TooEarlyToReorder { earliest } => write!(f, "It is too early to order this medicine again; you can order it from {}.", earliest.format("%-d %B %Y")),
            DuplicateRequest => f.write_str("This medicine has already been ordered and the order is still being handled."),
            MessagesNotAllowed => f.write_str("The practice does not take messages with repeat orders."),
            MessageTooLong { max } => write!(f, "The message is too long; the practice allows up to {max} characters."),
            TooManyItems { max } => write!(f, "Too many medicines in one order; the practice allows up to {max}."),
            ActorNotForPatient => f.write_str("You may not act for this patient."),
            ChannelNotAllowed => f.write_str("This cannot be done through this channel."),
            PrescriberOnly => f.write_str("Only a prescriber (GP, nurse or pharmacist) may do this."),
            RoleNotPermitted => f.write_str("Your role may not do this."),
            RequestNotFound => f.write_str("No such repeat prescription request."),
            LineNotFound => f.write_str("That medicine is not part of the request."),
            LineNotRequested { status } => write!(f, "This can only be done while the medicine is waiting for a decision; it is {status}."),
            LineNotApproved { status } => write!(f, "Only an approved medicine can be issued; it is {status}."),
            NotFlaggedForReview => f.write_str("Nobody has said this medicine is no longer taken."),
        }
    }
}
