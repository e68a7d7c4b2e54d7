//! The checks prescribing decisions share: who acts for whom, who
//! prescribes, what makes an item orderable, how a line is found and moved,
//! and how each decision is recorded.

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{
    Actor, AuditEvent, Channel, IdSource, MedicationId, Outcome, PatientId, Reason, StaffRole,
    SubjectKind,
};

use crate::item::RepeatItem;
use crate::refusal::PrescribingRefusal;
use crate::request::{Concern, LineState, RepeatRequest};
use crate::settings::PrescribingSettings;

use crate::decision::*;

/// Whether this actor may act for this patient (staff and the system for anyone).
pub(crate) fn acts_for(actor: &Actor, patient: PatientId) -> bool {
    actor.speaks_for().is_none_or(|p| p == patient)
}

/// Whether a role prescribes (GP, nurse or pharmacist prescriber). Whether an
/// individual nurse or pharmacist holds a prescribing qualification is a
/// competency the access records keep.
pub fn is_prescriber(role: StaffRole) -> bool {
    role.prescribes()
}

pub(crate) fn prescriber(actor: &Actor) -> bool {
    matches!(actor, Actor::Staff { role, .. } if is_prescriber(*role))
}

pub(crate) struct Ctx<'a> {
    pub(crate) ids: &'a dyn IdSource,
    pub(crate) now: DateTime<Utc>,
    pub(crate) actor: Actor,
    pub(crate) channel: Channel,
    pub(crate) patient: Option<PatientId>,
    pub(crate) action: &'static str,
}

impl Ctx<'_> {
    pub(crate) fn event(&self, outcome: Outcome) -> AuditEvent {
        AuditEvent::decided(
            self.ids,
            self.now,
            self.actor,
            self.channel,
            self.patient,
            self.action,
            outcome,
        )
    }

    pub(crate) fn refuse(&self, reason: PrescribingRefusal) -> Decision {
        self.refuse_with(reason, |e| e)
    }

    pub(crate) fn refuse_with(
        &self,
        reason: PrescribingRefusal,
        f: impl FnOnce(AuditEvent) -> AuditEvent,
    ) -> Decision {
        let event = f(self.event(Outcome::Refused(reason.reason_code())));
        Decision::Refused(Refusal::new(reason, event))
    }

    pub(crate) fn allow(
        &self,
        change: PrescribingChange,
        event: AuditEvent,
        record: &PatientRecord,
    ) -> Decision {
        Decision::Allowed(Committable {
            change,
            events: vec![event],
            preconditions: vec![Precondition::PatientUnchanged {
                patient: record.patient,
                version: record.version,
            }],
        })
    }
}

/// Why an item cannot be ordered, before the online-only rules.
pub(crate) fn item_refusal(record: &PatientRecord, id: MedicationId) -> Option<PrescribingRefusal> {
    match record.item(id) {
        None => Some(PrescribingRefusal::ItemNotOnList),
        Some(item) if !item.is_active() => Some(PrescribingRefusal::ItemEnded),
        Some(_) if record.has_open_request(id) => Some(PrescribingRefusal::DuplicateRequest),
        Some(_) => None,
    }
}

/// The online-only rules for one item, as refusals (online) or concerns (staff).
pub(crate) fn online_item_concerns(
    item: &RepeatItem,
    settings: &PrescribingSettings,
    today: NaiveDate,
) -> Vec<Concern> {
    let mut out = Vec::new();
    if today > item.review_date {
        out.push(Concern::ReviewOverdue {
            review_date: item.review_date,
        });
    }
    if item.issues_remaining == 0 {
        out.push(Concern::NoIssuesLeft);
    }
    if let Some(runs_out) = item.supply_runs_out() {
        let earliest = runs_out
            .checked_sub_days(chrono::Days::new(u64::from(settings.too_early_days)))
            .unwrap_or(runs_out);
        if today < earliest {
            out.push(Concern::TooEarly { earliest });
        }
    }
    out
}

pub(crate) fn concern_refusal(c: &Concern) -> PrescribingRefusal {
    match c {
        Concern::ReviewOverdue { review_date } => PrescribingRefusal::ReviewOverdue {
            review_date: *review_date,
        },
        Concern::NoIssuesLeft => PrescribingRefusal::NoIssuesLeft,
        Concern::TooEarly { earliest } => PrescribingRefusal::TooEarlyToReorder {
            earliest: *earliest,
        },
    }
}

