//! Why the access rules say no: stable reason codes with readable messages.

use std::fmt;

use gp_core::Reason;
use serde::{Deserialize, Serialize};

use crate::model::{Competency, Service};

/// A refusal (or denied authorization) by the access rules. Each variant has
/// a stable code ([`Reason::code`], the variant's name) and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AccessRefusal {
    /// The patient is not registered for online services.
    NotRegisteredForOnline,
    /// The patient is already registered for online services.
    AlreadyRegistered,
    /// The patient's own online access is suspended.
    OnlineAccessSuspended,
    /// The patient's identity has not been verified (P9 NHS login or a practice check).
    IdentityNotVerified,
    /// The service is not switched on for this patient.
    ServiceNotEnabled {
        /// The service.
        service: Service,
    },
    /// The actor may not act for this patient.
    ActorNotForPatient,
    /// This person has no proxy access to this patient.
    NoProxyAccess,
    /// The proxy access was ended by the patient or the practice.
    ProxyRevoked,
    /// The proxy access has not started yet.
    ProxyNotStarted,
    /// The proxy access reached its end date.
    ProxyExpired,
    /// The proxy access is suspended.
    ProxySuspended,
    /// The proxy's access does not cover this service.
    ProxyOutOfScope {
        /// The service.
        service: Service,
    },
    /// Parental access stops at the child's 16th birthday unless a new basis is recorded.
    ParentalAccessEndedAt16,
    /// The child, judged competent, has refused the parent's access.
    ChildRefusedConsent,
    /// A coercion concern waits for a clinician's review.
    CoercionReviewPending,
    /// This role may not do this (see the permission matrix).
    RoleNotPermitted,
    /// This member of staff is not recorded as trained for this.
    CompetencyMissing {
        /// The competency needed.
        competency: Competency,
    },
    /// Only the practice manager or a lead for online services may do this.
    LeadOrManagerOnly,
    /// The member of staff is not recorded in the access records.
    UnknownStaff,
    /// The patient is not on the practice's list (and has no online account).
    PatientNotListed,
    /// Nobody changes their own staff profile.
    OwnProfile,
    /// Only the practice manager or the lead GP grants a clinical role, the
    /// prescribing competency or a lead designation.
    GrantNeedsManagerOrLeadGp,
    /// The linkage details do not match (the same answer whatever part is wrong).
    LinkageKeyInvalid,
    /// The linkage key has expired; the practice can issue a new one.
    LinkageKeyExpired,
    /// The linkage key has been used already; each key works once.
    LinkageKeyUsed,
    /// Too many wrong attempts: the account's keys are locked until the practice issues a new one.
    LinkageLocked,
    /// Too many failed linkage attempts at this practice in the last hour
    /// (every account, known or not): no key is tried until the count falls.
    LinkageRateLimited,
    /// The NHS number or date of birth given for online registration is not
    /// the one the practice's list holds for this patient.
    RegistrationNotAsListed,
    /// The change would leave the practice with no practice manager.
    LastPracticeManager,
    /// The applicant's identity has not been verified.
    ApplicantIdentityNotVerified,
    /// The patient's identity has not been verified or checked.
    PatientIdentityNotVerified,
    /// Parental responsibility gives no online access to a patient aged 16 or over.
    PatientIs16OrOver,
    /// No such coercion concern for this patient.
    ConcernNotFound,
    /// The coercion concern has been reviewed already.
    ConcernAlreadyReviewed,
    /// The access is not suspended.
    NotSuspended,
    /// This actor may not act through this channel (patients and proxies
    /// online; staff by telephone or at reception; the system internally).
    ChannelNotAllowed,
}

