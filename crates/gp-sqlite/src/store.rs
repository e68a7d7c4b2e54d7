//! The store: one connection served by a database thread of its own, and
//! the write transaction every port commits in.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use gp_core::StoreError;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::OpenError;
use crate::migrate;
use crate::oneshot;
use crate::rows::storage;

/// How hard SQLite works to make a commit survive power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=FULL`: a commit survives power loss (the default, for clinical data).
    Full,
    /// `synchronous=NORMAL`: in WAL mode a commit survives a crash of the
    /// program, but the last commits may be lost on power loss.
    Normal,
}

/// Settings for opening a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteConfig {
    /// Durability of commits. Default: [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How long a write waits for another process's write to finish. Default: 5 seconds.
    pub busy_timeout: Duration,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Every port of a practice (appointments, repeat prescriptions, messages,
/// online access, the patient list and the audit trail) on one SQLite
/// database, served by a thread of its own.
///
/// Cloning is not offered: share it behind an `Arc`. Dropping the last
/// handle lets the thread finish the work it has and close the database.
#[derive(Debug)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
}

/// The next job for the database thread, or `None` once every handle is gone.
///
/// Requests come in bursts (a booking loads its facts, then commits a moment
/// later), so the thread briefly yields before it sleeps: a job arriving in
/// that window starts without the cost of waking a sleeping thread.
fn next_job(rx: &mpsc::Receiver<Job>) -> Option<Job> {
    let since = std::time::Instant::now();
    while since.elapsed() < WAIT_BEFORE_SLEEP {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv().ok()
}

/// Runs one job. A job that panics (a defect: no input should make one) is
/// contained: its open transaction is rolled back, its caller is answered
/// `StoreError::Internal` (its answer channel is dropped), and the thread
/// goes on serving the next request.
fn serve(conn: &mut Connection, job: Job) {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn)));
    if ran.is_err() && !conn.is_autocommit() {
        // A transaction the unwinding did not end: end it, writing nothing.
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// How long the database thread keeps yielding, waiting for more work, before it sleeps.
const WAIT_BEFORE_SLEEP: Duration = Duration::from_micros(200);

fn open_error(path: &Path, e: &rusqlite::Error) -> OpenError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => OpenError::NotADatabase {
            path: path.to_owned(),
        },
        _ => OpenError::CannotOpen {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    }
}

impl SqliteStore {
    /// Opens (creating if need be) the database at `path` with the default settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, SqliteConfig::default())
    }

    /// Opens (creating if need be) the database at `path`.
    ///
    /// Refuses, changing nothing in the file, a file that is not SQLite
    /// ([`OpenError::NotADatabase`]), a database from a newer version
    /// ([`OpenError::NewerSchema`]) and a path that cannot be opened
    /// ([`OpenError::CannotOpen`]).
    pub fn open_with(path: impl AsRef<Path>, config: SqliteConfig) -> Result<Self, OpenError> {
        let path = path.as_ref().to_owned();
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(&path, &e))?;
        Self::start(conn, &path, config, true)
    }

    /// A private database in memory, gone when the store is dropped.
    pub fn open_in_memory() -> Result<Self, OpenError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| open_error(&path, &e))?;
        Self::start(conn, &path, SqliteConfig::default(), false)
    }

    fn start(
        mut conn: Connection,
        path: &Path,
        config: SqliteConfig,
        wal: bool,
    ) -> Result<Self, OpenError> {
        let err = |e: rusqlite::Error| open_error(path, &e);
        conn.busy_timeout(config.busy_timeout).map_err(err)?;
        // Read before writing anything: a foreign or newer file is left untouched.
        if let Some(reason) = migrate::not_ours(&conn).map_err(err)? {
            return Err(OpenError::NotOurs {
                path: path.to_owned(),
                reason,
            });
        }
        let found = migrate::current_version(&conn).map_err(err)?;
        if found > migrate::SCHEMA_VERSION {
            return Err(OpenError::NewerSchema {
                found,
                supported: migrate::SCHEMA_VERSION,
            });
        }
        if wal {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(OpenError::CannotOpen {
                    path: path.to_owned(),
                    reason: format!("the database could not use write-ahead logging (mode {mode})"),
                });
            }
        }
        let sync = match config.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
        ))
        .map_err(err)?;
        migrate::migrate(&mut conn, found)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("gp-sqlite".into())
            .spawn(move || {
                let mut conn = conn;
                while let Some(job) = next_job(&rx) {
                    serve(&mut conn, job);
                }
            })
            .map_err(|e| OpenError::Thread(e.to_string()))?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the database thread and awaits what it returns.
    async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn: &mut Connection| tx.send(f(conn))))
            .map_err(|_| StoreError::Unavailable("the database thread has stopped".into()))?;
        // The thread outlives a job that panics (see `serve`): no answer
        // means this request failed inside the store and was rolled back.
        rx.await.ok_or_else(|| {
            StoreError::Internal("the request failed inside the store and was rolled back".into())
        })
    }

    /// Runs a read `f` on the database thread.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(f).await?
    }

    /// Runs `f` inside a `BEGIN IMMEDIATE` transaction, committed only if `f` returns `Ok`.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        self.run(move |conn| {
            let t = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(storage)?;
            let value = f(&t)?;
            t.commit().map_err(storage)?;
            Ok(value)
        })
        .await?
    }
}
