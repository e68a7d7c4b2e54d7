-- Schema version 6: free text people typed, beside the audit trail.
--
-- An event that records free text (a cancellation reason, why a proxy was
-- revoked) carries only the text's id and a salted hash in its chained
-- encoding; the text and its salt live here, so that the practice can erase
-- them (both set to NULL, erased_at set) without breaking the chain. Events
-- written before version 6 keep their text inside the chain.
CREATE TABLE audit_texts (
    id        TEXT PRIMARY KEY,
    event_id  TEXT NOT NULL,
    key       TEXT NOT NULL,
    salt      TEXT,
    text      TEXT,
    erased_at INTEGER
);

CREATE INDEX audit_texts_event ON audit_texts (event_id);
