//! Pure prescribing decisions: facts and a time in, an allowed change with its
//! audit events (or a refusal with its events) out. No I/O, no clock.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{
    bounded_text, local_date, Actor, AuditAction, AuditEvent, Channel, IdSource, MedicationId,
    Outcome, PatientId, Reason, RequestId, StaffRole, SubjectKind,
};
use serde::{Deserialize, Serialize};

use crate::error::{ItemError, RequestError, SettingsError};
use crate::item::{ItemStatus, NotTakenFlag, RepeatItem};
use crate::refusal::PrescribingRefusal;
use crate::request::{
    Concern, LineState, LineStatus, OrderingRestriction, RepeatRequest, RequestChannel,
    RequestLine, RestrictionScope,
};
use crate::settings::PrescribingSettings;

/// The hard ceiling on a request's message, whatever the settings say.
pub const MESSAGE_CEILING: usize = 2000;
/// The most characters in a rejection reason, a restriction reason or a note.
pub const MAX_REASON: usize = 500;

/// The practice's settings as stored, with their version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsFacts {
    /// The settings in force.
    pub settings: PrescribingSettings,
    /// Their version: 0 until first stored, then one more at each change.
    pub version: u64,
}

/// Everything stored about one patient's repeat prescribing, as of one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRecord {
    /// The patient.
    pub patient: PatientId,
    /// The record's version: 0 until something is stored, then one more at each change.
    pub version: u64,
    /// The repeat list, in the order items were first stored.
    pub items: Vec<RepeatItem>,
    /// A restriction on ordering, if staff have set one.
    pub restriction: Option<OrderingRestriction>,
    /// Every request, oldest first.
    pub requests: Vec<RepeatRequest>,
}

impl PatientRecord {
    /// An empty record (nothing stored yet).
    pub fn empty(patient: PatientId) -> Self {
        Self {
            patient,
            version: 0,
            items: Vec::new(),
            restriction: None,
            requests: Vec::new(),
        }
    }

    /// The item with this id, if it is on this patient's list.
    pub fn item(&self, id: MedicationId) -> Option<&RepeatItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The request with this id, if it is this patient's.
    pub fn request(&self, id: RequestId) -> Option<&RepeatRequest> {
        self.requests.iter().find(|r| r.id == id)
    }

    /// Whether an item has an open line (requested or approved) in any request.
    pub fn has_open_request(&self, item: MedicationId) -> bool {
        self.requests.iter().any(|r| {
            r.lines
                .iter()
                .any(|l| l.item == item && l.state.status().is_open())
        })
    }
}

/// What a decision about one patient loads: the settings and the patient's record, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrescribingFacts {
    /// The practice's settings.
    pub settings: SettingsFacts,
    /// The patient's record.
    pub record: PatientRecord,
}

/// A fact a decision relied on, which the store checks inside its write
/// transaction before applying the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precondition {
    /// The patient's record is still at this version.
    PatientUnchanged {
        /// The patient.
        patient: PatientId,
        /// The version the decision saw.
        version: u64,
    },
    /// The settings are still at this version.
    SettingsUnchanged {
        /// The version the decision saw.
        version: u64,
    },
    /// The item has no open line in any other request.
    NoOpenRequest(MedicationId),
    /// The patient's access record is still at the version the action was
    /// authorized on (checked by a store that keeps the access records too).
    Authorized(gp_core::AccessGuard),
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precondition::PatientUnchanged { patient, .. } => {
                write!(f, "patient {patient}'s repeat prescribing record changed")
            }
            Precondition::SettingsUnchanged { .. } => {
                f.write_str("the practice's prescribing settings changed")
            }
            Precondition::NoOpenRequest(item) => {
                write!(f, "item {item} already has an open request")
            }
            Precondition::Authorized(guard) => guard.fmt(f),
        }
    }
}

/// A change to a per-patient ordering restriction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestrictionChange {
    /// Set (or replace) the restriction.
    Set(OrderingRestriction),
    /// Lift it.
    Lift,
}

