//! [`Practice`]: every action, authorized from the stored records, decided
//! by the domain rules, committed with its audit events.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use gp_access::{
    AccessRecord, AccessRefusal, AccessSettings, AccessStore, Action, ApplicationVerdict, By,
    ConcernOutcome, LegalBasis, LinkageDetails, PatientList, ProxyApplicationInput, ProxyGrant,
    Registration, ReviewReason, Service, StaffProfile, SuspensionReason, VerificationMethod,
};
use gp_booking::{
    AmendRequest, BookRequest, Booking, BookingPolicy, BookingRefusal, BookingStore, CancelRequest,
    PolicyFacts, RescheduleRequest, SearchQuery, SearchRequest, Slot,
};
use gp_core::{
    AccountId, Actor, Clock, ConcernId, IdSource, OdsCode, OsRandom, PatientId, ProxyId, RandomIds,
    RandomSource, Reason, StoreError,
};
use gp_messaging::{
    InboxMove, Message, MessageAction, MessageStore, MessagingRefusal, MessagingSettings,
    NewMessage,
};
use gp_prescribing::{
    ItemAction, LineAction, OrderRefused, OrderRequest, OrderingRestriction, PatientRecord,
    PrescribingRefusal, PrescribingSettings, PrescribingStore, RepeatItem, RepeatRequest,
    RestrictionScope, ReviewOutcome,
};

use crate::unchecked::{
    patient_facts, Access, Appointments, Authorized, BeforeRegistration, Gate, Messages, Ordered,
    PrescriberMove, Prescriptions,
};
use crate::{Answer, OnlineError};

/// Why a request through [`Practice`] was refused: by the access rules
/// (asked first), or by the rules of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The access rules said no (recorded as a denied authorization).
    Access(AccessRefusal),
    /// The booking policy said no.
    Booking(BookingRefusal),
    /// The repeat prescribing rules said no (for a line or item, `lines` is empty).
    Prescribing(OrderRefused),
    /// The messaging rules said no.
    Messaging(MessagingRefusal),
    /// The problem log said no.
    Problem(gp_monitoring::ProblemRefusal),
}

impl Refused {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::Access(r) => r.code(),
            Refused::Booking(r) => r.code(),
            Refused::Prescribing(r) => r.reason.code(),
            Refused::Messaging(r) => r.code(),
            Refused::Problem(r) => r.code(),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Access(r) => r.fmt(f),
            Refused::Booking(r) => r.fmt(f),
            Refused::Prescribing(r) => r.reason.fmt(f),
            Refused::Messaging(r) => r.fmt(f),
            Refused::Problem(r) => r.fmt(f),
        }
    }
}

impl From<AccessRefusal> for Refused {
    fn from(r: AccessRefusal) -> Self {
        Refused::Access(r)
    }
}

impl From<BookingRefusal> for Refused {
    fn from(r: BookingRefusal) -> Self {
        Refused::Booking(r)
    }
}

impl From<OrderRefused> for Refused {
    fn from(r: OrderRefused) -> Self {
        Refused::Prescribing(r)
    }
}

impl From<PrescribingRefusal> for Refused {
    fn from(r: PrescribingRefusal) -> Self {
        Refused::Prescribing(OrderRefused::whole(r))
    }
}

impl From<gp_monitoring::ProblemRefusal> for Refused {
    fn from(r: gp_monitoring::ProblemRefusal) -> Self {
        Refused::Problem(r)
    }
}

impl From<MessagingRefusal> for Refused {
    fn from(r: MessagingRefusal) -> Self {
        Refused::Messaging(r)
    }
}

/// A store that implements every port a practice needs, such as
/// `gp_sqlite::SqliteStore`. Implemented for any type that implements them all.
pub trait PracticeStore:
    BookingStore
    + PrescribingStore
    + MessageStore
    + AccessStore
    + PatientList
    + gp_monitoring::ProblemStore
    + 'static
{
}

impl<T> PracticeStore for T where
    T: BookingStore
        + PrescribingStore
        + MessageStore
        + AccessStore
        + PatientList
        + gp_monitoring::ProblemStore
        + 'static
{
}

type Answered<T> = Result<Answer<T, Refused>, OnlineError>;

/// One practice over one store that implements every port, with one clock:
/// the only door a supplier's system calls.
///
/// Every method that acts for somebody takes who acts and through which
/// channel (in a [`By`], or in the request), authorizes it from the stored
/// records (see the crate documentation), then decides and commits. A
/// member of staff acts in the role their stored profile gives; an unknown
/// staff id is refused as `UnknownStaff`, and audited. Staff serve any
/// patient on the practice's list ([`PatientList`]); patients and proxies
/// need an online account. Reads that change nothing (a search, a list)
/// record only a denial, unless the practice records every read
/// ([`Practice::recording_every_read`]); another organisation's every look
/// at a patient's appointments is recorded either way.
pub struct Practice<S, C> {
    store: Arc<S>,
    ids: Arc<dyn IdSource>,
    clock: Arc<C>,
    every_read: bool,
    access: Access<Arc<S>, Arc<C>>,
    appointments: Appointments<Arc<S>, Arc<C>>,
    repeats: Prescriptions<Arc<S>, Arc<C>>,
    messages: Messages<Arc<S>, Arc<C>>,
    problems: crate::unchecked::Problems<Arc<S>, Arc<C>>,
    max_attempts: u32,
}

/// Whether an allowed authorization's event is committed with the action
/// (a change), left out (a look-up before the service's own answer), or
/// recorded once the read is done when the practice records reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    Allowed,
    DenialsOnly,
    Read,
}

/// A request refused before it reached a decision: what an adapter (such
/// as `gp-http`) found wrong with it, recorded with
/// [`Practice::record_fault`] so that every request leaves its trace. Each
/// has a stable reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestFault {
    /// The request could not be read: malformed syntax, a body not
    /// taken, a required parameter or header missing (`MalformedRequest`).
    Malformed,
    /// The request was read but breaks the rules of the interface: a
    /// resource or parameter that is not valid (`InvalidRequest`).
    Invalid,
    /// It names something the asker cannot see or that does not exist
    /// (`RecordNotFound`).
    NotFound,
    /// The asker may not use this request at all, such as a member of
    /// staff asking for a patient's own renewals (`RequestNotForActor`).
    NotForActor,
    /// The version it names (`If-Match`) is not the current one
    /// (`VersionMismatch`).
    VersionMismatch,
    /// The same request (by its request id) is still being made
    /// (`RequestInProgress`).
    InProgress,
    /// No such operation: a path or method the interface does not offer,
    /// or an answer format it cannot give (`UnsupportedRequest`).
    Unsupported,
}

