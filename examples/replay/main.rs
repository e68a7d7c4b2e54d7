//! Scenario replay: a practice set up and a script of timed actions, run
//! through `Practice` with a fixed clock against an embedded database,
//! printing one JSON result per action and exiting non-zero when an
//! action's `expect` disagrees. A clinical safety officer uses it to prove
//! a configuration before go-live.
//!
//! Run with `cargo run --example replay -- examples/scenarios/booking.jsonl`
//! (`--db PATH` keeps the database; the format is in `docs/scenarios.md`).

pub(crate) mod script;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use gp_access::{ApplicationVerdict, Competency, IdentityVerification, VerificationMethod};
use gp_access::{
    By, ListedPatient, PatientList, ProxyApplicationInput, Registration, StaffProfile,
};
use gp_booking::{
    AmendRequest, BookRequest, BookingComment, BookingDescription, BookingPolicy, BookingStore,
    CancelRequest, CancellationReason, DeliveryMode, OverrideReason, RescheduleRequest, Schedule,
    SearchQuery, SessionTemplate, StaffMember,
};
use gp_core::{
    local_date, local_to_utc, Actor, BookingId, Channel, Clock, ConcernId, FixedClock,
    MedicationId, MessageId, OdsCode, PatientId, ProxyId, RequestId, SequentialIds, SlotId,
    StaffId, StaffRole,
};
use gp_messaging::{InboxMove, MessageAction, MessageLink, NewMessage};
use gp_online::{Answer, Practice, PrescriberMove, Refused};
use gp_prescribing::{ItemAction, LineAction, OrderRequest, RequestChannel, ReviewOutcome};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{nhs_number, repeat_item_with};
use serde_json::{json, Value};

use script::{LineMove, MarkTo, Step};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What one line did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// The script line.
    pub(crate) line: usize,
    /// `done`, a reason code, or `error`.
    pub(crate) result: String,
    /// Whether it is what the line expected (true when it expected nothing).
    pub(crate) as_expected: bool,
    /// The JSON printed for it.
    pub(crate) json: Value,
}

/// Everything a script has named.
#[derive(Default)]
struct Names {
    staff: BTreeMap<String, StaffProfile>,
    patients: BTreeMap<String, PatientId>,
    proxies: BTreeMap<String, ProxyId>,
    slots: BTreeMap<String, SlotId>,
    bookings: BTreeMap<String, BookingId>,
    items: BTreeMap<String, MedicationId>,
    requests: BTreeMap<String, RequestId>,
    messages: BTreeMap<String, MessageId>,
    concerns: BTreeMap<String, ConcernId>,
    linkages: BTreeMap<String, gp_access::LinkageDetails>,
    problems: BTreeMap<String, gp_core::ProblemId>,
    organisations: BTreeMap<String, Actor>,
    nhs: u64,
}

struct Replay {
    practice: Practice<SqliteStore, FixedClock>,
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    ids: SequentialIds,
    names: Names,
}

/// The channel an actor uses unless the line says otherwise.
fn default_channel(actor: &Actor) -> Channel {
    match actor {
        Actor::Patient { .. } | Actor::Proxy { .. } => Channel::Online,
        Actor::System => Channel::Internal,
        Actor::Organisation { .. } => Channel::Organisation,
        _ => Channel::Reception,
    }
}

impl Replay {
    fn by(&self, name: &str, patient: Option<&str>, channel: Option<Channel>) -> Result<By, Error> {
        let actor = if name == "system" {
            Actor::System
        } else if let Some(p) = self.names.staff.get(name) {
            Actor::Staff {
                staff: p.staff,
                role: p.role,
            }
        } else if let Some(p) = self.names.patients.get(name) {
            Actor::Patient { patient: *p }
        } else if let Some(org) = self.names.organisations.get(name) {
            *org
        } else if let Some(proxy) = self.names.proxies.get(name) {
            let for_patient = match patient {
                Some(p) => self.patient(p)?,
                None => {
                    return Err(format!("{name} is a proxy: the line must name the patient").into())
                }
            };
            Actor::Proxy {
                proxy: *proxy,
                for_patient,
            }
        } else {
            return Err(format!("{name} is nobody").into());
        };
        Ok(By {
            actor,
            channel: channel.unwrap_or_else(|| default_channel(&actor)),
        })
    }

    fn patient(&self, name: &str) -> Result<PatientId, Error> {
        self.names
            .patients
            .get(name)
            .copied()
            .ok_or_else(|| format!("no patient {name}").into())
    }

    fn get<T: Copy>(map: &BTreeMap<String, T>, name: &str) -> Result<T, Error> {
        map.get(name).copied().ok_or_else(|| {
            format!("{name} names nothing yet (an earlier step was refused?)").into()
        })
    }

    fn desk(&self) -> Result<By, Error> {
        self.by("desk", None, None)
    }

