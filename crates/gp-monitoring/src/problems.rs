//! The practice's problem log: problems with the online services reported
//! by staff, patients and proxies, each with a status and every action
//! taken on it (who, when, what was done).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gp_core::{
    bounded_text, AccessGuard, Actor, AuditEvent, BookingId, Channel, IdSource, MessageId, Outcome,
    ParseError, PatientId, ProblemId, Reason, RequestId, StaffId, StoreError, SubjectKind,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The longest description of a problem, in characters.
pub const MAX_DESCRIPTION: usize = 2_000;
/// The longest note on an action, in characters.
pub const MAX_NOTE: usize = 1_000;

/// Audit action for a problem reported.
pub const ACTION_REPORT: &str = "problem.report";
/// Audit action for an action taken on a problem.
pub const ACTION_ACT: &str = "problem.action";

/// What kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProblemCategory {
    /// Cannot sign in or open the account.
    CannotLogIn,
    /// Cannot book, or a booking went wrong.
    CannotBook,
    /// The repeat medication list is wrong.
    WrongMedicationList,
    /// Linkage details (the key, the account id) did not work.
    Linkage,
    /// Proxy access did not work as it should.
    Proxy,
    /// The service is hard to use with a disability.
    Accessibility,
    /// Anything else.
    Other,
}

impl ProblemCategory {
    /// Every category.
    pub const ALL: [ProblemCategory; 7] = [
        Self::CannotLogIn,
        Self::CannotBook,
        Self::WrongMedicationList,
        Self::Linkage,
        Self::Proxy,
        Self::Accessibility,
        Self::Other,
    ];
}

/// Where a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProblemStatus {
    /// Reported, nobody working on it yet.
    Open,
    /// Somebody is working on it.
    InProgress,
    /// Fixed.
    Resolved,
    /// Looked at, and will not be fixed.
    WontFix,
}

impl ProblemStatus {
    /// Whether the problem still needs work (open or in progress).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::InProgress)
    }
}

/// What a problem concerns, if one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Concerning {
    /// An appointment.
    Appointment(BookingId),
    /// A repeat prescription request.
    Request(RequestId),
    /// A message.
    Message(MessageId),
}

/// One action taken on a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemAction {
    /// The member of staff who took it.
    pub by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
    /// The status it left the problem in.
    pub status: ProblemStatus,
    /// What was done.
    pub note: String,
}

/// A problem in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The problem.
    pub id: ProblemId,
    /// What kind.
    pub category: ProblemCategory,
    /// What the reporter said.
    pub description: String,
    /// Who reported it (a patient, a proxy or a member of staff).
    pub reported_by: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The patient it is about, if any.
    pub patient: Option<PatientId>,
    /// The appointment, request or message it concerns, if any.
    pub concerning: Option<Concerning>,
    /// When it was reported.
    pub at: DateTime<Utc>,
    /// Where it is.
    pub status: ProblemStatus,
    /// Every action taken on it, oldest first.
    pub actions: Vec<ProblemAction>,
    /// 0 when reported; one more at each action.
    pub version: u64,
}

/// A problem as reported, checked. Build one with [`NewProblem::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProblem {
    /// Who reports it.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The patient it is about (required for a patient or proxy: their own
    /// or the one they act for).
    pub patient: Option<PatientId>,
    /// What kind.
    pub category: ProblemCategory,
    /// What happened, 1 to 2,000 characters.
    pub description: String,
    /// The appointment, request or message it concerns, if any.
    pub concerning: Option<Concerning>,
}

impl NewProblem {
    /// A report, its description checked (1 to [`MAX_DESCRIPTION`]
    /// characters, no control characters but line breaks).
    pub fn new(
        actor: Actor,
        channel: Channel,
        patient: Option<PatientId>,
        category: ProblemCategory,
        description: &str,
        concerning: Option<Concerning>,
    ) -> Result<Self, ProblemError> {
        Ok(Self {
            actor,
            channel,
            patient,
            category,
            description: bounded_text(description, "problem description", MAX_DESCRIPTION, true)?,
            concerning,
        })
    }
}

