-- purge_concerns: delete the concerns reported before the cutoff. Parameters: $concerns_before TIMESTAMP.
DELETE FROM concerns WHERE site = $site AND reported_at < $concerns_before;
