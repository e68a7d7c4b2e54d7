//! May this actor do this action for this patient now? The permission matrix
//! and [`authorize`].

use std::fmt;

use chrono::{DateTime, Utc};
use gp_core::{age_on, local_date, Actor, StaffRole};
use serde::{Deserialize, Serialize};

use crate::decision::AccessFacts;
use crate::model::{Competency, Designation, LegalBasis, Service, StaffProfile, SuspensionReason};
use crate::refusal::AccessRefusal;

/// Something an actor may ask to do for a patient (or for the practice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Book an appointment.
    BookAppointment,
    /// Cancel an appointment.
    CancelAppointment,
    /// Move an appointment to another slot (cancel and book together).
    RescheduleAppointment,
    /// Change an appointment's description or comment (staff, and other
    /// organisations through GP Connect; patients cancel and book again).
    AmendAppointment,
    /// See a patient's appointments.
    ViewAppointments,
    /// Order (or enter) a repeat prescription request.
    OrderRepeats,
    /// Cancel a line of a repeat request, or flag an item as no longer taken.
    ManageOwnRepeats,
    /// See a patient's repeat medicines and requests.
    ViewRepeats,
    /// Send a message (or reply to one).
    SendMessage,
    /// See a patient's messages.
    ViewMessages,
    /// Register a patient for online services.
    RegisterPatient,
    /// Record an identity verification (documents seen, vouching).
    VerifyIdentity,
    /// Issue linkage details.
    IssueLinkageKey,
    /// Switch a patient's online services on or off.
    ManageServices,
    /// Suspend or restore a patient's online access.
    SuspendAccess,
    /// Decide a proxy application (any basis but best interest), record a new
    /// basis or a child's view.
    DecideProxyApplication,
    /// Decide that proxy access is in the best interest of a patient who lacks capacity.
    DecideBestInterestProxy,
    /// End a proxy's access.
    RevokeProxy,
    /// Record a coercion concern.
    RecordCoercionConcern,
    /// Review a coercion concern and record its outcome.
    ReviewCoercionConcern,
    /// Approve or reject a line of a repeat prescription request.
    ApprovePrescription,
    /// Issue an approved line (a prescriber, or the system confirming an
    /// electronic issue).
    IssuePrescription,
    /// Put a medicine on a patient's repeat list, or review one flagged as no longer taken.
    ManageRepeatList,
    /// Turn online ordering off (or back on) for one patient.
    RestrictOrdering,
    /// Work the staff inbox: read it, mark messages read or handled.
    HandleMessages,
    /// Read the practice's work lists: the prescription queue, the review
    /// list, proxy access due for review or unused.
    ViewWorkLists,
    /// Change online-service settings (booking policy, prescribing, messaging, access).
    ChangeOnlineSettings,
    /// Record staff competencies and designations.
    ManageStaff,
    /// Report a problem with the online services to the practice's
    /// problem log (patients and proxies about the patient they act for;
    /// any member of staff).
    ReportProblem,
    /// Act on a reported problem: take it on, resolve it, or record that
    /// it will not be fixed.
    ManageProblems,
}

impl Action {
    /// Every action, in the order of the permission matrix.
    pub const ALL: [Action; 30] = [
        Action::BookAppointment,
        Action::CancelAppointment,
        Action::RescheduleAppointment,
        Action::AmendAppointment,
        Action::ViewAppointments,
        Action::OrderRepeats,
        Action::ManageOwnRepeats,
        Action::ViewRepeats,
        Action::SendMessage,
        Action::ViewMessages,
        Action::RegisterPatient,
        Action::VerifyIdentity,
        Action::IssueLinkageKey,
        Action::ManageServices,
        Action::SuspendAccess,
        Action::DecideProxyApplication,
        Action::DecideBestInterestProxy,
        Action::RevokeProxy,
        Action::RecordCoercionConcern,
        Action::ReviewCoercionConcern,
        Action::ApprovePrescription,
        Action::IssuePrescription,
        Action::ManageRepeatList,
        Action::RestrictOrdering,
        Action::HandleMessages,
        Action::ViewWorkLists,
        Action::ChangeOnlineSettings,
        Action::ManageStaff,
        Action::ReportProblem,
        Action::ManageProblems,
    ];

