//! Who acts, in what role, and through which channel.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{PatientId, ProxyId, StaffId};
use crate::nhs::{OdsCode, OrganisationType, RequesterId};

/// The role of a member of practice staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StaffRole {
    /// General practitioner.
    Gp,
    /// Practice nurse.
    Nurse,
    /// Healthcare assistant.
    HealthcareAssistant,
    /// Clinical pharmacist.
    Pharmacist,
    /// Receptionist or care navigator.
    Receptionist,
    /// Practice manager.
    PracticeManager,
}

impl StaffRole {
    /// Every role, in a fixed order.
    pub const ALL: [StaffRole; 6] = [
        StaffRole::Gp,
        StaffRole::Nurse,
        StaffRole::HealthcareAssistant,
        StaffRole::Pharmacist,
        StaffRole::Receptionist,
        StaffRole::PracticeManager,
    ];

    /// The roles that prescribe (GP, nurse and pharmacist prescribers): the
    /// one list the access matrix and every domain crate's prescriber rule
    /// follow. Whether an individual holds a prescribing qualification is a
    /// competency the access records keep.
    pub const PRESCRIBERS: &'static [StaffRole] =
        &[StaffRole::Gp, StaffRole::Nurse, StaffRole::Pharmacist];

    /// Whether the role is one of [`StaffRole::PRESCRIBERS`].
    pub fn prescribes(self) -> bool {
        Self::PRESCRIBERS.contains(&self)
    }

    /// Whether people in this role see patients in appointment slots.
    pub fn is_clinical(self) -> bool {
        matches!(
            self,
            StaffRole::Gp
                | StaffRole::Nurse
                | StaffRole::HealthcareAssistant
                | StaffRole::Pharmacist
        )
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StaffRole::Gp => "GP",
            StaffRole::Nurse => "nurse",
            StaffRole::HealthcareAssistant => "healthcare assistant",
            StaffRole::Pharmacist => "pharmacist",
            StaffRole::Receptionist => "receptionist",
            StaffRole::PracticeManager => "practice manager",
        })
    }
}

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Actor {
    /// A patient acting for themselves.
    Patient {
        /// The patient.
        patient: PatientId,
    },
    /// A proxy (parent, carer, care-home staff) acting for a patient with their own credentials.
    Proxy {
        /// The person acting.
        proxy: ProxyId,
        /// The patient they act for.
        for_patient: PatientId,
    },
    /// A member of practice staff in a role.
    Staff {
        /// The staff member.
        staff: StaffId,
        /// The role they act in.
        role: StaffRole,
    },
    /// The system itself (scheduled jobs such as automatic expiry).
    System,
    /// Another NHS organisation booking for a patient of the practice
    /// through GP Connect (NHS 111, another practice, an extended-access
    /// hub), named by the claims its own sign-in carries.
    Organisation {
        /// The organisation's ODS code.
        ods: OdsCode,
        /// Its type (`urgent-care`, `gp-practice`, ...).
        kind: OrganisationType,
        /// The person at the organisation who made the request, as its
        /// system names them (GP Connect's `requesting_practitioner`), when
        /// known: kept in the audit trail, never part of what the
        /// organisation may do. Left out of an event's encoding when
        /// unknown, so events written before it encode as they did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requester: Option<RequesterId>,
    },
}

impl Actor {
    /// The patient this actor speaks for, if it is the patient or their proxy.
    pub fn speaks_for(&self) -> Option<PatientId> {
        match self {
            Actor::Patient { patient } => Some(*patient),
            Actor::Proxy { for_patient, .. } => Some(*for_patient),
            Actor::Staff { .. } | Actor::System | Actor::Organisation { .. } => None,
        }
    }

    /// Whether this actor is a member of staff.
    pub fn is_staff(&self) -> bool {
        matches!(self, Actor::Staff { .. })
    }

    /// Whether this actor may act through `channel`: patients and proxies
    /// online only; staff by telephone or at reception; the system
    /// internally; another organisation through GP Connect. Every domain crate applies this one rule (and refuses
    /// with its own `ChannelNotAllowed`).
    pub fn may_use(&self, channel: Channel) -> bool {
        match self {
            Actor::Patient { .. } | Actor::Proxy { .. } => channel == Channel::Online,
            Actor::Staff { .. } => matches!(channel, Channel::Telephone | Channel::Reception),
            Actor::System => channel == Channel::Internal,
            Actor::Organisation { .. } => channel == Channel::Organisation,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Patient { patient } => write!(f, "patient {patient}"),
            Actor::Proxy { proxy, for_patient } => {
                write!(f, "proxy {proxy} for patient {for_patient}")
            }
            Actor::Staff { staff, role } => write!(f, "{role} {staff}"),
            Actor::System => f.write_str("the system"),
            Actor::Organisation {
                ods,
                kind,
                requester: None,
            } => write!(f, "organisation {ods} ({kind})"),
            Actor::Organisation {
                ods,
                kind,
                requester: Some(r),
            } => write!(f, "organisation {ods} ({kind}), user {r}"),
        }
    }
}

/// The way a request reached the practice. The same rules and the same slots
/// serve every channel; a proxy acting online uses [`Channel::Online`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Channel {
    /// A patient or proxy using a website or app.
    Online,
    /// Staff acting on a telephone call.
    Telephone,
    /// Staff acting at the reception desk (or in a consultation).
    Reception,
    /// The system acting on its own schedule.
    Internal,
    /// Another NHS organisation's system, through GP Connect.
    Organisation,
}

impl Channel {
    /// Whether the online-only rules of a practice apply to this channel.
    pub fn is_online(self) -> bool {
        self == Channel::Online
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::Online => "online",
            Channel::Telephone => "telephone",
            Channel::Reception => "reception",
            Channel::Internal => "internal",
            Channel::Organisation => "organisation",
        })
    }
}
