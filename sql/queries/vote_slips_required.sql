-- vote_slips_required: whether a meeting votes with ballot slips (read once per group of ballots).
-- Parameters: $meeting_id INTEGER.
SELECT coalesce((SELECT slips_required FROM meeting_phone_rules WHERE meeting_id = $meeting_id), false);