    /// The online service the action uses, for actions patients and proxies take.
    pub fn service(self) -> Option<Service> {
        match self {
            Action::BookAppointment
            | Action::CancelAppointment
            | Action::RescheduleAppointment
            | Action::ViewAppointments => Some(Service::Appointments),
            Action::OrderRepeats | Action::ManageOwnRepeats | Action::ViewRepeats => {
                Some(Service::RepeatPrescriptions)
            }
            Action::SendMessage | Action::ViewMessages => Some(Service::Messages),
            _ => None,
        }
    }

    /// Whether the action is about one patient's care (their appointments,
    /// medicines or messages), so that the patient must be the practice's.
    pub fn concerns_patient(self) -> bool {
        self.service().is_some()
            || matches!(
                self,
                Action::ManageRepeatList
                    | Action::RestrictOrdering
                    | Action::IssuePrescription
                    | Action::AmendAppointment
            )
    }

    /// A name for the audit trail (`book_appointment`).
    pub fn name(self) -> &'static str {
        match self {
            Action::BookAppointment => "book_appointment",
            Action::CancelAppointment => "cancel_appointment",
            Action::RescheduleAppointment => "reschedule_appointment",
            Action::AmendAppointment => "amend_appointment",
            Action::ViewAppointments => "view_appointments",
            Action::OrderRepeats => "order_repeats",
            Action::ManageOwnRepeats => "manage_own_repeats",
            Action::ViewRepeats => "view_repeats",
            Action::SendMessage => "send_message",
            Action::ViewMessages => "view_messages",
            Action::RegisterPatient => "register_patient",
            Action::VerifyIdentity => "verify_identity",
            Action::IssueLinkageKey => "issue_linkage_key",
            Action::ManageServices => "manage_services",
            Action::SuspendAccess => "suspend_access",
            Action::DecideProxyApplication => "decide_proxy_application",
            Action::DecideBestInterestProxy => "decide_best_interest_proxy",
            Action::RevokeProxy => "revoke_proxy",
            Action::RecordCoercionConcern => "record_coercion_concern",
            Action::ReviewCoercionConcern => "review_coercion_concern",
            Action::ApprovePrescription => "approve_prescription",
            Action::IssuePrescription => "issue_prescription",
            Action::ManageRepeatList => "manage_repeat_list",
            Action::RestrictOrdering => "restrict_ordering",
            Action::HandleMessages => "handle_messages",
            Action::ViewWorkLists => "view_work_lists",
            Action::ChangeOnlineSettings => "change_online_settings",
            Action::ManageStaff => "manage_staff",
            Action::ReportProblem => "report_problem",
            Action::ManageProblems => "manage_problems",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who on the staff may take an action: the roles, a competency they must
/// be recorded as having, and whether only the practice manager or a lead
/// for online services may (whatever the role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Roles allowed (empty when only the manager or a lead may).
    pub roles: &'static [StaffRole],
    /// The competency needed, if any.
    pub competency: Option<Competency>,
    /// Whether only the practice manager or a lead may.
    pub lead_or_manager: bool,
}

use StaffRole::{
    Gp, HealthcareAssistant as Hca, Nurse, Pharmacist, PracticeManager as Pm, Receptionist as Rx,
};

const EVERYONE: &[StaffRole] = &[Gp, Nurse, Hca, Pharmacist, Rx, Pm];
const DESK: &[StaffRole] = &[Gp, Nurse, Rx, Pm];

/// What the system (the supplier's own back end, acting for nobody) may do:
/// cancel appointments internally (a session cancelled), copy medicines from
/// the clinical record onto a repeat list, and confirm an electronic issue.
pub fn system_may(action: Action) -> bool {
    matches!(
        action,
        Action::CancelAppointment | Action::ManageRepeatList | Action::IssuePrescription
    )
}

/// What another NHS organisation may do through GP Connect, for any patient
/// on the practice's list: book, cancel and amend appointments and see them
/// (GP Connect Appointment Management). Which slots it may book is the
/// booking policy's (`organisation_slots`).
pub fn organisation_may(action: Action) -> bool {
    matches!(
        action,
        Action::BookAppointment
            | Action::CancelAppointment
            | Action::AmendAppointment
            | Action::ViewAppointments
    )
}

/// The staff permission matrix (also a table in the crate documentation).
pub fn permission(action: Action) -> Permission {
    let p = |roles, competency| Permission {
        roles,
        competency,
        lead_or_manager: false,
    };
    match action {
        Action::BookAppointment
        | Action::CancelAppointment
        | Action::RescheduleAppointment
        | Action::AmendAppointment
        | Action::ViewAppointments
        | Action::OrderRepeats
        | Action::ManageOwnRepeats
        | Action::ViewRepeats
        | Action::SendMessage
        | Action::ViewMessages
        | Action::HandleMessages
        | Action::ViewWorkLists
        | Action::ReportProblem
        | Action::ManageProblems => p(EVERYONE, None),
        Action::RegisterPatient
        | Action::IssueLinkageKey
        | Action::ManageServices
        | Action::SuspendAccess
        | Action::RevokeProxy => p(DESK, None),
        Action::VerifyIdentity => p(DESK, Some(Competency::VerifyIdentity)),
        Action::DecideProxyApplication => p(DESK, Some(Competency::ProxyApplications)),
        Action::DecideBestInterestProxy => p(&[Gp], Some(Competency::ProxyApplications)),
        Action::RecordCoercionConcern => p(EVERYONE, Some(Competency::RecogniseCoercion)),
        Action::ReviewCoercionConcern => p(&[Gp, Nurse], Some(Competency::RecogniseCoercion)),
        Action::ApprovePrescription | Action::IssuePrescription | Action::ManageRepeatList => {
            p(StaffRole::PRESCRIBERS, Some(Competency::Prescribing))
        }
        Action::RestrictOrdering => p(&[Gp, Nurse, Pharmacist, Pm], None),
        Action::ChangeOnlineSettings | Action::ManageStaff => Permission {
            roles: &[],
            competency: None,
            lead_or_manager: true,
        },
    }
}

/// Whether a member of staff may take an action, by the matrix.
pub fn staff_may(profile: &StaffProfile, action: Action) -> Result<(), AccessRefusal> {
    let p = permission(action);
    if p.lead_or_manager {
        let lead = profile.role == StaffRole::PracticeManager
            || profile.designations.contains(&Designation::LeadGp)
            || profile.designations.contains(&Designation::LeadStaff);
        return if lead {
            Ok(())
        } else {
            Err(AccessRefusal::LeadOrManagerOnly)
        };
    }
    if !p.roles.contains(&profile.role) {
        return Err(AccessRefusal::RoleNotPermitted);
    }
    match p.competency {
        Some(c) if !profile.competencies.contains(&c) => {
            Err(AccessRefusal::CompetencyMissing { competency: c })
        }
        _ => Ok(()),
    }
}

/// The answer to "may this actor do this action for this patient now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Yes.
    Allowed,
    /// No, for this reason.
    Denied(AccessRefusal),
}

