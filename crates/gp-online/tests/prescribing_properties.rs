//! Random sequences of repeat prescription work by patients, proxies,
//! receptionists, prescribers and the system, through the facade.
//!
//! After every step: no item has two open requests; every line moved only
//! along an allowed transition (and never disappeared); a patient with
//! online ordering turned off (by the practice or for them) never got an
//! online request through; every answer was audited. The same sequence on
//! SQLite gives the same answers, records and audit trail as in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use gp_core::{
    Actor, Channel, FixedClock, MedicationId, PatientId, ProxyId, RequestId, SequentialIds,
    StaffId, StaffRole,
};
use gp_online::unchecked::Prescriptions;
use gp_online::Answer;
use gp_prescribing::{
    ItemAction, LineAction, LineStatus, MemoryPrescribingStore, OrderRequest, PatientRecord,
    PrescribingSettings, PrescribingStore, RequestChannel, RestrictionScope, ReviewOutcome,
};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, repeat_item};
use proptest::prelude::*;

mod common;
use common::rt;

#[derive(Debug, Clone, Copy)]
enum By {
    Patient,
    Proxy,
    Receptionist,
    Gp,
    System,
}

#[derive(Debug, Clone)]
enum Op {
    Order {
        patient: usize,
        by: By,
        items: Vec<usize>,
        message: bool,
    },
    Cancel {
        pick: usize,
        by: By,
    },
    Approve {
        pick: usize,
        by: By,
    },
    Reject {
        pick: usize,
        by: By,
    },
    Issue {
        pick: usize,
        by: By,
    },
    Restrict {
        patient: usize,
        scope: Option<bool>,
    },
    OnlineOrdering(bool),
    Flag {
        patient: usize,
        item: usize,
    },
    Review {
        patient: usize,
        item: usize,
        end: bool,
    },
    Wait {
        days: i64,
    },
}

fn by() -> impl Strategy<Value = By> {
    prop_oneof![
        Just(By::Patient),
        Just(By::Proxy),
        Just(By::Receptionist),
        Just(By::Gp),
        Just(By::System)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, by(), proptest::collection::vec(0..4usize, 1..4), any::<bool>())
            .prop_map(|(patient, by, items, message)| Op::Order { patient, by, items, message }),
        2 => (any::<usize>(), by()).prop_map(|(pick, by)| Op::Cancel { pick, by }),
        3 => (any::<usize>(), by()).prop_map(|(pick, by)| Op::Approve { pick, by }),
        1 => (any::<usize>(), by()).prop_map(|(pick, by)| Op::Reject { pick, by }),
        3 => (any::<usize>(), by()).prop_map(|(pick, by)| Op::Issue { pick, by }),
        1 => (0..2usize, proptest::option::of(any::<bool>())).prop_map(|(patient, scope)| Op::Restrict { patient, scope }),
        1 => any::<bool>().prop_map(Op::OnlineOrdering),
        1 => (0..2usize, 0..4usize).prop_map(|(patient, item)| Op::Flag { patient, item }),
        1 => (0..2usize, 0..4usize, any::<bool>()).prop_map(|(patient, item, end)| Op::Review { patient, item, end }),
        2 => (1..15i64).prop_map(|days| Op::Wait { days }),
    ]
}

struct World<S> {
    facade: Prescriptions<S, Arc<FixedClock>>,
    clock: Arc<FixedClock>,
    patients: Vec<PatientId>,
    items: Vec<Vec<MedicationId>>,
    proxy: ProxyId,
    receptionist: StaffId,
    gp: StaffId,
    manager: StaffId,
}

impl<S: PrescribingStore> World<S> {
    async fn new(store: S) -> Self {
        let ids = SequentialIds::new(99);
        let clock = Arc::new(FixedClock::new(monday_morning()));
        let facade =
            Prescriptions::with_ids(store, clock.clone(), Box::new(SequentialIds::new(1 << 40)));
        let today = monday_morning().date_naive();
        let patients = vec![PatientId::new(&ids), PatientId::new(&ids)];
        let mut items = Vec::new();
        for &p in &patients {
            let mut mine = Vec::new();
            for i in 0..4 {
                // Items last issued 30, 20, 10 days ago, and never.
                let last = (i < 3).then(|| today - Duration::days(30 - 10 * i as i64));
                let item = repeat_item(&ids, p, i, last, today);
                facade
                    .put_item(Actor::System, Channel::Internal, &item)
                    .await
                    .unwrap();
                mine.push(item.id);
            }
            items.push(mine);
        }
        Self {
            facade,
            clock,
            patients,
            items,
            proxy: ProxyId::new(&ids),
            receptionist: StaffId::new(&ids),
            gp: StaffId::new(&ids),
            manager: StaffId::new(&ids),
        }
    }

