//! The appointments facade: search, book, cancel, reschedule and the
//! booking policy, decided by `gp-booking` and committed with their events.

use gp_booking::{
    decide_amend, decide_book, decide_cancel, decide_policy, decide_reschedule, search,
    AmendRequest, BookFacts, BookRequest, Booking, BookingChange, BookingPolicy, BookingStore,
    CancelRequest, PatientFacts, PolicyFacts, Precondition, RescheduleFacts, RescheduleRequest,
    SearchRequest, Slot,
};
use gp_core::{Actor, Channel, Clock, Decision, IdSource, RandomIds, StoreError};

use crate::commit::{on_commit_error, Core, Guarded, Outcome, Prior};
use crate::{Answer, OnlineError};

/// The appointments facade over a store and a clock. It does not ask the
/// access records: [`crate::Practice`] does, then calls it.
pub struct Appointments<S, C> {
    core: Core<S, C>,
}

impl<S: BookingStore, C: Clock> Appointments<S, C> {
    /// A facade over `store` and `clock`, making random identifiers. The
    /// booking policy is the one stored (the default until one is).
    pub fn new(store: S, clock: C) -> Self {
        Self::with_ids(store, clock, Box::new(RandomIds))
    }

    /// Like [`Appointments::new`], with identifiers from `ids` (for repeatable tests).
    pub fn with_ids(store: S, clock: C, ids: Box<dyn IdSource>) -> Self {
        Self {
            core: Core::new(store, clock, ids),
        }
    }

