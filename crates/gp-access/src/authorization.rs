//! The audited authorization question.

use chrono::{DateTime, Utc};
use gp_core::{local_date, Actor, AuditEvent, IdSource, Outcome, Reason};

use crate::authorize::{authorize, Action, Authorization};
use crate::refusal::AccessRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides whether `by` may take `action` for the patient now, as an audited
/// decision: allowed or refused, the event is recorded. A proxy's use is
/// noted on the grant (at most once a local day), for the list of proxies
/// unused for years.
pub fn decide_authorization(
    facts: &AccessFacts,
    by: &By,
    action: Action,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let c = ctx(facts, *by, "access.authorize", at, ids);
    let detail = |e: AuditEvent| e.with_detail("action", action.name());
    if !by.actor.may_use(by.channel) {
        let mut d = c.refuse(AccessRefusal::ChannelNotAllowed);
        if let Decision::Refused(r) = &mut d {
            r.events = r.events.drain(..).map(detail).collect();
        }
        return d;
    }
    match authorize(facts, &by.actor, action, at) {
        Authorization::Denied(reason) => {
            let event = detail(c.event(Outcome::Refused(reason.reason_code())));
            Decision::Refused(Refusal::new(reason, event))
        }
        Authorization::Allowed => {
            let event = detail(c.event(Outcome::Allowed));
            let mut record = facts.record.clone();
            let used_today = match by.actor {
                Actor::Proxy { proxy, .. } => record.grants.iter_mut().find(|g| g.proxy == proxy),
                _ => None,
            };
            let (change, preconditions) = match used_today {
                Some(g) if g.last_used.map(local_date) != Some(local_date(at)) => {
                    g.last_used = Some(at);
                    (
                        AccessChange {
                            record: Some(record),
                            ..AccessChange::default()
                        },
                        vec![Precondition::RecordUnchanged {
                            patient: facts.record.patient,
                            version: facts.record.version,
                        }],
                    )
                }
                _ => (AccessChange::default(), Vec::new()),
            };
            Decision::Allowed(Committable {
                change,
                events: vec![event],
                preconditions,
            })
        }
    }
}
