-- vote_tally_get: the tally last shown to the public for a meeting (migration 0009), no row before the first.
-- Parameters: $meeting_id INTEGER.
SELECT ballots, seen, totals, participants, taken_at FROM meeting_tallies WHERE meeting_id = $meeting_id;