impl Reason for RequestFault {
    fn code(&self) -> &'static str {
        match self {
            RequestFault::Malformed => "MalformedRequest",
            RequestFault::Invalid => "InvalidRequest",
            RequestFault::NotFound => "RecordNotFound",
            RequestFault::NotForActor => "RequestNotForActor",
            RequestFault::VersionMismatch => "VersionMismatch",
            RequestFault::InProgress => "RequestInProgress",
            RequestFault::Unsupported => "UnsupportedRequest",
        }
    }
}

/// A request an adapter refused before it reached a decision, as
/// [`Practice::record_fault`] records it: the fault, and what is known of
/// what it asked (the action, the patient, the booking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectedRequest {
    /// What was wrong with it.
    pub fault: RequestFault,
    /// What it asked to do, when known.
    pub action: Option<Action>,
    /// The patient it concerned, when known (for a patient or proxy, the
    /// patient they act for is recorded whatever this says).
    pub patient: Option<PatientId>,
    /// The booking it named, when known.
    pub booking: Option<gp_core::BookingId>,
}

impl RejectedRequest {
    /// A request refused for `fault`, nothing more known.
    pub fn new(fault: RequestFault) -> Self {
        Self {
            fault,
            action: None,
            patient: None,
            booking: None,
        }
    }

    /// It asked to take `action`.
    pub fn of(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// It concerned `patient`.
    pub fn about(mut self, patient: PatientId) -> Self {
        self.patient = Some(patient);
        self
    }

    /// It named `booking`.
    pub fn booking(mut self, booking: gp_core::BookingId) -> Self {
        self.booking = Some(booking);
        self
    }
}

impl fmt::Display for RequestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestFault::Malformed => "The request could not be read.",
            RequestFault::Invalid => "The request is not valid.",
            RequestFault::NotFound => "No such record.",
            RequestFault::NotForActor => "This request is not for you.",
            RequestFault::VersionMismatch => "The record has changed since it was read.",
            RequestFault::InProgress => "The same request is still being made.",
            RequestFault::Unsupported => "That request is not offered here.",
        })
    }
}

impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// The practice over `store` and `clock`, with random identifiers and
    /// the operating system's secure generator for linkage keys. Its
    /// settings are the ones stored (the defaults until changed).
    pub fn new(store: Arc<S>, clock: Arc<C>) -> Self {
        Self::with_sources(store, clock, Box::new(RandomIds), Box::new(OsRandom))
    }

    /// Like [`Practice::new`], with identifiers and random bytes from the
    /// given sources (for repeatable tests; never a seeded source in production).
    pub fn with_sources(
        store: Arc<S>,
        clock: Arc<C>,
        ids: Box<dyn IdSource>,
        random: Box<dyn RandomSource>,
    ) -> Self {
        let ids: Arc<dyn IdSource> = ids.into();
        let shared = || -> Box<dyn IdSource> { Box::new(SharedIds(ids.clone())) };
        Self {
            access: Access::with_sources(store.clone(), clock.clone(), shared(), random),
            appointments: Appointments::with_ids(store.clone(), clock.clone(), shared()),
            repeats: Prescriptions::with_ids(store.clone(), clock.clone(), shared()),
            messages: Messages::with_ids(store.clone(), clock.clone(), shared()),
            problems: crate::unchecked::Problems::with_ids(store.clone(), clock.clone(), shared()),
            store,
            ids,
            clock,
            every_read: false,
            max_attempts: 16,
        }
    }

    /// The same practice, recording every allowed read as well as every
    /// denial: each search, list and look at a patient's record leaves an
    /// allowed `access.authorize` event naming who looked, at what and for
    /// whom, appended once the read is done (a read whose record cannot be
    /// stored is not answered). GP Connect expects a provider to audit
    /// every request; `gp-http` documents this switch. Without it, reads
    /// record only denials (and another organisation's looks at a
    /// patient's appointments).
    pub fn recording_every_read(mut self) -> Self {
        self.every_read = true;
        self
    }

    /// Whether every allowed read is recorded ([`Practice::recording_every_read`]).
    pub fn records_every_read(&self) -> bool {
        self.every_read
    }

    /// Records that `by`'s request was refused before it reached a
    /// decision (`rejected`: a malformed body, a stale `If-Match`, ...):
    /// one refused `request.rejected` event naming the action and the
    /// booking when known, and the patient: for a patient or proxy, the
    /// patient they act for (whatever the adapter names); for anyone else,
    /// the patient the adapter names, if any. Nothing else changes. A
    /// member of staff is recorded in the role their stored profile gives
    /// (as every decision records them), an unknown one as the request
    /// named them; the adapter calls this only once it knows who is asking.
    pub async fn record_fault(
        &self,
        by: &By,
        rejected: &RejectedRequest,
    ) -> Result<(), OnlineError> {
        let patient = match by.actor.speaks_for() {
            Some(own) => Some(own),
            None => rejected.patient,
        };
        let actor = match by.actor {
            Actor::Staff { staff, .. } => {
                match AccessStore::staff(self.store.as_ref(), staff).await? {
                    Some(profile) => Actor::Staff {
                        staff,
                        role: profile.role,
                    },
                    None => by.actor,
                }
            }
            other => other,
        };
        let asker = By {
            actor,
            channel: by.channel,
        };
        let mut event = self.decided_now(
            &asker,
            patient,
            "request.rejected",
            gp_core::Outcome::Refused(rejected.fault.reason_code()),
        );
        if let Some(action) = rejected.action {
            event = event.with_detail("action", action.name());
        }
        if let Some(booking) = rejected.booking {
            event = event.with_subject(gp_core::SubjectKind::Booking, booking);
        }
        self.record_alone(event).await
    }

    /// Records an allowed read by `by` of `action`, once it is done;
    /// `patient` is `None` for a read that concerns no one patient.
    async fn record_read(
        &self,
        by: &By,
        patient: Option<PatientId>,
        action: Action,
    ) -> Result<(), OnlineError> {
        let event = self
            .decided_now(by, patient, "access.authorize", gp_core::Outcome::Allowed)
            .with_detail("action", action.name());
        self.record_alone(event).await
    }

    /// An event of `by`'s, decided now.
    fn decided_now(
        &self,
        by: &By,
        patient: Option<PatientId>,
        action: &'static str,
        outcome: gp_core::Outcome,
    ) -> gp_core::AuditEvent {
        gp_core::AuditEvent::decided(
            self.ids.as_ref(),
            self.clock.now(),
            by.actor,
            by.channel,
            patient,
            action,
            outcome,
        )
    }

    /// Appends one event that comes with no change.
    async fn record_alone(&self, event: gp_core::AuditEvent) -> Result<(), OnlineError> {
        AccessStore::record_refusal(self.store.as_ref(), &[event]).await?;
        Ok(())
    }

    /// Whether `by`'s allowed reads are recorded: every read when the
    /// practice records them, and another organisation's always.
    fn records_reads_of(&self, by: &By) -> bool {
        self.every_read || matches!(by.actor, Actor::Organisation { .. })
    }

    /// The store (for the supplier's own reads, such as the audit trail).
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// May `by` take `action` for `patient` now? The same question every
    /// action asks first, asked alone (for a supplier's screen deciding what
    /// to offer); the answer is recorded either way.
    pub async fn authorize(&self, by: &By, patient: PatientId, action: Action) -> Answered<()> {
        let listed = self.store.listed_patient(patient).await?;
        // The same answer `book` would give a listed patient with no account.
        let allows_one = action == Action::BookAppointment
            && matches!(by.actor, Actor::Patient { .. })
            && listed.is_some()
            && self
                .appointments
                .policy()
                .await?
                .policy
                .settings()
                .before_registration
                == gp_booking::BeforeRegistration::AllowOne;
        Ok(refused(
            self.access
                .authorize_listed(by, patient, action, listed.as_ref(), allows_one)
                .await?,
        ))
    }

    /// Authorizes `by` for `action` on `patient` from the stored records,
    /// then runs `act` with what was allowed; if the access record changed
    /// before the action committed, authorizes again.
    async fn act<T, F, Fut>(
        &self,
        by: &By,
        patient: PatientId,
        action: Action,
        record: Record,
        act: F,
    ) -> Answered<T>
    where
        F: Fn(Authorized) -> Fut,
        Fut: Future<Output = Answered<T>>,
    {
        // One read fewer when the store reads the list with the access record.
        let listed = if AccessStore::loads_listing(self.store.as_ref()) {
            None
        } else {
            Some(self.store.listed_patient(patient).await?)
        };
        let allows_one: &BeforeRegistration<'_> = &|| {
            Box::pin(async move {
                let policy = self.appointments.policy().await?.policy;
                Ok(policy.settings().before_registration
                    == gp_booking::BeforeRegistration::AllowOne)
            })
        };
        for _ in 0..self.max_attempts {
            match self
                .access
                .gate(by, patient, action, listed.clone(), Some(allows_one))
                .await?
            {
                Gate::Denied(r) => return Ok(Answer::Refused(Refused::Access(r))),
                Gate::Allowed(allowed) => {
                    let mut allowed = *allowed;
                    let read = match record {
                        Record::Allowed => Vec::new(),
                        Record::DenialsOnly => std::mem::take(&mut allowed.prior.events),
                        Record::Read => {
                            let mut events = std::mem::take(&mut allowed.prior.events);
                            if !self.records_reads_of(by) {
                                events.clear();
                            }
                            // A read of the practice's own lists concerns
                            // no patient: it names none.
                            let nobody = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
                            for e in &mut events {
                                if e.patient == Some(nobody) {
                                    e.patient = None;
                                    e.subjects.retain(|s| s.id != nobody.as_uuid());
                                }
                            }
                            events
                        }
                    };
                    match act(allowed).await {
                        Err(OnlineError::AccessChanged) => continue,
                        Ok(Answer::Done(t)) if record == Record::Read && !read.is_empty() => {
                            // No read is answered without its record.
                            AccessStore::record_refusal(self.store.as_ref(), &read).await?;
                            return Ok(Answer::Done(t));
                        }
                        other => return other,
                    }
                }
            }
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }

    /// Authorizes a change to the practice's settings (`area`): only the
    /// practice manager or a lead for online services. The settings are
    /// checked by the caller before this is asked.
    async fn settings_change<T, F, Fut>(&self, by: &By, area: &str, act: F) -> Answered<T>
    where
        F: FnOnce(Authorized) -> Fut,
        Fut: Future<Output = Answered<T>>,
    {
        match self.access.gate_settings(by, area).await? {
            Gate::Denied(r) => Ok(Answer::Refused(Refused::Access(r))),
            Gate::Allowed(allowed) => act(*allowed).await,
        }
    }

    /// For a request about something that is not stored (an unknown
    /// booking or message): asks the access rules about the actor alone (a
    /// patient or proxy, for `action` on their own patient; staff, for
    /// looking things up), so a refused actor hears the access answer and
    /// nobody learns what exists; answers whether the request may go on to
    /// the service's own `NotFound` answer, with the actor as the records
    /// say (a member of staff in their stored role).
    async fn lookup(&self, by: &By, action: Action) -> Result<Result<Actor, Refused>, OnlineError> {
        let (patient, action) = match (by.actor, by.actor.speaks_for()) {
            (Actor::System, _) => return Ok(Ok(by.actor)),
            // Another organisation may serve any patient of the practice:
            // an unknown booking is the service's own `BookingNotFound`.
            (Actor::Organisation { .. }, _) if gp_access::organisation_may(action) => {
                return Ok(Ok(by.actor))
            }
            // Anything else it asks is refused by the access rules, and
            // the denial recorded.
            (Actor::Organisation { .. }, _) => {
                (PatientId::from_uuid(gp_core::uuid::Uuid::nil()), action)
            }
            (_, Some(p)) => (p, action),
            (_, None) => (
                PatientId::from_uuid(gp_core::uuid::Uuid::nil()),
                Action::ViewWorkLists,
            ),
        };
        Ok(
            match self
                .act(by, patient, action, Record::DenialsOnly, |a| async move {
                    Ok(Answer::Done(a.by.actor))
                })
                .await?
            {
                Answer::Done(actor) => Ok(actor),
                Answer::Refused(r) => Err(r),
            },
        )
    }
}

