-- 0010_phone_slips_and_group_codes: who may vote from a phone, and as which group (koban_geo.community.admission).
-- meeting_phone_rules: one row per meeting once staff set anything (no row = cookie mode, no headcount).
--   slips_required: strict one-person-one-vote; a phone needs an unused ballot slip for its first ballot.
--   headcount: the people in the room as the facilitator counted them, shown beside the ballots.
-- meeting_group_codes: the code that makes a phone vote as an officer or a partner (residents need none);
--   kept readable because staff show it in the room, and only worth a group's weight in one meeting.
-- meeting_slips: single-use codes, stored as the hex SHA-256 of '<meeting id>:<slip>' (the slip itself is
--   shown once, when issued); device_sha256 is the ballot key of the phone that redeemed it (NULL = unused).

CREATE TABLE meeting_phone_rules (
    meeting_id     INTEGER PRIMARY KEY,
    slips_required BOOLEAN NOT NULL DEFAULT false,
    headcount      INTEGER,
    CHECK (headcount IS NULL OR headcount >= 0)
);

CREATE TABLE meeting_group_codes (
    meeting_id INTEGER NOT NULL,
    role       VARCHAR NOT NULL,           -- officer | partner
    code       VARCHAR NOT NULL,           -- 8 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789
    PRIMARY KEY (meeting_id, role),
    CHECK (role IN ('officer', 'partner'))
);

CREATE TABLE meeting_slips (
    meeting_id    INTEGER NOT NULL,
    slip_sha256   VARCHAR NOT NULL,
    device_sha256 VARCHAR,
    issued_at     TIMESTAMP NOT NULL,      -- to the minute
    redeemed_at   TIMESTAMP,               -- to the minute
    PRIMARY KEY (meeting_id, slip_sha256)
);
