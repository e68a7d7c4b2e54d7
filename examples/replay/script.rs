//! The scenario script format: JSON Lines, one step a line, read and checked
//! in full before anything runs. See `docs/scenarios.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use gp_access::{
    AccessSettings, Action, Competency, ConcernOutcome, Designation, LegalBasis, RegistrationKind,
    Service, SuspensionReason,
};
use gp_booking::{BookingSettings, Reservation, SlotAvailability, SlotType};
use gp_core::{Channel, OdsCode, OrganisationType, StaffRole};
use gp_messaging::MessagingSettings;
use gp_monitoring::{ProblemCategory, ProblemStatus};
use gp_prescribing::{PrescribingSettings, RequestChannel, RestrictionScope};
use serde::Deserialize;

/// A script that cannot run, naming the line and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ScriptError {}

/// One line of a script.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its number in the file (from 1).
    pub number: usize,
    /// The practice-local time it happens at (the clock is set to it), if given.
    pub at: Option<DateTime<Utc>>,
    /// What the script expects: `done`, or a reason code.
    pub expect: Option<String>,
    /// The step.
    pub step: Step,
}

/// What a line does.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A member of staff, recorded by the practice manager (or `by`).
    Staff {
        #[serde(default)]
        by: Option<String>,
        name: String,
        role: StaffRole,
        #[serde(default)]
        competencies: BTreeSet<Competency>,
        #[serde(default)]
        designations: BTreeSet<Designation>,
    },
    /// A clinic session and its slots, named `<name>.0`, `<name>.1`, ...
    Session {
        name: String,
        clinician: String,
        date: NaiveDate,
        start: NaiveTime,
        end: NaiveTime,
        minutes: u32,
        #[serde(default = "routine")]
        slot_type: SlotType,
        #[serde(default = "open")]
        availability: SlotAvailability,
        #[serde(default)]
        reserved_for: Option<Reservation>,
    },
    /// Another NHS organisation booking through GP Connect, by its ODS
    /// code and organisation type (`urgent-care`, `gp-practice`, ...).
    Organisation {
        name: String,
        ods: OdsCode,
        #[serde(rename = "type")]
        kind: OrganisationType,
    },
    /// A patient on the practice's list, registered for online services
    /// unless `online` is false.
    Patient {
        name: String,
        born: NaiveDate,
        #[serde(default = "regular")]
        kind: RegistrationKind,
        #[serde(default = "yes")]
        online: bool,
        #[serde(default = "all_services")]
        services: BTreeSet<Service>,
    },
    /// A proxy application decided by `desk` (or `by`): granted from
    /// `start_in_days` after today (0) until `end_in_days` (none), or
    /// refused with `refuse` (the reason); both identities checked unless
    /// `applicant_verified` or `patient_checked` is false.
    Proxy {
        #[serde(default)]
        by: Option<String>,
        name: String,
        patient: String,
        basis: LegalBasis,
        #[serde(default = "all_services")]
        scopes: BTreeSet<Service>,
        #[serde(default)]
        start_in_days: i64,
        #[serde(default)]
        end_in_days: Option<i64>,
        #[serde(default = "yes")]
        applicant_verified: bool,
        #[serde(default = "yes")]
        patient_checked: bool,
        #[serde(default)]
        refuse: Option<String>,
    },
    /// A change to a member of staff's record.
    ChangeStaff {
        by: String,
        name: String,
        role: StaffRole,
        #[serde(default)]
        competencies: BTreeSet<Competency>,
        #[serde(default)]
        designations: BTreeSet<Designation>,
    },
    /// Online registration by staff, with the patient's own details unless
    /// `nhs_of` names another patient whose NHS number is given, or `born` differs.
    Register {
        by: String,
        patient: String,
        #[serde(default)]
        nhs_of: Option<String>,
        #[serde(default)]
        born: Option<NaiveDate>,
    },
    /// Identity verified (documents seen).
    Verify { by: String, patient: String },
    /// The services switched on for a patient (the rest off).
    Services {
        by: String,
        patient: String,
        services: BTreeSet<Service>,
    },
    /// Suspends the patient's own access (with `reason`) or restores it (without).
    Suspend {
        by: String,
        patient: String,
        #[serde(default)]
        reason: Option<SuspensionReason>,
    },
    /// Linkage details issued, remembered as `as`.
    IssueLinkage {
        by: String,
        patient: String,
        #[serde(rename = "as")]
        name: String,
    },
    /// A patient's app redeems linkage details: `key` is `right` (default),
    /// `wrong`, or the key itself; `practice` is the practice's ODS code
    /// unless given.
    RedeemLinkage {
        linkage: String,
        #[serde(default = "right")]
        key: String,
        #[serde(default)]
        practice: Option<String>,
    },
    /// A proxy's access suspended (`suspend`, the default) or restored.
    SuspendProxy {
        by: String,
        patient: String,
        proxy: String,
        #[serde(default = "yes")]
        suspend: bool,
    },
    /// A new legal basis for a proxy.
    NewBasis {
        by: String,
        patient: String,
        proxy: String,
        basis: LegalBasis,
    },
    /// A competent child's view of a parent's access.
    ChildView {
        by: String,
        patient: String,
        proxy: String,
        consents: bool,
    },
    /// The access settings: any fields of `AccessSettings` (the rest default).
    AccessSettings {
        by: String,
        settings: serde_json::Value,
    },
    /// The proxies due for review; `expect_count` checks how many.
    ReviewsDue {
        by: String,
        #[serde(default)]
        expect_count: Option<usize>,
    },
    /// A problem reported to the practice's problem log, remembered as `as`.
    ReportProblem {
        by: String,
        #[serde(default)]
        patient: Option<String>,
        category: ProblemCategory,
        description: String,
        #[serde(default)]
        about_booking: Option<String>,
        #[serde(default)]
        channel: Option<Channel>,
        #[serde(default, rename = "as")]
        name: Option<String>,
    },
    /// An action on a problem: the status it leaves and what was done.
    ProblemAction {
        by: String,
        problem: String,
        status: ProblemStatus,
        /// What was done.
        text: String,
    },
    /// The proxies unused for the configured years; `expect_count` checks how many.
    UnusedProxies {
        by: String,
        #[serde(default)]
        expect_count: Option<usize>,
    },
    /// A repeat medicine copied onto a patient's list by the system.
    Item {
        name: String,
        patient: String,
        #[serde(default)]
        medicine: usize,
        #[serde(default)]
        last_issued_days_ago: Option<i64>,
        #[serde(default = "five")]
        issues_remaining: u32,
        #[serde(default = "a_year")]
        review_in_days: i64,
    },
    /// The booking policy (`clinicians_not_online` names staff).
    BookingPolicy {
        by: String,
        settings: serde_json::Value,
    },
    /// The repeat prescribing settings.
    PrescribingSettings {
        by: String,
        settings: PrescribingSettings,
    },
    /// The messaging switch.
    MessagingSettings {
        by: String,
        settings: MessagingSettings,
    },
    /// A search for free slots.
    Search {
        by: String,
        patient: String,
        #[serde(default)]
        channel: Option<Channel>,
        #[serde(deserialize_with = "local_minute")]
        from: NaiveDateTime,
        #[serde(deserialize_with = "local_minute")]
        to: NaiveDateTime,
        #[serde(default)]
        expect_slots: Option<usize>,
        /// What an organisation's search says of it (GP Connect's
        /// `searchFilter`): `{"ods": "X09", "type": "urgent-care"}`.
        #[serde(default)]
        filter: Option<SearchFilter>,
    },
    /// A booking, remembered as `as`.
    Book {
        by: String,
        patient: String,
        slot: String,
        #[serde(default)]
        channel: Option<Channel>,
        #[serde(default, rename = "as")]
        name: Option<String>,
        #[serde(default)]
        override_reason: Option<String>,
        /// Further slots booked into the same appointment.
        #[serde(default)]
        adjacent: Vec<String>,
    },
    /// An amendment of a booking's description (and comment).
    Amend {
        by: String,
        /// The patient a proxy acts for (only when `by` is a proxy).
        #[serde(default)]
        patient: Option<String>,
        booking: String,
        description: String,
        #[serde(default)]
        comment: Option<String>,
        #[serde(default)]
        channel: Option<Channel>,
        /// The version the amendment is written against (`If-Match`).
        #[serde(default)]
        version: Option<u64>,
    },
    /// A cancellation.
    Cancel {
        by: String,
        /// The patient a proxy acts for (only when `by` is a proxy).
        #[serde(default)]
        patient: Option<String>,
        booking: String,
        #[serde(default)]
        channel: Option<Channel>,
    },
    /// A move to another slot, remembered as `as`.
    Reschedule {
        by: String,
        /// The patient a proxy acts for (only when `by` is a proxy).
        #[serde(default)]
        patient: Option<String>,
        booking: String,
        slot: String,
        #[serde(default)]
        channel: Option<Channel>,
        #[serde(default, rename = "as")]
        name: Option<String>,
    },
    /// A repeat request, remembered as `as`.
    Order {
        by: String,
        patient: String,
        items: Vec<String>,
        #[serde(default)]
        channel: Option<RequestChannel>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "as")]
        name: Option<String>,
        /// Reason codes expected for refused lines, in any order.
        #[serde(default)]
        expect_lines: Option<Vec<String>>,
    },
    /// A move on one line of a request.
    Line {
        by: String,
        patient: String,
        request: String,
        item: String,
        #[serde(rename = "move")]
        kind: LineMove,
        #[serde(default)]
        channel: Option<Channel>,
    },
    /// A patient flags a medicine they no longer take.
    Flag {
        by: String,
        patient: String,
        item: String,
    },
    /// A prescriber reviews a flagged medicine: keep it, or end it.
    Review {
        by: String,
        patient: String,
        item: String,
        #[serde(default)]
        end: Option<String>,
    },
    /// A restriction on ordering for one patient (`scope` absent lifts it).
    Restrict {
        by: String,
        patient: String,
        #[serde(default)]
        scope: Option<RestrictionScope>,
    },
    /// A message to the practice, remembered as `as`.
    Send {
        by: String,
        patient: String,
        subject: String,
        body: String,
        #[serde(default)]
        about_booking: Option<String>,
        #[serde(default)]
        about_item: Option<String>,
        #[serde(default)]
        channel: Option<Channel>,
        #[serde(default, rename = "as")]
        name: Option<String>,
    },
    /// A reply on a message.
    Reply {
        by: String,
        /// The patient a proxy acts for (only when `by` is a proxy).
        #[serde(default)]
        patient: Option<String>,
        message: String,
        body: String,
        #[serde(default)]
        channel: Option<Channel>,
    },
    /// Staff mark a message read or handled.
    Mark {
        by: String,
        message: String,
        to: MarkTo,
        #[serde(default)]
        channel: Option<Channel>,
    },
    /// The question `authorize` answers, alone.
    Authorize {
        by: String,
        patient: String,
        action: Action,
        #[serde(default)]
        channel: Option<Channel>,
    },
    /// The practice revokes a proxy.
    RevokeProxy {
        by: String,
        patient: String,
        proxy: String,
        reason: String,
    },
    /// A coercion concern, remembered as `as`.
    Concern {
        by: String,
        patient: String,
        #[serde(default)]
        proxy: Option<String>,
        /// What was seen or heard.
        text: String,
        #[serde(default, rename = "as")]
        name: Option<String>,
    },
    /// A review of a coercion concern.
    ConcernReview {
        by: String,
        patient: String,
        concern: String,
        outcome: ConcernOutcome,
        /// The clinician's note.
        text: String,
    },
}