/// What a request naming a booking finds: the stored booking, or, when it
/// names none, the door's answer to the asker (refused, or the actor as the
/// records say, to hear the service's own `BookingNotFound`).
enum Named {
    Stored(Box<Booking>),
    Unknown(Actor),
    Refused(Refused),
}

impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    async fn named_booking(
        &self,
        by: &By,
        id: gp_core::BookingId,
        action: Action,
    ) -> Result<Named, OnlineError> {
        Ok(
            match BookingStore::booking(self.store.as_ref(), id).await? {
                Some(booking) => Named::Stored(Box::new(booking)),
                None => match self.lookup(by, action).await? {
                    Ok(actor) => Named::Unknown(actor),
                    Err(r) => Named::Refused(r),
                },
            },
        )
    }
}

/// Checks a reason or note before anything is authorized: bad input is an
/// input error that records nothing.
fn text(input: &str, field: &'static str, required: bool) -> Result<(), OnlineError> {
    gp_core::bounded_text(input, field, gp_prescribing::MAX_REASON, required)
        .map_err(gp_prescribing::RequestError::from)?;
    Ok(())
}

impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// For a patient not registered online booking for themselves: whether
    /// an online booking was made for them before (live, cancelled or past),
    /// which uses the one a practice may allow before registration.
    async fn with_online_history(
        &self,
        mut facts: gp_booking::PatientFacts,
        actor: &Actor,
    ) -> Result<gp_booking::PatientFacts, OnlineError> {
        if facts.online.is_registered() || !matches!(actor, Actor::Patient { .. }) {
            return Ok(facts);
        }
        let bookings = self.appointments.bookings_for(facts.patient).await?;
        if bookings
            .iter()
            .any(|b| b.channel == gp_core::Channel::Online)
        {
            facts.online = gp_booking::OnlineRegistration::NotRegisteredBookedOnline;
        }
        Ok(facts)
    }
}

impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// Whose the appointment or medicine a message links to is (`None`: no
    /// such appointment, or no such medicine on the patient's list).
    async fn link_owner(&self, message: &NewMessage) -> Result<Option<PatientId>, OnlineError> {
        Ok(match message.link {
            None => Some(message.patient),
            Some(gp_messaging::MessageLink::Appointment(b)) => {
                BookingStore::booking(self.store.as_ref(), b)
                    .await?
                    .map(|b| b.patient)
            }
            Some(gp_messaging::MessageLink::Medication(m)) => {
                let record = self.repeats.record(message.patient).await?;
                record
                    .items
                    .iter()
                    .any(|i| i.id == m)
                    .then_some(message.patient)
            }
        })
    }
}

fn facts_of(a: &Authorized) -> Result<gp_booking::PatientFacts, OnlineError> {
    patient_facts(&a.record, a.listed.as_ref()).ok_or_else(|| {
        StoreError::Invalid(format!(
            "patient {} is neither on the practice's list nor registered online",
            a.record.patient
        ))
        .into()
    })
}

fn refused<T, R: Into<Refused>>(answer: Answer<T, R>) -> Answer<T, Refused> {
    answer.map_refusal(Into::into)
}

