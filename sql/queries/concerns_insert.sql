-- concerns_insert: store the new rows of _resolved with their near-duplicate group from _groups(line, group_id).
-- Parameters: $source VARCHAR, $batch_id INTEGER.
INSERT INTO concerns (source, id, reported_at, theme, theme_source, theme_confidence, description, geom,
                      snap_m, area_code, batch_id, needs_review, group_id)
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
    g.group_id
FROM _resolved AS r
LEFT JOIN _groups AS g ON g.line = r.line
WHERE NOT r.dup_in_file AND NOT r.dup_in_store;
