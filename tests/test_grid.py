"""Binning concerns on the study grid: which cells exist, where concerns land, filters, units, slices, cache."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import h3
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from koban_geo.analysis import grid as grid_mod
from koban_geo.analysis.gistar import weights_queen
from koban_geo.analysis.grid import (
    Filter,
    bin_counts,
    bin_counts_by_slice,
    study_area_fingerprint,
    study_grid,
)
from koban_geo.ingest import ingest_file
from koban_geo.store.sql import meta_get, meta_set, query
from tests.helpers import HELSINKI_AREAS, fill_place_keys, write_areas, write_text
from tests.helpers import add_concerns as store_concerns

CRS = "EPSG:32635"  # UTM 35N, the CRS the Helsinki test areas give a store
T0 = datetime(2025, 6, 1, 12)

Row = tuple[int, int, str, datetime, str | None]  # (ix, iy) 100 m cell, theme, reported_at, group_id


def add_concerns(con, rows: Iterable[Row], *, source: str = "test") -> None:
    """Insert concerns snapped to the centre of 100 m cell (ix, iy) of the store's metric CRS, as ingest would."""
    rows = list(rows)
    if meta_get(con, "metric_crs") is None:
        meta_set(con, "metric_crs", CRS)
    start = con.execute("SELECT count(*) FROM concerns").fetchone()[0]
    store_concerns(
        con,
        [
            {"id": f"c{start + i}", "x": ix * 100 + 50, "y": iy * 100 + 50, "theme": theme, "reported_at": when,
             "group_id": group}
            for i, (ix, iy, theme, when, group) in enumerate(rows)
        ],
        source=source, crs=meta_get(con, "metric_crs"), snap=True,
    )  # fmt: skip
    query(con, "areas_assign")


