//! Test kit for the GP online services workspace.
//!
//! - [`booking`]: the `BookingStore` conformance suite, one `pub async fn` per
//!   rule of the contract, and [`booking_store_conformance!`] to run it against
//!   any store as one test per check. A store that passes it may be used by
//!   the facade; a behaviour not in the suite is not part of the contract.
//! - [`audit`]: the `AuditStore` conformance suite and
//!   [`audit_store_conformance!`], likewise.
//! - [`prescribing`] and [`messaging`]: the `PrescribingStore` and
//!   `MessageStore` conformance suites, with [`prescribing_store_conformance!`]
//!   and [`message_store_conformance!`].
//! - [`access`]: the `AccessStore` conformance suite and
//!   [`access_store_conformance!`].
//! - [`patient_list`]: the `PatientList` conformance suite and
//!   [`patient_list_conformance!`].
//! - [`fixtures`]: a practice with six weeks of GP and nurse sessions, patients
//!   of all ages, and a fixed starting instant.
//! - [`FixedClock`] (re-exported from `gp-core`): the test clock.
//!
//! It is for tests only: nothing here is meant to run in a product.
//!
//! ```
//! use gp_core::SequentialIds;
//! use gp_testkit::fixtures::{monday_morning, practice};
//!
//! let practice = practice(&SequentialIds::new(1), monday_morning().date_naive());
//! assert_eq!(practice.schedule.sessions.iter().map(|s| s.date).min(), Some(monday_morning().date_naive()));
//! ```

pub mod access;
pub mod audit;
pub mod booking;
pub mod fixtures;
pub mod messaging;
pub mod patient_list;
pub mod prescribing;
pub mod problems;

pub use gp_core::FixedClock;
