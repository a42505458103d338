-- crime_store: insert the accepted, new rows of _crime_new with their area. Parameters: $batch_id INTEGER.
INSERT INTO crime (crime_id, month, reported_by, falls_within, location, lsoa_code, lsoa_name, crime_type,
                   last_outcome, context, theme, geom, area_code, batch_id, site)
SELECT
    n.crime_id, n.month, n.reported_by, n.falls_within, n.location, n.lsoa_code, n.lsoa_name, n.crime_type,
    n.last_outcome, n.context, coalesce(n.theme, 'other'), ST_Point(n.lon, n.lat),
    (SELECT min(a.code) FROM areas AS a WHERE a.site = $site AND ST_Intersects(a.geom, ST_Point(n.lon, n.lat))),
    $batch_id,
    $site
FROM _crime_new AS n
WHERE n.error IS NULL AND NOT n.duplicate
ORDER BY n.line;
