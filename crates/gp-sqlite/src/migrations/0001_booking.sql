-- Version 1: the appointment book and its audit trail.
CREATE TABLE staff (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE sessions (
    id        TEXT PRIMARY KEY,
    clinician TEXT NOT NULL REFERENCES staff(id),
    body      TEXT NOT NULL
);

-- Slots are read in bulk by searches, so each field has its own column
-- (an enum as its variant name, or JSON for a variant with data) rather than
-- one JSON body to decode.
CREATE TABLE slots (
    id           TEXT PRIMARY KEY,
    session      TEXT NOT NULL REFERENCES sessions(id),
    clinician    TEXT NOT NULL REFERENCES staff(id),
    role         TEXT NOT NULL,
    start_at     INTEGER NOT NULL,
    end_at       INTEGER NOT NULL,
    slot_type    TEXT NOT NULL,
    delivery     TEXT NOT NULL,
    availability TEXT NOT NULL,
    reserved_for TEXT,
    CHECK (start_at < end_at)
);
CREATE INDEX slots_by_start ON slots(start_at);

CREATE TABLE bookings (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    slot      TEXT NOT NULL REFERENCES slots(id),
    patient   TEXT NOT NULL,
    channel   TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
    body      TEXT NOT NULL
);
-- The last line of defence: one live booking per slot, whatever the caller does.
CREATE UNIQUE INDEX one_live_booking_per_slot ON bookings(slot) WHERE cancelled = 0;
CREATE INDEX live_bookings_by_patient ON bookings(patient) WHERE cancelled = 0;
CREATE INDEX bookings_by_patient ON bookings(patient, seq);

-- The audit trail, hash-chained (see gp-audit): hash = SHA-256(prev_hash || body).
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL CHECK (length(hash) = 32),
    body      TEXT NOT NULL
);
-- The last sequence and hash, moved in the same transaction as every append,
-- so that deleting the newest events is detected too.
CREATE TABLE audit_head (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);
