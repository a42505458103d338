-- account_sites_of: the sites an account works in, with its role in each, by site code.
-- Parameters: $username VARCHAR.
SELECT s.site, s.role
FROM account_sites AS s
JOIN sites AS t ON t.code = s.site
WHERE s.username = $username
ORDER BY s.site;
