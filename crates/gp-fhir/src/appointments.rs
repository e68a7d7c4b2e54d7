//! GP Connect (STU3) appointment resources: our slots, sessions and
//! bookings as `Slot`, `Schedule` and `Appointment`, and a booking request
//! read from an `Appointment` a consumer sends.

use chrono::{DateTime, SecondsFormat, Utc};
use gp_booking::{
    Booking, BookingComment, BookingDescription, CancellationReason, DeliveryMode,
    OrganisationContact, OrganisationName, OrganisationTelephone, Session, Slot,
};
use gp_core::{Actor, OdsCode, OrganisationType, PatientId, SlotId, ORGANISATION_TYPE_SYSTEM};
use serde_json::{json, Map, Value};

use crate::{invalid, read_resource, reference, Rejected};

/// `GPConnect-Slot-1`.
pub const SLOT_PROFILE: &str = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1";
/// `GPConnect-Schedule-1`.
pub const SCHEDULE_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Schedule-1";
/// `GPConnect-Appointment-1`.
pub const APPOINTMENT_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1";
/// The delivery channel extension (`DeliveryChannel-2`).
pub const DELIVERY_CHANNEL: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2";
/// The cancellation reason extension.
pub const CANCELLATION_REASON: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1";
/// The booking organisation extension.
pub const BOOKING_ORGANISATION: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1";

/// The practitioner role extension: the clinician's SDS job role.
pub const PRACTITIONER_ROLE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-PractitionerRole-1";
/// The SDS job role code system the practitioner role is coded in.
pub const SDS_JOB_ROLE_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1";
/// The SDS user id identifier system.
pub const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";

/// Adds the clinician's SDS job role to a `Schedule` or `Appointment` as
/// GP Connect's `PractitionerRole` extension, when the practice recorded
/// one (a resource that is not an object is left as it is).
pub fn with_practitioner_role(mut resource: Value, role: Option<&gp_booking::JobRole>) -> Value {
    let (Some(role), Some(object)) = (role, resource.as_object_mut()) else {
        return resource;
    };
    let extension = json!({
        "url": PRACTITIONER_ROLE,
        "valueCodeableConcept": {"coding": [{
            "system": SDS_JOB_ROLE_SYSTEM,
            "code": role.code.as_str(),
            "display": role.name.as_str(),
        }]},
    });
    match object.get_mut("extension").and_then(Value::as_array_mut) {
        Some(list) => list.push(extension),
        None => {
            object.insert("extension".into(), json!([extension]));
        }
    }
    resource
}

/// `CareConnect-GPC-Organization-1`, the booking organisation's profile.
pub const ORGANIZATION_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1";
/// The ODS code identifier system.
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// The longest description GP Connect allows, in characters.
pub const MAX_DESCRIPTION: usize = 100;
/// The longest comment GP Connect allows, in characters.
pub const MAX_COMMENT: usize = 500;

/// An instant as GP Connect wants it: UK local time with its offset
/// (`2026-06-02T08:30:00+01:00` in summer, `+00:00` in winter).
fn instant(at: DateTime<Utc>) -> String {
    gp_core::to_local(at).to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn delivery(mode: DeliveryMode) -> &'static str {
    match mode {
        DeliveryMode::InPerson => "In-person",
        DeliveryMode::Telephone => "Telephone",
        DeliveryMode::Video => "Video",
    }
}

/// A slot as `GPConnect-Slot-1`: free unless `booked`.
pub fn slot(slot: &Slot, booked: bool) -> Value {
    json!({
        "resourceType": "Slot",
        "id": slot.id.to_string(),
        "meta": {"versionId": "1", "profile": [SLOT_PROFILE]},
        "extension": [{"url": DELIVERY_CHANNEL, "valueCode": delivery(slot.delivery)}],
        "serviceType": [{"text": slot.slot_type.to_string()}],
        "schedule": {"reference": format!("Schedule/{}", slot.session)},
        "status": if booked { "busy" } else { "free" },
        "start": instant(slot.start()),
        "end": instant(slot.period.end()),
    })
}

/// A session as `GPConnect-Schedule-1`, its clinician the actor.
pub fn schedule(session: &Session) -> Value {
    json!({
        "resourceType": "Schedule",
        "id": session.id.to_string(),
        "meta": {"versionId": "1", "profile": [SCHEDULE_PROFILE]},
        "actor": [{"reference": format!("Practitioner/{}", session.clinician)}],
        "planningHorizon": {
            "start": instant(session.period.start()),
            "end": instant(session.period.end()),
        },
    })
}

