-- account_sites_grant: give an account a role in a site (replacing its role there).
-- Parameters: $username VARCHAR, $grant_site VARCHAR (the site granted, not the connection's), $role VARCHAR.
INSERT INTO account_sites (username, site, role) VALUES ($username, $grant_site, $role)
ON CONFLICT (username, site) DO UPDATE SET role = excluded.role;
