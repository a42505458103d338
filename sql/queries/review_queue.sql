-- review_queue: concerns a moderator should look at (the classifier was unsure), newest first.
-- Parameters: $limit INTEGER.
SELECT source, id, reported_at, theme, theme_confidence, area_code, description
FROM concerns
WHERE site = $site AND needs_review
ORDER BY reported_at DESC, source, id
LIMIT $limit;