/// `CareConnect-GPC-Practitioner-1`.
pub const PRACTITIONER_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Practitioner-1";
/// `CareConnect-GPC-Location-1`.
pub const LOCATION_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Location-1";

/// The practice as GP Connect names it: its ODS code and name, for the
/// `Organization` a search returns, and its surgeries, for the `Location`
/// each schedule is held at: the main surgery (the practice's own code and
/// name) and any branch surgeries (their ODS site codes and names), which
/// sessions name by `Session::site`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeSite {
    /// The practice's ODS code.
    pub ods: OdsCode,
    /// Its name (1 to 200 characters, one line).
    pub name: OrganisationName,
    /// Its branch surgeries.
    pub branches: Vec<BranchSurgery>,
}

/// A branch surgery of a practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchSurgery {
    /// Its ODS site code, as sessions held there name it (`Session::site`).
    pub site: OdsCode,
    /// Its name (1 to 200 characters, one line).
    pub name: OrganisationName,
}

/// The ODS site code identifier system.
pub const ODS_SITE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-site-code";

impl PracticeSite {
    /// The practice `ods`, called `name`, with its main surgery only.
    pub fn new(ods: OdsCode, name: OrganisationName) -> Self {
        Self {
            ods,
            name,
            branches: Vec::new(),
        }
    }

    /// The same practice with a branch surgery at `site`, called `name`.
    pub fn with_branch(mut self, site: OdsCode, name: OrganisationName) -> Self {
        self.branches.push(BranchSurgery { site, name });
        self
    }

    /// The surgery a session at `site` is held at, as its `Location` id
    /// and name: the main surgery for `None` or the practice's own code, a
    /// branch for its site code; `None` for a site the practice was not
    /// given (no `Location` is claimed for it).
    pub fn surgery(&self, site: Option<OdsCode>) -> Option<(OdsCode, &OrganisationName)> {
        match site {
            None => Some((self.ods, &self.name)),
            Some(code) if code == self.ods => Some((self.ods, &self.name)),
            Some(code) => self
                .branches
                .iter()
                .find(|b| b.site == code)
                .map(|b| (b.site, &b.name)),
        }
    }
}

/// A slot's session as `GPConnect-Schedule-1` in a search, its actors the
/// clinician and, when the practice's site is known, the surgery it is
/// held at.
pub fn schedule_of_slot(slot: &Slot, site: Option<&PracticeSite>) -> Value {
    let mut actors = vec![json!({"reference": format!("Practitioner/{}", slot.clinician)})];
    if let Some((code, _)) = site.and_then(|s| s.surgery(slot.site)) {
        actors.push(json!({"reference": format!("Location/{code}")}));
    }
    json!({
        "resourceType": "Schedule",
        "id": slot.session.to_string(),
        "meta": {"versionId": "1", "profile": [SCHEDULE_PROFILE]},
        "actor": actors,
    })
}

/// A clinician as `CareConnect-GPC-Practitioner-1` (the name patients
/// see), identified by their SDS user id and with their gender when the
/// practice recorded them.
pub fn practitioner(staff: &gp_booking::StaffMember) -> Value {
    let mut p = json!({
        "resourceType": "Practitioner",
        "id": staff.id.to_string(),
        "meta": {"versionId": "1", "profile": [PRACTITIONER_PROFILE]},
        "name": [{"use": "usual", "text": staff.name}],
    });
    if let Some(object) = p.as_object_mut() {
        if let Some(id) = &staff.sds_user_id {
            object.insert(
                "identifier".into(),
                json!([{"system": SDS_USER_ID_SYSTEM, "value": id.as_str()}]),
            );
        }
        if let Some(gender) = staff.gender {
            object.insert("gender".into(), json!(gender.code()));
        }
    }
    p
}

/// The practice as `CareConnect-GPC-Organization-1`.
pub fn organization(site: &PracticeSite) -> Value {
    json!({
        "resourceType": "Organization",
        "id": site.ods.as_str(),
        "meta": {"versionId": "1", "profile": [ORGANIZATION_PROFILE]},
        "identifier": [{"system": ODS_SYSTEM, "value": site.ods.as_str()}],
        "name": site.name.as_str(),
    })
}

