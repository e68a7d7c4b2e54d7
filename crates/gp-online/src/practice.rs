//! One facade for a practice: every patient-facing request is authorized
//! through the access records first, then decided and committed.

use std::fmt;
use std::sync::Arc;

use gp_access::{AccessRecord, AccessRefusal, AccessStore, Action, By};
use gp_booking::{
    BookRequest, Booking, BookingPolicy, BookingRefusal, BookingStore, CancelRequest,
    SearchRequest, Slot,
};
use gp_core::{AuditEvent, Clock, PatientId, Reason};
use gp_messaging::{Message, MessageStore, MessagingRefusal, NewMessage};
use gp_prescribing::{LineAction, OrderRequest, PrescribingStore, RepeatRequest};

use crate::access::Gate;
use crate::{
    patient_facts, Access, Answer, Messages, Online, OnlineError, OrderRefused, Ordered,
    PrescriberMove, Prescriptions,
};

/// Why a request through [`Practice`] was refused: by the access rules
/// (asked first), or by the rules of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The access rules said no (recorded as a denied authorization).
    Access(AccessRefusal),
    /// The booking policy said no.
    Booking(BookingRefusal),
    /// The repeat prescribing rules said no.
    Prescribing(OrderRefused),
    /// The messaging rules said no.
    Messaging(MessagingRefusal),
}

impl Refused {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::Access(r) => r.code(),
            Refused::Booking(r) => r.code(),
            Refused::Prescribing(r) => r.reason.code(),
            Refused::Messaging(r) => r.code(),
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
        }
    }
}

/// The facades of one practice over one store that implements every port
/// (such as `gp_sqlite::SqliteStore`), with one clock.
///
/// Each request from a patient, proxy or member of staff is first put to
/// the access rules (as [`Access::authorize`] would put it); a denial is
/// recorded at once, and an allowed answer's event is committed in the same
/// transaction as the request's own change (or recorded with its refusal),
/// so an authorized booking costs one write. Booking's patient facts come
/// from the access record read for the authorization. The service facades stay available
/// for staff work that the access matrix does not cover.
pub struct Practice<S, C> {
    access: Access<Arc<S>, Arc<C>>,
    online: Online<Arc<S>, Arc<C>>,
    repeats: Prescriptions<Arc<S>, Arc<C>>,
    messages: Messages<Arc<S>, Arc<C>>,
}

