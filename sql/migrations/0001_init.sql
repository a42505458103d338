-- 0001_init: the store's first schema. Applied once, in one transaction, by koban_geo.db.apply_migrations.
-- All geometries are EPSG:4326 (lon/lat); concern points are already coarsened when they arrive here.

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
);

-- Store-wide facts fixed at first use, e.g. the metric CRS that snapping grids are aligned to.
CREATE TABLE meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE themes (
    code      VARCHAR PRIMARY KEY,
    family    VARCHAR NOT NULL,
    sensitive BOOLEAN NOT NULL,
    label_en  VARCHAR NOT NULL,
    label_nl  VARCHAR NOT NULL,
    label_fr  VARCHAR NOT NULL,
    label_pl  VARCHAR NOT NULL,
    label_fi  VARCHAR NOT NULL,
    label_es  VARCHAR NOT NULL,
    label_pt  VARCHAR NOT NULL
);

-- Editable mapping from a source's category label (normalised: lower case, single spaces) to a theme code.
-- Open311 service codes are stored as 'open311:<service_code>'.
CREATE TABLE theme_mapping (
    label  VARCHAR PRIMARY KEY,
    theme  VARCHAR NOT NULL,
    origin VARCHAR NOT NULL DEFAULT 'user'   -- 'bundled' or 'user'
);

CREATE SEQUENCE ingest_batch_id START 1;
CREATE TABLE ingest_batches (
    id             INTEGER PRIMARY KEY DEFAULT nextval('ingest_batch_id'),
    kind           VARCHAR NOT NULL,      -- concerns | crime | areas | layer | stats
    format         VARCHAR NOT NULL,      -- csv | geojson | open311 | policeuk | ...
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    source         VARCHAR,
    rows_read      INTEGER NOT NULL,
    rows_accepted  INTEGER NOT NULL,
    rows_rejected  INTEGER NOT NULL,
    rows_duplicate INTEGER NOT NULL,
    parameters     JSON NOT NULL,         -- anonymisation and parsing parameters actually used
    errors         JSON NOT NULL,         -- list of "FILE:LINE: field: reason" (capped, see parameters)
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP NOT NULL
);

CREATE TABLE areas (
    code     VARCHAR PRIMARY KEY,
    name     VARCHAR NOT NULL,
    geom     GEOMETRY NOT NULL,
    batch_id INTEGER NOT NULL
);
CREATE INDEX areas_geom ON areas USING RTREE (geom);

CREATE TABLE concerns (
    source           VARCHAR NOT NULL,
    id               VARCHAR NOT NULL,
    reported_at      TIMESTAMP NOT NULL,  -- truncated to the hour at intake
    theme            VARCHAR NOT NULL,
    theme_source     VARCHAR NOT NULL,    -- given | mapped | classified | default
    theme_confidence DOUBLE,
    description      VARCHAR,             -- scrubbed text only
    geom             GEOMETRY NOT NULL,   -- snapped point, never the reported one
    snap_m           INTEGER NOT NULL,    -- grid cell (metres) or 0 when snapped to an anonymous point
    area_code        VARCHAR,
    batch_id         INTEGER NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX concerns_geom ON concerns USING RTREE (geom);

-- Recorded crime as published open data (data.police.uk street-level form; already anonymised at source).
CREATE TABLE crime (
    crime_id     VARCHAR,
    month        DATE NOT NULL,
    reported_by  VARCHAR,
    falls_within VARCHAR,
    location     VARCHAR,
    lsoa_code    VARCHAR,
    lsoa_name    VARCHAR,
    crime_type   VARCHAR NOT NULL,
    last_outcome VARCHAR,
    context      VARCHAR,
    theme        VARCHAR,
    geom         GEOMETRY,
    area_code    VARCHAR,
    batch_id     INTEGER NOT NULL
);
CREATE INDEX crime_geom ON crime USING RTREE (geom);

-- Named open-data features (streetlights, licensed premises, schools...): points or polygons.
CREATE TABLE layers (
    layer      VARCHAR NOT NULL,
    feature_id VARCHAR NOT NULL,
    properties JSON,
    geom       GEOMETRY NOT NULL,
    batch_id   INTEGER NOT NULL,
    PRIMARY KEY (layer, feature_id)
);
CREATE INDEX layers_geom ON layers USING RTREE (geom);

CREATE TABLE area_stats (
    area_code VARCHAR NOT NULL,
    period    VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    value     DOUBLE,
    batch_id  INTEGER NOT NULL,
    PRIMARY KEY (area_code, period, indicator)
);

CREATE SEQUENCE audit_log_id START 1;
CREATE TABLE audit_log (
    id     BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id'),
    logged_at TIMESTAMP NOT NULL,
    actor  VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    detail VARCHAR NOT NULL DEFAULT ''
);
