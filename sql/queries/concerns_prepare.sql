-- concerns_prepare: parse, check and anonymise the staged rows of one concerns batch into TEMP table _prep.
-- Reads view/table _staged(line, src_id, reported_at_raw, lat_raw, lon_raw, theme_raw, text_raw) and
-- _scrubbed(line, description, id_is_personal), made by koban_geo.privacy.scrub from the text and id columns.
-- Parameters: $decimal_comma BOOLEAN, $tz VARCHAR, $metric_crs VARCHAR, $fine_m INTEGER, $coarse_m INTEGER,
--             $id_prefix VARCHAR (for rows without an id), $now TIMESTAMP,
--             $anon_layer VARCHAR (layer of anonymous points to snap to, or NULL), $anon_max_m DOUBLE,
--             $ts_format VARCHAR (the timestamp form the file uses, or NULL: see koban_ts_as).
-- _prep never holds a reported location or raw text: only the two snapped points, scrubbed text and the
-- area code found from the reported point (which is dropped with this query).
CREATE OR REPLACE TEMP TABLE _prep AS
WITH parsed AS (
    SELECT
        line,
        nullif(trim(src_id), '') AS src_id,
        reported_at_raw,
        lat_raw,
        lon_raw,
        koban_num(lat_raw, $decimal_comma) AS lat,
        koban_num(lon_raw, $decimal_comma) AS lon,
        date_trunc('hour', koban_ts_as(reported_at_raw, $ts_format, $tz)) AS reported_at,
        nullif(lower(regexp_replace(trim(theme_raw), '\s+', ' ', 'g')), '') AS theme_label,
        nullif(trim(s.description), '') AS description,
        coalesce(s.id_is_personal, false) AS id_is_personal
    FROM _staged
    LEFT JOIN _scrubbed AS s USING (line)
),
checked AS (
    SELECT
        *,
        CASE
            WHEN nullif(trim(lat_raw), '') IS NULL OR nullif(trim(lon_raw), '') IS NULL THEN 'location: missing'
            WHEN lat IS NULL THEN 'lat: not a number'
            WHEN lon IS NULL THEN 'lon: not a number'
            WHEN NOT lat BETWEEN -90 AND 90 THEN 'lat: out of range (-90..90)'
            WHEN NOT lon BETWEEN -180 AND 180 THEN 'lon: out of range (-180..180)'
            WHEN lat = 0 AND lon = 0 THEN 'location: 0,0 is a placeholder, not a place'
            WHEN nullif(trim(reported_at_raw), '') IS NULL THEN 'reported_at: missing'
            WHEN reported_at IS NULL THEN 'reported_at: not a date (use ISO 8601 or day-first DD-MM-YYYY)'
            WHEN reported_at > $now + INTERVAL 1 DAY THEN 'reported_at: in the future'
        END AS error
    FROM parsed
),
placed AS MATERIALIZED (  -- read by two branches below: computed once
    SELECT
        *,
        CASE WHEN error IS NULL THEN ST_Point(lon, lat) END AS pt,
        CASE WHEN error IS NULL
             THEN ST_Transform(ST_Point(lon, lat), 'EPSG:4326', $metric_crs, always_xy := true) END AS m
    FROM checked
),
anonymous_points AS (
    SELECT geom AS ag, ST_Transform(geom, 'EPSG:4326', $metric_crs, always_xy := true) AS am
    FROM layers
    WHERE site = $site AND layer = $anon_layer AND ST_GeometryType(geom) = 'POINT'
),
nearest AS (
    -- police.uk style: the nearest anonymous point (each stands for several addresses), if close enough
    SELECT p.line, arg_min(a.ag, ST_Distance(p.m, a.am)) AS anon_geom
    FROM placed AS p
    JOIN anonymous_points AS a ON ST_DWithin(p.m, a.am, $anon_max_m)
    GROUP BY p.line
),
area_of AS (
    -- an inner spatial join, then a hash join by line: a LEFT spatial join can be planned as a RIGHT join
    -- with the points as build side, which loses rows (duckdb-spatial #871)
    SELECT p.line, min(a.code) AS area_code
    FROM placed AS p
    JOIN areas AS a ON a.site = $site AND ST_Intersects(a.geom, p.pt)
    GROUP BY p.line
)
SELECT
    p.line,
    CASE
        WHEN p.src_id IS NULL THEN $id_prefix || p.line::VARCHAR
        -- an id that is itself personal data (an e-mail, a phone number) is replaced by its hash
        WHEN p.id_is_personal THEN 'h:' || left(sha256(p.src_id), 16)
        ELSE left(p.src_id, 200)
    END AS id,
    p.reported_at,
    p.theme_label,
    p.description,
    p.error,
    n.anon_geom IS NOT NULL AS on_anonymous_point,
    CASE WHEN p.error IS NULL
         THEN coalesce(koban_round6(n.anon_geom), koban_round6(koban_snap(p.m, $fine_m, $metric_crs))) END AS geom_fine,
    CASE WHEN p.error IS NULL THEN koban_round6(koban_snap(p.m, $coarse_m, $metric_crs)) END AS geom_coarse,
    ar.area_code
FROM placed AS p
LEFT JOIN nearest AS n ON n.line = p.line
LEFT JOIN area_of AS ar ON ar.line = p.line;
