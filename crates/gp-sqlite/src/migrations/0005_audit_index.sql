-- Schema version 5: an index of the audit trail, outside the chain.
--
-- One row per refused event: its action and when (whole seconds since
-- 1970), so that a practice-wide count such as "failed linkage attempts in
-- the last hour" is one indexed read, not a walk of the trail. Allowed
-- events, the great majority, are not indexed (refused is always 1; the
-- column is kept so that allowed events can be indexed later).
-- The chain (audit_events) is unchanged; this table is derived from it and
-- written in the same transaction as every append.
CREATE TABLE audit_index (
    seq     INTEGER PRIMARY KEY,
    action  TEXT NOT NULL,
    refused INTEGER NOT NULL CHECK (refused IN (0, 1)),
    at_secs INTEGER NOT NULL
);

INSERT INTO audit_index (seq, action, refused, at_secs)
SELECT seq,
       coalesce(json_extract(body, '$.action'), ''),
       json_type(body, '$.outcome') = 'object',
       coalesce(unixepoch(json_extract(body, '$.at')), 0)
FROM audit_events
WHERE json_valid(body) AND json_type(body, '$.outcome') = 'object';

CREATE INDEX audit_index_refusals ON audit_index (action, at_secs) WHERE refused = 1;
