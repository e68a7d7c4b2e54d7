//! Every request from someone signed in leaves one record: an allowed read
//! (when the practice records every read), a refusal `Practice` decided,
//! or a refusal the router made before asking (`request.rejected`), never
//! two for one refusal; a request whose token is refused names nobody.

use std::sync::Arc;

use gp_access::By;
use gp_booking::BookingStore;
use gp_core::{AuditEvent, PatientId};
use gp_http::{router, DevelopmentTokens};
use gp_sqlite::SqliteStore;
use serde_json::{json, Value};

mod common;
use common::{call, call_as, serve, spine_code};

struct World {
    store: Arc<SqliteStore>,
    addr: std::net::SocketAddr,
    alice: PatientId,
    bob: PatientId,
}

async fn world() -> World {
    let common::Registered {
        store,
        practice,
        patients: [alice, bob],
        ..
    } = common::registered(true).await;
    let tokens = DevelopmentTokens::new()
        .with("alice", By::patient_online(alice))
        .with("bob", By::patient_online(bob));
    let addr = serve(router(practice, Arc::new(tokens))).await;
    World {
        store,
        addr,
        alice,
        bob,
    }
}

impl World {
    async fn events(&self) -> Vec<AuditEvent> {
        BookingStore::audit_events(self.store.as_ref())
            .await
            .expect("events")
    }

