//! The store: a database thread, and the BookingStore port on top of it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gp_audit::{AuditError, AuditStore, ChainRecord, Hash};
use gp_booking::{
    BookDecider, BookSnapshot, Booking, BookingChange, BookingPolicy, BookingStore, CancelFacts,
    CommitError, Committable, Decision, Holding, Period, PolicyFacts, Precondition, Schedule,
    SearchQuery, Slot, SlotState, StaffMember, StoreError,
};
use gp_core::{AccessGuard, AuditEvent, BookingId, Channel, PatientId, SlotId};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::OpenError;
use crate::migrate;
use crate::oneshot;

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

/// A [`BookingStore`] on an SQLite database, served by a thread of its own.
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

/// How long the database thread keeps yielding, waiting for more work, before it sleeps.
const WAIT_BEFORE_SLEEP: Duration = Duration::from_micros(200);

pub(crate) fn storage(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(crate) fn nanos(at: DateTime<Utc>) -> Result<i64, StoreError> {
    at.timestamp_nanos_opt().ok_or_else(|| {
        StoreError::OutOfRange(format!("{at} (this store holds the years 1678 to 2261)"))
    })
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
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
                    job(&mut conn);
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
        rx.await.ok_or_else(|| {
            StoreError::Unavailable("the database thread stopped mid-request".into())
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

/// The JSON bodies a query returns (one text column), decoded.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(storage)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(storage)?;
    rows.map(|r| from_json(&r.map_err(storage)?)).collect()
}

/// Every audit event, oldest first.
pub(crate) fn all_audit_events(conn: &Connection) -> Result<Vec<AuditEvent>, StoreError> {
    json_rows(conn, "SELECT body FROM audit_events ORDER BY seq", [])
}

/// A settings row (`one`, `version`, `body`) of `table`: its version and
/// value, or `None` if never stored.
pub(crate) fn versioned<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    table: &str,
) -> Result<Option<(u64, T)>, StoreError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached(&format!("SELECT version, body FROM {table} WHERE one = 1"))
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(storage)?;
    row.map(|(v, body)| Ok((u64::try_from(v).map_err(corrupt)?, from_json(&body)?)))
        .transpose()
}

/// Stores a settings row of `table`, moving its version on by one.
pub(crate) fn put_versioned<T: serde::Serialize>(
    conn: &Connection,
    table: &str,
    value: &T,
) -> Result<(), StoreError> {
    let body = json(value)?;
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (one, version, body) VALUES (1, 1, ?1) \
         ON CONFLICT (one) DO UPDATE SET version = version + 1, body = excluded.body"
    ))
    .and_then(|mut st| st.execute([body]))
    .map_err(storage)?;
    Ok(())
}

/// Answers a `SELECT EXISTS (...)` query with one parameter.
pub(crate) fn exists(conn: &Connection, sql: &str, param: &str) -> Result<bool, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row([param], |r| r.get(0)))
        .map_err(storage)
}

/// The columns [`read_slot_state`] reads, for a slot `s` and its live booking `b`.
const SLOT_STATE_SELECT: &str =
    "SELECT s.id, s.session, s.clinician, s.role, s.start_at, s.end_at, \
     s.slot_type, s.delivery, s.availability, s.reserved_for, b.id \
     FROM slots s LEFT JOIN bookings b ON b.slot = s.id AND b.cancelled = 0";

/// An enum as stored in a column: a unit variant as its bare name (`Gp`),
/// any other variant as JSON (`{"Practice":"Blood test"}`).
fn enum_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    let text = json(value)?;
    Ok(
        match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(name) if !name.contains('\\') => name.to_owned(),
            _ => text,
        },
    )
}

/// Reads what [`enum_text`] wrote.
fn enum_from_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    use serde::de::IntoDeserializer;
    if text.starts_with('{') {
        from_json(text)
    } else {
        T::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(text))
            .map_err(corrupt)
    }
}

