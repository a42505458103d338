-- ts_formats: the naive timestamp forms of koban_ts, in the order they are tried. No parameters.
SELECT unnest(koban_ts_formats()) AS fmt;
