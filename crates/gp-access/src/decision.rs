//! What access decisions read and produce: facts, who acts, inputs, the
//! change, the preconditions it commits under, and the decision itself.
//! No rules.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{AccountId, Actor, Channel, NhsNumber, OdsCode, PatientId, ProxyId, StaffId};
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::patient_list::ListedPatient;
use crate::refusal::AccessRefusal;
use crate::settings::AccessSettings;

/// The most characters in a name, reason or note.
pub const MAX_TEXT: usize = 500;

/// The practice's access settings as stored, with their version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsFacts {
    /// The settings.
    pub settings: AccessSettings,
    /// Their version: 0 until first stored.
    pub version: u64,
}

/// What an access decision loads: the settings, the patient's record and
/// the acting staff member's profile (for staff), read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFacts {
    /// The settings.
    pub settings: SettingsFacts,
    /// The patient's access record.
    pub record: AccessRecord,
    /// The acting staff member, if the actor is staff and is recorded.
    pub staff: Option<StaffProfile>,
    /// The patient's entry on the practice's list, if they are on it. The
    /// list is a port of its own ([`crate::PatientList`]): an
    /// [`crate::AccessStore`] leaves this `None` and the facade fills it in.
    pub listed: Option<ListedPatient>,
    /// Whether the practice lets a patient on its list who has not
    /// registered for online services make one online booking (the booking
    /// policy's `before_registration` setting). The booking rules count the
    /// one booking; this lets the question reach them. A store leaves it
    /// `false` and the facade fills it in when it matters.
    pub one_booking_before_registration: bool,
}

/// A fact a decision relied on, checked by the store inside its write transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precondition {
    /// The patient's access record is still at this version.
    RecordUnchanged {
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
    /// No member of staff is recorded yet (the first practice manager).
    NoStaffYet,
    /// A member of staff's profile is still as the decision saw it (`None`:
    /// not recorded).
    StaffAsStored {
        /// The member of staff.
        staff: StaffId,
        /// Their profile as the decision saw it.
        profile: Option<StaffProfile>,
    },
    /// Fewer than `limit` linkage redemptions were refused at the practice
    /// from `from` to `to` (whole seconds, both included; see
    /// [`crate::failed_redemption`]): checked in the commit's own
    /// transaction, so concurrent attempts cannot all pass the
    /// practice-wide limit.
    FailedRedemptionsBelow {
        /// The window's start (an hour before the decision).
        from: DateTime<Utc>,
        /// The window's end (the decision's time).
        to: DateTime<Utc>,
        /// The practice's limit.
        limit: u64,
    },
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precondition::RecordUnchanged { patient, .. } => {
                write!(f, "patient {patient}'s access record changed")
            }
            Precondition::SettingsUnchanged { .. } => f.write_str("the access settings changed"),
            Precondition::NoStaffYet => f.write_str("a member of staff was recorded first"),
            Precondition::StaffAsStored { staff, .. } => {
                write!(f, "staff member {staff}'s profile changed")
            }
            Precondition::FailedRedemptionsBelow { .. } => {
                f.write_str("the practice reached its limit of failed linkage attempts")
            }
        }
    }
}

/// What an allowed decision writes: whole values in place of the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessChange {
    /// The patient's record as it now is (the store moves its version on by one).
    pub record: Option<AccessRecord>,
    /// A staff profile to store.
    pub staff: Option<StaffProfile>,
    /// New settings.
    pub settings: Option<AccessSettings>,
    /// Linkage details to show once, after the commit, for a key just
    /// issued. Never stored: only the key's salted hash is (in `record`).
    pub linkage: Option<LinkageDetails>,
    /// Set when the change records a refusal (a failed linkage attempt
    /// counts towards the lock): commit it, then answer with this refusal.
    pub refused: Option<AccessRefusal>,
}

/// Linkage details to hand to the patient once. Never stored: only the key's
/// salted hash is.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkageDetails {
    /// The account id.
    pub account: AccountId,
    /// The key (16 characters in four groups).
    pub key: String,
    /// The practice's ODS code.
    pub practice: OdsCode,
    /// When the key stops working.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for LinkageDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkageDetails")
            .field("account", &self.account)
            .field("key", &"(hidden)")
            .field("practice", &self.practice)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An allowed access decision: the change, its audit event and preconditions.
pub type Committable = gp_core::Committable<AccessChange, Precondition>;

/// A refused access decision: the reason and the event recording it.
pub type Refusal = gp_core::Refusal<AccessRefusal>;

/// What an access decision came to. A failed linkage attempt is allowed
/// (it is a change: the attempt counts) with [`AccessChange::refused`] set.
pub type Decision = gp_core::Decision<AccessChange, Precondition, AccessRefusal>;

/// The refusal an access decision answers with: a refused decision's
/// reason, or the refusal an allowed change records.
pub fn refusal_of(decision: &Decision) -> Option<&AccessRefusal> {
    match decision {
        Decision::Allowed(c) => c.change.refused.as_ref(),
        Decision::Refused(r) => Some(&r.reason),
    }
}

/// Who acts, and through which channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct By {
    /// Who.
    pub actor: Actor,
    /// How.
    pub channel: Channel,
}

impl By {
    /// A member of staff, as their profile records them, through `channel`.
    pub fn staff(profile: &StaffProfile, channel: Channel) -> Self {
        Self {
            actor: Actor::Staff {
                staff: profile.staff,
                role: profile.role,
            },
            channel,
        }
    }

    /// A patient acting for themselves online.
    pub fn patient_online(patient: PatientId) -> Self {
        Self {
            actor: Actor::Patient { patient },
            channel: Channel::Online,
        }
    }

    /// A proxy acting online for `patient`.
    pub fn proxy_online(proxy: ProxyId, patient: PatientId) -> Self {
        Self {
            actor: Actor::Proxy {
                proxy,
                for_patient: patient,
            },
            channel: Channel::Online,
        }
    }
}

/// What registering a patient for online services needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    /// NHS number.
    pub nhs_number: NhsNumber,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Regular or temporary.
    pub registration: RegistrationKind,
    /// The practice.
    pub practice: OdsCode,
}

/// A proxy application as staff record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyApplicationInput {
    /// The applicant (their proxy credentials).
    pub applicant: ProxyId,
    /// Their name.
    pub applicant_name: String,
    /// Their identity verification, if done.
    pub applicant_identity: Option<IdentityVerification>,
    /// Whether the patient's identity was checked for this application (the
    /// patient's own verified identity also counts).
    pub patient_identity_checked: bool,
    /// The legal basis.
    pub basis: LegalBasis,
    /// The services asked for.
    pub scopes: BTreeSet<Service>,
    /// For care-home staff, their care home.
    pub care_home: Option<CareHome>,
}

/// What staff decide about an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationVerdict {
    /// Grant, from `start`, ending at `end` (if set), reviewed on `review` (if set).
    Grant {
        /// First local date of access.
        start: NaiveDate,
        /// End date (access stops at its start).
        end: Option<NaiveDate>,
        /// Review date.
        review: Option<NaiveDate>,
    },
    /// Refuse, for this reason.
    Refuse(String),
}

gp_core::redacted_debug!(Registration {
    show: [registration, practice],
    hide: [nhs_number, date_of_birth],
});
