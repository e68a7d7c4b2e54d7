//! The facade a GP clinical system calls to book, cancel and search for appointments.
//!
//! [`Online`] runs the commit pattern for every request: load the facts from
//! the store, decide with the pure rules of `gp-booking` at the clock's `now`,
//! then commit the change together with its audit event under the decision's
//! preconditions. When another request got there first (a conflict), it loads
//! and decides again, a bounded number of times, so the caller always gets a
//! policy answer such as `SlotTaken`, never an internal conflict. Every
//! refusal is recorded in the audit trail too.
//!
//! [`Prescriptions`] does the same for repeat prescription requests (over a
//! `gp_prescribing::PrescribingStore`), [`Messages`] for messages to the
//! practice (over a `gp_messaging::MessageStore`), and [`Access`] for
//! registration, linkage, proxy access, coercion safeguards and the
//! audited `authorize` question (over a `gp_access::AccessStore`).
//!
//! [`Practice`] puts them together over one store that implements every
//! port: each patient-facing request is first authorized by the access
//! rules (audited), then decided and committed by the service's facade.
//!
//! Each is generic over the store and the clock and starts no runtime: await
//! it from any executor. None holds rules of its own.
//!
//! ```
//! use gp_booking::{BookRequest, BookingPolicy, BookingStore, MemoryBookingStore, SearchQuery, SearchRequest};
//! use gp_core::{Actor, Channel, FixedClock, SequentialIds};
//! use gp_online::{Answer, Online};
//! use gp_testkit::fixtures::{adult, monday_morning, practice};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let ids = SequentialIds::new(1);
//! let practice = practice(&ids, monday_morning().date_naive());
//! let store = MemoryBookingStore::new();
//! for s in practice.staff() { store.put_staff(&s).await?; }
//! store.add_schedule(&practice.schedule).await?;
//! let online = Online::new(store, FixedClock::new(monday_morning()), BookingPolicy::default());
//!
//! let patient = adult(&ids);
//! let me = Actor::Patient { patient: patient.patient };
//! let query = SearchQuery::between(monday_morning(), monday_morning() + chrono::Duration::days(7));
//! let Answer::Done(free) = online.search(&SearchRequest { actor: me, channel: Channel::Online, patient: Some(patient), query }).await? else {
//!     panic!("search refused");
//! };
//! let request = BookRequest {
//!     actor: me, channel: Channel::Online, patient: patient.patient, slot: free[0].id,
//!     description: None, comment: None, holding_limit_override: None,
//! };
//! let Answer::Done(booking) = online.book(&request, &patient).await? else { panic!("refused") };
//! assert_eq!(booking.slot, free[0].id);
//! // The same slot again: a policy answer, not an error.
//! assert_eq!(online.book(&request, &patient).await?.refusal(), Some(&gp_booking::BookingRefusal::SlotTaken));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use gp_booking::{
    decide_book, decide_cancel, decide_reschedule, search, BookFacts, BookRequest, Booking,
    BookingChange, BookingPolicy, BookingRefusal, BookingStore, CancelRequest, CommitError,
    Committable, Decision, PatientFacts, Refusal, RescheduleFacts, RescheduleRequest,
    SearchRequest, Slot, StoreError,
};
use gp_core::{AuditEvent, Clock, IdSource, RandomIds};
use thiserror::Error;

mod access;
mod messages;
mod practice;
mod prescriptions;

pub use access::{patient_facts, Access};
pub use messages::Messages;
pub use practice::{Practice, Refused};
pub use prescriptions::{OrderRefused, Ordered, PrescriberMove, Prescriptions};

/// The answer to a request: done, or refused by the practice's rules with a
/// reason (a [`BookingRefusal`] unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T, R = BookingRefusal> {
    /// Done; here is the result.
    Done(T),
    /// Refused, for this reason (already recorded in the audit trail).
    Refused(R),
}

impl<T, R> Answer<T, R> {
    /// The refusal reason, if refused.
    pub fn refusal(&self) -> Option<&R> {
        match self {
            Answer::Done(_) => None,
            Answer::Refused(r) => Some(r),
        }
    }

    /// The result, if done.
    pub fn done(self) -> Option<T> {
        match self {
            Answer::Done(t) => Some(t),
            Answer::Refused(_) => None,
        }
    }
}

