//! The repeat prescriptions facade.

use chrono::{DateTime, Utc};
use gp_core::{Actor, Channel, Clock, IdSource, PatientId, RandomIds, StoreError};
use gp_prescribing::{
    decide_approve, decide_cancel_line, decide_flag_not_taken, decide_issue, decide_put_item,
    decide_reject, decide_request, decide_restriction, decide_review, decide_settings, Decision,
    ItemAction, LineAction, LineRefusal, OrderRefused, OrderRequest, OrderingRestriction,
    PatientRecord, PrescribingChange, PrescribingFacts, PrescribingRefusal, PrescribingSettings,
    PrescribingStore, RepeatItem, RepeatRequest, RestrictionChange, RestrictionScope,
    ReviewOutcome,
};

use crate::commit::{Core, Outcome, Prior};
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

/// The repeat prescriptions facade over a store and a clock: load, decide
/// with `gp-prescribing`'s rules, commit with the audit events, and on a
/// conflict decide again (bounded), so the caller gets a policy answer such
/// as `DuplicateRequest`, never an internal conflict. Refusals are recorded.
/// It does not ask the access records: [`crate::Practice`] does.
pub struct Prescriptions<S, C> {
    core: Core<S, C>,
}

type Answered<T> = Result<Answer<T, PrescribingRefusal>, OnlineError>;

impl<S: PrescribingStore, C: Clock> Prescriptions<S, C> {
    /// A facade over `store` and `clock`, making random identifiers.
    pub fn new(store: S, clock: C) -> Self {
        Self::with_ids(store, clock, Box::new(RandomIds))
    }

    /// Like [`Prescriptions::new`], with identifiers from `ids` (for repeatable tests).
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

    /// The store (for reading the queue, the review list and records).
    pub fn store(&self) -> &S {
        &self.core.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.core.clock
    }

    /// A patient's repeat medicines, requests and restriction.
    pub async fn record(&self, patient: PatientId) -> Result<PatientRecord, OnlineError> {
        Ok(self.core.store.load(patient).await?.record)
    }

    /// Orders repeat items. Items that pass go to the practice's queue; the
    /// others are listed with their reasons. If none passes, the request is refused.
    pub async fn request(
        &self,
        request: &OrderRequest,
    ) -> Result<Answer<Ordered, OrderRefused>, OnlineError> {
        self.request_after(request, &Prior::none()).await
    }

