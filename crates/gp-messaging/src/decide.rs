//! Pure messaging decisions: facts and a time in, an allowed change with its
//! audit event (or a refusal with its event) out. No I/O, no clock.

use std::fmt;

use chrono::{DateTime, Utc};
use gp_core::{
    bounded_text, Actor, AuditEvent, Channel, IdSource, MessageId, Outcome, PatientId, Reason,
    SubjectKind,
};
use serde::{Deserialize, Serialize};

use crate::error::MessageError;
use crate::message::{InboxState, Message, MessageLink, Reply, MAX_BODY, MAX_SUBJECT};
use crate::refusal::MessagingRefusal;

/// The practice's messaging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingSettings {
    /// Whether patients and proxies may send messages and replies. Default: on.
    /// Staff may still reply to messages already sent while it is off.
    pub enabled: bool,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The settings as stored, with their version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsFacts {
    /// The settings in force.
    pub settings: MessagingSettings,
    /// Their version: 0 until first stored, then one more at each change.
    pub version: u64,
}

/// A fact a decision relied on, checked by the store inside its write transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precondition {
    /// No message with this identifier is stored yet.
    MessageNew(MessageId),
    /// The message is stored at this revision.
    MessageAt {
        /// The message.
        message: MessageId,
        /// The revision the decision saw.
        revision: u64,
    },
    /// The settings are still at this version.
    SettingsUnchanged {
        /// The version the decision saw.
        version: u64,
    },
    /// The patient's access record is still at the version the action was
    /// authorized on (checked by a store that keeps the access records too).
    Authorized(gp_core::AccessGuard),
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precondition::MessageNew(id) => write!(f, "message {id} is already stored"),
            Precondition::MessageAt { message, .. } => write!(f, "message {message} changed"),
            Precondition::SettingsUnchanged { .. } => {
                f.write_str("the practice's messaging settings changed")
            }
            Precondition::Authorized(guard) => guard.fmt(f),
        }
    }
}

/// What an allowed decision writes: whole values stored in place of the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageChange {
    /// A message to store (new, or a new revision).
    pub message: Option<Message>,
    /// New settings.
    pub settings: Option<MessagingSettings>,
}

/// An allowed messaging decision: the change, its audit event and its preconditions.
pub type Committable = gp_core::Committable<MessageChange, Precondition>;

/// A refused messaging decision: the reason and the event recording it.
pub type Refusal = gp_core::Refusal<MessagingRefusal>;

/// What a messaging decision came to.
pub type Decision = gp_core::Decision<MessageChange, Precondition, MessagingRefusal>;

/// A new message, checked. Build one with [`NewMessage::new`].
#[derive(Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Who writes (the patient or a proxy).
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// About which patient.
    pub patient: PatientId,
    /// Subject, trimmed, 1 to 120 characters.
    pub subject: String,
    /// Body, trimmed, 1 to 2,000 characters.
    pub body: String,
    /// What it is about.
    pub link: Option<MessageLink>,
}

impl NewMessage {
    /// A new message with its subject and body checked.
    pub fn new(
        actor: Actor,
        channel: Channel,
        patient: PatientId,
        subject: &str,
        body: &str,
        link: Option<MessageLink>,
    ) -> Result<Self, MessageError> {
        Ok(Self {
            actor,
            channel,
            patient,
            subject: bounded_text(subject, "subject", MAX_SUBJECT, true)?,
            body: bounded_text(body, "message", MAX_BODY, true)?,
            link,
        })
    }

    /// Checks what [`NewMessage::new`] checks, for a value built field by
    /// field: a subject of 1 to 120 characters and a body of 1 to 2,000,
    /// trimmed, with no control characters.
    pub fn check(&self) -> Result<(), MessageError> {
        for (field, text, max) in [
            ("subject", &self.subject, MAX_SUBJECT),
            ("message", &self.body, MAX_BODY),
        ] {
            if bounded_text(text, field, max, true)? != *text {
                return Err(MessageError::Text(gp_core::ParseError::Empty { field }));
            }
        }
        Ok(())
    }
}

