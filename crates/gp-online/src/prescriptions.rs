//! The repeat prescriptions facade.

use chrono::{DateTime, Utc};
use gp_core::{Actor, AuditEvent, Channel, Clock, IdSource, PatientId, RandomIds};
use gp_prescribing::{
    decide_approve, decide_cancel_line, decide_flag_not_taken, decide_issue, decide_put_item,
    decide_reject, decide_request, decide_restriction, decide_review, decide_settings, CommitError,
    Committable, Decision, ItemAction, LineAction, LineRefusal, OrderRequest, OrderingRestriction,
    PrescribingFacts, PrescribingRefusal, PrescribingSettings, PrescribingStore, RepeatItem,
    RepeatRequest, RestrictionScope, ReviewOutcome,
};

use crate::{Answer, OnlineError};

/// A request that went through: the request as queued (with the items that
/// passed) and the items refused, each with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordered {
    /// The request, as stored.
    pub request: RepeatRequest,
    /// Items refused while the others went through.
    pub refused: Vec<LineRefusal>,
}

/// A request refused as a whole: the reason and, if the items were each
/// refused, why each was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRefused {
    /// Why (for a request whose every item was refused, the first item's reason).
    pub reason: PrescribingRefusal,
    /// Each item's reason, when the items were refused one by one.
    pub lines: Vec<LineRefusal>,
}

/// The repeat prescriptions facade over a store and a clock: load, decide
/// with `gp-prescribing`'s rules, commit with the audit events, and on a
/// conflict decide again (bounded), so the caller gets a policy answer such
/// as `DuplicateRequest`, never an internal conflict. Refusals are recorded.
pub struct Prescriptions<S, C> {
    store: S,
    clock: C,
    ids: Box<dyn IdSource>,
    max_attempts: u32,
}

impl<S: PrescribingStore, C: Clock> Prescriptions<S, C> {
    /// A facade over `store` and `clock`, making random identifiers.
    pub fn new(store: S, clock: C) -> Self {
        Self::with_ids(store, clock, Box::new(RandomIds))
    }

    /// Like [`Prescriptions::new`], with identifiers from `ids` (for repeatable tests).
    pub fn with_ids(store: S, clock: C, ids: Box<dyn IdSource>) -> Self {
        Self {
            store,
            clock,
            ids,
            max_attempts: 16,
        }
    }

    /// Sets how many times a request is decided again after conflicts before
    /// [`OnlineError::Contention`] (default 16; at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The store (for reading the queue, the review list and records).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Orders repeat items. Items that pass go to the practice's queue; the
    /// others are listed with their reasons. If none passes, the request is refused.
    pub async fn request(
        &self,
        request: &OrderRequest,
    ) -> Result<Answer<Ordered, OrderRefused>, OnlineError> {
        self.request_after(request, &[]).await
    }

    /// Like [`Prescriptions::request`], with the events of decisions taken
    /// just before it (such as an allowed authorization) committed in the
    /// request's own transaction, or recorded with its refusal.
    pub async fn request_after(
        &self,
        request: &OrderRequest,
        earlier: &[AuditEvent],
    ) -> Result<Answer<Ordered, OrderRefused>, OnlineError> {
        let answer = self
            .run_after(earlier, |now| async move {
                let facts = self.store.load(request.patient).await?;
                Ok(decide_request(&facts, request, now, self.ids.as_ref())?)
            })
            .await?;
        Ok(match answer {
            Attempt::Committed(c) => match c.change.requests.into_iter().next() {
                Some(request) => Answer::Done(Ordered {
                    request,
                    refused: c.refused_lines,
                }),
                None => {
                    return Err(gp_prescribing::StoreError::Corrupt(
                        "a request decision stored no request".into(),
                    )
                    .into())
                }
            },
            Attempt::Refused(reason, lines) => Answer::Refused(OrderRefused { reason, lines }),
        })
    }

    /// Cancels one line of a request (only while requested).
    pub async fn cancel_line(
        &self,
        action: &LineAction,
    ) -> Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError> {
        let answer = self
            .on_patient(action.patient, |facts, now| {
                Ok(decide_cancel_line(facts, action, now, self.ids.as_ref()))
            })
            .await?;
        first_request(answer)
    }

