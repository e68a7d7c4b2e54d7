//! The `AccessStore` conformance suite: the contract in executable form.
//!
//! Each check is a `pub async fn` taking a fresh, empty store and panicking
//! with a message that names the broken rule. Run them all against a store
//! with [`crate::access_store_conformance!`].

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use gp_access::decide_put_staff;
use gp_access::{
    decide_first_manager, decide_issue_linkage, decide_register, decide_services, decide_settings,
    decide_verify_identity, AccessRecord, AccessSettings, AccessStore, By, CommitError,
    Committable, Competency, Decision, Designation, Precondition, Registration, RegistrationKind,
    Service, StaffProfile, StoreError, VerificationMethod,
};
use gp_core::{
    Actor, Channel, NhsNumber, OdsCode, PatientId, SeededRandom, SequentialIds, StaffId, StaffRole,
};

use crate::fixtures::monday_morning;

/// Every check's name, in the order the macro runs them.
pub const CHECKS: &[&str] = &[
    "an_empty_store_has_defaults_and_empty_records",
    "records_are_stored_whole_and_versions_move_by_one",
    "a_stale_record_conflicts_and_writes_nothing",
    "staff_profiles_load_with_the_record",
    "settings_versions_move_by_one_and_stale_settings_conflict",
    "an_account_id_belongs_to_one_patient",
    "refusals_are_recorded_alone",
    "staff_changes_commit_only_on_the_staff_records_they_saw",
];

struct World {
    ids: SequentialIds,
    now: DateTime<Utc>,
    manager: StaffProfile,
}

impl World {
    fn new() -> Self {
        let ids = SequentialIds::new(0xACCE55);
        let manager = StaffProfile {
            staff: StaffId::new(&ids),
            name: "Pat Morgan".into(),
            role: StaffRole::PracticeManager,
            competencies: [Competency::VerifyIdentity].into_iter().collect(),
            designations: [Designation::LeadStaff].into_iter().collect(),
            version: 0,
        };
        Self {
            ids,
            now: monday_morning(),
            manager,
        }
    }

    fn by(&self) -> By {
        By {
            actor: Actor::Staff {
                staff: self.manager.staff,
                role: self.manager.role,
            },
            channel: Channel::Reception,
        }
    }

    async fn with_manager<S: AccessStore>(store: &S) -> Self {
        let w = Self::new();
        let d = decide_first_manager(true, &w.manager, w.now, &w.ids).expect("valid");
        store.commit(&allowed(d)).await.expect("first manager");
        w
    }

    /// Registers, verifies and switches on every service for a new patient.
    async fn registered<S: AccessStore>(&self, store: &S) -> PatientId {
        let patient = PatientId::new(&self.ids);
        let reg = Registration {
            nhs_number: NhsNumber::parse("943 476 5919").expect("valid"),
            date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 29).expect("a date"),
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").expect("valid"),
        };
        let facts = store
            .load(patient, Some(self.manager.staff))
            .await
            .expect("load");
        store
            .commit(&allowed(
                decide_register(&facts, &self.by(), &reg, self.now, &self.ids).expect("valid"),
            ))
            .await
            .expect("register");
        let facts = store
            .load(patient, Some(self.manager.staff))
            .await
            .expect("load");
        let d = decide_verify_identity(
            &facts,
            &self.by(),
            VerificationMethod::DocumentsSeen,
            self.now,
            &self.ids,
        )
        .expect("valid");
        store.commit(&allowed(d)).await.expect("verify");
        let facts = store
            .load(patient, Some(self.manager.staff))
            .await
            .expect("load");
        let all: BTreeSet<Service> = Service::ALL.into_iter().collect();
        let d = decide_services(&facts, &self.by(), &all, self.now, &self.ids).expect("valid");
        store.commit(&allowed(d)).await.expect("services");
        patient
    }
}

fn allowed(d: Decision) -> Committable {
    match d {
        Decision::Allowed(c) => c,
        Decision::Refused(r) => panic!("the fixture decision was refused: {}", r.reason),
    }
}

async fn events<S: AccessStore>(store: &S) -> usize {
    store.audit_events().await.expect("events").len()
}

/// A new store: default settings at version 0, empty records, no staff.
pub async fn an_empty_store_has_defaults_and_empty_records<S: AccessStore>(store: S) {
    let w = World::new();
    let patient = PatientId::new(&w.ids);
    let facts = store
        .load(patient, Some(w.manager.staff))
        .await
        .expect("load");
    assert_eq!(facts.settings.version, 0);
    assert_eq!(facts.settings.settings, AccessSettings::default());
    assert_eq!(facts.record, AccessRecord::empty(patient));
    assert_eq!(facts.staff, None);
    assert!(store.records().await.expect("records").is_empty());
    assert_eq!(store.staff(w.manager.staff).await.expect("staff"), None);
    assert_eq!(events(&store).await, 0);
}

