-- meeting_candidates_set: replace a meeting's candidate list. The lists are parallel, one element per
-- candidate, in display order (unnest zips them); $wkb elements are NULL for candidates without geometry.
-- Parameters: $meeting_id INTEGER, $keys VARCHAR[], $kinds VARCHAR[], $label_en .. $label_pt VARCHAR[],
--   $counts INTEGER[], $wkb BLOB[].
DELETE FROM meeting_candidates WHERE meeting_id = $meeting_id;
INSERT INTO meeting_candidates
    (meeting_id, key, position, kind, label_en, label_nl, label_fr, label_pl, label_fi, label_es, label_pt,
     count, geom)
SELECT $meeting_id, key, position, kind, label_en, label_nl, label_fr, label_pl, label_fi, label_es, label_pt,
       count, CASE WHEN wkb IS NULL THEN NULL ELSE ST_GeomFromWKB(wkb) END
FROM (
    SELECT unnest($keys::VARCHAR[]) AS key,
           unnest(range(len($keys::VARCHAR[]))) AS position,
           unnest($kinds::VARCHAR[]) AS kind,
           unnest($label_en::VARCHAR[]) AS label_en,
           unnest($label_nl::VARCHAR[]) AS label_nl,
           unnest($label_fr::VARCHAR[]) AS label_fr,
           unnest($label_pl::VARCHAR[]) AS label_pl,
           unnest($label_fi::VARCHAR[]) AS label_fi,
           unnest($label_es::VARCHAR[]) AS label_es,
           unnest($label_pt::VARCHAR[]) AS label_pt,
           unnest($counts::INTEGER[]) AS count,
           unnest($wkb::BLOB[]) AS wkb
);
