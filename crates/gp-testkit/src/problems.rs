//! The `ProblemStore` conformance suite: the problem log's contract in
//! executable form. Each check takes a fresh, empty store; run them all
//! with [`crate::problem_store_conformance!`].

use chrono::{DateTime, Duration, Utc};
use gp_core::{
    Actor, Channel, CommitError, PatientId, ProblemId, SequentialIds, StaffId, StaffRole,
};
use gp_monitoring::problems::{decide_action, decide_report, Precondition};
use gp_monitoring::{
    NewProblem, Problem, ProblemCategory, ProblemFilter, ProblemStatus, ProblemStore,
};

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "a_report_is_stored_and_listed",
    "an_action_moves_the_problem_on_one_version",
    "a_stale_or_repeated_commit_is_a_conflict_and_writes_nothing",
    "a_skipped_version_or_changed_patient_is_invalid_and_writes_nothing",
    "listing_filters_by_status_category_and_patient",
];

fn at(minutes: i64) -> DateTime<Utc> {
    crate::fixtures::monday_morning() + Duration::minutes(minutes)
}

fn staff() -> Actor {
    Actor::Staff {
        staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(7)),
        role: StaffRole::Receptionist,
    }
}

async fn report<S: ProblemStore>(
    store: &S,
    ids: &SequentialIds,
    patient: Option<PatientId>,
    category: ProblemCategory,
    minutes: i64,
) -> Problem {
    let actor = match patient {
        Some(p) => Actor::Patient { patient: p },
        None => staff(),
    };
    let channel = if patient.is_some() {
        Channel::Online
    } else {
        Channel::Reception
    };
    let new = NewProblem::new(actor, channel, patient, category, "It did not work", None)
        .expect("a report");
    let Ok(gp_core::Decision::Allowed(c)) = decide_report(&new, patient, at(minutes), ids) else {
        panic!("a report is allowed");
    };
    store.commit(&c).await.expect("stored");
    c.change.problem
}

async fn act<S: ProblemStore>(
    store: &S,
    ids: &SequentialIds,
    id: ProblemId,
    status: ProblemStatus,
    minutes: i64,
) -> Result<Problem, CommitError<Precondition>> {
    let stored = store.problem(id).await.expect("read");
    let decision = decide_action(
        stored.as_ref(),
        staff(),
        Channel::Reception,
        id,
        status,
        "Looked into it",
        at(minutes),
        ids,
    )
    .expect("a valid note");
    let gp_core::Decision::Allowed(c) = decision else {
        panic!("the action is allowed");
    };
    store.commit(&c).await.map(|()| c.change.problem)
}

/// A report is stored as reported, open at version 0, and listed.
pub async fn a_report_is_stored_and_listed<S: ProblemStore>(store: S) {
    let ids = SequentialIds::new(0x9801);
    let p = PatientId::new(&ids);
    let problem = report(&store, &ids, Some(p), ProblemCategory::CannotBook, 0).await;
    assert_eq!(problem.status, ProblemStatus::Open);
    assert_eq!(problem.version, 0);
    assert_eq!(
        store.problem(problem.id).await.expect("read"),
        Some(problem.clone())
    );
    assert_eq!(
        store
            .problems(&ProblemFilter::default())
            .await
            .expect("list"),
        vec![problem]
    );
    assert_eq!(
        store.problem(ProblemId::new(&ids)).await.expect("read"),
        None
    );
}

/// An action replaces the problem with its next version, actions kept in order.
pub async fn an_action_moves_the_problem_on_one_version<S: ProblemStore>(store: S) {
    let ids = SequentialIds::new(0x9802);
    let problem = report(&store, &ids, None, ProblemCategory::Linkage, 0).await;
    act(&store, &ids, problem.id, ProblemStatus::InProgress, 5)
        .await
        .expect("taken on");
    let done = act(&store, &ids, problem.id, ProblemStatus::Resolved, 10)
        .await
        .expect("resolved");
    let stored = store
        .problem(problem.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(stored, done);
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.actions.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![ProblemStatus::InProgress, ProblemStatus::Resolved]
    );
}

/// A commit made on a version since moved on, or a report stored twice,
/// is a conflict naming the precondition, and the log is as it was.
pub async fn a_stale_or_repeated_commit_is_a_conflict_and_writes_nothing<S: ProblemStore>(
    store: S,
) {
    let ids = SequentialIds::new(0x9803);
    let new = NewProblem::new(
        staff(),
        Channel::Reception,
        None,
        ProblemCategory::Other,
        "The screen froze",
        None,
    )
    .expect("a report");
    let Ok(gp_core::Decision::Allowed(c)) = decide_report(&new, None, at(0), &ids) else {
        panic!("allowed");
    };
    store.commit(&c).await.expect("stored");
    assert!(matches!(
        store.commit(&c).await,
        Err(CommitError::Conflict(Precondition::ProblemNew(_)))
    ));
    let id = c.change.problem.id;
    let stale = store.problem(id).await.expect("read");
    act(&store, &ids, id, ProblemStatus::InProgress, 5)
        .await
        .expect("taken on");
    let decision = decide_action(
        stale.as_ref(),
        staff(),
        Channel::Reception,
        id,
        ProblemStatus::WontFix,
        "Not ours to fix",
        at(6),
        &ids,
    )
    .expect("a valid note");
    let gp_core::Decision::Allowed(late) = decision else {
        panic!("allowed on what it saw");
    };
    assert!(matches!(
        store.commit(&late).await,
        Err(CommitError::Conflict(Precondition::ProblemAt {
            version: 0,
            ..
        }))
    ));
    let stored = store.problem(id).await.expect("read").expect("there");
    assert_eq!(stored.status, ProblemStatus::InProgress);
    assert_eq!(stored.version, 1);
}