    fn actor(&self, by: By, patient: PatientId) -> (Actor, Channel) {
        match by {
            By::Patient => (Actor::Patient { patient }, Channel::Online),
            By::Proxy => (
                Actor::Proxy {
                    proxy: self.proxy,
                    for_patient: patient,
                },
                Channel::Online,
            ),
            By::Receptionist => (
                Actor::Staff {
                    staff: self.receptionist,
                    role: StaffRole::Receptionist,
                },
                Channel::Telephone,
            ),
            By::Gp => (
                Actor::Staff {
                    staff: self.gp,
                    role: StaffRole::Gp,
                },
                Channel::Reception,
            ),
            By::System => (Actor::System, Channel::Internal),
        }
    }

    async fn records(&self) -> Vec<PatientRecord> {
        let mut out = Vec::new();
        for &p in &self.patients {
            out.push(self.facade.store().load(p).await.unwrap().record);
        }
        out
    }

    /// Every (patient, request, item) line, picked by index.
    async fn lines(&self) -> Vec<(PatientId, RequestId, MedicationId)> {
        self.records()
            .await
            .iter()
            .flat_map(|r| {
                r.requests
                    .iter()
                    .flat_map(move |q| q.lines.iter().map(move |l| (r.patient, q.id, l.item)))
            })
            .collect()
    }

    async fn line(&self, pick: usize, by: By) -> Option<LineAction> {
        let lines = self.lines().await;
        if lines.is_empty() {
            return None;
        }
        let (patient, request, item) = lines[pick % lines.len()];
        let (actor, channel) = self.actor(by, patient);
        Some(LineAction {
            actor,
            channel,
            patient,
            request,
            item,
        })
    }

    /// Applies one step; answers with a summary of the answer.
    async fn step(&self, op: &Op) -> String {
        fn say<T, R: std::fmt::Debug>(a: &Answer<T, R>) -> String {
            match a {
                Answer::Done(_) => "done".into(),
                Answer::Refused(r) => format!("{r:?}"),
            }
        }
        let f = &self.facade;
        match op {
            Op::Order {
                patient,
                by,
                items,
                message,
            } => {
                let p = self.patients[*patient];
                let (actor, _) = self.actor(*by, p);
                let channel = if matches!(by, By::Patient | By::Proxy) {
                    RequestChannel::Online
                } else {
                    RequestChannel::Telephone
                };
                let mut chosen: Vec<MedicationId> =
                    items.iter().map(|i| self.items[*patient][*i]).collect();
                chosen.dedup();
                chosen.sort();
                chosen.dedup();
                let request =
                    OrderRequest::new(actor, channel, p, chosen, message.then_some("Thank you"))
                        .unwrap();
                match f.request(&request).await.unwrap() {
                    Answer::Done(o) => format!(
                        "ordered {} refused {}",
                        o.request.lines.len(),
                        o.refused.len()
                    ),
                    Answer::Refused(r) => format!("{:?}", r.reason),
                }
            }
            Op::Cancel { pick, by } => match self.line(*pick, *by).await {
                Some(a) => say(&f.cancel_line(&a).await.unwrap()),
                None => "none".into(),
            },
            Op::Approve { pick, by } => match self.line(*pick, *by).await {
                Some(a) => say(&f.approve(&a).await.unwrap()),
                None => "none".into(),
            },
            Op::Reject { pick, by } => match self.line(*pick, *by).await {
                Some(a) => say(&f.reject(&a, "Please book a review").await.unwrap()),
                None => "none".into(),
            },
            Op::Issue { pick, by } => match self.line(*pick, *by).await {
                Some(a) => say(&f.issue(&a).await.unwrap()),
                None => "none".into(),
            },
            Op::Restrict { patient, scope } => {
                let gp = Actor::Staff {
                    staff: self.gp,
                    role: StaffRole::Gp,
                };
                let scope = scope.map(|all| {
                    if all {
                        RestrictionScope::AllChannels
                    } else {
                        RestrictionScope::Online
                    }
                });
                say(&f
                    .restrict(
                        gp,
                        Channel::Reception,
                        self.patients[*patient],
                        scope.map(|s| (s, "Agreed with the patient")),
                    )
                    .await
                    .unwrap())
            }
            Op::OnlineOrdering(on) => {
                let manager = Actor::Staff {
                    staff: self.manager,
                    role: StaffRole::PracticeManager,
                };
                let s = PrescribingSettings {
                    online_ordering: *on,
                    ..PrescribingSettings::default()
                };
                say(&f
                    .set_settings(manager, Channel::Reception, &s)
                    .await
                    .unwrap())
            }
            Op::Flag { patient, item } => {
                let p = self.patients[*patient];
                let a = ItemAction {
                    actor: Actor::Patient { patient: p },
                    channel: Channel::Online,
                    patient: p,
                    item: self.items[*patient][*item],
                };
                say(&f.flag_not_taken(&a, None).await.unwrap())
            }
            Op::Review { patient, item, end } => {
                let p = self.patients[*patient];
                let a = ItemAction {
                    actor: Actor::Staff {
                        staff: self.gp,
                        role: StaffRole::Gp,
                    },
                    channel: Channel::Reception,
                    patient: p,
                    item: self.items[*patient][*item],
                };
                let outcome = if *end {
                    ReviewOutcome::End("No longer needed".into())
                } else {
                    ReviewOutcome::Keep
                };
                say(&f.review(&a, &outcome).await.unwrap())
            }
            Op::Wait { days } => {
                self.clock.advance(Duration::days(*days));
                "waited".into()
            }
        }
    }
}