/// What an allowed decision writes: whole values to store in place of the
/// stored ones (or beside them, if new). The store applies them as given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrescribingChange {
    /// The patient whose record changes (its version moves on by one), if any.
    pub patient: Option<PatientId>,
    /// Items to store (all on `patient`'s list).
    pub items: Vec<RepeatItem>,
    /// Requests to store (all `patient`'s).
    pub requests: Vec<RepeatRequest>,
    /// A restriction to set or lift for `patient`.
    pub restriction: Option<RestrictionChange>,
    /// New settings for the practice (their version moves on by one).
    pub settings: Option<PrescribingSettings>,
    /// Items of a request refused while the others went through: reported
    /// to the caller (their refusals are among the events), never stored.
    #[serde(skip)]
    pub refused_lines: Vec<LineRefusal>,
}

/// An item of a request refused, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRefusal {
    /// The item.
    pub item: MedicationId,
    /// Why.
    pub reason: PrescribingRefusal,
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

impl OrderRefused {
    /// A refusal of the request as a whole, for one reason.
    pub fn whole(reason: PrescribingRefusal) -> Self {
        Self {
            reason,
            lines: Vec::new(),
        }
    }
}

/// An allowed prescribing decision: the change, its audit events and the
/// preconditions under which it may be committed.
pub type Committable = gp_core::Committable<PrescribingChange, Precondition>;

/// A refused prescribing decision: the reason and the events recording it.
pub type Refusal<R = PrescribingRefusal> = gp_core::Refusal<R>;

/// What a prescribing decision came to. A repeat request is refused with
/// an [`OrderRefused`] (why each item was refused); every other decision
/// with a [`PrescribingRefusal`].
pub type Decision<R = PrescribingRefusal> = gp_core::Decision<PrescribingChange, Precondition, R>;

/// A request for repeat items. Build one with [`OrderRequest::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// Who asks (the patient or a proxy online; staff on other channels).
    pub actor: Actor,
    /// How the request reached the practice.
    pub channel: RequestChannel,
    /// Whose medicines.
    pub patient: PatientId,
    /// The items, in the order asked (at least one, none twice).
    pub items: Vec<MedicationId>,
    /// A message to the practice (trimmed; `None` if empty).
    pub message: Option<String>,
}

impl OrderRequest {
    /// A request, with its items and message checked.
    pub fn new(
        actor: Actor,
        channel: RequestChannel,
        patient: PatientId,
        items: Vec<MedicationId>,
        message: Option<&str>,
    ) -> Result<Self, RequestError> {
        let request = Self {
            actor,
            channel,
            patient,
            items,
            message: match message {
                Some(m) => Some(bounded_text(m, "message", MESSAGE_CEILING, false)?)
                    .filter(|m| !m.is_empty()),
                None => None,
            },
        };
        request.check()?;
        Ok(request)
    }

    fn check(&self) -> Result<(), RequestError> {
        if self.items.is_empty() {
            return Err(RequestError::NoItems);
        }
        let mut seen = BTreeSet::new();
        for item in &self.items {
            if !seen.insert(*item) {
                return Err(RequestError::RepeatedItem(*item));
            }
        }
        if let Some(m) = &self.message {
            if bounded_text(m, "message", MESSAGE_CEILING, true)? != *m {
                return Err(RequestError::Text(gp_core::ParseError::Empty {
                    field: "message",
                }));
            }
        }
        Ok(())
    }
}

/// Who acts on one line of a request, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAction {
    /// Who acts.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// Whose request.
    pub patient: PatientId,
    /// The request.
    pub request: RequestId,
    /// The item's line.
    pub item: MedicationId,
}

/// Who acts on one item of a patient's list, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemAction {
    /// Who acts.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// Whose list.
    pub patient: PatientId,
    /// The item.
    pub item: MedicationId,
}

/// What a clinician decides about an item flagged as no longer taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Keep it on the list; the flag is cleared.
    Keep,
    /// End it, for this reason; the flag is cleared.
    End(String),
}

/// Whether this actor may act for this patient (staff and the system for anyone).
fn acts_for(actor: &Actor, patient: PatientId) -> bool {
    actor.speaks_for().is_none_or(|p| p == patient)
}

