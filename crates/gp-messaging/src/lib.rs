//! Simple messages between patients and their practice.
//!
//! A patient, or a proxy acting for them (recorded as the writer), sends a
//! short message: a subject of up to 120 characters and a body of up to
//! 2,000, optionally linked to an item on their repeat list or to an
//! appointment. Messages land in the staff inbox as unread; staff mark them
//! read and handled, and reply. A reply from the patient's side puts the
//! message back in the inbox as unread. The practice can switch messaging off.
//!
//! Pure decisions ([`decide_send`], [`decide_reply`], [`decide_inbox`],
//! [`decide_settings`]) return a [`Decision`]; the [`MessageStore`] port
//! commits it with its audit event.
//!
//! # Reason codes
//!
//! | Code | When |
//! |---|---|
//! | `MessagingOff` | the practice has switched messaging off (sending, or a patient's reply) |
//! | `ActorNotForPatient` | the patient or proxy writes about someone else |
//! | `ChannelNotAllowed` | patients and proxies write online; staff work by telephone or at reception |
//! | `StaffOnly` | marking read or handled by anyone but staff |
//! | `RoleNotPermitted` | settings changed by anyone but staff (which staff: the access matrix in `gp-access`) |
//! | `MessageNotFound` | no such message |
//! | `AlreadyRead` | marking read a message already read |
//! | `AlreadyHandled` | marking read or handled a message already handled |
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gp_core::{Actor, Channel, PatientId, SequentialIds};
//! use gp_messaging::*;
//!
//! let ids = SequentialIds::new(1);
//! let patient = PatientId::new(&ids);
//! let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
//! let message = NewMessage::new(Actor::Patient { patient }, Channel::Online, patient,
//!     "Blood test results", "Have my results come back?", None)?;
//! assert!(decide_send(&SettingsFacts::default(), &message, None, now, &ids)?.refusal().is_none());
//!
//! let off = SettingsFacts { settings: MessagingSettings { enabled: false }, version: 1 };
//! assert_eq!(decide_send(&off, &message, None, now, &ids)?.refusal(), Some(&MessagingRefusal::MessagingOff));
//! # Ok::<(), MessageError>(())
//! ```

mod decide;
mod error;
mod memory;
mod message;
mod refusal;
mod store;

pub use decide::{
    decide_inbox, decide_reply, decide_send, decide_settings, Committable, Decision, InboxMove,
    MessageAction, MessageChange, MessagingSettings, NewMessage, Precondition, Refusal,
    SettingsFacts,
};
pub use error::{CommitError, MessageError, StoreError};
pub use memory::MemoryMessageStore;
pub use message::{InboxState, Message, MessageLink, Reply, MAX_BODY, MAX_SUBJECT};
pub use refusal::MessagingRefusal;
pub use store::MessageStore;

/// Checks that a message may replace what is stored under its identifier
/// (new at revision 0, or the next revision of the same patient's message).
/// Store implementations call it inside their write transaction.
pub fn check_revision(stored: Option<&Message>, next: &Message) -> Result<(), StoreError> {
    memory::check_revision(stored, next)
}
