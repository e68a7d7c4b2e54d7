//! The messages facade.

use gp_core::{Actor, Channel, Clock, IdSource, MessageId, PatientId, RandomIds, StoreError};
use gp_messaging::{
    decide_inbox, decide_reply, decide_send, decide_settings, InboxMove, Message, MessageAction,
    MessageChange, MessageStore, MessagingRefusal, MessagingSettings, NewMessage,
};

use crate::commit::{Core, Outcome, Prior};
use crate::{Answer, OnlineError};

/// The messages facade over a store and a clock: load, decide with
/// `gp-messaging`'s rules, commit with the audit event, and on a conflict
/// decide again (bounded). Refusals are recorded. It does not ask the access
/// records: [`crate::Practice`] does.
pub struct Messages<S, C> {
    core: Core<S, C>,
}

type Answered<T> = Result<Answer<T, MessagingRefusal>, OnlineError>;

impl<S: MessageStore, C: Clock> Messages<S, C> {
    /// A facade over `store` and `clock`, making random identifiers.
    pub fn new(store: S, clock: C) -> Self {
        Self::with_ids(store, clock, Box::new(RandomIds))
    }

    /// Like [`Messages::new`], with identifiers from `ids` (for repeatable tests).
    pub fn with_ids(store: S, clock: C, ids: Box<dyn IdSource>) -> Self {
        Self {
            core: Core::new(store, clock, ids),
        }
    }

    /// The store (for reading the inbox and a patient's messages).
    pub fn store(&self) -> &S {
        &self.core.store
    }

    /// One message with its replies.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>, OnlineError> {
        Ok(self.core.store.message(id).await?)
    }

    /// A patient's messages, in the order sent.
    pub async fn messages_for(&self, patient: PatientId) -> Result<Vec<Message>, OnlineError> {
        Ok(self.core.store.messages_for_patient(patient).await?)
    }

    /// The staff inbox: every message not handled, oldest first.
    pub async fn inbox(&self) -> Result<Vec<Message>, OnlineError> {
        Ok(self.core.store.inbox().await?)
    }

    /// Sends a message to the practice. A link is taken to be the
    /// patient's own (this facade sees no appointments or medicines;
    /// `Practice::send` checks them).
    pub async fn send(&self, message: &NewMessage) -> Answered<Message> {
        self.send_after(message, Some(message.patient), &Prior::none())
            .await
    }

    /// Like [`Messages::send`], with whose the linked appointment or
    /// medicine is, as read from the other records.
    pub(crate) async fn send_after(
        &self,
        message: &NewMessage,
        link_owner: Option<PatientId>,
        prior: &Prior,
    ) -> Answered<Message> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let settings = self.core.store.settings().await?;
                Ok(decide_send(
                    &settings,
                    message,
                    link_owner,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        stored(outcome)
    }

    /// Replies to a message (staff, or the patient's side).
    pub async fn reply(&self, action: &MessageAction, body: &str) -> Answered<Message> {
        self.reply_after(action, body, &Prior::none()).await
    }

    pub(crate) async fn reply_after(
        &self,
        action: &MessageAction,
        body: &str,
        prior: &Prior,
    ) -> Answered<Message> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let settings = self.core.store.settings().await?;
                let message = self.core.store.message(action.message).await?;
                Ok(decide_reply(
                    &settings,
                    message.as_ref(),
                    action,
                    body,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        stored(outcome)
    }

    /// Marks a message read or handled (staff).
    pub async fn mark(&self, action: &MessageAction, to: InboxMove) -> Answered<Message> {
        self.mark_after(action, to, &Prior::none()).await
    }

    pub(crate) async fn mark_after(
        &self,
        action: &MessageAction,
        to: InboxMove,
        prior: &Prior,
    ) -> Answered<Message> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let message = self.core.store.message(action.message).await?;
                Ok(decide_inbox(
                    message.as_ref(),
                    action,
                    to,
                    now,
                    self.core.ids.as_ref(),
                ))
            })
            .await?;
        stored(outcome)
    }

    /// Switches messaging on or off (staff; `Practice` asks the access matrix first).
    pub async fn set_settings(
        &self,
        actor: Actor,
        channel: Channel,
        settings: &MessagingSettings,
    ) -> Answered<MessagingSettings> {
        self.set_settings_after(actor, channel, settings, &Prior::none())
            .await
    }

    pub(crate) async fn set_settings_after(
        &self,
        actor: Actor,
        channel: Channel,
        settings: &MessagingSettings,
        prior: &Prior,
    ) -> Answered<MessagingSettings> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let current = self.core.store.settings().await?;
                Ok(decide_settings(
                    &current,
                    actor,
                    channel,
                    settings,
                    now,
                    self.core.ids.as_ref(),
                ))
            })
            .await?;
        Ok(match outcome {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(_) => Answer::Done(settings.clone()),
        })
    }
}

fn stored(
    outcome: Outcome<MessageChange, gp_messaging::Precondition, MessagingRefusal>,
) -> Answered<Message> {
    match outcome {
        Outcome::Refused(r) => Ok(Answer::Refused(r)),
        Outcome::Committed(c) => c.change.message.map(Answer::Done).ok_or_else(|| {
            StoreError::Corrupt("a message decision stored no message".into()).into()
        }),
    }
}