/// Input the problem log cannot take (nothing recorded).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProblemError {
    /// A description or note that is empty, too long or holds control characters.
    #[error(transparent)]
    Text(#[from] ParseError),
}

/// Why the log refused (recorded in the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemRefusal {
    /// No such problem.
    ProblemNotFound,
    /// Only staff act on problems.
    StaffOnly,
    /// A patient or proxy reports only about the patient they act for, and must name them.
    ActorNotForPatient,
    /// The problem is closed (resolved or won't fix): only reopening it
    /// (status open) is taken.
    ProblemClosed,
    /// The appointment, request or message named is not the patient's (or
    /// does not exist), or the report names one without a patient.
    LinkNotFound,
}

impl fmt::Display for ProblemRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ProblemNotFound => "There is no such problem in the log.",
            Self::StaffOnly => "Only practice staff act on reported problems.",
            Self::ActorNotForPatient => {
                "A problem can only be reported about the patient you act for."
            }
            Self::ProblemClosed => {
                "The problem is closed; reopen it (status open) before acting on it."
            }
            Self::LinkNotFound => "The appointment, request or message named is not the patient's.",
        })
    }
}

impl Reason for ProblemRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::ProblemNotFound => "ProblemNotFound",
            Self::StaffOnly => "StaffOnly",
            Self::ActorNotForPatient => "ActorNotForPatient",
            Self::ProblemClosed => "ProblemClosed",
            Self::LinkNotFound => "LinkNotFound",
        }
    }
}

/// What a commit must still find true.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Precondition {
    /// No problem with this identifier is stored yet.
    ProblemNew(ProblemId),
    /// The problem is stored at this version.
    ProblemAt {
        /// The problem.
        problem: ProblemId,
        /// The version the decision saw.
        version: u64,
    },
    /// The access record the action was authorized on is unchanged.
    Authorized(AccessGuard),
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProblemNew(id) => write!(f, "problem {id} is new"),
            Self::ProblemAt { problem, version } => {
                write!(f, "problem {problem} is at version {version}")
            }
            Self::Authorized(g) => write!(f, "{g}"),
        }
    }
}

/// The change an allowed decision makes: the problem as it now is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemChange {
    /// The problem, new or at its next version.
    pub problem: Problem,
}

/// An allowed problem-log decision.
pub type Committable = gp_core::Committable<ProblemChange, Precondition>;
/// What a problem-log decision came to.
pub type Decision = gp_core::Decision<ProblemChange, Precondition, ProblemRefusal>;
/// A commit that did not happen.
pub type CommitError = gp_core::CommitError<Precondition>;

fn refuse(event: AuditEvent, reason: ProblemRefusal) -> Decision {
    Decision::Refused(gp_core::Refusal {
        events: vec![AuditEvent {
            outcome: Outcome::Refused(reason.reason_code()),
            ..event
        }],
        reason,
    })
}

