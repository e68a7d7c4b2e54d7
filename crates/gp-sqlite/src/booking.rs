//! The BookingStore port on SQLite: slots in columns, bookings, holdings,
//! the stored policy, preconditions and the one-trip booking.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gp_booking::{
    BookDecider, BookSnapshot, Booking, BookingChange, BookingPolicy, BookingStore, CancelFacts,
    CommitError, Committable, Decision, Holding, Period, PolicyFacts, Precondition, Schedule,
    SearchQuery, Slot, SlotState, StaffMember, StoreError,
};
use gp_core::{AuditEvent, BookingId, Channel, PatientId, SlotId};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::chain::*;
use crate::guard::guard_holds;
use crate::rows::*;
use crate::store::SqliteStore;

/// The columns [`read_slot_state`] reads, for a slot `s` and its live booking `b`.
const SLOT_STATE_SELECT: &str =
    "SELECT s.id, s.session, s.clinician, s.role, s.start_at, s.end_at, \
     s.slot_type, s.delivery, s.availability, s.reserved_for, b.id, s.site \
     FROM slots s LEFT JOIN bookings b ON b.slot = s.id AND b.cancelled = 0";

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
    let site = optional(11)?;
    Ok(SlotState {
        slot: Slot {
            site: site
                .map(|code| gp_core::OdsCode::parse(code).map_err(corrupt))
                .transpose()?,
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

/// The live bookings `organisation` made whose slots start at or after
/// `since` (nanoseconds).
fn organisation_holdings(
    conn: &Connection,
    organisation: &str,
    since: i64,
) -> Result<std::collections::BTreeSet<BookingId>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT b.id FROM bookings b JOIN slots s ON s.id = b.slot \
             WHERE b.organisation = ?1 AND b.cancelled = 0 AND s.start_at >= ?2",
        )
        .map_err(storage)?;
    let rows = stmt
        .query_map(params![organisation, since], |r| r.get::<_, String>(0))
        .map_err(storage)?;
    rows.map(|id| id.map_err(storage)?.parse().map_err(corrupt))
        .collect()
}

fn load_booking(conn: &Connection, id: &str) -> Result<Option<Booking>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM bookings WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
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
        Precondition::OrganisationHoldingsUnchanged {
            organisation,
            since,
            bookings,
        } => Ok(&organisation_holdings(conn, organisation.as_str(), nanos(*since)?)? == bookings),
        Precondition::BookingUnchanged {
            booking,
            amendments,
        } => Ok(load_booking(conn, &booking.to_string())?
            .is_some_and(|b| b.is_live() && b.amendments == *amendments)),
    }
}

