//! The BookingStore port: what the booking rules need from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gp_core::{AuditEvent, BookingId, PatientId, SlotId};

use crate::booking::{Booking, Holding};
use crate::decision::{
    CancelFacts, Committable, PolicyFacts, Precondition, SearchQuery, SlotState,
};
use crate::error::{CommitError, StoreError};
use crate::schedule::{Schedule, StaffMember};

/// What a booking decision loads: the slot and the patient's holdings, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSnapshot {
    /// The slot and whether it is taken, if it exists.
    pub slot: Option<SlotState>,
    /// The patient's live bookings starting at or after the `since` asked for,
    /// in order of start.
    pub holdings: Vec<Holding>,
    /// The booking policy in force, with its version.
    pub policy: PolicyFacts,
}

/// A booking decision handed to the store, to run on the facts it loads.
/// It is pure (the domain's `decide_book` with the request, the policy and
/// the time captured), so a store may run it inside its write transaction.
pub type BookDecider = Box<dyn FnOnce(BookSnapshot) -> crate::Decision + Send>;

/// Storage for the schedule, bookings and their audit events.
///
/// Implementations: [`crate::MemoryBookingStore`] here, the SQLite adapter in
/// `gp-sqlite`, and any supplier's own. The conformance suite in `gp-testkit`
/// (`gp_testkit::booking`) is the executable form of this contract.
///
/// # Contract
///
/// - **Reads are snapshots.** Each method returns facts as of one instant; a
///   method returning several facts (for example [`BookingStore::load_book`])
///   reads them together, never half before and half after another commit.
/// - **Schedule writes are all or nothing.** [`BookingStore::add_schedule`]
///   stores every session and slot or none: it fails with
///   [`StoreError::Missing`] if a clinician is not stored or a slot's session
///   is in neither the schedule nor the store, and with
///   [`StoreError::Duplicate`] if an id is already stored.
/// - **Commits are atomic and conditional.** [`BookingStore::commit`] checks
///   every precondition, applies the change and appends every event as one
///   transaction. If a precondition no longer holds it returns
///   [`CommitError::Conflict`] naming it, and writes nothing. However the
///   preconditions read, a commit never leaves two live bookings on one slot
///   (it returns `Conflict(SlotFree(slot))` instead), and a commit that books
///   a slot that does not exist fails with [`StoreError::Missing`].
/// - **Amendments replace texts only.** A commit of
///   [`crate::BookingChange::Amend`] stores the booking as given when the
///   stored one is live and amended exactly once fewer (otherwise
///   `Conflict(BookingUnchanged)`), and fails with [`StoreError::Invalid`]
///   if anything but the description, comment and amendment count differs.
///   `BookingUnchanged` holds while the booking is live at that count;
///   `OrganisationHoldingsUnchanged` while
///   [`BookingStore::organisation_holdings`] answers exactly those bookings.
/// - **The policy is stored and versioned.** [`BookingStore::policy`]
///   answers the stored policy, or the default at version 0 if none was
///   ever stored; a commit of [`crate::BookingChange::Policy`] stores it
///   and moves the version on by one. `PolicyUnchanged` holds while the
///   version is the one given. [`BookingStore::load_book`] reads the policy
///   with the slot and holdings.
/// - **Authorization is a precondition.** `Authorized(guard)` holds while
///   the patient's access record is at the guard's version (no record:
///   version 0). A store that keeps no access records cannot check it and
///   fails the commit with [`StoreError::Missing`], writing nothing.
/// - **Refusals are recorded.** [`BookingStore::record_refusal`] appends the
///   events alone, all or none.
/// - **Audit order is commit order.** [`BookingStore::audit_events`] returns
///   every event appended, oldest first; an event is there if and only if its
///   commit succeeded.
/// - **Errors are portable.** A storage failure is a [`StoreError`], never a
///   panic, and leaves stored data as it was.
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Stores a staff member, or replaces the stored one with the same id.
    async fn put_staff(&self, staff: &StaffMember) -> Result<(), StoreError>;

    /// A stored staff member (the clinician a slot names), if stored.
    async fn staff_member(&self, id: gp_core::StaffId) -> Result<Option<StaffMember>, StoreError>;

    /// Stores sessions and slots, all or none.
    async fn add_schedule(&self, schedule: &Schedule) -> Result<(), StoreError>;

    /// Slots meeting `query`'s range and filters, with whether each is taken,
    /// in order of start.
    async fn find_slots(&self, query: &SearchQuery) -> Result<Vec<SlotState>, StoreError>;

    /// The booking policy in force, with its version.
    async fn policy(&self) -> Result<PolicyFacts, StoreError>;

    /// One slot, with whether it is taken.
    async fn slot(&self, slot: SlotId) -> Result<Option<SlotState>, StoreError>;

    /// One booking, live or cancelled.
    async fn booking(&self, booking: BookingId) -> Result<Option<Booking>, StoreError>;

    /// Every booking of a patient, live or cancelled, in order of booking time.
    async fn bookings_for_patient(&self, patient: PatientId) -> Result<Vec<Booking>, StoreError>;

    /// The facts for booking `slot` for `patient`: the slot, the patient's
    /// live bookings starting at or after `since` and the policy, read together.
    async fn load_book(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
    ) -> Result<BookSnapshot, StoreError>;

    /// The live bookings made by `organisation` (an
    /// [`gp_core::Actor::Organisation`] with that code) whose slots start at
    /// or after `since`: what the practice's organisation cap counts.
    async fn organisation_holdings(
        &self,
        organisation: gp_core::OdsCode,
        since: DateTime<Utc>,
    ) -> Result<std::collections::BTreeSet<BookingId>, StoreError>;

    /// The facts for cancelling `booking`: it and its slot, read together.
    async fn load_cancel(&self, booking: BookingId) -> Result<CancelFacts, StoreError>;

    /// Applies an allowed decision with its events if its preconditions hold.
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError>;

    /// Loads the facts for booking `slot` for `patient` (holdings from
    /// `since`, and the policy), runs `decide` on them, and commits the
    /// allowed change with `earlier` events and the decision's own, under
    /// the decision's preconditions and `guards` (such as the authorization's
    /// `Authorized`), or appends `earlier` and the refusal's event; answers
    /// with the decision taken. A guard that no longer holds is a
    /// `Conflict` naming it, and nothing is written.
    ///
    /// The default does this in steps (`load_book`, then `commit` under the
    /// decision's preconditions) and may return `Conflict`, after which the
    /// caller decides again. A store may instead run it all in one write
    /// transaction, where no conflict can arise (gp-sqlite does: one trip to
    /// the database instead of two).
    async fn book_in_one_step(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
        earlier: Vec<AuditEvent>,
        guards: Vec<Precondition>,
        decide: BookDecider,
    ) -> Result<crate::Decision, CommitError> {
        let snapshot = self.load_book(slot, patient, since).await?;
        let decision = decide(snapshot).after(&earlier);
        match &decision {
            crate::Decision::Allowed(c) => {
                let mut guarded = c.clone();
                guarded.preconditions.extend(guards);
                self.commit(&guarded).await?;
            }
            crate::Decision::Refused(r) => self.record_refusal(&r.events).await?,
        }
        Ok(decision)
    }

    /// Appends the audit events of a refusal, all or none.
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Every audit event appended, oldest first.
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError>;
}

