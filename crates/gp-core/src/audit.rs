//! The audit event every decision returns, allowed or refused.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::actor::{Actor, Channel};
use crate::error::ParseError;
use crate::ids::{EventId, IdSource, PatientId};

/// What was attempted, as lower-case words joined by dots (`appointment.book`).
///
/// The names are stable: suppliers and auditors filter on them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuditAction(String);

impl AuditAction {
    /// Parses an action name.
    pub fn parse(name: &str) -> Result<Self, ParseError> {
        let ok = !name.is_empty()
            && name.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(ParseError::AuditAction(name.to_owned()))
        }
    }

    /// An action name fixed in the code. A name that breaks the rules is caught by
    /// the crate's own tests (a debug assertion); in release builds it is kept as given.
    pub fn known(name: &'static str) -> Self {
        debug_assert!(
            Self::parse(name).is_ok(),
            "invalid audit action name {name:?}"
        );
        Self(name.to_owned())
    }

    /// The action name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AuditAction {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AuditAction> for String {
    fn from(a: AuditAction) -> Self {
        a.0
    }
}

/// A stable refusal reason code, a CamelCase word such as `SlotTaken`.
///
/// Each domain crate owns an enum of its reasons and documents their codes;
/// this is the code as it is stored and shown in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReasonCode(String);

impl ReasonCode {
    /// Parses a reason code.
    pub fn parse(code: &str) -> Result<Self, ParseError> {
        let mut chars = code.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(ParseError::ReasonCode(code.to_owned()))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReasonCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ReasonCode> for String {
    fn from(c: ReasonCode) -> Self {
        c.0
    }
}

/// A refusal reason owned by a domain crate.
///
/// Implementations return a code that never changes once released, and a
/// sentence that practice staff and patients can read.
pub trait Reason: fmt::Display {
    /// The stable code (CamelCase, for example `SlotTaken`).
    fn code(&self) -> &'static str;

    /// The code as an audit [`ReasonCode`].
    fn reason_code(&self) -> ReasonCode {
        ReasonCode(self.code().to_owned())
    }
}

/// What a decision came to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// The action was allowed (and, for a change, committed with this event).
    Allowed,
    /// The action was refused for this reason; nothing changed.
    Refused(ReasonCode),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Allowed => f.write_str("allowed"),
            Outcome::Refused(code) => write!(f, "refused ({code})"),
        }
    }
}

impl Outcome {
    /// Whether the action was allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Outcome::Allowed)
    }
}

/// The kind of thing an audit event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SubjectKind {
    /// A patient.
    Patient,
    /// A member of staff.
    Staff,
    /// A proxy.
    Proxy,
    /// A clinic session.
    Session,
    /// An appointment slot.
    Slot,
    /// A booking.
    Booking,
    /// An item on a repeat medication list.
    Medication,
    /// A repeat prescription request.
    Request,
    /// A message.
    Message,
    /// An online services account.
    Account,
    /// A proxy application.
    Application,
    /// A coercion concern.
    Concern,
    /// Anything else a later crate adds.
    Other,
    /// A problem in the practice's problem log.
    Problem,
}

/// One thing an audit event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// What it is.
    pub kind: SubjectKind,
    /// Its identifier.
    pub id: Uuid,
}

impl Subject {
    /// A subject of `kind` with identifier `id`.
    pub fn new(kind: SubjectKind, id: impl Into<Uuid>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }
}

macro_rules! into_uuid {
    ($($t:ty),*) => {$(
        impl From<$t> for Uuid {
            fn from(id: $t) -> Uuid {
                id.as_uuid()
            }
        }
    )*};
}
into_uuid!(
    crate::ids::PatientId,
    crate::ids::StaffId,
    crate::ids::ProxyId,
    crate::ids::SessionId,
    crate::ids::SlotId,
    crate::ids::BookingId,
    crate::ids::EventId,
    crate::ids::MedicationId,
    crate::ids::RequestId,
    crate::ids::MessageId,
    crate::ids::AccountId,
    crate::ids::ApplicationId,
    crate::ids::ConcernId,
    crate::ids::ProblemId
);

