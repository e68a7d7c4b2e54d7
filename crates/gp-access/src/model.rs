//! What the practice records about online access: accounts, identity,
//! services, linkage keys, proxies, applications, coercion concerns and staff.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{
    AccountId, Actor, ApplicationId, AuditEvent, ConcernId, IdSource, NhsNumber, OdsCode,
    PatientId, ProxyId, StaffId, StaffRole,
};
use serde::{Deserialize, Serialize};

/// An online service a patient (or proxy) may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Service {
    /// Booking and cancelling appointments.
    Appointments,
    /// Ordering repeat prescriptions.
    RepeatPrescriptions,
    /// Messages to the practice.
    Messages,
}

impl Service {
    /// Every service, in a fixed order.
    pub const ALL: [Service; 3] = [
        Service::Appointments,
        Service::RepeatPrescriptions,
        Service::Messages,
    ];
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Appointments => "appointments",
            Service::RepeatPrescriptions => "repeat prescriptions",
            Service::Messages => "messages",
        })
    }
}

/// How the patient is registered with the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationKind {
    /// A regular (permanent) patient.
    Regular,
    /// A temporary resident.
    Temporary,
}

/// How a person's identity was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationMethod {
    /// Photo identity and proof of address seen at the practice.
    DocumentsSeen,
    /// Vouched for by a member of staff who knows the person.
    VouchedByStaff,
    /// An NHS login at the high (P9) identity level.
    NhsLoginP9,
}

impl fmt::Display for VerificationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerificationMethod::DocumentsSeen => "documents seen",
            VerificationMethod::VouchedByStaff => "vouched for by staff",
            VerificationMethod::NhsLoginP9 => "NHS login (P9)",
        })
    }
}

/// A record of who verified an identity, how and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityVerification {
    /// How.
    pub method: VerificationMethod,
    /// Who (a member of staff; `None` for an NHS login).
    pub verified_by: Option<StaffId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why online access was suspended.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SuspensionReason {
    /// The patient lost the device they use.
    LostDevice,
    /// Someone else may be using the account.
    SuspectedCompromise,
    /// A coercion concern, pending or upheld by a clinician.
    CoercionConcern,
    /// Another reason, in words.
    Other(String),
}

impl SuspensionReason {
    /// The reason's name, as recorded in the audit trail (`Other` for
    /// words, which are kept beside the trail, not in it).
    pub fn name(&self) -> &'static str {
        match self {
            SuspensionReason::LostDevice => "LostDevice",
            SuspensionReason::SuspectedCompromise => "SuspectedCompromise",
            SuspensionReason::CoercionConcern => "CoercionConcern",
            SuspensionReason::Other(_) => "Other",
        }
    }

    /// `event` with this reason: its name in the details and, for
    /// `Other`, the words as personal text under `note`.
    pub fn recorded(&self, event: AuditEvent, ids: &dyn IdSource) -> AuditEvent {
        let event = event.with_detail("reason", self.name());
        match self {
            SuspensionReason::Other(words) => event.with_personal_text(ids, "note", words),
            _ => event,
        }
    }
}

/// Words show as their length.
impl fmt::Debug for SuspensionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuspensionReason::Other(words) => f
                .debug_tuple("Other")
                .field(&gp_core::Redacted::of(words))
                .finish(),
            other => f.write_str(other.name()),
        }
    }
}

/// Online access suspended, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// Why.
    pub reason: SuspensionReason,
    /// Who decided.
    pub by: Actor,
    /// When.
    pub at: DateTime<Utc>,
}

/// One linkage key as stored: never the key itself, only its salted hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageKeyRecord {
    /// Random salt (hex).
    pub salt: String,
    /// SHA-256 of salt and key (hex).
    pub hash: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who issued it.
    pub issued_by: StaffId,
    /// When it was used, if it was (a key works once).
    pub used_at: Option<DateTime<Utc>>,
    /// Whether a newer key replaced it before it was used.
    pub replaced: bool,
}

/// The account's linkage keys and failed attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linkage {
    /// The account id given to the patient with each key.
    pub account: AccountId,
    /// Every key issued, oldest first.
    pub keys: Vec<LinkageKeyRecord>,
    /// Failed redemptions since the last success or issue.
    pub failed_attempts: u32,
    /// When the keys were locked after too many failures (a new key unlocks).
    pub locked_at: Option<DateTime<Utc>>,
}

/// A patient's registration for online services.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientAccount {
    /// The patient.
    pub patient: PatientId,
    /// Their NHS number.
    pub nhs_number: NhsNumber,
    /// Their date of birth.
    pub date_of_birth: NaiveDate,
    /// Regular or temporary.
    pub registration: RegistrationKind,
    /// The practice.
    pub practice: OdsCode,
    /// Who registered them for online services.
    pub registered_by: StaffId,
    /// When.
    pub registered_at: DateTime<Utc>,
    /// The identity verification, if done.
    pub identity: Option<IdentityVerification>,
    /// The services switched on.
    pub services: BTreeSet<Service>,
    /// A suspension of the patient's own online access, if any.
    pub suspended: Option<Suspension>,
    /// Linkage keys, once one has been issued.
    pub linkage: Option<Linkage>,
}

