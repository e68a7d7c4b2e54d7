//! Pure access decisions: facts and a time in, an allowed change with its
//! audit event (or a refusal with its event) out. No I/O, no clock.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gp_core::{
    age_on, bounded_text, local_date, AccountId, Actor, ApplicationId, AuditAction, AuditEvent,
    Channel, ConcernId, IdSource, NhsNumber, OdsCode, Outcome, PatientId, ProxyId, RandomSource,
    Reason, StaffId, SubjectKind,
};
use serde::{Deserialize, Serialize};

use crate::authorize::{authorize, Action, Authorization};
use crate::error::AccessError;
use crate::linkage;
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
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precondition::RecordUnchanged { patient, .. } => {
                write!(f, "patient {patient}'s access record changed")
            }
            Precondition::SettingsUnchanged { .. } => f.write_str("the access settings changed"),
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

struct Ctx<'a> {
    ids: &'a dyn IdSource,
    at: DateTime<Utc>,
    by: By,
    patient: Option<PatientId>,
    action: &'static str,
}

impl Ctx<'_> {
    fn event(&self, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(
            self.ids,
            self.at,
            self.by.actor,
            self.by.channel,
            self.patient,
            AuditAction::known(self.action),
            outcome,
        );
        if let Some(p) = self.patient {
            e = e.with_subject(SubjectKind::Patient, p);
        }
        e
    }

    fn refuse(&self, reason: AccessRefusal) -> Decision {
        {
            let event = self.event(Outcome::Refused(reason.reason_code()));
            Decision::Refused(Refusal::new(reason, event))
        }
    }

    /// Commits `record` (already changed) with an allowed event.
    fn commit(&self, facts: &AccessFacts, record: AccessRecord, event: AuditEvent) -> Decision {
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
    fn permit(&self, facts: &AccessFacts, action: Action) -> Result<(), Box<Decision>> {
        if !self.by.actor.may_use(self.by.channel) {
            return Err(Box::new(self.refuse(AccessRefusal::ChannelNotAllowed)));
        }
        match authorize(facts, &self.by.actor, action, self.at) {
            Authorization::Allowed => Ok(()),
            Authorization::Denied(r) => Err(Box::new(self.refuse(r))),
        }
    }
}

fn ctx<'a>(
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

fn text(input: &str, field: &'static str) -> Result<String, AccessError> {
    Ok(bounded_text(input, field, MAX_TEXT, true)?)
}

