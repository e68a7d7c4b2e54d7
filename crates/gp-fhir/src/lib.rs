//! GP Connect mapping for GP online services: pure, no I/O.
//!
//! The first part of the GP Connect adapter: every reason code the
//! workspace answers with (the README's tables) mapped to the HTTP status
//! and the GP Connect (Spine) error code a provider returns, and the
//! `GPConnect-OperationOutcome-1` resource carrying it; and
//! [`appointments`]: our slots, sessions and bookings as GP Connect's STU3
//! `Slot`, `Schedule` and `Appointment`, and a booking request read from an
//! `Appointment` with GP Connect's rules; and [`prescriptions`]: repeat
//! items as R4 `MedicationRequest`s and request lines as `Task`s, and a
//! repeat request read from a consumer's `Task`. The HTTP router comes next.
//!
//! ```
//! let e = gp_fhir::error_for("SlotTaken");
//! assert_eq!((e.http, e.code), (409, "DUPLICATE_REJECTED"));
//! let outcome = gp_fhir::operation_outcome(&e, "That appointment has just been taken.");
//! assert_eq!(outcome["resourceType"], "OperationOutcome");
//! ```

use serde_json::{json, Value};

pub mod appointments;
pub mod prescriptions;

/// The profile of GP Connect's error resource (STU3).
pub const OPERATION_OUTCOME_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1";
/// The code system of Spine's error and warning codes (STU3).
pub const ERROR_CODE_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1";

/// How a refusal or error is answered over GP Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpcError {
    /// The HTTP status.
    pub http: u16,
    /// The Spine error code (`DUPLICATE_REJECTED`, `ACCESS_DENIED`, ...).
    pub code: &'static str,
    /// The display text Spine gives the code.
    pub display: &'static str,
    /// The FHIR `OperationOutcome.issue.code` (`duplicate`, `forbidden`, ...).
    pub issue: &'static str,
}

const fn e(http: u16, code: &'static str, display: &'static str, issue: &'static str) -> GpcError {
    GpcError {
        http,
        code,
        display,
        issue,
    }
}

/// 409: a resource that already exists or was taken first.
pub const DUPLICATE_REJECTED: GpcError = e(
    409,
    "DUPLICATE_REJECTED",
    "Create would lead to creation of a duplicate resource",
    "duplicate",
);
/// 409: the resource changed since the version the request names (an
/// `If-Match` that is not its current version). Spine's code for it, as GP
/// Connect's provider tests and demonstrator answer a version conflict.
pub const FHIR_CONSTRAINT_VIOLATION: GpcError = e(
    409,
    "FHIR_CONSTRAINT_VIOLATION",
    "FHIR constraint violated",
    "conflict",
);
/// 405 (406, 415 with their own status): a method, answer format or body
/// format the interface does not offer. Spine has no code of its own for
/// these; its proxy answers them with issue `not-supported`.
pub const NOT_SUPPORTED: GpcError = e(405, "BAD_REQUEST", "Bad request", "not-supported");
/// 403: who is asking may not do this.
pub const ACCESS_DENIED: GpcError = e(403, "ACCESS_DENIED", "Access denied", "forbidden");
/// 422: the resource sent, or the one it would change, breaks a rule.
pub const INVALID_RESOURCE: GpcError = e(
    422,
    "INVALID_RESOURCE",
    "Invalid validation of resource",
    "invalid",
);
/// 422: a search or request parameter breaks a rule.
pub const INVALID_PARAMETER: GpcError = e(
    422,
    "INVALID_PARAMETER",
    "Submitted parameter is not valid.",
    "invalid",
);
/// 422: a reference in the resource names nothing.
pub const REFERENCE_NOT_FOUND: GpcError = e(
    422,
    "REFERENCE_NOT_FOUND",
    "Referenced resource not found",
    "invalid",
);
/// 404: the patient is not the practice's.
pub const PATIENT_NOT_FOUND: GpcError =
    e(404, "PATIENT_NOT_FOUND", "Patient not found", "not-found");
