-- details_examples: the most recent scrubbed report texts of one place (officer and analyst tiers only;
-- koban_geo.analysis.details never asks for them for public or council). Same place and filter parameters as
-- details_counts, plus $limit INTEGER.
SELECT theme, date_trunc('month', reported_at)::DATE AS month, description
FROM concerns
WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
  AND (CAST($area AS VARCHAR) IS NULL OR area_code = $area)
  AND (CAST($wkt AS VARCHAR) IS NULL OR ST_Intersects(geom, ST_GeomFromText($wkt)))
  AND description IS NOT NULL AND length(trim(description)) > 0
ORDER BY reported_at DESC, source, id
LIMIT $limit;