/// Something went wrong (as opposed to a refusal by the practice's rules).
/// Whatever it is, nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OnlineError {
    /// The appointment store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The prescribing store failed.
    #[error(transparent)]
    PrescribingStore(#[from] gp_prescribing::StoreError),
    /// The message store failed.
    #[error(transparent)]
    MessageStore(#[from] gp_messaging::StoreError),
    /// A repeat request, reason or note was not valid.
    #[error(transparent)]
    Request(#[from] gp_prescribing::RequestError),
    /// A repeat item was not valid.
    #[error(transparent)]
    Item(#[from] gp_prescribing::ItemError),
    /// Prescribing settings were out of range.
    #[error(transparent)]
    Settings(#[from] gp_prescribing::SettingsError),
    /// A message or reply was not valid.
    #[error(transparent)]
    Message(#[from] gp_messaging::MessageError),
    /// The access store failed.
    #[error(transparent)]
    AccessStore(#[from] gp_access::StoreError),
    /// Access input (a name, reason, note, date or setting) was not valid.
    #[error(transparent)]
    AccessInput(#[from] gp_access::AccessError),
    /// The facts kept changing under the request, more times than allowed.
    #[error("the practice's records were too busy to complete the request after {attempts} attempts; please try again")]
    Contention {
        /// How many times the request was decided.
        attempts: u32,
    },
}

/// The booking facade over a store and a clock.
pub struct Online<S, C> {
    store: S,
    clock: C,
    ids: std::sync::Arc<dyn IdSource>,
    policy: BookingPolicy,
    max_attempts: u32,
}

impl<S: BookingStore, C: Clock> Online<S, C> {
    /// A facade over `store` and `clock` under `policy`, making random identifiers.
    pub fn new(store: S, clock: C, policy: BookingPolicy) -> Self {
        Self::with_ids(store, clock, policy, Box::new(RandomIds))
    }

    /// Like [`Online::new`], with identifiers from `ids` (for repeatable tests).
    pub fn with_ids(store: S, clock: C, policy: BookingPolicy, ids: Box<dyn IdSource>) -> Self {
        Self {
            store,
            clock,
            ids: ids.into(),
            policy,
            max_attempts: 16,
        }
    }

    /// Sets how many times a request is decided again after conflicts before
    /// [`OnlineError::Contention`] (default 16; at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The policy in force.
    pub fn policy(&self) -> &BookingPolicy {
        &self.policy
    }

    /// Replaces the policy in force.
    pub fn set_policy(&mut self, policy: BookingPolicy) {
        self.policy = policy;
    }

    /// The free slots this actor may book through this channel, in order of start.
    pub async fn search(&self, request: &SearchRequest) -> Result<Answer<Vec<Slot>>, OnlineError> {
        let candidates = self.store.find_slots(&request.query).await?;
        match search(
            &self.policy,
            request,
            &candidates,
            self.clock.now(),
            self.ids.as_ref(),
        ) {
            Ok(slots) => Ok(Answer::Done(slots)),
            Err(refusal) => self.refused(*refusal, &[]).await,
        }
    }

    /// Books a slot for `patient` (whose facts come from the access records).
    pub async fn book(
        &self,
        request: &BookRequest,
        patient: &PatientFacts,
    ) -> Result<Answer<Booking>, OnlineError> {
        self.book_after(request, patient, &[]).await
    }

    /// Like [`Online::book`], with the events of decisions taken just before
    /// it (such as an allowed authorization) committed in the booking's own
    /// transaction, or recorded with its refusal: one write, not two.
    pub async fn book_after(
        &self,
        request: &BookRequest,
        patient: &PatientFacts,
        earlier: &[AuditEvent],
    ) -> Result<Answer<Booking>, OnlineError> {
        for _ in 0..self.max_attempts {
            let now = self.clock.now();
            let (policy, request_owned, facts, ids) = (
                self.policy.clone(),
                request.clone(),
                *patient,
                self.ids.clone(),
            );
            // The decision is pure: the store may run it inside its write
            // transaction (gp-sqlite does), so loading, deciding and
            // committing take one trip to the database.
            let decide: gp_booking::BookDecider = Box::new(move |snap| {
                let facts = BookFacts {
                    slot: snap.slot,
                    patient: facts,
                    holdings: snap.holdings,
                    holdings_since: now,
                };
                decide_book(&policy, &facts, &request_owned, now, ids.as_ref())
            });
            match self
                .store
                .book_in_one_step(request.slot, request.patient, now, earlier.to_vec(), decide)
                .await
            {
                Ok(Decision::Allowed(c)) => return booked(Answer::Done(c)),
                Ok(Decision::Refused(r)) => return Ok(Answer::Refused(r.reason)),
                Err(CommitError::Conflict(_)) => continue,
                Err(CommitError::Store(e)) => return Err(e.into()),
                Err(other) => {
                    return Err(OnlineError::Store(StoreError::Unavailable(
                        other.to_string(),
                    )))
                }
            }
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }

    /// Cancels a booking; answers with the booking as cancelled.
    pub async fn cancel(&self, request: &CancelRequest) -> Result<Answer<Booking>, OnlineError> {
        self.cancel_after(request, &[]).await
    }

    /// Like [`Online::cancel`], with earlier events committed (or recorded)
    /// together with the cancellation, as [`Online::book_after`] does.
    pub async fn cancel_after(
        &self,
        request: &CancelRequest,
        earlier: &[AuditEvent],
    ) -> Result<Answer<Booking>, OnlineError> {
        let answer = self
            .run(earlier, |now| async move {
                let facts = self.store.load_cancel(request.booking).await?;
                Ok(decide_cancel(
                    &self.policy,
                    &facts,
                    request,
                    now,
                    self.ids.as_ref(),
                ))
            })
            .await?;
        match answer {
            Answer::Refused(r) => Ok(Answer::Refused(r)),
            Answer::Done(_) => match self.store.booking(request.booking).await? {
                Some(booking) => Ok(Answer::Done(booking)),
                None => Err(StoreError::Missing(format!(
                    "booking {} after its cancellation",
                    request.booking
                ))
                .into()),
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
        self.run(&[], |now| async move {
            let current = self.store.load_cancel(request.booking).await?;
            let snap = self
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
                },
            };
            Ok(decide_reschedule(
                &self.policy,
                &facts,
                request,
                now,
                self.ids.as_ref(),
            ))
        })
        .await
        .and_then(booked)
    }

    async fn refused<T>(
        &self,
        refusal: Refusal,
        earlier: &[AuditEvent],
    ) -> Result<Answer<T>, OnlineError> {
        for e in earlier {
            self.store.record_refusal(e).await?;
        }
        self.store.record_refusal(&refusal.event).await?;
        Ok(Answer::Refused(refusal.reason))
    }

    /// The commit pattern: load and decide, commit, and on conflict do it again.
    async fn run<'a, F, Fut>(
        &'a self,
        earlier: &[AuditEvent],
        decide: F,
    ) -> Result<Answer<Committable>, OnlineError>
    where
        F: Fn(chrono::DateTime<chrono::Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<Decision, StoreError>> + 'a,
    {
        for _ in 0..self.max_attempts {
            let now = self.clock.now();
            let mut committable: Committable = match decide(now).await? {
                Decision::Refused(refusal) => return self.refused(refusal, earlier).await,
                Decision::Allowed(c) => c,
            };
            if !earlier.is_empty() {
                committable.events.splice(0..0, earlier.iter().cloned());
            }
            match self.store.commit(&committable).await {
                Ok(()) => return Ok(Answer::Done(committable)),
                Err(CommitError::Conflict(_)) => continue,
                Err(CommitError::Store(e)) => return Err(e.into()),
                Err(other) => {
                    return Err(OnlineError::Store(StoreError::Unavailable(
                        other.to_string(),
                    )))
                }
            }
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }
}

/// The new booking a committed book or reschedule made.
fn booked(answer: Answer<Committable>) -> Result<Answer<Booking>, OnlineError> {
    match answer {
        Answer::Refused(r) => Ok(Answer::Refused(r)),
        Answer::Done(c) => match c.change {
            BookingChange::Book(b) | BookingChange::Reschedule { book: b, .. } => {
                Ok(Answer::Done(b))
            }
            BookingChange::Cancel { booking, .. } => Err(StoreError::Corrupt(format!(
                "a booking decision produced a cancellation of {booking}"
            ))
            .into()),
        },
    }
}
