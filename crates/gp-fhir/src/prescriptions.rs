//! Patient-facing repeat prescriptions (FHIR R4, UK Core): repeat items as
//! `MedicationRequest`s, each line of a repeat request as a `Task` with
//! code 103742009 "Renewal of prescription", and a renewal read from the
//! `Task` a patient's app sends.

use chrono::{DateTime, SecondsFormat, Utc};
use gp_core::{MedicationId, PatientId, RequestId};
use gp_prescribing::{ItemStatus, LineState, RepeatItem, RepeatRequest};
use serde_json::{json, Value};

use crate::{invalid, read_resource, reference, Rejected};

/// UK Core `MedicationRequest`.
pub const MEDICATION_REQUEST_PROFILE: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationRequest";
/// UK Core `Task`.
pub const TASK_PROFILE: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Task";
/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// The SNOMED CT code of a repeat request: "Renewal of prescription".
pub const RENEWAL: &str = "103742009";
/// The longest note a renewal `Task` may carry, in characters.
pub const MAX_NOTE: usize = 500;

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A repeat item as a UK Core `MedicationRequest` (intent `plan`, a
/// continuous course, active or stopped).
pub fn medication_request(item: &RepeatItem) -> Value {
    let status = match item.status {
        ItemStatus::Active => "active",
        _ => "stopped",
    };
    json!({
        "resourceType": "MedicationRequest",
        "id": item.id.to_string(),
        "meta": {"profile": [MEDICATION_REQUEST_PROFILE]},
        "status": status,
        "intent": "plan",
        "courseOfTherapyType": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
            "code": "continuous",
            "display": "Continuous long term therapy",
        }]},
        "medicationCodeableConcept": {"coding": [{
            "system": SNOMED,
            "code": item.concept.to_string(),
            "display": item.drug,
        }]},
        "subject": {"reference": format!("Patient/{}", item.patient)},
        "dosageInstruction": [{"text": item.dosage}],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": item.issues_remaining,
            "quantity": {"value": item.quantity.amount, "unit": item.quantity.unit},
            "expectedSupplyDuration": {
                "value": item.issue_duration_days,
                "unit": "day",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },
    })
}

/// Each line of a repeat request as a renewal `Task`: `requested`,
/// `accepted` (approved), `completed` (issued), `rejected` (with the
/// prescriber's reason as `statusReason`) or `cancelled`.
pub fn tasks(request: &RepeatRequest) -> Vec<Value> {
    request
        .lines
        .iter()
        .map(|line| {
            let (status, reason) = match &line.state {
                LineState::Requested => ("requested", None),
                LineState::Approved { .. } => ("accepted", None),
                LineState::Issued { .. } => ("completed", None),
                LineState::Rejected { reason, .. } => ("rejected", Some(reason.clone())),
                LineState::Cancelled { .. } => ("cancelled", None),
            };
            let mut task = json!({
                "resourceType": "Task",
                "id": format!("{}-{}", request.id, line.item),
                "meta": {"profile": [TASK_PROFILE]},
                "groupIdentifier": {"value": request.id.to_string()},
                "status": status,
                "intent": "order",
                "code": {"coding": [{"system": SNOMED, "code": RENEWAL, "display": "Renewal of prescription"}]},
                "focus": {"reference": format!("MedicationRequest/{}", line.item)},
                "for": {"reference": format!("Patient/{}", request.patient)},
                "authoredOn": instant(request.at),
            });
            if let Some(reason) = reason {
                task["statusReason"] = json!({"text": reason});
            }
            if let Some(message) = &request.message {
                task["note"] = json!([{"text": message}]);
            }
            task
        })
        .collect()
}

/// A renewal read from a `Task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalRequest {
    /// The patient (`for`).
    pub patient: PatientId,
    /// The item to renew (`focus`).
    pub item: MedicationId,
    /// The note to the practice, if any.
    pub note: Option<String>,
    /// The request it belongs to, if the app names one (`groupIdentifier`).
    pub group: Option<RequestId>,
}

const KNOWN: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "identifier",
    "priority",
    "lastModified",
    "description",
    "status",
    "intent",
    "code",
    "focus",
    "for",
    "authoredOn",
    "note",
    "groupIdentifier",
    "requester",
    "owner",
    "performerType",
    "extension",
];

/// Reads a renewal from a `Task` a patient's app sends: status
/// `requested`, intent `order`, code 103742009, `focus` a
/// `MedicationRequest/`, `for` a `Patient/`, at most one note of at most
/// 500 characters (refused, never truncated). A body that is not JSON is
/// `BAD_REQUEST`; anything else wrong, or a field the profile does not
/// define, is `INVALID_RESOURCE`.
pub fn read_task(body: &[u8]) -> Result<RenewalRequest, Rejected> {
    let t = read_resource(body, "Task", KNOWN)?;
    if t.get("status").and_then(Value::as_str) != Some("requested") {
        return Err(invalid("Task.status must be requested"));
    }
    if t.get("intent").and_then(Value::as_str) != Some("order") {
        return Err(invalid("Task.intent must be order"));
    }
    let renewal = t
        .get("code")
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .is_some_and(|codings| {
            codings.iter().any(|c| {
                c.get("system").and_then(Value::as_str) == Some(SNOMED)
                    && c.get("code").and_then(Value::as_str) == Some(RENEWAL)
            })
        });
    if !renewal {
        return Err(invalid(format!(
            "Task.code must be SNOMED CT {RENEWAL} (renewal of prescription)"
        )));
    }
    let item = reference(t.get("focus"), "MedicationRequest")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| invalid("Task.focus must reference MedicationRequest/<id>"))?;
    let patient = reference(t.get("for"), "Patient")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| invalid("Task.for must reference Patient/<id>"))?;
    let note = match t.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::Array(notes)) if notes.len() <= 1 => match notes.first() {
            None => None,
            Some(n) => {
                let text = n
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("Task.note.text must be a string"))?;
                if text.chars().count() > MAX_NOTE {
                    return Err(invalid(format!(
                        "Task.note is {} characters; at most {MAX_NOTE} (it is not truncated)",
                        text.chars().count()
                    )));
                }
                Some(text.to_owned())
            }
        },
        Some(_) => return Err(invalid("Task.note must be one note")),
    };
    let group = t
        .get("groupIdentifier")
        .and_then(|g| g.get("value"))
        .and_then(Value::as_str)
        .map(|v| {
            v.parse()
                .map_err(|_| invalid("Task.groupIdentifier.value is not a request id"))
        })
        .transpose()?;
    Ok(RenewalRequest {
        patient,
        item,
        note,
        group,
    })
}
