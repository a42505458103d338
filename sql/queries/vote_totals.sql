-- vote_totals: the ballots' points per group and candidate (only pairs with points).
-- Parameters: $meeting_id INTEGER.
SELECT role, key, sum(point)::BIGINT AS points
FROM (
    SELECT role, unnest(keys) AS key, unnest(points) AS point
    FROM ballots
    WHERE meeting_id = $meeting_id
)
GROUP BY role, key
ORDER BY role, key;
