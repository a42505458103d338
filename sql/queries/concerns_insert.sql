-- concerns_insert: store the new rows of _resolved. Sensitive themes keep only the coarse snapped point;
-- others the anonymous point they were snapped to (snap_m 0) or their grid square's centre.
-- Parameters: $source VARCHAR, $batch_id INTEGER, $fine_m INTEGER, $coarse_m INTEGER.
INSERT INTO concerns (source, id, reported_at, theme, theme_source, theme_confidence, description, geom,
                      snap_m, area_code, batch_id, needs_review)
SELECT
    $source,
    r.id,
    r.reported_at,
    r.theme,
    r.theme_source,
    r.theme_confidence,
    r.description,
    CASE WHEN t.sensitive THEN r.geom_coarse ELSE r.geom_fine END,
    CASE WHEN t.sensitive THEN $coarse_m WHEN r.on_anonymous_point THEN 0 ELSE $fine_m END,
    r.area_code,
    $batch_id,
    r.needs_review
FROM _resolved AS r
JOIN themes AS t ON t.code = r.theme
WHERE NOT r.dup_in_file AND NOT r.dup_in_store;