/// The practice's main surgery as `CareConnect-GPC-Location-1`, managed
/// by the practice.
pub fn location(site: &PracticeSite) -> Value {
    location_at(site, None).unwrap_or(Value::Null)
}

/// The surgery a session at `at` is held at (see [`PracticeSite::surgery`])
/// as `CareConnect-GPC-Location-1`, managed by the practice (a branch
/// identified by its ODS site code); `None` for a site the practice was
/// not given.
pub fn location_at(site: &PracticeSite, at: Option<OdsCode>) -> Option<Value> {
    let (code, name) = site.surgery(at)?;
    let mut location = json!({
        "resourceType": "Location",
        "id": code.as_str(),
        "meta": {"versionId": "1", "profile": [LOCATION_PROFILE]},
        "name": name.as_str(),
        "managingOrganization": {"reference": format!("Organization/{}", site.ods)},
    });
    // A branch is identified by its ODS site code; the main surgery is
    // the practice's own (its organisation code is no site code).
    if let (true, Some(object)) = (code != site.ods, location.as_object_mut()) {
        object.insert(
            "identifier".into(),
            json!([{"system": ODS_SITE_SYSTEM, "value": code.as_str()}]),
        );
    }
    Some(location)
}

/// A booking as `GPConnect-Appointment-1`, with its slot's times;
/// `version` is its `meta.versionId` (the ETag a consumer sends back).
pub fn appointment(booking: &Booking, slot: &Slot, version: u64) -> Value {
    appointment_of_slots(booking, std::slice::from_ref(slot), version)
}

/// An appointment of one or more adjacent slots (`slots`, in order of
/// start: the booking's own, then those of the bookings joined to it) as
/// `GPConnect-Appointment-1`: from the first slot's start to the last one's
/// end, every slot referenced.
pub fn appointment_of_slots(booking: &Booking, slots: &[Slot], version: u64) -> Value {
    let Some((slot, last)) = slots.first().zip(slots.last()) else {
        return json!({"resourceType": "Appointment", "id": booking.id.to_string()});
    };
    let mut a = json!({
        "resourceType": "Appointment",
        "id": booking.id.to_string(),
        "meta": {"versionId": version.to_string(), "profile": [APPOINTMENT_PROFILE]},
        "status": if booking.is_live() { "booked" } else { "cancelled" },
        "start": instant(slot.start()),
        "end": instant(last.period.end()),
        "slot": slots.iter().map(|s| json!({"reference": format!("Slot/{}", s.id)})).collect::<Vec<_>>(),
        "created": instant(booking.booked_at),
        "participant": [
            {"actor": {"reference": format!("Patient/{}", booking.patient)}, "status": "accepted"},
            {"actor": {"reference": format!("Practitioner/{}", slot.clinician)}, "status": "accepted"},
        ],
    });
    if let Some(d) = &booking.description {
        a["description"] = Value::String(d.as_str().to_owned());
    }
    if let Some(c) = &booking.comment {
        a["comment"] = Value::String(c.as_str().to_owned());
    }
    let mut extensions =
        vec![json!({"url": DELIVERY_CHANNEL, "valueCode": delivery(slot.delivery)})];
    if let Actor::Organisation { ods, kind, .. } = booking.booked_by {
        let mut org = json!({
            "resourceType": "Organization",
            "id": "1",
            "meta": {"profile": [ORGANIZATION_PROFILE]},
            "identifier": [{"system": ODS_SYSTEM, "value": ods.as_str()}],
            "type": [{"coding": [{"system": ORGANISATION_TYPE_SYSTEM, "code": kind.as_str()}]}],
        });
        if let Some(contact) = &booking.organisation_contact {
            org["name"] = Value::String(contact.name.as_str().to_owned());
            if let Some(phone) = &contact.telephone {
                org["telecom"] = json!([{"system": "phone", "value": phone.as_str()}]);
            }
        }
        a["contained"] = json!([org]);
        extensions
            .push(json!({"url": BOOKING_ORGANISATION, "valueReference": {"reference": "#1"}}));
    }
    if let Some(cancelled) = &booking.cancellation {
        extensions
            .push(json!({"url": CANCELLATION_REASON, "valueString": cancelled.reason.as_str()}));
    }
    a["extension"] = Value::Array(extensions);
    a
}

/// The organisation booking, as a consumer's `Appointment` names it (GP
/// Connect's booking organisation: a contained `Organization` the
/// `BookingOrganisation` extension references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingOrganisation {
    /// Its ODS code.
    pub ods: OdsCode,
    /// Its type, if the resource gives one.
    pub kind: Option<OrganisationType>,
    /// Its name and telephone number.
    pub contact: OrganisationContact,
}