fn staff_id(by: &By) -> Option<StaffId> {
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

/// What registering a patient for online services needs.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Decides registering the patient for online services (no service on yet,
/// identity not yet verified).
pub fn decide_register(
    facts: &AccessFacts,
    by: &By,
    registration: &Registration,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.register", at, ids);
    permit!(c, facts, Action::RegisterPatient);
    if facts.record.account.is_some() {
        return Ok(c.refuse(AccessRefusal::AlreadyRegistered));
    }
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    record.account = Some(PatientAccount {
        patient: record.patient,
        nhs_number: registration.nhs_number,
        date_of_birth: registration.date_of_birth,
        registration: registration.registration,
        practice: registration.practice.clone(),
        registered_by: staff,
        registered_at: at,
        identity: None,
        services: BTreeSet::new(),
        suspended: None,
        linkage: None,
    });
    let event = c.event(Outcome::Allowed).with_detail(
        "registration",
        match registration.registration {
            RegistrationKind::Regular => "regular",
            RegistrationKind::Temporary => "temporary",
        },
    );
    Ok(c.commit(facts, record, event))
}

/// Decides recording the patient's identity verification: documents seen
/// or vouching by trained staff, or an NHS login at P9 reported by the system.
pub fn decide_verify_identity(
    facts: &AccessFacts,
    by: &By,
    method: VerificationMethod,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.verify_identity", at, ids);
    let by_system = matches!(by.actor, Actor::System) && method == VerificationMethod::NhsLoginP9;
    if by_system {
        if by.channel != Channel::Internal {
            return Ok(c.refuse(AccessRefusal::ChannelNotAllowed));
        }
    } else {
        permit!(c, facts, Action::VerifyIdentity);
    }
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    account.identity = Some(IdentityVerification {
        method,
        verified_by: staff_id(by),
        at,
    });
    let event = c
        .event(Outcome::Allowed)
        .with_detail("method", method.to_string());
    Ok(c.commit(facts, record, event))
}

/// Decides which online services are on for the patient.
pub fn decide_services(
    facts: &AccessFacts,
    by: &By,
    services: &BTreeSet<Service>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.services", at, ids);
    permit!(c, facts, Action::ManageServices);
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    account.services = services.clone();
    let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let event = c
        .event(Outcome::Allowed)
        .with_detail("services", names.join(", "));
    Ok(c.commit(facts, record, event))
}

/// Decides suspending the patient's own online access (`Some(reason)`) or
/// restoring it (`None`).
pub fn decide_suspension(
    facts: &AccessFacts,
    by: &By,
    reason: Option<SuspensionReason>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if let Some(SuspensionReason::Other(why)) = &reason {
        text(why, "suspension reason")?;
    }
    let action = if reason.is_some() {
        "access.suspend"
    } else {
        "access.restore"
    };
    let c = ctx(facts, *by, action, at, ids);
    permit!(c, facts, Action::SuspendAccess);
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    let mut event = c.event(Outcome::Allowed);
    match reason {
        Some(reason) => {
            event = event.with_detail("reason", format!("{reason:?}"));
            account.suspended = Some(Suspension {
                reason,
                by: by.actor,
                at,
            });
        }
        None => {
            if account.suspended.is_none() {
                return Ok(c.refuse(AccessRefusal::NotSuspended));
            }
            account.suspended = None;
        }
    }
    Ok(c.commit(facts, record, event))
}

/// Decides issuing linkage details: a new single-use key from `random`,
/// stored only as a salted hash, expiring after the settings' days. Earlier
/// unused keys stop working and a lock from failed attempts is lifted. The
/// patient's identity must be verified first.
pub fn decide_issue_linkage(
    facts: &AccessFacts,
    by: &By,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
    random: &dyn RandomSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.linkage_issue", at, ids);
    permit!(c, facts, Action::IssueLinkageKey);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    if account.identity.is_none() {
        return Ok(c.refuse(AccessRefusal::IdentityNotVerified));
    }
    let key = linkage::new_key(random)?;
    let salt = linkage::new_salt(random)?;
    let expires_at = at + Duration::days(i64::from(facts.settings.settings.linkage_key_days));
    let linkage = account.linkage.get_or_insert_with(|| Linkage {
        account: AccountId::new(ids),
        keys: Vec::new(),
        failed_attempts: 0,
        locked_at: None,
    });
    for k in linkage.keys.iter_mut().filter(|k| k.used_at.is_none()) {
        k.replaced = true;
    }
    linkage.keys.push(LinkageKeyRecord {
        hash: linkage::hash(&salt, &key),
        salt,
        issued_at: at,
        expires_at,
        issued_by: staff,
        used_at: None,
        replaced: false,
    });
    linkage.failed_attempts = 0;
    linkage.locked_at = None;
    let details = LinkageDetails {
        account: linkage.account,
        key,
        practice: account.practice.clone(),
        expires_at,
    };
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Account, details.account)
        .with_detail("expires_at", expires_at.to_rfc3339());
    let mut d = c.commit(facts, record, event);
    if let Decision::Allowed(commit) = &mut d {
        commit.change.linkage = Some(details);
    }
    Ok(d)
}