/// A slot and its live booking from a row of [`SLOT_STATE_SELECT`].
fn read_slot_state(r: &rusqlite::Row<'_>) -> Result<SlotState, StoreError> {
    let text = |i: usize| -> Result<&str, StoreError> {
        r.get_ref(i).map_err(storage)?.as_str().map_err(corrupt)
    };
    let int = |i: usize| -> Result<i64, StoreError> { r.get(i).map_err(storage) };
    let start = DateTime::<Utc>::from_timestamp_nanos(int(4)?);
    let end = DateTime::<Utc>::from_timestamp_nanos(int(5)?);
    let optional = |i: usize| -> Result<Option<&str>, StoreError> {
        r.get_ref(i)
            .map_err(storage)?
            .as_str_or_null()
            .map_err(corrupt)
    };
    let reserved_for = optional(9)?;
    let live = optional(10)?;
    Ok(SlotState {
        slot: Slot {
            id: text(0)?.parse().map_err(corrupt)?,
            session: text(1)?.parse().map_err(corrupt)?,
            clinician: text(2)?.parse().map_err(corrupt)?,
            role: enum_from_text(text(3)?)?,
            period: Period::new(start, end).map_err(corrupt)?,
            slot_type: enum_from_text(text(6)?)?,
            delivery: enum_from_text(text(7)?)?,
            availability: enum_from_text(text(8)?)?,
            reserved_for: reserved_for.map(enum_from_text).transpose()?,
        },
        live_booking: live
            .map(|id| id.parse::<BookingId>().map_err(corrupt))
            .transpose()?,
    })
}

fn slot_state(conn: &Connection, slot: &str) -> Result<Option<SlotState>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("{SLOT_STATE_SELECT} WHERE s.id = ?1"))
        .map_err(storage)?;
    let mut rows = stmt.query([slot]).map_err(storage)?;
    match rows.next().map_err(storage)? {
        Some(row) => read_slot_state(row).map(Some),
        None => Ok(None),
    }
}

fn holdings(conn: &Connection, patient: &str, since: i64) -> Result<Vec<Holding>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT b.id, b.slot, s.start_at, b.channel FROM bookings b JOIN slots s ON s.id = b.slot \
             WHERE b.patient = ?1 AND b.cancelled = 0 AND s.start_at >= ?2 ORDER BY s.start_at, b.id",
        )
        .map_err(storage)?;
    let rows = stmt
        .query_map(params![patient, since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(storage)?;
    rows.map(|row| {
        let (id, slot, start, channel) = row.map_err(storage)?;
        Ok(Holding {
            booking: id.parse().map_err(corrupt)?,
            slot: slot.parse().map_err(corrupt)?,
            start: DateTime::<Utc>::from_timestamp_nanos(start),
            channel: from_json::<Channel>(&channel)?,
        })
    })
    .collect()
}

fn load_booking(conn: &Connection, id: &str) -> Result<Option<Booking>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM bookings WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
}

/// The version of a patient's access record (0 if none is stored).
pub(crate) fn access_version(conn: &Connection, patient: PatientId) -> Result<u64, StoreError> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT version FROM access_records WHERE patient = ?1")
        .and_then(|mut s| s.query_row([patient.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    version.map_or(Ok(0), |v| u64::try_from(v).map_err(corrupt))
}

/// Whether the access record is still at the version an action was authorized on.
pub(crate) fn guard_holds(conn: &Connection, guard: &AccessGuard) -> Result<bool, StoreError> {
    Ok(access_version(conn, guard.patient)? == guard.version)
}

fn booking_policy(conn: &Connection) -> Result<PolicyFacts, StoreError> {
    Ok(versioned::<BookingPolicy>(conn, "booking_settings")?
        .map(|(version, policy)| PolicyFacts { policy, version })
        .unwrap_or_default())
}

fn precondition_holds(conn: &Connection, p: &Precondition) -> Result<bool, StoreError> {
    match p {
        Precondition::PolicyUnchanged { version } => Ok(booking_policy(conn)?.version == *version),
        Precondition::Authorized(guard) => guard_holds(conn, guard),
        Precondition::SlotFree(slot) => exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM slots WHERE id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM bookings WHERE slot = ?1 AND cancelled = 0)",
            &slot.to_string(),
        ),
        Precondition::BookingLive(id) => exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM bookings WHERE id = ?1 AND cancelled = 0)",
            &id.to_string(),
        ),
        Precondition::HoldingsUnchanged {
            patient,
            since,
            bookings,
        } => {
            let now: std::collections::BTreeSet<BookingId> =
                holdings(conn, &patient.to_string(), nanos(*since)?)?
                    .into_iter()
                    .map(|h| h.booking)
                    .collect();
            Ok(&now == bookings)
        }
    }
}