/// Appointments.
impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// Free slots `by` may book for `patient`, in order of start. Only a
    /// denial is recorded (a search changes nothing).
    pub async fn search(
        &self,
        by: &By,
        patient: PatientId,
        query: SearchQuery,
    ) -> Answered<Vec<Slot>> {
        let query = &query;
        self.act(
            by,
            patient,
            Action::BookAppointment,
            Record::Read,
            |a| async move {
                let request = SearchRequest {
                    actor: a.by.actor,
                    channel: a.by.channel,
                    patient: Some(facts_of(&a)?),
                    query: query.clone(),
                };
                Ok(refused(self.appointments.search(&request).await?))
            },
        )
        .await
    }

    /// Free slots another organisation (GP Connect's search for free slots,
    /// which names no patient) or a member of staff may book, in order of
    /// start. Patients and proxies search for the patient they act for with
    /// [`Practice::search`]. Only a refusal is recorded, unless the
    /// practice records every read (then an organisation's search is
    /// recorded too).
    pub async fn search_slots(&self, by: &By, query: SearchQuery) -> Answered<Vec<Slot>> {
        let actor = match self.lookup(by, Action::BookAppointment).await? {
            Ok(actor) => actor,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        let request = SearchRequest {
            actor,
            channel: by.channel,
            patient: None,
            query,
        };
        let answer = refused(self.appointments.search(&request).await?);
        // Recorded once the search is done: a refused search is recorded
        // as the refusal it is, not as a read.
        // (A slot search names no patient: recorded only when the practice
        // records every read, for organisations too.)
        if let (Answer::Done(_), true) = (&answer, self.every_read) {
            // As the records name the asker (a member of staff in their
            // stored role), not as the request claimed.
            let asker = By {
                actor,
                channel: by.channel,
            };
            self.record_read(&asker, None, Action::BookAppointment)
                .await?;
        }
        Ok(answer)
    }

    /// Books a slot for a patient, by the patient, a proxy or staff. The
    /// authorization's event is committed with the booking, in one trip to
    /// the database.
    pub async fn book(&self, request: &BookRequest) -> Answered<Booking> {
        let by = By {
            actor: request.actor,
            channel: request.channel,
        };
        self.act(
            &by,
            request.patient,
            Action::BookAppointment,
            Record::Allowed,
            |a| async move {
                let request = BookRequest {
                    actor: a.by.actor,
                    ..request.clone()
                };
                let facts = self
                    .with_online_history(facts_of(&a)?, &request.actor)
                    .await?;
                Ok(refused(
                    self.appointments
                        .book_after(&request, &facts, &a.prior)
                        .await?,
                ))
            },
        )
        .await
    }

    /// Cancels a booking, by the patient, a proxy, staff or the system.
    pub async fn cancel(&self, request: &CancelRequest) -> Answered<Booking> {
        let by = By {
            actor: request.actor,
            channel: request.channel,
        };
        let booking = match self
            .named_booking(&by, request.booking, Action::CancelAppointment)
            .await?
        {
            Named::Stored(booking) => *booking,
            Named::Refused(r) => return Ok(Answer::Refused(r)),
            Named::Unknown(actor) => {
                let request = CancelRequest {
                    actor,
                    ..request.clone()
                };
                return Ok(refused(self.appointments.cancel(&request).await?));
            }
        };
        self.act(
            &by,
            booking.patient,
            Action::CancelAppointment,
            Record::Allowed,
            |a| async move {
                let request = CancelRequest {
                    actor: a.by.actor,
                    ..request.clone()
                };
                Ok(refused(
                    self.appointments.cancel_after(&request, &a.prior).await?,
                ))
            },
        )
        .await
    }

    /// Replaces a booking's description and comment, by staff or another
    /// organisation (GP Connect's amend); patients and proxies cancel and
    /// book again. Only a live booking that has not started; committed
    /// only while the booking is as read (its version).
    pub async fn amend(&self, request: &AmendRequest) -> Answered<Booking> {
        let by = By {
            actor: request.actor,
            channel: request.channel,
        };
        let booking = match self
            .named_booking(&by, request.booking, Action::AmendAppointment)
            .await?
        {
            Named::Stored(booking) => *booking,
            Named::Refused(r) => return Ok(Answer::Refused(r)),
            Named::Unknown(actor) => {
                let request = AmendRequest {
                    actor,
                    ..request.clone()
                };
                return Ok(refused(self.appointments.amend(&request).await?));
            }
        };
        self.act(
            &by,
            booking.patient,
            Action::AmendAppointment,
            Record::Allowed,
            |a| async move {
                let request = AmendRequest {
                    actor: a.by.actor,
                    ..request.clone()
                };
                Ok(refused(
                    self.appointments.amend_after(&request, &a.prior).await?,
                ))
            },
        )
        .await
    }

    /// Moves a booking to another slot (cancel and book together, or
    /// neither), by the patient, a proxy or staff.
    pub async fn reschedule(&self, request: &RescheduleRequest) -> Answered<Booking> {
        let by = By {
            actor: request.actor,
            channel: request.channel,
        };
        let booking = match self
            .named_booking(&by, request.booking, Action::RescheduleAppointment)
            .await?
        {
            Named::Stored(booking) => *booking,
            Named::Refused(r) => return Ok(Answer::Refused(r)),
            Named::Unknown(actor) => {
                let request = &RescheduleRequest {
                    actor,
                    ..request.clone()
                };
                let nobody = gp_booking::PatientFacts {
                    patient: PatientId::from_uuid(gp_core::uuid::Uuid::nil()),
                    date_of_birth: chrono::NaiveDate::MIN,
                    registration: gp_booking::Registration::Regular,
                    online: gp_booking::OnlineRegistration::NotRegistered,
                };
                return Ok(refused(
                    self.appointments.reschedule(request, &nobody).await?,
                ));
            }
        };
        self.act(
            &by,
            booking.patient,
            Action::RescheduleAppointment,
            Record::Allowed,
            |a| async move {
                let request = RescheduleRequest {
                    actor: a.by.actor,
                    ..request.clone()
                };
                let facts = facts_of(&a)?;
                Ok(refused(
                    self.appointments
                        .reschedule_after(&request, &facts, &a.prior)
                        .await?,
                ))
            },
        )
        .await
    }

    /// A patient's appointments, live and cancelled, in the order booked.
    /// Only a denial is recorded, unless the practice records every read;
    /// but another organisation's every look at a patient's appointments
    /// is recorded (GP Connect audits every access from outside the
    /// practice).
    pub async fn appointments(&self, by: &By, patient: PatientId) -> Answered<Vec<Booking>> {
        self.act(
            by,
            patient,
            Action::ViewAppointments,
            Record::Read,
            |_| async move { Ok(Answer::Done(self.appointments.bookings_for(patient).await?)) },
        )
        .await
    }

    /// The booking policy in force (staff).
    pub async fn booking_policy(&self, by: &By) -> Answered<PolicyFacts> {
        self.staff_read(by, || self.appointments.policy()).await
    }

    /// Changes the booking policy: only the practice manager or a lead for
    /// online services. The policy was checked when it was made
    /// ([`BookingPolicy::new`]); the authorization, the new policy and its
    /// event commit together, and every decision after reads it from the store.
    pub async fn set_booking_policy(
        &self,
        by: &By,
        policy: &BookingPolicy,
    ) -> Answered<PolicyFacts> {
        self.settings_change(by, "booking", |a| async move {
            Ok(refused(
                self.appointments
                    .set_policy_after(a.by.actor, a.by.channel, policy, &a.prior)
                    .await?,
            ))
        })
        .await
    }

    /// A read for staff only (practice-wide lists and settings).
    async fn staff_read<T, F, Fut>(&self, by: &By, read: F) -> Answered<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, OnlineError>>,
    {
        let nobody = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        let read = &read;
        self.act(
            by,
            nobody,
            Action::ViewWorkLists,
            Record::Read,
            |_| async move { Ok(Answer::Done(read().await?)) },
        )
        .await
    }
}

/// Monitoring: the figures section 6 of the guidance asks a practice to follow.
impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// The practice's POMI return for `month` in NHS England's long CSV
    /// shape (`PomiReturn::csv`), for staff (the work lists' permission);
    /// a denial is recorded. See [`gp_monitoring::pomi_return`] for what
    /// each field counts.
    pub async fn pomi_return(
        &self,
        by: &By,
        month: gp_monitoring::Month,
        practice: &gp_monitoring::Practice,
    ) -> Answered<gp_monitoring::PomiReturn> {
        self.staff_read(by, || {
            crate::unchecked::monitoring::pomi(self.store.as_ref(), month, practice)
        })
        .await
    }

    /// The uptake audit for `service` from `from` to `to` (UK dates,
    /// inclusive): patients enabled for it who made no online use of it,
    /// counted by age band, month of registration and registration type,
    /// and listed for follow-up. For staff; a denial is recorded.
    pub async fn uptake_audit(
        &self,
        by: &By,
        service: gp_monitoring::UptakeService,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Answered<gp_monitoring::UptakeReport> {
        self.staff_read(by, || {
            crate::unchecked::monitoring::uptake_audit(self.store.as_ref(), service, from, to)
        })
        .await
    }
}