/// A prescriber's (or a patient's) move on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineMove {
    /// The patient withdraws it.
    Cancel,
    /// A prescriber approves it.
    Approve,
    /// A prescriber rejects it.
    Reject,
    /// A prescriber (or the system) issues it.
    Issue,
}

/// Where staff move a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkTo {
    /// Read.
    Read,
    /// Handled.
    Handled,
}

/// Access settings from a script: the given fields over the defaults.
pub fn access_settings(settings: &serde_json::Value) -> Result<AccessSettings, String> {
    let mut merged = serde_json::to_value(AccessSettings::default()).map_err(|e| e.to_string())?;
    let given = settings
        .as_object()
        .ok_or_else(|| "expected an object of access settings".to_owned())?;
    let fields = merged
        .as_object_mut()
        .ok_or_else(|| "the access settings are an object".to_owned())?;
    for (k, v) in given {
        if !fields.contains_key(k) {
            return Err(format!("unknown access setting `{k}`"));
        }
        fields.insert(k.clone(), v.clone());
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

/// The staff names a booking policy's `clinicians_not_online` lists.
fn staff_names(settings: &serde_json::Value) -> Vec<String> {
    settings
        .get("clinicians_not_online")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A booking policy's settings from a script, staff names turned into ids by `id_of`.
pub fn booking_settings(
    settings: &serde_json::Value,
    id_of: impl Fn(&str) -> Option<String>,
) -> Result<BookingSettings, String> {
    let known = serde_json::to_value(BookingSettings::default()).map_err(|e| e.to_string())?;
    let given = settings
        .as_object()
        .ok_or_else(|| "expected an object of booking settings".to_owned())?;
    if let Some(k) = given.keys().find(|k| known.get(k.as_str()).is_none()) {
        return Err(format!("unknown booking setting `{k}`"));
    }
    let mut settings = settings.clone();
    if let Some(list) = settings
        .get_mut("clinicians_not_online")
        .and_then(|v| v.as_array_mut())
    {
        for v in list.iter_mut() {
            if let Some(name) = v.as_str() {
                let id = id_of(name).ok_or_else(|| format!("{name:?} is not a member of staff"))?;
                *v = serde_json::Value::String(id);
            }
        }
    }
    serde_json::from_value(settings).map_err(|e| e.to_string())
}

/// A practice-local time written to the minute, like `"2026-06-01T08:00"`.
fn local_minute<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    let s = String::deserialize(d)?;
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M").map_err(|_| {
        serde::de::Error::custom(format!(
            "{s:?} is not a local time like \"2026-06-01T08:00\""
        ))
    })
}