fn insert_booking(conn: &Connection, b: &Booking) -> Result<(), CommitError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO bookings (id, slot, patient, channel, cancelled, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(storage)?;
    let result = insert.execute(params![
        b.id.to_string(),
        b.slot.to_string(),
        b.patient.to_string(),
        json(&b.channel)?,
        i64::from(!b.is_live()),
        json(b)?
    ]);
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            Err(StoreError::Missing(format!("slot {}", b.slot)).into())
        }
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
            let duplicate_id = exists(
                conn,
                "SELECT EXISTS (SELECT 1 FROM bookings WHERE id = ?1)",
                &b.id.to_string(),
            )?;
            if duplicate_id {
                Err(StoreError::Duplicate(format!("booking {}", b.id)).into())
            } else {
                // The partial unique index: the slot already has a live booking.
                Err(CommitError::Conflict(Precondition::SlotFree(b.slot)))
            }
        }
        Err(e) => Err(storage(e).into()),
    }
}

fn cancel_booking(
    conn: &Connection,
    id: BookingId,
    cancellation: &gp_booking::Cancellation,
) -> Result<(), CommitError> {
    let mut booking = load_booking(conn, &id.to_string())?
        .filter(Booking::is_live)
        .ok_or(CommitError::Conflict(Precondition::BookingLive(id)))?;
    booking.cancellation = Some(cancellation.clone());
    let body = json(&booking)?;
    let changed = conn
        .prepare_cached(
            "UPDATE bookings SET cancelled = 1, body = ?2 WHERE id = ?1 AND cancelled = 0",
        )
        .and_then(|mut stmt| stmt.execute(params![id.to_string(), body]))
        .map_err(storage)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(CommitError::Conflict(Precondition::BookingLive(id)))
    }
}

fn audit_head(conn: &Connection) -> Result<Option<(u64, Hash)>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE one = 1")
        .and_then(|mut stmt| {
            stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(storage)?;
    row.map(|(seq, hash)| Ok((u64::try_from(seq).map_err(corrupt)?, to_hash(hash)?)))
        .transpose()
}

fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt("an audit hash is not 32 bytes".into()))
}

/// Applies a booking change (its preconditions already checked).
fn apply_booking_change(t: &Connection, change: &BookingChange) -> Result<(), CommitError> {
    match change {
        BookingChange::Book(b) => insert_booking(t, b),
        BookingChange::Cancel {
            booking,
            cancellation,
        } => cancel_booking(t, *booking, cancellation),
        BookingChange::Reschedule {
            cancel,
            cancellation,
            book,
        } => {
            cancel_booking(t, *cancel, cancellation)?;
            insert_booking(t, book)
        }
        BookingChange::Policy(policy) => {
            put_versioned(t, "booking_settings", policy)?;
            Ok(())
        }
    }
}

