-- 0009_cell_keys: what public counts need to survive differencing (koban_geo.privacy.cellkey) and what the public
-- vote tally shows while voting runs (koban_geo.community.voting.public_results).
-- record_key: the report's record key 0..255, first byte of SHA-256(salt || '/' || source || '/' || id).
-- group_key:  its near-duplicate group's key, the same with the group's name (coalesce(group_id, source/id)).
--   The salt is meta 'cell_key_salt' (32 random bytes, made by Python on the first read-write open); rows of
--   stores made before are filled then (sql/queries/cellkey_fill.sql), new rows by concerns_insert.sql.
ALTER TABLE concerns ADD COLUMN record_key UTINYINT;
ALTER TABLE concerns ADD COLUMN group_key UTINYINT;

-- The tally last shown to the public for an open meeting: taken again only once at least k phones have a
-- new or changed ballot since, so the difference between two shown tallies is never one phone's ballot.
-- seen: 'device:revision' of every ballot the tally holds; totals: [[role, key, points], ...] as JSON;
-- participants: {role: phones} as JSON.
CREATE TABLE meeting_tallies (
    meeting_id   INTEGER PRIMARY KEY,
    taken_at     TIMESTAMP NOT NULL,
    ballots      INTEGER NOT NULL,
    seen         VARCHAR[] NOT NULL,
    totals       JSON NOT NULL,
    participants JSON NOT NULL
);
