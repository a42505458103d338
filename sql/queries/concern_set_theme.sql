-- concern_set_theme: a moderator's theme for a concern; clears the review flag.
-- Parameters: $source VARCHAR, $id VARCHAR, $theme VARCHAR.
UPDATE concerns
SET theme = $theme, theme_source = 'moderator', theme_confidence = NULL, needs_review = false
WHERE site = $site AND source = $source AND id = $id;
