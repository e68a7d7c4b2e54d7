//! Messages, their replies and where they are in the practice's inbox.

use std::fmt;

use chrono::{DateTime, Utc};
use gp_core::{Actor, BookingId, MedicationId, MessageId, PatientId, StaffId};
use serde::{Deserialize, Serialize};

/// The most characters in a subject.
pub const MAX_SUBJECT: usize = 120;
/// The most characters in a message or reply body.
pub const MAX_BODY: usize = 2000;

/// What a message is about, if it is about something the practice holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageLink {
    /// An item on the patient's repeat medication list.
    Medication(MedicationId),
    /// An appointment booking.
    Appointment(BookingId),
}

/// Where a message is in the staff inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboxState {
    /// Nobody at the practice has read it (or the patient has written again).
    Unread,
    /// Read, not yet dealt with.
    Read {
        /// Who read it.
        by: StaffId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Dealt with; out of the inbox until the patient writes again.
    Handled {
        /// Who handled it.
        by: StaffId,
        /// When.
        at: DateTime<Utc>,
    },
}

impl InboxState {
    /// The state's name (`unread`, `read`, `handled`).
    pub fn name(&self) -> &'static str {
        match self {
            InboxState::Unread => "unread",
            InboxState::Read { .. } => "read",
            InboxState::Handled { .. } => "handled",
        }
    }
}

impl fmt::Display for InboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A reply in a message's thread, from staff or from the patient's side.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Who wrote it (staff, the patient, or a proxy, recorded as themselves).
    pub by: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// The text.
    pub body: String,
}

/// A message from a patient (or a proxy, recorded as the writer) to the practice,
/// with its thread of replies.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// This message.
    pub id: MessageId,
    /// The patient it is about.
    pub patient: PatientId,
    /// Who wrote it: the patient, or a proxy acting for them.
    pub writer: Actor,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The subject (1 to 120 characters).
    pub subject: String,
    /// The text (1 to 2,000 characters).
    pub body: String,
    /// What it is about, if anything the practice holds.
    pub link: Option<MessageLink>,
    /// Where it is in the inbox.
    pub state: InboxState,
    /// Replies, oldest first.
    pub replies: Vec<Reply>,
    /// How many times it has changed since it was sent (0 when sent).
    pub revision: u64,
}

gp_core::redacted_debug!(Reply {
    show: [by, at],
    hide: [body],
});
gp_core::redacted_debug!(Message {
    show: [id, patient, writer, at, link, state, replies, revision],
    hide: [subject, body],
});