    /// Approves one line (prescribers only).
    pub async fn approve(
        &self,
        action: &LineAction,
    ) -> Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError> {
        self.prescriber_move_after(action, &PrescriberMove::Approve, &[])
            .await
    }

    /// Rejects one line with a reason the patient will read (prescribers only).
    pub async fn reject(
        &self,
        action: &LineAction,
        reason: &str,
    ) -> Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError> {
        self.prescriber_move_after(action, &PrescriberMove::Reject(reason.to_owned()), &[])
            .await
    }

    /// Issues an approved line (a prescriber, or the system confirming an electronic issue).
    pub async fn issue(
        &self,
        action: &LineAction,
    ) -> Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError> {
        self.prescriber_move_after(action, &PrescriberMove::Issue, &[])
            .await
    }

    /// Flags an item the patient no longer takes, for a clinician to review.
    pub async fn flag_not_taken(
        &self,
        action: &ItemAction,
        note: Option<&str>,
    ) -> Result<Answer<RepeatItem, PrescribingRefusal>, OnlineError> {
        let answer = self
            .on_patient(action.patient, |facts, now| {
                Ok(decide_flag_not_taken(
                    facts,
                    action,
                    note,
                    now,
                    self.ids.as_ref(),
                )?)
            })
            .await?;
        first_item(answer)
    }

    /// Records a prescriber's review of a flagged item: keep it, or end it.
    pub async fn review(
        &self,
        action: &ItemAction,
        outcome: &ReviewOutcome,
    ) -> Result<Answer<RepeatItem, PrescribingRefusal>, OnlineError> {
        let answer = self
            .on_patient(action.patient, |facts, now| {
                Ok(decide_review(
                    facts,
                    action,
                    outcome,
                    now,
                    self.ids.as_ref(),
                )?)
            })
            .await?;
        first_item(answer)
    }

    /// Stores an item on a patient's list (a prescriber, or the system
    /// copying the clinical record).
    pub async fn put_item(
        &self,
        actor: Actor,
        channel: Channel,
        item: &RepeatItem,
    ) -> Result<Answer<RepeatItem, PrescribingRefusal>, OnlineError> {
        let answer = self
            .on_patient(item.patient, |facts, now| {
                Ok(decide_put_item(
                    facts,
                    actor,
                    channel,
                    item,
                    now,
                    self.ids.as_ref(),
                )?)
            })
            .await?;
        first_item(answer)
    }

    /// Turns ordering off for one patient (`Some((scope, reason))`) or back on (`None`).
    pub async fn restrict(
        &self,
        actor: Actor,
        channel: Channel,
        patient: PatientId,
        restriction: Option<(RestrictionScope, &str)>,
    ) -> Result<Answer<Option<OrderingRestriction>, PrescribingRefusal>, OnlineError> {
        let answer = self
            .on_patient(patient, |facts, now| {
                Ok(decide_restriction(
                    facts,
                    actor,
                    channel,
                    restriction,
                    now,
                    self.ids.as_ref(),
                )?)
            })
            .await?;
        Ok(match answer {
            Attempt::Refused(r, _) => Answer::Refused(r),
            Attempt::Committed(c) => Answer::Done(match c.change.restriction {
                Some(gp_prescribing::RestrictionChange::Set(r)) => Some(r),
                _ => None,
            }),
        })
    }

