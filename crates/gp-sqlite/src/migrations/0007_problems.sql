-- Schema version 7: the practice's problem log.
--
-- One row per problem: its status and reporter in columns for listing, the
-- whole problem (description and every action on it) as JSON. Actions are
-- audited in the chained trail; the description, typed by a person, is
-- kept only here.
CREATE TABLE problems (
    id       TEXT PRIMARY KEY,
    at       INTEGER NOT NULL,
    status   TEXT NOT NULL,
    category TEXT NOT NULL,
    patient  TEXT,
    version  INTEGER NOT NULL,
    body     TEXT NOT NULL
);

CREATE INDEX problems_by_time ON problems (at, id);