fn insert_booking(conn: &Connection, b: &Booking) -> Result<(), CommitError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO bookings (id, slot, patient, channel, cancelled, body, organisation, joined_to) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(storage)?;
    let organisation = match b.booked_by {
        gp_core::Actor::Organisation { ods, .. } => Some(ods.to_string()),
        _ => None,
    };
    let result = insert.execute(params![
        b.id.to_string(),
        b.slot.to_string(),
        b.patient.to_string(),
        json(&b.channel)?,
        i64::from(!b.is_live()),
        json(b)?,
        organisation,
        b.joined_to.map(|j| j.to_string()),
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

/// The live bookings joined to booking `id`.
fn joined_to(conn: &Connection, id: BookingId) -> Result<Vec<Booking>, StoreError> {
    let bodies: Vec<String> = conn
        .prepare_cached("SELECT body FROM bookings WHERE joined_to = ?1 AND cancelled = 0")
        .and_then(|mut stmt| {
            stmt.query_map(params![id.to_string()], |r| r.get::<_, String>(0))?
                .collect()
        })
        .map_err(storage)?;
    bodies.iter().map(|b| from_json(b)).collect()
}

fn cancel_booking(
    conn: &Connection,
    id: BookingId,
    cancellation: &gp_booking::Cancellation,
) -> Result<(), CommitError> {
    let booking = load_booking(conn, &id.to_string())?
        .filter(Booking::is_live)
        .ok_or(CommitError::Conflict(Precondition::BookingLive(id)))?;
    // The further slots of its appointment go with it.
    let joined = joined_to(conn, id)?;
    for mut booking in std::iter::once(booking).chain(joined) {
        booking.cancellation = Some(cancellation.clone());
        let body = json(&booking)?;
        let changed = conn
            .prepare_cached(
                "UPDATE bookings SET cancelled = 1, body = ?2 WHERE id = ?1 AND cancelled = 0",
            )
            .and_then(|mut stmt| stmt.execute(params![booking.id.to_string(), body]))
            .map_err(storage)?;
        if changed != 1 {
            return Err(CommitError::Conflict(Precondition::BookingLive(booking.id)));
        }
    }
    Ok(())
}

/// Replaces a live booking's texts: the stored booking must be live and
/// amended exactly once fewer, and nothing else may differ.
fn amend_booking(conn: &Connection, amended: &Booking) -> Result<(), CommitError> {
    let conflict = || {
        CommitError::Conflict(Precondition::BookingUnchanged {
            booking: amended.id,
            amendments: amended.amendments.saturating_sub(1),
        })
    };
    let stored = load_booking(conn, &amended.id.to_string())?
        .filter(|b| b.is_live() && b.amendments.checked_add(1) == Some(amended.amendments))
        .ok_or_else(conflict)?;
    let texts_only = Booking {
        description: stored.description.clone(),
        comment: stored.comment.clone(),
        amendments: stored.amendments,
        ..amended.clone()
    };
    if texts_only != stored {
        return Err(StoreError::Invalid(format!(
            "an amendment of booking {} changes more than its description and comment",
            amended.id
        ))
        .into());
    }
    let body = json(amended)?;
    let changed = conn
        .prepare_cached("UPDATE bookings SET body = ?2 WHERE id = ?1 AND cancelled = 0")
        .and_then(|mut stmt| stmt.execute(params![amended.id.to_string(), body]))
        .map_err(storage)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(conflict())
    }
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
        BookingChange::Amend(amended) => amend_booking(t, amended),
        BookingChange::BookAdjacent(bookings) => {
            for b in bookings {
                insert_booking(t, b)?;
            }
            Ok(())
        }
        BookingChange::Policy(policy) => {
            put_versioned(t, "booking_settings", policy)?;
            Ok(())
        }
    }
}

#[async_trait]
impl BookingStore for SqliteStore {
    async fn staff_member(&self, id: gp_core::StaffId) -> Result<Option<StaffMember>, StoreError> {
        self.call(move |conn| {
            let body: Option<String> = conn
                .prepare_cached("SELECT body FROM staff WHERE id = ?1")
                .and_then(|mut stmt| stmt.query_row([id.to_string()], |r| r.get(0)).optional())
                .map_err(storage)?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

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
                     availability, reserved_for, site) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(storage)?;
            // Each session's surgery, read once: a slot is held where its
            // session is.
            let mut sites = std::collections::HashMap::new();
            for slot in &schedule.slots {
                let clinician = slot.clinician.to_string();
                if !staff_exists(&clinician)? {
                    return Err(StoreError::Missing(format!("staff member {clinician}")));
                }
                if !session_exists(&slot.session.to_string())? {
                    return Err(StoreError::Missing(format!("session {}", slot.session)));
                }
                if let std::collections::hash_map::Entry::Vacant(e) = sites.entry(slot.session) {
                    let body: String = t
                        .query_row(
                            "SELECT body FROM sessions WHERE id = ?1",
                            [slot.session.to_string()],
                            |r| r.get(0),
                        )
                        .map_err(storage)?;
                    e.insert(from_json::<gp_booking::Session>(&body)?.site);
                }
                if sites.get(&slot.session) != Some(&slot.site) {
                    return Err(StoreError::Invalid(format!(
                        "slot {} is not at its session's surgery",
                        slot.id
                    )));
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
                        slot.reserved_for.as_ref().map(enum_text).transpose()?,
                        slot.site.map(|code| code.as_str().to_owned())
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

    async fn organisation_holdings(
        &self,
        organisation: gp_core::OdsCode,
        since: DateTime<Utc>,
    ) -> Result<std::collections::BTreeSet<BookingId>, StoreError> {
        let since = nanos(since)?;
        self.call(move |conn| organisation_holdings(conn, organisation.as_str(), since))
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
            let joined = match &booking {
                Some(b) => joined_to(&t, b.id)?,
                None => Vec::new(),
            };
            t.finish().map_err(storage)?;
            Ok(CancelFacts {
                booking,
                slot,
                joined,
            })
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
