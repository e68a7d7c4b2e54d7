//! The problem log facade.

use gp_core::{Actor, Channel, Clock, IdSource, ProblemId, RandomIds};
use gp_monitoring::{
    decide_action, decide_report, NewProblem, Problem, ProblemFilter, ProblemRefusal,
    ProblemStatus, ProblemStore,
};

use crate::commit::{Core, Outcome, Prior};
use crate::{Answer, OnlineError};

/// The problem log over a store and a clock: decide with
/// `gp-monitoring`'s rules, commit with the audit event, decide again on a
/// conflict. It does not ask the access records: [`crate::Practice`] does.
pub struct Problems<S, C> {
    core: Core<S, C>,
}

type Answered<T> = Result<Answer<T, ProblemRefusal>, OnlineError>;

fn stored(
    outcome: Outcome<
        gp_monitoring::ProblemChange,
        gp_monitoring::problems::Precondition,
        ProblemRefusal,
    >,
) -> Answered<Problem> {
    Ok(match outcome {
        Outcome::Committed(c) => Answer::Done(c.change.problem),
        Outcome::Refused(r) => Answer::Refused(r),
    })
}

impl<S: ProblemStore, C: Clock> Problems<S, C> {
    /// A facade over `store` and `clock`, making random identifiers.
    pub fn new(store: S, clock: C) -> Self {
        Self::with_ids(store, clock, Box::new(RandomIds))
    }

    /// Like [`Problems::new`], with identifiers from `ids`.
    pub fn with_ids(store: S, clock: C, ids: Box<dyn IdSource>) -> Self {
        Self {
            core: Core::new(store, clock, ids),
        }
    }

    /// The problems passing `filter`, oldest first.
    pub async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>, OnlineError> {
        Ok(self.core.store.problems(filter).await?)
    }

    /// Records a problem report; what it concerns is taken to be the
    /// patient's (this facade sees no appointments, requests or messages;
    /// `Practice::report_problem` checks them).
    pub async fn report(&self, report: &NewProblem) -> Answered<Problem> {
        self.report_after(report, report.patient, &Prior::none())
            .await
    }

    pub(crate) async fn report_after(
        &self,
        report: &NewProblem,
        link_owner: Option<gp_core::PatientId>,
        prior: &Prior,
    ) -> Answered<Problem> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                Ok(decide_report(
                    report,
                    link_owner,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        stored(outcome)
    }

    /// Records an action on a problem (staff).
    pub async fn act(
        &self,
        actor: Actor,
        channel: Channel,
        problem: ProblemId,
        status: ProblemStatus,
        note: &str,
    ) -> Answered<Problem> {
        self.act_after(actor, channel, problem, status, note, &Prior::none())
            .await
    }

    pub(crate) async fn act_after(
        &self,
        actor: Actor,
        channel: Channel,
        problem: ProblemId,
        status: ProblemStatus,
        note: &str,
        prior: &Prior,
    ) -> Answered<Problem> {
        let outcome = self
            .core
            .run(prior, |now| async move {
                let stored = self.core.store.problem(problem).await?;
                Ok(decide_action(
                    stored.as_ref(),
                    actor,
                    channel,
                    problem,
                    status,
                    note,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        stored(outcome)
    }
}