    /// Gives each `unknown-` name the step uses a fresh id nothing is stored under.
    fn unknowns(&mut self, step: &Step) {
        use script::Kind;
        for (_, name, kinds) in step.names().1 {
            if !name.starts_with(script::UNKNOWN) {
                continue;
            }
            let ids = &self.ids;
            let n = &mut self.names;
            match kinds[0] {
                Kind::Patient => {
                    n.patients
                        .entry(name)
                        .or_insert_with(|| PatientId::new(ids));
                }
                Kind::Proxy => {
                    n.proxies.entry(name).or_insert_with(|| ProxyId::new(ids));
                }
                Kind::Slot => {
                    n.slots.entry(name).or_insert_with(|| SlotId::new(ids));
                }
                Kind::Booking => {
                    n.bookings
                        .entry(name)
                        .or_insert_with(|| BookingId::new(ids));
                }
                Kind::Item => {
                    n.items
                        .entry(name)
                        .or_insert_with(|| MedicationId::new(ids));
                }
                Kind::Request => {
                    n.requests
                        .entry(name)
                        .or_insert_with(|| RequestId::new(ids));
                }
                Kind::Message => {
                    n.messages
                        .entry(name)
                        .or_insert_with(|| MessageId::new(ids));
                }
                Kind::Concern => {
                    n.concerns
                        .entry(name)
                        .or_insert_with(|| ConcernId::new(ids));
                }
                Kind::Staff => {
                    // Somebody the practice never recorded, claiming to be a GP.
                    n.staff.entry(name.clone()).or_insert_with(|| {
                        StaffProfile::new(StaffId::new(ids), &name, StaffRole::Gp)
                    });
                }
                Kind::Problem => {
                    n.problems
                        .entry(name)
                        .or_insert_with(|| gp_core::ProblemId::new(ids));
                }
                // Organisations are who they say: never `unknown-`.
                Kind::Linkage | Kind::Organisation => {}
            }
        }
    }