/// Decides a report: a patient or proxy reports only about the patient
/// they act for (and names them); staff and the system report about any
/// patient, or none. What it concerns must be the patient's: `link_owner`
/// is whose the appointment, request or message is, as the records say
/// (`None` if there is no such thing). The description is kept in the
/// log, never in the audit event (which records the category and what it
/// concerns).
pub fn decide_report(
    report: &NewProblem,
    link_owner: Option<PatientId>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, ProblemError> {
    // The fields are public: check the description whoever built the report.
    let description = bounded_text(
        &report.description,
        "problem description",
        MAX_DESCRIPTION,
        true,
    )?;
    let event = AuditEvent::decided(
        ids,
        at,
        report.actor,
        report.channel,
        report.patient,
        ACTION_REPORT,
        Outcome::Allowed,
    );
    let own = match report.actor {
        Actor::Patient { patient } => Some(patient),
        Actor::Proxy { for_patient, .. } => Some(for_patient),
        _ => None,
    };
    if own.is_some() && own != report.patient {
        return Ok(refuse(event, ProblemRefusal::ActorNotForPatient));
    }
    if report.concerning.is_some() && (link_owner.is_none() || link_owner != report.patient) {
        return Ok(refuse(event, ProblemRefusal::LinkNotFound));
    }
    let id = ProblemId::new(ids);
    let mut event = event
        .with_subject(SubjectKind::Problem, id)
        .with_detail("category", format!("{:?}", report.category));
    event = match report.concerning {
        Some(Concerning::Appointment(b)) => event.with_subject(SubjectKind::Booking, b),
        Some(Concerning::Request(r)) => event.with_subject(SubjectKind::Request, r),
        Some(Concerning::Message(m)) => event.with_subject(SubjectKind::Message, m),
        None => event,
    };
    Ok(Decision::Allowed(gp_core::Committable {
        change: ProblemChange {
            problem: Problem {
                id,
                category: report.category,
                description,
                reported_by: report.actor,
                channel: report.channel,
                patient: report.patient,
                concerning: report.concerning,
                at,
                status: ProblemStatus::Open,
                actions: Vec::new(),
                version: 0,
            },
        },
        events: vec![event],
        preconditions: vec![Precondition::ProblemNew(id)],
    }))
}

/// Decides an action on a problem by staff: the status it leaves and what
/// was done (1 to [`MAX_NOTE`] characters). A closed problem (resolved or
/// won't fix) takes no action but reopening (`Open`).
#[allow(clippy::too_many_arguments)] // reason: each is a fact the decision needs, as the other domains' decide functions take them
pub fn decide_action(
    problem: Option<&Problem>,
    actor: Actor,
    channel: Channel,
    id: ProblemId,
    status: ProblemStatus,
    note: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, ProblemError> {
    let note = bounded_text(note, "action note", MAX_NOTE, true)?;
    let event = AuditEvent::decided(
        ids,
        at,
        actor,
        channel,
        problem.and_then(|p| p.patient),
        ACTION_ACT,
        Outcome::Allowed,
    )
    .with_subject(SubjectKind::Problem, id)
    .with_detail("status", format!("{status:?}"));
    let Actor::Staff { staff, .. } = actor else {
        return Ok(refuse(event, ProblemRefusal::StaffOnly));
    };
    let Some(problem) = problem else {
        return Ok(refuse(event, ProblemRefusal::ProblemNotFound));
    };
    if !problem.status.is_open() && status != ProblemStatus::Open {
        return Ok(refuse(event, ProblemRefusal::ProblemClosed));
    }
    let mut next = problem.clone();
    next.status = status;
    next.version += 1;
    next.actions.push(ProblemAction {
        by: staff,
        at,
        status,
        note,
    });
    Ok(Decision::Allowed(gp_core::Committable {
        change: ProblemChange { problem: next },
        events: vec![event.with_detail("from", format!("{:?}", problem.status))],
        preconditions: vec![Precondition::ProblemAt {
            problem: problem.id,
            version: problem.version,
        }],
    }))
}

/// Which problems to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemFilter {
    /// Only open or in-progress problems.
    pub open_only: bool,
    /// Only this category.
    pub category: Option<ProblemCategory>,
    /// Only about this patient.
    pub patient: Option<PatientId>,
}

impl ProblemFilter {
    /// Whether `p` passes.
    pub fn matches(&self, p: &Problem) -> bool {
        (!self.open_only || p.status.is_open())
            && self.category.is_none_or(|c| c == p.category)
            && self.patient.is_none_or(|x| p.patient == Some(x))
    }
}

/// Checks that `next` may replace what is stored under its identifier: a
/// new problem starts at version 0, a stored one moves to its next version
/// and keeps its reporter and patient. Store implementations call it inside
/// their write transaction.
pub fn check_version(stored: Option<&Problem>, next: &Problem) -> Result<(), StoreError> {
    match stored {
        Some(old)
            if next.version != old.version + 1
                || next.reported_by != old.reported_by
                || next.patient != old.patient =>
        {
            Err(StoreError::Invalid(format!(
                "problem {} may only move to its next version",
                next.id
            )))
        }
        None if next.version != 0 => Err(StoreError::Invalid(format!(
            "a new problem {} starts at version 0",
            next.id
        ))),
        _ => Ok(()),
    }
}

/// Storage for the problem log and its audit events.
///
/// # Contract
///
/// - **Commits are atomic and conditional**: every precondition checked,
///   the problem stored (new, or in place of its previous version) and the
///   events appended as one transaction, or [`gp_core::CommitError::Conflict`]
///   naming the precondition that failed and nothing written.
/// - **Versions move by one**; a stored problem is replaced only by its
///   next version, and never changes id, reporter or patient.
/// - **Listing** is oldest first (by time reported, then id).
#[async_trait]
pub trait ProblemStore: Send + Sync {
    /// One problem.
    async fn problem(&self, id: ProblemId) -> Result<Option<Problem>, StoreError>;

    /// The problems passing `filter`, oldest first.
    async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>, StoreError>;

    /// Applies an allowed decision with its events if its preconditions hold.
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError>;

    /// Appends the audit events of a refusal, all or none.
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: ProblemStore + ?Sized> ProblemStore for std::sync::Arc<T> {
    async fn problem(&self, id: ProblemId) -> Result<Option<Problem>, StoreError> {
        (**self).problem(id).await
    }
    async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>, StoreError> {
        (**self).problems(filter).await
    }
    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        (**self).commit(decision).await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        (**self).record_refusal(events).await
    }
}

/// The problem log in memory, for tests and examples. Access guards cannot
/// be checked here (it holds no access records): a commit carrying one is
/// refused as a conflict.
#[derive(Debug, Default)]
pub struct MemoryProblemStore {
    inner: std::sync::Mutex<Log>,
}

/// The problems and the audit events, as the memory store holds them.
type Log = (Vec<Problem>, Vec<AuditEvent>);

impl MemoryProblemStore {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every audit event appended, oldest first.
    pub fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self.lock()?.1.clone())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Log>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Internal("the problem log's lock was poisoned".into()))
    }
}