/// Decides a patient's attempt to link an app with linkage details. A wrong
/// key, a wrong practice or an unknown account all give `LinkageKeyInvalid`
/// and count as a failed attempt; reaching the settings' limit locks the
/// account's keys (`LinkageLocked`) until a new key is issued. A failure
/// that counts is a change: it commits with its (refused) event.
pub fn decide_redeem_linkage(
    facts: &AccessFacts,
    account: AccountId,
    practice: &OdsCode,
    key: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let patient = facts.record.patient;
    let by = By {
        actor: Actor::Patient { patient },
        channel: Channel::Online,
    };
    let c = ctx(facts, by, "access.linkage_redeem", at, ids);
    let mut record = facts.record.clone();
    let Some(acct) = record.account.as_mut() else {
        return c.refuse(AccessRefusal::LinkageKeyInvalid);
    };
    let practice_ok = acct.practice == *practice;
    let Some(linkage) = acct.linkage.as_mut().filter(|l| l.account == account) else {
        return c.refuse(AccessRefusal::LinkageKeyInvalid);
    };
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Account, account);
    if linkage.locked_at.is_some() {
        return Decision::Refused(Refusal::new(
            AccessRefusal::LinkageLocked,
            subject(c.event(Outcome::Refused(AccessRefusal::LinkageLocked.reason_code()))),
        ));
    }
    let matched = linkage.keys.iter().position(|k| {
        // Every key is hashed and compared, matching or not.
        let candidate = linkage::hash(&k.salt, key);
        linkage::equal_in_constant_time(&candidate, &k.hash) & practice_ok
    });
    let outcome = match matched {
        Some(i) if linkage.keys[i].used_at.is_some() => Err(AccessRefusal::LinkageKeyUsed),
        Some(i) if linkage.keys[i].replaced || at >= linkage.keys[i].expires_at => {
            Err(AccessRefusal::LinkageKeyExpired)
        }
        Some(i) => Ok(i),
        None => Err(AccessRefusal::LinkageKeyInvalid),
    };
    match outcome {
        Ok(i) => {
            linkage.keys[i].used_at = Some(at);
            linkage.failed_attempts = 0;
            let event = subject(c.event(Outcome::Allowed));
            c.commit(facts, record, event)
        }
        Err(mut reason) => {
            linkage.failed_attempts += 1;
            if linkage.failed_attempts >= facts.settings.settings.max_failed_redemptions {
                linkage.locked_at = Some(at);
                reason = AccessRefusal::LinkageLocked;
            }
            let event = subject(c.event(Outcome::Refused(reason.reason_code())))
                .with_detail("failed_attempts", linkage.failed_attempts.to_string());
            let mut d = c.commit(facts, record, event);
            if let Decision::Allowed(commit) = &mut d {
                commit.change.refused = Some(reason);
            }
            d
        }
    }
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

/// Decides a proxy application. The application is recorded whether granted
/// or refused. Granting needs trained staff (a GP for a best-interest
/// decision), the patient registered, both identities verified, no coercion
/// review pending for the patient, and, on parental responsibility, a
/// patient under 16.
pub fn decide_proxy_application(
    facts: &AccessFacts,
    by: &By,
    input: &ProxyApplicationInput,
    verdict: &ApplicationVerdict,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let applicant_name = text(&input.applicant_name, "applicant name")?;
    if input.scopes.is_empty() {
        return Err(AccessError::NoServices);
    }
    if let LegalBasis::Consent {
        seen_alone: SeenAlone::No { why },
    } = &input.basis
    {
        text(why, "why the patient was not seen alone")?;
    }
    let refused_reason = match verdict {
        ApplicationVerdict::Grant { start, end, .. } => {
            if end.is_some_and(|e| e <= *start) {
                return Err(AccessError::EndBeforeStart);
            }
            None
        }
        ApplicationVerdict::Refuse(why) => Some(text(why, "refusal reason")?),
    };
    let c = ctx(facts, *by, "proxy.application", at, ids);
    let needed = if matches!(input.basis, LegalBasis::BestInterest { .. }) {
        Action::DecideBestInterestProxy
    } else {
        Action::DecideProxyApplication
    };
    permit!(c, facts, needed);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let Some(account) = facts.record.account.as_ref() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    let today = local_date(at);
    let mut basis = input.basis.clone();
    if let LegalBasis::BestInterest { clinician } = &mut basis {
        *clinician = staff;
    }
    let application = ProxyApplication {
        id: ApplicationId::new(ids),
        applicant: input.applicant,
        applicant_name: applicant_name.clone(),
        patient: facts.record.patient,
        basis: basis.clone(),
        scopes: input.scopes.clone(),
        applicant_identity: input.applicant_identity,
        patient_identity_checked: input.patient_identity_checked || account.identity.is_some(),
        decision: match &refused_reason {
            Some(reason) => ApplicationDecision::Refused {
                reason: reason.clone(),
            },
            None => ApplicationDecision::Granted,
        },
        decided_by: staff,
        at,
    };
    let mut record = facts.record.clone();
    let subject = |e: AuditEvent| {
        e.with_subject(SubjectKind::Proxy, input.applicant)
            .with_subject(SubjectKind::Application, application.id)
            .with_detail("basis", basis.name())
    };
    if let ApplicationVerdict::Grant { start, end, review } = verdict {
        let refusal = if input.applicant_identity.is_none() {
            Some(AccessRefusal::ApplicantIdentityNotVerified)
        } else if !application.patient_identity_checked {
            Some(AccessRefusal::PatientIdentityNotVerified)
        } else if record.open_concerns().next().is_some() {
            Some(AccessRefusal::CoercionReviewPending)
        } else if basis == LegalBasis::ParentalResponsibility
            && age_on(account.date_of_birth, (*start).max(today)) >= 16
        {
            Some(AccessRefusal::PatientIs16OrOver)
        } else {
            None
        };
        if let Some(reason) = refusal {
            let event = subject(c.event(Outcome::Refused(reason.reason_code())));
            return Ok(Decision::Refused(Refusal::new(reason, event)));
        }
        let grant = ProxyGrant {
            proxy: input.applicant,
            patient: record.patient,
            proxy_name: applicant_name,
            proxy_identity: input.applicant_identity.unwrap_or(IdentityVerification {
                method: VerificationMethod::DocumentsSeen,
                verified_by: Some(staff),
                at,
            }),
            care_home: input.care_home.clone(),
            basis: basis.clone(),
            basis_since: today,
            scopes: input.scopes.clone(),
            start: *start,
            end: *end,
            review: *review,
            decided_by: staff,
            decided_at: at,
            revoked: None,
            suspended: None,
            child_view: None,
            last_used: None,
        };
        record.grants.retain(|g| g.proxy != input.applicant);
        record.grants.push(grant);
    }
    record.applications.push(application.clone());
    let event = subject(c.event(Outcome::Allowed)).with_detail(
        "decision",
        if refused_reason.is_some() {
            "refused"
        } else {
            "granted"
        },
    );
    Ok(c.commit(facts, record, event))
}

