//! Typed identifiers and the [`IdSource`] port that makes new ones.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing uuid (for example one loaded from storage).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying uuid.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// A new identifier taken from `ids`.
            pub fn new(ids: &dyn IdSource) -> Self {
                Self(ids.next_uuid())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// A patient registered (regular or temporary) at the practice.
    PatientId
);
typed_id!(
    /// A member of practice staff.
    StaffId
);
typed_id!(
    /// A person acting for a patient (parent, carer, care-home staff) with their own credentials.
    ProxyId
);
typed_id!(
    /// A clinic session: one clinician, one date, a start and an end.
    SessionId
);
typed_id!(
    /// One bookable appointment slot.
    SlotId
);
typed_id!(
    /// A booking of one slot for one patient.
    BookingId
);
typed_id!(
    /// One audit event.
    EventId
);
typed_id!(
    /// One item on a patient's repeat medication list.
    MedicationId
);
typed_id!(
    /// One repeat prescription request (one or more items).
    RequestId
);
typed_id!(
    /// One message between a patient and the practice.
    MessageId
);
typed_id!(
    /// A patient's online services account (the account id of linkage details).
    AccountId
);
typed_id!(
    /// One application for proxy access, granted or refused.
    ApplicationId
);
typed_id!(
    /// One coercion concern recorded by staff.
    ConcernId
);
typed_id!(
    /// One problem reported in the practice's problem log.
    ProblemId
);

/// Where new identifiers come from.
///
/// Decisions take an `IdSource` instead of calling a random generator, so the
/// same facts, time and id source always give the same decision.
pub trait IdSource: Send + Sync {
    /// The next identifier.
    fn next_uuid(&self) -> Uuid;
}

/// Random (version 4) identifiers: the source to use in production.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_uuid(&self) -> Uuid {
        Uuid::new_v4()
    }
}

/// Deterministic identifiers counting up from a seed, for tests and replays.
#[derive(Debug)]
pub struct SequentialIds {
    seed: u64,
    next: AtomicU64,
}

impl SequentialIds {
    /// A source whose identifiers are derived from `seed` and a counter starting at 1.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            next: AtomicU64::new(1),
        }
    }
}

impl IdSource for SequentialIds {
    fn next_uuid(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Uuid::from_u64_pair(self.seed, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_distinct_and_repeatable() {
        let a = SequentialIds::new(7);
        let b = SequentialIds::new(7);
        let first = SlotId::new(&a);
        let second = SlotId::new(&a);
        assert_ne!(first, second);
        assert_eq!(first, SlotId::new(&b));
    }

    #[test]
    fn ids_round_trip_through_text_and_serde() {
        let id = BookingId::new(&RandomIds);
        let parsed: BookingId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<BookingId>(&json).unwrap(), id);
    }
}
