-- concerns_insert: store the new rows of _resolved with their near-duplicate group from _groups(line, group_id),
-- and the keys the counting queries group by (migration 0008): the snapped point in the metric CRS and a hash
-- of the group; and its cell-key record keys (migration 0009, koban_record_key in macros.sql).
-- Parameters: $source VARCHAR, $batch_id INTEGER, $metric_crs VARCHAR (meta 'metric_crs').
INSERT INTO concerns (source, id, reported_at, theme, theme_source, theme_confidence, description, geom,
                      snap_m, area_code, batch_id, needs_review, group_id, place_x, place_y, unit_key,
                      record_key, group_key, site)
SELECT
    $source,
    r.id,
    r.reported_at,
    r.theme,
    r.theme_source,
    r.theme_confidence,
    r.description,
    r.geom,
    r.snap_m,
    r.area_code,
    $batch_id,
    r.needs_review,
    g.group_id,
    ST_X(ST_Transform(r.geom, 'EPSG:4326', $metric_crs, always_xy := true)),
    ST_Y(ST_Transform(r.geom, 'EPSG:4326', $metric_crs, always_xy := true)),
    hash(coalesce(g.group_id, $source || '/' || r.id)),
    koban_record_key($source || '/' || r.id),
    koban_record_key(coalesce(g.group_id, $source || '/' || r.id)),
    $site
FROM _resolved AS r
LEFT JOIN _groups AS g ON g.line = r.line
WHERE NOT r.dup_in_file AND NOT r.dup_in_store;
