//! Why the messaging rules say no: stable reason codes with readable messages.

use std::fmt;

use gp_core::Reason;
use serde::{Deserialize, Serialize};

/// A refusal by the messaging rules. Each variant has a stable code
/// ([`Reason::code`], the variant's name) and a message for the person refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MessagingRefusal {
    /// The practice has switched online messages off (setting `enabled`).
    MessagingOff,
    /// The patient or proxy may not write about this patient.
    ActorNotForPatient,
    /// This actor may not act through this channel (patients and proxies
    /// write online; staff work at the practice).
    ChannelNotAllowed,
    /// Only practice staff may do this (mark read or handled).
    StaffOnly,
    /// This member of staff's role may not do this (settings: GP or practice manager).
    RoleNotPermitted,
    /// No such message for this patient.
    MessageNotFound,
    /// The message has already been read.
    AlreadyRead,
    /// The message has already been handled.
    AlreadyHandled,
    /// The appointment or medicine the message links to is not the patient's.
    LinkNotFound,
}

impl Reason for MessagingRefusal {
    fn code(&self) -> &'static str {
        match self {
            MessagingRefusal::MessagingOff => "MessagingOff",
            MessagingRefusal::ActorNotForPatient => "ActorNotForPatient",
            MessagingRefusal::ChannelNotAllowed => "ChannelNotAllowed",
            MessagingRefusal::StaffOnly => "StaffOnly",
            MessagingRefusal::RoleNotPermitted => "RoleNotPermitted",
            MessagingRefusal::MessageNotFound => "MessageNotFound",
            MessagingRefusal::AlreadyRead => "AlreadyRead",
            MessagingRefusal::AlreadyHandled => "AlreadyHandled",
            MessagingRefusal::LinkNotFound => "LinkNotFound",
        }
    }
}

impl fmt::Display for MessagingRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessagingRefusal::MessagingOff => "The practice does not take messages online at the moment; please contact the practice another way.",
            MessagingRefusal::ActorNotForPatient => "You may not write about this patient.",
            MessagingRefusal::ChannelNotAllowed => "This cannot be done through this channel.",
            MessagingRefusal::StaffOnly => "Only practice staff may do this.",
            MessagingRefusal::RoleNotPermitted => "Your role may not do this.",
            MessagingRefusal::MessageNotFound => "No such message.",
            MessagingRefusal::AlreadyRead => "The message has already been read.",
            MessagingRefusal::AlreadyHandled => "The message has already been handled.",
            MessagingRefusal::LinkNotFound => "That appointment or medicine is not on this patient's record.",
        })
    }
}
