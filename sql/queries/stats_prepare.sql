-- stats_prepare: parse an area statistics CSV (view _staged_stats(line, area_code, period, indicator, value))
-- into TEMP table _stats_new. Parameters: $decimal_comma BOOLEAN.
CREATE OR REPLACE TEMP TABLE _stats_new AS
SELECT
    s.line,
    nullif(trim(s.area_code), '') AS area_code,
    nullif(trim(s.period), '') AS period,
    nullif(trim(s.indicator), '') AS indicator,
    koban_num(s.value, $decimal_comma) AS value,
    CASE
        WHEN nullif(trim(s.area_code), '') IS NULL THEN 'area_code: missing'
        WHEN NOT EXISTS (SELECT 1 FROM areas AS a WHERE a.site = $site AND a.code = trim(s.area_code))
            THEN 'area_code: no such area (load the areas first)'
        WHEN nullif(trim(s.period), '') IS NULL THEN 'period: missing'
        WHEN nullif(trim(s.indicator), '') IS NULL THEN 'indicator: missing'
        WHEN nullif(trim(s.value), '') IS NOT NULL AND koban_num(s.value, $decimal_comma) IS NULL
            THEN 'value: not a number'
    END AS error
FROM _staged_stats AS s;
