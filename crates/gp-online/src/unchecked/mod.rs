//! The service facades **without authorization**: for tests, benchmarks
//! and tools that drive one domain directly. A product embeds
//! [`crate::Practice`], which asks the access records before every action
//! and then calls these.
//!
//! Each facade runs the one commit loop (load, decide with the domain's
//! pure rules, commit the change with its events under its preconditions,
//! decide again on a conflict) over its port. None checks who is asking
//! beyond the domain crates' own floors (such as "prescribers approve"),
//! and those floors trust the role in the caller's `Actor`: only
//! [`crate::Practice`] replaces it with the role the staff records give.

mod access;
mod appointments;
mod messages;
pub mod monitoring;
mod prescriptions;
mod problems;

pub use access::{patient_facts, Access};
pub(crate) use access::{Authorized, BeforeRegistration, Gate};
pub use appointments::Appointments;
pub use messages::Messages;
pub use prescriptions::{Ordered, PrescriberMove, Prescriptions};
pub use problems::Problems;
