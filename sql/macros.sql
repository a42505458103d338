-- Parsing macros created as TEMP macros on every connection (koban_geo.store.db.register_macros).
-- They are the one implementation of number and date parsing: Python tests call them through DuckDB.

-- koban_num(s, decimal_comma): a decimal number, NULL when it is not a finite number.
-- A '.' decimal point is always accepted. When decimal_comma, ',' is the decimal mark and '.' or a space
-- groups thousands only where that is unambiguous ('1.234,5', '1.234.567', '1 234'); a lone '60.123' stays
-- 60.123 because coordinates typed with a point turn up in decimal-comma files too.
CREATE OR REPLACE TEMP MACRO koban_num(s, decimal_comma) AS (
    CASE
        WHEN decimal_comma AND regexp_full_match(
            trim(s), '[+-]?\d{1,3}([. ]\d{3})+,\d+|[+-]?\d{1,3}(\.\d{3}){2,}|[+-]?\d{1,3}( \d{3})+(,\d+)?')
        THEN TRY_CAST(replace(replace(replace(trim(s), '.', ''), ' ', ''), ',', '.') AS DOUBLE)
        WHEN decimal_comma AND regexp_full_match(trim(s), '[+-]?\d+,\d+')
        THEN TRY_CAST(replace(trim(s), ',', '.') AS DOUBLE)
        WHEN regexp_full_match(trim(s), '[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?')
        THEN TRY_CAST(trim(s) AS DOUBLE)
    END
);

-- koban_ts_formats(): the naive timestamp forms understood, ISO 8601 first, then day-first European forms.
CREATE OR REPLACE TEMP MACRO koban_ts_formats() AS (
    ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S.%f',
     '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M', '%Y-%m-%d', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y/%m/%d',
     '%d-%m-%Y %H:%M:%S', '%d-%m-%Y %H:%M', '%d-%m-%Y',
     '%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y',
     '%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y %H.%M', '%d.%m.%Y klo %H.%M', '%d.%m.%Y']
);

-- koban_ts(s, tz): a timestamp in ISO 8601 or a common European day-first form.
-- Naive values are local wall-clock time; values with an offset (or Z) are converted to zone tz.
-- The forms are those of koban_ts_formats(), one try_strptime each: the list form of try_strptime crashed
-- DuckDB 1.5.5 under load (tests/test_dialect.py keeps the two lists equal).
CREATE OR REPLACE TEMP MACRO koban_ts(s, tz) AS (
    coalesce(
        try_strptime(trim(s), '%Y-%m-%d %H:%M:%S'),
        try_strptime(trim(s), '%Y-%m-%dT%H:%M:%S'),
        try_strptime(trim(s), '%Y-%m-%d %H:%M:%S.%f'),
        try_strptime(trim(s), '%Y-%m-%dT%H:%M:%S.%f'),
        try_strptime(trim(s), '%Y-%m-%d %H:%M'),
        try_strptime(trim(s), '%Y-%m-%dT%H:%M'),
        try_strptime(trim(s), '%Y-%m-%d'),
        try_strptime(trim(s), '%Y/%m/%d %H:%M:%S'),
        try_strptime(trim(s), '%Y/%m/%d %H:%M'),
        try_strptime(trim(s), '%Y/%m/%d'),
        try_strptime(trim(s), '%d-%m-%Y %H:%M:%S'),
        try_strptime(trim(s), '%d-%m-%Y %H:%M'),
        try_strptime(trim(s), '%d-%m-%Y'),
        try_strptime(trim(s), '%d/%m/%Y %H:%M:%S'),
        try_strptime(trim(s), '%d/%m/%Y %H:%M'),
        try_strptime(trim(s), '%d/%m/%Y'),
        try_strptime(trim(s), '%d.%m.%Y %H:%M:%S'),
        try_strptime(trim(s), '%d.%m.%Y %H:%M'),
        try_strptime(trim(s), '%d.%m.%Y %H.%M'),
        try_strptime(trim(s), '%d.%m.%Y klo %H.%M'),
        try_strptime(trim(s), '%d.%m.%Y'),
        timezone(
            tz,
            coalesce(
                try_strptime(regexp_replace(trim(s), '[Zz]$', '+00:00'), '%Y-%m-%dT%H:%M:%S%z'),
                try_strptime(regexp_replace(trim(s), '[Zz]$', '+00:00'), '%Y-%m-%dT%H:%M:%S.%f%z'),
                try_strptime(regexp_replace(trim(s), '[Zz]$', '+00:00'), '%Y-%m-%d %H:%M:%S%z'),
                try_strptime(regexp_replace(trim(s), '[Zz]$', '+00:00'), '%Y-%m-%dT%H:%M%z')
            )
        )
    )
);

-- koban_ts_as(s, fmt, tz): koban_ts with a fast path: the one form a file was found to use (or NULL).
-- Trying 21 forms per value costs ~25 us; a file's form is detected once, the rest fall back.
CREATE OR REPLACE TEMP MACRO koban_ts_as(s, fmt, tz) AS (
    coalesce(CASE WHEN fmt IS NOT NULL THEN try_strptime(trim(s), fmt) END, koban_ts(s, tz))
);

-- koban_selected(theme, reported_at, area_code, themes, since, until, areas): whether a concern passes an
-- analytics filter. NULL means no restriction, except themes: NULL means every theme that is not sensitive
-- (sensitive themes are counted only when named). since is inclusive, until exclusive.
CREATE OR REPLACE TEMP MACRO koban_selected(theme, reported_at, area_code, themes, since, until, areas) AS (
    CASE WHEN themes IS NULL THEN theme NOT IN (SELECT code FROM themes WHERE sensitive)
         ELSE list_contains(themes, theme) END
    AND (since IS NULL OR reported_at >= since)
    AND (until IS NULL OR reported_at < until)
    AND (areas IS NULL OR list_contains(areas, area_code))
);
