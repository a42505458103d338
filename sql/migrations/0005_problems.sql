-- 0005_problems: problem cards worked through SARA (scanning, analysis, response, assessment), and their actions.
-- A card's place is a (Multi)Polygon in EPSG:4326 lon/lat. Counts are never stored: they are computed from the
-- concerns when a card is shown, so moderation, redaction and retention purges apply to them at once.
-- Text columns hold scrubbed text only (koban_geo.problems runs koban_geo.scrub.scrub_text before storing).
-- Every change is written to audit_log by koban_geo.problems (action 'problem.*', detail JSON with the id).

CREATE SEQUENCE problem_id START 1;
CREATE TABLE problems (
    id                  INTEGER PRIMARY KEY DEFAULT nextval('problem_id'),
    title               VARCHAR NOT NULL,     -- published with the card (scrubbed)
    status              VARCHAR NOT NULL DEFAULT 'scanning'
                        CHECK (status IN ('scanning', 'analysis', 'response', 'assessment', 'closed')),
    origin              VARCHAR NOT NULL
                        CHECK (origin IN ('candidate', 'cells', 'polygon', 'area')),
    origin_ref          VARCHAR,              -- meeting candidate id or area code the card was made from
    place               GEOMETRY NOT NULL,    -- (Multi)Polygon, EPSG:4326
    themes              VARCHAR[] NOT NULL,
    area_code           VARCHAR,              -- the area holding the centre of the place, for listing
    triangle_place      VARCHAR,              -- problem-analysis triangle: place (officers only, scrubbed)
    triangle_victim     VARCHAR,              -- victim / target (officers only, scrubbed)
    triangle_offender   VARCHAR,              -- offender / behaviour (officers only, scrubbed)
    notes               VARCHAR,              -- analysis notes (officers only, scrubbed)
    response_start      DATE,                 -- assessment: the day the response started
    period_days         INTEGER,              -- assessment: length of each of the before and after periods
    comparison_area     VARCHAR,              -- assessment: an area code to compare with, or
    comparison_buffer_m DOUBLE,               -- assessment: a ring this wide around the place
    created_at          TIMESTAMP NOT NULL,
    created_by          VARCHAR NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

CREATE SEQUENCE problem_action_id START 1;
CREATE TABLE problem_actions (
    id          INTEGER PRIMARY KEY DEFAULT nextval('problem_action_id'),
    problem_id  INTEGER NOT NULL,
    description VARCHAR NOT NULL,             -- written for publication (scrubbed)
    owner_org   VARCHAR NOT NULL,             -- the organisation that owns the action
    due         DATE,
    status      VARCHAR NOT NULL DEFAULT 'planned'
                CHECK (status IN ('planned', 'in_progress', 'done', 'dropped')),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX problem_actions_problem ON problem_actions (problem_id);