impl Authorization {
    /// Whether it is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Authorization::Allowed)
    }
}

/// May `actor` do `action` for the patient of `facts` at `at`?
///
/// - A **patient** acting for themselves: registered for online services
///   (or, for one booking, on the practice's list when the practice allows
///   a booking before registration: [`AccessFacts::one_booking_before_registration`]),
///   not suspended, no coercion concern about their own access pending,
///   identity verified, and the action's service switched on. Patients may
///   also end a proxy's access to themselves (not while suspended or under
///   coercion review).
/// - A **proxy**: the patient registered, their account not suspended
///   (unless only for a lost device); a grant to this proxy that is not
///   revoked, has started and not reached its end date, is not suspended, has
///   no coercion concern pending about it (or about the patient's access
///   generally), covers the service, and the service is on for the patient.
///   Parental responsibility ends on the child's 16th birthday (practice-local
///   date) unless a new basis is recorded, and a competent child's refusal
///   stops it.
/// - **Staff**: recorded in the access records, and allowed by the
///   [`permission`] matrix (role, competency, lead designation); for an
///   action about one patient's care, the patient is on the practice's list
///   ([`AccessFacts::listed`]) or has an online account.
/// - **The system**: only what [`system_may`] names, for a patient of the practice.
/// - **Another organisation** (GP Connect): only what [`organisation_may`]
///   names, for a patient on the practice's list or registered online; no
///   online account, identity check or service switch is needed (the
///   organisation acts for the patient in their direct care).
pub fn authorize(
    facts: &AccessFacts,
    actor: &Actor,
    action: Action,
    at: DateTime<Utc>,
) -> Authorization {
    match check(facts, actor, action, at) {
        Ok(()) => Authorization::Allowed,
        Err(r) => Authorization::Denied(r),
    }
}

