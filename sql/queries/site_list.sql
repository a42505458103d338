-- site_list: every site of the store, by code.
-- Parameters: none.
SELECT code, name, default_lang, languages, k_min, grid_m, retention_months, public_url, basemap, tiles_url,
       created_at
FROM sites
ORDER BY code;
