//! The one commit loop every action runs: decide, commit with the
//! authorization's events and guard, and on a conflict decide again.

use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use gp_core::{
    AccessGuard, AuditEvent, Clock, CommitError, Committable, Decision, IdSource, StoreError,
};

use crate::OnlineError;

/// What an action was authorized by: the authorization's events, to commit
/// in the action's own transaction (or record with its refusal), and the
/// access record version it read, which the store checks again at commit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prior {
    /// Events of the allowed authorization.
    pub events: Vec<AuditEvent>,
    /// The access record version the authorization read.
    pub guard: Option<AccessGuard>,
}

impl Prior {
    /// Nothing before: the action was not authorized through `Practice`.
    pub fn none() -> Self {
        Self::default()
    }
}

/// A domain's precondition that can carry the authorization's guard.
pub(crate) trait Guarded: Clone + Send + Sync + std::fmt::Display + 'static {
    /// The precondition "the access record is still at this version".
    fn guard(guard: AccessGuard) -> Self;
    /// Whether this is that precondition.
    fn is_guard(&self) -> bool;
}

macro_rules! guarded {
    ($($domain:ident),+) => {$(
        impl Guarded for $domain::Precondition {
            fn guard(guard: AccessGuard) -> Self {
                $domain::Precondition::Authorized(guard)
            }
            fn is_guard(&self) -> bool {
                matches!(self, $domain::Precondition::Authorized(_))
            }
        }
    )+};
}

guarded!(gp_booking, gp_prescribing, gp_messaging);

impl Guarded for gp_monitoring::problems::Precondition {
    fn guard(guard: AccessGuard) -> Self {
        gp_monitoring::problems::Precondition::Authorized(guard)
    }
    fn is_guard(&self) -> bool {
        matches!(self, gp_monitoring::problems::Precondition::Authorized(_))
    }
}

/// Access decisions are about the access record itself: they carry their
/// own `RecordUnchanged`, never a guard.
impl Guarded for gp_access::Precondition {
    fn guard(guard: AccessGuard) -> Self {
        gp_access::Precondition::RecordUnchanged {
            patient: guard.patient,
            version: guard.version,
        }
    }
    fn is_guard(&self) -> bool {
        false
    }
}

/// What the loop needs of a port: commit an allowed decision, record a refusal.
#[async_trait]
pub(crate) trait Port<C, P>: Send + Sync {
    /// Commits the change with its events under its preconditions.
    async fn commit_decision(&self, c: &Committable<C, P>) -> Result<(), CommitError<P>>;
    /// Appends a refusal's events.
    async fn record_refused(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
}

macro_rules! port {
    ($store:path, $change:ty, $pre:ty) => {
        #[async_trait]
        impl<S: $store + ?Sized> Port<$change, $pre> for S {
            async fn commit_decision(
                &self,
                c: &Committable<$change, $pre>,
            ) -> Result<(), CommitError<$pre>> {
                self.commit(c).await
            }
            async fn record_refused(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
                self.record_refusal(events).await
            }
        }
    };
}

port!(
    gp_booking::BookingStore,
    gp_booking::BookingChange,
    gp_booking::Precondition
);
port!(
    gp_prescribing::PrescribingStore,
    gp_prescribing::PrescribingChange,
    gp_prescribing::Precondition
);
port!(
    gp_messaging::MessageStore,
    gp_messaging::MessageChange,
    gp_messaging::Precondition
);
port!(
    gp_monitoring::ProblemStore,
    gp_monitoring::ProblemChange,
    gp_monitoring::problems::Precondition
);
port!(
    gp_access::AccessStore,
    gp_access::AccessChange,
    gp_access::Precondition
);

/// What the loop came to.
pub(crate) enum Outcome<C, P, R> {
    /// Committed, as this.
    Committed(Box<Committable<C, P>>),
    /// Refused, and recorded.
    Refused(R),
}

/// How a commit that did not happen is handled: a conflict on the
/// authorization's guard means the action must be authorized again; any
/// other conflict means decide again; a store failure is the caller's.
pub(crate) fn on_commit_error<P: Guarded>(e: CommitError<P>) -> Result<(), OnlineError> {
    match e {
        CommitError::Conflict(p) if p.is_guard() => Err(OnlineError::AccessChanged),
        CommitError::Conflict(_) => Ok(()),
        CommitError::Store(e) => Err(e.into()),
        other => Err(StoreError::Unavailable(other.to_string()).into()),
    }
}

/// The commit pattern, written once: at the clock's `now`, load and
/// decide (`decide`), put the prior authorization's events first and its
/// guard among the preconditions, then commit the change (or record the
/// refusal). On a conflict, decide again, at most `attempts` times.
pub(crate) async fn run<C, P, R, S, F, Fut>(
    store: &S,
    clock: &dyn Clock,
    attempts: u32,
    prior: &Prior,
    decide: F,
) -> Result<Outcome<C, P, R>, OnlineError>
where
    S: Port<C, P> + ?Sized,
    P: Guarded,
    F: Fn(DateTime<Utc>) -> Fut,
    Fut: Future<Output = Result<Decision<C, P, R>, OnlineError>>,
{
    for _ in 0..attempts {
        match decide(clock.now()).await?.after(&prior.events) {
            Decision::Refused(r) => {
                store.record_refused(&r.events).await?;
                return Ok(Outcome::Refused(r.reason));
            }
            Decision::Allowed(mut c) => {
                c.preconditions.extend(prior.guard.map(P::guard));
                match store.commit_decision(&c).await {
                    Ok(()) => return Ok(Outcome::Committed(Box::new(c))),
                    Err(e) => on_commit_error(e)?,
                }
            }
        }
    }
    Err(OnlineError::Contention { attempts })
}

/// What every facade holds: its store, its clock, its identifier source and
/// how many times it decides again after conflicts.
pub(crate) struct Core<S, C> {
    pub(crate) store: S,
    pub(crate) clock: C,
    pub(crate) ids: Arc<dyn IdSource>,
    pub(crate) max_attempts: u32,
}

impl<S, C: Clock> Core<S, C> {
    /// A facade's parts, deciding again at most 16 times.
    pub(crate) fn new(store: S, clock: C, ids: Box<dyn IdSource>) -> Self {
        Self {
            store,
            clock,
            ids: ids.into(),
            max_attempts: 16,
        }
    }

    /// [`run`] over this facade's store and clock.
    pub(crate) async fn run<Ch, P, R, F, Fut>(
        &self,
        prior: &Prior,
        decide: F,
    ) -> Result<Outcome<Ch, P, R>, OnlineError>
    where
        S: Port<Ch, P>,
        P: Guarded,
        F: Fn(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Decision<Ch, P, R>, OnlineError>>,
    {
        run(&self.store, &self.clock, self.max_attempts, prior, decide).await
    }
}