/// Whether a role prescribes (GP, nurse or pharmacist prescriber). Whether an
/// individual nurse or pharmacist holds a prescribing qualification is a
/// competency the access records keep.
pub fn is_prescriber(role: StaffRole) -> bool {
    role.prescribes()
}

fn prescriber(actor: &Actor) -> bool {
    matches!(actor, Actor::Staff { role, .. } if is_prescriber(*role))
}

struct Ctx<'a> {
    ids: &'a dyn IdSource,
    now: DateTime<Utc>,
    actor: Actor,
    channel: Channel,
    patient: Option<PatientId>,
    action: &'static str,
}

impl Ctx<'_> {
    fn event(&self, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(
            self.ids,
            self.now,
            self.actor,
            self.channel,
            self.patient,
            AuditAction::known(self.action),
            outcome,
        );
        if let Some(p) = self.patient {
            e = e.with_subject(SubjectKind::Patient, p);
        }
        e
    }

    fn refuse(&self, reason: PrescribingRefusal) -> Decision {
        self.refuse_with(reason, |e| e)
    }

    fn refuse_with(
        &self,
        reason: PrescribingRefusal,
        f: impl FnOnce(AuditEvent) -> AuditEvent,
    ) -> Decision {
        let event = f(self.event(Outcome::Refused(reason.reason_code())));
        Decision::Refused(Refusal::new(reason, event))
    }

    fn allow(
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
fn item_refusal(record: &PatientRecord, id: MedicationId) -> Option<PrescribingRefusal> {
    match record.item(id) {
        None => Some(PrescribingRefusal::ItemNotOnList),
        Some(item) if !item.is_active() => Some(PrescribingRefusal::ItemEnded),
        Some(_) if record.has_open_request(id) => Some(PrescribingRefusal::DuplicateRequest),
        Some(_) => None,
    }
}

/// The online-only rules for one item, as refusals (online) or concerns (staff).
fn online_item_concerns(
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

fn concern_refusal(c: &Concern) -> PrescribingRefusal {
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

/// Decides a repeat request.
///
/// Request-wide rules come first (channel, actor, restrictions, online
/// ordering, number of items, message), and refuse the whole request. Then
/// each item is checked on its own: an item not on the list, ended, or with an
/// open request is refused on every channel; online, an item past its review
/// date, with no issues left, or ordered too early is refused too, while a
/// request entered by staff keeps it with a [`Concern`] for the prescriber.
/// The request goes through with the items that pass; each refused item has
/// its own audit event. If every item is refused, the request is refused.
///
/// The online-only settings (number of items, messages) do not bind staff
/// entering a telephone, paper or pharmacy request.
pub fn decide_request(
    facts: &PrescribingFacts,
    request: &OrderRequest,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision<OrderRefused>, RequestError> {
    request.check()?;
    let record = &facts.record;
    let settings = &facts.settings.settings;
    let online = request.channel == RequestChannel::Online;
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel.audit_channel(),
        patient: Some(request.patient),
        action: "prescription.request",
    };
    let with_items = |mut e: AuditEvent| {
        for item in &request.items {
            e = e.with_subject(SubjectKind::Medication, *item);
        }
        e.with_detail("request_channel", request.channel.to_string())
    };
    let refuse = |reason| {
        Ok(ctx
            .refuse_with(reason, with_items)
            .map_refusal(OrderRefused::whole))
    };
    let actor_online = matches!(request.actor, Actor::Patient { .. } | Actor::Proxy { .. });
    let channel_ok = if online {
        actor_online
    } else {
        request.actor.is_staff()
    };
    if !channel_ok {
        return refuse(PrescribingRefusal::ChannelNotAllowed);
    }
    if !acts_for(&request.actor, request.patient) || record.patient != request.patient {
        return refuse(PrescribingRefusal::ActorNotForPatient);
    }
    match record.restriction.as_ref().map(|r| r.scope) {
        Some(RestrictionScope::AllChannels) => {
            return refuse(PrescribingRefusal::OrderingDisabledForPatient)
        }
        Some(RestrictionScope::Online) if online => {
            return refuse(PrescribingRefusal::OnlineOrderingDisabledForPatient)
        }
        _ => {}
    }
    if online {
        if !settings.online_ordering {
            return refuse(PrescribingRefusal::OnlineOrderingOff);
        }
        let max = settings.max_items_per_request;
        if request.items.len() > max as usize {
            return refuse(PrescribingRefusal::TooManyItems { max });
        }
        if let Some(m) = &request.message {
            if !settings.messages_allowed {
                return refuse(PrescribingRefusal::MessagesNotAllowed);
            }
            let max = settings.max_message_chars;
            if m.chars().count() > max as usize {
                return refuse(PrescribingRefusal::MessageTooLong { max });
            }
        }
    }

    let today = local_date(now);
    let mut lines = Vec::new();
    let mut refused = Vec::new();
    for &id in &request.items {
        if let Some(reason) = item_refusal(record, id) {
            refused.push(LineRefusal { item: id, reason });
            continue;
        }
        let Some(item) = record.item(id) else {
            continue;
        };
        let concerns = online_item_concerns(item, settings, today);
        match concerns.first() {
            Some(first) if online => refused.push(LineRefusal {
                item: id,
                reason: concern_refusal(first),
            }),
            _ => lines.push(RequestLine {
                item: id,
                state: LineState::Requested,
                concerns,
            }),
        }
    }
    let line_events: Vec<AuditEvent> = refused
        .iter()
        .map(|r| {
            let mut e = ctx
                .event(Outcome::Refused(r.reason.reason_code()))
                .with_subject(SubjectKind::Medication, r.item)
                .with_detail("request_channel", request.channel.to_string());
            if let PrescribingRefusal::TooEarlyToReorder { earliest } = &r.reason {
                e = e.with_detail("earliest", earliest.to_string());
            }
            e
        })
        .collect();
    if lines.is_empty() {
        let reason = refused
            .first()
            .map(|r| r.reason.clone())
            .unwrap_or(PrescribingRefusal::ItemNotOnList);
        return Ok(Decision::Refused(Refusal {
            reason: OrderRefused {
                reason,
                lines: refused,
            },
            events: line_events,
        }));
    }
    let new = RepeatRequest {
        id: RequestId::new(ids),
        patient: request.patient,
        channel: request.channel,
        made_by: request.actor,
        at: now,
        message: request.message.clone(),
        lines,
    };
    let mut event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Request, new.id)
        .with_detail("request_channel", request.channel.to_string())
        .with_detail("items", new.lines.len().to_string());
    for line in &new.lines {
        event = event.with_subject(SubjectKind::Medication, line.item);
    }
    if new.message.is_some() {
        event = event.with_detail("message", "yes");
    }
    let mut preconditions = vec![
        Precondition::PatientUnchanged {
            patient: record.patient,
            version: record.version,
        },
        Precondition::SettingsUnchanged {
            version: facts.settings.version,
        },
    ];
    preconditions.extend(
        new.lines
            .iter()
            .map(|l| Precondition::NoOpenRequest(l.item)),
    );
    let mut events = vec![event];
    events.extend(line_events);
    Ok(Decision::Allowed(Committable {
        change: PrescribingChange {
            patient: Some(request.patient),
            requests: vec![new],
            refused_lines: refused,
            ..PrescribingChange::default()
        },
        events,
        preconditions,
    }))
}

/// Finds the request and line an action is about, or the refusal.
fn find_line<'r>(
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

fn line_ctx<'a>(
    action: &LineAction,
    name: &'static str,
    now: DateTime<Utc>,
    ids: &'a dyn IdSource,
) -> Ctx<'a> {
    Ctx {
        ids,
        now,
        actor: action.actor,
        channel: action.channel,
        patient: Some(action.patient),
        action: name,
    }
}

