-- Macros that need the spatial extension, created as TEMP macros on every connection that has it loaded
-- (koban_geo.store.db.register_macros; a connection opened without spatial, e.g. for the analyst's Gi*, skips
-- them, since DuckDB checks a macro's functions when it is created).

-- koban_snap(m, cell, crs): centre of the `cell`-metre grid square holding the metric point m (in crs),
-- returned in EPSG:4326 and rounded to 6 decimals. The grid is aligned to the CRS origin, so every batch
-- of a store snaps to the same squares.
CREATE OR REPLACE TEMP MACRO koban_snap(m, cell, crs) AS (
    ST_Transform(
        ST_Point(floor(ST_X(m) / cell) * cell + cell / 2, floor(ST_Y(m) / cell) * cell + cell / 2),
        crs, 'EPSG:4326', always_xy := true
    )
);
CREATE OR REPLACE TEMP MACRO koban_round6(g) AS (ST_Point(round(ST_X(g), 6), round(ST_Y(g), 6)));