/// A record is stored whole; each commit moves its version on by one
/// whatever version the change carries; `records` lists it.
pub async fn records_are_stored_whole_and_versions_move_by_one<S: AccessStore>(store: S) {
    let w = World::with_manager(&store).await;
    let patient = w.registered(&store).await;
    let facts = store.load(patient, None).await.expect("load");
    assert_eq!(facts.record.version, 3, "register, verify, services");
    let account = facts.record.account.clone().expect("registered");
    assert_eq!(account.services.len(), 3);
    assert_eq!(
        account.identity.map(|i| i.method),
        Some(VerificationMethod::DocumentsSeen)
    );
    let mut odd = facts.record.clone();
    odd.version = 99;
    let c = Committable {
        change: gp_access::AccessChange {
            record: Some(odd),
            ..Default::default()
        },
        events: Vec::new(),
        preconditions: Vec::new(),
    };
    store.commit(&c).await.expect("commit");
    assert_eq!(
        store
            .load(patient, None)
            .await
            .expect("load")
            .record
            .version,
        4
    );
    let records = store.records().await.expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].patient, patient);
    assert_eq!(events(&store).await, 4, "first manager + three decisions");
}

/// Two decisions from one record version: the second conflicts and writes nothing.
pub async fn a_stale_record_conflicts_and_writes_nothing<S: AccessStore>(store: S) {
    let w = World::with_manager(&store).await;
    let patient = w.registered(&store).await;
    let facts = store
        .load(patient, Some(w.manager.staff))
        .await
        .expect("load");
    let none = BTreeSet::new();
    let first = allowed(decide_services(&facts, &w.by(), &none, w.now, &w.ids).expect("valid"));
    let one: BTreeSet<Service> = [Service::Messages].into_iter().collect();
    let second = allowed(decide_services(&facts, &w.by(), &one, w.now, &w.ids).expect("valid"));
    store.commit(&first).await.expect("first");
    let before = events(&store).await;
    assert_eq!(
        store.commit(&second).await,
        Err(CommitError::Conflict(Precondition::RecordUnchanged {
            patient,
            version: 3
        }))
    );
    let account = store
        .load(patient, None)
        .await
        .expect("load")
        .record
        .account
        .expect("registered");
    assert!(
        account.services.is_empty(),
        "the stale change was not written"
    );
    assert_eq!(events(&store).await, before);
}

/// A staff profile is stored and comes back with `load` and `staff`.
pub async fn staff_profiles_load_with_the_record<S: AccessStore>(store: S) {
    let w = World::with_manager(&store).await;
    let patient = PatientId::new(&w.ids);
    let facts = store
        .load(patient, Some(w.manager.staff))
        .await
        .expect("load");
    // Stored once: the profile as given, at version 1.
    let stored = StaffProfile {
        version: 1,
        ..w.manager.clone()
    };
    assert_eq!(facts.staff.as_ref(), Some(&stored));
    assert_eq!(
        store.staff(w.manager.staff).await.expect("staff"),
        Some(stored)
    );
    let stranger = StaffId::new(&w.ids);
    assert_eq!(
        store
            .load(patient, Some(stranger))
            .await
            .expect("load")
            .staff,
        None
    );
}

/// Each settings commit moves the version on by one; stale settings conflict.
pub async fn settings_versions_move_by_one_and_stale_settings_conflict<S: AccessStore>(store: S) {
    let w = World::with_manager(&store).await;
    let facts = store
        .load(PatientId::new(&w.ids), Some(w.manager.staff))
        .await
        .expect("load");
    let s = AccessSettings {
        linkage_key_days: 7,
        ..AccessSettings::default()
    };
    let first = allowed(decide_settings(&facts, &w.by(), &s, w.now, &w.ids).expect("valid"));
    let stale = allowed(
        decide_settings(&facts, &w.by(), &AccessSettings::default(), w.now, &w.ids).expect("valid"),
    );
    store.commit(&first).await.expect("first");
    assert_eq!(
        store.commit(&stale).await,
        Err(CommitError::Conflict(Precondition::SettingsUnchanged {
            version: 0
        }))
    );
    let now = store.settings().await.expect("settings");
    assert_eq!((now.version, now.settings.linkage_key_days), (1, 7));
}

/// Linkage account ids are found by `patient_for_account`, and one cannot be
/// stored for a second patient.
pub async fn an_account_id_belongs_to_one_patient<S: AccessStore>(store: S) {
    let w = World::with_manager(&store).await;
    let a = w.registered(&store).await;
    let b = w.registered(&store).await;
    let facts = store.load(a, Some(w.manager.staff)).await.expect("load");
    let random = SeededRandom::new(1);
    let c = allowed(decide_issue_linkage(&facts, &w.by(), w.now, &w.ids, &random).expect("valid"));
    let details = c.change.linkage.clone().expect("details to show once");
    store.commit(&c).await.expect("issue");
    assert_eq!(
        store
            .patient_for_account(details.account)
            .await
            .expect("lookup"),
        Some(a)
    );
    let mut stolen = store.load(b, None).await.expect("load").record;
    let linkage = store
        .load(a, None)
        .await
        .expect("load")
        .record
        .account
        .expect("a")
        .linkage;
    if let Some(account) = stolen.account.as_mut() {
        account.linkage = linkage;
    }
    let c = Committable {
        change: gp_access::AccessChange {
            record: Some(stolen),
            ..Default::default()
        },
        events: Vec::new(),
        preconditions: Vec::new(),
    };
    let r = store.commit(&c).await;
    assert!(
        matches!(r, Err(CommitError::Store(StoreError::Invalid(_)))),
        "got {r:?}"
    );
    assert_eq!(
        store
            .patient_for_account(details.account)
            .await
            .expect("lookup"),
        Some(a)
    );
    let b_now = store.load(b, None).await.expect("load").record;
    assert!(
        b_now.account.expect("b").linkage.is_none(),
        "nothing was written"
    );
}

