-- phone_rules_get: a meeting's phone rules (no row = defaults: no slips, no headcount) and its slip counts.
-- Parameters: $meeting_id INTEGER.
SELECT coalesce(r.slips_required, false) AS slips_required,
       r.headcount,
       (SELECT count(*) FROM meeting_slips s WHERE s.meeting_id = $meeting_id) AS slips_issued,
       (SELECT count(*) FROM meeting_slips s WHERE s.meeting_id = $meeting_id AND s.device_sha256 IS NOT NULL)
           AS slips_redeemed
FROM (SELECT $meeting_id::INTEGER AS meeting_id) AS m
LEFT JOIN meeting_phone_rules r USING (meeting_id);
