-- backtest_policeuk: the rows of view _backtest_csv (police.uk columns as text) with ok = usable.
-- No parameters.
WITH parsed AS (
    SELECT line, TRY_CAST(trim(lon) AS DOUBLE) AS lon, TRY_CAST(trim(lat) AS DOUBLE) AS lat,
           try_strptime(trim(month), '%Y-%m') AS m, coalesce(trim(crime_type), '') AS kind
    FROM _backtest_csv
)
SELECT coalesce(lon, 0) AS lon, coalesce(lat, 0) AS lat,
       coalesce((year(m) - 1970) * 12 + month(m) - 1, 0) AS month, kind,
       coalesce(lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90 AND NOT (lon = 0 AND lat = 0)
                AND m IS NOT NULL, false) AS ok
FROM parsed ORDER BY line;