/// The problem log: problems with the online services, reported and acted on.
impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// Reports a problem: a patient or proxy about the patient they act for
    /// (registered, verified and not suspended, whichever services are on),
    /// or any member of staff about a patient on the list or about none.
    /// An appointment, request or message it concerns must be that
    /// patient's (`LinkNotFound`). Recorded with its authorization; the
    /// description is kept in the log, not in the audit trail.
    pub async fn report_problem(
        &self,
        report: &gp_monitoring::NewProblem,
    ) -> Answered<gp_monitoring::Problem> {
        let by = By {
            actor: report.actor,
            channel: report.channel,
        };
        let nobody = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        self.act(
            &by,
            report.patient.unwrap_or(nobody),
            Action::ReportProblem,
            Record::Allowed,
            |a| async move {
                let report = gp_monitoring::NewProblem {
                    actor: a.by.actor,
                    ..report.clone()
                };
                let owner = self.concerned_owner(&report).await?;
                Ok(refused(
                    self.problems.report_after(&report, owner, &a.prior).await?,
                ))
            },
        )
        .await
    }

    /// Records what a member of staff did about a problem and the status it
    /// leaves (a closed problem takes nothing but reopening).
    pub async fn problem_action(
        &self,
        by: &By,
        problem: gp_core::ProblemId,
        status: gp_monitoring::ProblemStatus,
        note: &str,
    ) -> Answered<gp_monitoring::Problem> {
        gp_core::bounded_text(note, "action note", gp_monitoring::problems::MAX_NOTE, true)
            .map_err(gp_monitoring::ProblemError::from)?;
        let nobody = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        self.act(
            by,
            nobody,
            Action::ManageProblems,
            Record::Allowed,
            |a| async move {
                Ok(refused(
                    self.problems
                        .act_after(a.by.actor, a.by.channel, problem, status, note, &a.prior)
                        .await?,
                ))
            },
        )
        .await
    }

    /// The problems passing `filter`, oldest first (staff).
    pub async fn problems(
        &self,
        by: &By,
        filter: &gp_monitoring::ProblemFilter,
    ) -> Answered<Vec<gp_monitoring::Problem>> {
        self.staff_read(by, || self.problems.problems(filter)).await
    }

    /// Whose the appointment, request or message a report concerns is
    /// (the report's own patient when it concerns nothing).
    async fn concerned_owner(
        &self,
        report: &gp_monitoring::NewProblem,
    ) -> Result<Option<PatientId>, OnlineError> {
        use gp_monitoring::Concerning;
        Ok(match report.concerning {
            None => report.patient,
            Some(Concerning::Appointment(b)) => BookingStore::booking(self.store.as_ref(), b)
                .await?
                .map(|b| b.patient),
            Some(Concerning::Request(r)) => {
                PrescribingStore::request_patient(self.store.as_ref(), r).await?
            }
            Some(Concerning::Message(m)) => MessageStore::message(self.store.as_ref(), m)
                .await?
                .map(|m| m.patient),
        })
    }
}