/// Whether the patient was seen alone when consenting to proxy access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeenAlone {
    /// Seen alone.
    Yes,
    /// Not seen alone, and why.
    No {
        /// Why not.
        why: String,
    },
}

/// The legal basis of a proxy's access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegalBasis {
    /// The patient consents (and whether they were seen alone).
    Consent {
        /// Seen alone, or why not.
        seen_alone: SeenAlone,
    },
    /// A parent with parental responsibility for a child under 16.
    ParentalResponsibility,
    /// A lasting power of attorney for health and welfare.
    LastingPowerOfAttorney,
    /// A deputy appointed by the Court of Protection.
    CourtAppointedDeputy,
    /// The patient lacks capacity; a clinician decided access is in their best interest.
    BestInterest {
        /// The clinician who decided.
        clinician: StaffId,
    },
}

impl LegalBasis {
    /// The basis's name (`consent`, `parental responsibility`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            LegalBasis::Consent { .. } => "consent",
            LegalBasis::ParentalResponsibility => "parental responsibility",
            LegalBasis::LastingPowerOfAttorney => "lasting power of attorney",
            LegalBasis::CourtAppointedDeputy => "court-appointed deputy",
            LegalBasis::BestInterest { .. } => "best interest",
        }
    }
}

/// A care home whose staff act as proxies for residents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareHome {
    /// Its name.
    pub name: String,
    /// Its ODS code, if it has one.
    pub ods: Option<OdsCode>,
}

/// A competent child's own view of a parent's access, as recorded by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildView {
    /// Whether the child consents.
    pub consents: bool,
    /// Who recorded it.
    pub recorded_by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Proxy access ended by the patient or the practice.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Who ended it.
    pub by: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// A proxy's access to one patient's online services.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyGrant {
    /// The person acting (with their own credentials).
    pub proxy: ProxyId,
    /// The patient.
    pub patient: PatientId,
    /// The proxy's name.
    pub proxy_name: String,
    /// How the proxy's identity was verified.
    pub proxy_identity: IdentityVerification,
    /// The care home, for care-home staff acting as proxies.
    pub care_home: Option<CareHome>,
    /// The legal basis.
    pub basis: LegalBasis,
    /// The local date the current basis was recorded.
    pub basis_since: NaiveDate,
    /// What the proxy may do.
    pub scopes: BTreeSet<Service>,
    /// First local date of access.
    pub start: NaiveDate,
    /// Access ends at the start of this local date, if set.
    pub end: Option<NaiveDate>,
    /// Review due on this local date, if set.
    pub review: Option<NaiveDate>,
    /// Who granted it.
    pub decided_by: StaffId,
    /// When.
    pub decided_at: DateTime<Utc>,
    /// Ended by the patient or the practice, if it was.
    pub revoked: Option<Revocation>,
    /// Suspended (for example during a coercion review), if it is.
    pub suspended: Option<Suspension>,
    /// A competent child's recorded view, if any.
    pub child_view: Option<ChildView>,
    /// The last time the proxy used it (recorded at most once a day).
    pub last_used: Option<DateTime<Utc>>,
}

/// What staff decided about a proxy application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationDecision {
    /// Granted (see the patient's proxy grants).
    Granted,
    /// Refused, for this reason.
    Refused {
        /// Why, in words.
        reason: String,
    },
}

/// An application for proxy access, kept whether granted or refused.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyApplication {
    /// This application.
    pub id: ApplicationId,
    /// Who applied.
    pub applicant: ProxyId,
    /// The applicant's name.
    pub applicant_name: String,
    /// For which patient.
    pub patient: PatientId,
    /// On what basis.
    pub basis: LegalBasis,
    /// For which services.
    pub scopes: BTreeSet<Service>,
    /// The applicant's identity verification, if done.
    pub applicant_identity: Option<IdentityVerification>,
    /// Whether the patient's identity was verified (or checked for this application).
    pub patient_identity_checked: bool,
    /// Granted or refused.
    pub decision: ApplicationDecision,
    /// Who decided.
    pub decided_by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a clinician concluded about a coercion concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConcernOutcome {
    /// No coercion found: access is restored.
    AccessRestored,
    /// The named proxy's access (or every proxy's, if none was named) is withdrawn.
    ProxyWithdrawn,
    /// The patient's own online access stays suspended until staff restore
    /// it, and the named proxy's access (or every proxy's) is withdrawn.
    OnlineAccessWithdrawn,
}

/// A clinician's review of a coercion concern.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcernReview {
    /// The clinician.
    pub by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
    /// The outcome.
    pub outcome: ConcernOutcome,
    /// Notes.
    pub note: String,
}