/// Moves one line to `state`, producing the change and its allowed event.
fn move_line(
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
fn line_checks<'r>(
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

/// Decides a cancellation of one line by the patient, a proxy, or staff for
/// them: allowed only while the line is requested.
pub fn decide_cancel_line(
    facts: &PrescribingFacts,
    action: &LineAction,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = line_ctx(action, "prescription.cancel", now, ids);
    let record = &facts.record;
    if matches!(action.actor, Actor::System) {
        return ctx.refuse(PrescribingRefusal::ChannelNotAllowed);
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let status = request.lines[index].state.status();
    if status != LineStatus::Requested {
        return ctx.refuse(PrescribingRefusal::LineNotRequested { status });
    }
    move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Cancelled {
            by: action.actor,
            at: now,
        },
        None,
        None,
    )
}

/// Decides an approval by a prescriber: allowed only while the line is
/// requested and the item is still active.
pub fn decide_approve(
    facts: &PrescribingFacts,
    action: &LineAction,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = line_ctx(action, "prescription.approve", now, ids);
    let record = &facts.record;
    let Actor::Staff { staff, role } = action.actor else {
        return ctx.refuse(PrescribingRefusal::PrescriberOnly);
    };
    if !is_prescriber(role) {
        return ctx.refuse(PrescribingRefusal::PrescriberOnly);
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let status = request.lines[index].state.status();
    if status != LineStatus::Requested {
        return ctx.refuse(PrescribingRefusal::LineNotRequested { status });
    }
    if !record.item(action.item).is_some_and(RepeatItem::is_active) {
        return ctx.refuse(PrescribingRefusal::ItemEnded);
    }
    move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Approved { by: staff, at: now },
        None,
        None,
    )
}

/// Decides a rejection by a prescriber, with a reason the patient will read
/// (1 to 500 characters): allowed only while the line is requested.
pub fn decide_reject(
    facts: &PrescribingFacts,
    action: &LineAction,
    reason: &str,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let reason = bounded_text(reason, "rejection reason", MAX_REASON, true)?;
    let ctx = line_ctx(action, "prescription.reject", now, ids);
    let record = &facts.record;
    let Actor::Staff { staff, role } = action.actor else {
        return Ok(ctx.refuse(PrescribingRefusal::PrescriberOnly));
    };
    if !is_prescriber(role) {
        return Ok(ctx.refuse(PrescribingRefusal::PrescriberOnly));
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return Ok(*refused),
    };
    let status = request.lines[index].state.status();
    if status != LineStatus::Requested {
        return Ok(ctx.refuse(PrescribingRefusal::LineNotRequested { status }));
    }
    Ok(move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Rejected {
            by: staff,
            at: now,
            reason: reason.clone(),
        },
        None,
        Some(("reason", reason)),
    ))
}

