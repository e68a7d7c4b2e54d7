//! Random operations shared by the facade's property and model tests.
#![allow(dead_code)] // reason: each test file uses a different part

use gp_core::{Actor, Channel, PatientId, ProxyId, StaffId, StaffRole};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
pub enum Who {
    Patient,
    Proxy,
    Receptionist(bool),
}

#[derive(Debug, Clone)]
pub enum Op {
    Search {
        patient: usize,
        who: Who,
        from_hours: i64,
        days: i64,
    },
    Book {
        patient: usize,
        who: Who,
        slot: usize,
    },
    Cancel {
        patient: usize,
        who: Who,
        nth: usize,
    },
    Reschedule {
        patient: usize,
        who: Who,
        nth: usize,
        slot: usize,
    },
    Wait {
        minutes: i64,
    },
}

pub fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Patient),
        1 => Just(Who::Proxy),
        2 => any::<bool>().prop_map(Who::Receptionist),
    ]
}

/// Slots are drawn from the first 120 (the first days), so requests collide.
pub fn op() -> impl Strategy<Value = Op> {
    let patient = 0usize..13;
    prop_oneof![
        2 => (patient.clone(), who(), 0i64..72, 1i64..17).prop_map(|(patient, who, from_hours, days)| Op::Search { patient, who, from_hours, days }),
        6 => (patient.clone(), who(), 0usize..120).prop_map(|(patient, who, slot)| Op::Book { patient, who, slot }),
        2 => (patient.clone(), who(), 0usize..4).prop_map(|(patient, who, nth)| Op::Cancel { patient, who, nth }),
        2 => (patient, who(), 0usize..4, 0usize..120).prop_map(|(patient, who, nth, slot)| Op::Reschedule { patient, who, nth, slot }),
        1 => (1i64..600).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

pub fn actor_channel(who: Who, patient: PatientId, receptionist: StaffId) -> (Actor, Channel) {
    match who {
        Who::Patient => (Actor::Patient { patient }, Channel::Online),
        Who::Proxy => (
            Actor::Proxy {
                proxy: ProxyId::from_uuid(uuid_from(patient)),
                for_patient: patient,
            },
            Channel::Online,
        ),
        Who::Receptionist(phone) => (
            Actor::Staff {
                staff: receptionist,
                role: StaffRole::Receptionist,
            },
            if phone {
                Channel::Telephone
            } else {
                Channel::Reception
            },
        ),
    }
}

fn uuid_from(p: PatientId) -> gp_core::uuid::Uuid {
    gp_core::uuid::Uuid::from_u128(p.as_uuid().as_u128() ^ 1)
}

pub fn is_online(who: Who) -> bool {
    !matches!(who, Who::Receptionist(_))
}

/// A single-threaded runtime for one test thread.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Runs `work(i, runtime)` on `threads` real threads released at the same
/// moment, each with a runtime of its own; answers in thread order.
pub fn race<T, F>(threads: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, &tokio::runtime::Runtime) -> T + Send + Sync + 'static,
{
    let work = std::sync::Arc::new(work);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (work, barrier) = (work.clone(), barrier.clone());
            std::thread::spawn(move || {
                let runtime = rt();
                barrier.wait();
                work(i, &runtime)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// How many answers were done rather than refused.
pub fn done<T>(answers: &[gp_online::Answer<T>]) -> usize {
    answers
        .iter()
        .filter(|a| matches!(a, gp_online::Answer::Done(_)))
        .count()
}

/// A fresh database path under Cargo's temporary folder for integration
/// tests, in the folder `group`.
pub fn temp_db(group: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(group);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.db", gp_core::uuid::Uuid::new_v4()))
}