/// A coercion concern recorded by staff. While it has no review, the
/// affected access is suspended.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoercionConcern {
    /// This concern.
    pub id: ConcernId,
    /// The patient.
    pub patient: PatientId,
    /// The proxy it names, if any (none: the patient's own access and every proxy's).
    pub proxy: Option<ProxyId>,
    /// Who raised it.
    pub raised_by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
    /// What was seen or heard.
    pub note: String,
    /// The clinician's review, once done.
    pub review: Option<ConcernReview>,
}

impl CoercionConcern {
    /// Whether it still waits for a review.
    pub fn is_open(&self) -> bool {
        self.review.is_none()
    }
}

/// Something a member of staff is trained to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Competency {
    /// Verify identity (documents, vouching).
    VerifyIdentity,
    /// Handle proxy applications.
    ProxyApplications,
    /// Recognise coercion.
    RecogniseCoercion,
    /// Prescribe (independent or supplementary prescriber).
    Prescribing,
}

/// A designation the guidance asks practices to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Designation {
    /// The lead GP for online services.
    LeadGp,
    /// The lead member of staff for online services.
    LeadStaff,
}

/// A member of staff: role, competencies and designations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffProfile {
    /// The staff member.
    pub staff: StaffId,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: StaffRole,
    /// What they are trained to do.
    pub competencies: BTreeSet<Competency>,
    /// Lead designations.
    pub designations: BTreeSet<Designation>,
    /// How many times the profile has been stored: 0 until it first is. The
    /// store sets it and moves it on with each change, so an authorization
    /// can be checked against the profile it read.
    #[serde(default)]
    pub version: u64,
}

impl StaffProfile {
    /// A member of staff in a role, with no competencies or designations yet.
    pub fn new(staff: StaffId, name: impl Into<String>, role: StaffRole) -> Self {
        Self {
            staff,
            name: name.into(),
            role,
            competencies: BTreeSet::new(),
            designations: BTreeSet::new(),
            version: 0,
        }
    }

    /// The same profile with these competencies recorded.
    pub fn with_competencies(mut self, competencies: impl IntoIterator<Item = Competency>) -> Self {
        self.competencies.extend(competencies);
        self
    }

    /// The same profile with these designations recorded.
    pub fn with_designations(
        mut self,
        designations: impl IntoIterator<Item = Designation>,
    ) -> Self {
        self.designations.extend(designations);
        self
    }
}

/// Everything recorded about one patient's online access, as of one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// The patient.
    pub patient: PatientId,
    /// Version: 0 until something is stored, then one more at each change.
    pub version: u64,
    /// The online services account, once registered.
    pub account: Option<PatientAccount>,
    /// Proxy grants, in the order first granted.
    pub grants: Vec<ProxyGrant>,
    /// Proxy applications, oldest first.
    pub applications: Vec<ProxyApplication>,
    /// Coercion concerns, oldest first.
    pub concerns: Vec<CoercionConcern>,
}

impl AccessRecord {
    /// An empty record.
    pub fn empty(patient: PatientId) -> Self {
        Self {
            patient,
            version: 0,
            account: None,
            grants: Vec::new(),
            applications: Vec::new(),
            concerns: Vec::new(),
        }
    }

    /// The grant to `proxy`, if any.
    pub fn grant(&self, proxy: ProxyId) -> Option<&ProxyGrant> {
        self.grants.iter().find(|g| g.proxy == proxy)
    }

    /// The grant to `proxy` that has not been revoked, to change it.
    pub fn active_grant_mut(&mut self, proxy: ProxyId) -> Option<&mut ProxyGrant> {
        self.grants
            .iter_mut()
            .find(|g| g.proxy == proxy && g.revoked.is_none())
    }

    /// Open coercion concerns.
    pub fn open_concerns(&self) -> impl Iterator<Item = &CoercionConcern> {
        self.concerns.iter().filter(|c| c.is_open())
    }
}

gp_core::redacted_debug!(PatientAccount {
    show: [
        patient,
        registration,
        practice,
        registered_by,
        registered_at,
        identity,
        services,
        suspended,
        linkage
    ],
    hide: [nhs_number, date_of_birth],
});
gp_core::redacted_debug!(Revocation {
    show: [by, at],
    hide: [reason],
});
gp_core::redacted_debug!(ProxyGrant {
    show: [
        proxy,
        patient,
        proxy_identity,
        care_home,
        basis,
        basis_since,
        scopes,
        start,
        end,
        review,
        decided_by,
        decided_at,
        revoked,
        suspended,
        child_view,
        last_used
    ],
    hide: [proxy_name],
});
gp_core::redacted_debug!(ProxyApplication {
    show: [
        id,
        applicant,
        patient,
        basis,
        scopes,
        applicant_identity,
        patient_identity_checked,
        decision,
        decided_by,
        at
    ],
    hide: [applicant_name],
});
gp_core::redacted_debug!(ConcernReview {
    show: [by, at, outcome],
    hide: [note],
});
gp_core::redacted_debug!(CoercionConcern {
    show: [id, patient, proxy, raised_by, at, review],
    hide: [note],
});
