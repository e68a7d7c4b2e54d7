//! The one shape of every decision, and the one family of storage errors.
//!
//! Every domain crate decides purely (facts and `now` in, a [`Decision`]
//! out) and every store commits the same way: check the decision's
//! preconditions, apply its change and append its events in one
//! transaction, or answer [`CommitError::Conflict`] and write nothing. The
//! domains differ only in what a change, a precondition and a refusal reason
//! are, so those are the type parameters; the facade's retry loop is written
//! once over them.

use thiserror::Error;

use crate::audit::AuditEvent;

/// An allowed decision: the change to store, the audit events to append in
/// the same transaction, and the facts that must still hold when it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committable<C, P> {
    /// What to change.
    pub change: C,
    /// The events to append with it, in order.
    pub events: Vec<AuditEvent>,
    /// What must still hold at commit.
    pub preconditions: Vec<P>,
}

/// A refused decision: the reason, and the audit events that record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal<R> {
    /// Why.
    pub reason: R,
    /// The events to append (outcome `Refused(reason code)`), in order.
    pub events: Vec<AuditEvent>,
}

impl<R> Refusal<R> {
    /// A refusal recorded by one event.
    pub fn new(reason: R, event: AuditEvent) -> Self {
        Self {
            reason,
            events: vec![event],
        }
    }
}

/// What a decision came to: a change to commit, or a refusal to record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // reason: decisions are short-lived values, boxing buys nothing
pub enum Decision<C, P, R> {
    /// Allowed: commit this.
    Allowed(Committable<C, P>),
    /// Refused: record this.
    Refused(Refusal<R>),
}

impl<C, P, R> Decision<C, P, R> {
    /// The refusal reason, if refused.
    pub fn refusal(&self) -> Option<&R> {
        match self {
            Decision::Allowed(_) => None,
            Decision::Refused(r) => Some(&r.reason),
        }
    }

    /// The events the decision records, allowed or refused.
    pub fn events(&self) -> &[AuditEvent] {
        match self {
            Decision::Allowed(c) => &c.events,
            Decision::Refused(r) => &r.events,
        }
    }

    /// Puts `earlier` events (such as the authorization the action was
    /// allowed by) before the decision's own, so they commit or are recorded
    /// together with it.
    pub fn after(mut self, earlier: &[AuditEvent]) -> Self {
        if !earlier.is_empty() {
            let events = match &mut self {
                Decision::Allowed(c) => &mut c.events,
                Decision::Refused(r) => &mut r.events,
            };
            events.splice(0..0, earlier.iter().cloned());
        }
        self
    }

    /// The same decision with another refusal type.
    pub fn map_refusal<S>(self, f: impl FnOnce(R) -> S) -> Decision<C, P, S> {
        match self {
            Decision::Allowed(c) => Decision::Allowed(c),
            Decision::Refused(r) => Decision::Refused(Refusal {
                reason: f(r.reason),
                events: r.events,
            }),
        }
    }
}

/// A store could not do what was asked, for a reason of its own: the one
/// family of storage errors every port answers with. Whatever the kind,
/// nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed while working; trying
    /// again later may succeed.
    #[error("the practice's records are unavailable: {0}")]
    Unavailable(String),
    /// Something with this identifier (or unique value) is already stored.
    #[error("{0} is already stored")]
    Duplicate(String),
    /// Something referred to is not stored.
    #[error("{0} is not stored")]
    Missing(String),
    /// A change did not hang together (for example an item of one patient
    /// in a change to another's record). Trying again will not help.
    #[error("the change is not valid: {0}")]
    Invalid(String),
    /// A value is outside what the store can hold (such as a date beyond
    /// the years it stores). Trying again will not help.
    #[error("{0} is outside what the practice's records can hold")]
    OutOfRange(String),
    /// Stored data could not be read back as valid values.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// The store failed on this request for a reason of its own (a defect,
    /// such as a panic it contained); the request was rolled back and the
    /// store goes on serving. Trying the same request again will not help.
    #[error("the request failed inside the store and nothing was written: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether trying again later may succeed (only [`StoreError::Unavailable`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A commit did not happen; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommitError<P> {
    /// A fact the decision relied on no longer holds. Load the facts again
    /// and decide again.
    #[error("the facts changed before the commit: {0}")]
    Conflict(P),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, AuditAction, Channel, Outcome, SequentialIds};

    fn event(ids: &SequentialIds) -> AuditEvent {
        AuditEvent::new(
            ids,
            chrono::DateTime::UNIX_EPOCH,
            Actor::System,
            Channel::Internal,
            None,
            AuditAction::known("test.event"),
            Outcome::Allowed,
        )
    }

    #[test]
    fn earlier_events_come_first_whether_allowed_or_refused() {
        let ids = SequentialIds::new(1);
        let (a, b) = (event(&ids), event(&ids));
        let allowed: Decision<(), (), ()> = Decision::Allowed(Committable {
            change: (),
            events: vec![b.clone()],
            preconditions: vec![],
        });
        assert_eq!(
            allowed.after(std::slice::from_ref(&a)).events(),
            [a.clone(), b.clone()]
        );
        let refused: Decision<(), (), &str> = Decision::Refused(Refusal::new("no", b.clone()));
        let refused = refused.after(std::slice::from_ref(&a));
        assert_eq!(refused.events(), [a, b]);
        assert_eq!(refused.map_refusal(str::len).refusal(), Some(&2));
    }

    #[test]
    fn only_unavailable_is_worth_trying_again() {
        assert!(StoreError::Unavailable("x".into()).is_transient());
        assert!(!StoreError::OutOfRange("x".into()).is_transient());
        assert!(!StoreError::Invalid("x".into()).is_transient());
    }
}