/// 404: no such record.
pub const NO_RECORD_FOUND: GpcError = e(404, "NO_RECORD_FOUND", "No record found", "not-found");
/// 400: the request cannot be read.
pub const BAD_REQUEST: GpcError = e(400, "BAD_REQUEST", "Bad request", "invalid");
/// 500: something failed inside the provider; nothing was changed.
pub const INTERNAL_SERVER_ERROR: GpcError = e(
    500,
    "INTERNAL_SERVER_ERROR",
    "Internal server error",
    "exception",
);

/// Every reason code the workspace answers with, and its GP Connect answer.
pub const MAPPING: &[(&str, GpcError)] = &[
    // Appointments: the booking policy.
    ("SlotTaken", DUPLICATE_REJECTED),
    ("RoleNotOnline", INVALID_RESOURCE),
    ("SlotTypeNotOnline", INVALID_RESOURCE),
    ("ClinicianNotOnline", INVALID_RESOURCE),
    ("UrgentSlotNotOnline", INVALID_RESOURCE),
    ("ReservedForTriage", INVALID_RESOURCE),
    ("NotReleasedYet", INVALID_RESOURCE),
    ("BeyondBookingHorizon", INVALID_RESOURCE),
    ("HoldingLimitReached", INVALID_RESOURCE),
    ("OverrideNotPermitted", ACCESS_DENIED),
    ("NotRegularPatient", ACCESS_DENIED),
    ("BelowMinimumAge", ACCESS_DENIED),
    ("NotRegisteredForOnline", ACCESS_DENIED),
    ("PreRegistrationBookingUsed", ACCESS_DENIED),
    ("CancellationCutoffPassed", INVALID_RESOURCE),
    ("SearchWindowTooWide", INVALID_PARAMETER),
    ("SearchRangeEmpty", INVALID_PARAMETER),
    ("SlotNotFound", REFERENCE_NOT_FOUND),
    ("BookingNotFound", NO_RECORD_FOUND),
    ("SlotInPast", INVALID_RESOURCE),
    ("AlreadyCancelled", INVALID_RESOURCE),
    ("SameSlot", INVALID_RESOURCE),
    ("NotYourBooking", ACCESS_DENIED),
    ("ActorNotForPatient", ACCESS_DENIED),
    ("ChannelNotAllowed", ACCESS_DENIED),
    ("StaffOnly", ACCESS_DENIED),
    // Appointments: another organisation booking (GP Connect).
    ("NotBookableByOrganisation", INVALID_RESOURCE),
    ("OrganisationCapReached", INVALID_RESOURCE),
    ("InsideOrganisationEmbargo", INVALID_RESOURCE),
    ("AmendNotOnline", ACCESS_DENIED),
    ("BookingChanged", FHIR_CONSTRAINT_VIOLATION),
    ("SlotsNotAdjacent", INVALID_RESOURCE),
    ("AppointmentOfSeveralSlots", INVALID_RESOURCE),
    // Repeat prescriptions.
    ("OnlineOrderingOff", ACCESS_DENIED),
    ("TooEarlyToReorder", INVALID_RESOURCE),
    ("TooManyItems", INVALID_RESOURCE),
    ("MessagesNotAllowed", INVALID_RESOURCE),
    ("MessageTooLong", INVALID_RESOURCE),
    ("OnlineOrderingDisabledForPatient", ACCESS_DENIED),
    ("OrderingDisabledForPatient", ACCESS_DENIED),
    ("ItemNotOnList", REFERENCE_NOT_FOUND),
    ("ItemEnded", INVALID_RESOURCE),
    ("DuplicateRequest", DUPLICATE_REJECTED),
    ("ReviewOverdue", INVALID_RESOURCE),
    ("NoIssuesLeft", INVALID_RESOURCE),
    ("PrescriberOnly", ACCESS_DENIED),
    ("RoleNotPermitted", ACCESS_DENIED),
    ("RequestNotFound", NO_RECORD_FOUND),
    ("LineNotFound", NO_RECORD_FOUND),
    ("LineNotRequested", INVALID_RESOURCE),
    ("LineNotApproved", INVALID_RESOURCE),
    ("NotFlaggedForReview", INVALID_RESOURCE),
    // Messages.
    ("MessagingOff", ACCESS_DENIED),
    ("MessageNotFound", NO_RECORD_FOUND),
    ("AlreadyRead", INVALID_RESOURCE),
    ("AlreadyHandled", INVALID_RESOURCE),
    ("LinkNotFound", REFERENCE_NOT_FOUND),
    // Online access, proxies and staff.
    ("AlreadyRegistered", DUPLICATE_REJECTED),
    ("OnlineAccessSuspended", ACCESS_DENIED),
    ("IdentityNotVerified", ACCESS_DENIED),
    ("ServiceNotEnabled", ACCESS_DENIED),
    ("NoProxyAccess", ACCESS_DENIED),
    ("ProxyRevoked", ACCESS_DENIED),
    ("ProxyNotStarted", ACCESS_DENIED),
    ("ProxyExpired", ACCESS_DENIED),
    ("ProxySuspended", ACCESS_DENIED),
    ("ProxyOutOfScope", ACCESS_DENIED),
    ("ParentalAccessEndedAt16", ACCESS_DENIED),
    ("ChildRefusedConsent", ACCESS_DENIED),
    ("PatientIs16OrOver", INVALID_RESOURCE),
    ("CoercionReviewPending", ACCESS_DENIED),
    ("CompetencyMissing", ACCESS_DENIED),
    ("LeadOrManagerOnly", ACCESS_DENIED),
    ("UnknownStaff", ACCESS_DENIED),
    ("PatientNotListed", PATIENT_NOT_FOUND),
    ("OwnProfile", ACCESS_DENIED),
    ("GrantNeedsManagerOrLeadGp", ACCESS_DENIED),
    ("LinkageKeyInvalid", ACCESS_DENIED),
    ("LinkageKeyExpired", ACCESS_DENIED),
    ("LinkageKeyUsed", ACCESS_DENIED),
    ("LinkageLocked", ACCESS_DENIED),
    ("LinkageRateLimited", ACCESS_DENIED),
    ("LastPracticeManager", INVALID_RESOURCE),
    ("RegistrationNotAsListed", INVALID_RESOURCE),
    ("ApplicantIdentityNotVerified", INVALID_RESOURCE),
    ("PatientIdentityNotVerified", INVALID_RESOURCE),
    ("ConcernNotFound", NO_RECORD_FOUND),
    ("ConcernAlreadyReviewed", INVALID_RESOURCE),
    ("NotSuspended", INVALID_RESOURCE),
    // The problem log.
    ("ProblemNotFound", NO_RECORD_FOUND),
    ("ProblemClosed", INVALID_RESOURCE),
    // Requests an adapter refused before a decision (`gp_online::RequestFault`).
    ("MalformedRequest", BAD_REQUEST),
    ("InvalidRequest", INVALID_RESOURCE),
    ("RecordNotFound", NO_RECORD_FOUND),
    ("RequestNotForActor", ACCESS_DENIED),
    ("VersionMismatch", FHIR_CONSTRAINT_VIOLATION),
    ("RequestInProgress", DUPLICATE_REJECTED),
    ("UnsupportedRequest", NOT_SUPPORTED),
];

