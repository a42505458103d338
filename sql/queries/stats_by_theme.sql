-- stats_by_theme: concerns per theme code, largest first. No parameters.
SELECT theme, count(*) AS n FROM concerns WHERE site = $site GROUP BY theme ORDER BY n DESC, theme;
