//! The MessageStore port: what the messaging rules need from storage.

use async_trait::async_trait;
use gp_core::{AuditEvent, MessageId, PatientId};

use crate::decide::{Committable, SettingsFacts};
use crate::error::{CommitError, StoreError};
use crate::message::Message;

/// Storage for messages, the practice's messaging settings and their audit events.
///
/// Implementations: [`crate::MemoryMessageStore`] here, the SQLite adapter in
/// `gp-sqlite`, and any supplier's own. The conformance suite in `gp-testkit`
/// (`gp_testkit::messaging`) is the executable form of this contract.
///
/// # Contract
///
/// - **Settings never stored are the defaults at version 0**; each commit
///   with new settings moves the version on by one.
/// - **Commits are atomic and conditional.** [`MessageStore::commit`] checks
///   every precondition, stores the message (in place of the stored one with
///   its identifier) and the settings, and appends every event, as one
///   transaction; if a precondition no longer holds it returns
///   [`CommitError::Conflict`] naming it and writes nothing.
/// - **Revisions move by one.** A stored message is replaced only by its
///   next revision, and a new message has revision 0; otherwise
///   [`StoreError::Invalid`], nothing written. A message never changes patient.
/// - **The inbox** is every message not handled, oldest first (by time, then
///   identifier). A patient's messages come in the order they were sent.
/// - **Refusals are recorded**; **audit order is commit order**; a storage
///   failure is a [`StoreError`], never a panic, and leaves data as it was.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// The practice's settings.
    async fn settings(&self) -> Result<SettingsFacts, StoreError>;

    /// One message with its replies.
    async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError>;

    /// A patient's messages, in the order they were sent.
    async fn messages_for_patient(&self, patient: PatientId) -> Result<Vec<Message>, StoreError>;

    /// The staff inbox: every message not handled, oldest first.
    async fn inbox(&self) -> Result<Vec<Message>, StoreError>;

    /// Applies an allowed decision with its events if its preconditions hold.
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError>;

    /// Appends the audit events of a refusal, all or none.
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Every audit event appended, oldest first.
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError>;
}

/// A shared store is a store: one store (for example one SQLite database)
/// can serve several facades.
#[async_trait]
impl<T: MessageStore + ?Sized> MessageStore for std::sync::Arc<T> {
    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        (**self).settings().await
    }
    async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        (**self).message(id).await
    }
    async fn messages_for_patient(&self, patient: PatientId) -> Result<Vec<Message>, StoreError> {
        (**self).messages_for_patient(patient).await
    }
    async fn inbox(&self) -> Result<Vec<Message>, StoreError> {
        (**self).inbox().await
    }
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        (**self).commit(decision).await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        (**self).record_refusal(events).await
    }
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        (**self).audit_events().await
    }
}
