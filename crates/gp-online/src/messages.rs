//! The messages facade.

use chrono::{DateTime, Utc};
use gp_core::{Actor, AuditEvent, Channel, Clock, IdSource, RandomIds};
use gp_messaging::{
    decide_inbox, decide_reply, decide_send, decide_settings, CommitError, Committable, Decision,
    InboxMove, Message, MessageAction, MessageStore, MessagingRefusal, MessagingSettings,
    NewMessage,
};

use crate::{Answer, OnlineError};

/// The messages facade over a store and a clock: load, decide with
/// `gp-messaging`'s rules, commit with the audit event, and on a conflict
/// decide again (bounded). Refusals are recorded.
pub struct Messages<S, C> {
    store: S,
    clock: C,
    ids: Box<dyn IdSource>,
    max_attempts: u32,
}

impl<S: MessageStore, C: Clock> Messages<S, C> {
    /// A facade over `store` and `clock`, making random identifiers.
    pub fn new(store: S, clock: C) -> Self {
        Self::with_ids(store, clock, Box::new(RandomIds))
    }

    /// Like [`Messages::new`], with identifiers from `ids` (for repeatable tests).
    pub fn with_ids(store: S, clock: C, ids: Box<dyn IdSource>) -> Self {
        Self {
            store,
            clock,
            ids,
            max_attempts: 16,
        }
    }

    /// The store (for reading the inbox and a patient's messages).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Sends a message to the practice.
    pub async fn send(
        &self,
        message: &NewMessage,
    ) -> Result<Answer<Message, MessagingRefusal>, OnlineError> {
        self.send_after(message, &[]).await
    }

    /// Like [`Messages::send`], with the events of decisions taken just
    /// before it (such as an allowed authorization) committed in the
    /// message's own transaction, or recorded with its refusal.
    pub async fn send_after(
        &self,
        message: &NewMessage,
        earlier: &[AuditEvent],
    ) -> Result<Answer<Message, MessagingRefusal>, OnlineError> {
        self.run_after(earlier, |now| async move {
            let settings = self.store.settings().await?;
            Ok(decide_send(&settings, message, now, self.ids.as_ref()))
        })
        .await
        .and_then(stored)
    }

    /// Replies to a message (staff, or the patient's side).
    pub async fn reply(
        &self,
        action: &MessageAction,
        body: &str,
    ) -> Result<Answer<Message, MessagingRefusal>, OnlineError> {
        self.run(|now| async move {
            let settings = self.store.settings().await?;
            let message = self.store.message(action.message).await?;
            Ok(decide_reply(
                &settings,
                message.as_ref(),
                action,
                body,
                now,
                self.ids.as_ref(),
            )?)
        })
        .await
        .and_then(stored)
    }

    /// Marks a message read or handled (staff).
    pub async fn mark(
        &self,
        action: &MessageAction,
        to: InboxMove,
    ) -> Result<Answer<Message, MessagingRefusal>, OnlineError> {
        self.run(|now| async move {
            let message = self.store.message(action.message).await?;
            Ok(decide_inbox(
                message.as_ref(),
                action,
                to,
                now,
                self.ids.as_ref(),
            ))
        })
        .await
        .and_then(stored)
    }

    /// Switches messaging on or off (staff; ask the access matrix first, as
    /// `Practice::set_messaging_settings` does).
    pub async fn set_settings(
        &self,
        actor: Actor,
        channel: Channel,
        settings: &MessagingSettings,
    ) -> Result<Answer<MessagingSettings, MessagingRefusal>, OnlineError> {
        let answer = self
            .run(|now| async move {
                let current = self.store.settings().await?;
                Ok(decide_settings(
                    &current,
                    actor,
                    channel,
                    settings,
                    now,
                    self.ids.as_ref(),
                ))
            })
            .await?;
        Ok(match answer {
            Answer::Refused(r) => Answer::Refused(r),
            Answer::Done(_) => Answer::Done(settings.clone()),
        })
    }

    async fn run<'a, F, Fut>(
        &'a self,
        decide: F,
    ) -> Result<Answer<Box<Committable>, MessagingRefusal>, OnlineError>
    where
        F: Fn(DateTime<Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<Decision, OnlineError>> + 'a,
    {
        self.run_after(&[], decide).await
    }

    async fn run_after<'a, F, Fut>(
        &'a self,
        earlier: &[AuditEvent],
        decide: F,
    ) -> Result<Answer<Box<Committable>, MessagingRefusal>, OnlineError>
    where
        F: Fn(DateTime<Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<Decision, OnlineError>> + 'a,
    {
        for _ in 0..self.max_attempts {
            let now = self.clock.now();
            let mut committable = match decide(now).await? {
                Decision::Refused(refusal) => {
                    for e in earlier {
                        self.store.record_refusal(e).await?;
                    }
                    self.store.record_refusal(&refusal.event).await?;
                    return Ok(Answer::Refused(refusal.reason));
                }
                Decision::Allowed(c) => c,
            };
            if !earlier.is_empty() {
                committable.events.splice(0..0, earlier.iter().cloned());
            }
            match self.store.commit(&committable).await {
                Ok(()) => return Ok(Answer::Done(Box::new(committable))),
                Err(CommitError::Conflict(_)) => continue,
                Err(CommitError::Store(e)) => return Err(e.into()),
                Err(other) => {
                    return Err(gp_messaging::StoreError::Unavailable(other.to_string()).into())
                }
            }
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }
}

fn stored(
    answer: Answer<Box<Committable>, MessagingRefusal>,
) -> Result<Answer<Message, MessagingRefusal>, OnlineError> {
    match answer {
        Answer::Refused(r) => Ok(Answer::Refused(r)),
        Answer::Done(c) => c.change.message.map(Answer::Done).ok_or_else(|| {
            gp_messaging::StoreError::Corrupt("a message decision stored no message".into()).into()
        }),
    }
}
