-- phone_rules_set: set slip mode and/or the headcount of a meeting (NULL keeps the stored value; a
-- headcount of -1 clears it).
-- Parameters: $meeting_id INTEGER, $slips_required BOOLEAN (NULL = keep), $headcount INTEGER (NULL = keep).
INSERT INTO meeting_phone_rules (meeting_id, slips_required, headcount)
VALUES ($meeting_id, coalesce($slips_required::BOOLEAN, false), CASE WHEN $headcount::INTEGER >= 0 THEN $headcount::INTEGER END)
ON CONFLICT (meeting_id) DO UPDATE
SET slips_required = coalesce($slips_required::BOOLEAN, meeting_phone_rules.slips_required),
    headcount = CASE WHEN $headcount::INTEGER IS NULL THEN meeting_phone_rules.headcount
                     WHEN $headcount::INTEGER < 0 THEN NULL
                     ELSE $headcount::INTEGER END;
