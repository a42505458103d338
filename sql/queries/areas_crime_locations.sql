-- areas_crime_locations: recorded crime per published map point (police.uk points are already anonymised),
-- for the officers' map: one row per location with its count and its three commonest crime types.
-- The filter applies as far as monthly open data allows: a month counts when it overlaps [since, until);
-- $themes NULL keeps every crime but those of sensitive themes (and those with no theme), else the named ones.
-- Parameters: $themes VARCHAR[], $since TIMESTAMP, $until TIMESTAMP, $areas VARCHAR[].
WITH selected AS (
    SELECT geom, crime_type
    FROM crime
    WHERE site = $site AND geom IS NOT NULL
      AND (CASE WHEN CAST($themes AS VARCHAR[]) IS NULL
                THEN theme IS NULL OR theme NOT IN (SELECT code FROM themes WHERE sensitive)
                ELSE list_contains(CAST($themes AS VARCHAR[]), theme) END)
      AND (CAST($since AS TIMESTAMP) IS NULL OR month + INTERVAL 1 MONTH > CAST($since AS TIMESTAMP))
      AND (CAST($until AS TIMESTAMP) IS NULL OR month < CAST($until AS TIMESTAMP))
      AND (CAST($areas AS VARCHAR[]) IS NULL OR list_contains(CAST($areas AS VARCHAR[]), area_code))
),
per_type AS (
    SELECT geom, crime_type, count(*) AS n FROM selected GROUP BY geom, crime_type
)
SELECT
    round(ST_X(geom), 6) AS lon,
    round(ST_Y(geom), 6) AS lat,
    sum(n)::BIGINT AS count,
    list(crime_type ORDER BY n DESC, crime_type)[1:3] AS crime_types,
    list(n ORDER BY n DESC, crime_type)[1:3] AS crime_type_counts
FROM per_type
GROUP BY geom
ORDER BY count DESC, lon, lat;
