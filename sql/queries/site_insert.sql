-- site_insert: a new site (koban_geo.store.sites.add_site checks the code and the values first).
-- Parameters: $code VARCHAR, $name VARCHAR, $default_lang VARCHAR, $languages VARCHAR[], $k_min INTEGER,
--   $grid_m INTEGER, $retention_months INTEGER, $public_url VARCHAR, $basemap VARCHAR, $tiles_url VARCHAR
--   (each override NULL = the global setting).
INSERT INTO sites (code, name, default_lang, languages, k_min, grid_m, retention_months, public_url, basemap,
                   tiles_url, created_at)
VALUES ($code, $name, $default_lang, CAST($languages AS VARCHAR[]), CAST($k_min AS INTEGER),
        CAST($grid_m AS INTEGER), CAST($retention_months AS INTEGER), $public_url, $basemap, $tiles_url, now());