/// A refusal appends its event alone.
pub async fn refusals_are_recorded_alone<S: AccessStore>(store: S) {
    let w = World::with_manager(&store).await;
    let d = decide_first_manager(false, &w.manager, w.now, &w.ids).expect("valid");
    let Decision::Refused(r) = d else {
        panic!("a second first manager is refused")
    };
    store.record_refusal(&r.events).await.expect("record");
    let all = store.audit_events().await.expect("events");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1], r.events[0]);
    assert!(store.records().await.expect("records").is_empty());
}

/// `NoStaffYet` holds only while no staff are recorded (two first managers
/// at once: one wins); `StaffAsStored` only while the profile is as seen.
pub async fn staff_changes_commit_only_on_the_staff_records_they_saw<S: AccessStore>(store: S) {
    let w = World::new();
    let first = decide_first_manager(true, &w.manager, w.now, &w.ids).expect("valid");
    let Decision::Allowed(c) = first else {
        panic!("the first manager is allowed")
    };
    // A second "first manager" decided on the same empty store.
    let rival = StaffProfile::new(StaffId::new(&w.ids), "Rival", StaffRole::PracticeManager);
    let Decision::Allowed(r) = decide_first_manager(true, &rival, w.now, &w.ids).expect("valid")
    else {
        panic!("allowed on an empty store")
    };
    store.commit(&c).await.expect("the first commits");
    assert_eq!(
        store.commit(&r).await,
        Err(CommitError::Conflict(Precondition::NoStaffYet)),
        "a second first manager conflicts"
    );
    assert_eq!(
        store.all_staff().await.expect("staff"),
        vec![StaffProfile {
            version: 1,
            ..w.manager.clone()
        }]
    );
    // A change decided on a profile that has since changed conflicts.
    let clerk = StaffProfile::new(StaffId::new(&w.ids), "Clerk", StaffRole::Receptionist);
    let facts = store
        .load(PatientId::new(&w.ids), Some(w.manager.staff))
        .await
        .expect("load");
    let put = |before: Option<&StaffProfile>, after: &StaffProfile| match decide_put_staff(
        &facts,
        &w.by(),
        before,
        after,
        &[],
        w.now,
        &w.ids,
    )
    .expect("valid")
    {
        Decision::Allowed(c) => c,
        Decision::Refused(r) => panic!("refused: {}", r.reason),
    };
    let add = put(None, &clerk);
    store.commit(&add).await.expect("recorded");
    assert!(matches!(
        store.commit(&add).await,
        Err(CommitError::Conflict(Precondition::StaffAsStored { .. }))
    ));
    // Versions count the changes; a change on the profile as stored commits.
    let stored = store
        .staff(clerk.staff)
        .await
        .expect("staff")
        .expect("recorded");
    assert_eq!(stored.version, 1);
    let trained = stored
        .clone()
        .with_competencies([Competency::VerifyIdentity]);
    assert!(
        matches!(
            store.commit(&put(Some(&clerk), &trained)).await,
            Err(CommitError::Conflict(Precondition::StaffAsStored { .. }))
        ),
        "decided on the profile before it was stored"
    );
    store
        .commit(&put(Some(&stored), &trained))
        .await
        .expect("changed");
    assert_eq!(
        store.staff(clerk.staff).await.expect("staff"),
        Some(StaffProfile {
            version: 2,
            ..trained
        })
    );
}

/// Expands into one `#[tokio::test]` per access conformance check.
///
/// ```text
/// gp_testkit::access_store_conformance!(gp_access::MemoryAccessStore::new());
/// ```
#[macro_export]
macro_rules! access_store_conformance {
    ($make:expr) => {
        $crate::access_store_conformance!(@each $make;
            an_empty_store_has_defaults_and_empty_records,
            records_are_stored_whole_and_versions_move_by_one,
            a_stale_record_conflicts_and_writes_nothing,
            staff_profiles_load_with_the_record,
            settings_versions_move_by_one_and_stale_settings_conflict,
            an_account_id_belongs_to_one_patient,
            refusals_are_recorded_alone,
            staff_changes_commit_only_on_the_staff_records_they_saw
        );
    };
    (@each $make:expr; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::access::$check($make).await;
            }
        )+
    };
}
