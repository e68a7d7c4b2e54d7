//! The AccessStore port: what the access rules need from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gp_core::{AccountId, AuditEvent, PatientId, StaffId};

use crate::decision::{AccessFacts, Committable, SettingsFacts};
use crate::error::{CommitError, StoreError};
use crate::model::{AccessRecord, StaffProfile};

/// Storage for access records, staff profiles, the access settings and their
/// audit events.
///
/// Implementations: [`crate::MemoryAccessStore`] here, the SQLite adapter in
/// `gp-sqlite`, and any supplier's own. The conformance suite in `gp-testkit`
/// (`gp_testkit::access`) is the executable form of this contract.
///
/// # Contract
///
/// - **Reads are snapshots.** [`AccessStore::load`] reads the settings, the
///   patient's record and the staff profile together (and the list entry,
///   if [`AccessStore::loads_listing`]). A patient with nothing
///   stored has an empty record at version 0; settings never stored are the
///   defaults at version 0.
/// - **Versions count changes.** Each commit with a record moves that
///   record's version on by one (whatever version the record in the change
///   carries); each commit with a staff profile moves that profile's
///   version on by one; each commit with settings moves theirs on by one.
/// - **Staff preconditions.** `NoStaffYet` holds while no staff profile is
///   stored; `StaffAsStored` while the stored profile (version included)
///   equals the one given.
/// - **Commits are atomic and conditional**: every precondition is checked,
///   the record, staff profile and settings are stored and every event
///   appended as one transaction, or `Conflict` and nothing is written.
/// - **An account id belongs to one patient**: a record whose linkage
///   account id is stored for another patient is `StoreError::Invalid`.
/// - **Refusals are recorded**; **audit order is commit order**; a storage
///   failure is a [`StoreError`], never a panic, and leaves data as it was.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// The settings, a patient's record and (if `staff` is given and
    /// recorded) a staff profile, read together.
    async fn load(
        &self,
        patient: PatientId,
        staff: Option<StaffId>,
    ) -> Result<AccessFacts, StoreError>;

    /// Whether [`AccessStore::load`] also reads the patient's entry on the
    /// practice's list into [`AccessFacts::listed`], in the same read (a
    /// store that keeps the list beside the access records, as gp-sqlite's
    /// does). Default `false`: the facade reads the list through the
    /// [`crate::PatientList`] port. A store that answers `true` must fill
    /// `listed` exactly as its `PatientList::listed_patient` would.
    fn loads_listing(&self) -> bool {
        false
    }

    /// The patient whose linkage account this is, if any.
    async fn patient_for_account(
        &self,
        account: AccountId,
    ) -> Result<Option<PatientId>, StoreError>;

    /// A staff profile.
    async fn staff(&self, staff: StaffId) -> Result<Option<StaffProfile>, StoreError>;

    /// Every staff profile, in the order first stored.
    async fn all_staff(&self) -> Result<Vec<StaffProfile>, StoreError>;

    /// The settings.
    async fn settings(&self) -> Result<SettingsFacts, StoreError>;

    /// Every stored record (for the review and removal lists).
    async fn records(&self) -> Result<Vec<AccessRecord>, StoreError>;

    /// Applies an allowed decision with its events if its preconditions hold.
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError>;

    /// Appends the audit events of a refusal, all or none.
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Every audit event appended, oldest first.
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError>;

    /// How many events in `from..=to` count towards the practice-wide
    /// limit on failed linkage attempts, by [`crate::failed_redemption`]
    /// (refused redemptions for accounts patients hold, in whole seconds).
    /// The default counts [`AccessStore::audit_events`]; a store with a
    /// long trail answers from an index (gp-sqlite does). A commit with
    /// [`crate::Precondition::FailedRedemptionsBelow`] checks the same count
    /// in its own transaction.
    async fn failed_redemptions_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let events = self.audit_events().await?;
        let failed = events
            .iter()
            .filter(|e| crate::failed_redemption(e, from, to))
            .count();
        Ok(u64::try_from(failed).unwrap_or(u64::MAX))
    }
}

/// A shared store is a store.
#[async_trait]
impl<T: AccessStore + ?Sized> AccessStore for std::sync::Arc<T> {
    async fn load(
        &self,
        patient: PatientId,
        staff: Option<StaffId>,
    ) -> Result<AccessFacts, StoreError> {
        (**self).load(patient, staff).await
    }
    fn loads_listing(&self) -> bool {
        (**self).loads_listing()
    }
    async fn patient_for_account(
        &self,
        account: AccountId,
    ) -> Result<Option<PatientId>, StoreError> {
        (**self).patient_for_account(account).await
    }
    async fn staff(&self, staff: StaffId) -> Result<Option<StaffProfile>, StoreError> {
        (**self).staff(staff).await
    }
    async fn all_staff(&self) -> Result<Vec<StaffProfile>, StoreError> {
        (**self).all_staff().await
    }
    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        (**self).settings().await
    }
    async fn records(&self) -> Result<Vec<AccessRecord>, StoreError> {
        (**self).records().await
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
    async fn failed_redemptions_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        (**self).failed_redemptions_in(from, to).await
    }
}