type Trace = (Vec<String>, Vec<PatientRecord>, Vec<gp_core::AuditEvent>);

/// Runs `ops`, checking the invariants after every step; returns what it saw.
async fn run<S: PrescribingStore>(store: S, ops: &[Op]) -> Result<Trace, TestCaseError> {
    let w = World::new(store).await;
    let mut seen: BTreeMap<(RequestId, MedicationId), LineStatus> = BTreeMap::new();
    let mut answers = Vec::new();
    for op in ops {
        let before = w.records().await;
        let settings = w.facade.store().settings().await.unwrap();
        let events_before = w.facade.store().audit_events().await.unwrap().len();
        let answer = w.step(op).await;
        let after = w.records().await;
        let events_after = w.facade.store().audit_events().await.unwrap().len();
        if !matches!(op, Op::Wait { .. }) && answer != "none" {
            prop_assert!(events_after > events_before, "{op:?} was not audited");
        }
        // Online ordering off (practice or patient): no online request got through.
        if let Op::Order {
            patient,
            by: By::Patient | By::Proxy,
            ..
        } = op
        {
            if !settings.settings.online_ordering || before[*patient].restriction.is_some() {
                prop_assert!(
                    !answer.starts_with("ordered"),
                    "{op:?} got through while disabled: {answer}"
                );
                prop_assert_eq!(&before[*patient].requests, &after[*patient].requests);
            }
        }
        let mut now_seen = BTreeMap::new();
        for record in &after {
            let mut open: BTreeMap<MedicationId, RequestId> = BTreeMap::new();
            for request in &record.requests {
                for line in &request.lines {
                    let status = line.state.status();
                    if status.is_open() {
                        prop_assert!(
                            open.insert(line.item, request.id).is_none(),
                            "item {} has two open requests",
                            line.item
                        );
                    }
                    match seen.get(&(request.id, line.item)) {
                        Some(old) => prop_assert!(
                            *old == status || old.may_become(status),
                            "{old} -> {status}"
                        ),
                        None => prop_assert_eq!(
                            status,
                            LineStatus::Requested,
                            "a new line starts requested"
                        ),
                    }
                    now_seen.insert((request.id, line.item), status);
                }
            }
        }
        prop_assert!(
            seen.keys().all(|k| now_seen.contains_key(k)),
            "a line disappeared"
        );
        seen = now_seen;
        answers.push(answer);
    }
    let records = w.records().await;
    let events = w.facade.store().audit_events().await.unwrap();
    Ok((answers, records, events))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_in_memory(ops in proptest::collection::vec(op(), 1..60)) {
        rt().block_on(run(MemoryPrescribingStore::new(), &ops))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_answers_and_stores_what_memory_does(ops in proptest::collection::vec(op(), 1..40)) {
        let memory = rt().block_on(run(MemoryPrescribingStore::new(), &ops))?;
        let sqlite = rt().block_on(run(SqliteStore::open_in_memory().unwrap(), &ops))?;
        prop_assert_eq!(memory, sqlite);
    }
}
