//! What prescribing decisions read and produce: facts, requests and
//! actions, the change, the preconditions it commits under, and the
//! decision itself. No rules.

use std::collections::BTreeSet;
use std::fmt;

use gp_core::{bounded_text, Actor, Channel, MedicationId, PatientId, RequestId};
use serde::{Deserialize, Serialize};

use crate::error::RequestError;
use crate::item::RepeatItem;
use crate::refusal::PrescribingRefusal;
use crate::request::{OrderingRestriction, RepeatRequest, RequestChannel};
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

    /// Checks what [`OrderRequest::new`] checks, for a value built field by field.
    pub fn check(&self) -> Result<(), RequestError> {
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