/// Decides the issue of an approved line, by a prescriber or by the system
/// confirming an electronic issue. The item's issues left go down by one and
/// its last issue date becomes today (practice-local).
pub fn decide_issue(
    facts: &PrescribingFacts,
    action: &LineAction,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = line_ctx(action, "prescription.issue", now, ids);
    let record = &facts.record;
    if !(prescriber(&action.actor) || matches!(action.actor, Actor::System)) {
        return ctx.refuse(PrescribingRefusal::PrescriberOnly);
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let LineState::Approved {
        by: approved_by, ..
    } = request.lines[index].state
    else {
        return ctx.refuse(PrescribingRefusal::LineNotApproved {
            status: request.lines[index].state.status(),
        });
    };
    let Some(item) = record.item(action.item) else {
        return ctx.refuse(PrescribingRefusal::ItemNotOnList);
    };
    if item.issues_remaining == 0 {
        return ctx.refuse(PrescribingRefusal::NoIssuesLeft);
    }
    let mut item = item.clone();
    item.issues_remaining -= 1;
    item.last_issued = Some(local_date(now));
    let left = item.issues_remaining.to_string();
    move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Issued {
            approved_by,
            by: action.actor,
            at: now,
        },
        Some(item),
        Some(("issues_remaining", left)),
    )
}

