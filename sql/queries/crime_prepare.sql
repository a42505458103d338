-- crime_prepare: parse a data.police.uk street-level CSV (view _staged_crime) into TEMP table _crime_new.
-- Reads _crime_themes(crime_type, theme). No parameters.
CREATE OR REPLACE TEMP TABLE _crime_new AS
WITH parsed AS (
    SELECT
        line,
        nullif(trim(crime_id), '') AS crime_id,
        month AS month_raw,
        try_strptime(trim(month), '%Y-%m')::DATE AS month,
        nullif(trim(reported_by), '') AS reported_by,
        nullif(trim(falls_within), '') AS falls_within,
        lon AS lon_raw,
        lat AS lat_raw,
        koban_num(lon, false) AS lon,
        koban_num(lat, false) AS lat,
        nullif(trim(location), '') AS location,
        nullif(trim(lsoa_code), '') AS lsoa_code,
        nullif(trim(lsoa_name), '') AS lsoa_name,
        nullif(trim(crime_type), '') AS crime_type,
        nullif(trim(last_outcome), '') AS last_outcome,
        nullif(trim(context), '') AS context
    FROM _staged_crime
)
SELECT
    p.*,
    t.theme,
    CASE
        WHEN p.month IS NULL THEN 'Month: not a YYYY-MM month'
        WHEN nullif(trim(p.lon_raw), '') IS NULL OR nullif(trim(p.lat_raw), '') IS NULL THEN 'Longitude/Latitude: missing location'
        WHEN p.lon IS NULL THEN 'Longitude: not a number'
        WHEN p.lat IS NULL THEN 'Latitude: not a number'
        WHEN NOT p.lat BETWEEN -90 AND 90 THEN 'Latitude: out of range (-90..90)'
        WHEN NOT p.lon BETWEEN -180 AND 180 THEN 'Longitude: out of range (-180..180)'
        WHEN p.crime_type IS NULL THEN 'Crime type: missing'
    END AS error,
    p.crime_id IS NOT NULL AND (
        EXISTS (SELECT 1 FROM crime AS c WHERE c.site = $site AND c.crime_id = p.crime_id)
        OR row_number() OVER (PARTITION BY p.crime_id ORDER BY p.line) > 1
    ) AS duplicate
FROM parsed AS p
LEFT JOIN _crime_themes AS t ON t.crime_type = p.crime_type;
