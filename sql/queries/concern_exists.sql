-- concern_exists: 1 if the concern (source, id) is stored. Parameters: $source VARCHAR, $id VARCHAR.
SELECT count(*) FROM concerns WHERE site = $site AND source = $source AND id = $id;
