//! Repeat items as R4 MedicationRequests, request lines as renewal Tasks,
//! and a renewal read from a patient's Task.

use gp_core::{Actor, PatientId, RequestId, SequentialIds, StaffId};
use gp_fhir::prescriptions::{medication_request, read_task, tasks, RENEWAL, SNOMED};
use gp_prescribing::{LineState, RepeatRequest, RequestChannel, RequestLine};
use gp_testkit::fixtures::{monday_morning, repeat_item};
use serde_json::json;

#[test]
fn items_and_request_lines_have_the_r4_shape() {
    let ids = SequentialIds::new(3);
    let patient = PatientId::new(&ids);
    let today = monday_morning().date_naive();
    let item = repeat_item(&ids, patient, 0, None, today);
    let m = medication_request(&item);
    assert_eq!(m["resourceType"], "MedicationRequest");
    assert_eq!(
        (m["status"].as_str(), m["intent"].as_str()),
        (Some("active"), Some("plan"))
    );
    assert_eq!(
        m["medicationCodeableConcept"]["coding"][0]["code"],
        "322236009"
    );
    assert_eq!(
        m["medicationCodeableConcept"]["coding"][0]["system"],
        SNOMED
    );
    assert_eq!(m["dispenseRequest"]["numberOfRepeatsAllowed"], 5);
    assert_eq!(m["dispenseRequest"]["expectedSupplyDuration"]["value"], 28);
    assert_eq!(m["subject"]["reference"], format!("Patient/{patient}"));

    let other = repeat_item(&ids, patient, 1, None, today);
    let request = RepeatRequest {
        id: RequestId::new(&ids),
        patient,
        channel: RequestChannel::Online,
        made_by: Actor::Patient { patient },
        at: monday_morning(),
        message: Some("To the High Street pharmacy".into()),
        lines: vec![
            RequestLine {
                item: item.id,
                state: LineState::Requested,
                concerns: vec![],
            },
            RequestLine {
                item: other.id,
                state: LineState::Rejected {
                    by: StaffId::new(&ids),
                    at: monday_morning(),
                    reason: "Please book a review".into(),
                },
                concerns: vec![],
            },
        ],
    };
    let t = tasks(&request);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["status"], "requested");
    assert_eq!(t[0]["code"]["coding"][0]["code"], RENEWAL);
    assert_eq!(
        t[0]["focus"]["reference"],
        format!("MedicationRequest/{}", item.id)
    );
    assert_eq!(t[0]["note"][0]["text"], "To the High Street pharmacy");
    assert_eq!(t[1]["status"], "rejected");
    assert_eq!(t[1]["statusReason"]["text"], "Please book a review");
    assert_eq!(t[1]["groupIdentifier"]["value"], request.id.to_string());
}

#[test]
fn a_renewal_is_read_from_a_task_as_sent_or_refused_with_why() {
    let ids = SequentialIds::new(4);
    let patient = PatientId::new(&ids);
    let item = repeat_item(&ids, patient, 0, None, monday_morning().date_naive());
    let base = || {
        json!({
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "code": {"coding": [{"system": SNOMED, "code": RENEWAL}]},
            "focus": {"reference": format!("MedicationRequest/{}", item.id)},
            "for": {"reference": format!("Patient/{patient}")},
            "note": [{"text": "n".repeat(500)}],
        })
    };
    let r = read_task(base().to_string().as_bytes()).expect("a renewal");
    assert_eq!((r.patient, r.item), (patient, item.id));
    assert_eq!(r.note.map(|n| n.len()), Some(500));
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"nope".to_vec(), 400, "not JSON"),
        (
            json!({"resourceType": "Appointment"})
                .to_string()
                .into_bytes(),
            422,
            "not a Task",
        ),
        (
            {
                let mut t = base();
                t["colour"] = json!("blue");
                t.to_string().into_bytes()
            },
            422,
            "colour",
        ),
        (
            {
                let mut t = base();
                t["status"] = json!("completed");
                t.to_string().into_bytes()
            },
            422,
            "requested",
        ),
        (
            {
                let mut t = base();
                t["intent"] = json!("plan");
                t.to_string().into_bytes()
            },
            422,
            "order",
        ),
        (
            {
                let mut t = base();
                t["code"] = json!({"coding": [{"system": SNOMED, "code": "1"}]});
                t.to_string().into_bytes()
            },
            422,
            "103742009",
        ),
        (
            {
                let mut t = base();
                t["focus"] = json!({"reference": "Medication/1"});
                t.to_string().into_bytes()
            },
            422,
            "MedicationRequest/",
        ),
        (
            {
                let mut t = base();
                t["for"] = json!({"reference": "Patient/x"});
                t.to_string().into_bytes()
            },
            422,
            "Patient/",
        ),
        (
            {
                let mut t = base();
                t["note"] = json!([{"text": "n".repeat(501)}]);
                t.to_string().into_bytes()
            },
            422,
            "not truncated",
        ),
        (
            {
                let mut t = base();
                t["note"] = json!([{"text": "a"}, {"text": "b"}]);
                t.to_string().into_bytes()
            },
            422,
            "one note",
        ),
    ];
    for (body, http, says) in cases {
        let r = read_task(&body).expect_err(says);
        assert_eq!(r.error.http, http, "{says}");
        assert!(r.why.contains(says), "{says}: {}", r.why);
    }
}
