//! The access facade: registration, linkage, proxies, coercion safeguards,
//! staff, settings and the audited authorization question.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use gp_access::{
    decide_authorization, decide_child_view, decide_coercion_concern, decide_coercion_review,
    decide_first_manager, decide_issue_linkage, decide_new_basis, decide_practice_linkage_limit,
    decide_proxy_application, decide_proxy_suspension, decide_put_staff, decide_redeem_linkage,
    decide_register, decide_revoke_proxy, decide_services, decide_settings, decide_suspension,
    decide_unknown_account_redemption, decide_verify_identity, limit_window, reviews_due,
    unused_proxies, AccessChange, AccessError, AccessFacts, AccessRecord, AccessRefusal,
    AccessSettings, AccessStore, Action, ApplicationVerdict, By, ConcernOutcome, Decision,
    LegalBasis, LinkageDetails, ListedPatient, ProxyApplicationInput, ProxyGrant, Registration,
    ReviewReason, Service, StaffProfile, SuspensionReason, VerificationMethod,
};
use gp_core::{
    local_date, AccountId, Actor, Clock, ConcernId, IdSource, OdsCode, OsRandom, PatientId,
    ProxyId, RandomIds, RandomSource, StaffId, StoreError,
};

use crate::commit::{on_commit_error, Core, Outcome, Prior};
use crate::{Answer, OnlineError};

/// The access facade over a store and a clock: load, decide with
/// `gp-access`'s rules (which ask the permission matrix themselves), commit
/// with the audit event, and on a conflict decide again (bounded).
/// Refusals, and denied authorizations, are recorded. A member of staff
/// acts in the role their stored profile gives, whatever role the caller's
/// `Actor` claims.
pub struct Access<S, C> {
    core: Core<S, C>,
    random: Box<dyn RandomSource>,
}

fn staff_of(actor: &Actor) -> Option<StaffId> {
    match actor {
        Actor::Staff { staff, .. } => Some(*staff),
        _ => None,
    }
}

/// `by`, with a member of staff in the role their stored profile gives (a
/// caller's claim of a role is never trusted). Unknown staff keep the claim:
/// the rules refuse them as `UnknownStaff` and the trail shows what was claimed.
pub(crate) fn as_recorded(by: &By, facts: &AccessFacts) -> By {
    match (by.actor, &facts.staff) {
        (Actor::Staff { staff, .. }, Some(profile)) if profile.staff == staff => By {
            actor: Actor::Staff {
                staff,
                role: profile.role,
            },
            channel: by.channel,
        },
        _ => *by,
    }
}

/// What an allowed authorization hands the action it allows.
#[derive(Debug, Clone)]
pub(crate) struct Authorized {
    /// Who acts, in the role their record gives.
    pub by: By,
    /// The events and guard to commit with the action.
    pub prior: Prior,
    /// The patient's access record as read (at the guard's version).
    pub record: AccessRecord,
    /// The patient's entry on the practice's list.
    pub listed: Option<ListedPatient>,
}

/// Whether the practice allows one online booking before registration for
/// online services (read from the booking policy only when it matters).
pub(crate) type BeforeRegistration<'a> = dyn Fn() -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<bool, OnlineError>> + Send + 'a>,
    > + Send
    + Sync
    + 'a;

/// What [`Access::gate`] found.
pub(crate) enum Gate {
    /// Allowed.
    Allowed(Box<Authorized>),
    /// Denied (already recorded).
    Denied(AccessRefusal),
}

type Answered<T> = Result<Answer<T, AccessRefusal>, OnlineError>;