    /// Runs one step; answers `done` with an id, or the refusal's code.
    async fn step(&mut self, step: &Step) -> Result<(String, Option<String>), Error> {
        self.unknowns(step);
        fn answer<T>(
            a: Answer<T, Refused>,
            id: impl FnOnce(&T) -> Option<String>,
        ) -> (String, Option<String>) {
            match a {
                Answer::Done(t) => ("done".into(), id(&t)),
                Answer::Refused(r) => (r.code().into(), None),
            }
        }
        let now = self.clock.now();
        let today = local_date(now);
        Ok(match step {
            Step::Staff {
                by,
                name,
                role,
                competencies,
                designations,
            } => {
                let profile = StaffProfile::new(StaffId::new(&self.ids), name, *role)
                    .with_competencies(competencies.iter().copied())
                    .with_designations(designations.iter().copied());
                let manager = self.by(by.as_deref().unwrap_or("manager"), None, None)?;
                let a = self.practice.put_staff(&manager, &profile).await?;
                if let Some(r) = a.refusal() {
                    return Ok((r.code().into(), None));
                }
                {
                    if !matches!(role, StaffRole::Receptionist | StaffRole::PracticeManager) {
                        self.store
                            .put_staff(&StaffMember::new(profile.staff, name.clone(), *role))
                            .await?;
                    }
                    let id = profile.staff.to_string();
                    self.names.staff.insert(name.clone(), profile);
                    ("done".into(), Some(id))
                }
            }
            Step::ChangeStaff {
                by,
                name,
                role,
                competencies,
                designations,
            } => {
                let who = self.by(by, None, None)?;
                let stored = self
                    .names
                    .staff
                    .get(name)
                    .ok_or("no such member of staff")?;
                let mut profile = StaffProfile::new(stored.staff, &stored.name, *role)
                    .with_competencies(competencies.iter().copied())
                    .with_designations(designations.iter().copied());
                profile.version = stored.version;
                let a = self.practice.put_staff(&who, &profile).await?;
                if a.refusal().is_none() {
                    profile.version += 1;
                    self.names.staff.insert(name.clone(), profile);
                }
                answer(a, |_| None)
            }
            Step::Register {
                by,
                patient,
                nhs_of,
                born,
            } => {
                let who = self.by(by, None, None)?;
                let id = self.patient(patient)?;
                let listed = self
                    .store
                    .listed_patient(id)
                    .await?
                    .ok_or("not on the list")?;
                let nhs = match nhs_of {
                    Some(other) => self
                        .store
                        .listed_patient(self.patient(other)?)
                        .await?
                        .ok_or("not on the list")?
                        .nhs_number(),
                    None => listed.nhs_number(),
                };
                let registration = Registration {
                    nhs_number: nhs,
                    date_of_birth: born.unwrap_or(listed.date_of_birth()),
                    registration: listed.registration(),
                    practice: OdsCode::parse("A81001")?,
                };
                answer(
                    self.practice.register(&who, id, &registration).await?,
                    |_| None,
                )
            }
            Step::Verify { by, patient } => {
                let who = self.by(by, None, None)?;
                let a = self
                    .practice
                    .verify_identity(
                        &who,
                        self.patient(patient)?,
                        VerificationMethod::DocumentsSeen,
                    )
                    .await?;
                answer(a, |_| None)
            }
            Step::Services {
                by,
                patient,
                services,
            } => {
                let who = self.by(by, None, None)?;
                let a = self
                    .practice
                    .set_services(&who, self.patient(patient)?, services)
                    .await?;
                answer(a, |_| None)
            }
            Step::Suspend {
                by,
                patient,
                reason,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let a = self
                    .practice
                    .suspend_access(&who, self.patient(patient)?, reason.clone())
                    .await?;
                answer(a, |_| None)
            }
            Step::IssueLinkage { by, patient, name } => {
                let who = self.by(by, None, None)?;
                let a = self
                    .practice
                    .issue_linkage(&who, self.patient(patient)?)
                    .await?;
                if let Answer::Done(details) = &a {
                    self.names.linkages.insert(name.clone(), details.clone());
                }
                answer(a, |d| Some(d.account.to_string()))
            }
            Step::RedeemLinkage {
                linkage,
                key,
                practice,
            } => {
                let details = self
                    .names
                    .linkages
                    .get(linkage)
                    .cloned()
                    .ok_or("no such linkage details (was issuing refused?)")?;
                let key = match key.as_str() {
                    "right" => details.key.clone(),
                    "wrong" => "AAAA-BBBB-CCCC-DDDD".to_owned(),
                    other => other.to_owned(),
                };
                let code = match practice {
                    Some(code) => OdsCode::parse(code)?,
                    None => details.practice,
                };
                let a = self
                    .practice
                    .redeem_linkage(details.account, &code, &key)
                    .await?;
                answer(a, |p| Some(p.to_string()))
            }
            Step::SuspendProxy {
                by,
                patient,
                proxy,
                suspend,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let proxy = Self::get(&self.names.proxies, proxy)?;
                let reason = suspend.then_some(gp_access::SuspensionReason::SuspectedCompromise);
                let a = self
                    .practice
                    .suspend_proxy(&who, self.patient(patient)?, proxy, reason)
                    .await?;
                answer(a, |_| None)
            }
            Step::NewBasis {
                by,
                patient,
                proxy,
                basis,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let proxy = Self::get(&self.names.proxies, proxy)?;
                let a = self
                    .practice
                    .new_basis(&who, self.patient(patient)?, proxy, basis)
                    .await?;
                answer(a, |_| None)
            }
            Step::ChildView {
                by,
                patient,
                proxy,
                consents,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let proxy = Self::get(&self.names.proxies, proxy)?;
                let a = self
                    .practice
                    .child_view(&who, self.patient(patient)?, proxy, *consents)
                    .await?;
                answer(a, |_| None)
            }
            Step::AccessSettings { by, settings } => {
                let who = self.by(by, None, None)?;
                let settings = script::access_settings(settings)?;
                answer(
                    self.practice.set_access_settings(&who, &settings).await?,
                    |_| None,
                )
            }
            Step::ReportProblem {
                by,
                patient,
                category,
                description,
                about_booking,
                channel,
                name,
            } => {
                let who = self.by(by, patient.as_deref(), *channel)?;
                let patient = patient.as_deref().map(|p| self.patient(p)).transpose()?;
                let concerning = about_booking
                    .as_deref()
                    .map(|b| Self::get(&self.names.bookings, b))
                    .transpose()?
                    .map(gp_monitoring::Concerning::Appointment);
                let report = gp_monitoring::NewProblem::new(
                    who.actor,
                    who.channel,
                    patient,
                    *category,
                    description,
                    concerning,
                )?;
                let a = self.practice.report_problem(&report).await?;
                if let (Answer::Done(p), Some(n)) = (&a, name) {
                    self.names.problems.insert(n.clone(), p.id);
                }
                answer(a, |p| Some(p.id.to_string()))
            }
            Step::ProblemAction {
                by,
                problem,
                status,
                text,
            } => {
                let who = self.by(by, None, None)?;
                let problem = Self::get(&self.names.problems, problem)?;
                let a = self
                    .practice
                    .problem_action(&who, problem, *status, text)
                    .await?;
                answer(a, |p| Some(format!("version {}", p.version)))
            }
            Step::ReviewsDue { by, expect_count } => {
                let who = self.by(by, None, None)?;
                let a = self.practice.reviews_due(&who).await?;
                counted(
                    answer(a, |due| Some(format!("{} due", due.len()))),
                    *expect_count,
                    "due",
                )
            }
            Step::UnusedProxies { by, expect_count } => {
                let who = self.by(by, None, None)?;
                let a = self.practice.unused_proxies(&who).await?;
                counted(
                    answer(a, |unused| Some(format!("{} unused", unused.len()))),
                    *expect_count,
                    "unused",
                )
            }
            Step::Session {
                name,
                clinician,
                date,
                start,
                end,
                minutes,
                slot_type,
                availability,
                reserved_for,
            } => {
                let who = self.names.staff.get(clinician).ok_or("no such clinician")?;
                let template = SessionTemplate {
                    site: None,
                    clinician: who.staff,
                    role: who.role,
                    weekday: chrono::Datelike::weekday(date),
                    start: *start,
                    end: *end,
                    slot_minutes: *minutes,
                    slot_type: slot_type.clone(),
                    delivery: DeliveryMode::InPerson,
                    availability: *availability,
                    reserved_for: *reserved_for,
                };
                let schedule = Schedule::from_templates(&[template], *date, *date, &self.ids)?;
                for (i, slot) in schedule.slots.iter().enumerate() {
                    self.names.slots.insert(format!("{name}.{i}"), slot.id);
                }
                self.store.add_schedule(&schedule).await?;
                (
                    "done".into(),
                    Some(format!("{} slots", schedule.slots.len())),
                )
            }
            Step::Patient {
                name,
                born,
                kind,
                online,
                services,
            } => {
                let patient = PatientId::new(&self.ids);
                let nhs = nhs_number(self.names.nhs);
                self.names.nhs += 1;
                let listed_on = (*born).max(shift(today, -365)?);
                self.store
                    .put_listed_patient(&ListedPatient::new(patient, nhs, *born, *kind, listed_on)?)
                    .await?;
                self.names.patients.insert(name.clone(), patient);
                if *online {
                    let desk = self.desk()?;
                    let registration = Registration {
                        nhs_number: nhs,
                        date_of_birth: *born,
                        registration: *kind,
                        practice: OdsCode::parse("A81001")?,
                    };
                    let refusal = |a: Answer<gp_access::AccessRecord, Refused>| {
                        a.refusal().map(|r| r.code().to_owned())
                    };
                    if let Some(code) = refusal(
                        self.practice
                            .register(&desk, patient, &registration)
                            .await?,
                    ) {
                        return Ok((code, None));
                    }
                    let verified = self
                        .practice
                        .verify_identity(&desk, patient, VerificationMethod::DocumentsSeen)
                        .await?;
                    if let Some(code) = refusal(verified) {
                        return Ok((code, None));
                    }
                    if let Some(code) =
                        refusal(self.practice.set_services(&desk, patient, services).await?)
                    {
                        return Ok((code, None));
                    }
                }
                ("done".into(), Some(patient.to_string()))
            }
            Step::Proxy {
                by,
                name,
                patient,
                basis,
                scopes,
                start_in_days,
                end_in_days,
                applicant_verified,
                patient_checked,
                refuse,
            } => {
                let proxy = ProxyId::new(&self.ids);
                let decider = self.by(by.as_deref().unwrap_or("desk"), None, None)?;
                let staff = self.names.staff.get("desk").map(|p| p.staff);
                let input = ProxyApplicationInput {
                    applicant: proxy,
                    applicant_name: name.clone(),
                    applicant_identity: applicant_verified.then_some(IdentityVerification {
                        method: VerificationMethod::DocumentsSeen,
                        verified_by: staff,
                        at: now,
                    }),
                    patient_identity_checked: *patient_checked,
                    basis: basis.clone(),
                    scopes: scopes.clone(),
                    care_home: None,
                };
                let days = |d: i64| {
                    today
                        .checked_add_signed(Duration::try_days(d).unwrap_or(Duration::MAX))
                        .ok_or_else(|| format!("{d} days from today is not a date"))
                };
                let verdict = match refuse {
                    Some(why) => ApplicationVerdict::Refuse(why.clone()),
                    None => ApplicationVerdict::Grant {
                        start: days(*start_in_days)?,
                        end: end_in_days.map(days).transpose()?,
                        review: None,
                    },
                };
                let a = self
                    .practice
                    .proxy_application(&decider, self.patient(patient)?, &input, &verdict)
                    .await?;
                self.names.proxies.insert(name.clone(), proxy);
                answer(a, |_| Some(proxy.to_string()))
            }
            Step::Item {
                name,
                patient,
                medicine,
                last_issued_days_ago,
                issues_remaining,
                review_in_days,
            } => {
                let item = repeat_item_with(
                    &self.ids,
                    self.patient(patient)?,
                    *medicine,
                    last_issued_days_ago.map(|d| shift(today, -d)).transpose()?,
                    *issues_remaining,
                    shift(today, *review_in_days)?,
                )?;
                let system = self.by("system", None, None)?;
                let a = self.practice.put_item(&system, &item).await?;
                self.names.items.insert(name.clone(), item.id);
                answer(a, |i| Some(i.id.to_string()))
            }
            Step::BookingPolicy { by, settings } => {
                let by = self.by(by, None, None)?;
                let settings = script::booking_settings(settings, |name| {
                    self.names.staff.get(name).map(|p| p.staff.to_string())
                })?;
                let policy = BookingPolicy::new(settings)?;
                answer(self.practice.set_booking_policy(&by, &policy).await?, |p| {
                    Some(format!("version {}", p.version))
                })
            }
            Step::PrescribingSettings { by, settings } => {
                let by = self.by(by, None, None)?;
                answer(
                    self.practice
                        .set_prescribing_settings(&by, settings)
                        .await?,
                    |_| None,
                )
            }
            Step::MessagingSettings { by, settings } => {
                let by = self.by(by, None, None)?;
                answer(
                    self.practice.set_messaging_settings(&by, settings).await?,
                    |_| None,
                )
            }
            Step::Search {
                by,
                patient,
                channel,
                from,
                to,
                expect_slots,
                filter,
            } => {
                let who = self.by(by, Some(patient), *channel)?;
                let from = local_to_utc(from.date(), from.time())?;
                let to = local_to_utc(to.date(), to.time())?;
                let mut query = SearchQuery::between(from, to);
                if let Some(f) = filter {
                    query.organisation_filter = gp_booking::OrganisationFilter {
                        ods: f.ods,
                        kind: f.kind,
                    };
                }
                let a = self
                    .practice
                    .search(&who, self.patient(patient)?, query)
                    .await?;
                let (result, id) = answer(a, |found| Some(format!("{} slots", found.len())));
                if let (Some(want), Some(got)) = (expect_slots, &id) {
                    if got != &format!("{want} slots") {
                        return Ok((format!("found {got}, expected {want} slots"), None));
                    }
                }
                (result, id)
            }
            Step::Book {
                by,
                patient,
                slot,
                channel,
                name,
                override_reason,
                adjacent,
            } => {
                let who = self.by(by, Some(patient), *channel)?;
                let request = BookRequest {
                    actor: who.actor,
                    channel: who.channel,
                    patient: self.patient(patient)?,
                    slot: Self::get(&self.names.slots, slot)?,
                    description: None,
                    comment: None,
                    holding_limit_override: override_reason
                        .as_deref()
                        .map(OverrideReason::parse)
                        .transpose()?,
                    organisation_contact: None,
                    adjacent: adjacent
                        .iter()
                        .map(|s| Self::get(&self.names.slots, s))
                        .collect::<Result<_, _>>()?,
                };
                let a = self.practice.book(&request).await?;
                if let (Answer::Done(b), Some(n)) = (&a, name) {
                    self.names.bookings.insert(n.clone(), b.id);
                }
                answer(a, |b| Some(b.id.to_string()))
            }
            Step::Amend {
                by,
                patient,
                booking,
                description,
                comment,
                channel,
                version,
            } => {
                let who = self.by(by, patient.as_deref(), *channel)?;
                let request = AmendRequest {
                    version: *version,
                    actor: who.actor,
                    channel: who.channel,
                    booking: Self::get(&self.names.bookings, booking)?,
                    description: Some(BookingDescription::parse(description)?),
                    comment: comment.as_deref().map(BookingComment::parse).transpose()?,
                };
                answer(self.practice.amend(&request).await?, |b| {
                    Some(format!("version {}", b.version()))
                })
            }
            Step::Organisation { name, ods, kind } => {
                self.names.organisations.insert(
                    name.clone(),
                    Actor::Organisation {
                        ods: *ods,
                        kind: *kind,
                        requester: None,
                    },
                );
                ("done".into(), Some(ods.to_string()))
            }
            Step::Cancel {
                by,
                patient,
                booking,
                channel,
            } => {
                let who = self.by(by, patient.as_deref(), *channel)?;
                let request = CancelRequest {
                    actor: who.actor,
                    channel: who.channel,
                    booking: Self::get(&self.names.bookings, booking)?,
                    reason: CancellationReason::parse("Replayed cancellation")?,
                    version: None,
                };
                answer(self.practice.cancel(&request).await?, |b| {
                    Some(b.id.to_string())
                })
            }
            Step::Reschedule {
                by,
                patient,
                booking,
                slot,
                channel,
                name,
            } => {
                let who = self.by(by, patient.as_deref(), *channel)?;
                let request = RescheduleRequest {
                    actor: who.actor,
                    channel: who.channel,
                    booking: Self::get(&self.names.bookings, booking)?,
                    new_slot: Self::get(&self.names.slots, slot)?,
                    reason: CancellationReason::parse("Replayed move")?,
                    holding_limit_override: None,
                };
                let a = self.practice.reschedule(&request).await?;
                if let (Answer::Done(b), Some(n)) = (&a, name) {
                    self.names.bookings.insert(n.clone(), b.id);
                }
                answer(a, |b| Some(b.id.to_string()))
            }
            Step::Order {
                by,
                patient,
                items,
                channel,
                message,
                name,
                expect_lines,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let channel = channel.unwrap_or(match who.actor {
                    Actor::Patient { .. } | Actor::Proxy { .. } => RequestChannel::Online,
                    _ => RequestChannel::Telephone,
                });
                let items = items
                    .iter()
                    .map(|i| Self::get(&self.names.items, i))
                    .collect::<Result<Vec<_>, _>>()?;
                let request = OrderRequest::new(
                    who.actor,
                    channel,
                    self.patient(patient)?,
                    items,
                    message.as_deref(),
                )?;
                match self.practice.order(&request).await? {
                    Answer::Done(ordered) => {
                        if let Some(n) = name {
                            self.names.requests.insert(n.clone(), ordered.request.id);
                        }
                        let mut got: Vec<String> = ordered
                            .refused
                            .iter()
                            .map(|r| gp_core::Reason::code(&r.reason).to_owned())
                            .collect();
                        got.sort();
                        if let Some(want) = expect_lines {
                            let mut want = want.clone();
                            want.sort();
                            if want != got {
                                return Ok((
                                    format!("lines refused {got:?}, expected {want:?}"),
                                    None,
                                ));
                            }
                        }
                        ("done".into(), Some(ordered.request.id.to_string()))
                    }
                    Answer::Refused(r) => (r.code().into(), None),
                }
            }
            Step::Line {
                by,
                patient,
                request,
                item,
                kind,
                channel,
            } => {
                let who = self.by(by, Some(patient), *channel)?;
                let action = LineAction {
                    actor: who.actor,
                    channel: who.channel,
                    patient: self.patient(patient)?,
                    request: Self::get(&self.names.requests, request)?,
                    item: Self::get(&self.names.items, item)?,
                };
                let a = match kind {
                    LineMove::Cancel => self.practice.cancel_line(&action).await?,
                    LineMove::Approve => {
                        self.practice
                            .prescriber_move(&action, &PrescriberMove::Approve)
                            .await?
                    }
                    LineMove::Reject => {
                        self.practice
                            .prescriber_move(
                                &action,
                                &PrescriberMove::Reject("Replayed rejection".into()),
                            )
                            .await?
                    }
                    LineMove::Issue => {
                        self.practice
                            .prescriber_move(&action, &PrescriberMove::Issue)
                            .await?
                    }
                };
                answer(a, |r| Some(r.id.to_string()))
            }
            Step::Flag { by, patient, item } => {
                let who = self.by(by, Some(patient), None)?;
                let action = ItemAction {
                    actor: who.actor,
                    channel: who.channel,
                    patient: self.patient(patient)?,
                    item: Self::get(&self.names.items, item)?,
                };
                answer(
                    self.practice
                        .flag_not_taken(&action, Some("No longer taken"))
                        .await?,
                    |i| Some(i.id.to_string()),
                )
            }
            Step::Review {
                by,
                patient,
                item,
                end,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let action = ItemAction {
                    actor: who.actor,
                    channel: who.channel,
                    patient: self.patient(patient)?,
                    item: Self::get(&self.names.items, item)?,
                };
                let outcome = match end {
                    Some(why) => ReviewOutcome::End(why.clone()),
                    None => ReviewOutcome::Keep,
                };
                answer(self.practice.review_item(&action, &outcome).await?, |i| {
                    Some(i.id.to_string())
                })
            }
            Step::Restrict { by, patient, scope } => {
                let who = self.by(by, Some(patient), None)?;
                let restriction = scope.map(|s| (s, "Replayed restriction"));
                answer(
                    self.practice
                        .restrict_ordering(&who, self.patient(patient)?, restriction)
                        .await?,
                    |_| None,
                )
            }
            Step::Send {
                by,
                patient,
                subject,
                body,
                about_booking,
                about_item,
                channel,
                name,
            } => {
                let who = self.by(by, Some(patient), *channel)?;
                let link = match (about_booking, about_item) {
                    (Some(b), _) => Some(MessageLink::Appointment(Self::get(
                        &self.names.bookings,
                        b,
                    )?)),
                    (None, Some(i)) => {
                        Some(MessageLink::Medication(Self::get(&self.names.items, i)?))
                    }
                    (None, None) => None,
                };
                let message = NewMessage::new(
                    who.actor,
                    who.channel,
                    self.patient(patient)?,
                    subject,
                    body,
                    link,
                )?;
                let a = self.practice.send(&message).await?;
                if let (Answer::Done(m), Some(n)) = (&a, name) {
                    self.names.messages.insert(n.clone(), m.id);
                }
                answer(a, |m| Some(m.id.to_string()))
            }
            Step::Reply {
                by,
                patient,
                message,
                body,
                channel,
            } => {
                let who = self.by(by, patient.as_deref(), *channel)?;
                let action = MessageAction {
                    actor: who.actor,
                    channel: who.channel,
                    message: Self::get(&self.names.messages, message)?,
                };
                answer(self.practice.reply(&action, body).await?, |m| {
                    Some(m.id.to_string())
                })
            }
            Step::Mark {
                by,
                message,
                to,
                channel,
            } => {
                let who = self.by(by, None, *channel)?;
                let action = MessageAction {
                    actor: who.actor,
                    channel: who.channel,
                    message: Self::get(&self.names.messages, message)?,
                };
                let to = match to {
                    MarkTo::Read => InboxMove::Read,
                    MarkTo::Handled => InboxMove::Handled,
                };
                answer(self.practice.mark_message(&action, to).await?, |m| {
                    Some(m.id.to_string())
                })
            }
            Step::Authorize {
                by,
                patient,
                action,
                channel,
            } => {
                let who = self.by(by, Some(patient), *channel)?;
                answer(
                    self.practice
                        .authorize(&who, self.patient(patient)?, *action)
                        .await?,
                    |_| None,
                )
            }
            Step::RevokeProxy {
                by,
                patient,
                proxy,
                reason,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let proxy = Self::get(&self.names.proxies, proxy)?;
                answer(
                    self.practice
                        .revoke_proxy(&who, self.patient(patient)?, proxy, reason)
                        .await?,
                    |_| None,
                )
            }
            Step::Concern {
                by,
                patient,
                proxy,
                text,
                name,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let proxy = proxy
                    .as_deref()
                    .map(|p| Self::get(&self.names.proxies, p))
                    .transpose()?;
                let a = self
                    .practice
                    .coercion_concern(&who, self.patient(patient)?, proxy, text)
                    .await?;
                if let (Answer::Done(id), Some(n)) = (&a, name) {
                    self.names.concerns.insert(n.clone(), *id);
                }
                answer(a, |id| Some(id.to_string()))
            }
            Step::ConcernReview {
                by,
                patient,
                concern,
                outcome,
                text,
            } => {
                let who = self.by(by, Some(patient), None)?;
                let concern = Self::get(&self.names.concerns, concern)?;
                answer(
                    self.practice
                        .coercion_review(&who, self.patient(patient)?, concern, *outcome, text)
                        .await?,
                    |_| None,
                )
            }
        })
    }
}