fn routine() -> SlotType {
    SlotType::RoutineGp
}
fn open() -> SlotAvailability {
    SlotAvailability::Open
}
fn regular() -> RegistrationKind {
    RegistrationKind::Regular
}
fn yes() -> bool {
    true
}
fn right() -> String {
    "right".into()
}
fn five() -> u32 {
    5
}
fn a_year() -> i64 {
    365
}
fn all_services() -> BTreeSet<Service> {
    Service::ALL.into_iter().collect()
}

/// An organisation's search filter in a script.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFilter {
    #[serde(default)]
    pub ods: Option<OdsCode>,
    #[serde(default, rename = "type")]
    pub kind: Option<OrganisationType>,
}

/// The kind of thing a name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Staff,
    Patient,
    Proxy,
    Slot,
    Booking,
    Item,
    Request,
    Message,
    Concern,
    Linkage,
    Problem,
    Organisation,
}

impl Step {
    /// Whether the step names the patient its actor acts for.
    fn names_a_patient(&self) -> bool {
        self.names()
            .1
            .iter()
            .any(|(field, _, _)| *field == "patient")
    }

    /// Checks what the types alone cannot: times that exist, spans that
    /// hold a slot, day counts a calendar can hold. `clinicians` are the
    /// staff defined so far who run sessions.
    fn check(&self, clinicians: &BTreeSet<String>) -> Result<(), String> {
        fn whole_minute(field: &str, t: &NaiveTime) -> Result<(), String> {
            if chrono::Timelike::second(t) != 0 || chrono::Timelike::nanosecond(t) != 0 {
                return Err(format!(
                    "field `{field}`: {t} is not a whole minute like \"09:00\""
                ));
            }
            Ok(())
        }
        fn date_in_range(field: &str, d: &NaiveDate) -> Result<(), String> {
            if !(FIRST_YEAR..=LAST_YEAR).contains(&chrono::Datelike::year(d)) {
                return Err(format!(
                    "field `{field}`: {d} is outside the years {FIRST_YEAR} to {LAST_YEAR}"
                ));
            }
            Ok(())
        }
        fn exists(field: &str, date: NaiveDate, time: NaiveTime) -> Result<(), String> {
            gp_core::local_to_utc(date, time)
                .map(drop)
                .map_err(|e| format!("field `{field}`: {e}"))
        }
        fn days(field: &str, n: i64) -> Result<(), String> {
            if n.abs() > MAX_DAYS {
                return Err(format!(
                    "field `{field}`: {n} days is more than the {MAX_DAYS} a script may span"
                ));
            }
            Ok(())
        }
        match self {
            Step::Session {
                clinician,
                date,
                start,
                end,
                minutes,
                ..
            } => {
                if !clinicians.contains(clinician) {
                    return Err(format!(
                        "field `clinician`: {clinician:?} is not a member of staff who runs sessions"
                    ));
                }
                date_in_range("date", date)?;
                whole_minute("start", start)?;
                whole_minute("end", end)?;
                if !(1..=1440).contains(minutes) {
                    return Err("field `minutes`: a slot lasts 1 to 1440 minutes".into());
                }
                if (*end - *start).num_minutes() < i64::from(*minutes) {
                    return Err(format!(
                        "field `end`: a session from {start} to {end} holds no {minutes}-minute slot"
                    ));
                }
                exists("start", *date, *start)?;
                exists("end", *date, *end)?;
            }
            Step::Patient { born, .. } => date_in_range("born", born)?,
            Step::Register { born: Some(b), .. } => date_in_range("born", b)?,
            Step::Item {
                last_issued_days_ago,
                review_in_days,
                ..
            } => {
                if let Some(d) = last_issued_days_ago {
                    days("last_issued_days_ago", *d)?;
                }
                days("review_in_days", *review_in_days)?;
            }
            Step::Proxy {
                start_in_days,
                end_in_days,
                ..
            } => {
                days("start_in_days", *start_in_days)?;
                if let Some(d) = end_in_days {
                    days("end_in_days", *d)?;
                }
            }
            Step::Search { from, to, .. } => {
                date_in_range("from", &from.date())?;
                date_in_range("to", &to.date())?;
                exists("from", from.date(), from.time())?;
                exists("to", to.date(), to.time())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The names this step defines, and the names (with their kinds) it uses.
    #[allow(clippy::type_complexity)]
    pub(crate) fn names(
        &self,
    ) -> (
        Vec<(String, Kind)>,
        Vec<(&'static str, String, &'static [Kind])>,
    ) {
        const ACTOR: &[Kind] = &[Kind::Staff, Kind::Patient, Kind::Proxy, Kind::Organisation];
        let by = |b: &String| ("by", b.clone(), ACTOR);
        let patient = |p: &String| ("patient", p.clone(), &[Kind::Patient][..]);
        let named = |n: &Option<String>, k| n.iter().map(|n| (n.clone(), k)).collect::<Vec<_>>();
        match self {
            Step::Staff { by: b, name, .. } => (
                vec![(name.clone(), Kind::Staff)],
                b.iter().map(by).collect(),
            ),
            Step::ChangeStaff { by: b, name, .. } => (
                vec![],
                vec![by(b), ("name", name.clone(), &[Kind::Staff][..])],
            ),
            Step::Register {
                by: b,
                patient: p,
                nhs_of,
                ..
            } => {
                let mut uses = vec![by(b), patient(p)];
                uses.extend(
                    nhs_of
                        .iter()
                        .map(|o| ("nhs_of", o.clone(), &[Kind::Patient][..])),
                );
                (vec![], uses)
            }
            Step::Verify { by: b, patient: p }
            | Step::Services {
                by: b, patient: p, ..
            }
            | Step::Suspend {
                by: b, patient: p, ..
            } => (vec![], vec![by(b), patient(p)]),
            Step::IssueLinkage {
                by: b,
                patient: p,
                name,
            } => (vec![(name.clone(), Kind::Linkage)], vec![by(b), patient(p)]),
            Step::RedeemLinkage { linkage, .. } => (
                vec![],
                vec![("linkage", linkage.clone(), &[Kind::Linkage][..])],
            ),
            Step::SuspendProxy {
                by: b,
                patient: p,
                proxy,
                ..
            }
            | Step::NewBasis {
                by: b,
                patient: p,
                proxy,
                ..
            }
            | Step::ChildView {
                by: b,
                patient: p,
                proxy,
                ..
            } => (
                vec![],
                vec![
                    by(b),
                    patient(p),
                    ("proxy", proxy.clone(), &[Kind::Proxy][..]),
                ],
            ),
            Step::ReportProblem {
                by: b,
                patient: p,
                about_booking,
                name,
                ..
            } => {
                let mut uses = vec![by(b)];
                uses.extend(p.iter().map(patient));
                uses.extend(
                    about_booking
                        .iter()
                        .map(|x| ("about_booking", x.clone(), &[Kind::Booking][..])),
                );
                (named(name, Kind::Problem), uses)
            }
            Step::ProblemAction { by: b, problem, .. } => (
                vec![],
                vec![by(b), ("problem", problem.clone(), &[Kind::Problem][..])],
            ),
            Step::AccessSettings { by: b, .. }
            | Step::ReviewsDue { by: b, .. }
            | Step::UnusedProxies { by: b, .. } => (vec![], vec![by(b)]),
            Step::Session {
                name,
                clinician,
                start,
                end,
                minutes,
                ..
            } => {
                let count = if *minutes == 0 {
                    0
                } else {
                    ((*end - *start).num_minutes().max(0) / i64::from(*minutes)) as usize
                };
                (
                    (0..count)
                        .map(|i| (format!("{name}.{i}"), Kind::Slot))
                        .collect(),
                    vec![("clinician", clinician.clone(), &[Kind::Staff][..])],
                )
            }
            Step::Patient { name, .. } => (vec![(name.clone(), Kind::Patient)], vec![]),
            Step::Organisation { name, .. } => (vec![(name.clone(), Kind::Organisation)], vec![]),
            Step::Amend {
                by: b,
                booking,
                patient: p,
                ..
            } => {
                let mut uses = vec![by(b), ("booking", booking.clone(), &[Kind::Booking][..])];
                uses.extend(p.iter().map(patient));
                (vec![], uses)
            }
            Step::Proxy {
                by: b,
                name,
                patient: p,
                ..
            } => {
                let mut uses = vec![patient(p)];
                uses.extend(b.iter().map(by));
                (vec![(name.clone(), Kind::Proxy)], uses)
            }
            Step::Item {
                name, patient: p, ..
            } => (vec![(name.clone(), Kind::Item)], vec![patient(p)]),
            Step::BookingPolicy { by: b, .. }
            | Step::PrescribingSettings { by: b, .. }
            | Step::MessagingSettings { by: b, .. } => (vec![], vec![by(b)]),
            Step::Search {
                by: b, patient: p, ..
            }
            | Step::Authorize {
                by: b, patient: p, ..
            } => (vec![], vec![by(b), patient(p)]),
            Step::Book {
                by: b,
                patient: p,
                slot,
                name,
                adjacent,
                ..
            } => {
                let mut uses = vec![by(b), patient(p), ("slot", slot.clone(), &[Kind::Slot][..])];
                uses.extend(
                    adjacent
                        .iter()
                        .map(|s| ("adjacent", s.clone(), &[Kind::Slot][..])),
                );
                (named(name, Kind::Booking), uses)
            }
            Step::Cancel {
                by: b,
                booking,
                patient: Some(p),
                ..
            } => (
                vec![],
                vec![
                    by(b),
                    patient(p),
                    ("booking", booking.clone(), &[Kind::Booking][..]),
                ],
            ),
            Step::Cancel { by: b, booking, .. } => (
                vec![],
                vec![by(b), ("booking", booking.clone(), &[Kind::Booking][..])],
            ),
            Step::Reschedule {
                by: b,
                booking,
                slot,
                name,
                patient: p,
                ..
            } => {
                let mut uses = vec![
                    by(b),
                    ("booking", booking.clone(), &[Kind::Booking][..]),
                    ("slot", slot.clone(), &[Kind::Slot][..]),
                ];
                uses.extend(p.iter().map(patient));
                (named(name, Kind::Booking), uses)
            }
            Step::Order {
                by: b,
                patient: p,
                items,
                name,
                ..
            } => {
                let mut uses = vec![by(b), patient(p)];
                uses.extend(
                    items
                        .iter()
                        .map(|i| ("items", i.clone(), &[Kind::Item][..])),
                );
                (named(name, Kind::Request), uses)
            }
            Step::Line {
                by: b,
                patient: p,
                request,
                item,
                ..
            } => (
                vec![],
                vec![
                    by(b),
                    patient(p),
                    ("request", request.clone(), &[Kind::Request][..]),
                    ("item", item.clone(), &[Kind::Item][..]),
                ],
            ),
            Step::Flag {
                by: b,
                patient: p,
                item,
            }
            | Step::Review {
                by: b,
                patient: p,
                item,
                ..
            } => (
                vec![],
                vec![by(b), patient(p), ("item", item.clone(), &[Kind::Item][..])],
            ),
            Step::Restrict {
                by: b, patient: p, ..
            } => (vec![], vec![by(b), patient(p)]),
            Step::Send {
                by: b,
                patient: p,
                about_booking,
                about_item,
                name,
                ..
            } => {
                let mut uses = vec![by(b), patient(p)];
                uses.extend(
                    about_booking
                        .iter()
                        .map(|x| ("about_booking", x.clone(), &[Kind::Booking][..])),
                );
                uses.extend(
                    about_item
                        .iter()
                        .map(|x| ("about_item", x.clone(), &[Kind::Item][..])),
                );
                (named(name, Kind::Message), uses)
            }
            Step::Reply {
                by: b,
                message,
                patient: Some(p),
                ..
            } => (
                vec![],
                vec![
                    by(b),
                    patient(p),
                    ("message", message.clone(), &[Kind::Message][..]),
                ],
            ),
            Step::Reply { by: b, message, .. } | Step::Mark { by: b, message, .. } => (
                vec![],
                vec![by(b), ("message", message.clone(), &[Kind::Message][..])],
            ),
            Step::RevokeProxy {
                by: b,
                patient: p,
                proxy,
                ..
            } => (
                vec![],
                vec![
                    by(b),
                    patient(p),
                    ("proxy", proxy.clone(), &[Kind::Proxy][..]),
                ],
            ),
            Step::Concern {
                by: b,
                patient: p,
                proxy,
                name,
                ..
            } => {
                let mut uses = vec![by(b), patient(p)];
                uses.extend(
                    proxy
                        .iter()
                        .map(|x| ("proxy", x.clone(), &[Kind::Proxy][..])),
                );
                (named(name, Kind::Concern), uses)
            }
            Step::ConcernReview {
                by: b,
                patient: p,
                concern,
                ..
            } => (
                vec![],
                vec![
                    by(b),
                    patient(p),
                    ("concern", concern.clone(), &[Kind::Concern][..]),
                ],
            ),
        }
    }
}

/// The years a script's dates may fall in.
const FIRST_YEAR: i32 = 1880;
/// See [`FIRST_YEAR`].
const LAST_YEAR: i32 = 2200;
/// The most days a day count in a script may be.
const MAX_DAYS: i64 = 36_500;

/// A name starting with this stands for an id nothing was stored under
/// (a slot, booking, patient, ... that does not exist).
pub const UNKNOWN: &str = "unknown-";

/// `message` about a step that did not parse, naming the field at fault:
/// the one whose removal makes the step parse, or be missing only it.
fn with_field(value: &serde_json::Value, message: &str) -> String {
    if message.contains("field `") {
        return message.to_owned();
    }
    let Some(object) = value.as_object() else {
        return message.to_owned();
    };
    let culprit = object.keys().filter(|k| k.as_str() != "do").find(|k| {
        let mut without = object.clone();
        without.remove(k.as_str());
        match serde_json::from_value::<Step>(serde_json::Value::Object(without)) {
            Ok(_) => true,
            Err(e) => e.to_string().contains(&format!("missing field `{k}`")),
        }
    });
    match culprit {
        Some(field) => format!("field `{field}`: {message}"),
        None => message.to_owned(),
    }
}

/// The `by` a step names, if any.
fn uses_by(step: &Step) -> Option<(&'static str, String, &'static [Kind])> {
    step.names()
        .1
        .into_iter()
        .find(|(field, _, _)| *field == "by")
}

/// Reads a whole script; the first bad line stops it, and nothing runs.
pub fn parse(text: &str) -> Result<Vec<Line>, ScriptError> {
    let mut lines = Vec::new();
    let mut defined: BTreeMap<String, Kind> = BTreeMap::new();
    defined.insert("manager".into(), Kind::Staff);
    defined.insert("desk".into(), Kind::Staff);
    defined.insert("system".into(), Kind::Staff);
    let mut clinicians: BTreeSet<String> = BTreeSet::new();
    let mut last_at: Option<NaiveDateTime> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let err = |message: String| ScriptError {
            line: number,
            message,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let mut value: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| err(format!("not JSON: {e}")))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| err("a step is a JSON object".into()))?;
        object.remove("note");
        let at = match object.remove("at") {
            None => None,
            Some(serde_json::Value::String(s)) => {
                let local = NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M").map_err(|_| {
                    err(format!(
                        "field `at`: {s:?} is not a local time like \"2026-06-01T08:00\""
                    ))
                })?;
                let year = chrono::Datelike::year(&local.date());
                if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
                    return Err(err(format!(
                        "field `at`: {s} is outside the years {FIRST_YEAR} to {LAST_YEAR}"
                    )));
                }
                if last_at.is_some_and(|before| local < before) {
                    return Err(err(format!(
                        "field `at`: {s} is before an earlier line's time; a script's clock only moves forward"
                    )));
                }
                last_at = Some(local);
                Some(
                    gp_core::local_to_utc(local.date(), local.time())
                        .map_err(|e| err(format!("field `at`: {e}")))?,
                )
            }
            Some(other) => {
                return Err(err(format!("field `at`: expected a string, found {other}")))
            }
        };
        let expect = match object.remove("expect") {
            None => None,
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
            Some(other) => {
                return Err(err(format!(
                    "field `expect`: expected \"done\" or a reason code, found {other}"
                )))
            }
        };
        if !object.contains_key("do") {
            return Err(err("missing field `do` (what the step does)".into()));
        }
        let step: Step = serde_json::from_value(value.clone())
            .map_err(|e| err(with_field(&value, &e.to_string())))?;
        step.check(&clinicians).map_err(err)?;
        let (defines, uses) = step.names();
        for (field, name, kinds) in uses {
            if name.starts_with(UNKNOWN) && kinds[0] != Kind::Linkage {
                continue;
            }
            match defined.get(&name) {
                Some(kind) if kinds.contains(kind) => {}
                Some(kind) => {
                    return Err(err(format!(
                        "field `{field}`: {name:?} is a {kind:?}, not a {:?}",
                        kinds[0]
                    )))
                }
                None => {
                    return Err(err(format!(
                        "field `{field}`: {name:?} is not defined on an earlier line"
                    )))
                }
            }
        }
        if let Some((_, by, _)) = uses_by(&step) {
            if defined.get(&by) == Some(&Kind::Proxy) && !step.names_a_patient() {
                return Err(err(format!(
                    "field `patient`: {by:?} is a proxy, who acts for a patient the line must name"
                )));
            }
        }
        for (name, kind) in defines {
            if defined.insert(name.clone(), kind).is_some() {
                return Err(err(format!("{name:?} is defined twice")));
            }
        }
        if let Step::Staff { name, role, .. } = &step {
            if !matches!(role, StaffRole::Receptionist | StaffRole::PracticeManager) {
                clinicians.insert(name.clone());
            }
        }
        if let Step::BookingPolicy { settings, .. } = &step {
            let names = staff_names(settings);
            for name in &names {
                if defined.get(name) != Some(&Kind::Staff) {
                    return Err(err(format!(
                        "field `settings.clinicians_not_online`: {name:?} is not a member of staff defined on an earlier line"
                    )));
                }
            }
            booking_settings(settings, |_| Some(gp_core::uuid::Uuid::nil().to_string()))
                .map_err(|e| err(format!("field `settings`: {e}")))?;
        }
        if let Step::AccessSettings { settings, .. } = &step {
            access_settings(settings).map_err(|e| err(format!("field `settings`: {e}")))?;
        }
        lines.push(Line {
            number,
            at,
            expect,
            step,
        });
    }
    if lines.is_empty() {
        return Err(ScriptError {
            line: 0,
            message: "the script has no steps".into(),
        });
    }
    Ok(lines)
}