/// A resource's extensions with address `url`.
fn extensions<'a>(a: &'a Map<String, Value>, url: &'a str) -> impl Iterator<Item = &'a Value> {
    a.get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |x| x.get("url").and_then(Value::as_str) == Some(url))
}

/// Reads the booking organisation an `Appointment` names, if any: the
/// extension must reference a contained `Organization` with an ODS code
/// and a name (at most 200 characters; a telephone number at most 40).
fn booking_organisation(a: &Map<String, Value>) -> Result<Option<BookingOrganisation>, Rejected> {
    let refs: Vec<&Value> = extensions(a, BOOKING_ORGANISATION).collect();
    let target = match refs[..] {
        [] => return Ok(None),
        [x] => x
            .get("valueReference")
            .and_then(|r| r.get("reference"))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .ok_or_else(|| {
                invalid("the booking organisation must reference a contained Organization (#id)")
            })?,
        _ => return Err(invalid("the booking organisation is given more than once")),
    };
    let org = a
        .get("contained")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            c.get("resourceType").and_then(Value::as_str) == Some("Organization")
                && c.get("id").and_then(Value::as_str) == Some(target)
        })
        .ok_or_else(|| invalid(format!("no contained Organization #{target}")))?;
    let ods = org
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(ODS_SYSTEM))
        .and_then(|i| i.get("value").and_then(Value::as_str))
        .ok_or_else(|| invalid("the booking organisation needs its ODS code"))?;
    let ods = OdsCode::parse(ods).map_err(|e| invalid(format!("the booking organisation: {e}")))?;
    let kind = org
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("coding").and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(ORGANISATION_TYPE_SYSTEM))
        .and_then(|c| c.get("code").and_then(Value::as_str))
        .map(|c| {
            OrganisationType::parse(c)
                .map_err(|e| invalid(format!("the booking organisation's type: {e}")))
        })
        .transpose()?;
    let name = org
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the booking organisation needs its name"))?;
    let name = OrganisationName::parse(name)
        .map_err(|e| invalid(format!("the booking organisation: {e}")))?;
    let telephone = org
        .get("telecom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|t| t.get("system").and_then(Value::as_str) == Some("phone"))
        .and_then(|t| t.get("value").and_then(Value::as_str))
        .map(|t| {
            OrganisationTelephone::parse(t)
                .map_err(|e| invalid(format!("the booking organisation: {e}")))
        })
        .transpose()?;
    Ok(Some(BookingOrganisation {
        ods,
        kind,
        contact: OrganisationContact { name, telephone },
    }))
}

/// A booking request read from an `Appointment` a consumer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRequest {
    /// The patient (the `Patient/` participant).
    pub patient: PatientId,
    /// The slots, one or more contiguous (`Slot/` references).
    pub slots: Vec<SlotId>,
    /// The description (at most 100 characters).
    pub description: Option<BookingDescription>,
    /// The comment (at most 500 characters).
    pub comment: Option<BookingComment>,
    /// The booking organisation, if the extension names one.
    pub booking_organisation: Option<BookingOrganisation>,
    /// The start the consumer shows, if sent (it must be the first slot's).
    pub start: Option<DateTime<Utc>>,
    /// The end the consumer shows, if sent (it must be the last slot's).
    pub end: Option<DateTime<Utc>>,
}

/// The fields an `Appointment` a consumer books with may hold.
const KNOWN: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "identifier",
    "language",
    "text",
    "contained",
    "extension",
    "status",
    "start",
    "end",
    "slot",
    "created",
    "description",
    "comment",
    "participant",
    "reason",
];

/// An `Appointment`'s description (at most 100 characters) and comment (at
/// most 500), refused when longer, never truncated.
fn texts(
    a: &Map<String, Value>,
) -> Result<(Option<BookingDescription>, Option<BookingComment>), Rejected> {
    let text = |field: &str, max: usize| -> Result<Option<String>, Rejected> {
        match a.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() > max => Err(invalid(format!(
                "Appointment.{field} is {} characters; at most {max} (it is not truncated)",
                s.chars().count()
            ))),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("Appointment.{field} must be a string"))),
        }
    };
    let description = text("description", MAX_DESCRIPTION)?
        .map(|d| BookingDescription::parse(&d))
        .transpose()
        .map_err(|e| invalid(format!("Appointment.description: {e}")))?;
    let comment = text("comment", MAX_COMMENT)?
        .map(|c| BookingComment::parse(&c))
        .transpose()
        .map_err(|e| invalid(format!("Appointment.comment: {e}")))?;
    Ok((description, comment))
}

