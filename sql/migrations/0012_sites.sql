-- 0012_sites: one store serves several sites (the KOBAN pilots); koban_geo.store.sites owns them.
-- sites: a site's code (lower case, 2-32 of a-z 0-9 -), its name and languages, and per-site overrides of
--   the global settings (NULL = the global Settings value; koban_geo.store.sites.site_settings applies them).
-- Existing stores get the one site 'default' with every override NULL, so nothing they show changes.
-- account_sites: the sites an account works in and its role there; every existing account keeps its role
--   on 'default' (accounts.role stays the account's default role for sites granted without one).
-- Every row of areas, concerns, concern_archive, crime, layers, area_stats, ingest_batches, meetings,
-- problems, audit_log, purge_log and study_grids carries its site; child rows (ballots, candidates,
-- problem_actions, tallies, ...) follow their parent's site through the parent. Area codes, source ids and
-- layer features are unique per site, so the key tables are rebuilt with the site in their primary key
-- (site as the last column, so positional reads keep their order)
-- (DuckDB cannot change a primary key in place). The other tables get an added column, which DuckDB adds
-- only without NOT NULL (and cannot alter later on a table with an index): koban_geo writes it on every row.
-- audit_log.site is NULL for store-wide actions (accounts, sites).
CREATE TABLE sites (
    code             VARCHAR PRIMARY KEY CHECK (regexp_full_match(code, '[a-z0-9-]{2,32}')),
    name             VARCHAR NOT NULL,
    default_lang     VARCHAR,
    languages        VARCHAR[],
    k_min            INTEGER CHECK (k_min IS NULL OR k_min >= 3),
    grid_m           INTEGER CHECK (grid_m IS NULL OR grid_m BETWEEN 10 AND 100),
    retention_months INTEGER CHECK (retention_months IS NULL OR retention_months BETWEEN 1 AND 120),
    public_url       VARCHAR,
    basemap          VARCHAR,
    tiles_url        VARCHAR,
    created_at       TIMESTAMP NOT NULL
);
INSERT INTO sites (code, name, created_at) VALUES ('default', 'Default site', now());

CREATE TABLE account_sites (
    username VARCHAR NOT NULL,
    site     VARCHAR NOT NULL,
    role     VARCHAR NOT NULL CHECK (role IN ('officer', 'analyst', 'council', 'admin')),
    PRIMARY KEY (username, site)
);
INSERT INTO account_sites SELECT username, 'default', role FROM accounts;

CREATE TABLE areas_0012 (
    code     VARCHAR NOT NULL,
    name     VARCHAR NOT NULL,
    geom     GEOMETRY NOT NULL,
    batch_id INTEGER NOT NULL,
    site     VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (site, code)
);
INSERT INTO areas_0012 SELECT code, name, geom, batch_id, 'default' FROM areas;
DROP TABLE areas;
ALTER TABLE areas_0012 RENAME TO areas;
CREATE INDEX areas_geom ON areas USING RTREE (geom);

CREATE TABLE concerns_0012 (
    source           VARCHAR NOT NULL,
    id               VARCHAR NOT NULL,
    reported_at      TIMESTAMP NOT NULL,
    theme            VARCHAR NOT NULL,
    theme_source     VARCHAR NOT NULL,
    theme_confidence DOUBLE,
    description      VARCHAR,
    geom             GEOMETRY NOT NULL,
    snap_m           INTEGER NOT NULL,
    area_code        VARCHAR,
    batch_id         INTEGER NOT NULL,
    group_id         VARCHAR,
    needs_review     BOOLEAN DEFAULT false,
    place_x          DOUBLE,
    place_y          DOUBLE,
    unit_key         UBIGINT,
    record_key       UTINYINT,
    group_key        UTINYINT,
    site             VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (site, source, id)
);
INSERT INTO concerns_0012
SELECT source, id, reported_at, theme, theme_source, theme_confidence, description, geom, snap_m,
       area_code, batch_id, group_id, needs_review, place_x, place_y, unit_key, record_key, group_key, 'default'
FROM concerns;
DROP TABLE concerns;
ALTER TABLE concerns_0012 RENAME TO concerns;
CREATE INDEX concerns_geom ON concerns USING RTREE (geom);

CREATE TABLE layers_0012 (
    layer      VARCHAR NOT NULL,
    feature_id VARCHAR NOT NULL,
    properties JSON,
    geom       GEOMETRY NOT NULL,
    batch_id   INTEGER NOT NULL,
    site       VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (site, layer, feature_id)
);
INSERT INTO layers_0012 SELECT layer, feature_id, properties, geom, batch_id, 'default' FROM layers;
DROP TABLE layers;
ALTER TABLE layers_0012 RENAME TO layers;
CREATE INDEX layers_geom ON layers USING RTREE (geom);

CREATE TABLE area_stats_0012 (
    area_code VARCHAR NOT NULL,
    period    VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    value     DOUBLE,
    batch_id  INTEGER NOT NULL,
    site      VARCHAR NOT NULL DEFAULT 'default',
    PRIMARY KEY (site, area_code, period, indicator)
);
INSERT INTO area_stats_0012 SELECT area_code, period, indicator, value, batch_id, 'default' FROM area_stats;
DROP TABLE area_stats;
ALTER TABLE area_stats_0012 RENAME TO area_stats;

ALTER TABLE crime ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE concern_archive ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE ingest_batches ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE meetings ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE problems ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE purge_log ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE study_grids ADD COLUMN site VARCHAR DEFAULT 'default';
ALTER TABLE audit_log ADD COLUMN site VARCHAR;
UPDATE audit_log SET site = 'default';