/// The GP Connect answer for a reason code. A code not in [`MAPPING`] (a
/// newer one) is answered as a rule the resource breaks, 422
/// `INVALID_RESOURCE`, with the code in the diagnostics.
pub fn error_for(reason_code: &str) -> GpcError {
    MAPPING
        .iter()
        .find(|(c, _)| *c == reason_code)
        .map(|(_, e)| *e)
        .unwrap_or(INVALID_RESOURCE)
}

/// A `GPConnect-OperationOutcome-1` resource for `error`, with
/// `diagnostics` (the refusal's words for people, never personal data).
pub fn operation_outcome(error: &GpcError, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "meta": {"profile": [OPERATION_OUTCOME_PROFILE]},
        "issue": [{
            "severity": "error",
            "code": error.issue,
            "details": {"coding": [{
                "system": ERROR_CODE_SYSTEM,
                "code": error.code,
                "display": error.display,
            }]},
            "diagnostics": diagnostics,
        }]
    })
}

/// A resource refused as sent: the GP Connect answer and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The answer.
    pub error: GpcError,
    /// Why, for the `OperationOutcome`'s diagnostics.
    pub why: String,
}

/// A rule the resource breaks: 422 `INVALID_RESOURCE`, and why.
pub(crate) fn invalid(why: impl Into<String>) -> Rejected {
    Rejected {
        error: INVALID_RESOURCE,
        why: why.into(),
    }
}