#[async_trait]
impl ProblemStore for MemoryProblemStore {
    async fn problem(&self, id: ProblemId) -> Result<Option<Problem>, StoreError> {
        Ok(self.lock()?.0.iter().find(|p| p.id == id).cloned())
    }

    async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>, StoreError> {
        let mut out: Vec<Problem> = self
            .lock()?
            .0
            .iter()
            .filter(|p| filter.matches(p))
            .cloned()
            .collect();
        out.sort_by_key(|p| (p.at, p.id));
        Ok(out)
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let mut inner = self.lock()?;
        for p in &decision.preconditions {
            let holds = match p {
                Precondition::ProblemNew(id) => !inner.0.iter().any(|x| x.id == *id),
                Precondition::ProblemAt { problem, version } => inner
                    .0
                    .iter()
                    .any(|x| x.id == *problem && x.version == *version),
                Precondition::Authorized(_) => false,
            };
            if !holds {
                return Err(CommitError::Conflict(p.clone()));
            }
        }
        let new = &decision.change.problem;
        let at = inner.0.iter().position(|x| x.id == new.id);
        check_version(at.map(|i| &inner.0[i]), new)?;
        match at {
            Some(i) => inner.0[i] = new.clone(),
            None => inner.0.push(new.clone()),
        }
        inner.1.extend(decision.events.iter().cloned());
        Ok(())
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.lock()?.1.extend(events.iter().cloned());
        Ok(())
    }
}
