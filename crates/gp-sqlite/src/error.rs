//! Errors of opening a database.

use std::path::PathBuf;

use thiserror::Error;

/// A database could not be opened. Nothing in the file was changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file exists but is not an SQLite database.
    #[error("{path} is not an appointment database (it is not an SQLite file)")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database of another application (marked with
    /// another application id, or holding tables that are not ours).
    #[error("{path} is not a practice database ({reason}); it was left unchanged")]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What showed it.
        reason: String,
    },
    /// The database was written by a newer version of this crate.
    #[error("this database has schema version {found}, newer than the {supported} this version understands; upgrade the software before opening it")]
    NewerSchema {
        /// The version found in the file.
        found: i64,
        /// The newest version this crate knows.
        supported: i64,
    },
    /// Opened to read only, the database is at an older schema version than
    /// this crate's; reading it would need a migration, which writes.
    #[error("this database has schema version {found}, older than the {supported} this version reads; open it once with the application (which upgrades it) before reading it")]
    OlderSchema {
        /// The version found in the file.
        found: i64,
        /// The version this crate reads.
        supported: i64,
    },
    /// The file could not be opened or created (missing folder, no permission, ...).
    #[error("cannot open {path}: {reason}")]
    CannotOpen {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// A migration failed; it was rolled back.
    #[error("could not bring the database schema up to date: {0}")]
    Migration(String),
    /// The database thread could not be started.
    #[error("could not start the database thread: {0}")]
    Thread(String),
}