    /// Changes the practice's prescribing settings (staff; ask the access matrix
    /// first, as `Practice::set_prescribing_settings` does).
    pub async fn set_settings(
        &self,
        actor: Actor,
        channel: Channel,
        settings: &PrescribingSettings,
    ) -> Result<Answer<PrescribingSettings, PrescribingRefusal>, OnlineError> {
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
                )?)
            })
            .await?;
        Ok(match answer {
            Attempt::Refused(r, _) => Answer::Refused(r),
            Attempt::Committed(_) => Answer::Done(settings.clone()),
        })
    }

    /// The commit pattern for a decision about one patient: load their
    /// facts, decide, commit, and on conflict do it again.
    async fn on_patient<F>(&self, patient: PatientId, decide: F) -> Result<Attempt, OnlineError>
    where
        F: Fn(&PrescribingFacts, DateTime<Utc>) -> Result<Decision, OnlineError>,
    {
        self.on_patient_after(patient, &[], decide).await
    }

    /// Like `on_patient`, with earlier events (an authorization) committed
    /// or recorded together with the decision.
    async fn on_patient_after<F>(
        &self,
        patient: PatientId,
        earlier: &[AuditEvent],
        decide: F,
    ) -> Result<Attempt, OnlineError>
    where
        F: Fn(&PrescribingFacts, DateTime<Utc>) -> Result<Decision, OnlineError>,
    {
        let decide = &decide;
        self.run_after(earlier, |now| async move {
            let facts = self.store.load(patient).await?;
            decide(&facts, now)
        })
        .await
    }

    /// A prescriber's move of one line (approve, reject with a reason, or
    /// issue), with earlier events committed or recorded together with it.
    pub(crate) async fn prescriber_move_after(
        &self,
        action: &LineAction,
        kind: &PrescriberMove,
        earlier: &[AuditEvent],
    ) -> Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError> {
        let answer = self
            .on_patient_after(action.patient, earlier, |facts, now| {
                let ids = self.ids.as_ref();
                Ok(match kind {
                    PrescriberMove::Approve => decide_approve(facts, action, now, ids),
                    PrescriberMove::Reject(reason) => {
                        decide_reject(facts, action, reason, now, ids)?
                    }
                    PrescriberMove::Issue => decide_issue(facts, action, now, ids),
                })
            })
            .await?;
        first_request(answer)
    }

    /// The commit pattern: load and decide, commit, and on conflict do it again.
    async fn run<'a, F, Fut>(&'a self, decide: F) -> Result<Attempt, OnlineError>
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
    ) -> Result<Attempt, OnlineError>
    where
        F: Fn(DateTime<Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<Decision, OnlineError>> + 'a,
    {
        for _ in 0..self.max_attempts {
            let now = self.clock.now();
            let mut committable: Committable = match decide(now).await? {
                Decision::Refused(refusal) => {
                    let mut events = earlier.to_vec();
                    events.extend(refusal.events);
                    self.store.record_refusal(&events).await?;
                    return Ok(Attempt::Refused(refusal.reason, refusal.lines));
                }
                Decision::Allowed(c) => c,
            };
            if !earlier.is_empty() {
                committable.events.splice(0..0, earlier.iter().cloned());
            }
            match self.store.commit(&committable).await {
                Ok(()) => return Ok(Attempt::Committed(Box::new(committable))),
                Err(CommitError::Conflict(_)) => continue,
                Err(CommitError::Store(e)) => return Err(e.into()),
                Err(other) => {
                    return Err(gp_prescribing::StoreError::Unavailable(other.to_string()).into())
                }
            }
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }
}

/// What a prescriber does to a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrescriberMove {
    /// Approve it.
    Approve,
    /// Reject it, with a reason the patient will read.
    Reject(String),
    /// Issue it.
    Issue,
}

enum Attempt {
    Committed(Box<Committable>),
    Refused(PrescribingRefusal, Vec<LineRefusal>),
}

fn first_request(
    answer: Attempt,
) -> Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError> {
    match answer {
        Attempt::Refused(r, _) => Ok(Answer::Refused(r)),
        Attempt::Committed(c) => c
            .change
            .requests
            .into_iter()
            .next()
            .map(Answer::Done)
            .ok_or_else(|| {
                gp_prescribing::StoreError::Corrupt("a line decision stored no request".into())
                    .into()
            }),
    }
}

fn first_item(answer: Attempt) -> Result<Answer<RepeatItem, PrescribingRefusal>, OnlineError> {
    match answer {
        Attempt::Refused(r, _) => Ok(Answer::Refused(r)),
        Attempt::Committed(c) => c
            .change
            .items
            .into_iter()
            .next()
            .map(Answer::Done)
            .ok_or_else(|| {
                gp_prescribing::StoreError::Corrupt("an item decision stored no item".into()).into()
            }),
    }
}
