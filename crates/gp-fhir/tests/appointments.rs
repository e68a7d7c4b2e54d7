//! Our slots, sessions and bookings as GP Connect STU3 resources, and a
//! booking read from an `Appointment` with GP Connect's rules.

use chrono::Duration;
use gp_booking::{Booking, BookingComment, BookingDescription, Cancellation, CancellationReason};
use gp_core::{Actor, BookingId, Channel, PatientId, SequentialIds};
use gp_fhir::appointments::{
    appointment, read_appointment, schedule, searchset, slot, APPOINTMENT_PROFILE, SLOT_PROFILE,
};
use gp_testkit::fixtures::{monday_morning, small_schedule};
use serde_json::json;

fn booking(ids: &SequentialIds, slot: gp_core::SlotId, patient: PatientId) -> Booking {
    Booking {
        id: BookingId::new(ids),
        slot,
        patient,
        booked_by: Actor::Patient { patient },
        channel: Channel::Online,
        booked_at: monday_morning(),
        description: Some(BookingDescription::parse("Ear ache").expect("a description")),
        comment: Some(BookingComment::parse("Since Friday").expect("a comment")),
        holding_limit_override: None,
        cancellation: None,
        amendments: 0,
        organisation_contact: None,
        joined_to: None,
    }
}

#[test]
fn slots_schedules_and_appointments_have_the_gp_connect_shape() {
    let ids = SequentialIds::new(1);
    let (_, sched) = small_schedule(&ids, monday_morning(), 2);
    let s = &sched.slots[0];
    let free = slot(s, false);
    assert_eq!(free["resourceType"], "Slot");
    assert_eq!(free["meta"]["profile"][0], SLOT_PROFILE);
    assert_eq!(free["status"], "free");
    assert_eq!(slot(s, true)["status"], "busy");
    assert_eq!(
        free["schedule"]["reference"],
        format!("Schedule/{}", s.session)
    );
    // UK local time with its offset, as GP Connect requires: BST in June,
    // +00:00 in winter.
    assert_eq!(free["start"], "2026-06-02T07:00:00+01:00");
    assert_eq!(free["end"], "2026-06-02T07:10:00+01:00");
    let mut winter = s.clone();
    winter.period = gp_booking::Period::new(
        "2026-12-01T09:00:00Z".parse().unwrap(),
        "2026-12-01T09:10:00Z".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(slot(&winter, false)["start"], "2026-12-01T09:00:00+00:00");
    assert_eq!(free["extension"][0]["valueCode"], "In-person");
    let sch = schedule(&sched.sessions[0]);
    assert_eq!(
        sch["actor"][0]["reference"],
        format!("Practitioner/{}", s.clinician)
    );

    let patient = PatientId::new(&ids);
    let mut b = booking(&ids, s.id, patient);
    let a = appointment(&b, s, 3);
    assert_eq!(a["meta"]["profile"][0], APPOINTMENT_PROFILE);
    assert_eq!(a["meta"]["versionId"], "3");
    assert_eq!(a["status"], "booked");
    assert_eq!(a["slot"][0]["reference"], format!("Slot/{}", s.id));
    assert_eq!(
        a["participant"][0]["actor"]["reference"],
        format!("Patient/{patient}")
    );
    assert_eq!(
        (a["description"].as_str(), a["comment"].as_str()),
        (Some("Ear ache"), Some("Since Friday"))
    );
    b.cancellation = Some(Cancellation {
        by: Actor::Patient { patient },
        channel: Channel::Online,
        at: monday_morning() + Duration::hours(1),
        reason: CancellationReason::parse("Better now").expect("a reason"),
    });
    let cancelled = appointment(&b, s, 4);
    assert_eq!(cancelled["status"], "cancelled");
    let extension = |a: &serde_json::Value, url: &str| {
        a["extension"]
            .as_array()
            .and_then(|x| x.iter().find(|e| e["url"] == url).cloned())
            .unwrap_or_default()
    };
    assert_eq!(
        extension(&cancelled, gp_fhir::appointments::CANCELLATION_REASON)["valueString"],
        "Better now"
    );
    assert_eq!(
        extension(&a, gp_fhir::appointments::DELIVERY_CHANNEL)["valueCode"],
        "In-person"
    );
    assert!(
        a.get("contained").is_none(),
        "a patient's booking names no organisation"
    );
    // An organisation's booking names it, as GP Connect's booking organisation.
    let mut by_111 = booking(&ids, s.id, patient);
    by_111.booked_by = Actor::Organisation {
        ods: gp_core::OdsCode::parse("X09").expect("a code"),
        kind: gp_core::OrganisationType::URGENT_CARE,
        requester: None,
    };
    by_111.organisation_contact = Some(gp_booking::OrganisationContact {
        name: gp_booking::OrganisationName::parse("NHS 111").expect("a name"),
        telephone: None,
    });
    let org = appointment(&by_111, s, 1);
    assert_eq!(
        extension(&org, gp_fhir::appointments::BOOKING_ORGANISATION)["valueReference"]["reference"],
        "#1"
    );
    assert_eq!(org["contained"][0]["identifier"][0]["value"], "X09");
    assert_eq!(org["contained"][0]["name"], "NHS 111");
    assert_eq!(
        org["contained"][0]["type"][0]["coding"][0]["code"],
        "urgent-care"
    );
    // And what we write, a consumer can send back.
    let back = read_appointment(org.to_string().as_bytes()).expect("read back");
    assert_eq!(
        back.booking_organisation.map(|o| o.ods.as_str().to_owned()),
        Some("X09".to_owned())
    );

    let bundle = searchset(vec![free]);
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["entry"][0]["fullUrl"], format!("Slot/{}", s.id));
}

