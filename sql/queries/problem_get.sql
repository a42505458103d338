-- problem_get: one problem card (the place as WKB), or no row.
-- Parameters: $id INTEGER.
SELECT
    id, title, status, origin, origin_ref, ST_AsWKB(place) AS place, themes, area_code,
    triangle_place, triangle_victim, triangle_offender, notes,
    response_start, period_days, comparison_area, comparison_buffer_m,
    created_at, created_by, updated_at
FROM problems
WHERE id = $id AND site = $site;
