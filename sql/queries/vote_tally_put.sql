-- vote_tally_put: store the tally now shown to the public for a meeting, replacing the one before.
-- Parameters: $meeting_id INTEGER, $now TIMESTAMP, $ballots INTEGER, $seen VARCHAR[], $totals JSON,
--   $participants JSON.
INSERT INTO meeting_tallies (meeting_id, taken_at, ballots, seen, totals, participants)
VALUES ($meeting_id, $now, $ballots, $seen, $totals, $participants)
ON CONFLICT (meeting_id) DO UPDATE
SET taken_at = excluded.taken_at, ballots = excluded.ballots, seen = excluded.seen, totals = excluded.totals,
    participants = excluded.participants;
