-- read_csv_text: every column of a UTF-8 CSV file as text, numbered by line (header = line 1).
-- Parameters: $path VARCHAR, $delim VARCHAR, $columns STRUCT (our own names c0..cN -> 'VARCHAR').
-- No sniffing: the dialect was detected by koban_geo.ingest.dialect, and strict mode makes a truncated quote
-- or a row with too many fields an error that names its line.
SELECT row_number() OVER () + 1 AS line, *
FROM read_csv(
    $path,
    header = true,
    delim = $delim,
    quote = '"',
    escape = '"',
    auto_detect = false,
    strict_mode = true,
    columns = $columns
)
