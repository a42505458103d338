-- problem_span: the first and the newest report time in the store (NULLs when it holds no concerns).
-- No parameters.
SELECT min(reported_at) AS first, max(reported_at) AS newest FROM concerns WHERE site = $site;
