-- concerns_unresolved: accepted rows of _prep whose theme is neither a code nor a mapped label.
-- Their (scrubbed) description goes to the classifier. No parameters.
SELECT p.line, p.theme_label, p.description
FROM _prep AS p
WHERE p.error IS NULL
  AND NOT EXISTS (SELECT 1 FROM themes AS t WHERE t.code = p.theme_label)
  AND NOT EXISTS (SELECT 1 FROM theme_mapping AS m WHERE m.label = p.theme_label)
ORDER BY p.line;