/// The JSON object of a resource of `kind`, holding only `known` fields:
/// not JSON is `BAD_REQUEST`; anything else wrong is `INVALID_RESOURCE`.
pub(crate) fn read_resource(
    body: &[u8],
    kind: &str,
    known: &[&str],
) -> Result<serde_json::Map<String, Value>, Rejected> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Rejected {
        error: BAD_REQUEST,
        why: format!("the body is not JSON: {e}"),
    })?;
    let Value::Object(object) = value else {
        return Err(invalid("the body is not a resource"));
    };
    if object.get("resourceType").and_then(Value::as_str) != Some(kind) {
        let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
            "an"
        } else {
            "a"
        };
        return Err(invalid(format!("the resource is not {article} {kind}")));
    }
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(format!(
            "{kind}.{unknown} is not a field this profile takes"
        )));
    }
    Ok(object)
}

/// The id in a reference like `{"reference": "Kind/id"}`.
pub(crate) fn reference(v: Option<&Value>, kind: &str) -> Option<String> {
    v?.get("reference")?
        .as_str()?
        .strip_prefix(&format!("{kind}/"))
        .map(str::to_owned)
}

/// The mapping as a Markdown table (the README's table is checked against it).
pub fn mapping_table() -> String {
    let mut out =
        String::from("| reason code | HTTP status | GP Connect error code |\n|---|---|---|\n");
    for (code, e) in MAPPING {
        out.push_str(&format!("| `{code}` | {} | `{}` |\n", e.http, e.code));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_names_its_examples() {
        assert_eq!(error_for("SlotTaken"), DUPLICATE_REJECTED);
        assert_eq!(error_for("SearchWindowTooWide").code, "INVALID_PARAMETER");
        assert_eq!(error_for("AlreadyCancelled").code, "INVALID_RESOURCE");
        assert_eq!(error_for("SlotInPast").code, "INVALID_RESOURCE");
        assert_eq!(error_for("PatientNotListed"), PATIENT_NOT_FOUND);
        assert_eq!(error_for("ProxyRevoked").http, 403);
        assert_eq!(error_for("SomethingNew"), INVALID_RESOURCE);
    }

    #[test]
    fn every_code_is_mapped_once() {
        let mut codes: Vec<&str> = MAPPING.iter().map(|(c, _)| *c).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code mapped twice");
    }

    #[test]
    fn an_operation_outcome_has_the_gp_connect_shape() {
        let o = operation_outcome(&ACCESS_DENIED, "The proxy's access has ended.");
        assert_eq!(o["meta"]["profile"][0], OPERATION_OUTCOME_PROFILE);
        assert_eq!(o["issue"][0]["severity"], "error");
        assert_eq!(o["issue"][0]["code"], "forbidden");
        assert_eq!(
            o["issue"][0]["details"]["coding"][0]["system"],
            ERROR_CODE_SYSTEM
        );
        assert_eq!(
            o["issue"][0]["details"]["coding"][0]["code"],
            "ACCESS_DENIED"
        );
        assert_eq!(
            o["issue"][0]["diagnostics"],
            "The proxy's access has ended."
        );
    }
}
