//! The access facade: registration, linkage, proxies, coercion safeguards and
//! the audited authorization question.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use gp_access::{
    decide_authorization, decide_child_view, decide_coercion_concern, decide_coercion_review,
    decide_first_manager, decide_issue_linkage, decide_new_basis, decide_proxy_application,
    decide_put_staff, decide_redeem_linkage, decide_register, decide_revoke_proxy, decide_services,
    decide_settings, decide_suspension, decide_verify_identity, reviews_due, unused_proxies,
    AccessRecord, AccessRefusal, AccessSettings, AccessStore, Action, ApplicationVerdict, By,
    CommitError, Committable, ConcernOutcome, Decision, LegalBasis, LinkageDetails,
    ProxyApplicationInput, ProxyGrant, Registration, ReviewReason, Service, StaffProfile,
    SuspensionReason, VerificationMethod,
};
use gp_core::{
    local_date, AccountId, Actor, Clock, ConcernId, IdSource, OdsCode, OsRandom, PatientId,
    ProxyId, RandomIds, RandomSource, StaffId,
};

use crate::{Answer, OnlineError};

/// The access facade over a store and a clock: load, decide with
/// `gp-access`'s rules, commit with the audit event, and on a conflict
/// decide again (bounded). Refusals, and denied authorizations, are recorded.
pub struct Access<S, C> {
    store: S,
    clock: C,
    ids: Box<dyn IdSource>,
    random: Box<dyn RandomSource>,
    max_attempts: u32,
}

fn staff_of(actor: &Actor) -> Option<StaffId> {
    match actor {
        Actor::Staff { staff, .. } => Some(*staff),
        _ => None,
    }
}

type Result<T> = std::result::Result<Answer<T, AccessRefusal>, OnlineError>;

impl<S: AccessStore, C: Clock> Access<S, C> {
    /// A facade over `store` and `clock`, with random identifiers and the
    /// operating system's secure generator for linkage keys.
    pub fn new(store: S, clock: C) -> Self {
        Self::with_sources(store, clock, Box::new(RandomIds), Box::new(OsRandom))
    }