fn item_ctx<'a>(
    action: &ItemAction,
    name: &'static str,
    now: DateTime<Utc>,
    ids: &'a dyn IdSource,
) -> Ctx<'a> {
    Ctx {
        ids,
        now,
        actor: action.actor,
        channel: action.channel,
        patient: Some(action.patient),
        action: name,
    }
}

/// Decides a flag that the patient no longer takes an item, from the patient,
/// a proxy, or staff taking a call. The item goes on the review list.
pub fn decide_flag_not_taken(
    facts: &PrescribingFacts,
    action: &ItemAction,
    note: Option<&str>,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let note = match note {
        Some(n) => Some(bounded_text(n, "note", MAX_REASON, false)?).filter(|n| !n.is_empty()),
        None => None,
    };
    let ctx = item_ctx(action, "prescription.flag_not_taken", now, ids);
    let record = &facts.record;
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, action.item);
    if matches!(action.actor, Actor::System) || !action.actor.may_use(action.channel) {
        return Ok(ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subject));
    }
    if !acts_for(&action.actor, action.patient) || record.patient != action.patient {
        return Ok(ctx.refuse_with(PrescribingRefusal::ActorNotForPatient, subject));
    }
    let Some(item) = record.item(action.item) else {
        return Ok(ctx.refuse_with(PrescribingRefusal::ItemNotOnList, subject));
    };
    if !item.is_active() {
        return Ok(ctx.refuse_with(PrescribingRefusal::ItemEnded, subject));
    }
    let mut item = item.clone();
    item.not_taken = Some(NotTakenFlag {
        at: now,
        by: action.actor,
        note,
    });
    let event = subject(ctx.event(Outcome::Allowed));
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            items: vec![item],
            ..PrescribingChange::default()
        },
        event,
        record,
    ))
}

/// Decides a prescriber's review of an item flagged as no longer taken: keep
/// it, or end it with a reason. Either way the flag is cleared.
pub fn decide_review(
    facts: &PrescribingFacts,
    action: &ItemAction,
    outcome: &ReviewOutcome,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let end_reason = match outcome {
        ReviewOutcome::Keep => None,
        ReviewOutcome::End(r) => Some(bounded_text(r, "reason", MAX_REASON, true)?),
    };
    let ctx = item_ctx(action, "prescription.review", now, ids);
    let record = &facts.record;
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, action.item);
    if !prescriber(&action.actor) {
        return Ok(ctx.refuse_with(PrescribingRefusal::PrescriberOnly, subject));
    }
    if !action.actor.may_use(action.channel) {
        return Ok(ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subject));
    }
    if record.patient != action.patient {
        return Ok(ctx.refuse_with(PrescribingRefusal::ActorNotForPatient, subject));
    }
    let Some(item) = record.item(action.item) else {
        return Ok(ctx.refuse_with(PrescribingRefusal::ItemNotOnList, subject));
    };
    if item.not_taken.is_none() {
        return Ok(ctx.refuse_with(PrescribingRefusal::NotFlaggedForReview, subject));
    }
    let mut item = item.clone();
    item.not_taken = None;
    let mut event = subject(ctx.event(Outcome::Allowed));
    match end_reason {
        Some(reason) => {
            event = event
                .with_detail("outcome", "ended")
                .with_detail("reason", reason.clone());
            item.status = ItemStatus::Ended {
                on: local_date(now),
                reason,
            };
        }
        None => event = event.with_detail("outcome", "kept"),
    }
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            items: vec![item],
            ..PrescribingChange::default()
        },
        event,
        record,
    ))
}

/// Decides storing an item on a patient's list (new or changed), by a
/// prescriber or by the system copying the clinical record. The item is
/// checked first: a bad item is an error and nothing is decided.
pub fn decide_put_item(
    facts: &PrescribingFacts,
    actor: Actor,
    channel: Channel,
    item: &RepeatItem,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, ItemError> {
    item.check()?;
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: Some(item.patient),
        action: "prescription.item_put",
    };
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, item.id);
    if !(prescriber(&actor) || matches!(actor, Actor::System)) {
        return Ok(ctx.refuse_with(PrescribingRefusal::PrescriberOnly, subject));
    }
    if !actor.may_use(channel) {
        return Ok(ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subject));
    }
    if facts.record.patient != item.patient {
        return Ok(ctx.refuse_with(PrescribingRefusal::ActorNotForPatient, subject));
    }
    let event = subject(ctx.event(Outcome::Allowed))
        .with_detail("drug", item.drug.clone())
        .with_detail("concept", item.concept.to_string())
        .with_detail("issues_remaining", item.issues_remaining.to_string());
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(item.patient),
            items: vec![item.clone()],
            ..PrescribingChange::default()
        },
        event,
        &facts.record,
    ))
}