/// `date` moved by `days` (negative for earlier), or why not.
fn shift(date: NaiveDate, days: i64) -> Result<NaiveDate, Error> {
    Duration::try_days(days)
        .and_then(|d| date.checked_add_signed(d))
        .ok_or_else(|| format!("{days} days from {date} is not a date").into())
}

/// A listing's answer, checked against the count the line expects.
fn counted(
    (result, id): (String, Option<String>),
    expect: Option<usize>,
    what: &str,
) -> (String, Option<String>) {
    match (expect, &id) {
        (Some(want), Some(got)) if *got != format!("{want} {what}") => {
            (format!("found {got}, expected {want} {what}"), None)
        }
        _ => (result, id),
    }
}

/// The name of a step's kind, as written in the script.
fn kind(step: &Step) -> String {
    format!("{step:?}")
        .split([' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Whether a line checks a count (`expect_slots`, `expect_lines`,
/// `expect_count`), which implies it expects `done`.
fn checks_a_count(step: &Step) -> bool {
    matches!(
        step,
        Step::Search {
            expect_slots: Some(_),
            ..
        } | Step::Order {
            expect_lines: Some(_),
            ..
        } | Step::ReviewsDue {
            expect_count: Some(_),
            ..
        } | Step::UnusedProxies {
            expect_count: Some(_),
            ..
        }
    )
}

/// Whether a step sets the practice up (its result must be `done` unless it says otherwise).
fn is_setup(step: &Step) -> bool {
    matches!(
        step,
        Step::Staff { .. }
            | Step::Session { .. }
            | Step::Patient { .. }
            | Step::Organisation { .. }
            | Step::Proxy { .. }
            | Step::Item { .. }
    )
}

/// Runs a script (already checked) on `store`; every line's outcome, in order.
pub(crate) async fn replay(text: &str, store: Arc<SqliteStore>) -> Result<Vec<Outcome>, Error> {
    let lines = script::parse(text)?;
    let start = lines.iter().find_map(|l| l.at).unwrap_or(local_to_utc(
        NaiveDate::from_ymd_opt(2026, 6, 1).ok_or("a date")?,
        chrono::NaiveTime::MIN,
    )?);
    let clock = Arc::new(FixedClock::new(start));
    let practice = Practice::with_sources(
        store.clone(),
        clock.clone(),
        Box::new(SequentialIds::new(1)),
        Box::new(gp_core::OsRandom),
    );
    let ids = SequentialIds::new(2);
    let manager = StaffProfile::new(
        StaffId::new(&ids),
        "Practice manager",
        StaffRole::PracticeManager,
    );
    let desk = StaffProfile::new(
        StaffId::new(&ids),
        "Reception desk",
        StaffRole::Receptionist,
    )
    .with_competencies([
        Competency::VerifyIdentity,
        Competency::ProxyApplications,
        Competency::RecogniseCoercion,
    ]);
    practice.first_manager(&manager).await?;
    practice
        .put_staff(&By::staff(&manager, Channel::Reception), &desk)
        .await?;
    let mut replay = Replay {
        practice,
        store,
        clock,
        ids,
        names: Names::default(),
    };
    replay.names.staff.insert("manager".into(), manager);
    replay.names.staff.insert("desk".into(), desk);
    let mut out = Vec::new();
    for line in &lines {
        if let Some(at) = line.at {
            replay.clock.set(at);
        }
        let (result, id) = match replay.step(&line.step).await {
            Ok(r) => r,
            Err(e) => (format!("error: {e}"), None),
        };
        let expected = line.expect.clone().or_else(|| {
            (is_setup(&line.step) || checks_a_count(&line.step)).then(|| "done".to_owned())
        });
        // A count that disagrees: the action was done, the check failed.
        let miscounted = result.starts_with("found ") || result.starts_with("lines refused ");
        let as_expected = match &expected {
            None => !result.starts_with("error"),
            Some(want) => *want == result || (want == "error" && result.starts_with("error")),
        };
        let mut json = json!({
            "line": line.number,
            "do": kind(&line.step),
            "at": gp_core::to_local(replay.clock.now()).format("%Y-%m-%dT%H:%M").to_string(),
            "outcome": if result == "done" || miscounted { "done" } else if result.starts_with("error") { "error" } else { "refused" },
            "result": result,
        });
        if let Some(id) = id {
            json["id"] = Value::String(id);
        }
        if let Some(want) = &expected {
            json["expect"] = Value::String(want.clone());
            json["as_expected"] = Value::Bool(as_expected);
        }
        out.push(Outcome {
            line: line.number,
            result,
            as_expected,
            json,
        });
    }
    Ok(out)
}

/// The reason codes and settings a script's lines name.
pub(crate) fn covered(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for raw in text.lines() {
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(raw.trim()) {
            if let Some(Value::String(e)) = o.get("expect") {
                out.insert(e.clone());
            }
            if let Some(Value::Array(lines)) = o.get("expect_lines") {
                out.extend(lines.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            if let Some(Value::Object(settings)) = o.get("settings") {
                out.extend(settings.keys().cloned());
            }
            if o.get("reserved_for").is_some_and(|r| !r.is_null()) {
                out.insert("reserved_for".into());
            }
            if o.get("do").and_then(Value::as_str) == Some("restrict") {
                out.insert("OrderingRestriction".into());
                if let Some(Value::String(scope)) = o.get("scope") {
                    out.insert(scope.clone());
                }
            }
        }
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let usage = "Usage: cargo run --example replay -- SCRIPT.jsonl [--db PATH]\n\
                 --db PATH  keep the practice in a new database file (default: in memory)\n\
                 The format: docs/scenarios.md";
    let fail = |message: String| -> ! {
        eprintln!("replay: {message}\n{usage}");
        std::process::exit(2)
    };
    let mut args = std::env::args().skip(1);
    let (mut path, mut db) = (None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--db" => match args.next() {
                Some(p) if !p.is_empty() && !p.starts_with("--") => db = Some(p),
                _ => fail("--db needs a path".into()),
            },
            "--help" | "-h" => {
                println!("{usage}");
                return;
            }
            other if other.starts_with('-') => fail(format!("unknown option {other:?}")),
            _ if path.is_some() => fail(format!("one script at a time, not also {a:?}")),
            _ => path = Some(a),
        }
    }
    let Some(path) = path else {
        fail("name a script".into())
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => fail(format!("cannot read {path}: {e}")),
    };
    // A bad script is refused whole, before anything runs.
    if let Err(e) = script::parse(&text) {
        eprintln!("replay: {path}: {e}; nothing was run");
        std::process::exit(2);
    }
    if let Some(db) = &db {
        // A replay starts from an empty practice: never add to a database.
        if std::fs::metadata(db).is_ok_and(|m| m.len() > 0 || m.is_dir()) {
            fail(format!(
                "{db} exists; name a new file (a replay starts from an empty practice)"
            ));
        }
    }
    let store = match db
        .as_deref()
        .map(SqliteStore::open)
        .unwrap_or_else(SqliteStore::open_in_memory)
    {
        Ok(s) => Arc::new(s),
        Err(e) => fail(e.to_string()),
    };
    match replay(&text, store).await {
        Ok(outcomes) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let mut failed = 0;
            for o in &outcomes {
                if writeln!(out, "{}", o.json).is_err() {
                    // Whoever reads the results has gone (a closed pipe).
                    std::process::exit(1);
                }
                if !o.as_expected {
                    failed += 1;
                }
            }
            let _ = out.flush();
            if failed > 0 {
                eprintln!(
                    "replay: {failed} of {} lines disagreed with what they expected",
                    outcomes.len()
                );
                std::process::exit(1);
            }
            eprintln!(
                "replay: all {} lines as expected (naming {} reason codes and settings)",
                outcomes.len(),
                covered(&text).len()
            );
        }
        Err(e) => {
            eprintln!("replay: {e}");
            std::process::exit(1);
        }
    }
}