def cell_at(lon: float, lat: float) -> tuple[int, int]:
    """The 100 m cell (ix, iy) holding a lon/lat point."""
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(lon, lat)
    return int(x // 100), int(y // 100)


def areas_union_lonlat() -> shapely.Geometry:
    return shapely.union_all([shapely.Polygon(ring) for _, ring in HELSINKI_AREAS.values()])


@pytest.fixture
def helsinki(con, settings, tmp_path):
    """A store with the two Helsinki test areas (Kamppi west of 24.94, Kluuvi east of it)."""
    ingest_file(con, settings, write_areas(tmp_path / "areas.geojson"), kind="areas")
    return con


def pos(grid, ix: int, iy: int) -> int:
    found = int(grid.positions_square(np.array([ix]), np.array([iy]))[0])
    assert found >= 0, f"cell {(ix, iy)} is not in the grid"
    return found


# --- which cells exist --------------------------------------------------------------------------------


def test_square_grid_is_every_cell_centred_in_the_areas_zeros_included(helsinki):
    grid = study_grid(helsinki, 100)
    assert (grid.kind, grid.size, grid.crs) == ("square", 100, CRS)
    # brute force: every candidate cell around the areas, centre tested against the areas in metres
    to_m = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    union_m = shapely.transform(
        areas_union_lonlat(), lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1]))
    )
    minx, miny, maxx, maxy = union_m.bounds
    expected = {
        (i, j)
        for i in range(int(minx // 100) - 2, int(maxx // 100) + 3)
        for j in range(int(miny // 100) - 2, int(maxy // 100) + 3)
        if union_m.covers(shapely.Point(i * 100 + 50, j * 100 + 50))
    }
    assert set(zip(grid.ix.tolist(), grid.iy.tolist(), strict=True)) == expected
    assert grid.n == len(expected) == pytest.approx(union_m.area / 100**2, rel=0.05)
    assert [tuple(c) for c in np.column_stack([grid.ix, grid.iy])] == sorted(expected)  # grid order
    inside = shapely.contains_xy(
        areas_union_lonlat().buffer(1e-4), grid.centroids_lonlat[:, 0], grid.centroids_lonlat[:, 1]
    )
    assert inside.all()
    counts = bin_counts(helsinki, grid)
    assert counts.shape == (grid.n,) and counts.dtype == np.int64 and not counts.any()


def test_square_cell_polygons_are_the_cells(helsinki):
    grid = study_grid(helsinki, 200)
    polys = grid.polygons()
    assert len(polys) == grid.n
    assert shapely.contains_xy(polys, grid.centroids_lonlat[:, 0], grid.centroids_lonlat[:, 1]).all()
    to_m = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    first = shapely.transform(polys[0], lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    assert first.area == pytest.approx(200 * 200, rel=1e-6)
    assert first.bounds[0] == pytest.approx(grid.ix[0] * 200, abs=1e-3)


def test_convex_hull_of_the_concerns_is_the_study_area_without_areas(con):
    ix0, iy0 = cell_at(24.93, 60.165)
    add_concerns(con, [(ix0, iy0, "noise", T0, None), (ix0 + 10, iy0, "noise", T0, None),
                       (ix0, iy0 + 10, "litter", T0, None)])  # fmt: skip
    grid = study_grid(con, 100)
    cells = set(zip((grid.ix - ix0).tolist(), (grid.iy - iy0).tolist(), strict=True))
    # the triangle's corners are cell centres: exactly the cells i, j >= 0 with i + j <= 10 (edges included)
    assert cells == {(i, j) for i in range(11) for j in range(11) if i + j <= 10}
    counts = bin_counts(con, grid, Filter(unit="reports"))
    assert counts.sum() == 3 and counts[pos(grid, ix0 + 10, iy0)] == 1
    assert study_area_fingerprint(con).startswith("hull:")


def test_h3_grid_is_every_hexagon_centred_in_the_areas(helsinki):
    grid = study_grid(helsinki, kind="h3", h3_res=10)
    assert (grid.kind, grid.size, grid.crs) == ("h3", 10, CRS)
    assert set(grid.h3.tolist()) == set(h3.geo_to_cells(areas_union_lonlat(), 10))
    assert list(grid.h3) == sorted(grid.h3)
    assert study_grid(helsinki, 100, kind="h3").size == 10  # the resolution closest to 100 m squares
    lon, lat = 24.9384, 60.1699
    ix, iy = cell_at(lon, lat)
    add_concerns(helsinki, [(ix, iy, "noise", T0, None)] * 2 + [(ix + 3, iy, "noise", T0, None)])
    snapped = helsinki.execute("SELECT DISTINCT ST_Y(geom), ST_X(geom) FROM concerns").fetchall()
    counts = bin_counts(helsinki, grid, Filter(unit="reports"))
    expected = np.zeros(grid.n, dtype=np.int64)
    for la, lo in snapped:
        n = helsinki.execute(
            "SELECT count(*) FROM concerns WHERE ST_Y(geom) = ? AND ST_X(geom) = ?", [la, lo]
        ).fetchone()[0]
        expected[grid.positions_h3(np.array([h3.latlng_to_cell(la, lo, 10)]))[0]] += n
    np.testing.assert_array_equal(counts, expected)
    polys = grid.polygons()
    assert shapely.contains_xy(polys, grid.centroids_lonlat[:, 0], grid.centroids_lonlat[:, 1]).all()


def test_empty_store_gives_an_empty_grid(con):
    grid = study_grid(con, 100)
    assert grid.n == 0 and study_area_fingerprint(con) == "empty"
    assert bin_counts(con, grid).shape == (0,)
    counts, slices = bin_counts_by_slice(con, grid)
    assert counts.shape == (0, 0) and slices == []


# --- where concerns land, filters and units -------------------------------------------------------------


def test_concerns_land_in_their_cells_and_outside_ones_are_not_counted(helsinki):
    grid = study_grid(helsinki, 100)
    west, east, outside = cell_at(24.930, 60.168), cell_at(24.950, 60.168), cell_at(24.975, 60.168)
    add_concerns(helsinki, [(*west, "noise", T0, None)] * 3 + [(*east, "noise", T0, None)]
                 + [(*outside, "noise", T0, None)] * 2)  # fmt: skip
    counts = bin_counts(helsinki, grid, Filter(unit="reports"))
    assert counts[pos(grid, *west)] == 3 and counts[pos(grid, *east)] == 1
    assert counts.sum() == 4 and np.count_nonzero(counts) == 2
    assert int(grid.positions_square(np.array([outside[0]]), np.array([outside[1]]))[0]) == -1


def test_filters_by_theme_time_and_area(helsinki):
    grid = study_grid(helsinki, 100)
    w, e = cell_at(24.930, 60.168), cell_at(24.950, 60.168)
    add_concerns(helsinki, [
        (*w, "noise", datetime(2025, 5, 31, 23), None),
        (*w, "noise", datetime(2025, 6, 1, 0), None),
        (*w, "drugs", datetime(2025, 6, 15, 8), None),
        (*e, "noise", datetime(2025, 6, 30, 23), None),
        (*e, "litter", datetime(2025, 7, 1, 0), None),
    ])  # fmt: skip
    pw, pe = pos(grid, *w), pos(grid, *e)

    def at(flt: Filter) -> tuple[int, int]:
        counts = bin_counts(helsinki, grid, flt)
        assert counts.sum() == counts[pw] + counts[pe]
        return int(counts[pw]), int(counts[pe])

    assert at(Filter(unit="reports")) == (3, 2)
    assert at(Filter(themes=("noise",), unit="reports")) == (2, 1)
    assert at(Filter(themes=("drugs", "litter"), unit="reports")) == (1, 1)
    assert at(Filter(themes=(), unit="reports")) == (0, 0)
    june = Filter(
        since=datetime(2025, 6, 1), until=datetime(2025, 7, 1), unit="reports"
    )  # until is exclusive
    assert at(june) == (2, 1)
    assert at(Filter(areas=("HEL-E",), unit="reports")) == (0, 2)
    assert at(Filter(themes=["noise"], areas=["HEL-W"], since=datetime(2025, 6, 1), unit="reports")) == (1, 0)


def test_groups_unit_counts_distinct_groups(helsinki, settings, tmp_path):
    # ingest groups same-theme reports at one snapped place within three days (koban_geo.privacy.grouping)
    csv = (
        "id,reported_at,lat,lon,theme,text\n"
        "r1,2025-06-01 10:00,60.1699,24.9384,noise,loud\n"
        "r2,2025-06-01 23:00,60.1699,24.9384,noise,loud again\n"
        "r3,2025-06-02 09:00,60.1699,24.9384,noise,still loud\n"
        "r4,2025-06-02 09:00,60.1699,24.9384,litter,bins\n"
        "r5,2025-06-20 09:00,60.1699,24.9384,noise,loud a fortnight later\n"
        "r6,2025-06-01 10:00,60.1655,24.9512,noise,elsewhere\n"
    )
    result = ingest_file(
        helsinki, settings, write_text(tmp_path / "c.csv", csv), kind="concerns", source="app"
    )
    assert result.accepted == 6
    grid = study_grid(helsinki, 100)
    a, b = pos(grid, *cell_at(24.9384, 60.1699)), pos(grid, *cell_at(24.9512, 60.1655))
    reports = bin_counts(helsinki, grid, Filter(unit="reports"))
    groups = bin_counts(helsinki, grid, Filter(unit="groups"))
    assert (reports[a], reports[b]) == (5, 1)
    assert (groups[a], groups[b]) == (3, 1)  # noise r1-r3, litter r4, noise r5
    assert bin_counts(helsinki, grid).tolist() == groups.tolist()  # groups is the default unit
    # concerns without a group id count one each
    helsinki.execute("UPDATE concerns SET group_id = NULL WHERE id IN ('r2', 'r3')")
    fill_place_keys(helsinki)
    assert bin_counts(helsinki, grid, Filter(unit="groups"))[a] == 5


def test_filter_is_hashable_and_checked():
    assert Filter(themes=["noise", "asb"]) == Filter(themes=("noise", "asb"))
    assert hash(Filter(areas=["A"])) == hash(Filter(areas=("A",)))
    assert Filter(themes="noise").themes == ("noise",)
    with pytest.raises(ValueError, match="unit"):
        Filter(unit="people")  # type: ignore[arg-type]


# --- time slices --------------------------------------------------------------------------------------


def test_monthly_slices_run_without_gaps(helsinki):
    grid = study_grid(helsinki, 100)
    w, e = cell_at(24.930, 60.168), cell_at(24.950, 60.168)
    add_concerns(helsinki, [
        (*w, "noise", datetime(2025, 3, 5, 10), None),
        (*w, "noise", datetime(2025, 3, 31, 23), None),
        (*e, "noise", datetime(2025, 6, 1, 0), None),
    ])  # fmt: skip
    counts, slices = bin_counts_by_slice(helsinki, grid, Filter(unit="reports"), "month")
    assert slices == [date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)]
    assert counts.shape == (grid.n, 4)
    assert counts[pos(grid, *w)].tolist() == [2, 0, 0, 0]
    assert counts[pos(grid, *e)].tolist() == [0, 0, 0, 1]
    assert counts.sum() == 3
    window = Filter(since=datetime(2025, 2, 10), until=datetime(2025, 5, 1), unit="reports")
    counts, slices = bin_counts_by_slice(helsinki, grid, window, "month")
    assert slices == [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]
    assert counts.sum(axis=0).tolist() == [0, 2, 0]
    counts, slices = bin_counts_by_slice(helsinki, grid, Filter(unit="reports"), "week")
    assert slices[0] == date(2025, 3, 3) and all(d.weekday() == 0 for d in slices)  # ISO weeks start Monday
    assert len(slices) == 13 and slices[-1] == date(2025, 5, 26) and counts.sum() == 3
    assert np.array_equal(counts.sum(axis=1), bin_counts(helsinki, grid, Filter(unit="reports")))


def test_h3_slices_match_h3_counts(helsinki):
    grid = study_grid(helsinki, kind="h3", h3_res=9)
    w = cell_at(24.930, 60.168)
    add_concerns(
        helsinki,
        [(*w, "noise", datetime(2025, 1, 1), None), (w[0] + 1, w[1], "noise", datetime(2025, 2, 1), None)],
    )
    counts, slices = bin_counts_by_slice(helsinki, grid, Filter(unit="reports"))
    assert slices == [date(2025, 1, 1), date(2025, 2, 1)]
    assert np.array_equal(counts.sum(axis=1), bin_counts(helsinki, grid, Filter(unit="reports")))
    assert counts.sum() == 2


# --- the cache ----------------------------------------------------------------------------------------


def test_study_grid_is_cached_until_the_areas_change(helsinki, settings, tmp_path, monkeypatch):
    grid_mod.clear_cache()
    grid = study_grid(helsinki, 100)
    before = study_area_fingerprint(helsinki)

    def no_rebuild(*args: object) -> None:
        raise AssertionError("the cached grid was rebuilt")

    with monkeypatch.context() as patch:
        patch.setattr(grid_mod, "_build", no_rebuild)
        again = study_grid(helsinki, 100)
        assert again is grid
        assert weights_queen(again) is weights_queen(grid)  # weights are cached per grid
        with pytest.raises(AssertionError, match="rebuilt"):
            study_grid(helsinki, 200)  # another cell size is another grid
    # a new batch of areas: Kluuvi reaches further east
    bigger = dict(HELSINKI_AREAS)
    bigger["HEL-E"] = (
        "Kluuvi",
        [(24.94, 60.16), (24.97, 60.16), (24.97, 60.175), (24.94, 60.175), (24.94, 60.16)],
    )
    ingest_file(helsinki, settings, write_areas(tmp_path / "areas2.geojson", bigger), kind="areas")
    assert study_area_fingerprint(helsinki) != before
    regrown = study_grid(helsinki, 100)
    assert regrown is not grid and regrown.n > grid.n
    assert regrown.key != grid.key


def test_hull_fingerprint_tells_stores_and_batches_apart(con, mem):
    ix0, iy0 = cell_at(24.93, 60.165)
    add_concerns(con, [(ix0, iy0, "noise", T0, None), (ix0 + 4, iy0 + 4, "noise", T0, None)])
    add_concerns(mem, [(ix0, iy0, "noise", T0, None), (ix0 + 6, iy0 + 6, "noise", T0, None)])  # same ids
    assert study_area_fingerprint(con) != study_area_fingerprint(mem)
    assert study_grid(con, 100).n != study_grid(mem, 100).n
    before = study_area_fingerprint(con)
    add_concerns(con, [(ix0 + 8, iy0, "noise", T0, None)])
    assert study_area_fingerprint(con) != before
    assert study_grid(con, 100).positions_square(np.array([ix0 + 8]), np.array([iy0]))[0] >= 0


# --- square study grids kept in the store (read without the spatial extension) -------------------------


def _spatial_loaded(con) -> bool:
    row = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'").fetchone()
    return bool(row and row[0])


def test_square_grid_is_kept_in_the_store_and_read_without_spatial(helsinki, settings, tmp_path, monkeypatch):
    from koban_geo.store.db import connect

    grid_mod.clear_cache()
    ix0, iy0 = cell_at(24.93, 60.165)
    add_concerns(helsinki, [(ix0, iy0, "noise", T0, None), (ix0 + 1, iy0, "noise", T0, "g")])
    built = study_grid(helsinki, 100)
    counts = bin_counts(helsinki, built)
    helsinki.close()
    grid_mod.clear_cache()  # a new process

    def no_rebuild(*args: object) -> None:
        raise AssertionError("the kept grid was rebuilt")

    con = connect(settings.db, spatial=False)
    try:
        assert not _spatial_loaded(con)
        with monkeypatch.context() as patch:
            patch.setattr(grid_mod, "_build", no_rebuild)
            kept = study_grid(con, 100)
        assert kept.n == built.n > 0 and kept.crs == built.crs == CRS
        assert np.array_equal(kept.ix, built.ix) and np.array_equal(kept.iy, built.iy)
        assert np.array_equal(bin_counts(con, kept), counts) and counts.sum() == 2
        assert not _spatial_loaded(con)  # the whole Gi* path: no geometry function
        other = study_grid(con, 200)  # not kept yet: built, which loads spatial on the way
        assert _spatial_loaded(con) and other.n < kept.n
    finally:
        con.close()

    # the areas change: the kept grids are not used, and writing the new one drops them
    grid_mod.clear_cache()
    con = connect(settings.db)
    try:
        north = {"HEL-N": ("Kallio", [(24.945, 60.180), (24.955, 60.180), (24.955, 60.185), (24.945, 60.185),
                                      (24.945, 60.180)])}  # fmt: skip
        ingest_file(con, settings, write_areas(tmp_path / "north.geojson", north), kind="areas")
        fresh = study_grid(con, 100)
        assert fresh.n > built.n
        fingerprints = con.execute("SELECT DISTINCT fingerprint FROM study_grids").fetchall()
        assert fingerprints == [(study_area_fingerprint(con),)]
    finally:
        con.close()


def test_a_read_only_store_builds_its_grid_without_keeping_it(helsinki, settings):
    from koban_geo.store.db import connect

    grid_mod.clear_cache()
    helsinki.close()
    con = connect(settings.db, read_only=True, spatial=False)
    try:
        assert study_grid(con, 100).n > 0  # built (spatial loaded for it), the write refused quietly
        assert con.execute("SELECT count(*) FROM study_grids").fetchone() == (0,)
    finally:
        con.close()