/// Roles that may turn ordering off or on for one patient.
fn may_restrict(role: StaffRole) -> bool {
    is_prescriber(role) || role == StaffRole::PracticeManager
}

/// Decides turning ordering off for one patient (`Some((scope, reason))`) or
/// back on (`None`), by a prescriber or the practice manager. The reason
/// (1 to 500 characters) and the deciding staff member are recorded.
pub fn decide_restriction(
    facts: &PrescribingFacts,
    actor: Actor,
    channel: Channel,
    restriction: Option<(RestrictionScope, &str)>,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let checked = match restriction {
        Some((scope, reason)) => Some((
            scope,
            bounded_text(reason, "restriction reason", MAX_REASON, true)?,
        )),
        None => None,
    };
    let record = &facts.record;
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: Some(record.patient),
        action: if checked.is_some() {
            "prescription.restrict"
        } else {
            "prescription.unrestrict"
        },
    };
    let Actor::Staff { staff, role } = actor else {
        return Ok(ctx.refuse(PrescribingRefusal::RoleNotPermitted));
    };
    if !may_restrict(role) {
        return Ok(ctx.refuse(PrescribingRefusal::RoleNotPermitted));
    }
    if !actor.may_use(channel) {
        return Ok(ctx.refuse(PrescribingRefusal::ChannelNotAllowed));
    }
    let (change, event) = match checked {
        Some((scope, reason)) => (
            RestrictionChange::Set(OrderingRestriction {
                scope,
                reason: reason.clone(),
                decided_by: staff,
                at: now,
            }),
            ctx.event(Outcome::Allowed)
                .with_detail(
                    "scope",
                    match scope {
                        RestrictionScope::Online => "online",
                        RestrictionScope::AllChannels => "all channels",
                    },
                )
                .with_detail("reason", reason),
        ),
        None => (RestrictionChange::Lift, ctx.event(Outcome::Allowed)),
    };
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            restriction: Some(change),
            ..PrescribingChange::default()
        },
        event,
        record,
    ))
}

/// Decides new practice settings, by a member of staff. Which members of
/// staff may is the practice's access rule (in `gp-access`: the practice
/// manager or a lead for online services), asked first by
/// `gp_online::Practice`. Settings out of range are an error and nothing is
/// decided.
pub fn decide_settings(
    current: &SettingsFacts,
    actor: Actor,
    channel: Channel,
    settings: &PrescribingSettings,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, SettingsError> {
    settings.check()?;
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: None,
        action: "prescription.settings",
    };
    if !actor.is_staff() {
        return Ok(ctx.refuse(PrescribingRefusal::RoleNotPermitted));
    }
    if !actor.may_use(channel) {
        return Ok(ctx.refuse(PrescribingRefusal::ChannelNotAllowed));
    }
    let event = ctx
        .event(Outcome::Allowed)
        .with_detail("online_ordering", settings.online_ordering.to_string())
        .with_detail("too_early_days", settings.too_early_days.to_string())
        .with_detail(
            "max_items_per_request",
            settings.max_items_per_request.to_string(),
        )
        .with_detail("messages_allowed", settings.messages_allowed.to_string())
        .with_detail("max_message_chars", settings.max_message_chars.to_string());
    Ok(Decision::Allowed(Committable {
        change: PrescribingChange {
            settings: Some(settings.clone()),
            ..PrescribingChange::default()
        },
        events: vec![event],
        preconditions: vec![Precondition::SettingsUnchanged {
            version: current.version,
        }],
    }))
}