    /// Like [`Access::new`], with identifiers and random bytes from the given
    /// sources (for repeatable tests; never a seeded source in production).
    pub fn with_sources(
        store: S,
        clock: C,
        ids: Box<dyn IdSource>,
        random: Box<dyn RandomSource>,
    ) -> Self {
        Self {
            store,
            clock,
            ids,
            random,
            max_attempts: 16,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// May `by` take `action` for `patient` now? Recorded in the audit trail
    /// either way; a proxy's use is noted for the unused-access list.
    pub async fn authorize(&self, by: &By, patient: PatientId, action: Action) -> Result<()> {
        self.run(patient, by, |facts, now| {
            Ok(decide_authorization(
                facts,
                by,
                action,
                now,
                self.ids.as_ref(),
            ))
        })
        .await
        .map(unit)
    }

    /// The authorization question for a request that commits a change of
    /// its own: a denial is recorded at once; an allowed answer's event is
    /// handed back to be committed in the request's own transaction (a
    /// proxy's first use of the day is committed here). Answers with the
    /// patient's access record as read.
    pub(crate) async fn gate(
        &self,
        by: &By,
        patient: PatientId,
        action: Action,
        record_allowed: bool,
    ) -> std::result::Result<Gate, OnlineError> {
        for _ in 0..self.max_attempts {
            let now = self.clock.now();
            let facts = self.store.load(patient, staff_of(&by.actor)).await?;
            match decide_authorization(&facts, by, action, now, self.ids.as_ref()) {
                Decision::Refused(r) => {
                    self.store.record_refusal(&r.event).await?;
                    return Ok(Gate::Denied(r.reason));
                }
                Decision::Allowed(c) if c.change.record.is_some() => {
                    match self.store.commit(&c).await {
                        Ok(()) => return Ok(Gate::Allowed(Vec::new(), facts.record)),
                        Err(CommitError::Conflict(_)) => continue,
                        Err(CommitError::Store(e)) => return Err(e.into()),
                        Err(other) => {
                            return Err(gp_access::StoreError::Unavailable(other.to_string()).into())
                        }
                    }
                }
                Decision::Allowed(c) if record_allowed => {
                    return Ok(Gate::Allowed(c.events, facts.record))
                }
                Decision::Allowed(_) => return Ok(Gate::Allowed(Vec::new(), facts.record)),
            }
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }

    /// Asks, as an audited decision, whether `by` may change online-service
    /// settings (`area`: `booking`, `prescribing`, `messaging`, ...), with
    /// the new values recorded in the event. Only the practice manager or a
    /// lead for online services may; call this before applying the change.
    pub async fn authorize_settings_change(
        &self,
        by: &By,
        area: &str,
        values: &[(&str, String)],
    ) -> Result<()> {
        let any = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        self.run(any, by, |facts, now| {
            let mut d = decide_authorization(
                facts,
                by,
                Action::ChangeOnlineSettings,
                now,
                self.ids.as_ref(),
            );
            let add = |e: &mut gp_core::AuditEvent| {
                e.patient = None;
                e.subjects.clear();
                e.details.insert("area".into(), area.to_owned());
                for (k, v) in values {
                    e.details.insert(format!("new.{k}"), v.clone());
                }
            };
            match &mut d {
                Decision::Allowed(c) => c.events.iter_mut().for_each(add),
                Decision::Refused(r) => add(&mut r.event),
            }
            Ok(d)
        })
        .await
        .map(unit)
    }

    /// Registers the patient for online services.
    pub async fn register(
        &self,
        by: &By,
        patient: PatientId,
        registration: &Registration,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_register(facts, by, registration, now, self.ids.as_ref())
        })
        .await
    }

    /// Records the patient's identity verification.
    pub async fn verify_identity(
        &self,
        by: &By,
        patient: PatientId,
        method: VerificationMethod,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_verify_identity(facts, by, method, now, self.ids.as_ref())
        })
        .await
    }

    /// Sets which online services are on for the patient.
    pub async fn set_services(
        &self,
        by: &By,
        patient: PatientId,
        services: &BTreeSet<Service>,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_services(facts, by, services, now, self.ids.as_ref())
        })
        .await
    }

    /// Suspends (`Some(reason)`) or restores (`None`) the patient's own online access.
    pub async fn suspend(
        &self,
        by: &By,
        patient: PatientId,
        reason: Option<SuspensionReason>,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_suspension(facts, by, reason.clone(), now, self.ids.as_ref())
        })
        .await
    }

    /// Issues linkage details, to hand to the patient once.
    pub async fn issue_linkage(&self, by: &By, patient: PatientId) -> Result<LinkageDetails> {
        let answer = self
            .run_raw(patient, by, |facts, now| {
                decide_issue_linkage(facts, by, now, self.ids.as_ref(), self.random.as_ref())
            })
            .await?;
        Ok(match answer {
            Answer::Refused(r) => Answer::Refused(r),
            Answer::Done(c) => match c.linkage {
                Some(details) => Answer::Done(details),
                None => {
                    return Err(gp_access::StoreError::Corrupt(
                        "a linkage decision made no key".into(),
                    )
                    .into())
                }
            },
        })
    }

    /// A patient links an app with linkage details; answers with the patient.
    pub async fn redeem_linkage(
        &self,
        account: AccountId,
        practice: &OdsCode,
        key: &str,
    ) -> Result<PatientId> {
        let Some(patient) = self.store.patient_for_account(account).await? else {
            // Same answer as a wrong key; nothing to count it against.
            return Ok(Answer::Refused(AccessRefusal::LinkageKeyInvalid));
        };
        let by = By {
            actor: Actor::Patient { patient },
            channel: gp_core::Channel::Online,
        };
        self.run(patient, &by, |facts, now| {
            Ok(decide_redeem_linkage(
                facts,
                account,
                practice,
                key,
                now,
                self.ids.as_ref(),
            ))
        })
        .await
        .map(|a| match a {
            Answer::Done(_) => Answer::Done(patient),
            Answer::Refused(r) => Answer::Refused(r),
        })
    }

    /// Decides a proxy application (recorded whether granted or refused).
    pub async fn proxy_application(
        &self,
        by: &By,
        patient: PatientId,
        input: &ProxyApplicationInput,
        verdict: &ApplicationVerdict,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_proxy_application(facts, by, input, verdict, now, self.ids.as_ref())
        })
        .await
    }

    /// Ends a proxy's access (the patient, or staff).
    pub async fn revoke_proxy(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        reason: &str,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_revoke_proxy(facts, by, proxy, reason, now, self.ids.as_ref())
        })
        .await
    }

    /// Records a new legal basis for a proxy.
    pub async fn new_basis(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        basis: &LegalBasis,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_new_basis(facts, by, proxy, basis, now, self.ids.as_ref())
        })
        .await
    }

    /// Records a competent child's consent to, or refusal of, a parent's access.
    pub async fn child_view(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        consents: bool,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_child_view(facts, by, proxy, consents, now, self.ids.as_ref())
        })
        .await
    }

    /// Records a coercion concern; answers with its id.
    pub async fn coercion_concern(
        &self,
        by: &By,
        patient: PatientId,
        proxy: Option<ProxyId>,
        note: &str,
    ) -> Result<ConcernId> {
        let answer = self
            .run(patient, by, |facts, now| {
                decide_coercion_concern(facts, by, proxy, note, now, self.ids.as_ref())
            })
            .await?;
        Ok(match answer {
            Answer::Refused(r) => Answer::Refused(r),
            Answer::Done(record) => match record.concerns.last() {
                Some(c) => Answer::Done(c.id),
                None => {
                    return Err(gp_access::StoreError::Corrupt(
                        "a concern decision stored no concern".into(),
                    )
                    .into())
                }
            },
        })
    }

    /// Records a clinician's review of a coercion concern.
    pub async fn coercion_review(
        &self,
        by: &By,
        patient: PatientId,
        concern: ConcernId,
        outcome: ConcernOutcome,
        note: &str,
    ) -> Result<AccessRecord> {
        self.run(patient, by, |facts, now| {
            decide_coercion_review(facts, by, concern, outcome, note, now, self.ids.as_ref())
        })
        .await
    }

    /// Records the practice manager as the first member of staff of a new practice.
    pub async fn first_manager(&self, profile: &StaffProfile) -> Result<()> {
        let no_staff_yet = self.store.all_staff().await?.is_empty();
        let now = self.clock.now();
        let d = decide_first_manager(no_staff_yet, profile, now, self.ids.as_ref())?;
        self.commit_once(d).await.map(unit)
    }

    /// Records a staff profile (the practice manager or a lead).
    pub async fn put_staff(&self, by: &By, profile: &StaffProfile) -> Result<()> {
        let any = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        self.run(any, by, |facts, now| {
            decide_put_staff(facts, by, profile, now, self.ids.as_ref())
        })
        .await
        .map(unit)
    }

    /// Changes the access settings (the practice manager or a lead).
    pub async fn set_settings(&self, by: &By, settings: &AccessSettings) -> Result<()> {
        let any = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
        self.run(any, by, |facts, now| {
            decide_settings(facts, by, settings, now, self.ids.as_ref())
        })
        .await
        .map(unit)
    }

    /// Proxy access due for review today, with why.
    pub async fn reviews_due(
        &self,
    ) -> std::result::Result<Vec<(ProxyGrant, ReviewReason)>, OnlineError> {
        let settings = self.store.settings().await?.settings;
        let records = self.store.records().await?;
        Ok(reviews_due(
            &records,
            &settings,
            local_date(self.clock.now()),
        ))
    }

    /// Proxy access unused for the settings' years, to be removed.
    pub async fn unused_proxies(&self) -> std::result::Result<Vec<ProxyGrant>, OnlineError> {
        let settings = self.store.settings().await?.settings;
        let records = self.store.records().await?;
        Ok(unused_proxies(&records, &settings, self.clock.now()))
    }

    async fn commit_once(&self, d: Decision) -> Result<Committable> {
        match d {
            Decision::Refused(r) => {
                self.store.record_refusal(&r.event).await?;
                Ok(Answer::Refused(r.reason))
            }
            Decision::Allowed(c) => match self.store.commit(&c).await {
                Ok(()) => Ok(match &c.refusal {
                    Some(r) => Answer::Refused(r.clone()),
                    None => Answer::Done(c),
                }),
                Err(CommitError::Store(e)) => Err(e.into()),
                Err(other) => Err(gp_access::StoreError::Unavailable(other.to_string()).into()),
            },
        }
    }

    async fn run_raw<F>(&self, patient: PatientId, by: &By, decide: F) -> Result<Committable>
    where
        F: Fn(
            &gp_access::AccessFacts,
            DateTime<Utc>,
        ) -> std::result::Result<Decision, gp_access::AccessError>,
    {
        for _ in 0..self.max_attempts {
            let now = self.clock.now();
            let facts = self.store.load(patient, staff_of(&by.actor)).await?;
            let d = decide(&facts, now)?;
            if let Decision::Allowed(c) = &d {
                match self.store.commit(c).await {
                    Ok(()) => {
                        return Ok(match &c.refusal {
                            Some(r) => Answer::Refused(r.clone()),
                            None => Answer::Done(c.clone()),
                        })
                    }
                    Err(CommitError::Conflict(_)) => continue,
                    Err(CommitError::Store(e)) => return Err(e.into()),
                    Err(other) => {
                        return Err(gp_access::StoreError::Unavailable(other.to_string()).into())
                    }
                }
            }
            return self.commit_once(d).await;
        }
        Err(OnlineError::Contention {
            attempts: self.max_attempts,
        })
    }

    async fn run<F>(&self, patient: PatientId, by: &By, decide: F) -> Result<AccessRecord>
    where
        F: Fn(
            &gp_access::AccessFacts,
            DateTime<Utc>,
        ) -> std::result::Result<Decision, gp_access::AccessError>,
    {
        Ok(match self.run_raw(patient, by, decide).await? {
            Answer::Refused(r) => Answer::Refused(r),
            Answer::Done(c) => Answer::Done(match c.change.record {
                Some(mut r) => {
                    r.version += 1;
                    r
                }
                None => gp_access::AccessRecord::empty(patient),
            }),
        })
    }
}

