//! An in-memory BookingStore that honours the whole contract.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gp_core::{AuditEvent, BookingId, PatientId, SessionId, SlotId, StaffId};

use crate::booking::{Booking, Holding};
use crate::decision::{
    BookingChange, CancelFacts, Committable, PolicyFacts, Precondition, SearchQuery, SlotState,
};
use crate::error::{CommitError, StoreError};
use crate::schedule::{Schedule, Session, Slot, StaffMember};
use crate::store::{BookSnapshot, BookingStore};

#[derive(Debug, Default)]
struct State {
    staff: HashMap<StaffId, StaffMember>,
    sessions: HashMap<SessionId, Session>,
    slots: HashMap<SlotId, Slot>,
    slots_by_start: BTreeSet<(DateTime<Utc>, SlotId)>,
    bookings: HashMap<BookingId, Booking>,
    booking_order: Vec<BookingId>,
    live_by_slot: HashMap<SlotId, BookingId>,
    policy: PolicyFacts,
    events: Vec<AuditEvent>,
}

/// A [`BookingStore`] held in memory, behind one lock: every method sees and
/// changes the state as one step. For tests, examples and trials; data is lost
/// when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryBookingStore {
    state: Mutex<State>,
}

impl MemoryBookingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is checked in full before any part is applied, so a
        // poisoned lock still guards a consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn slot_state(&self, id: SlotId) -> Option<SlotState> {
        self.slots.get(&id).map(|slot| SlotState {
            slot: slot.clone(),
            live_booking: self.live_by_slot.get(&id).copied(),
        })
    }

    fn holdings(&self, patient: PatientId, since: DateTime<Utc>) -> Vec<Holding> {
        let mut out: Vec<Holding> = self
            .live_by_slot
            .values()
            .filter_map(|id| self.bookings.get(id))
            .filter(|b| b.patient == patient)
            .filter_map(|b| {
                let slot = self.slots.get(&b.slot)?;
                (slot.start() >= since).then_some(Holding {
                    booking: b.id,
                    slot: b.slot,
                    start: slot.start(),
                    channel: b.channel,
                })
            })
            .collect();
        out.sort_by_key(|h| (h.start, h.booking));
        out
    }

    fn organisation_holdings(
        &self,
        organisation: gp_core::OdsCode,
        since: DateTime<Utc>,
    ) -> BTreeSet<BookingId> {
        self.live_by_slot
            .values()
            .filter_map(|id| self.bookings.get(id))
            .filter(|b| {
                matches!(b.booked_by, gp_core::Actor::Organisation { ods, .. } if ods == organisation)
            })
            .filter(|b| self.slots.get(&b.slot).is_some_and(|s| s.start() >= since))
            .map(|b| b.id)
            .collect()
    }

    /// Checks that `amended` may replace the stored booking: the same
    /// booking, live, amended once more, nothing but its texts changed.
    fn check_amend(&self, amended: &Booking) -> Result<(), CommitError> {
        let conflict = || {
            CommitError::Conflict(Precondition::BookingUnchanged {
                booking: amended.id,
                amendments: amended.amendments.saturating_sub(1),
            })
        };
        let stored = self.bookings.get(&amended.id).ok_or_else(conflict)?;
        if !stored.is_live() || stored.amendments.checked_add(1) != Some(amended.amendments) {
            return Err(conflict());
        }
        let texts_only = Booking {
            description: stored.description.clone(),
            comment: stored.comment.clone(),
            amendments: stored.amendments,
            ..amended.clone()
        };
        if &texts_only != stored {
            return Err(StoreError::Invalid(format!(
                "an amendment of booking {} changes more than its description and comment",
                amended.id
            ))
            .into());
        }
        Ok(())
    }

    fn holds(&self, p: &Precondition) -> bool {
        match p {
            Precondition::SlotFree(slot) => {
                self.slots.contains_key(slot) && !self.live_by_slot.contains_key(slot)
            }
            Precondition::BookingLive(b) => self.bookings.get(b).is_some_and(Booking::is_live),
            Precondition::HoldingsUnchanged {
                patient,
                since,
                bookings,
            } => {
                let now: BTreeSet<BookingId> = self
                    .holdings(*patient, *since)
                    .iter()
                    .map(|h| h.booking)
                    .collect();
                &now == bookings
            }
            Precondition::PolicyUnchanged { version } => self.policy.version == *version,
            Precondition::OrganisationHoldingsUnchanged {
                organisation,
                since,
                bookings,
            } => &self.organisation_holdings(*organisation, *since) == bookings,
            Precondition::BookingUnchanged {
                booking,
                amendments,
            } => self
                .bookings
                .get(booking)
                .is_some_and(|b| b.is_live() && b.amendments == *amendments),
            // Refused before this is asked (see `commit`).
            Precondition::Authorized(_) => false,
        }
    }

    /// Checks that `booking` can be stored; `freed` is a slot the same commit frees first.
    fn check_book(&self, booking: &Booking, freed: Option<SlotId>) -> Result<(), CommitError> {
        if !self.slots.contains_key(&booking.slot) {
            return Err(StoreError::Missing(format!("slot {}", booking.slot)).into());
        }
        if self.bookings.contains_key(&booking.id) {
            return Err(StoreError::Duplicate(format!("booking {}", booking.id)).into());
        }
        if booking.is_live()
            && self.live_by_slot.contains_key(&booking.slot)
            && freed != Some(booking.slot)
        {
            return Err(CommitError::Conflict(Precondition::SlotFree(booking.slot)));
        }
        Ok(())
    }

    /// Checks that booking `id` can be cancelled and returns its slot.
    fn check_cancel(&self, id: BookingId) -> Result<SlotId, CommitError> {
        self.bookings
            .get(&id)
            .filter(|b| b.is_live())
            .map(|b| b.slot)
            .ok_or(CommitError::Conflict(Precondition::BookingLive(id)))
    }

    fn apply_book(&mut self, booking: &Booking) {
        if booking.is_live() {
            self.live_by_slot.insert(booking.slot, booking.id);
        }
        self.bookings.insert(booking.id, booking.clone());
        self.booking_order.push(booking.id);
    }

    /// Cancels booking `id` and the live bookings joined to it (the further
    /// slots of its appointment).
    fn apply_cancel(&mut self, id: BookingId, cancellation: &crate::Cancellation) {
        let joined: Vec<BookingId> = self
            .bookings
            .values()
            .filter(|b| b.joined_to == Some(id) && b.is_live())
            .map(|b| b.id)
            .collect();
        for id in std::iter::once(id).chain(joined) {
            if let Some(booking) = self.bookings.get_mut(&id) {
                booking.cancellation = Some(cancellation.clone());
                self.live_by_slot.remove(&booking.slot);
            }
        }
    }
}

