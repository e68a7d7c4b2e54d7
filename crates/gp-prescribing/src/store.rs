//! The PrescribingStore port: what the prescribing rules need from storage.

use async_trait::async_trait;
use gp_core::{AuditEvent, PatientId, RequestId};

use crate::decision::{Committable, PrescribingFacts, SettingsFacts};
use crate::error::{CommitError, StoreError};
use crate::item::RepeatItem;
use crate::request::RepeatRequest;

/// Storage for repeat lists, requests, ordering restrictions, the practice's
/// prescribing settings and their audit events.
///
/// Implementations: [`crate::MemoryPrescribingStore`] here, the SQLite adapter
/// in `gp-sqlite`, and any supplier's own. The conformance suite in
/// `gp-testkit` (`gp_testkit::prescribing`) is the executable form of this
/// contract.
///
/// # Contract
///
/// - **Reads are snapshots.** [`PrescribingStore::load`] reads the settings
///   and the patient's whole record together. A patient with nothing stored
///   has an empty record at version 0; settings never stored are the
///   defaults at version 0.
/// - **Versions count changes.** Each commit that changes a patient's record
///   moves its version on by exactly one; each commit with new settings moves
///   the settings' version on by one.
/// - **Commits are atomic and conditional.** [`PrescribingStore::commit`]
///   checks every precondition, applies the change and appends every event as
///   one transaction; if a precondition no longer holds it returns
///   [`CommitError::Conflict`] naming it and writes nothing.
/// - **One open request per item, whatever the preconditions say.** A commit
///   that would leave an item with open lines (requested or approved) in two
///   requests returns `Conflict(NoOpenRequest(item))` and writes nothing.
/// - **Changes hang together.** An item or request in a change must belong
///   to the change's patient, and an identifier stored for one patient is
///   never taken over by another: otherwise [`StoreError::Invalid`], nothing
///   written.
/// - **Refusals are recorded.** [`PrescribingStore::record_refusal`] appends
///   the events alone, all or none.
/// - **Audit order is commit order.** [`PrescribingStore::audit_events`]
///   returns every event appended, oldest first; an event is there if and
///   only if its commit succeeded.
/// - **Errors are portable.** A storage failure is a [`StoreError`], never a
///   panic, and leaves stored data as it was.
#[async_trait]
pub trait PrescribingStore: Send + Sync {
    /// The settings and one patient's record, read together.
    async fn load(&self, patient: PatientId) -> Result<PrescribingFacts, StoreError>;

    /// The practice's settings.
    async fn settings(&self) -> Result<SettingsFacts, StoreError>;

    /// Whose request this is, if it is stored.
    async fn request_patient(&self, request: RequestId) -> Result<Option<PatientId>, StoreError>;

    /// The practice's queue: every request with an open line (requested or
    /// approved), oldest first (by time, then identifier).
    async fn queue(&self) -> Result<Vec<RepeatRequest>, StoreError>;

    /// The review list: every active item a patient flagged as no longer
    /// taken, oldest flag first (by time, then identifier).
    async fn review_list(&self) -> Result<Vec<RepeatItem>, StoreError>;

    /// Applies an allowed decision with its events if its preconditions hold.
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError>;

    /// Appends the audit events of a refusal.
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Every audit event appended, oldest first.
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError>;
}

/// A shared store is a store: one store (for example one SQLite database)
/// can serve several facades.
#[async_trait]
impl<T: PrescribingStore + ?Sized> PrescribingStore for std::sync::Arc<T> {
    async fn load(&self, patient: PatientId) -> Result<PrescribingFacts, StoreError> {
        (**self).load(patient).await
    }
    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        (**self).settings().await
    }
    async fn request_patient(&self, request: RequestId) -> Result<Option<PatientId>, StoreError> {
        (**self).request_patient(request).await
    }
    async fn queue(&self) -> Result<Vec<RepeatRequest>, StoreError> {
        (**self).queue().await
    }
    async fn review_list(&self) -> Result<Vec<RepeatItem>, StoreError> {
        (**self).review_list().await
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
