-- concern_redact: replace a concern's stored description (already scrubbed again by the caller).
-- Parameters: $source VARCHAR, $id VARCHAR, $description VARCHAR.
UPDATE concerns SET description = $description WHERE site = $site AND source = $source AND id = $id;