impl Reason for AccessRefusal {
    fn code(&self) -> &'static str {
        use AccessRefusal::*;
        match self {
            NotRegisteredForOnline => "NotRegisteredForOnline",
            AlreadyRegistered => "AlreadyRegistered",
            OnlineAccessSuspended => "OnlineAccessSuspended",
            IdentityNotVerified => "IdentityNotVerified",
            ServiceNotEnabled { .. } => "ServiceNotEnabled",
            ActorNotForPatient => "ActorNotForPatient",
            NoProxyAccess => "NoProxyAccess",
            ProxyRevoked => "ProxyRevoked",
            ProxyNotStarted => "ProxyNotStarted",
            ProxyExpired => "ProxyExpired",
            ProxySuspended => "ProxySuspended",
            ProxyOutOfScope { .. } => "ProxyOutOfScope",
            ParentalAccessEndedAt16 => "ParentalAccessEndedAt16",
            ChildRefusedConsent => "ChildRefusedConsent",
            CoercionReviewPending => "CoercionReviewPending",
            RoleNotPermitted => "RoleNotPermitted",
            CompetencyMissing { .. } => "CompetencyMissing",
            LeadOrManagerOnly => "LeadOrManagerOnly",
            UnknownStaff => "UnknownStaff",
            PatientNotListed => "PatientNotListed",
            OwnProfile => "OwnProfile",
            GrantNeedsManagerOrLeadGp => "GrantNeedsManagerOrLeadGp",
            LinkageKeyInvalid => "LinkageKeyInvalid",
            LinkageKeyExpired => "LinkageKeyExpired",
            LinkageKeyUsed => "LinkageKeyUsed",
            LinkageLocked => "LinkageLocked",
            LinkageRateLimited => "LinkageRateLimited",
            RegistrationNotAsListed => "RegistrationNotAsListed",
            LastPracticeManager => "LastPracticeManager",
            ApplicantIdentityNotVerified => "ApplicantIdentityNotVerified",
            PatientIdentityNotVerified => "PatientIdentityNotVerified",
            PatientIs16OrOver => "PatientIs16OrOver",
            ConcernNotFound => "ConcernNotFound",
            ConcernAlreadyReviewed => "ConcernAlreadyReviewed",
            NotSuspended => "NotSuspended",
            ChannelNotAllowed => "ChannelNotAllowed",
        }
    }
}

impl fmt::Display for AccessRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use AccessRefusal::*;
        match self {
            NotRegisteredForOnline => f.write_str("The patient is not registered for online services."),
            AlreadyRegistered => f.write_str("The patient is already registered for online services."),
            OnlineAccessSuspended => f.write_str("Online access is suspended; please contact the practice."),
            IdentityNotVerified => f.write_str("Identity has not been verified yet; an NHS login at P9 or a check at the practice is needed."),
            ServiceNotEnabled { service } => write!(f, "Online {service} is not switched on for this patient."),
            ActorNotForPatient => f.write_str("You may not act for this patient."),
            NoProxyAccess => f.write_str("You do not have proxy access for this patient."),
            ProxyRevoked => f.write_str("Your proxy access for this patient has ended."),
            ProxyNotStarted => f.write_str("Your proxy access for this patient has not started yet."),
            ProxyExpired => f.write_str("Your proxy access for this patient reached its end date."),
            ProxySuspended => f.write_str("Your proxy access for this patient is suspended; please contact the practice."),
            ProxyOutOfScope { service } => write!(f, "Your proxy access does not include {service}."),
            ParentalAccessEndedAt16 => f.write_str("Parental access stops at the 16th birthday unless the young person agrees; please contact the practice."),
            ChildRefusedConsent => f.write_str("The young person has not agreed to this access."),
            CoercionReviewPending => f.write_str("Access is paused while the practice reviews it; please contact the practice."),
            RoleNotPermitted => f.write_str("Your role may not do this."),
            CompetencyMissing { competency } => write!(f, "You are not recorded as trained for this ({competency:?})."),
            LeadOrManagerOnly => f.write_str("Only the practice manager or a lead for online services may do this."),
            UnknownStaff => f.write_str("This member of staff is not recorded for online services."),
            PatientNotListed => f.write_str("This patient is not on the practice's list."),
            OwnProfile => f.write_str("Nobody may change their own staff record; ask the practice manager."),
            GrantNeedsManagerOrLeadGp => f.write_str("Only the practice manager or the lead GP may grant a clinical role, prescribing or a lead designation."),
            LinkageKeyInvalid => f.write_str("Those linkage details do not match; please check them and try again."),
            LinkageKeyExpired => f.write_str("The linkage key has expired; the practice can issue a new one."),
            LinkageKeyUsed => f.write_str("The linkage key has been used already; the practice can issue a new one."),
            LinkageLocked => f.write_str("Too many wrong attempts: linking is locked until the practice issues a new key."),
            LinkageRateLimited => f.write_str("Too many failed attempts to link apps at this practice in the last hour: try again later."),
            RegistrationNotAsListed => f.write_str("The NHS number or date of birth is not the one on the practice's list for this patient."),
            LastPracticeManager => f.write_str("The practice must keep a practice manager: record another before changing this one."),
            ApplicantIdentityNotVerified => f.write_str("The applicant's identity must be verified first."),
            PatientIdentityNotVerified => f.write_str("The patient's identity must be verified first."),
            PatientIs16OrOver => f.write_str("Parental responsibility gives no online access to a patient aged 16 or over."),
            ConcernNotFound => f.write_str("No such coercion concern for this patient."),
            ConcernAlreadyReviewed => f.write_str("This coercion concern has been reviewed already."),
            NotSuspended => f.write_str("This access is not suspended."),
            ChannelNotAllowed => f.write_str("This cannot be done through this channel."),
        }
    }
}