#[async_trait]
impl BookingStore for MemoryBookingStore {
    async fn staff_member(&self, id: StaffId) -> Result<Option<StaffMember>, StoreError> {
        Ok(self.lock().staff.get(&id).cloned())
    }

    async fn put_staff(&self, staff: &StaffMember) -> Result<(), StoreError> {
        self.lock().staff.insert(staff.id, staff.clone());
        Ok(())
    }

    async fn add_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        let mut state = self.lock();
        let new_sessions: HashMap<SessionId, &Session> =
            schedule.sessions.iter().map(|s| (s.id, s)).collect();
        for s in &schedule.sessions {
            if !state.staff.contains_key(&s.clinician) {
                return Err(StoreError::Missing(format!("staff member {}", s.clinician)));
            }
            if state.sessions.contains_key(&s.id) {
                return Err(StoreError::Duplicate(format!("session {}", s.id)));
            }
        }
        if new_sessions.len() != schedule.sessions.len() {
            return Err(StoreError::Duplicate("a session listed twice".into()));
        }
        let mut seen = BTreeSet::new();
        for slot in &schedule.slots {
            if !state.staff.contains_key(&slot.clinician) {
                return Err(StoreError::Missing(format!(
                    "staff member {}",
                    slot.clinician
                )));
            }
            if !new_sessions.contains_key(&slot.session)
                && !state.sessions.contains_key(&slot.session)
            {
                return Err(StoreError::Missing(format!("session {}", slot.session)));
            }
            let session_site = new_sessions
                .get(&slot.session)
                .map(|s| s.site)
                .or_else(|| state.sessions.get(&slot.session).map(|s| s.site));
            if session_site != Some(slot.site) {
                return Err(StoreError::Invalid(format!(
                    "slot {} is not at its session's surgery",
                    slot.id
                )));
            }
            if state.slots.contains_key(&slot.id) || !seen.insert(slot.id) {
                return Err(StoreError::Duplicate(format!("slot {}", slot.id)));
            }
        }
        for s in &schedule.sessions {
            state.sessions.insert(s.id, s.clone());
        }
        for slot in &schedule.slots {
            state.slots_by_start.insert((slot.start(), slot.id));
            state.slots.insert(slot.id, slot.clone());
        }
        Ok(())
    }

    async fn find_slots(&self, query: &SearchQuery) -> Result<Vec<SlotState>, StoreError> {
        let state = self.lock();
        if query.to <= query.from {
            return Ok(Vec::new());
        }
        let lower = (query.from, SlotId::from_uuid(uuid::Uuid::nil()));
        let upper = (query.to, SlotId::from_uuid(uuid::Uuid::nil()));
        Ok(state
            .slots_by_start
            .range(lower..upper)
            .filter_map(|(_, id)| state.slot_state(*id))
            .filter(|s| query.matches(&s.slot))
            .collect())
    }

    async fn policy(&self) -> Result<PolicyFacts, StoreError> {
        Ok(self.lock().policy.clone())
    }

    async fn slot(&self, slot: SlotId) -> Result<Option<SlotState>, StoreError> {
        Ok(self.lock().slot_state(slot))
    }

    async fn booking(&self, booking: BookingId) -> Result<Option<Booking>, StoreError> {
        Ok(self.lock().bookings.get(&booking).cloned())
    }

    async fn bookings_for_patient(&self, patient: PatientId) -> Result<Vec<Booking>, StoreError> {
        let state = self.lock();
        Ok(state
            .booking_order
            .iter()
            .filter_map(|id| state.bookings.get(id))
            .filter(|b| b.patient == patient)
            .cloned()
            .collect())
    }

    async fn load_book(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
    ) -> Result<BookSnapshot, StoreError> {
        let state = self.lock();
        Ok(BookSnapshot {
            slot: state.slot_state(slot),
            holdings: state.holdings(patient, since),
            policy: state.policy.clone(),
        })
    }

    async fn organisation_holdings(
        &self,
        organisation: gp_core::OdsCode,
        since: DateTime<Utc>,
    ) -> Result<BTreeSet<BookingId>, StoreError> {
        Ok(self.lock().organisation_holdings(organisation, since))
    }

    async fn load_cancel(&self, booking: BookingId) -> Result<CancelFacts, StoreError> {
        let state = self.lock();
        let booking = state.bookings.get(&booking).cloned();
        let slot = booking
            .as_ref()
            .and_then(|b| state.slots.get(&b.slot).cloned());
        let mut joined: Vec<Booking> = booking
            .as_ref()
            .map(|b| {
                state
                    .bookings
                    .values()
                    .filter(|j| j.joined_to == Some(b.id) && j.is_live())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        joined.sort_by_key(|j| j.id);
        Ok(CancelFacts {
            booking,
            slot,
            joined,
        })
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let mut state = self.lock();
        if let Some(Precondition::Authorized(guard)) = decision
            .preconditions
            .iter()
            .find(|p| matches!(p, Precondition::Authorized(_)))
        {
            return Err(StoreError::Missing(format!(
                "the access record of patient {} (this store keeps none)",
                guard.patient
            ))
            .into());
        }
        if let Some(failed) = decision.preconditions.iter().find(|p| !state.holds(p)) {
            return Err(CommitError::Conflict(failed.clone()));
        }
        // Check everything first, then apply: a failure leaves the store untouched.
        match &decision.change {
            BookingChange::Book(booking) => {
                state.check_book(booking, None)?;
                state.apply_book(booking);
            }
            BookingChange::Cancel {
                booking,
                cancellation,
            } => {
                state.check_cancel(*booking)?;
                state.apply_cancel(*booking, cancellation);
            }
            BookingChange::Reschedule {
                cancel,
                cancellation,
                book,
            } => {
                let freed = state.check_cancel(*cancel)?;
                state.check_book(book, Some(freed))?;
                state.apply_cancel(*cancel, cancellation);
                state.apply_book(book);
            }
            BookingChange::BookAdjacent(bookings) => {
                let mut slots = BTreeSet::new();
                for b in bookings {
                    state.check_book(b, None)?;
                    if !slots.insert(b.slot) {
                        return Err(CommitError::Conflict(Precondition::SlotFree(b.slot)));
                    }
                }
                for b in bookings {
                    state.apply_book(b);
                }
            }
            BookingChange::Amend(amended) => {
                state.check_amend(amended)?;
                state.bookings.insert(amended.id, amended.clone());
            }
            BookingChange::Policy(policy) => {
                state.policy = PolicyFacts {
                    policy: policy.clone(),
                    version: state.policy.version + 1,
                };
            }
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
