-- 0006_retention: what a retention purge keeps and records (koban_geo.maintenance.purge, docs/operations.md).
-- Purges delete whole calendar months of concerns (older than KOBAN_RETENTION_MONTHS) and audit_log rows
-- (older than KOBAN_AUDIT_RETENTION_MONTHS), in one transaction with their purge_log and audit_log rows.

-- One row per applied purge: its cutoffs and what it deleted. detail: JSON object with the purged concerns
-- per month and theme ({"2024-03": {"noise": 12, ...}, ...}) and the count of groups split across areas.
CREATE SEQUENCE purge_log_id START 1;
CREATE TABLE purge_log (
    id                     INTEGER PRIMARY KEY DEFAULT nextval('purge_log_id'),
    purged_at              TIMESTAMP NOT NULL,
    actor                  VARCHAR NOT NULL,
    concerns_before        TIMESTAMP NOT NULL,  -- concerns reported before this (a first of a month) went
    audit_before           TIMESTAMP NOT NULL,  -- audit_log rows logged before this went
    retention_months       INTEGER NOT NULL,
    audit_retention_months INTEGER NOT NULL,
    concerns_deleted       BIGINT NOT NULL,
    audit_deleted          BIGINT NOT NULL,
    archive_rows           BIGINT NOT NULL,
    detail                 JSON NOT NULL
);

-- Aggregates of the purged concerns, so counts published before a purge stay reproducible from what is kept.
-- One row per calendar month, theme, area and snapped place; counts only: no text, no ids, no group ids.
-- place/snap_m: the snapped point the concerns had (grid-square centre or anonymous point, EPSG:4326) and its
--   grid in metres (0 = anonymous point), exactly as in `concerns`; any grid cell count can be rebuilt from it.
-- reports: concerns. groups: near-duplicate groups, each counted once per month, in the row of its first
--   report of that month (so the groups of a month add up exactly over places, themes and areas).
CREATE TABLE concern_archive (
    month     DATE NOT NULL,
    theme     VARCHAR NOT NULL,
    area_code VARCHAR,
    place     GEOMETRY NOT NULL,
    snap_m    INTEGER NOT NULL,
    reports   BIGINT NOT NULL,
    groups    BIGINT NOT NULL,
    purge_id  INTEGER NOT NULL
);

-- Concerns of a batch deleted by purges: for every concerns batch,
-- count(concerns of the batch) = rows_accepted - rows_purged (checked by `koban-geo doctor`).
ALTER TABLE ingest_batches ADD COLUMN rows_purged INTEGER DEFAULT 0;

-- Ingests before the fix in koban_geo.ingest.readers left a persistent view over the last CSV file read
-- (naming that file); it is never used and stops DuckDB's IMPORT DATABASE once the file is gone.
DROP VIEW IF EXISTS _staged;
