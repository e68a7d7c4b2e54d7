//! The store: one connection served by a database thread of its own, and
//! the write transaction every port commits in.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use gp_core::StoreError;
use rusqlite::{Connection, ErrorCode, OpenFlags};

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

/// Work for the database thread.
enum Job {
    /// A read, which runs on its own (it opens its own read transaction if it needs one).
    Read(Box<dyn FnOnce(&mut Connection) + Send>),
    /// A write, run inside the current batch's transaction in a savepoint
    /// of its own (or told the transaction could not begin).
    Write(WriteJob),
}

/// A write: given the batch's connection (or why there is none), it runs
/// and hands back whether to keep its changes and how to answer its caller
/// once the batch's commit is known.
type WriteJob = Box<dyn FnOnce(Result<&Connection, StoreError>) -> Written + Send>;

/// What a write hands back to the batch it ran in.
struct Written {
    /// Whether it succeeded (its savepoint is released) or not (rolled back).
    keep: bool,
    /// Answers the caller with the batch's outcome: its own result once
    /// the commit is durable, or the commit's error.
    answer: Answer,
}

/// Answers a write's caller, given whether the batch committed.
type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// The most writes committed together in one transaction.
const MAX_BATCH: usize = 256;

/// Every port of a practice (appointments, repeat prescriptions, messages,
/// online access, the patient list and the audit trail) on one SQLite
/// database, served by a thread of its own.
///
/// Cloning is not offered: share it behind an `Arc`. Dropping the last
/// handle lets the thread finish the work it has, close the database (its
/// write-ahead log folded back into the file) and waits for it.
#[derive(Debug)]
pub struct SqliteStore {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has served what it
        // holds; waiting for it means the database is closed, not left for
        // the process's exit to cut short.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
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
fn serve_read(conn: &mut Connection, job: Box<dyn FnOnce(&mut Connection) + Send>) {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn)));
    if ran.is_err() && !conn.is_autocommit() {
        // A transaction the unwinding did not end: end it, writing nothing.
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// The database thread: serves reads one by one and commits the writes
/// that are waiting together (group commit).
///
/// When a write comes up, every other write already queued (up to
/// [`MAX_BATCH`]) joins it in one `BEGIN IMMEDIATE` transaction, each in a
/// savepoint of its own: a write that fails (a precondition no longer
/// holds, a constraint, a panic) rolls back only its own savepoint. One
/// commit (one fsync at `synchronous=FULL`) then makes the batch durable,
/// and only then is each caller answered. Reads that arrive while writes
/// are gathered wait until the batch is committed, so nobody reads what is
/// not yet durable; requests that overlap in time may be served in either
/// order, and one caller's requests (each awaited before the next) keep
/// theirs.
fn serve(mut conn: Connection, rx: &mpsc::Receiver<Job>) {
    let mut waiting: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
    loop {
        let job = match waiting.pop_front() {
            Some(job) => job,
            None => match next_job(rx) {
                Some(job) => job,
                None => return,
            },
        };
        // Nothing may be left open between jobs: a read must not see, nor
        // a batch inherit, a transaction something failed to end.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        match job {
            Job::Read(read) => serve_read(&mut conn, read),
            Job::Write(first) => {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(Job::Write(write)) => batch.push(write),
                        Ok(read) => waiting.push_back(read),
                        Err(_) => break,
                    }
                }
                commit_batch(&conn, batch);
            }
        }
    }
}

/// Ends a batch that cannot be kept: rolls its transaction back and tells
/// every caller answered so far that nothing was written.
fn abandon(conn: &Connection, answers: Vec<Answer>, why: &str) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let lost = StoreError::Unavailable(format!("{why}; nothing was written"));
    for answer in answers {
        answer(Err(lost.clone()));
    }
}