/// Decides ending a proxy's access: by the patient acting for themselves, or
/// by staff.
pub fn decide_revoke_proxy(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    reason: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let reason = text(reason, "reason")?;
    let c = ctx(facts, *by, "proxy.revoke", at, ids);
    permit!(c, facts, Action::RevokeProxy);
    let mut record = facts.record.clone();
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    grant.revoked = Some(Revocation {
        by: by.actor,
        at,
        reason: reason.clone(),
    });
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy)
        .with_detail("reason", reason);
    Ok(c.commit(facts, record, event))
}

/// Decides suspending one proxy's access (`Some(reason)`) or restoring it (`None`).
pub fn decide_proxy_suspension(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    reason: Option<SuspensionReason>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if let Some(SuspensionReason::Other(why)) = &reason {
        text(why, "suspension reason")?;
    }
    let c = ctx(
        facts,
        *by,
        if reason.is_some() {
            "proxy.suspend"
        } else {
            "proxy.restore"
        },
        at,
        ids,
    );
    permit!(c, facts, Action::SuspendAccess);
    let mut record = facts.record.clone();
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    let mut event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy);
    match reason {
        Some(reason) => {
            event = event.with_detail("reason", format!("{reason:?}"));
            grant.suspended = Some(Suspension {
                reason,
                by: by.actor,
                at,
            });
        }
        None => {
            if grant.suspended.take().is_none() {
                return Ok(c.refuse(AccessRefusal::NotSuspended));
            }
        }
    }
    Ok(c.commit(facts, record, event))
}

/// Decides recording a new legal basis for a proxy (for example a young
/// person's consent at 16, replacing parental responsibility).
pub fn decide_new_basis(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    basis: &LegalBasis,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if let LegalBasis::Consent {
        seen_alone: SeenAlone::No { why },
    } = basis
    {
        text(why, "why the patient was not seen alone")?;
    }
    let c = ctx(facts, *by, "proxy.basis", at, ids);
    let needed = if matches!(basis, LegalBasis::BestInterest { .. }) {
        Action::DecideBestInterestProxy
    } else {
        Action::DecideProxyApplication
    };
    permit!(c, facts, needed);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let today = local_date(at);
    let mut record = facts.record.clone();
    let dob = record.account.as_ref().map(|a| a.date_of_birth);
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    if *basis == LegalBasis::ParentalResponsibility && dob.is_some_and(|d| age_on(d, today) >= 16) {
        return Ok(c.refuse(AccessRefusal::PatientIs16OrOver));
    }
    let mut basis = basis.clone();
    if let LegalBasis::BestInterest { clinician } = &mut basis {
        *clinician = staff;
    }
    grant.basis = basis.clone();
    grant.basis_since = today;
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy)
        .with_detail("basis", basis.name());
    Ok(c.commit(facts, record, event))
}

