-- stats_by_area: concerns per area code ('(none)' outside every area), largest first. No parameters.
SELECT coalesce(area_code, '(none)') AS area, count(*) AS n FROM concerns WHERE site = $site GROUP BY area ORDER BY n DESC, area;