/// Runs `batch` in one transaction, a savepoint each, commits once and
/// answers every caller with the outcome.
///
/// Every step checks that the batch's transaction is still open: if SQLite
/// ended it (an I/O or memory error), or a savepoint could not be released
/// or rolled back, the whole batch is rolled back and its callers so far
/// told nothing was written; the writes not yet run go on in a batch of
/// their own. No caller is told its write is done unless the commit that
/// holds it succeeded, and no write is committed outside that commit.
fn commit_batch(conn: &Connection, batch: Vec<WriteJob>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = storage(e);
        for job in batch {
            (job(Err(e.clone())).answer)(Ok(()));
        }
        return;
    }
    // A write alone needs no savepoint: if it fails, its transaction is
    // rolled back whole.
    let alone = batch.len() == 1;
    let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        if conn.is_autocommit() {
            // The transaction ended under us: what ran so far is gone.
            abandon(conn, answers, "the database ended the transaction");
            let rest: Vec<WriteJob> = std::iter::once(job).chain(jobs).collect();
            commit_batch(conn, rest);
            return;
        }
        if !alone {
            if let Err(e) = conn.execute_batch("SAVEPOINT write") {
                abandon(conn, answers, "a savepoint could not be opened");
                (job(Err(storage(e))).answer)(Ok(()));
                let rest: Vec<WriteJob> = jobs.collect();
                if !rest.is_empty() {
                    commit_batch(conn, rest);
                }
                return;
            }
        }
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(conn))));
        if conn.is_autocommit() {
            // SQLite ended the whole transaction inside the write.
            if let Ok(written) = ran {
                answers.push(written.answer);
            }
            abandon(conn, answers, "the database ended the transaction");
            let rest: Vec<WriteJob> = jobs.collect();
            if !rest.is_empty() {
                commit_batch(conn, rest);
            }
            return;
        }
        // A write that panicked (a defect) keeps nothing; its caller, whose
        // answer was dropped in the unwinding, is told `StoreError::Internal`.
        let (keep, answer) = match ran {
            Ok(written) => (written.keep, Some(written.answer)),
            Err(_) => (false, None),
        };
        if alone {
            if !keep {
                let _ = conn.execute_batch("ROLLBACK");
                if let Some(answer) = answer {
                    answer(Ok(()));
                }
                return;
            }
        } else {
            let end = if keep {
                "RELEASE write"
            } else {
                "ROLLBACK TO write; RELEASE write"
            };
            if conn.execute_batch(end).is_err() || conn.is_autocommit() {
                // The write's savepoint could not be ended as it must be:
                // keep nothing of the batch.
                answers.extend(answer);
                abandon(conn, answers, "a write could not be kept or undone alone");
                let rest: Vec<WriteJob> = jobs.collect();
                if !rest.is_empty() {
                    commit_batch(conn, rest);
                }
                return;
            }
        }
        if let Some(answer) = answer {
            if keep {
                answers.push(answer);
            } else {
                // Its own refusal or error, unaffected by the commit.
                answer(Ok(()));
            }
        }
    }
    let committed = if conn.is_autocommit() {
        Err(StoreError::Unavailable(
            "the database ended the transaction; nothing was written".into(),
        ))
    } else {
        conn.execute_batch("COMMIT").map_err(storage)
    };
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for answer in answers {
        answer(committed.clone());
    }
}

/// A write job for `f`, and where its answer will arrive.
fn write_job<T, E, F>(f: F) -> (WriteJob, oneshot::Receiver<Result<T, E>>)
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<Result<T, E>>();
    let job: WriteJob = Box::new(move |conn: Result<&Connection, StoreError>| {
        let result = match conn {
            Ok(conn) => f(conn),
            Err(e) => Err(E::from(e)),
        };
        Written {
            keep: result.is_ok(),
            answer: Box::new(move |committed: Result<(), StoreError>| {
                tx.send(match (committed, result) {
                    (Ok(()), result) | (Err(_), result @ Err(_)) => result,
                    (Err(e), Ok(_)) => Err(E::from(e)),
                })
            }),
        }
    });
    (job, rx)
}

/// How long the database thread keeps yielding, waiting for more work, before it sleeps.
const WAIT_BEFORE_SLEEP: Duration = Duration::from_micros(200);

