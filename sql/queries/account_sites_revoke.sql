-- account_sites_revoke: take an account out of a site.
-- Parameters: $username VARCHAR, $grant_site VARCHAR.
DELETE FROM account_sites WHERE username = $username AND site = $grant_site
RETURNING username;