/// The record of one decision: who tried what, for whom, when, through which
/// channel, and whether it was allowed or refused with which reason.
///
/// Every decision in the workspace returns one; a store commits it in the same
/// transaction as the change it describes (or alone, for a refusal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// This event's identifier.
    pub id: EventId,
    /// When the decision was made.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The patient concerned, if any.
    pub patient: Option<PatientId>,
    /// What was attempted.
    pub action: AuditAction,
    /// Allowed, or refused with a reason code.
    pub outcome: Outcome,
    /// The things the event is about (slot, booking, ...).
    pub subjects: Vec<Subject>,
    /// Further facts worth keeping, as readable text (for example an override reason).
    pub details: BTreeMap<String, String>,
    /// Free text a person typed, kept beside the event and never in its
    /// chained encoding (see [`PersonalText`]). Not serialized: a store
    /// keeps these in their own table and attaches them again when it
    /// reads events back, until one is erased.
    #[serde(skip)]
    pub texts: Vec<PersonalText>,
}

/// Free text a person typed (a cancellation reason, why a proxy was
/// revoked), kept beside the audit event that refers to it and never in the
/// hash-chained encoding, so that it can be corrected or erased without
/// breaking the chain.
///
/// The event's details carry `<key>_text`, the text's id, and
/// `<key>_sha256`, the lower-case hex SHA-256 of the salt's 16 bytes
/// followed by the text's UTF-8 bytes: whoever holds the text and its salt
/// can show it is the one recorded; once both are erased the hash says
/// nothing about what it was.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonalText {
    /// The text's id (the `<key>_text` detail).
    pub id: Uuid,
    /// The detail key it stands for (`reason`).
    pub key: String,
    /// A random salt, kept only with the text.
    pub salt: Uuid,
    /// The text itself.
    pub text: String,
}

impl std::fmt::Debug for PersonalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalText")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("salt", &"<redacted>")
            .field("text", &crate::Redacted::of(&self.text))
            .finish()
    }
}

impl PersonalText {
    /// `SHA-256(salt || text)` in lower-case hex: the `<key>_sha256` detail.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update(self.text.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl AuditEvent {
    /// The event a decision starts from: about `patient` (if any), who is
    /// then its first subject, for an action name fixed in the code.
    #[allow(clippy::too_many_arguments)] // reason: each argument is a required audit field
    pub fn decided(
        ids: &dyn IdSource,
        at: DateTime<Utc>,
        actor: Actor,
        channel: Channel,
        patient: Option<PatientId>,
        action: &'static str,
        outcome: Outcome,
    ) -> Self {
        let event = Self::new(
            ids,
            at,
            actor,
            channel,
            patient,
            AuditAction::known(action),
            outcome,
        );
        match patient {
            Some(p) => event.with_subject(SubjectKind::Patient, p),
            None => event,
        }
    }

    /// A new event with no subjects or details.
    #[allow(clippy::too_many_arguments)] // reason: each argument is a required audit field
    pub fn new(
        ids: &dyn IdSource,
        at: DateTime<Utc>,
        actor: Actor,
        channel: Channel,
        patient: Option<PatientId>,
        action: AuditAction,
        outcome: Outcome,
    ) -> Self {
        Self {
            id: EventId::new(ids),
            at,
            actor,
            channel,
            patient,
            action,
            outcome,
            subjects: Vec::new(),
            details: BTreeMap::new(),
            texts: Vec::new(),
        }
    }

    /// Adds a subject.
    pub fn with_subject(mut self, kind: SubjectKind, id: impl Into<Uuid>) -> Self {
        self.subjects.push(Subject::new(kind, id));
        self
    }