/// A shared store is a store: one store (for example one SQLite database)
/// can serve several facades.
#[async_trait]
impl<T: BookingStore + ?Sized> BookingStore for std::sync::Arc<T> {
    async fn put_staff(&self, staff: &StaffMember) -> Result<(), StoreError> {
        (**self).put_staff(staff).await
    }
    async fn staff_member(&self, id: gp_core::StaffId) -> Result<Option<StaffMember>, StoreError> {
        (**self).staff_member(id).await
    }
    async fn add_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        (**self).add_schedule(schedule).await
    }
    async fn find_slots(&self, query: &SearchQuery) -> Result<Vec<SlotState>, StoreError> {
        (**self).find_slots(query).await
    }
    async fn policy(&self) -> Result<PolicyFacts, StoreError> {
        (**self).policy().await
    }
    async fn slot(&self, slot: SlotId) -> Result<Option<SlotState>, StoreError> {
        (**self).slot(slot).await
    }
    async fn booking(&self, booking: BookingId) -> Result<Option<Booking>, StoreError> {
        (**self).booking(booking).await
    }
    async fn bookings_for_patient(&self, patient: PatientId) -> Result<Vec<Booking>, StoreError> {
        (**self).bookings_for_patient(patient).await
    }
    async fn load_book(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
    ) -> Result<BookSnapshot, StoreError> {
        (**self).load_book(slot, patient, since).await
    }
    async fn organisation_holdings(
        &self,
        organisation: gp_core::OdsCode,
        since: DateTime<Utc>,
    ) -> Result<std::collections::BTreeSet<BookingId>, StoreError> {
        (**self).organisation_holdings(organisation, since).await
    }
    async fn load_cancel(&self, booking: BookingId) -> Result<CancelFacts, StoreError> {
        (**self).load_cancel(booking).await
    }
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        (**self).commit(decision).await
    }
    async fn book_in_one_step(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
        earlier: Vec<AuditEvent>,
        guards: Vec<Precondition>,
        decide: BookDecider,
    ) -> Result<crate::Decision, CommitError> {
        (**self)
            .book_in_one_step(slot, patient, since, earlier, guards, decide)
            .await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        (**self).record_refusal(events).await
    }
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        (**self).audit_events().await
    }
}