    pub(crate) async fn request_after(
        &self,
        request: &OrderRequest,
        prior: &Prior,
    ) -> Result<Answer<Ordered, OrderRefused>, OnlineError> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let facts = self.core.store.load(request.patient).await?;
                Ok(decide_request(
                    &facts,
                    request,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        Ok(match outcome {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(c) => {
                let PrescribingChange {
                    requests,
                    refused_lines,
                    ..
                } = c.change;
                match requests.into_iter().next() {
                    Some(request) => Answer::Done(Ordered {
                        request,
                        refused: refused_lines,
                    }),
                    None => {
                        return Err(StoreError::Corrupt(
                            "a request decision stored no request".into(),
                        )
                        .into())
                    }
                }
            }
        })
    }

    /// Cancels one line of a request (only while requested).
    pub async fn cancel_line(&self, action: &LineAction) -> Answered<RepeatRequest> {
        self.cancel_line_after(action, &Prior::none()).await
    }

    pub(crate) async fn cancel_line_after(
        &self,
        action: &LineAction,
        prior: &Prior,
    ) -> Answered<RepeatRequest> {
        let outcome = self
            .on_patient(action.patient, prior, |facts, now, ids| {
                Ok(decide_cancel_line(facts, action, now, ids))
            })
            .await?;
        first_request(outcome)
    }

    /// Approves one line (prescribers only).
    pub async fn approve(&self, action: &LineAction) -> Answered<RepeatRequest> {
        self.prescriber_move_after(action, &PrescriberMove::Approve, &Prior::none())
            .await
    }

    /// Rejects one line with a reason the patient will read (prescribers only).
    pub async fn reject(&self, action: &LineAction, reason: &str) -> Answered<RepeatRequest> {
        self.prescriber_move_after(
            action,
            &PrescriberMove::Reject(reason.to_owned()),
            &Prior::none(),
        )
        .await
    }

    /// Issues an approved line (a prescriber, or the system confirming an electronic issue).
    pub async fn issue(&self, action: &LineAction) -> Answered<RepeatRequest> {
        self.prescriber_move_after(action, &PrescriberMove::Issue, &Prior::none())
            .await
    }

    /// A prescriber's move of one line (approve, reject with a reason, or issue).
    pub(crate) async fn prescriber_move_after(
        &self,
        action: &LineAction,
        kind: &PrescriberMove,
        prior: &Prior,
    ) -> Answered<RepeatRequest> {
        let outcome = self
            .on_patient(action.patient, prior, |facts, now, ids| {
                Ok(match kind {
                    PrescriberMove::Approve => decide_approve(facts, action, now, ids),
                    PrescriberMove::Reject(reason) => {
                        decide_reject(facts, action, reason, now, ids)?
                    }
                    PrescriberMove::Issue => decide_issue(facts, action, now, ids),
                })
            })
            .await?;
        first_request(outcome)
    }

    /// Flags an item the patient no longer takes, for a clinician to review.
    pub async fn flag_not_taken(
        &self,
        action: &ItemAction,
        note: Option<&str>,
    ) -> Answered<RepeatItem> {
        self.flag_not_taken_after(action, note, &Prior::none())
            .await
    }

    pub(crate) async fn flag_not_taken_after(
        &self,
        action: &ItemAction,
        note: Option<&str>,
        prior: &Prior,
    ) -> Answered<RepeatItem> {
        let outcome = self
            .on_patient(action.patient, prior, |facts, now, ids| {
                Ok(decide_flag_not_taken(facts, action, note, now, ids)?)
            })
            .await?;
        first_item(outcome)
    }

    /// Records a prescriber's review of a flagged item: keep it, or end it.
    pub async fn review(
        &self,
        action: &ItemAction,
        outcome: &ReviewOutcome,
    ) -> Answered<RepeatItem> {
        self.review_after(action, outcome, &Prior::none()).await
    }

    pub(crate) async fn review_after(
        &self,
        action: &ItemAction,
        review: &ReviewOutcome,
        prior: &Prior,
    ) -> Answered<RepeatItem> {
        let outcome = self
            .on_patient(action.patient, prior, |facts, now, ids| {
                Ok(decide_review(facts, action, review, now, ids)?)
            })
            .await?;
        first_item(outcome)
    }

    /// Stores an item on a patient's list (a prescriber, or the system
    /// copying the clinical record).
    pub async fn put_item(
        &self,
        actor: Actor,
        channel: Channel,
        item: &RepeatItem,
    ) -> Answered<RepeatItem> {
        self.put_item_after(actor, channel, item, &Prior::none())
            .await
    }

    pub(crate) async fn put_item_after(
        &self,
        actor: Actor,
        channel: Channel,
        item: &RepeatItem,
        prior: &Prior,
    ) -> Answered<RepeatItem> {
        let outcome = self
            .on_patient(item.patient, prior, |facts, now, ids| {
                Ok(decide_put_item(facts, actor, channel, item, now, ids)?)
            })
            .await?;
        first_item(outcome)
    }

    /// Turns ordering off for one patient (`Some((scope, reason))`) or back on (`None`).
    pub async fn restrict(
        &self,
        actor: Actor,
        channel: Channel,
        patient: PatientId,
        restriction: Option<(RestrictionScope, &str)>,
    ) -> Answered<Option<OrderingRestriction>> {
        self.restrict_after(actor, channel, patient, restriction, &Prior::none())
            .await
    }

    pub(crate) async fn restrict_after(
        &self,
        actor: Actor,
        channel: Channel,
        patient: PatientId,
        restriction: Option<(RestrictionScope, &str)>,
        prior: &Prior,
    ) -> Answered<Option<OrderingRestriction>> {
        let outcome = self
            .on_patient(patient, prior, |facts, now, ids| {
                Ok(decide_restriction(
                    facts,
                    actor,
                    channel,
                    restriction,
                    now,
                    ids,
                )?)
            })
            .await?;
        Ok(match outcome {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(c) => Answer::Done(match c.change.restriction {
                Some(RestrictionChange::Set(r)) => Some(r),
                _ => None,
            }),
        })
    }

    /// Changes the practice's prescribing settings (staff; `Practice` asks
    /// the access matrix first).
    pub async fn set_settings(
        &self,
        actor: Actor,
        channel: Channel,
        settings: &PrescribingSettings,
    ) -> Answered<PrescribingSettings> {
        self.set_settings_after(actor, channel, settings, &Prior::none())
            .await
    }

    pub(crate) async fn set_settings_after(
        &self,
        actor: Actor,
        channel: Channel,
        settings: &PrescribingSettings,
        prior: &Prior,
    ) -> Answered<PrescribingSettings> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let current = self.core.store.settings().await?;
                Ok(decide_settings(
                    &current,
                    actor,
                    channel,
                    settings,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        Ok(match outcome {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(_) => Answer::Done(settings.clone()),
        })
    }

    /// The commit loop for a decision about one patient: load their facts
    /// (with the settings), decide, commit.
    async fn on_patient<F>(
        &self,
        patient: PatientId,
        prior: &Prior,
        decide: F,
    ) -> Result<
        Outcome<PrescribingChange, gp_prescribing::Precondition, PrescribingRefusal>,
        OnlineError,
    >
    where
        F: Fn(&PrescribingFacts, DateTime<Utc>, &dyn IdSource) -> Result<Decision, OnlineError>,
    {
        let decide = &decide;
        self.core
            .run(prior, |now| async move {
                let facts = self.core.store.load(patient).await?;
                decide(&facts, now, self.core.ids.as_ref())
            })
            .await
    }
}

type PatientOutcome = Outcome<PrescribingChange, gp_prescribing::Precondition, PrescribingRefusal>;

fn first_request(outcome: PatientOutcome) -> Answered<RepeatRequest> {
    match outcome {
        Outcome::Refused(r) => Ok(Answer::Refused(r)),
        Outcome::Committed(c) => c
            .change
            .requests
            .into_iter()
            .next()
            .map(Answer::Done)
            .ok_or_else(|| StoreError::Corrupt("a line decision stored no request".into()).into()),
    }
}

fn first_item(outcome: PatientOutcome) -> Answered<RepeatItem> {
    match outcome {
        Outcome::Refused(r) => Ok(Answer::Refused(r)),
        Outcome::Committed(c) => c
            .change
            .items
            .into_iter()
            .next()
            .map(Answer::Done)
            .ok_or_else(|| StoreError::Corrupt("an item decision stored no item".into()).into()),
    }
}