    /// Adds a detail.
    pub fn with_detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Adds free text a person typed under `key`, out of the chain: the
    /// details get `<key>_text` (the text's id) and `<key>_sha256` (see
    /// [`PersonalText`]); the text travels in [`AuditEvent::texts`]. The id
    /// comes from `ids`; the salt from the operating system's secure
    /// generator (from `ids` only if that is unavailable), so that the hash
    /// cannot be tested against guessed words even when ids are
    /// predictable. Recording `key` again replaces the earlier text.
    pub fn with_personal_text(mut self, ids: &dyn IdSource, key: &str, text: &str) -> Self {
        let mut salt = [0u8; 16];
        let salt = match crate::random::RandomSource::fill(&crate::random::OsRandom, &mut salt) {
            Ok(()) => Uuid::from_bytes(salt),
            Err(_) => ids.next_uuid(),
        };
        let personal = PersonalText {
            id: ids.next_uuid(),
            key: key.to_owned(),
            salt,
            text: text.to_owned(),
        };
        self.texts.retain(|t| t.key != key);
        self.details
            .insert(format!("{key}_text"), personal.id.to_string());
        self.details
            .insert(format!("{key}_sha256"), personal.digest());
        self.texts.push(personal);
        self
    }

    /// The free text recorded under `key`, while it is kept (`None` once
    /// erased, or if there was none).
    pub fn personal_text(&self, key: &str) -> Option<&str> {
        let id = self.details.get(&format!("{key}_text"))?;
        self.texts
            .iter()
            .find(|t| t.id.to_string() == *id)
            .map(|t| t.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SequentialIds;

    #[test]
    fn action_names_and_reason_codes_are_checked() {
        assert!(AuditAction::parse("appointment.book").is_ok());
        assert!(AuditAction::parse("Appointment.book").is_err());
        assert!(AuditAction::parse("appointment..book").is_err());
        assert!(ReasonCode::parse("SlotTaken").is_ok());
        assert!(ReasonCode::parse("slot_taken").is_err());
        assert!(ReasonCode::parse("").is_err());
        assert!(serde_json::from_str::<ReasonCode>("\"no good\"").is_err());
    }

    #[test]
    fn events_round_trip_through_json() {
        let ids = SequentialIds::new(1);
        let patient = PatientId::new(&ids);
        let event = AuditEvent::new(
            &ids,
            DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
            Actor::Patient { patient },
            Channel::Online,
            Some(patient),
            AuditAction::parse("appointment.book").unwrap(),
            Outcome::Refused(ReasonCode::parse("SlotTaken").unwrap()),
        )
        .with_subject(SubjectKind::Patient, patient)
        .with_detail("note", "x");
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), event);
    }

    fn event_with_text(seed: u64) -> AuditEvent {
        let ids = SequentialIds::new(seed);
        AuditEvent::new(
            &ids,
            chrono::DateTime::UNIX_EPOCH,
            Actor::System,
            Channel::Internal,
            None,
            AuditAction::parse("appointment.cancel").unwrap(),
            Outcome::Allowed,
        )
        .with_personal_text(&ids, "reason", "first words")
        .with_personal_text(&ids, "reason", "second words")
    }

    #[test]
    fn personal_text_is_out_of_the_encoding_salted_from_the_system_and_replaced_by_key() {
        let (a, b) = (event_with_text(1), event_with_text(1));
        // Same predictable ids, different salts: the hash cannot be
        // rebuilt from the ids and guessed words.
        assert_eq!(a.texts[0].id, b.texts[0].id);
        assert_ne!(a.texts[0].salt, b.texts[0].salt);
        assert_ne!(a.details["reason_sha256"], b.details["reason_sha256"]);
        // Recording a key again replaces the text and its reference.
        assert_eq!(a.texts.len(), 1);
        assert_eq!(a.personal_text("reason"), Some("second words"));
        assert_eq!(a.details["reason_text"], a.texts[0].id.to_string());
        assert_eq!(a.details["reason_sha256"], a.texts[0].digest());
        // Neither the words nor the salt are serialized or shown.
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains("words") && !json.contains(&a.texts[0].salt.to_string()));
        assert!(!format!("{a:?}").contains("words"));
    }
}