/// Repeat prescriptions.
impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// Orders repeat items, by the patient, a proxy or staff.
    pub async fn order(&self, request: &OrderRequest) -> Answered<Ordered> {
        request.check()?;
        let by = By {
            actor: request.actor,
            channel: request.channel.audit_channel(),
        };
        self.act(
            &by,
            request.patient,
            Action::OrderRepeats,
            Record::Allowed,
            |a| async move {
                let request = OrderRequest {
                    actor: a.by.actor,
                    ..request.clone()
                };
                Ok(refused(
                    self.repeats.request_after(&request, &a.prior).await?,
                ))
            },
        )
        .await
    }

    /// Cancels one line of a request (the patient, a proxy or staff; only while requested).
    pub async fn cancel_line(&self, action: &LineAction) -> Answered<RepeatRequest> {
        self.on_line(
            action,
            Action::ManageOwnRepeats,
            |action, prior| async move { self.repeats.cancel_line_after(&action, &prior).await },
        )
        .await
    }

    /// A prescriber approves, rejects or issues one line of a request. The
    /// access records must show a prescriber's role and their recorded
    /// prescribing competency; the system may confirm an electronic issue.
    pub async fn prescriber_move(
        &self,
        action: &LineAction,
        kind: &PrescriberMove,
    ) -> Answered<RepeatRequest> {
        if let PrescriberMove::Reject(reason) = kind {
            text(reason, "rejection reason", true)?;
        }
        let permission = match kind {
            PrescriberMove::Issue => Action::IssuePrescription,
            _ => Action::ApprovePrescription,
        };
        self.on_line(action, permission, |action, prior| async move {
            self.repeats
                .prescriber_move_after(&action, kind, &prior)
                .await
        })
        .await
    }

    async fn on_line<F, Fut>(
        &self,
        action: &LineAction,
        permission: Action,
        act: F,
    ) -> Answered<RepeatRequest>
    where
        F: Fn(LineAction, crate::commit::Prior) -> Fut,
        Fut: Future<Output = Result<Answer<RepeatRequest, PrescribingRefusal>, OnlineError>>,
    {
        let by = By {
            actor: action.actor,
            channel: action.channel,
        };
        let act = &act;
        self.act(
            &by,
            action.patient,
            permission,
            Record::Allowed,
            |a| async move {
                let action = LineAction {
                    actor: a.by.actor,
                    ..*action
                };
                Ok(refused(act(action, a.prior).await?))
            },
        )
        .await
    }

    /// Flags a medicine the patient no longer takes, for a clinician to
    /// review (the patient, a proxy or staff).
    pub async fn flag_not_taken(
        &self,
        action: &ItemAction,
        note: Option<&str>,
    ) -> Answered<RepeatItem> {
        if let Some(note) = note {
            text(note, "note", false)?;
        }
        self.on_item(
            action,
            Action::ManageOwnRepeats,
            |action, prior| async move {
                self.repeats
                    .flag_not_taken_after(&action, note, &prior)
                    .await
            },
        )
        .await
    }

    /// A prescriber reviews a flagged medicine: keep it, or end it.
    pub async fn review_item(
        &self,
        action: &ItemAction,
        outcome: &ReviewOutcome,
    ) -> Answered<RepeatItem> {
        if let ReviewOutcome::End(reason) = outcome {
            text(reason, "reason", true)?;
        }
        self.on_item(action, Action::ManageRepeatList, |action, prior| async move {
            self.repeats.review_after(&action, outcome, &prior).await
        })
        .await
    }

    async fn on_item<F, Fut>(
        &self,
        action: &ItemAction,
        permission: Action,
        act: F,
    ) -> Answered<RepeatItem>
    where
        F: Fn(ItemAction, crate::commit::Prior) -> Fut,
        Fut: Future<Output = Result<Answer<RepeatItem, PrescribingRefusal>, OnlineError>>,
    {
        let by = By {
            actor: action.actor,
            channel: action.channel,
        };
        let act = &act;
        self.act(
            &by,
            action.patient,
            permission,
            Record::Allowed,
            |a| async move {
                let action = ItemAction {
                    actor: a.by.actor,
                    ..*action
                };
                Ok(refused(act(action, a.prior).await?))
            },
        )
        .await
    }

    /// Puts a medicine on a patient's repeat list (a prescriber with the
    /// recorded competency, or the system copying the clinical record).
    pub async fn put_item(&self, by: &By, item: &RepeatItem) -> Answered<RepeatItem> {
        item.check()?;
        self.act(
            by,
            item.patient,
            Action::ManageRepeatList,
            Record::Allowed,
            |a| async move {
                Ok(refused(
                    self.repeats
                        .put_item_after(a.by.actor, a.by.channel, item, &a.prior)
                        .await?,
                ))
            },
        )
        .await
    }

    /// Turns ordering off for one patient (`Some((scope, reason))`) or back
    /// on (`None`): a prescriber or the practice manager.
    pub async fn restrict_ordering(
        &self,
        by: &By,
        patient: PatientId,
        restriction: Option<(RestrictionScope, &str)>,
    ) -> Answered<Option<OrderingRestriction>> {
        if let Some((_, reason)) = restriction {
            text(reason, "restriction reason", true)?;
        }
        self.act(
            by,
            patient,
            Action::RestrictOrdering,
            Record::Allowed,
            |a| async move {
                Ok(refused(
                    self.repeats
                        .restrict_after(a.by.actor, a.by.channel, patient, restriction, &a.prior)
                        .await?,
                ))
            },
        )
        .await
    }

    /// A patient's repeat medicines, requests and ordering restriction.
    pub async fn repeats(&self, by: &By, patient: PatientId) -> Answered<PatientRecord> {
        self.act(
            by,
            patient,
            Action::ViewRepeats,
            Record::Read,
            |_| async move { Ok(Answer::Done(self.repeats.record(patient).await?)) },
        )
        .await
    }

    /// The practice's prescription queue: every request with an open line,
    /// oldest first (staff).
    pub async fn prescription_queue(&self, by: &By) -> Answered<Vec<RepeatRequest>> {
        self.staff_read(by, || async { Ok(self.repeats.store().queue().await?) })
            .await
    }

    /// Medicines patients flagged as no longer taken, for review (staff).
    pub async fn review_list(&self, by: &By) -> Answered<Vec<RepeatItem>> {
        self.staff_read(by, || async {
            Ok(self.repeats.store().review_list().await?)
        })
        .await
    }

    /// Changes the prescribing settings: checked first (an out-of-range
    /// value is an input error and records nothing), then only the practice
    /// manager or a lead; the authorization and the change commit together.
    pub async fn set_prescribing_settings(
        &self,
        by: &By,
        settings: &PrescribingSettings,
    ) -> Answered<PrescribingSettings> {
        settings.check()?;
        self.settings_change(by, "prescribing", |a| async move {
            Ok(refused(
                self.repeats
                    .set_settings_after(a.by.actor, a.by.channel, settings, &a.prior)
                    .await?,
            ))
        })
        .await
    }
}

/// Messages.
impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// Sends a message to the practice, by the patient or a proxy.
    pub async fn send(&self, message: &NewMessage) -> Answered<Message> {
        message.check()?;
        let by = By {
            actor: message.actor,
            channel: message.channel,
        };
        self.act(
            &by,
            message.patient,
            Action::SendMessage,
            Record::Allowed,
            |a| async move {
                let message = NewMessage {
                    actor: a.by.actor,
                    ..message.clone()
                };
                let owner = self.link_owner(&message).await?;
                Ok(refused(
                    self.messages.send_after(&message, owner, &a.prior).await?,
                ))
            },
        )
        .await
    }

    /// Replies to a message (staff, or the patient's side).
    pub async fn reply(&self, action: &MessageAction, body: &str) -> Answered<Message> {
        gp_core::bounded_text(body, "reply", gp_messaging::MAX_BODY, true)
            .map_err(gp_messaging::MessageError::from)?;
        self.on_message(action, Action::SendMessage, |action, prior| async move {
            self.messages.reply_after(&action, body, &prior).await
        })
        .await
    }

    /// Marks a message read or handled (staff).
    pub async fn mark_message(&self, action: &MessageAction, to: InboxMove) -> Answered<Message> {
        self.on_message(action, Action::HandleMessages, |action, prior| async move {
            self.messages.mark_after(&action, to, &prior).await
        })
        .await
    }

    async fn on_message<F, Fut>(
        &self,
        action: &MessageAction,
        permission: Action,
        act: F,
    ) -> Answered<Message>
    where
        F: Fn(MessageAction, crate::commit::Prior) -> Fut,
        Fut: Future<Output = Result<Answer<Message, MessagingRefusal>, OnlineError>>,
    {
        let by = By {
            actor: action.actor,
            channel: action.channel,
        };
        let Some(message) = self.messages.message(action.message).await? else {
            let actor = match self.lookup(&by, permission).await? {
                Ok(actor) => actor,
                Err(r) => return Ok(Answer::Refused(r)),
            };
            let action = MessageAction { actor, ..*action };
            return Ok(refused(act(action, crate::commit::Prior::none()).await?));
        };
        let act = &act;
        self.act(
            &by,
            message.patient,
            permission,
            Record::Allowed,
            |a| async move {
                let action = MessageAction {
                    actor: a.by.actor,
                    ..*action
                };
                Ok(refused(act(action, a.prior).await?))
            },
        )
        .await
    }

    /// A patient's messages, in the order sent.
    pub async fn messages(&self, by: &By, patient: PatientId) -> Answered<Vec<Message>> {
        self.act(
            by,
            patient,
            Action::ViewMessages,
            Record::Read,
            |_| async move { Ok(Answer::Done(self.messages.messages_for(patient).await?)) },
        )
        .await
    }

    /// The staff inbox: every message not handled, oldest first (staff).
    pub async fn inbox(&self, by: &By) -> Answered<Vec<Message>> {
        let nobody = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        self.act(
            by,
            nobody,
            Action::HandleMessages,
            Record::Read,
            |_| async { Ok(Answer::Done(self.messages.inbox().await?)) },
        )
        .await
    }

    /// Switches messaging on or off: only the practice manager or a lead;
    /// the authorization and the change commit together.
    pub async fn set_messaging_settings(
        &self,
        by: &By,
        settings: &MessagingSettings,
    ) -> Answered<MessagingSettings> {
        self.settings_change(by, "messaging", |a| async move {
            Ok(refused(
                self.messages
                    .set_settings_after(a.by.actor, a.by.channel, settings, &a.prior)
                    .await?,
            ))
        })
        .await
    }
}

