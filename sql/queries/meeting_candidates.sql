-- meeting_candidates: a meeting's candidate list in display order; geometry as WKB (NULL when none).
-- Parameters: $meeting_id INTEGER.
SELECT key, kind, label_en, label_nl, label_fr, label_pl, label_fi, label_es, label_pt, count,
       ST_AsWKB(geom) AS wkb
FROM meeting_candidates
WHERE meeting_id = $meeting_id
ORDER BY position;