/// Decides recording a competent child's consent to (or refusal of) a
/// parent's access.
pub fn decide_child_view(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    consents: bool,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "proxy.child_view", at, ids);
    permit!(c, facts, Action::DecideProxyApplication);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    grant.child_view = Some(ChildView {
        consents,
        recorded_by: staff,
        at,
    });
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy)
        .with_detail("consents", consents.to_string());
    Ok(c.commit(facts, record, event))
}

/// Decides recording a coercion concern (optionally naming a proxy). Until
/// a clinician reviews it, the named proxy's access (or, if none is named,
/// the patient's own online access and every proxy's) is refused with
/// `CoercionReviewPending`.
pub fn decide_coercion_concern(
    facts: &AccessFacts,
    by: &By,
    proxy: Option<ProxyId>,
    note: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let note = text(note, "note")?;
    let c = ctx(facts, *by, "coercion.concern", at, ids);
    permit!(c, facts, Action::RecordCoercionConcern);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let concern = CoercionConcern {
        id: ConcernId::new(ids),
        patient: record.patient,
        proxy,
        raised_by: staff,
        at,
        note,
        review: None,
    };
    let mut event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Concern, concern.id);
    if let Some(p) = proxy {
        event = event.with_subject(SubjectKind::Proxy, p);
    }
    record.concerns.push(concern);
    Ok(c.commit(facts, record, event))
}

/// Decides a clinician's review of a coercion concern, with its outcome.
pub fn decide_coercion_review(
    facts: &AccessFacts,
    by: &By,
    concern: ConcernId,
    outcome: ConcernOutcome,
    note: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let note = text(note, "note")?;
    let c = ctx(facts, *by, "coercion.review", at, ids);
    permit!(c, facts, Action::ReviewCoercionConcern);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let Some(found) = record.concerns.iter_mut().find(|k| k.id == concern) else {
        return Ok(c.refuse(AccessRefusal::ConcernNotFound));
    };
    if found.review.is_some() {
        return Ok(c.refuse(AccessRefusal::ConcernAlreadyReviewed));
    }
    found.review = Some(ConcernReview {
        by: staff,
        at,
        outcome,
        note: note.clone(),
    });
    let named = found.proxy;
    match outcome {
        ConcernOutcome::AccessRestored => {}
        ConcernOutcome::ProxyWithdrawn => {
            for g in record
                .grants
                .iter_mut()
                .filter(|g| g.revoked.is_none() && named.is_none_or(|p| p == g.proxy))
            {
                g.revoked = Some(Revocation {
                    by: by.actor,
                    at,
                    reason: "Withdrawn after a coercion review".into(),
                });
            }
        }
        ConcernOutcome::OnlineAccessWithdrawn => {
            if let Some(account) = record.account.as_mut() {
                account.suspended = Some(Suspension {
                    reason: SuspensionReason::CoercionConcern,
                    by: by.actor,
                    at,
                });
            }
        }
    }
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Concern, concern)
        .with_detail("outcome", format!("{outcome:?}"));
    Ok(c.commit(facts, record, event))
}

/// Decides storing a staff profile (competencies, designations), by the
/// practice manager or a lead. `facts.record` is not used.
pub fn decide_put_staff(
    facts: &AccessFacts,
    by: &By,
    profile: &StaffProfile,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    text(&profile.name, "staff name")?;
    let mut c = ctx(facts, *by, "access.staff", at, ids);
    c.patient = None;
    permit!(c, facts, Action::ManageStaff);
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Staff, profile.staff)
        .with_detail("role", profile.role.to_string());
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            staff: Some(profile.clone()),
            ..AccessChange::default()
        },
        events: vec![event],
        preconditions: Vec::new(),
    }))
}

