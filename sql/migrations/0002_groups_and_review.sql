-- 0002_groups_and_review: near-duplicate groups and the moderator's review flag.
-- group_id: concerns about the same thing (same theme, same snapped place, within a few days of the group's
--   first report) share it, so one resident filing twenty times does not make a hotspot.
-- needs_review: the classifier was unsure (theme set to 'other'), or a moderator should look at the text.
ALTER TABLE concerns ADD COLUMN group_id VARCHAR;
ALTER TABLE concerns ADD COLUMN needs_review BOOLEAN DEFAULT false;
