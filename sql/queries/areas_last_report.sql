-- areas_last_report: when the store's last concern was reported (NULL in an empty store): where the data end,
-- whatever a filter's window says (the emerging layer ends its slices at the last complete period). No parameters.
SELECT max(reported_at) AS last_reported FROM concerns WHERE site = $site;