    /// The events `request` adds, with its reply.
    async fn adds(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> (common::Reply, Vec<AuditEvent>) {
        let before = self.events().await.len();
        let reply = call(self.addr, method, path, token, extra, body).await;
        let after = self.events().await;
        (reply, after[before..].to_vec())
    }
}

const SEARCH: &str = "/Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule";

fn rejected(e: &AuditEvent, code: &str, action: &str) {
    assert_eq!(e.action.as_str(), "request.rejected", "{e:?}");
    assert_eq!(
        e.outcome,
        gp_core::Outcome::Refused(gp_core::ReasonCode::parse(code).expect("a code")),
        "{e:?}"
    );
    assert_eq!(
        e.details.get("action").map(String::as_str),
        Some(action),
        "{e:?}"
    );
}

fn read_by(e: &AuditEvent, patient: PatientId, action: &str) {
    assert_eq!(e.action.as_str(), "access.authorize", "{e:?}");
    assert!(e.outcome.is_allowed(), "{e:?}");
    assert_eq!(e.actor, gp_core::Actor::Patient { patient }, "{e:?}");
    assert_eq!(
        e.details.get("action").map(String::as_str),
        Some(action),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_from_someone_signed_in_leaves_exactly_one_record() {
    let w = world().await;
    let (alice, bob) = (w.alice, w.bob);

    // Allowed reads: a search, one each.
    let (r, new) = w.adds("GET", SEARCH, Some("alice"), &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(new.len(), 1, "{new:?}");
    read_by(&new[0], alice, "book_appointment");
    let slot_id = r.body["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|x| x["resourceType"] == "Slot")
        .and_then(|x| x["id"].as_str())
        .expect("a slot")
        .to_owned();

    // Refusals the router makes before asking: one `request.rejected` each.
    let (r, new) = w
        .adds(
            "GET",
            "/Slot?end=le2026-06-05&status=free&_include=Slot:schedule",
            Some("alice"),
            &[],
            b"",
        )
        .await;
    assert_eq!((r.status, spine_code(&r)), (400, "BAD_REQUEST"));
    assert_eq!(new.len(), 1, "{new:?}");
    rejected(&new[0], "MalformedRequest", "book_appointment");
    assert_eq!(new[0].patient, Some(alice));
    let (r, new) = w
        .adds("POST", "/Appointment", Some("alice"), &[], b"{not json")
        .await;
    assert_eq!((r.status, spine_code(&r)), (400, "BAD_REQUEST"));
    assert_eq!(new.len(), 1, "{new:?}");
    rejected(&new[0], "MalformedRequest", "book_appointment");
    let (r, new) = w
        .adds(
            "GET",
            "/Slot?start=ge2026-06-02&end=le2026-06-05&status=busy&_include=Slot:schedule",
            Some("alice"),
            &[],
            b"",
        )
        .await;
    assert_eq!((r.status, spine_code(&r)), (422, "INVALID_PARAMETER"));
    assert_eq!(new.len(), 1, "{new:?}");
    rejected(&new[0], "InvalidRequest", "book_appointment");

    // A booking: the practice's own record of it, no more.
    let appointment = json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{slot_id}")}],
        "participant": [{"actor": {"reference": format!("Patient/{alice}")}, "status": "accepted"}],
        "description": "Ear ache",
    })
    .to_string();
    let (r, new) = w
        .adds(
            "POST",
            "/Appointment",
            Some("alice"),
            &[],
            appointment.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(new.iter().all(|e| e.outcome.is_allowed()), "{new:?}");
    assert!(new.iter().any(|e| e.action.as_str() == "appointment.book"));
    assert!(new.iter().all(|e| e.action.as_str() != "request.rejected"));
    let id = r.body["id"].as_str().expect("an id").to_owned();
    let path = format!("/Appointment/{id}");

    // A refusal the practice decided is recorded there once, not again here.
    let theirs = json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{slot_id}")}],
        "participant": [{"actor": {"reference": format!("Patient/{bob}")}, "status": "accepted"}],
    })
    .to_string();
    let (r, new) = w
        .adds("POST", "/Appointment", Some("bob"), &[], theirs.as_bytes())
        .await;
    assert_eq!((r.status, spine_code(&r)), (409, "DUPLICATE_REJECTED"));
    assert!(new.iter().any(|e| !e.outcome.is_allowed()), "{new:?}");
    assert!(
        new.iter().all(|e| e.action.as_str() != "request.rejected"),
        "{new:?}"
    );

    // Reading it: her look is recorded; Bob's look at it finds nothing of
    // his, and both his look at his own and the refusal are recorded.
    let (r, new) = w.adds("GET", &path, Some("alice"), &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(new.len(), 1, "{new:?}");
    read_by(&new[0], alice, "view_appointments");
    let (r, new) = w.adds("GET", &path, Some("bob"), &[], b"").await;
    assert_eq!((r.status, spine_code(&r)), (404, "NO_RECORD_FOUND"));
    assert_eq!(new.len(), 2, "{new:?}");
    read_by(&new[0], bob, "view_appointments");
    rejected(&new[1], "RecordNotFound", "view_appointments");
    assert_eq!(new[1].actor, gp_core::Actor::Patient { patient: bob });

    // Cancelling against a stale version: 409, recorded as a cancellation
    // refused for its version; one naming no version, the same.
    let mut cancel: Value = w.adds("GET", &path, Some("alice"), &[], b"").await.0.body;
    cancel["status"] = json!("cancelled");
    cancel["extension"] =
        json!([{"url": gp_fhir::appointments::CANCELLATION_REASON, "valueString": "Better"}]);
    let cancel = cancel.to_string();
    let (r, new) = w
        .adds(
            "PUT",
            &path,
            Some("alice"),
            &[("If-Match", "W/\"7\"")],
            cancel.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(new.len(), 2, "{new:?}");
    rejected(&new[1], "VersionMismatch", "cancel_appointment");
    let (r, new) = w
        .adds(
            "PUT",
            &path,
            Some("alice"),
            &[("If-Match", "invalidEtag")],
            cancel.as_bytes(),
        )
        .await;
    assert_eq!(
        (r.status, spine_code(&r)),
        (409, "FHIR_CONSTRAINT_VIOLATION")
    );
    rejected(
        new.last().expect("an event"),
        "VersionMismatch",
        "cancel_appointment",
    );

    // Renewals are the patient's own: nobody else's request for them.
    let (r, new) = w.adds("GET", "/Task", Some("alice"), &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(new.len(), 1, "{new:?}");
    read_by(&new[0], alice, "view_repeats");

    // What the router does not offer, asked by someone signed in: one
    // record each (404, 405, 406, 415); by nobody, none.
    for (method, path, extra, content_type, status, code) in [
        (
            "GET",
            "/Encounter",
            None,
            "application/fhir+json",
            404,
            "RecordNotFound",
        ),
        (
            "DELETE",
            path.as_str(),
            None,
            "application/fhir+json",
            405,
            "UnsupportedRequest",
        ),
        (
            "GET",
            SEARCH,
            Some(("Accept", "application/fhir+xml")),
            "application/fhir+json",
            406,
            "UnsupportedRequest",
        ),
        (
            "POST",
            "/Appointment",
            None,
            "application/fhir+xml",
            415,
            "UnsupportedRequest",
        ),
    ] {
        let extra: Vec<(&str, &str)> = extra.into_iter().collect();
        let before = w.events().await.len();
        let r = call_as(
            w.addr,
            method,
            path,
            Some("alice"),
            content_type,
            &extra,
            b"",
        )
        .await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(r.body["resourceType"], "OperationOutcome");
        let new = w.events().await[before..].to_vec();
        assert_eq!(new.len(), 1, "{method} {path}: {new:?}");
        assert_eq!(new[0].action.as_str(), "request.rejected");
        assert_eq!(
            new[0].outcome,
            gp_core::Outcome::Refused(gp_core::ReasonCode::parse(code).expect("a code"))
        );
        assert_eq!(new[0].patient, Some(alice));
        let before = w.events().await.len();
        let r = call_as(w.addr, method, path, None, content_type, &extra, b"").await;
        assert_eq!(r.status, status);
        assert_eq!(w.events().await.len(), before, "{method} {path} by nobody");
    }

    // Two Authorization headers: refused as malformed, nothing recorded,
    // whichever comes first.
    for pair in [
        ["Bearer alice", "Bearer bob"],
        ["Bearer mallory", "Bearer alice"],
    ] {
        let before = w.events().await.len();
        let r = call(
            w.addr,
            "GET",
            SEARCH,
            None,
            &[("Authorization", pair[0]), ("Authorization", pair[1])],
            b"",
        )
        .await;
        assert_eq!((r.status, spine_code(&r)), (400, "BAD_REQUEST"), "{pair:?}");
        assert_eq!(w.events().await.len(), before);
    }

    // A token refused, or none: nobody to record, nothing recorded.
    for token in [Some("mallory"), None] {
        let (r, new) = w.adds("GET", SEARCH, token, &[], b"").await;
        assert_eq!((r.status, spine_code(&r)), (403, "ACCESS_DENIED"));
        assert!(new.is_empty(), "{new:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_fhir_json_and_a_request_for_anything_else_is_refused_plainly() {
    let w = world().await;
    let get = |accept: Option<&'static str>, path: String| {
        let addr = w.addr;
        async move {
            let extra: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
            call(addr, "GET", &path, Some("alice"), &extra, b"").await
        }
    };
    for accept in [
        None,
        Some("application/fhir+json"),
        Some("application/json"),
        Some("*/*"),
        Some("application/fhir+xml, application/fhir+json;q=0.5"),
        Some("application/json+fhir; charset=utf-8"),
    ] {
        let r = get(accept, SEARCH.to_owned()).await;
        assert_eq!(r.status, 200, "{accept:?}: {}", r.body);
        assert!(r.headers.contains("content-type: application/fhir+json"));
    }
    for accept in [
        "application/fhir+xml",
        "application/xml",
        "text/html",
        "application/fhir+json;q=0",
    ] {
        let r = get(Some(accept), SEARCH.to_owned()).await;
        assert_eq!(r.status, 406, "{accept}: {}", r.body);
        assert_eq!(r.body["issue"][0]["code"], "not-supported");
    }
    for (format, status) in [
        ("json", 200),
        // A `+` left unencoded reads as a space; it is still JSON.
        ("application/fhir+json", 200),
        ("application/fhir%2Bjson", 200),
        ("xml", 406),
        ("application/fhir%2Bxml", 406),
        ("html", 406),
    ] {
        let r = get(None, format!("{SEARCH}&_format={format}")).await;
        assert_eq!(r.status, status, "_format={format}: {}", r.body);
    }
    // A body sent as XML (or anything but JSON) is 415, and nothing is booked.
    let before = w.events().await.len();
    for kind in ["application/fhir+xml", "text/plain", "multipart/form-data"] {
        let r = call_as(
            w.addr,
            "POST",
            "/Appointment",
            Some("alice"),
            kind,
            &[],
            b"<Appointment xmlns=\"http://hl7.org/fhir\"/>",
        )
        .await;
        assert_eq!(r.status, 415, "{kind}: {}", r.body);
        assert_eq!(r.body["resourceType"], "OperationOutcome");
    }
    assert!(w
        .events()
        .await
        .iter()
        .skip(before)
        .all(|e| e.action.as_str() != "appointment.book"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capability_statement_says_what_is_offered_and_prefer_minimal_is_honoured() {
    let w = world().await;
    // GET /metadata: an STU3 CapabilityStatement (parsed by the
    // independent model in `call`), no sign-in needed, nothing recorded.
    let before = w.events().await.len();
    let r = call(w.addr, "GET", "/metadata", None, &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["resourceType"], "CapabilityStatement");
    assert_eq!(r.body["fhirVersion"], "3.0.1");
    assert_eq!(r.body["format"], json!(["application/fhir+json"]));
    let resources = r.body["rest"][0]["resource"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let appointment = resources
        .iter()
        .find(|x| x["type"] == "Appointment")
        .expect("appointments");
    for code in ["read", "create", "update"] {
        assert!(appointment["interaction"]
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x["code"] == code)));
    }
    assert_eq!(appointment["versioning"], "versioned-update");
    // It says only what is offered: appointments are retrieved through the
    // patient compartment, not searched; the R4 prescriptions are not in
    // this STU3 statement; unknown extensions are ignored, unknown
    // elements refused.
    assert!(appointment["interaction"]
        .as_array()
        .is_some_and(|i| i.iter().all(|x| x["code"] != "search-type")));
    assert_eq!(
        r.body["rest"][0]["compartment"],
        json!(["http://hl7.org/fhir/CompartmentDefinition/patient"])
    );
    assert!(resources
        .iter()
        .all(|x| x["type"] != "MedicationRequest" && x["type"] != "Task"));
    assert_eq!(r.body["acceptUnknown"], "extensions");
    assert!(resources.iter().any(|x| x["type"] == "Slot"));
    assert_eq!(w.events().await.len(), before);
    // Several Accept headers are one list; a GET's Content-Type is not read.
    let both = call(
        w.addr,
        "GET",
        SEARCH,
        Some("alice"),
        &[
            ("Accept", "application/xml"),
            ("Accept", "application/fhir+json"),
        ],
        b"",
    )
    .await;
    assert_eq!(both.status, 200, "{}", both.body);
    let odd = call_as(w.addr, "GET", SEARCH, Some("alice"), "text/plain", &[], b"").await;
    assert_eq!(odd.status, 200, "{}", odd.body);

    // Prefer: return=minimal: the status and headers, no resource.
    let search = call(w.addr, "GET", SEARCH, Some("alice"), &[], b"").await;
    let slot_id = search.body["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|x| x["resourceType"] == "Slot")
        .and_then(|x| x["id"].as_str())
        .expect("a slot")
        .to_owned();
    let body = json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{slot_id}")}],
        "participant": [{"actor": {"reference": format!("Patient/{}", w.alice)}, "status": "accepted"}],
    })
    .to_string();
    let minimal = call(
        w.addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[("Prefer", "return=minimal")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(minimal.status, 201);
    assert!(minimal.body.is_null(), "{}", minimal.body);
    assert!(minimal.headers.contains("location: appointment/"));
    assert!(minimal.headers.contains("etag: w/\"1\""));
    // A refusal keeps its OperationOutcome whatever is preferred.
    let taken = call(
        w.addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[("Prefer", "return=minimal")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.body["resourceType"], "OperationOutcome");
    // return=representation (or nothing): the resource.
    let mine = call(
        w.addr,
        "GET",
        &format!("/Patient/{}/Appointment", w.alice),
        Some("alice"),
        &[],
        b"",
    )
    .await;
    let mut cancel = mine.body["entry"][0]["resource"].clone();
    let id = cancel["id"].as_str().expect("an id").to_owned();
    cancel["status"] = json!("cancelled");
    cancel["extension"]
        .as_array_mut()
        .expect("extensions")
        .push(json!({"url": gp_fhir::appointments::CANCELLATION_REASON, "valueString": "Better"}));
    let r = call(
        w.addr,
        "PUT",
        &format!("/Appointment/{id}"),
        Some("alice"),
        &[("Prefer", "return=representation"), ("If-Match", "W/\"1\"")],
        cancel.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
}
