-- Version 4: the booking policy is stored and versioned like the other
-- settings, and the practice's patient list (the supplier's register, for
-- patients with or without an online account) has a table of its own.

CREATE TABLE booking_settings (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);

CREATE TABLE patient_list (
    patient    TEXT PRIMARY KEY,
    nhs_number TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL
);