/// Who acts on a stored message, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageAction {
    /// Who acts.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The message.
    pub message: MessageId,
}

/// What staff do to a message in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxMove {
    /// Mark it read (from unread).
    Read,
    /// Mark it handled (from unread or read).
    Handled,
}

struct Ctx<'a> {
    ids: &'a dyn IdSource,
    now: DateTime<Utc>,
    actor: Actor,
    channel: Channel,
    patient: Option<PatientId>,
    action: &'static str,
    message: Option<MessageId>,
}

impl Ctx<'_> {
    fn event(&self, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::decided(
            self.ids,
            self.now,
            self.actor,
            self.channel,
            self.patient,
            self.action,
            outcome,
        );
        if let Some(m) = self.message {
            e = e.with_subject(SubjectKind::Message, m);
        }
        e
    }

    fn refuse(&self, reason: MessagingRefusal) -> Decision {
        let event = self.event(Outcome::Refused(reason.reason_code()));
        Decision::Refused(Refusal::new(reason, event))
    }
}

/// Decides sending a message: patients and proxies, online, for their own
/// patient, while the practice has messaging on.
///
/// `link_owner` is whose the appointment or medicine the message links to
/// is, as the facade read it from the other records (`None`: there is no
/// such appointment or medicine): a message links only to the patient's
/// own (`LinkNotFound` otherwise).
pub fn decide_send(
    settings: &SettingsFacts,
    message: &NewMessage,
    link_owner: Option<PatientId>,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, MessageError> {
    message.check()?;
    Ok(decide_checked_send(settings, message, link_owner, now, ids))
}

fn decide_checked_send(
    settings: &SettingsFacts,
    message: &NewMessage,
    link_owner: Option<PatientId>,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let id = MessageId::new(ids);
    let ctx = Ctx {
        ids,
        now,
        actor: message.actor,
        channel: message.channel,
        patient: Some(message.patient),
        action: "message.send",
        message: Some(id),
    };
    if message.actor.is_staff() || !message.actor.may_use(message.channel) {
        return ctx.refuse(MessagingRefusal::ChannelNotAllowed);
    }
    if message.actor.speaks_for() != Some(message.patient) {
        return ctx.refuse(MessagingRefusal::ActorNotForPatient);
    }
    if !settings.settings.enabled {
        return ctx.refuse(MessagingRefusal::MessagingOff);
    }
    if message.link.is_some() && link_owner != Some(message.patient) {
        return ctx.refuse(MessagingRefusal::LinkNotFound);
    }
    let stored = Message {
        id,
        patient: message.patient,
        writer: message.actor,
        at: now,
        subject: message.subject.clone(),
        body: message.body.clone(),
        link: message.link,
        state: InboxState::Unread,
        replies: Vec::new(),
        revision: 0,
    };
    let mut event = ctx.event(Outcome::Allowed);
    match message.link {
        Some(MessageLink::Medication(m)) => event = event.with_subject(SubjectKind::Medication, m),
        Some(MessageLink::Appointment(b)) => event = event.with_subject(SubjectKind::Booking, b),
        None => {}
    }
    Decision::Allowed(Committable {
        change: MessageChange {
            message: Some(stored),
            settings: None,
        },
        events: vec![event],
        preconditions: vec![
            Precondition::MessageNew(id),
            Precondition::SettingsUnchanged {
                version: settings.version,
            },
        ],
    })
}

fn changed(before: &Message, after: Message, event: AuditEvent) -> Decision {
    Decision::Allowed(Committable {
        preconditions: vec![Precondition::MessageAt {
            message: before.id,
            revision: before.revision,
        }],
        change: MessageChange {
            message: Some(after),
            settings: None,
        },
        events: vec![event],
    })
}

/// Decides a reply: staff may always reply (which marks an unread message
/// read); the patient or their proxy may reply online while messaging is on,
/// which puts the message back in the inbox as unread.
pub fn decide_reply(
    settings: &SettingsFacts,
    message: Option<&Message>,
    action: &MessageAction,
    body: &str,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, MessageError> {
    let body = bounded_text(body, "reply", MAX_BODY, true)?;
    let ctx = Ctx {
        ids,
        now,
        actor: action.actor,
        channel: action.channel,
        patient: message.map(|m| m.patient),
        action: "message.reply",
        message: Some(action.message),
    };
    if !action.actor.may_use(action.channel) {
        return Ok(ctx.refuse(MessagingRefusal::ChannelNotAllowed));
    }
    let Some(message) = message.filter(|m| m.id == action.message) else {
        return Ok(ctx.refuse(MessagingRefusal::MessageNotFound));
    };
    let mut after = message.clone();
    after.revision += 1;
    after.replies.push(Reply {
        by: action.actor,
        at: now,
        body,
    });
    match action.actor {
        Actor::Staff { staff, .. } => {
            if after.state == InboxState::Unread {
                after.state = InboxState::Read { by: staff, at: now };
            }
        }
        _ => {
            if action.actor.speaks_for() != Some(message.patient) {
                return Ok(ctx.refuse(MessagingRefusal::ActorNotForPatient));
            }
            if !settings.settings.enabled {
                return Ok(ctx.refuse(MessagingRefusal::MessagingOff));
            }
            after.state = InboxState::Unread;
        }
    }
    let event = ctx
        .event(Outcome::Allowed)
        .with_detail("state", after.state.name());
    Ok(changed(message, after, event))
}

/// Decides a move in the staff inbox: unread to read; unread or read to handled.
pub fn decide_inbox(
    message: Option<&Message>,
    action: &MessageAction,
    to: InboxMove,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = Ctx {
        ids,
        now,
        actor: action.actor,
        channel: action.channel,
        patient: message.map(|m| m.patient),
        action: match to {
            InboxMove::Read => "message.read",
            InboxMove::Handled => "message.handled",
        },
        message: Some(action.message),
    };
    let Actor::Staff { staff, .. } = action.actor else {
        return ctx.refuse(MessagingRefusal::StaffOnly);
    };
    if !action.actor.may_use(action.channel) {
        return ctx.refuse(MessagingRefusal::ChannelNotAllowed);
    }
    let Some(message) = message.filter(|m| m.id == action.message) else {
        return ctx.refuse(MessagingRefusal::MessageNotFound);
    };
    let state = match (&message.state, to) {
        (InboxState::Handled { .. }, _) => return ctx.refuse(MessagingRefusal::AlreadyHandled),
        (InboxState::Read { .. }, InboxMove::Read) => {
            return ctx.refuse(MessagingRefusal::AlreadyRead)
        }
        (_, InboxMove::Read) => InboxState::Read { by: staff, at: now },
        (_, InboxMove::Handled) => InboxState::Handled { by: staff, at: now },
    };
    let mut after = message.clone();
    after.revision += 1;
    after.state = state;
    let event = ctx.event(Outcome::Allowed);
    changed(message, after, event)
}

/// Decides switching messaging on or off, by a member of staff. Which
/// members of staff may is the practice's access rule (in `gp-access`: the
/// practice manager or a lead), asked first by `gp_online::Practice`.
pub fn decide_settings(
    current: &SettingsFacts,
    actor: Actor,
    channel: Channel,
    settings: &MessagingSettings,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: None,
        action: "message.settings",
        message: None,
    };
    if !actor.is_staff() {
        return ctx.refuse(MessagingRefusal::RoleNotPermitted);
    }
    if !actor.may_use(channel) {
        return ctx.refuse(MessagingRefusal::ChannelNotAllowed);
    }
    Decision::Allowed(Committable {
        change: MessageChange {
            message: None,
            settings: Some(settings.clone()),
        },
        events: vec![ctx
            .event(Outcome::Allowed)
            .with_detail("enabled", settings.enabled.to_string())],
        preconditions: vec![Precondition::SettingsUnchanged {
            version: current.version,
        }],
    })
}

gp_core::redacted_debug!(NewMessage {
    show: [actor, channel, patient, link],
    hide: [subject, body],
});
