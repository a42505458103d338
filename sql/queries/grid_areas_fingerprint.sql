-- grid_areas_fingerprint: how many areas are loaded and a fingerprint of them (codes, batches and geometry
-- bytes), so a cached study grid is rebuilt whenever the areas change. No parameters.
SELECT
    count(*) AS n,
    md5(coalesce(string_agg(code || ':' || batch_id::VARCHAR || ':' || md5(ST_AsWKB(geom)), ',' ORDER BY code), '')) AS fingerprint
FROM areas
WHERE site = $site;