/// What [`Access::gate`] found.
#[allow(clippy::large_enum_variant)] // reason: a short-lived value, moved once
pub(crate) enum Gate {
    /// Allowed: these events to commit with the request, and the record read.
    Allowed(Vec<gp_core::AuditEvent>, AccessRecord),
    /// Denied (already recorded).
    Denied(AccessRefusal),
}

fn unit<T>(a: Answer<T, AccessRefusal>) -> Answer<(), AccessRefusal> {
    match a {
        Answer::Done(_) => Answer::Done(()),
        Answer::Refused(r) => Answer::Refused(r),
    }
}

/// What booking needs to know about a patient, from their access record:
/// regular or temporary registration, date of birth, and whether they are
/// registered for online appointments (registered, identity verified,
/// appointments switched on, not suspended). `None` if not registered.
pub fn patient_facts(record: &AccessRecord) -> Option<gp_booking::PatientFacts> {
    let account = record.account.as_ref()?;
    let online = account.identity.is_some()
        && account.services.contains(&Service::Appointments)
        && account.suspended.is_none();
    Some(gp_booking::PatientFacts {
        patient: record.patient,
        date_of_birth: account.date_of_birth,
        registration: match account.registration {
            gp_access::RegistrationKind::Regular => gp_booking::Registration::Regular,
            gp_access::RegistrationKind::Temporary => gp_booking::Registration::Temporary,
        },
        online: if online {
            gp_booking::OnlineRegistration::Registered
        } else {
            gp_booking::OnlineRegistration::NotRegistered
        },
    })
}
