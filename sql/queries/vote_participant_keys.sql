-- vote_participant_keys: per group, the cell key of its count of phones (koban_geo.privacy.cellkey): the sum of
-- its ballots' record keys mod 256, a ballot's key made from its device hash like a concern's from its id.
-- Parameters: $meeting_id INTEGER.
SELECT role, (sum(koban_record_key('ballot/' || device_sha256)) % 256)::INTEGER AS ckey
FROM ballots
WHERE meeting_id = $meeting_id
GROUP BY role
ORDER BY role;