/// A change whose preconditions hold but which does not move the problem
/// on by exactly one version (a new problem past version 0, a skipped
/// version, a changed patient or reporter) is refused as invalid, and the
/// log is as it was.
pub async fn a_skipped_version_or_changed_patient_is_invalid_and_writes_nothing<S: ProblemStore>(
    store: S,
) {
    let ids = SequentialIds::new(0x9805);
    let patient = PatientId::new(&ids);
    let new = NewProblem::new(
        Actor::Patient { patient },
        Channel::Online,
        Some(patient),
        ProblemCategory::CannotBook,
        "No slots showed",
        None,
    )
    .expect("a report");
    let Ok(gp_core::Decision::Allowed(mut c)) = decide_report(&new, Some(patient), at(0), &ids)
    else {
        panic!("allowed");
    };
    c.change.problem.version = 1;
    assert!(matches!(
        store.commit(&c).await,
        Err(CommitError::Store(gp_core::StoreError::Invalid(_)))
    ));
    assert_eq!(
        store.problem(c.change.problem.id).await.expect("read"),
        None
    );
    assert!(store
        .problems(&ProblemFilter::default())
        .await
        .expect("list")
        .is_empty());

    c.change.problem.version = 0;
    store.commit(&c).await.expect("stored");
    let id = c.change.problem.id;
    let stored = store.problem(id).await.expect("read");
    let decision = decide_action(
        stored.as_ref(),
        staff(),
        Channel::Reception,
        id,
        ProblemStatus::InProgress,
        "Looking into it",
        at(5),
        &ids,
    )
    .expect("a valid note");
    let gp_core::Decision::Allowed(next) = decision else {
        panic!("allowed");
    };
    let mut skipped = next.clone();
    skipped.change.problem.version = 2;
    let mut moved = next.clone();
    moved.change.problem.patient = Some(PatientId::new(&ids));
    let mut reporter = next;
    reporter.change.problem.reported_by = staff();
    for bad in [skipped, moved, reporter] {
        assert!(matches!(
            store.commit(&bad).await,
            Err(CommitError::Store(gp_core::StoreError::Invalid(_)))
        ));
        assert_eq!(store.problem(id).await.expect("read"), stored);
    }
}

/// Open-only, category and patient filters; oldest first.
pub async fn listing_filters_by_status_category_and_patient<S: ProblemStore>(store: S) {
    let ids = SequentialIds::new(0x9804);
    let p = PatientId::new(&ids);
    let late = report(&store, &ids, Some(p), ProblemCategory::CannotLogIn, 30).await;
    let early = report(&store, &ids, None, ProblemCategory::Accessibility, 10).await;
    let closed = report(&store, &ids, None, ProblemCategory::CannotLogIn, 20).await;
    act(&store, &ids, closed.id, ProblemStatus::Resolved, 40)
        .await
        .expect("resolved");
    let list = |f: ProblemFilter| {
        let store = &store;
        async move {
            store
                .problems(&f)
                .await
                .expect("list")
                .into_iter()
                .map(|x| x.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ProblemFilter::default()).await,
        vec![early.id, closed.id, late.id]
    );
    let open = ProblemFilter {
        open_only: true,
        ..ProblemFilter::default()
    };
    assert_eq!(list(open).await, vec![early.id, late.id]);
    let logins = ProblemFilter {
        category: Some(ProblemCategory::CannotLogIn),
        ..ProblemFilter::default()
    };
    assert_eq!(list(logins).await, vec![closed.id, late.id]);
    let theirs = ProblemFilter {
        patient: Some(p),
        ..ProblemFilter::default()
    };
    assert_eq!(list(theirs).await, vec![late.id]);
}

/// Runs every check of this suite against stores made by `$make`.
#[macro_export]
macro_rules! problem_store_conformance {
    ($make:expr) => {
        $crate::problem_store_conformance!(@each $make;
            a_report_is_stored_and_listed,
            an_action_moves_the_problem_on_one_version,
            a_stale_or_repeated_commit_is_a_conflict_and_writes_nothing,
            a_skipped_version_or_changed_patient_is_invalid_and_writes_nothing,
            listing_filters_by_status_category_and_patient
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::problems::$check($make).await;
            }
        )+
    };
}
