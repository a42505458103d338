-- 0004_meetings: neighbourhood meetings, their candidate lists, ballots and the facilitator's counts.
-- No personal data: a ballot is keyed by the SHA-256 of '<meeting id>:<device token>', never the token, so a
-- device cannot be followed from one meeting to the next; cast_at is kept to the minute only.
-- Join codes are unique among meetings that are not closed (checked by koban_geo.meetings under the
-- process's write lock: DuckDB has no partial unique index). All timestamps are naive UTC.

CREATE SEQUENCE meeting_id START 1;
CREATE TABLE meetings (
    id              INTEGER PRIMARY KEY DEFAULT nextval('meeting_id'),
    code            VARCHAR NOT NULL,      -- join code: 6 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789
    title           VARCHAR NOT NULL,
    meeting_date    DATE NOT NULL,
    areas           VARCHAR[] NOT NULL,    -- area codes (areas.code)
    method          VARCHAR NOT NULL,      -- dots | ranking
    budget          INTEGER,               -- dots: dots per participant
    max_per_item    INTEGER,               -- dots: most dots one participant may put on one candidate
    weight_resident DOUBLE NOT NULL DEFAULT 1,
    weight_officer  DOUBLE NOT NULL DEFAULT 1,
    weight_partner  DOUBLE NOT NULL DEFAULT 1,
    status          VARCHAR NOT NULL DEFAULT 'draft',  -- draft -> open -> closed
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    opened_at       TIMESTAMP,
    closed_at       TIMESTAMP,
    CHECK (method IN ('dots', 'ranking')),
    CHECK (status IN ('draft', 'open', 'closed'))
);

-- The list voted on, in display order; editable while the meeting is a draft only.
CREATE TABLE meeting_candidates (
    meeting_id INTEGER NOT NULL,
    key        VARCHAR NOT NULL,           -- theme:<code> | hotspot:<area code>[-n] | custom:<n>
    position   INTEGER NOT NULL,
    kind       VARCHAR NOT NULL,           -- theme | hotspot | custom
    label_en   VARCHAR NOT NULL,
    label_nl   VARCHAR NOT NULL,
    label_fr   VARCHAR NOT NULL,
    label_pl   VARCHAR NOT NULL,
    label_fi   VARCHAR NOT NULL,
    label_es   VARCHAR NOT NULL,
    label_pt   VARCHAR NOT NULL,
    count      INTEGER,                    -- public-tier concern count behind a proposal, if any
    geom       GEOMETRY,                   -- hotspot area (EPSG:4326), if any
    PRIMARY KEY (meeting_id, key)
);

-- One row per device per meeting: a new ballot from the same device replaces the row (revision + 1).
CREATE TABLE ballots (
    meeting_id    INTEGER NOT NULL,
    device_sha256 VARCHAR NOT NULL,        -- hex SHA-256 of '<meeting id>:<device token>'
    role          VARCHAR NOT NULL,        -- resident | officer | partner
    keys          VARCHAR[] NOT NULL,      -- candidates given points; for ranking, in rank order
    points        INTEGER[] NOT NULL,      -- dots, or Borda points (ranking), one per key
    revision      INTEGER NOT NULL,        -- 1 for the device's first ballot, +1 each time it is replaced
    cast_at       TIMESTAMP NOT NULL,      -- to the minute
    PRIMARY KEY (meeting_id, device_sha256),
    CHECK (role IN ('resident', 'officer', 'partner'))
);

-- Paper or show-of-hands counts the facilitator enters for a group; counted in that group, shown apart.
CREATE SEQUENCE meeting_count_id START 1;
CREATE TABLE meeting_counts (
    id         INTEGER PRIMARY KEY DEFAULT nextval('meeting_count_id'),
    meeting_id INTEGER NOT NULL,
    role       VARCHAR NOT NULL,           -- resident | officer | partner
    source     VARCHAR NOT NULL,           -- paper | hands
    keys       VARCHAR[] NOT NULL,
    points     INTEGER[] NOT NULL,         -- in the meeting's unit: dots, or Borda points
    note       VARCHAR NOT NULL DEFAULT '',
    added_by   VARCHAR NOT NULL,
    added_at   TIMESTAMP NOT NULL,
    CHECK (role IN ('resident', 'officer', 'partner')),
    CHECK (source IN ('paper', 'hands'))
);