    /// Sets how many times a request is decided again after conflicts before
    /// [`OnlineError::Contention`] (default 16; at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.core.max_attempts = attempts.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.core.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.core.clock
    }

    /// The booking policy in force, with its version.
    pub async fn policy(&self) -> Result<PolicyFacts, OnlineError> {
        Ok(self.core.store.policy().await?)
    }

    /// Stores a new booking policy (staff only: the booking rules' floor).
    pub async fn set_policy(
        &self,
        actor: Actor,
        channel: Channel,
        policy: &BookingPolicy,
    ) -> Result<Answer<PolicyFacts>, OnlineError> {
        self.set_policy_after(actor, channel, policy, &Prior::none())
            .await
    }

    pub(crate) async fn set_policy_after(
        &self,
        actor: Actor,
        channel: Channel,
        policy: &BookingPolicy,
        prior: &Prior,
    ) -> Result<Answer<PolicyFacts>, OnlineError> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let current = self.core.store.policy().await?;
                Ok(decide_policy(
                    &current,
                    actor,
                    channel,
                    policy,
                    now,
                    self.core.ids.as_ref(),
                ))
            })
            .await?;
        Ok(match outcome {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(_) => Answer::Done(self.core.store.policy().await?),
        })
    }

    /// The free slots this actor may book through this channel, in order of
    /// start. A search changes nothing: only a refusal is recorded.
    pub async fn search(&self, request: &SearchRequest) -> Result<Answer<Vec<Slot>>, OnlineError> {
        let policy = self.core.store.policy().await?.policy;
        let now = self.core.clock.now();
        // The request's own rules first (the span, the range, the patient),
        // so that a refused search is refused before the store is asked.
        let ids = self.core.ids.as_ref();
        let candidates = match search(&policy, request, &[], now, ids) {
            Ok(_) => self.core.store.find_slots(&request.query).await?,
            Err(_) => Vec::new(),
        };
        match search(&policy, request, &candidates, now, ids) {
            Ok(slots) => Ok(Answer::Done(slots)),
            Err(refusal) => {
                self.core.store.record_refusal(&refusal.events).await?;
                Ok(Answer::Refused(refusal.reason))
            }
        }
    }

    /// Books a slot for `patient` (whose facts the caller read from the
    /// patient list and the access records).
    pub async fn book(
        &self,
        request: &BookRequest,
        patient: &PatientFacts,
    ) -> Result<Answer<Booking>, OnlineError> {
        self.book_after(request, patient, &Prior::none()).await
    }

    /// Like [`Appointments::book`], with the authorization's events committed
    /// in the booking's own transaction (or recorded with its refusal) and
    /// its guard checked there: one trip to the database.
    pub(crate) async fn book_after(
        &self,
        request: &BookRequest,
        patient: &PatientFacts,
        prior: &Prior,
    ) -> Result<Answer<Booking>, OnlineError> {
        if matches!(request.actor, Actor::Organisation { .. }) || !request.adjacent.is_empty() {
            return self.book_in_steps(request, patient, prior).await;
        }
        let guards: Vec<Precondition> = prior.guard.map(Precondition::guard).into_iter().collect();
        for _ in 0..self.core.max_attempts {
            let now = self.core.clock.now();
            let (request_owned, facts, ids) = (request.clone(), *patient, self.core.ids.clone());
            // The decision is pure: the store may run it inside its write
            // transaction (gp-sqlite does), so loading, deciding and
            // committing take one trip to the database. The policy is the
            // one stored, read in the same transaction.
            let decide: gp_booking::BookDecider = Box::new(move |snap| {
                let facts = BookFacts {
                    slot: snap.slot,
                    patient: facts,
                    holdings: snap.holdings,
                    holdings_since: now,
                    organisation_holdings: None,
                    adjacent: Vec::new(),
                };
                decide_book(
                    &snap.policy.policy,
                    &facts,
                    &request_owned,
                    now,
                    ids.as_ref(),
                )
            });
            match self
                .core
                .store
                .book_in_one_step(
                    request.slot,
                    request.patient,
                    now,
                    prior.events.clone(),
                    guards.clone(),
                    decide,
                )
                .await
            {
                Ok(Decision::Allowed(c)) => return booked(&c.change),
                Ok(Decision::Refused(r)) => return Ok(Answer::Refused(r.reason)),
                Err(e) => on_commit_error(e)?,
            }
        }
        Err(OnlineError::Contention {
            attempts: self.core.max_attempts,
        })
    }

    /// Another organisation's booking, or one of several adjacent slots, in
    /// steps: an organisation's own live bookings are read for its cap and
    /// the further slots are read, and the commit holds only while all are
    /// as read (`OrganisationHoldingsUnchanged`, `SlotFree` for each slot),
    /// so concurrent bookings cannot pass the cap or share a slot.
    async fn book_in_steps(
        &self,
        request: &BookRequest,
        patient: &PatientFacts,
        prior: &Prior,
    ) -> Result<Answer<Booking>, OnlineError> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let held = match request.actor {
                    Actor::Organisation { ods, .. } => {
                        Some(self.core.store.organisation_holdings(ods, now).await?)
                    }
                    _ => None,
                };
                let mut adjacent = Vec::with_capacity(request.adjacent.len());
                for slot in &request.adjacent {
                    adjacent.push(self.core.store.slot(*slot).await?);
                }
                let snap = self
                    .core
                    .store
                    .load_book(request.slot, request.patient, now)
                    .await?;
                let facts = BookFacts {
                    slot: snap.slot,
                    patient: *patient,
                    holdings: snap.holdings,
                    holdings_since: now,
                    organisation_holdings: held,
                    adjacent,
                };
                Ok(with_policy(
                    decide_book(
                        &snap.policy.policy,
                        &facts,
                        request,
                        now,
                        self.core.ids.as_ref(),
                    ),
                    &snap.policy,
                ))
            })
            .await?;
        match outcome {
            Outcome::Refused(r) => Ok(Answer::Refused(r)),
            Outcome::Committed(c) => booked(&c.change),
        }
    }

    /// Replaces a booking's description and comment (staff, or another
    /// organisation); answers with the booking as amended.
    pub async fn amend(&self, request: &AmendRequest) -> Result<Answer<Booking>, OnlineError> {
        self.amend_after(request, &Prior::none()).await
    }

    pub(crate) async fn amend_after(
        &self,
        request: &AmendRequest,
        prior: &Prior,
    ) -> Result<Answer<Booking>, OnlineError> {
        self.change_booking(request.booking, prior, "amendment", |policy, facts, now| {
            decide_amend(policy, facts, request, now, self.core.ids.as_ref())
        })
        .await
    }

    /// Cancels a booking; answers with the booking as cancelled.
    pub async fn cancel(&self, request: &CancelRequest) -> Result<Answer<Booking>, OnlineError> {
        self.cancel_after(request, &Prior::none()).await
    }

    pub(crate) async fn cancel_after(
        &self,
        request: &CancelRequest,
        prior: &Prior,
    ) -> Result<Answer<Booking>, OnlineError> {
        self.change_booking(
            request.booking,
            prior,
            "cancellation",
            |policy, facts, now| decide_cancel(policy, facts, request, now, self.core.ids.as_ref()),
        )
        .await
    }

    /// Decides a change to one stored booking (`what`: a cancellation or an
    /// amendment) on its facts and the policy in force, commits it while
    /// that policy is still the one stored, and answers with the booking as
    /// it then stands.
    async fn change_booking(
        &self,
        booking: gp_core::BookingId,
        prior: &Prior,
        what: &str,
        decide: impl Fn(
            &BookingPolicy,
            &gp_booking::CancelFacts,
            chrono::DateTime<chrono::Utc>,
        ) -> gp_booking::Decision,
    ) -> Result<Answer<Booking>, OnlineError> {
        let decide = &decide;
        let outcome = self
            .core
            .run(prior, |now| async move {
                let policy = self.core.store.policy().await?;
                let facts = self.core.store.load_cancel(booking).await?;
                Ok(with_policy(decide(&policy.policy, &facts, now), &policy))
            })
            .await?;
        match outcome {
            Outcome::Refused(r) => Ok(Answer::Refused(r)),
            Outcome::Committed(_) => match self.core.store.booking(booking).await? {
                Some(b) => Ok(Answer::Done(b)),
                None => {
                    Err(StoreError::Missing(format!("booking {booking} after its {what}")).into())
                }
            },
        }
    }

    /// Moves a booking to another slot (cancel and book together, or neither);
    /// answers with the new booking. `patient` is the booking's patient.
    pub async fn reschedule(
        &self,
        request: &RescheduleRequest,
        patient: &PatientFacts,
    ) -> Result<Answer<Booking>, OnlineError> {
        self.reschedule_after(request, patient, &Prior::none())
            .await
    }

    pub(crate) async fn reschedule_after(
        &self,
        request: &RescheduleRequest,
        patient: &PatientFacts,
        prior: &Prior,
    ) -> Result<Answer<Booking>, OnlineError> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let current = self.core.store.load_cancel(request.booking).await?;
                let snap = self
                    .core
                    .store
                    .load_book(request.new_slot, patient.patient, now)
                    .await?;
                let facts = RescheduleFacts {
                    current,
                    new: BookFacts {
                        slot: snap.slot,
                        patient: *patient,
                        holdings: snap.holdings,
                        holdings_since: now,
                        organisation_holdings: None,
                        adjacent: Vec::new(),
                    },
                };
                Ok(with_policy(
                    decide_reschedule(
                        &snap.policy.policy,
                        &facts,
                        request,
                        now,
                        self.core.ids.as_ref(),
                    ),
                    &snap.policy,
                ))
            })
            .await?;
        match outcome {
            Outcome::Refused(r) => Ok(Answer::Refused(r)),
            Outcome::Committed(c) => booked(&c.change),
        }
    }

    /// Every booking of a patient, live or cancelled, in the order made.
    pub async fn bookings_for(
        &self,
        patient: gp_core::PatientId,
    ) -> Result<Vec<Booking>, OnlineError> {
        Ok(self.core.store.bookings_for_patient(patient).await?)
    }
}

/// The decision, committed only while the policy it was decided under is
/// still the one stored.
fn with_policy(decision: gp_booking::Decision, policy: &PolicyFacts) -> gp_booking::Decision {
    match decision {
        Decision::Allowed(mut c) => {
            c.preconditions.push(Precondition::PolicyUnchanged {
                version: policy.version,
            });
            Decision::Allowed(c)
        }
        refused => refused,
    }
}

/// The new booking a committed book or reschedule made.
fn booked(change: &BookingChange) -> Result<Answer<Booking>, OnlineError> {
    match change {
        BookingChange::Book(b) | BookingChange::Reschedule { book: b, .. } => {
            Ok(Answer::Done(b.clone()))
        }
        BookingChange::BookAdjacent(all) if !all.is_empty() => Ok(Answer::Done(all[0].clone())),
        other => Err(StoreError::Corrupt(format!(
            "a booking decision produced another change: {other:?}"
        ))
        .into()),
    }
}
