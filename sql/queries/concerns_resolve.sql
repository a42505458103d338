-- concerns_resolve: give every accepted row of _prep its theme and mark duplicates, into TEMP table _resolved.
-- Reads _prep and _classified(line, theme, confidence, flagged) (rows the classifier labelled; may be empty).
-- Parameters: $source VARCHAR, $fine_m INTEGER, $coarse_m INTEGER.
-- The stored point: sensitive themes keep only the coarse snapped point; others the anonymous point they
-- were snapped to (snap_m 0) or their grid square's centre.
-- Theme order: a theme code given as such, then the editable mapping, then the classifier, else 'other'.
CREATE OR REPLACE TEMP TABLE _resolved AS
SELECT
    p.line,
    p.id,
    p.reported_at,
    coalesce(t.code, m.theme, c.theme, 'other') AS theme,
    CASE
        WHEN t.code IS NOT NULL THEN 'given'
        WHEN m.theme IS NOT NULL THEN 'mapped'
        WHEN c.theme IS NOT NULL THEN 'classified'
        ELSE 'default'
    END AS theme_source,
    CASE WHEN t.code IS NULL AND m.theme IS NULL THEN c.confidence END AS theme_confidence,
    coalesce(t.code IS NULL AND m.theme IS NULL AND c.flagged, false) AS needs_review,
    p.description,
    CASE WHEN th.sensitive THEN p.geom_coarse ELSE p.geom_fine END AS geom,
    CASE WHEN th.sensitive THEN $coarse_m WHEN p.on_anonymous_point THEN 0 ELSE $fine_m END AS snap_m,
    p.area_code,
    row_number() OVER (PARTITION BY p.id ORDER BY p.line) > 1 AS dup_in_file,
    EXISTS (SELECT 1 FROM concerns AS stored WHERE stored.site = $site AND stored.source = $source AND stored.id = p.id) AS dup_in_store
FROM _prep AS p
LEFT JOIN themes AS t ON t.code = p.theme_label
LEFT JOIN theme_mapping AS m ON m.label = p.theme_label
LEFT JOIN _classified AS c ON c.line = p.line
JOIN themes AS th ON th.code = coalesce(t.code, m.theme, c.theme, 'other')
WHERE p.error IS NULL;