/// Reads a booking request from the JSON body of a `POST /Appointment`,
/// with GP Connect's rules: an `Appointment`, status `booked`, at least
/// one `Slot/` reference, a `Patient/` participant; a description of at
/// most 100 and a comment of at most 500 characters, refused (never
/// truncated) when longer; `reason` must not be sent; fields GP Connect
/// does not define are refused. A body that is not JSON is `BAD_REQUEST`;
/// anything else wrong is `INVALID_RESOURCE`.
pub fn read_appointment(body: &[u8]) -> Result<AppointmentRequest, Rejected> {
    let a = read_resource(body, "Appointment", KNOWN)?;
    if a.contains_key("reason") {
        return Err(invalid("Appointment.reason must not be sent"));
    }
    if a.get("status").and_then(Value::as_str) != Some("booked") {
        return Err(invalid("Appointment.status must be booked"));
    }
    let slots: Vec<SlotId> = a
        .get("slot")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .map(|r| {
                    reference(Some(r), "Slot")
                        .and_then(|id| id.parse().ok())
                        .ok_or_else(|| invalid("Appointment.slot must reference Slot/<id>"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    if slots.is_empty() {
        return Err(invalid("Appointment.slot must name at least one slot"));
    }
    let participants = a.get("participant").and_then(Value::as_array);
    let patients: Vec<PatientId> = participants
        .into_iter()
        .flatten()
        .filter_map(|p| reference(p.get("actor"), "Patient"))
        .map(|id| {
            id.parse()
                .map_err(|_| invalid("a Patient/<id> participant is not an id"))
        })
        .collect::<Result<_, _>>()?;
    let [patient] = patients[..] else {
        return Err(invalid(
            "Appointment.participant must name exactly one patient",
        ));
    };
    let (description, comment) = texts(&a)?;
    let booking_organisation = booking_organisation(&a)?;
    let instant_of = |field: &str| -> Result<Option<DateTime<Utc>>, Rejected> {
        match a.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(t)) => DateTime::parse_from_rfc3339(t)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| {
                    invalid(format!(
                        "Appointment.{field} is not an instant with its offset"
                    ))
                }),
            Some(_) => Err(invalid(format!("Appointment.{field} must be a string"))),
        }
    };
    let (start, end) = (instant_of("start")?, instant_of("end")?);
    Ok(AppointmentRequest {
        start,
        end,
        patient,
        slots,
        description,
        comment,
        booking_organisation,
    })
}

/// What a consumer's `PUT /Appointment/{id}` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentChange {
    /// Cancel it, for this reason (status `cancelled`).
    Cancel {
        /// The reason (the `AppointmentCancellationReason` extension).
        reason: CancellationReason,
    },
    /// Amend its description and comment (status `booked`; GP Connect's
    /// amend). An absent field is cleared.
    Amend {
        /// The new description.
        description: Option<BookingDescription>,
        /// The new comment.
        comment: Option<BookingComment>,
    },
}