/// A patient id for decisions about the practice rather than one patient.
fn practice_wide() -> PatientId {
    PatientId::from_uuid(gp_core::uuid::Uuid::nil())
}

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
            core: Core::new(store, clock, ids),
            random,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.core.store
    }

    /// May `by` take `action` for `patient` now? Recorded in the audit trail
    /// either way; a proxy's use is noted for the unused-access list.
    pub async fn authorize(&self, by: &By, patient: PatientId, action: Action) -> Answered<()> {
        self.authorize_listed(by, patient, action, None, false)
            .await
    }

    /// [`Access::authorize`], with the patient's entry on the practice's list.
    pub(crate) async fn authorize_listed(
        &self,
        by: &By,
        patient: PatientId,
        action: Action,
        listed: Option<&ListedPatient>,
        one_booking_before_registration: bool,
    ) -> Answered<()> {
        let outcome = self
            .run(patient, listed, by, |facts, by, now, ids| {
                let facts = AccessFacts {
                    one_booking_before_registration,
                    ..facts.clone()
                };
                Ok(decide_authorization(&facts, by, action, now, ids))
            })
            .await?;
        Ok(unit(outcome))
    }

    /// The authorization question for an action that commits a change of
    /// its own: a denial is recorded at once; an allowed answer's event is
    /// handed back (with the record's version as a guard) to be committed
    /// in the action's own transaction. A proxy's first use of the day is
    /// committed here, with its event.
    ///
    /// `listed` is the patient's list entry as read from the
    /// `PatientList` port, or `None` when the store's `load` reads it
    /// ([`AccessStore::loads_listing`]).
    pub(crate) async fn gate(
        &self,
        by: &By,
        patient: PatientId,
        action: Action,
        listed: Option<Option<ListedPatient>>,
        before_registration: Option<&BeforeRegistration<'_>>,
    ) -> Result<Gate, OnlineError> {
        self.gate_with(by, patient, action, listed, before_registration, None)
            .await
    }

    /// [`Access::gate`], with the events of a practice-wide question
    /// naming the settings `area` (and no patient).
    async fn gate_with(
        &self,
        by: &By,
        patient: PatientId,
        action: Action,
        listed: Option<Option<ListedPatient>>,
        before_registration: Option<&BeforeRegistration<'_>>,
        area: Option<&str>,
    ) -> Result<Gate, OnlineError> {
        for _ in 0..self.core.max_attempts {
            let now = self.core.clock.now();
            let mut facts = self.core.store.load(patient, staff_of(&by.actor)).await?;
            if let Some(listed) = &listed {
                facts.listed = listed.clone();
            }
            // Asked only when it can matter: a listed patient with no
            // account, asking to book for themselves.
            if let Some(allows) = before_registration {
                if facts.record.account.is_none()
                    && facts.listed.is_some()
                    && action == Action::BookAppointment
                    && matches!(by.actor, Actor::Patient { .. })
                {
                    facts.one_booking_before_registration = allows().await?;
                }
            }
            let by = as_recorded(by, &facts);
            let mut decision =
                decide_authorization(&facts, &by, action, now, self.core.ids.as_ref());
            if let Some(area) = area {
                let events = match &mut decision {
                    Decision::Allowed(c) => &mut c.events,
                    Decision::Refused(r) => &mut r.events,
                };
                for e in events {
                    e.patient = None;
                    e.subjects.clear();
                    e.details.insert("area".into(), area.to_owned());
                }
            }
            match decision {
                Decision::Refused(r) => {
                    self.core.store.record_refusal(&r.events).await?;
                    return Ok(Gate::Denied(r.reason));
                }
                Decision::Allowed(c) if c.change.record.is_some() => {
                    match self.core.store.commit(&c).await {
                        Ok(()) => {
                            let mut record = facts.record;
                            record.version += 1;
                            return Ok(Gate::Allowed(Box::new(Authorized {
                                by,
                                prior: Prior {
                                    events: Vec::new(),
                                    guard: Some(guard(&record, facts.staff.as_ref())),
                                },
                                record,
                                listed: facts.listed,
                            })));
                        }
                        Err(e) => on_commit_error(e)?,
                    }
                }
                Decision::Allowed(c) => {
                    return Ok(Gate::Allowed(Box::new(Authorized {
                        by,
                        prior: Prior {
                            events: c.events,
                            guard: Some(guard(&facts.record, facts.staff.as_ref())),
                        },
                        record: facts.record,
                        listed: facts.listed,
                    })))
                }
            }
        }
        Err(OnlineError::Contention {
            attempts: self.core.max_attempts,
        })
    }

    /// Like [`Access::gate`] for a change to the practice's settings: only
    /// the practice manager or a lead for online services; the events name
    /// the area changed.
    pub(crate) async fn gate_settings(&self, by: &By, area: &str) -> Result<Gate, OnlineError> {
        let gate = self
            .gate_with(
                by,
                practice_wide(),
                Action::ChangeOnlineSettings,
                Some(None),
                None,
                Some(area),
            )
            .await?;
        // A practice-wide change rests on no patient's record (the
        // placeholder's is never stored), but on the staff profile: a lead
        // designation taken away first wins.
        Ok(gate)
    }

    /// Registers the patient for online services.
    pub async fn register(
        &self,
        by: &By,
        patient: PatientId,
        registration: &Registration,
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_register(facts, by, registration, now, ids)
        })
        .await
    }

    /// Records the patient's identity verification.
    pub async fn verify_identity(
        &self,
        by: &By,
        patient: PatientId,
        method: VerificationMethod,
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_verify_identity(facts, by, method, now, ids)
        })
        .await
    }

    /// Sets which online services are on for the patient.
    pub async fn set_services(
        &self,
        by: &By,
        patient: PatientId,
        services: &BTreeSet<Service>,
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_services(facts, by, services, now, ids)
        })
        .await
    }

    /// Suspends (`Some(reason)`) or restores (`None`) the patient's own online access.
    pub async fn suspend(
        &self,
        by: &By,
        patient: PatientId,
        reason: Option<SuspensionReason>,
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_suspension(facts, by, reason.clone(), now, ids)
        })
        .await
    }

    /// Issues linkage details, to hand to the patient once.
    pub async fn issue_linkage(&self, by: &By, patient: PatientId) -> Answered<LinkageDetails> {
        let random = self.random.as_ref();
        let outcome = self
            .run(patient, None, by, |facts, by, now, ids| {
                decide_issue_linkage(facts, by, now, ids, random)
            })
            .await?;
        Ok(match outcome {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(c) => match (c.change.refused, c.change.linkage) {
                (Some(r), _) => Answer::Refused(r),
                (None, Some(details)) => Answer::Done(details),
                (None, None) => {
                    return Err(StoreError::Corrupt("a linkage decision made no key".into()).into())
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
    ) -> Answered<PatientId> {
        // The practice-wide limit is asked the same way for every account,
        // known or not, so that it says nothing about which accounts exist;
        // a redemption then commits only while the practice is still under
        // it (a precondition in the same transaction), and a conflict on it
        // comes back to be refused here.
        let limited = |settings: AccessSettings, now| async move {
            let (from, to) = limit_window(now);
            let failures = self.core.store.failed_redemptions_in(from, to).await?;
            Ok::<_, OnlineError>(decide_practice_linkage_limit(
                &settings,
                failures,
                account,
                now,
                self.core.ids.as_ref(),
            ))
        };
        let Some(patient) = self.core.store.patient_for_account(account).await? else {
            let now = self.core.clock.now();
            let settings = self.core.store.settings().await?.settings;
            if let Some(limit) = limited(settings, now).await? {
                self.core.store.record_refusal(limit.events()).await?;
                return Ok(Answer::Refused(AccessRefusal::LinkageRateLimited));
            }
            // Same answer as a wrong key; recorded, so that guessing shows
            // in the trail (under its own action, not counted by the limit).
            let refused = decide_unknown_account_redemption(account, now, self.core.ids.as_ref());
            self.core.store.record_refusal(refused.events()).await?;
            return Ok(Answer::Refused(AccessRefusal::LinkageKeyInvalid));
        };
        let outcome = self
            .core
            .run(&Prior::none(), |now| async move {
                let facts = self.core.store.load(patient, None).await?;
                if let Some(refused) = limited(facts.settings.settings.clone(), now).await? {
                    return Ok(refused);
                }
                Ok(decide_redeem_linkage(
                    &facts,
                    account,
                    practice,
                    key,
                    now,
                    self.core.ids.as_ref(),
                ))
            })
            .await?;
        Ok(match unit(outcome) {
            Answer::Done(()) => Answer::Done(patient),
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
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_proxy_application(facts, by, input, verdict, now, ids)
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
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_revoke_proxy(facts, by, proxy, reason, now, ids)
        })
        .await
    }

    /// Suspends (`Some(reason)`) or restores (`None`) one proxy's access.
    pub async fn suspend_proxy(
        &self,
        by: &By,
        patient: PatientId,
        proxy: ProxyId,
        reason: Option<SuspensionReason>,
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_proxy_suspension(facts, by, proxy, reason.clone(), now, ids)
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
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_new_basis(facts, by, proxy, basis, now, ids)
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
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_child_view(facts, by, proxy, consents, now, ids)
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
    ) -> Answered<ConcernId> {
        let answer = self
            .record_of(patient, by, |facts, by, now, ids| {
                decide_coercion_concern(facts, by, proxy, note, now, ids)
            })
            .await?;
        Ok(match answer {
            Answer::Refused(r) => Answer::Refused(r),
            Answer::Done(record) => match record.concerns.last() {
                Some(c) => Answer::Done(c.id),
                None => {
                    return Err(
                        StoreError::Corrupt("a concern decision stored no concern".into()).into(),
                    )
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
    ) -> Answered<AccessRecord> {
        self.record_of(patient, by, |facts, by, now, ids| {
            decide_coercion_review(facts, by, concern, outcome, note, now, ids)
        })
        .await
    }

    /// Records the practice manager as the first member of staff of a new practice.
    pub async fn first_manager(&self, profile: &StaffProfile) -> Answered<()> {
        let outcome = self
            .core
            .run(&Prior::none(), |now| async move {
                let no_staff_yet = self.core.store.all_staff().await?.is_empty();
                Ok(decide_first_manager(
                    no_staff_yet,
                    profile,
                    now,
                    self.core.ids.as_ref(),
                )?)
            })
            .await?;
        Ok(unit(outcome))
    }

    /// Records a staff profile (the practice manager or a lead; nobody their
    /// own; a clinical role, prescribing or a lead designation only by the
    /// practice manager or the lead GP).
    pub async fn put_staff(&self, by: &By, profile: &StaffProfile) -> Answered<()> {
        let outcome = self
            .core
            .run(&Prior::none(), |now| async move {
                let facts = self
                    .core
                    .store
                    .load(practice_wide(), staff_of(&by.actor))
                    .await?;
                let before = self.core.store.staff(profile.staff).await?;
                let managers: Vec<StaffProfile> = self
                    .core
                    .store
                    .all_staff()
                    .await?
                    .into_iter()
                    .filter(|s| s.role == gp_core::StaffRole::PracticeManager)
                    .collect();
                let by = as_recorded(by, &facts);
                let decided = decide_put_staff(
                    &facts,
                    &by,
                    before.as_ref(),
                    profile,
                    &managers,
                    now,
                    self.core.ids.as_ref(),
                )?;
                Ok(on_staff_record(decided, &facts))
            })
            .await?;
        Ok(unit(outcome))
    }

    /// Changes the access settings (the practice manager or a lead).
    pub async fn set_settings(&self, by: &By, settings: &AccessSettings) -> Answered<()> {
        let outcome = self
            .run(practice_wide(), None, by, |facts, by, now, ids| {
                decide_settings(facts, by, settings, now, ids)
            })
            .await?;
        Ok(unit(outcome))
    }

    /// The access settings in force.
    pub async fn settings(&self) -> Result<AccessSettings, OnlineError> {
        Ok(self.core.store.settings().await?.settings)
    }

    /// Proxy access due for review today, with why.
    pub async fn reviews_due(&self) -> Result<Vec<(ProxyGrant, ReviewReason)>, OnlineError> {
        let settings = self.core.store.settings().await?.settings;
        let records = self.core.store.records().await?;
        Ok(reviews_due(
            &records,
            &settings,
            local_date(self.core.clock.now()),
        ))
    }

    /// Proxy access unused for the settings' years, to be removed.
    pub async fn unused_proxies(&self) -> Result<Vec<ProxyGrant>, OnlineError> {
        let settings = self.core.store.settings().await?.settings;
        let records = self.core.store.records().await?;
        Ok(unused_proxies(&records, &settings, self.core.clock.now()))
    }

    /// The commit loop for an access decision: load the patient's record
    /// (and the acting staff member's profile), decide as the member of
    /// staff the records say, commit.
    async fn run<F>(
        &self,
        patient: PatientId,
        listed: Option<&ListedPatient>,
        by: &By,
        decide: F,
    ) -> Result<Outcome<AccessChange, gp_access::Precondition, AccessRefusal>, OnlineError>
    where
        F: Fn(&AccessFacts, &By, DateTime<Utc>, &dyn IdSource) -> Result<Decision, AccessError>,
    {
        let decide = &decide;
        self.core
            .run(&Prior::none(), |now| async move {
                let mut facts = self.core.store.load(patient, staff_of(&by.actor)).await?;
                if !self.core.store.loads_listing() {
                    facts.listed = listed.cloned();
                }
                let by = as_recorded(by, &facts);
                Ok(on_staff_record(
                    decide(&facts, &by, now, self.core.ids.as_ref())?,
                    &facts,
                ))
            })
            .await
    }

    /// Like `run`, answering with the patient's record as committed.
    async fn record_of<F>(&self, patient: PatientId, by: &By, decide: F) -> Answered<AccessRecord>
    where
        F: Fn(&AccessFacts, &By, DateTime<Utc>, &dyn IdSource) -> Result<Decision, AccessError>,
    {
        Ok(match self.run(patient, None, by, decide).await? {
            Outcome::Refused(r) => Answer::Refused(r),
            Outcome::Committed(c) => match (c.change.refused, c.change.record) {
                (Some(r), _) => Answer::Refused(r),
                (None, Some(mut r)) => {
                    r.version += 1;
                    Answer::Done(r)
                }
                (None, None) => Answer::Done(AccessRecord::empty(patient)),
            },
        })
    }
}

/// A change a member of staff was allowed to make commits only while their
/// profile is as the decision read it: a role, competency or designation
/// taken away first wins.
fn on_staff_record(decision: Decision, facts: &AccessFacts) -> Decision {
    match (decision, &facts.staff) {
        (Decision::Allowed(mut c), Some(me)) => {
            c.preconditions
                .push(gp_access::Precondition::StaffAsStored {
                    staff: me.staff,
                    profile: Some(me.clone()),
                });
            Decision::Allowed(c)
        }
        (decision, _) => decision,
    }
}

fn guard(record: &AccessRecord, staff: Option<&StaffProfile>) -> gp_core::AccessGuard {
    gp_core::AccessGuard {
        staff: staff.map(|p| (p.staff, p.version)),
        patient: record.patient,
        version: record.version,
    }
}

fn unit(
    outcome: Outcome<AccessChange, gp_access::Precondition, AccessRefusal>,
) -> Answer<(), AccessRefusal> {
    match outcome {
        Outcome::Refused(r) => Answer::Refused(r),
        Outcome::Committed(c) => match c.change.refused {
            Some(r) => Answer::Refused(r),
            None => Answer::Done(()),
        },
    }
}

/// What booking needs to know about a patient: regular or temporary
/// registration and date of birth (from the practice's list, or from the
/// online account for a patient not on it), and whether they are registered
/// for online appointments (registered, identity verified, appointments
/// switched on, not suspended). `None` if the patient is neither listed nor
/// registered online.
pub fn patient_facts(
    record: &AccessRecord,
    listed: Option<&ListedPatient>,
) -> Option<gp_booking::PatientFacts> {
    let account = record.account.as_ref();
    let (date_of_birth, registration) = match (listed, account) {
        (Some(l), _) => (l.date_of_birth(), l.registration()),
        (None, Some(a)) => (a.date_of_birth, a.registration),
        (None, None) => return None,
    };
    let online = account.is_some_and(|a| {
        a.identity.is_some() && a.services.contains(&Service::Appointments) && a.suspended.is_none()
    });
    Some(gp_booking::PatientFacts {
        patient: record.patient,
        date_of_birth,
        registration: match registration {
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