#[test]
fn a_booking_is_read_from_an_appointment_as_gp_connect_says() {
    let ids = SequentialIds::new(2);
    let (_, sched) = small_schedule(&ids, monday_morning(), 2);
    let s = &sched.slots[0];
    let patient = PatientId::new(&ids);
    // What we write, a consumer can send back to book.
    let ours = appointment(&booking(&ids, s.id, patient), s, 1);
    let request = read_appointment(ours.to_string().as_bytes()).expect("a request");
    assert_eq!(
        (request.patient, request.slots.clone()),
        (patient, vec![s.id])
    );
    assert_eq!(
        request.description.as_ref().map(|d| d.as_str()),
        Some("Ear ache")
    );

    let base = || {
        json!({
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": format!("Slot/{}", s.id)}, {"reference": format!("Slot/{}", sched.slots[1].id)}],
            "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}],
            "description": "a".repeat(100),
            "comment": "c".repeat(500),
            "contained": [{
                "resourceType": "Organization",
                "id": "1",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y12345"}],
                "type": [{"coding": [{"system": "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1", "code": "urgent-care"}]}],
                "name": "North Ambulance Service",
                "telecom": [{"system": "phone", "value": "0300 303 5678"}]
            }],
            "extension": [{
                "url": gp_fhir::appointments::BOOKING_ORGANISATION,
                "valueReference": {"reference": "#1"}
            }],
        })
    };
    let two = read_appointment(base().to_string().as_bytes()).expect("contiguous slots");
    assert_eq!(two.slots.len(), 2);
    let org = two.booking_organisation.expect("a booking organisation");
    assert_eq!(org.ods.as_str(), "Y12345");
    assert_eq!(org.kind, Some(gp_core::OrganisationType::URGENT_CARE));
    assert_eq!(org.contact.name.as_str(), "North Ambulance Service");
    assert_eq!(
        org.contact.telephone.as_ref().map(|t| t.as_str()),
        Some("0300 303 5678")
    );
    // The booking organisation must be a contained Organization with an
    // ODS code and a name.
    for (change, why) in [
        (
            json!({"valueReference": {"reference": "#2"}}),
            "no contained Organization #2",
        ),
        (
            json!({"valueReference": {"identifier": {"value": "Y12345"}}}),
            "contained Organization (#id)",
        ),
    ] {
        let mut a = base();
        a["extension"][0]["valueReference"] = change["valueReference"].clone();
        let e = read_appointment(a.to_string().as_bytes()).expect_err("refused");
        assert!(e.why.contains(why), "{}", e.why);
    }
    for (field, value, why) in [
        ("identifier", json!([]), "ODS code"),
        (
            "identifier",
            json!([{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "NOT AN ODS"}]),
            "ODS code is",
        ),
        ("name", json!(null), "name"),
        ("name", json!("n".repeat(201)), "at most 200"),
        (
            "type",
            json!([{"coding": [{"system": "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1", "code": "Urgent Care"}]}]),
            "type",
        ),
    ] {
        let mut a = base();
        a["contained"][0][field] = value;
        let e = read_appointment(a.to_string().as_bytes()).expect_err("refused");
        assert_eq!(e.error.http, 422);
        assert!(e.why.contains(why), "{field}: {}", e.why);
    }

    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "not JSON"),
        (b"[1, 2]".to_vec(), 422, "not a resource"),
        (
            json!({"resourceType": "Patient"}).to_string().into_bytes(),
            422,
            "not an Appointment",
        ),
        (
            {
                let mut a = base();
                a["colour"] = json!("blue");
                a.to_string().into_bytes()
            },
            422,
            "colour",
        ),
        (
            {
                let mut a = base();
                a["reason"] = json!([{"text": "pain"}]);
                a.to_string().into_bytes()
            },
            422,
            "reason must not be sent",
        ),
        (
            {
                let mut a = base();
                a["status"] = json!("cancelled");
                a.to_string().into_bytes()
            },
            422,
            "booked",
        ),
        (
            {
                let mut a = base();
                a["slot"] = json!([]);
                a.to_string().into_bytes()
            },
            422,
            "at least one slot",
        ),
        (
            {
                let mut a = base();
                a["slot"] = json!([{"reference": "Location/1"}]);
                a.to_string().into_bytes()
            },
            422,
            "Slot/",
        ),
        (
            {
                let mut a = base();
                a["participant"] = json!([]);
                a.to_string().into_bytes()
            },
            422,
            "exactly one patient",
        ),
        (
            {
                let mut a = base();
                a["description"] = json!("a".repeat(101));
                a.to_string().into_bytes()
            },
            422,
            "not truncated",
        ),
        (
            {
                let mut a = base();
                a["comment"] = json!("c".repeat(501));
                a.to_string().into_bytes()
            },
            422,
            "not truncated",
        ),
        (
            {
                let mut a = base();
                a["description"] = json!(7);
                a.to_string().into_bytes()
            },
            422,
            "a string",
        ),
    ];
    for (body, http, says) in cases {
        let r = read_appointment(&body).expect_err(says);
        assert_eq!(r.error.http, http, "{says}: {r:?}");
        assert!(r.why.contains(says), "{says}: {}", r.why);
    }
}