/// Online access, staff and the review lists. Each of these is one access
/// decision: the permission matrix is asked inside it, with the acting
/// member of staff as their stored profile records them.
impl<S: PracticeStore, C: Clock + 'static> Practice<S, C> {
    /// Registers a patient for online services.
    pub async fn register(
        &self,
        by: &By,
        patient: PatientId,
        registration: &Registration,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access.register(by, patient, registration).await?,
        ))
    }

    /// Records the patient's identity verification.
    pub async fn verify_identity(
        &self,
        by: &By,
        patient: PatientId,
        method: VerificationMethod,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access.verify_identity(by, patient, method).await?,
        ))
    }

    /// Sets which online services are on for the patient.
    pub async fn set_services(
        &self,
        by: &By,
        patient: PatientId,
        services: &BTreeSet<Service>,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access.set_services(by, patient, services).await?,
        ))
    }

    /// Suspends (`Some(reason)`) or restores (`None`) the patient's own online access.
    pub async fn suspend_access(
        &self,
        by: &By,
        patient: PatientId,
        reason: Option<SuspensionReason>,
    ) -> Answered<AccessRecord> {
        Ok(refused(self.access.suspend(by, patient, reason).await?))
    }

    /// Issues linkage details, to hand to the patient once.
    pub async fn issue_linkage(&self, by: &By, patient: PatientId) -> Answered<LinkageDetails> {
        Ok(refused(self.access.issue_linkage(by, patient).await?))
    }

    /// A patient links an app with linkage details; answers with the patient.
    pub async fn redeem_linkage(
        &self,
        account: AccountId,
        practice: &OdsCode,
        key: &str,
    ) -> Answered<PatientId> {
        Ok(refused(
            self.access.redeem_linkage(account, practice, key).await?,
        ))
    }

    /// Decides a proxy application (recorded whether granted or refused).
    pub async fn proxy_application(
        &self,
        by: &By,
        patient: PatientId,
        input: &ProxyApplicationInput,
        verdict: &ApplicationVerdict,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access
                .proxy_application(by, patient, input, verdict)
                .await?,
        ))
    }

    /// Ends a proxy's access (the patient, or staff).
    pub async fn revoke_proxy(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        reason: &str,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access.revoke_proxy(by, patient, proxy, reason).await?,
        ))
    }

    /// Suspends (`Some(reason)`) or restores (`None`) one proxy's access.
    pub async fn suspend_proxy(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        reason: Option<SuspensionReason>,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access
                .suspend_proxy(by, patient, proxy, reason)
                .await?,
        ))
    }

    /// Records a new legal basis for a proxy.
    pub async fn new_basis(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        basis: &LegalBasis,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access.new_basis(by, patient, proxy, basis).await?,
        ))
    }

    /// Records a competent child's consent to, or refusal of, a parent's access.
    pub async fn child_view(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        consents: bool,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access.child_view(by, patient, proxy, consents).await?,
        ))
    }

    /// Records a coercion concern; answers with its id.
    pub async fn coercion_concern(
        &self,
        by: &By,
        patient: PatientId,
        proxy: Option<ProxyId>,
        note: &str,
    ) -> Answered<ConcernId> {
        Ok(refused(
            self.access
                .coercion_concern(by, patient, proxy, note)
                .await?,
        ))
    }

    /// Records a clinician's review of a coercion concern.
    pub async fn coercion_review(
        &self,
        by: &By,
        patient: PatientId,
        concern: ConcernId,
        outcome: ConcernOutcome,
        note: &str,
    ) -> Answered<AccessRecord> {
        Ok(refused(
            self.access
                .coercion_review(by, patient, concern, outcome, note)
                .await?,
        ))
    }

    /// Records the practice manager as the first member of staff of a new
    /// practice (refused once any member of staff is recorded).
    pub async fn first_manager(&self, profile: &StaffProfile) -> Answered<()> {
        Ok(refused(self.access.first_manager(profile).await?))
    }

    /// Records a staff profile (the practice manager or a lead; nobody their
    /// own; a clinical role, prescribing or a lead designation only by the
    /// practice manager or the lead GP). The event records the profile
    /// before and after.
    pub async fn put_staff(&self, by: &By, profile: &StaffProfile) -> Answered<()> {
        Ok(refused(self.access.put_staff(by, profile).await?))
    }

    /// Changes the access settings (the practice manager or a lead).
    pub async fn set_access_settings(&self, by: &By, settings: &AccessSettings) -> Answered<()> {
        Ok(refused(self.access.set_settings(by, settings).await?))
    }

    /// Proxy access due for review today, with why (staff).
    pub async fn reviews_due(&self, by: &By) -> Answered<Vec<(ProxyGrant, ReviewReason)>> {
        self.staff_read(by, || async { self.access.reviews_due().await })
            .await
    }

    /// Proxy access unused for the settings' years, to be removed (staff).
    pub async fn unused_proxies(&self, by: &By) -> Answered<Vec<ProxyGrant>> {
        self.staff_read(by, || async { self.access.unused_proxies().await })
            .await
    }
}

/// One identifier source shared by the facades of a practice.
struct SharedIds(Arc<dyn IdSource>);

impl IdSource for SharedIds {
    fn next_uuid(&self) -> gp_core::uuid::Uuid {
        self.0.next_uuid()
    }
}