fn check(
    facts: &AccessFacts,
    actor: &Actor,
    action: Action,
    at: DateTime<Utc>,
) -> Result<(), AccessRefusal> {
    let record = &facts.record;
    let today = local_date(at);
    match *actor {
        Actor::Patient { patient } => {
            // Staff work is refused as such, whoever's record it names.
            if action.service().is_none()
                && !matches!(action, Action::RevokeProxy | Action::ReportProblem)
            {
                return Err(AccessRefusal::RoleNotPermitted);
            }
            if patient != record.patient {
                return Err(AccessRefusal::ActorNotForPatient);
            }
            let Some(account) = record.account.as_ref() else {
                // A patient of the practice, identified by the supplier's
                // sign-in but not registered for online services, may ask
                // for the one booking the practice allows before
                // registration (the booking rules count it).
                let first_booking = action == Action::BookAppointment
                    && facts.listed.is_some()
                    && facts.one_booking_before_registration;
                return if first_booking {
                    Ok(())
                } else {
                    Err(AccessRefusal::NotRegisteredForOnline)
                };
            };
            if account.suspended.is_some() {
                return Err(AccessRefusal::OnlineAccessSuspended);
            }
            if record.open_concerns().any(|c| c.proxy.is_none()) {
                return Err(AccessRefusal::CoercionReviewPending);
            }
            // A suspended account, or one under review, ends nobody's
            // access: whoever holds it may not be the patient. Staff can.
            if action == Action::RevokeProxy {
                return Ok(());
            }
            if account.identity.is_none() {
                return Err(AccessRefusal::IdentityNotVerified);
            }
            // A problem may be reported whichever services are on.
            if action == Action::ReportProblem {
                return Ok(());
            }
            let service = action.service().ok_or(AccessRefusal::RoleNotPermitted)?;
            if !account.services.contains(&service) {
                return Err(AccessRefusal::ServiceNotEnabled { service });
            }
            Ok(())
        }
        Actor::Proxy { proxy, for_patient } => {
            // A proxy may report a problem whatever their grant's scope.
            let service = match action.service() {
                Some(s) => Some(s),
                None if action == Action::ReportProblem => None,
                None => return Err(AccessRefusal::RoleNotPermitted),
            };
            if for_patient != record.patient {
                return Err(AccessRefusal::ActorNotForPatient);
            }
            let account = record
                .account
                .as_ref()
                .ok_or(AccessRefusal::NotRegisteredForOnline)?;
            let grant = record.grant(proxy).ok_or(AccessRefusal::NoProxyAccess)?;
            if grant.revoked.is_some() {
                return Err(AccessRefusal::ProxyRevoked);
            }
            if today < grant.start {
                return Err(AccessRefusal::ProxyNotStarted);
            }
            if grant.end.is_some_and(|end| today >= end) {
                return Err(AccessRefusal::ProxyExpired);
            }
            if grant.suspended.is_some() {
                return Err(AccessRefusal::ProxySuspended);
            }
            // A suspended account pauses its proxies too (someone may be
            // misusing it, or a concern is upheld), unless it was suspended
            // only because the patient lost their own device.
            if account
                .suspended
                .as_ref()
                .is_some_and(|s| s.reason != SuspensionReason::LostDevice)
            {
                return Err(AccessRefusal::OnlineAccessSuspended);
            }
            if record
                .open_concerns()
                .any(|c| c.proxy.is_none() || c.proxy == Some(proxy))
            {
                return Err(AccessRefusal::CoercionReviewPending);
            }
            if grant.basis == LegalBasis::ParentalResponsibility {
                if age_on(account.date_of_birth, today) >= 16 {
                    return Err(AccessRefusal::ParentalAccessEndedAt16);
                }
                if grant.child_view.is_some_and(|v| !v.consents) {
                    return Err(AccessRefusal::ChildRefusedConsent);
                }
            }
            let Some(service) = service else {
                return Ok(());
            };
            if !grant.scopes.contains(&service) {
                return Err(AccessRefusal::ProxyOutOfScope { service });
            }
            if !account.services.contains(&service) {
                return Err(AccessRefusal::ServiceNotEnabled { service });
            }
            Ok(())
        }
        Actor::Staff { staff, .. } => {
            let profile = facts
                .staff
                .as_ref()
                .filter(|p| p.staff == staff)
                .ok_or(AccessRefusal::UnknownStaff)?;
            staff_may(profile, action)?;
            practice_patient(facts, action)
        }
        Actor::System if system_may(action) => practice_patient(facts, action),
        Actor::Organisation { .. } if organisation_may(action) => practice_patient(facts, action),
        _ => Err(AccessRefusal::RoleNotPermitted),
    }
}