/// Finds the request and line an action is about, or the refusal.
pub(crate) fn find_line<'r>(
    record: &'r PatientRecord,
    action: &LineAction,
) -> Result<(&'r RepeatRequest, usize), PrescribingRefusal> {
    let request = record
        .request(action.request)
        .filter(|r| r.patient == action.patient)
        .ok_or(PrescribingRefusal::RequestNotFound)?;
    let index = request
        .lines
        .iter()
        .position(|l| l.item == action.item)
        .ok_or(PrescribingRefusal::LineNotFound)?;
    Ok((request, index))
}

/// An action by someone, through a channel, on one patient's list or requests.
pub(crate) trait OnPatient {
    /// Who acts, through which channel, for whom.
    fn on_patient(&self) -> (Actor, Channel, PatientId);
}

impl OnPatient for LineAction {
    fn on_patient(&self) -> (Actor, Channel, PatientId) {
        (self.actor, self.channel, self.patient)
    }
}

impl OnPatient for ItemAction {
    fn on_patient(&self) -> (Actor, Channel, PatientId) {
        (self.actor, self.channel, self.patient)
    }
}

/// The context of a line or item action's decision.
pub(crate) fn action_ctx<'a>(
    action: &impl OnPatient,
    name: &'static str,
    now: DateTime<Utc>,
    ids: &'a dyn IdSource,
) -> Ctx<'a> {
    let (actor, channel, patient) = action.on_patient();
    Ctx {
        ids,
        now,
        actor,
        channel,
        patient: Some(patient),
        action: name,
    }
}

/// Moves one line to `state`, producing the change and its allowed event.
pub(crate) fn move_line(
    ctx: &Ctx<'_>,
    record: &PatientRecord,
    request: &RepeatRequest,
    index: usize,
    state: LineState,
    item: Option<RepeatItem>,
    detail: Option<(&str, String)>,
) -> Decision {
    let mut updated = request.clone();
    let item_id = updated.lines[index].item;
    updated.lines[index].state = state;
    let mut event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Request, request.id)
        .with_subject(SubjectKind::Medication, item_id);
    if let Some((k, v)) = detail {
        event = event.with_detail(k, v);
    }
    ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            items: item.into_iter().collect(),
            requests: vec![updated],
            ..PrescribingChange::default()
        },
        event,
        record,
    )
}

/// The checks every line action starts with: channel, actor for patient, and the line.
pub(crate) fn line_checks<'r>(
    ctx: &Ctx<'_>,
    record: &'r PatientRecord,
    action: &LineAction,
) -> Result<(&'r RepeatRequest, usize), Box<Decision>> {
    let subjects = |e: AuditEvent| {
        e.with_subject(SubjectKind::Request, action.request)
            .with_subject(SubjectKind::Medication, action.item)
    };
    if !action.actor.may_use(action.channel) {
        return Err(Box::new(
            ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subjects),
        ));
    }
    if !acts_for(&action.actor, action.patient) || record.patient != action.patient {
        return Err(Box::new(
            ctx.refuse_with(PrescribingRefusal::ActorNotForPatient, subjects),
        ));
    }
    find_line(record, action).map_err(|r| Box::new(ctx.refuse_with(r, subjects)))
}

/// The checks every item action starts with: channel, actor for patient,
/// and the item on the list.
pub(crate) fn item_checks<'r>(
    ctx: &Ctx<'_>,
    record: &'r PatientRecord,
    action: &ItemAction,
) -> Result<&'r RepeatItem, Box<Decision>> {
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, action.item);
    if !action.actor.may_use(action.channel) {
        return Err(Box::new(
            ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subject),
        ));
    }
    if !acts_for(&action.actor, action.patient) || record.patient != action.patient {
        return Err(Box::new(
            ctx.refuse_with(PrescribingRefusal::ActorNotForPatient, subject),
        ));
    }
    record
        .item(action.item)
        .ok_or_else(|| Box::new(ctx.refuse_with(PrescribingRefusal::ItemNotOnList, subject)))
}

/// Roles that may turn ordering off or on for one patient.
pub(crate) fn may_restrict(role: StaffRole) -> bool {
    is_prescriber(role) || role == StaffRole::PracticeManager
}
