-- Version 2: repeat prescriptions and messages. Values are stored whole as
-- JSON bodies; the columns beside them exist for lookups and indexes only.

CREATE TABLE prescribing_settings (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);

-- One row per patient with anything stored: the record's version (moved on
-- by every change to the patient's items, requests or restriction) and the
-- restriction, if any.
CREATE TABLE prescribing_patients (
    patient     TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    restriction TEXT
);

CREATE TABLE repeat_items (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    patient    TEXT NOT NULL REFERENCES prescribing_patients(patient),
    active     INTEGER NOT NULL CHECK (active IN (0, 1)),
    flagged_at INTEGER,
    body       TEXT NOT NULL
);
CREATE INDEX repeat_items_by_patient ON repeat_items(patient, seq);
CREATE INDEX repeat_items_for_review ON repeat_items(flagged_at, id) WHERE flagged_at IS NOT NULL AND active = 1;

CREATE TABLE repeat_requests (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL UNIQUE,
    patient TEXT NOT NULL REFERENCES prescribing_patients(patient),
    at      INTEGER NOT NULL,
    open    INTEGER NOT NULL CHECK (open IN (0, 1)),
    body    TEXT NOT NULL
);
CREATE INDEX repeat_requests_by_patient ON repeat_requests(patient, seq);
CREATE INDEX repeat_requests_queue ON repeat_requests(at, id) WHERE open = 1;

-- One row per line of a request, open while requested or approved.
CREATE TABLE request_lines (
    request TEXT NOT NULL REFERENCES repeat_requests(id),
    item    TEXT NOT NULL REFERENCES repeat_items(id),
    open    INTEGER NOT NULL CHECK (open IN (0, 1)),
    PRIMARY KEY (request, item)
);
-- The last line of defence: one open request per item, whatever the caller does.
CREATE UNIQUE INDEX one_open_line_per_item ON request_lines(item) WHERE open = 1;

CREATE TABLE messaging_settings (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);

CREATE TABLE messages (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    patient  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    handled  INTEGER NOT NULL CHECK (handled IN (0, 1)),
    revision INTEGER NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX messages_by_patient ON messages(patient, seq);
CREATE INDEX messages_inbox ON messages(at, id) WHERE handled = 0;