/// Staff (and the system) serve any patient on the practice's list, with or
/// without an online account; a patient who is neither is no patient of the
/// practice.
fn practice_patient(facts: &AccessFacts, action: Action) -> Result<(), AccessRefusal> {
    // A problem reported about a patient (rather than about no one, the nil
    // id) must be about one of the practice's patients.
    let about_a_patient = action == Action::ReportProblem
        && !gp_core::uuid::Uuid::from(facts.record.patient).is_nil();
    if (action.concerns_patient() || about_a_patient)
        && facts.record.account.is_none()
        && facts.listed.is_none()
    {
        return Err(AccessRefusal::PatientNotListed);
    }
    Ok(())
}

/// The permission matrix as a Markdown table (the crate documentation's table
/// is checked against it by a test).
pub fn permission_table() -> String {
    let mut out = String::from("| action | GP | nurse | HCA | pharmacist | receptionist | practice manager | needs |\n|---|---|---|---|---|---|---|---|\n");
    for action in Action::ALL {
        let p = permission(action);
        out.push_str(&format!("| `{}` |", action.name()));
        for role in [Gp, Nurse, Hca, Pharmacist, Rx, Pm] {
            let mark = if p.lead_or_manager {
                if role == Pm {
                    "yes"
                } else {
                    "lead"
                }
            } else if p.roles.contains(&role) {
                "yes"
            } else {
                "-"
            };
            out.push_str(&format!(" {mark} |"));
        }
        let needs = match (p.lead_or_manager, p.competency) {
            (true, _) => "the practice manager or a lead for online services".to_owned(),
            (false, Some(c)) => format!("competency `{c:?}`"),
            (false, None) => "-".to_owned(),
        };
        out.push_str(&format!(" {needs} |\n"));
    }
    out
}
