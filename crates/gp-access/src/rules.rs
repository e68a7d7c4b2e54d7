//! What every access decision shares: its context (who, when, about
//! whom), how it records an answer, and the permission check.

use chrono::{DateTime, Utc};
use gp_core::{bounded_text, Actor, AuditEvent, IdSource, Outcome, PatientId, Reason, StaffId};

use crate::authorize::{authorize, Action, Authorization};
use crate::error::AccessError;
use crate::model::*;
use crate::refusal::AccessRefusal;

use crate::decision::*;

pub(crate) struct Ctx<'a> {
    pub(crate) ids: &'a dyn IdSource,
    pub(crate) at: DateTime<Utc>,
    pub(crate) by: By,
    pub(crate) patient: Option<PatientId>,
    pub(crate) action: &'static str,
}

impl Ctx<'_> {
    pub(crate) fn event(&self, outcome: Outcome) -> AuditEvent {
        AuditEvent::decided(
            self.ids,
            self.at,
            self.by.actor,
            self.by.channel,
            self.patient,
            self.action,
            outcome,
        )
    }

    pub(crate) fn refuse(&self, reason: AccessRefusal) -> Decision {
        {
            let event = self.event(Outcome::Refused(reason.reason_code()));
            Decision::Refused(Refusal::new(reason, event))
        }
    }

    /// Commits `record` (already changed) with an allowed event.
    pub(crate) fn commit(
        &self,
        facts: &AccessFacts,
        record: AccessRecord,
        event: AuditEvent,
    ) -> Decision {
        Decision::Allowed(Committable {
            change: AccessChange {
                record: Some(record),
                ..AccessChange::default()
            },
            events: vec![event],
            preconditions: vec![Precondition::RecordUnchanged {
                patient: facts.record.patient,
                version: facts.record.version,
            }],
        })
    }

    /// The channel check and the staff permission check, as a refusal.
    pub(crate) fn permit(&self, facts: &AccessFacts, action: Action) -> Result<(), Box<Decision>> {
        if !self.by.actor.may_use(self.by.channel) {
            return Err(Box::new(self.refuse(AccessRefusal::ChannelNotAllowed)));
        }
        match authorize(facts, &self.by.actor, action, self.at) {
            Authorization::Allowed => Ok(()),
            Authorization::Denied(r) => Err(Box::new(self.refuse(r))),
        }
    }
}

pub(crate) fn ctx<'a>(
    facts: &AccessFacts,
    by: By,
    action: &'static str,
    at: DateTime<Utc>,
    ids: &'a dyn IdSource,
) -> Ctx<'a> {
    Ctx {
        ids,
        at,
        by,
        patient: Some(facts.record.patient),
        action,
    }
}

pub(crate) fn text(input: &str, field: &'static str) -> Result<String, AccessError> {
    Ok(bounded_text(input, field, MAX_TEXT, true)?)
}

pub(crate) fn staff_id(by: &By) -> Option<StaffId> {
    match by.actor {
        Actor::Staff { staff, .. } => Some(staff),
        _ => None,
    }
}

macro_rules! permit {
    ($ctx:expr, $facts:expr, $action:expr) => {
        if let Err(refused) = $ctx.permit($facts, $action) {
            return Ok(*refused);
        }
    };
}
pub(crate) use permit;