impl<S, C> Practice<S, C>
where
    S: BookingStore + PrescribingStore + MessageStore + AccessStore + 'static,
    C: Clock + 'static,
{
    /// The practice over `store` and `clock`, under `policy`.
    pub fn new(store: Arc<S>, clock: Arc<C>, policy: BookingPolicy) -> Self {
        Self {
            access: Access::new(store.clone(), clock.clone()),
            online: Online::new(store.clone(), clock.clone(), policy),
            repeats: Prescriptions::new(store.clone(), clock.clone()),
            messages: Messages::new(store, clock),
        }
    }

    /// The access facade (registration, linkage, proxies, coercion, staff).
    pub fn access(&self) -> &Access<Arc<S>, Arc<C>> {
        &self.access
    }

    /// The appointments facade.
    pub fn appointments(&self) -> &Online<Arc<S>, Arc<C>> {
        &self.online
    }

    /// The repeat prescriptions facade.
    pub fn repeats(&self) -> &Prescriptions<Arc<S>, Arc<C>> {
        &self.repeats
    }

    /// The messages facade.
    pub fn messages(&self) -> &Messages<Arc<S>, Arc<C>> {
        &self.messages
    }

    /// Asks the access records; `Err` is the refusal (already recorded).
    async fn gate(
        &self,
        by: &By,
        patient: PatientId,
        action: Action,
        record_allowed: bool,
    ) -> Result<Result<(Vec<AuditEvent>, AccessRecord), Refused>, OnlineError> {
        Ok(
            match self
                .access
                .gate(by, patient, action, record_allowed)
                .await?
            {
                Gate::Allowed(events, record) => Ok((events, record)),
                Gate::Denied(r) => Err(Refused::Access(r)),
            },
        )
    }

    fn facts(record: &AccessRecord) -> Result<gp_booking::PatientFacts, OnlineError> {
        patient_facts(record).ok_or_else(|| {
            gp_access::StoreError::Invalid(format!(
                "patient {} has no online account after an allowed authorization",
                record.patient
            ))
            .into()
        })
    }

    /// Free slots `by` may book for `patient`. Like the booking rules' own
    /// search, only a denial is recorded (a search changes nothing).
    pub async fn search(
        &self,
        by: &By,
        patient: PatientId,
        query: gp_booking::SearchQuery,
    ) -> Result<Answer<Vec<Slot>, Refused>, OnlineError> {
        let record = match self
            .gate(by, patient, Action::BookAppointment, false)
            .await?
        {
            Ok((_, record)) => record,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        let request = SearchRequest {
            actor: by.actor,
            channel: by.channel,
            patient: Some(Self::facts(&record)?),
            query,
        };
        Ok(map(self.online.search(&request).await?, Refused::Booking))
    }

    /// Books a slot for a patient, by the patient, a proxy or staff. The
    /// authorization's event is committed with the booking.
    pub async fn book(
        &self,
        request: &BookRequest,
    ) -> Result<Answer<Booking, Refused>, OnlineError> {
        let by = By {
            actor: request.actor,
            channel: request.channel,
        };
        let (events, record) = match self
            .gate(&by, request.patient, Action::BookAppointment, true)
            .await?
        {
            Ok(found) => found,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        let facts = Self::facts(&record)?;
        Ok(map(
            self.online.book_after(request, &facts, &events).await?,
            Refused::Booking,
        ))
    }

    /// Cancels a booking, by the patient, a proxy or staff.
    pub async fn cancel(
        &self,
        request: &CancelRequest,
    ) -> Result<Answer<Booking, Refused>, OnlineError> {
        let Some(booking) =
            BookingStore::booking(self.access.store().as_ref(), request.booking).await?
        else {
            // Let the booking rules say `BookingNotFound` (and audit it).
            return Ok(map(self.online.cancel(request).await?, Refused::Booking));
        };
        let by = By {
            actor: request.actor,
            channel: request.channel,
        };
        let events = match self
            .gate(&by, booking.patient, Action::CancelAppointment, true)
            .await?
        {
            Ok((events, _)) => events,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        Ok(map(
            self.online.cancel_after(request, &events).await?,
            Refused::Booking,
        ))
    }

    /// Orders repeat items, by the patient, a proxy or staff.
    pub async fn order(
        &self,
        request: &OrderRequest,
    ) -> Result<Answer<Ordered, Refused>, OnlineError> {
        let by = By {
            actor: request.actor,
            channel: request.channel.audit_channel(),
        };
        let events = match self
            .gate(&by, request.patient, Action::OrderRepeats, true)
            .await?
        {
            Ok((events, _)) => events,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        Ok(map(
            self.repeats.request_after(request, &events).await?,
            Refused::Prescribing,
        ))
    }

    /// A prescriber approves, rejects or issues one line of a request. The
    /// access records must show the prescriber's role and their recorded
    /// prescribing competency (`ApprovePrescription`); the system confirming
    /// an electronic issue goes to [`Prescriptions::issue`] directly.
    pub async fn prescriber_move(
        &self,
        action: &LineAction,
        kind: &PrescriberMove,
    ) -> Result<Answer<RepeatRequest, Refused>, OnlineError> {
        let by = By {
            actor: action.actor,
            channel: action.channel,
        };
        let events = match self
            .gate(&by, action.patient, Action::ApprovePrescription, true)
            .await?
        {
            Ok((events, _)) => events,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        Ok(
            match self
                .repeats
                .prescriber_move_after(action, kind, &events)
                .await?
            {
                Answer::Done(r) => Answer::Done(r),
                Answer::Refused(reason) => Answer::Refused(Refused::Prescribing(OrderRefused {
                    reason,
                    lines: Vec::new(),
                })),
            },
        )
    }

    /// Sends a message to the practice, by the patient or a proxy.
    pub async fn send(
        &self,
        message: &NewMessage,
    ) -> Result<Answer<Message, Refused>, OnlineError> {
        let by = By {
            actor: message.actor,
            channel: message.channel,
        };
        let events = match self
            .gate(&by, message.patient, Action::SendMessage, true)
            .await?
        {
            Ok((events, _)) => events,
            Err(r) => return Ok(Answer::Refused(r)),
        };
        Ok(map(
            self.messages.send_after(message, &events).await?,
            Refused::Messaging,
        ))
    }
}

impl<S, C> Practice<S, C>
where
    S: BookingStore + PrescribingStore + MessageStore + AccessStore + 'static,
    C: Clock + 'static,
{
    /// Changes the booking policy: only the practice manager or a lead for
    /// online services (asked of the access records and audited with the
    /// new values), then applied to this practice's appointments facade.
    pub async fn set_booking_policy(
        &mut self,
        by: &By,
        policy: BookingPolicy,
    ) -> Result<Answer<(), Refused>, OnlineError> {
        let values = [("booking_settings", format!("{:?}", policy.settings()))];
        match self
            .access
            .authorize_settings_change(by, "booking", &values)
            .await?
        {
            Answer::Refused(r) => Ok(Answer::Refused(Refused::Access(r))),
            Answer::Done(()) => {
                self.online.set_policy(policy);
                Ok(Answer::Done(()))
            }
        }
    }

    /// Changes the prescribing settings: only the practice manager or a lead
    /// (asked of the access records and audited), then decided and stored.
    pub async fn set_prescribing_settings(
        &self,
        by: &By,
        settings: &gp_prescribing::PrescribingSettings,
    ) -> Result<Answer<gp_prescribing::PrescribingSettings, Refused>, OnlineError> {
        let values = [("prescribing_settings", format!("{settings:?}"))];
        if let Answer::Refused(r) = self
            .access
            .authorize_settings_change(by, "prescribing", &values)
            .await?
        {
            return Ok(Answer::Refused(Refused::Access(r)));
        }
        Ok(
            match self
                .repeats
                .set_settings(by.actor, by.channel, settings)
                .await?
            {
                Answer::Done(s) => Answer::Done(s),
                Answer::Refused(r) => Answer::Refused(Refused::Prescribing(OrderRefused {
                    reason: r,
                    lines: Vec::new(),
                })),
            },
        )
    }

    /// Switches messaging on or off: only the practice manager or a lead
    /// (asked of the access records and audited), then decided and stored.
    pub async fn set_messaging_settings(
        &self,
        by: &By,
        settings: &gp_messaging::MessagingSettings,
    ) -> Result<Answer<gp_messaging::MessagingSettings, Refused>, OnlineError> {
        let values = [("enabled", settings.enabled.to_string())];
        if let Answer::Refused(r) = self
            .access
            .authorize_settings_change(by, "messaging", &values)
            .await?
        {
            return Ok(Answer::Refused(Refused::Access(r)));
        }
        Ok(map(
            self.messages
                .set_settings(by.actor, by.channel, settings)
                .await?,
            Refused::Messaging,
        ))
    }
}

fn map<T, R>(answer: Answer<T, R>, f: impl FnOnce(R) -> Refused) -> Answer<T, Refused> {
    match answer {
        Answer::Done(t) => Answer::Done(t),
        Answer::Refused(r) => Answer::Refused(f(r)),
    }
}
