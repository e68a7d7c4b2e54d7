//! GP Connect over real HTTP on loopback: search, book, read, retrieve and
//! cancel appointments, read repeat medicines and ask for a renewal, as a
//! patient's app would; every refusal and error an `OperationOutcome`.

use std::sync::Arc;

use gp_access::{By, Service, VerificationMethod};
use gp_booking::BookingStore;
use gp_core::{Actor, Channel, PatientId};
use gp_http::{router, DevelopmentTokens};
use gp_testkit::fixtures::{monday_morning, repeat_item};
use serde_json::{json, Value};

mod common;
use common::{call, spine_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patients_app_books_reads_and_cancels_over_http() {
    let common::Registered {
        ids,
        store,
        practice,
        manager,
        desk,
        patients: [alice, bob],
    } = common::registered(false).await;
    let today = monday_morning().date_naive();
    let item = repeat_item(
        &ids,
        alice,
        1,
        Some(today - chrono::Duration::days(25)),
        today,
    );
    practice
        .put_item(
            &By {
                actor: Actor::System,
                channel: Channel::Internal,
            },
            &item,
        )
        .await
        .expect("item");
    let carer = gp_core::ProxyId::new(&ids);
    let grant = practice
        .proxy_application(
            &desk,
            alice,
            &gp_access::ProxyApplicationInput {
                applicant: carer,
                applicant_name: "Carer".into(),
                applicant_identity: Some(gp_access::IdentityVerification {
                    method: VerificationMethod::DocumentsSeen,
                    verified_by: Some(manager.staff),
                    at: monday_morning(),
                }),
                patient_identity_checked: true,
                basis: gp_access::LegalBasis::Consent {
                    seen_alone: gp_access::SeenAlone::Yes,
                },
                scopes: Service::ALL.into_iter().collect(),
                care_home: None,
            },
            &gp_access::ApplicationVerdict::Grant {
                start: today,
                end: None,
                review: None,
            },
        )
        .await
        .expect("a proxy");
    assert!(grant.refusal().is_none(), "{:?}", grant.refusal());
    let tokens = DevelopmentTokens::new()
        .with("alice", By::patient_online(alice))
        .with("bob", By::patient_online(bob))
        .with("carer", By::proxy_online(carer, alice));
    let app = router(practice.clone(), Arc::new(tokens));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // Search for free slots, with their schedules.
    let r = call(
        addr,
        "GET",
        "/Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule",
        Some("alice"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.contains("content-type: application/fhir+json"));
    let entries = r.body["entry"].as_array().cloned().unwrap_or_default();
    let slots: Vec<&Value> = entries
        .iter()
        .map(|e| &e["resource"])
        .filter(|x| x["resourceType"] == "Slot")
        .collect();
    assert!(!slots.is_empty());
    assert!(entries
        .iter()
        .any(|e| e["resource"]["resourceType"] == "Schedule"));
    let slot_id = slots[0]["id"].as_str().expect("an id").to_owned();
    // Refused searches.
    let wide = call(
        addr,
        "GET",
        "/Slot?start=ge2026-06-02&end=le2026-06-16&status=free&_include=Slot:schedule",
        Some("alice"),
        &[],
        b"",
    )
    .await;
    assert_eq!((wide.status, spine_code(&wide)), (422, "INVALID_PARAMETER"));
    let bare = call(
        addr,
        "GET",
        "/Slot?end=le2026-06-05&status=free&_include=Slot:schedule",
        Some("alice"),
        &[],
        b"",
    )
    .await;
    // A required parameter missing is 400 BAD_REQUEST (GP Connect's
    // provider tests, "should fail due to missing parameters").
    assert_eq!((bare.status, spine_code(&bare)), (400, "BAD_REQUEST"));
    // GP Connect's other search rules: 14 days is the widest allowed;
    // status=free and _include=Slot:schedule are required; start and end
    // come once each; a dateTime with its offset returns only slots wholly
    // inside the range.
    let fortnight = call(
        addr,
        "GET",
        "/Slot?start=ge2026-06-02&end=le2026-06-15&status=free&_include=Slot:schedule",
        Some("alice"),
        &[],
        b"",
    )
    .await;
    assert_eq!(fortnight.status, 200, "{}", fortnight.body);
    for missing in [
        "/Slot?start=ge2026-06-02&end=le2026-06-05&_include=Slot:schedule",
        "/Slot?start=ge2026-06-02&end=le2026-06-05&status=free",
        "/Slot?status=free&_include=Slot:schedule",
    ] {
        let r = call(addr, "GET", missing, Some("alice"), &[], b"").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (400, "BAD_REQUEST"),
            "{missing}"
        );
    }
    for bad in [
        "/Slot?start=ge2026-06-02&end=le2026-06-05&status=busy&_include=Slot:schedule",
        "/Slot?start=ge2026-06-02&start=ge2026-06-03&end=le2026-06-05&status=free&_include=Slot:schedule",
        "/Slot?start=ge2026-06-02T08:00&end=le2026-06-05&status=free&_include=Slot:schedule",
        "/Slot?start=ge1800-06-02&end=le2026-06-05&status=free&_include=Slot:schedule",
    ] {
        let r = call(addr, "GET", bad, Some("alice"), &[], b"").await;
        assert_eq!((r.status, spine_code(&r)), (422, "INVALID_PARAMETER"), "{bad}");
    }
    let first_start = slots[0]["start"].as_str().expect("a start").to_owned();
    let first_end = slots[0]["end"].as_str().expect("an end").to_owned();
    let exact = call(
        addr,
        "GET",
        &format!(
            "/Slot?start=ge{}&end=le{}&status=free&_include=Slot:schedule",
            first_start.replace('+', "%2B"),
            first_end.replace('+', "%2B"),
        ),
        Some("alice"),
        &[],
        b"",
    )
    .await;
    assert_eq!(exact.status, 200, "{}", exact.body);
    let exact_slots: Vec<&Value> = exact.body["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| &e["resource"]).collect())
        .unwrap_or_default();
    assert!(exact_slots
        .iter()
        .filter(|r| r["resourceType"] == "Slot")
        .all(|r| r["start"].as_str() >= Some(first_start.as_str())
            && r["end"].as_str() <= Some(first_end.as_str())));
    assert!(exact_slots.iter().any(|r| r["id"] == slots[0]["id"]));
    let anonymous = call(
        addr,
        "GET",
        "/Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule",
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(
        (anonymous.status, spine_code(&anonymous)),
        (403, "ACCESS_DENIED")
    );

    // Book.
    let appointment = |patient: PatientId, description: &str| {
        json!({
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": format!("Slot/{slot_id}")}],
            "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}],
            "description": description,
        })
        .to_string()
    };
    let booked = call(
        addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[],
        appointment(alice, "Ear ache").as_bytes(),
    )
    .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    assert!(booked.headers.contains("location: appointment/"));
    assert!(booked.headers.contains("etag: w/\"1\""));
    assert_eq!(booked.body["status"], "booked");
    let id = booked.body["id"].as_str().expect("an id").to_owned();
    let taken = call(
        addr,
        "POST",
        "/Appointment",
        Some("bob"),
        &[],
        appointment(bob, "Me too").as_bytes(),
    )
    .await;
    assert_eq!(
        (taken.status, spine_code(&taken)),
        (409, "DUPLICATE_REJECTED")
    );
    let for_other = call(
        addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[],
        appointment(bob, "For Bob").as_bytes(),
    )
    .await;
    assert_eq!(
        (for_other.status, spine_code(&for_other)),
        (403, "ACCESS_DENIED")
    );
    let long = call(
        addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[],
        appointment(alice, &"a".repeat(101)).as_bytes(),
    )
    .await;
    assert_eq!((long.status, spine_code(&long)), (422, "INVALID_RESOURCE"));
    let garbage = call(
        addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[],
        b"{not json",
    )
    .await;
    assert_eq!((garbage.status, spine_code(&garbage)), (400, "BAD_REQUEST"));
    let huge = call(
        addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[],
        &vec![b' '; 70 * 1024],
    )
    .await;
    assert_eq!(huge.status, 413);
    assert_eq!(spine_code(&huge), "BAD_REQUEST");

    // Read and retrieve; another patient cannot.
    let path = format!("/Appointment/{id}");
    let read = call(addr, "GET", &path, Some("alice"), &[], b"").await;
    assert_eq!(read.status, 200);
    assert!(read.headers.contains("etag: w/\"1\""));
    let not_theirs = call(addr, "GET", &path, Some("bob"), &[], b"").await;
    assert_eq!(
        (not_theirs.status, spine_code(&not_theirs)),
        (404, "NO_RECORD_FOUND")
    );
    let list = call(
        addr,
        "GET",
        &format!("/Patient/{alice}/Appointment"),
        Some("alice"),
        &[],
        b"",
    )
    .await;
    assert_eq!(list.body["entry"].as_array().map(Vec::len), Some(1));
    let snooping = call(
        addr,
        "GET",
        &format!("/Patient/{alice}/Appointment"),
        Some("bob"),
        &[],
        b"",
    )
    .await;
    assert_eq!(
        (snooping.status, spine_code(&snooping)),
        (403, "ACCESS_DENIED")
    );

    let odd = call(addr, "GET", "/Appointment/%FF", Some("alice"), &[], b"").await;
    assert_eq!((odd.status, spine_code(&odd)), (404, "NO_RECORD_FOUND"));

    // Cancel, with If-Match; nothing else may change with it.
    let mut sly = read.body.clone();
    sly["status"] = json!("cancelled");
    sly["description"] = json!("Changed on the way");
    sly["extension"] = json!([{"url": gp_fhir::appointments::CANCELLATION_REASON, "valueString": "Feeling better"}]);
    let sly = call(
        addr,
        "PUT",
        &path,
        Some("alice"),
        &[("If-Match", "W/\"1\"")],
        sly.to_string().as_bytes(),
    )
    .await;
    assert_eq!((sly.status, spine_code(&sly)), (422, "INVALID_RESOURCE"));
    let mut cancelled = read.body.clone();
    cancelled["status"] = json!("cancelled");
    cancelled["extension"] = json!([{"url": gp_fhir::appointments::CANCELLATION_REASON, "valueString": "Feeling better"}]);
    let body = cancelled.to_string();
    let stale = call(
        addr,
        "PUT",
        &path,
        Some("alice"),
        &[("If-Match", "W/\"7\"")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(stale.status, 409);
    let done = call(
        addr,
        "PUT",
        &path,
        Some("alice"),
        &[("If-Match", "W/\"1\"")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "cancelled");
    let again = call(
        addr,
        "PUT",
        &path,
        Some("alice"),
        &[("If-Match", "W/\"2\"")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (again.status, spine_code(&again)),
        (422, "INVALID_RESOURCE")
    );
    assert!(store
        .bookings_for_patient(alice)
        .await
        .expect("bookings")
        .iter()
        .all(|b| !b.is_live()));

    // Repeats: read the list, ask for a renewal once, whatever the retries.
    let meds = call(
        addr,
        "GET",
        &format!("/Patient/{alice}/MedicationRequest"),
        Some("alice"),
        &[],
        b"",
    )
    .await;
    assert_eq!(meds.status, 200);
    assert_eq!(meds.body["entry"][0]["resource"]["id"], item.id.to_string());
    let task = json!({
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": gp_fhir::prescriptions::SNOMED, "code": gp_fhir::prescriptions::RENEWAL}]},
        "focus": {"reference": format!("MedicationRequest/{}", item.id)},
        "for": {"reference": format!("Patient/{alice}")},
    })
    .to_string();
    let first = call(
        addr,
        "POST",
        "/Task",
        Some("alice"),
        &[("X-Request-ID", "req-1")],
        task.as_bytes(),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["status"], "requested");
    let retried = call(
        addr,
        "POST",
        "/Task",
        Some("alice"),
        &[("X-Request-ID", "req-1")],
        task.as_bytes(),
    )
    .await;
    assert_eq!(
        (retried.status, &retried.body),
        (201, &first.body),
        "the first answer, again"
    );
    let duplicate = call(
        addr,
        "POST",
        "/Task",
        Some("alice"),
        &[("X-Request-ID", "req-2")],
        task.as_bytes(),
    )
    .await;
    assert_eq!(
        (duplicate.status, spine_code(&duplicate)),
        (409, "DUPLICATE_REJECTED")
    );
    let tasks = call(addr, "GET", "/Task", Some("alice"), &[], b"").await;
    assert_eq!(tasks.body["entry"].as_array().map(Vec::len), Some(1));
    // The same key with another request is refused, not answered from before.
    let other = task.replace("requested", "requested ");
    let reused = call(
        addr,
        "POST",
        "/Task",
        Some("alice"),
        &[("X-Request-ID", "req-1")],
        other.as_bytes(),
    )
    .await;
    assert_eq!(
        (reused.status, spine_code(&reused)),
        (422, "INVALID_RESOURCE")
    );
    // A proxy's remembered renewal is not given back once their access ends.
    let other_item = repeat_item(
        &ids,
        alice,
        2,
        Some(today - chrono::Duration::days(25)),
        today,
    );
    practice
        .put_item(
            &By {
                actor: Actor::System,
                channel: Channel::Internal,
            },
            &other_item,
        )
        .await
        .expect("item");
    let by_carer = task.replace(&item.id.to_string(), &other_item.id.to_string());
    let made = call(
        addr,
        "POST",
        "/Task",
        Some("carer"),
        &[("X-Request-ID", "c-1")],
        by_carer.as_bytes(),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    practice
        .revoke_proxy(&By::patient_online(alice), alice, carer, "Not needed now")
        .await
        .expect("revoked");
    let replay = call(
        addr,
        "POST",
        "/Task",
        Some("carer"),
        &[("X-Request-ID", "c-1")],
        by_carer.as_bytes(),
    )
    .await;
    assert_eq!((replay.status, spine_code(&replay)), (403, "ACCESS_DENIED"));

    // What is not there, or not allowed.
    let nowhere = call(addr, "GET", "/Practitioner/1", Some("alice"), &[], b"").await;
    assert_eq!(
        (nowhere.status, spine_code(&nowhere)),
        (404, "NO_RECORD_FOUND")
    );
    let patch = call(addr, "PATCH", &path, Some("alice"), &[], b"{}").await;
    assert_eq!(patch.status, 405);
    assert_eq!(patch.body["resourceType"], "OperationOutcome");
}
