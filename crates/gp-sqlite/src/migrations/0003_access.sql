-- Version 3: online access records (registration, identity, linkage keys,
-- proxies, applications, coercion concerns), staff profiles and settings.
-- A patient's record is one JSON body, replaced whole at each change; the
-- columns beside it exist for lookups.

CREATE TABLE access_settings (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);

CREATE TABLE access_records (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    patient TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    account TEXT UNIQUE,
    body    TEXT NOT NULL
);

CREATE TABLE staff_profiles (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    staff TEXT NOT NULL UNIQUE,
    body  TEXT NOT NULL
);
