//! An in-memory MessageStore that honours the whole contract.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use gp_core::{AuditEvent, MessageId, PatientId};

use crate::decide::{Committable, Precondition, SettingsFacts};
use crate::error::{CommitError, StoreError};
use crate::message::{InboxState, Message};
use crate::store::MessageStore;

#[derive(Debug, Default)]
struct State {
    settings: SettingsFacts,
    messages: HashMap<MessageId, Message>,
    order: Vec<MessageId>,
    events: Vec<AuditEvent>,
}

/// A [`MessageStore`] held in memory, behind one lock. For tests, examples and
/// trials; data is lost when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryMessageStore {
    state: Mutex<State>,
}

impl MemoryMessageStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is checked in full before any part is applied.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks that `next` may replace what is stored under its identifier.
pub(crate) fn check_revision(stored: Option<&Message>, next: &Message) -> Result<(), StoreError> {
    match stored {
        None if next.revision == 0 => Ok(()),
        None => Err(StoreError::Invalid(format!(
            "message {} is not stored, so it cannot be at revision {}",
            next.id, next.revision
        ))),
        Some(s) if s.patient != next.patient => Err(StoreError::Invalid(format!(
            "message {} cannot change patient",
            next.id
        ))),
        Some(s) if next.revision != s.revision + 1 => Err(StoreError::Invalid(format!(
            "message {} is at revision {}, so the next is {}, not {}",
            next.id,
            s.revision,
            s.revision + 1,
            next.revision
        ))),
        Some(_) => Ok(()),
    }
}

#[async_trait]
impl MessageStore for MemoryMessageStore {
    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        Ok(self.lock().settings.clone())
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        Ok(self.lock().messages.get(&id).cloned())
    }

    async fn messages_for_patient(&self, patient: PatientId) -> Result<Vec<Message>, StoreError> {
        let state = self.lock();
        Ok(state
            .order
            .iter()
            .filter_map(|id| state.messages.get(id))
            .filter(|m| m.patient == patient)
            .cloned()
            .collect())
    }

    async fn inbox(&self) -> Result<Vec<Message>, StoreError> {
        let state = self.lock();
        let mut out: Vec<Message> = state
            .messages
            .values()
            .filter(|m| !matches!(m.state, InboxState::Handled { .. }))
            .cloned()
            .collect();
        out.sort_by_key(|m| (m.at, m.id));
        Ok(out)
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let mut state = self.lock();
        for p in &decision.preconditions {
            let holds = match p {
                Precondition::MessageNew(id) => !state.messages.contains_key(id),
                Precondition::MessageAt { message, revision } => state
                    .messages
                    .get(message)
                    .is_some_and(|m| m.revision == *revision),
                Precondition::SettingsUnchanged { version } => state.settings.version == *version,
                Precondition::Authorized(guard) => {
                    return Err(StoreError::Invalid(format!(
                        "the access record of patient {} cannot be checked: this store keeps none",
                        guard.patient
                    ))
                    .into())
                }
            };
            if !holds {
                return Err(CommitError::Conflict(p.clone()));
            }
        }
        if let Some(m) = &decision.change.message {
            check_revision(state.messages.get(&m.id), m)?;
        }
        if let Some(m) = &decision.change.message {
            if state.messages.insert(m.id, m.clone()).is_none() {
                state.order.push(m.id);
            }
        }
        if let Some(s) = &decision.change.settings {
            state.settings = SettingsFacts {
                settings: s.clone(),
                version: state.settings.version + 1,
            };
        }
        state.events.extend(decision.events.iter().cloned());
        Ok(())
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.lock().events.extend(events.iter().cloned());
        Ok(())
    }

    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self.lock().events.clone())
    }
}