/// The first staff profile of a new practice: the practice manager records
/// themselves. Allowed only while no staff are recorded (`no_staff_yet`).
pub fn decide_first_manager(
    no_staff_yet: bool,
    profile: &StaffProfile,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    text(&profile.name, "staff name")?;
    let by = By {
        actor: Actor::Staff {
            staff: profile.staff,
            role: profile.role,
        },
        channel: Channel::Reception,
    };
    let c = Ctx {
        ids,
        at,
        by,
        patient: None,
        action: "access.staff",
    };
    if !no_staff_yet || profile.role != gp_core::StaffRole::PracticeManager {
        return Ok(c.refuse(AccessRefusal::LeadOrManagerOnly));
    }
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            staff: Some(profile.clone()),
            ..AccessChange::default()
        },
        events: vec![c
            .event(Outcome::Allowed)
            .with_subject(SubjectKind::Staff, profile.staff)],
        preconditions: Vec::new(),
    }))
}

/// Decides new access settings, by the practice manager or a lead.
pub fn decide_settings(
    facts: &AccessFacts,
    by: &By,
    settings: &AccessSettings,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    settings.check()?;
    let mut c = ctx(facts, *by, "access.settings", at, ids);
    c.patient = None;
    permit!(c, facts, Action::ChangeOnlineSettings);
    let event = c
        .event(Outcome::Allowed)
        .with_detail("linkage_key_days", settings.linkage_key_days.to_string())
        .with_detail(
            "max_failed_redemptions",
            settings.max_failed_redemptions.to_string(),
        )
        .with_detail(
            "parental_review_age",
            settings.parental_review_age.to_string(),
        )
        .with_detail(
            "unused_proxy_years",
            settings.unused_proxy_years.to_string(),
        );
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            settings: Some(settings.clone()),
            ..AccessChange::default()
        },
        events: vec![event],
        preconditions: vec![Precondition::SettingsUnchanged {
            version: facts.settings.version,
        }],
    }))
}

/// Why a proxy grant is on the review list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    /// The child has reached the review age and their own view is not recorded.
    ChildReachedReviewAge,
    /// The grant's review date has come.
    ReviewDateReached,
    /// Parental access stops at 16 on this date (within the notice period):
    /// tell the family, and record a new basis if access should continue.
    SixteenSoon {
        /// The 16th birthday.
        on: NaiveDate,
    },
    /// Parental access has stopped at 16; a new basis is needed to continue.
    ReachedSixteen,
}

/// Grants due for review on `today`, with why.
pub fn reviews_due(
    records: &[AccessRecord],
    settings: &AccessSettings,
    today: NaiveDate,
) -> Vec<(ProxyGrant, ReviewReason)> {
    let mut out = Vec::new();
    for r in records {
        let dob = r.account.as_ref().map(|a| a.date_of_birth);
        for g in r.grants.iter().filter(|g| g.revoked.is_none()) {
            let age = dob.map(|d| age_on(d, today));
            if g.basis == LegalBasis::ParentalResponsibility {
                let sixteenth =
                    dob.map(|d| gp_core::birthday_in(d, chrono::Datelike::year(&d) + 16));
                let notice = Duration::days(i64::from(settings.sixteen_notice_days));
                match age {
                    Some(a) if a >= 16 => {
                        out.push((g.clone(), ReviewReason::ReachedSixteen));
                        continue;
                    }
                    Some(_) if sixteenth.is_some_and(|on| on - notice <= today) => {
                        let on = sixteenth.unwrap_or(today);
                        out.push((g.clone(), ReviewReason::SixteenSoon { on }));
                        continue;
                    }
                    Some(a) if a >= settings.parental_review_age && g.child_view.is_none() => {
                        out.push((g.clone(), ReviewReason::ChildReachedReviewAge));
                        continue;
                    }
                    _ => {}
                }
            }
            if g.review.is_some_and(|d| d <= today) {
                out.push((g.clone(), ReviewReason::ReviewDateReached));
            }
        }
    }
    out
}

/// Grants not used for the settings' years (counting from the grant if never
/// used), to be removed.
pub fn unused_proxies(
    records: &[AccessRecord],
    settings: &AccessSettings,
    now: DateTime<Utc>,
) -> Vec<ProxyGrant> {
    let today = local_date(now);
    let years = i32::try_from(settings.unused_proxy_years).unwrap_or(5);
    records
        .iter()
        .flat_map(|r| r.grants.iter())
        .filter(|g| g.revoked.is_none())
        .filter(|g| {
            let last = local_date(g.last_used.unwrap_or(g.decided_at));
            today >= gp_core::birthday_in(last, chrono::Datelike::year(&last) + years)
        })
        .cloned()
        .collect()
}
