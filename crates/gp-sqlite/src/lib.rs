//! SQLite storage for GP online services.
//!
//! [`SqliteStore`] implements the [`gp_booking::BookingStore`] port on one
//! SQLite database file per practice (or in memory). It brings its own
//! embedded, versioned migrations; runs SQLite on a thread of its own and
//! answers through channels, so it can be awaited from any executor; opens in
//! WAL mode with `synchronous=FULL` (configurable), foreign keys on and a busy
//! timeout; and makes every write a `BEGIN IMMEDIATE` transaction that checks
//! the decision's preconditions, applies the change and appends its audit
//! events together. A partial unique index keeps one live booking per slot as
//! the last line of defence.
//!
//! It holds no rules: the domain crates decide, this crate loads facts and
//! stores outcomes.
//!
//! ```
//! use gp_booking::BookingStore;
//! use gp_sqlite::SqliteStore;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = SqliteStore::open_in_memory()?;
//! assert!(store.audit_events().await?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod access;
mod booking;
mod chain;
mod error;
mod guard;
mod messaging;
mod migrate;
mod oneshot;
mod patient_list;
mod prescribing;
mod problems;
mod rows;
mod store;

pub use chain::ACTION_TEXT_ERASE;
pub use error::OpenError;
pub use migrate::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::{SqliteConfig, SqliteStore, Synchronous};