/// `path` with `suffix` added to its name (`practice.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A `file:` URI naming exactly `path` (percent-encoding what a URI would
/// read otherwise), read-only, immutable if asked.
fn file_uri(path: &Path, immutable: bool) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = String::from("file:");
    for b in absolute.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out.push_str("?mode=ro");
    if immutable {
        out.push_str("&immutable=1");
    }
    out
}

/// A path SQLite opens as that file: a relative name that starts like a
/// URI (`file:`) is given a leading `./`.
fn plain_path(path: &Path) -> PathBuf {
    if path.is_relative() && path.to_string_lossy().starts_with("file:") {
        Path::new(".").join(path)
    } else {
        path.to_owned()
    }
}

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
            plain_path(&path),
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(&path, &e))?;
        Self::start(conn, &path, config, true)
    }

    /// Opens an existing database to read only: nothing in the file is
    /// changed, ever (SQLite opens it read-only and `query_only` refuses
    /// any write, so every write through this store is an error).
    ///
    /// Refuses a missing file ([`OpenError::CannotOpen`]), a file that is
    /// not SQLite or not ours, and a database at another schema version
    /// ([`OpenError::OlderSchema`], [`OpenError::NewerSchema`]): an older
    /// one would need a migration, which writes.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref().to_owned();
        if !path.is_file() {
            return Err(OpenError::CannotOpen {
                path,
                reason: "no such file".into(),
            });
        }
        // Opened by a URI we build (so a name like `file:x.db` is that file,
        // never a URI of its own). When no write-ahead log is beside it, no
        // connection has the database open and everything is in the file:
        // open it immutable, so that SQLite creates no `-wal` or `-shm`
        // file (which, made by another user, could stop the application
        // writing). Otherwise those files exist already and are shared.
        let wal = sibling(&path, "-wal");
        let shm = sibling(&path, "-shm");
        let immutable = !wal.exists() && !shm.exists();
        let uri = file_uri(&path, immutable);
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| open_error(&path, &e))?;
        let err = |e: rusqlite::Error| open_error(&path, &e);
        conn.busy_timeout(SqliteConfig::default().busy_timeout)
            .map_err(err)?;
        if let Some(reason) = migrate::not_ours(&conn).map_err(err)? {
            return Err(OpenError::NotOurs { path, reason });
        }
        let found = migrate::current_version(&conn).map_err(err)?;
        if found > migrate::SCHEMA_VERSION {
            return Err(OpenError::NewerSchema {
                found,
                supported: migrate::SCHEMA_VERSION,
            });
        }
        if found == 0 {
            return Err(OpenError::NotOurs {
                path,
                reason: "it holds no practice database (it is empty)".into(),
            });
        }
        if found < migrate::SCHEMA_VERSION {
            return Err(OpenError::OlderSchema {
                found,
                supported: migrate::SCHEMA_VERSION,
            });
        }
        conn.execute_batch("PRAGMA query_only = ON;").map_err(err)?;
        Self::serve_on(conn)
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
        Self::serve_on(conn)
    }

    /// Starts the database thread on `conn`.
    fn serve_on(conn: Connection) -> Result<Self, OpenError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("gp-sqlite".into())
            .spawn(move || serve(conn, &rx))
            .map_err(|e| OpenError::Thread(e.to_string()))?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queues a job for the database thread.
    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| StoreError::Unavailable("the database thread has stopped".into()))
    }

    /// Runs `f` on the database thread and awaits what it returns.
    async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Read(Box::new(move |conn: &mut Connection| {
            tx.send(f(conn))
        })))?;
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

    /// Commits an allowed decision: every precondition checked by `holds`
    /// (the first that fails is the conflict), the change applied by
    /// `apply`, the events appended, in one write.
    pub(crate) async fn commit_checked<C, P, H, A>(
        &self,
        decision: &gp_core::Committable<C, P>,
        holds: H,
        apply: A,
    ) -> Result<(), gp_core::CommitError<P>>
    where
        C: Clone + Send + 'static,
        P: Clone + Send + 'static,
        H: Fn(&Connection, &P) -> Result<bool, StoreError> + Send + 'static,
        A: FnOnce(&Connection, &C) -> Result<(), gp_core::CommitError<P>> + Send + 'static,
    {
        let decision = decision.clone();
        self.write(move |t| {
            for p in &decision.preconditions {
                if !holds(t, p)? {
                    return Err(gp_core::CommitError::Conflict(p.clone()));
                }
            }
            apply(t, &decision.change)?;
            crate::chain::append_events(t, &decision.events)?;
            Ok(())
        })
        .await
    }

    /// Runs `f` inside a `BEGIN IMMEDIATE` transaction, kept only if `f`
    /// returns `Ok`, and answers once the commit is durable. Writes waiting
    /// together share one transaction (see [`serve`]), each in a savepoint.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (job, rx) = write_job(f);
        self.send(Job::Write(job))?;
        rx.await.ok_or_else(|| {
            StoreError::Internal("the request failed inside the store and was rolled back".into())
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    fn insert(x: i64, then: Result<(), StoreError>) -> WriteJob {
        write_job(move |c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (?1)", [x])
                .map_err(storage)?;
            then
        })
        .0
    }

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut q = conn.prepare("SELECT x FROM t ORDER BY x").expect("a query");
        let rows = q
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<Vec<i64>, _>>()
            .expect("values");
        rows
    }

    #[test]
    fn a_batch_keeps_each_write_that_succeeds_and_undoes_only_those_that_fail() {
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .expect("a table");
        let (first, first_answer) = write_job(|c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (1)", [])
                .map_err(storage)?;
            Ok::<_, StoreError>("first")
        });
        let (failing, failing_answer) = write_job(|c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (2)", [])
                .map_err(storage)?;
            Err::<(), _>(StoreError::Invalid("refused after writing".into()))
        });
        let (panicking, panicking_answer) = write_job(|c: &Connection| -> Result<(), StoreError> {
            c.execute("INSERT INTO t (x) VALUES (3)", [])
                .map_err(storage)?;
            panic!("a defect inside a write")
        });
        // A constraint violation: the same key as the first write.
        let (duplicate, duplicate_answer) = write_job(|c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (1)", [])
                .map_err(storage)?;
            Ok::<_, StoreError>(())
        });
        let batch = vec![first, failing, panicking, duplicate, insert(4, Ok(()))];
        commit_batch(&conn, batch);
        assert!(conn.is_autocommit(), "the batch's transaction is over");
        assert_eq!(rows(&conn), vec![1, 4]);
        assert_eq!(block_on(first_answer), Some(Ok("first")));
        assert_eq!(
            block_on(failing_answer),
            Some(Err(StoreError::Invalid("refused after writing".into())))
        );
        assert_eq!(
            block_on(panicking_answer),
            None,
            "answered Internal by `write`"
        );
        assert!(matches!(
            block_on(duplicate_answer),
            Some(Err(StoreError::Unavailable(_)))
        ));
    }

    #[test]
    fn a_write_alone_that_fails_or_panics_leaves_nothing() {
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .expect("a table");
        commit_batch(
            &conn,
            vec![insert(1, Err(StoreError::Invalid("no".into())))],
        );
        let (panicking, answer) = write_job(|c: &Connection| -> Result<(), StoreError> {
            c.execute("INSERT INTO t (x) VALUES (2)", [])
                .map_err(storage)?;
            panic!("a defect inside a write")
        });
        commit_batch(&conn, vec![panicking]);
        assert_eq!(block_on(answer), None);
        assert!(rows(&conn).is_empty());
        assert!(conn.is_autocommit());
        let (kept, answer) = write_job(|c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (3)", [])
                .map_err(storage)?;
            Ok::<_, StoreError>(3)
        });
        commit_batch(&conn, vec![kept]);
        assert_eq!(block_on(answer), Some(Ok(3)));
        assert_eq!(rows(&conn), vec![3]);
    }

    /// A write of `x`, with `then` run after it inside the batch; its answer.
    fn inserting(
        x: i64,
        then: &'static str,
    ) -> (WriteJob, oneshot::Receiver<Result<(), StoreError>>) {
        write_job(move |c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (?1)", [x])
                .map_err(storage)?;
            if !then.is_empty() {
                c.execute_batch(then).map_err(storage)?;
            }
            Ok::<_, StoreError>(())
        })
    }

    /// Runs a batch of three writes whose middle one runs `odd` and checks
    /// that nothing of the first two was kept, or told done, and the third
    /// ran on its own.
    fn a_broken_batch_keeps_nothing(odd: &'static str) {
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .expect("a table");
        let (first, first_answer) = inserting(1, "");
        let (middle, middle_answer) = inserting(2, odd);
        let (after, after_answer) = inserting(3, "");
        commit_batch(&conn, vec![first, middle, after]);
        for answer in [first_answer, middle_answer] {
            assert!(matches!(
                block_on(answer),
                Some(Err(StoreError::Unavailable(_)))
            ));
        }
        assert_eq!(
            block_on(after_answer),
            Some(Ok(())),
            "run again in a batch of its own"
        );
        assert_eq!(rows(&conn), vec![3]);
        assert!(conn.is_autocommit());
    }

    #[test]
    fn when_the_transaction_ends_inside_a_batch_nobody_before_is_told_done() {
        // What an I/O error looks like from here: the transaction is gone.
        a_broken_batch_keeps_nothing("ROLLBACK");
    }

    #[test]
    fn a_savepoint_that_cannot_be_ended_as_it_must_keeps_nothing_of_the_batch() {
        // Releases the batch's savepoint itself, so the batch cannot.
        a_broken_batch_keeps_nothing("RELEASE write");
    }

    #[test]
    fn no_caller_is_told_done_when_the_commit_fails() {
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch(
            "CREATE TABLE p (x INTEGER PRIMARY KEY);
             CREATE TABLE t (x INTEGER PRIMARY KEY REFERENCES p (x) DEFERRABLE INITIALLY DEFERRED);
             PRAGMA foreign_keys = ON;",
        )
        .expect("tables");
        // The deferred foreign key fails only at COMMIT.
        let (kept, kept_answer) = write_job(|c: &Connection| {
            c.execute("INSERT INTO t (x) VALUES (7)", [])
                .map_err(storage)?;
            Ok::<_, StoreError>(())
        });
        commit_batch(&conn, vec![kept]);
        assert!(matches!(
            block_on(kept_answer),
            Some(Err(StoreError::Unavailable(_)))
        ));
        assert!(rows(&conn).is_empty());
        assert!(conn.is_autocommit());
    }

    #[test]
    fn concurrent_writers_on_a_file_are_all_answered_and_all_kept() {
        let dir = std::env::temp_dir().join(format!("gp-sqlite-batch-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("batch.db");
        let _ = std::fs::remove_file(&path);
        let store = std::sync::Arc::new(SqliteStore::open(&path).expect("a store"));
        block_on(store.write(|c: &Connection| {
            c.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
                .map_err(storage)
        }))
        .expect("a table");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("a runtime");
        let answers = runtime.block_on(async {
            let tasks: Vec<_> = (0..300_i64)
                .map(|x| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        store
                            .write(move |c: &Connection| {
                                // Every tenth writer breaks the key and fails alone.
                                let key = if x % 10 == 9 { 0 } else { x };
                                c.execute("INSERT INTO t (x) VALUES (?1)", [key])
                                    .map_err(storage)
                                    .map(|_| ())
                            })
                            .await
                    })
                })
                .collect();
            let mut answers = Vec::new();
            for t in tasks {
                answers.push(t.await.expect("a task"));
            }
            answers
        });
        let stored: i64 = block_on(store.call(|c| {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .map_err(storage)
        }))
        .expect("a count");
        let kept = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(i64::try_from(kept).unwrap_or(-1), stored);
        // 270 distinct keys, and key 0 once (either writer 0 or the first breaker).
        assert_eq!(stored, 270);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
