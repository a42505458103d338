-- problem_set_analysis: the analysis texts of a card (each already scrubbed; NULL clears a field).
-- Parameters: $id INTEGER, $triangle_place, $triangle_victim, $triangle_offender, $notes VARCHAR or NULL.
UPDATE problems
SET triangle_place = $triangle_place, triangle_victim = $triangle_victim,
    triangle_offender = $triangle_offender, notes = $notes, updated_at = now()
WHERE id = $id AND site = $site;