/// Reads a `PUT /Appointment/{id}` body against the appointment as it is
/// (`current`, as [`appointment`] writes it): the same `id`; status
/// `cancelled` with a cancellation reason (1 to 250 characters), or status
/// `booked` with a new description (at most 100) and comment (at most 500),
/// refused when longer, never truncated. Nothing else may differ from
/// `current` (`meta` aside; extensions may be left out but not changed or
/// added, but for a cancellation's reason; a booking organisation sent must
/// be the appointment's); a booked one may not carry a cancellation reason. Not JSON is `BAD_REQUEST`; anything
/// else wrong `INVALID_RESOURCE`.
pub fn read_change(body: &[u8], id: &str, current: &Value) -> Result<AppointmentChange, Rejected> {
    let sent = read_resource(body, "Appointment", KNOWN)?;
    if sent.get("id").and_then(Value::as_str) != Some(id) {
        return Err(invalid("Appointment.id must be the id in the path"));
    }
    let status = sent.get("status").and_then(Value::as_str);
    let may_change: &[&str] = match status {
        Some("cancelled") => &["status", "extension", "meta", "contained"],
        Some("booked") => &["description", "comment", "extension", "meta", "contained"],
        _ => {
            return Err(invalid(
                "Appointment.status must be cancelled (to cancel) or booked (to amend)",
            ))
        }
    };
    if let Some((k, _)) = sent
        .iter()
        .find(|(k, v)| !may_change.contains(&k.as_str()) && current.get(k.as_str()) != Some(*v))
    {
        return Err(invalid(format!(
            "Appointment.{k} differs from the appointment; only its description and comment are amended, and a cancellation changes only its status and adds a reason"
        )));
    }
    // The extensions stay as they are (the booking organisation, the
    // delivery channel), but for a cancellation's reason.
    let others = |v: Option<&Value>| -> Vec<String> {
        let mut out: Vec<String> = v
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|x| x.get("url").and_then(Value::as_str) != Some(CANCELLATION_REASON))
            .map(Value::to_string)
            .collect();
        out.sort();
        out
    };
    let kept = others(current.get("extension"));
    if others(sent.get("extension"))
        .iter()
        .any(|x| !kept.contains(x))
    {
        return Err(invalid(
            "Appointment.extension differs from the appointment; only a cancellation's reason may be added",
        ));
    }
    // A booking organisation sent back must be the one the appointment has.
    let named = booking_organisation(&sent)?;
    if named.is_some() {
        let has = match current {
            Value::Object(c) => booking_organisation(c)?,
            _ => None,
        };
        if named != has {
            return Err(invalid(
                "the booking organisation differs from the appointment's; it is not amended",
            ));
        }
    }
    let reason = extensions(&sent, CANCELLATION_REASON)
        .find_map(|x| x.get("valueString").and_then(Value::as_str));
    if status == Some("booked") {
        if reason.is_some() {
            return Err(invalid(
                "a cancellation reason is given only with status cancelled",
            ));
        }
        let (description, comment) = texts(&sent)?;
        return Ok(AppointmentChange::Amend {
            description,
            comment,
        });
    }
    let reason = reason
        .and_then(|r| CancellationReason::parse(r).ok())
        .ok_or_else(|| {
            invalid("a cancellation needs its reason (the AppointmentCancellationReason extension, 1 to 250 characters)")
        })?;
    Ok(AppointmentChange::Cancel { reason })
}

/// What the router offers of GP Connect's STU3 interface, as a
/// `CapabilityStatement` (GP Connect's metadata read): JSON only; unknown
/// extensions ignored but unknown elements refused (`acceptUnknown:
/// extensions`); slots searched with their includes; appointments read,
/// booked and updated against their version, and retrieved for a patient
/// through the patient compartment (`Patient/{id}/Appointment`). The R4
/// prescription endpoints are not part of it. `software_version` is the
/// adapter's version.
pub fn capability_statement(software_version: &str) -> Value {
    let param = |name: &str, kind: &str| json!({"name": name, "type": kind});
    json!({
        "resourceType": "CapabilityStatement",
        "version": software_version,
        "name": "GP Connect provider (GP online services)",
        "status": "active",
        "date": "2026-11-25",
        "publisher": "GP online services",
        "kind": "instance",
        "software": {"name": "gp-http", "version": software_version},
        "fhirVersion": "3.0.1",
        "acceptUnknown": "extensions",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "resource": [
                {
                    "type": "Slot",
                    "profile": {"reference": SLOT_PROFILE},
                    "interaction": [{"code": "search-type"}],
                    "searchInclude": [
                        "Slot:schedule",
                        "Schedule:actor:Practitioner",
                        "Schedule:actor:Location",
                        "Location:managingOrganization"
                    ],
                    "searchParam": [
                        param("start", "date"),
                        param("end", "date"),
                        param("status", "token"),
                        param("searchFilter", "token"),
                    ],
                },
                {
                    "type": "Appointment",
                    "profile": {"reference": APPOINTMENT_PROFILE},
                    "interaction": [
                        {"code": "read"},
                        {"code": "create"},
                        {"code": "update"}
                    ],
                    "versioning": "versioned-update",
                    "updateCreate": false,
                }
            ],
            "compartment": ["http://hl7.org/fhir/CompartmentDefinition/patient"],
        }],
    })
}

/// A searchset `Bundle` of `resources`.
pub fn searchset(resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let mut e = Map::new();
            let url = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            e.insert("fullUrl".into(), Value::String(url));
            e.insert("resource".into(), r);
            Value::Object(e)
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "searchset", "entry": entries})
}