/// Appends `events` to the chain after the current head, and moves the head.
pub(crate) fn append_events(conn: &Connection, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let (last_seq, last_hash) = audit_head(conn)?.unwrap_or((0, gp_audit::GENESIS));
    let records = gp_audit::chain(last_hash, last_seq + 1, events);
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO audit_events (seq, id, prev_hash, hash, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(storage)?;
    for (r, e) in records.iter().zip(events) {
        let seq = i64::try_from(r.seq).map_err(corrupt)?;
        stmt.execute(params![
            seq,
            e.id.to_string(),
            &r.prev_hash[..],
            &r.hash[..],
            r.body
        ])
        .map_err(|err| match err.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => {
                StoreError::Duplicate(format!("audit event {}", e.id))
            }
            _ => storage(err),
        })?;
    }
    if let Some(last) = records.last() {
        let seq = i64::try_from(last.seq).map_err(corrupt)?;
        conn.prepare_cached(
            "INSERT INTO audit_head (one, seq, hash) VALUES (1, ?1, ?2) \
             ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )
        .and_then(|mut stmt| stmt.execute(params![seq, &last.hash[..]]))
        .map_err(storage)?;
    }
    Ok(())
}

fn read_chain(conn: &Connection, from: u64, to: u64) -> Result<Vec<ChainRecord>, StoreError> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached("SELECT seq, prev_hash, hash, body FROM audit_events WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq")
        .map_err(storage)?;
    let rows = stmt
        .query_map(params![clamp(from), clamp(to)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(storage)?;
    rows.map(|row| {
        let (seq, prev, hash, body) = row.map_err(storage)?;
        Ok(ChainRecord {
            seq: u64::try_from(seq).map_err(corrupt)?,
            prev_hash: to_hash(prev)?,
            hash: to_hash(hash)?,
            body,
        })
    })
    .collect()
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let events = events.to_vec();
        self.write(move |t| append_events(t, &events))
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(what) => AuditError::Duplicate(what),
                other => AuditError::Unavailable(other.to_string()),
            })
    }

    async fn head(&self) -> Result<Option<(u64, Hash)>, AuditError> {
        self.call(|conn| audit_head(conn))
            .await
            .map_err(|e| AuditError::Unavailable(e.to_string()))
    }

    async fn read(&self, from: u64, to: u64) -> Result<Vec<ChainRecord>, AuditError> {
        self.call(move |conn| read_chain(conn, from, to))
            .await
            .map_err(|e| AuditError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl BookingStore for SqliteStore {
    async fn put_staff(&self, staff: &StaffMember) -> Result<(), StoreError> {
        let (id, body) = (staff.id.to_string(), json(staff)?);
        self.write(move |t| {
            t.execute(
                "INSERT INTO staff (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![id, body],
            )
            .map_err(storage)?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    async fn add_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        let schedule = schedule.clone();
        self.write(move |t| {
            let staff_exists =
                |id: &str| exists(t, "SELECT EXISTS (SELECT 1 FROM staff WHERE id = ?1)", id);
            let session_exists =
                |id: &str| exists(t, "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?1)", id);
            for s in &schedule.sessions {
                let clinician = s.clinician.to_string();
                if !staff_exists(&clinician)? {
                    return Err(StoreError::Missing(format!("staff member {clinician}")));
                }
                if session_exists(&s.id.to_string())? {
                    return Err(StoreError::Duplicate(format!("session {}", s.id)));
                }
                t.execute(
                    "INSERT INTO sessions (id, clinician, body) VALUES (?1, ?2, ?3)",
                    params![s.id.to_string(), clinician, json(s)?],
                )
                .map_err(|e| match e.sqlite_error_code() {
                    Some(ErrorCode::ConstraintViolation) => StoreError::Duplicate(format!("session {}", s.id)),
                    _ => storage(e),
                })?;
            }
            let mut insert = t
                .prepare_cached(
                    "INSERT INTO slots (id, session, clinician, role, start_at, end_at, slot_type, delivery, \
                     availability, reserved_for) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(storage)?;
            for slot in &schedule.slots {
                let clinician = slot.clinician.to_string();
                if !staff_exists(&clinician)? {
                    return Err(StoreError::Missing(format!("staff member {clinician}")));
                }
                if !session_exists(&slot.session.to_string())? {
                    return Err(StoreError::Missing(format!("session {}", slot.session)));
                }
                insert
                    .execute(params![
                        slot.id.to_string(),
                        slot.session.to_string(),
                        clinician,
                        enum_text(&slot.role)?,
                        nanos(slot.period.start())?,
                        nanos(slot.period.end())?,
                        enum_text(&slot.slot_type)?,
                        enum_text(&slot.delivery)?,
                        enum_text(&slot.availability)?,
                        slot.reserved_for.as_ref().map(enum_text).transpose()?
                    ])
                    .map_err(|e| match e.sqlite_error_code() {
                        Some(ErrorCode::ConstraintViolation) => StoreError::Duplicate(format!("slot {}", slot.id)),
                        _ => storage(e),
                    })?;
            }
            Ok(())
        })
        .await
    }

    async fn find_slots(&self, query: &SearchQuery) -> Result<Vec<SlotState>, StoreError> {
        let query = query.clone();
        let (from, to) = (nanos(query.from)?, nanos(query.to)?);
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "{SLOT_STATE_SELECT} WHERE s.start_at >= ?1 AND s.start_at < ?2 ORDER BY s.start_at, s.id"
                ))
                .map_err(storage)?;
            let mut rows = stmt.query(params![from, to]).map_err(storage)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(storage)? {
                let state = read_slot_state(row)?;
                if query.matches(&state.slot) {
                    out.push(state);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn policy(&self) -> Result<PolicyFacts, StoreError> {
        self.call(|conn| booking_policy(conn)).await
    }

    async fn slot(&self, slot: SlotId) -> Result<Option<SlotState>, StoreError> {
        self.call(move |conn| slot_state(conn, &slot.to_string()))
            .await
    }

    async fn booking(&self, booking: BookingId) -> Result<Option<Booking>, StoreError> {
        self.call(move |conn| load_booking(conn, &booking.to_string()))
            .await
    }

    async fn bookings_for_patient(&self, patient: PatientId) -> Result<Vec<Booking>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM bookings WHERE patient = ?1 ORDER BY seq")
                .map_err(storage)?;
            let rows = stmt
                .query_map([patient.to_string()], |r| r.get::<_, String>(0))
                .map_err(storage)?;
            rows.map(|r| from_json(&r.map_err(storage)?)).collect()
        })
        .await
    }

    async fn load_book(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
    ) -> Result<BookSnapshot, StoreError> {
        let since = nanos(since)?;
        self.call(move |conn| {
            // One read transaction: the slot and the holdings as of one instant.
            let t = conn.transaction().map_err(storage)?;
            let snapshot = BookSnapshot {
                slot: slot_state(&t, &slot.to_string())?,
                holdings: holdings(&t, &patient.to_string(), since)?,
                policy: booking_policy(&t)?,
            };
            t.finish().map_err(storage)?;
            Ok(snapshot)
        })
        .await
    }

    async fn load_cancel(&self, booking: BookingId) -> Result<CancelFacts, StoreError> {
        self.call(move |conn| {
            let t = conn.transaction().map_err(storage)?;
            let booking = load_booking(&t, &booking.to_string())?;
            let slot = match &booking {
                Some(b) => slot_state(&t, &b.slot.to_string())?.map(|s| s.slot),
                None => None,
            };
            t.finish().map_err(storage)?;
            Ok(CancelFacts { booking, slot })
        })
        .await
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let decision = decision.clone();
        self.write(move |t| {
            for p in &decision.preconditions {
                if !precondition_holds(t, p)? {
                    return Err(CommitError::Conflict(p.clone()));
                }
            }
            apply_booking_change(t, &decision.change)?;
            append_events(t, &decision.events)?;
            Ok(())
        })
        .await
    }

    async fn book_in_one_step(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
        earlier: Vec<AuditEvent>,
        guards: Vec<Precondition>,
        decide: BookDecider,
    ) -> Result<Decision, CommitError> {
        let since = nanos(since)?;
        // Load, decide and write in one write transaction on the database
        // thread: the facts cannot change between them, so the decision's
        // preconditions hold by construction. The guards (what the action
        // was authorized on) are checked in the same transaction.
        self.write(move |t| {
            for g in &guards {
                if !precondition_holds(t, g)? {
                    return Err(CommitError::Conflict(g.clone()));
                }
            }
            let snapshot = BookSnapshot {
                slot: slot_state(t, &slot.to_string())?,
                holdings: holdings(t, &patient.to_string(), since)?,
                policy: booking_policy(t)?,
            };
            let mut decision = decide(snapshot);
            match &mut decision {
                Decision::Allowed(c) => {
                    c.events.splice(0..0, earlier);
                    apply_booking_change(t, &c.change)?;
                    append_events(t, &c.events)?;
                }
                Decision::Refused(r) => {
                    r.events.splice(0..0, earlier);
                    append_events(t, &r.events)?;
                }
            }
            Ok(decision)
        })
        .await
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |t| append_events(t, &events)).await
    }

    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        self.call(|conn| all_audit_events(conn)).await
    }
}
