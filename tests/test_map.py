"""The dashboard's folium maps (dashboard/ui/map.py) built from the real demo store: local assets only,
no points or free text on the public map, never more than MAX_MARKERS markers, every data string escaped,
and streets drawn when there are no tiles. The browser side is tests/test_map_offline_browser.py."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from koban_geo.analysis.areas import CrimeLocations
from koban_geo.privacy.audience import PrivacyError
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from ui import assets
from ui import map as maps

OPEN_LAYERS = ("licensed_premises", "streetlights")
ALL_LAYERS = maps.allowed_layers("officer", OPEN_LAYERS)
CDN_HOSTS = ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "d3js.org", "netdna.bootstrapcdn.com",
             "unpkg.com", "maxcdn.bootstrapcdn.com")  # fmt: skip
EXTERNAL = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)", re.IGNORECASE)
PAYLOAD_SCRIPT = "<script>alert('area')</script>"
PAYLOAD_IMG = '<img src=x onerror="alert(1)">'
PAYLOAD_JINJA = "{{ 'pwn' ~ 'ed' }}"  # folium renders element output again as a Jinja template


@pytest.fixture(scope="module")
def vendored() -> None:
    if not assets.available():
        pytest.fail("the map assets are missing: run `make assets` (python tools/vendor_assets.py)")


@pytest.fixture(scope="module")
def demo(demo_db):
    con = connect(demo_db, read_only=True)
    yield con, Settings(db=demo_db, tiles_url="")
    con.close()


@pytest.fixture(scope="module")
def officer_html(demo, vendored):
    con, settings = demo
    m = maps.officer_map(con, settings, None, "officer", ALL_LAYERS, "en")
    return m, m.get_root().render()


@pytest.fixture
def with_streets(demo_db, tmp_path):
    """A copy of the demo store (the demo loads its streets as the open-data layer 'streets'), no tiles."""
    db = tmp_path / "streets.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db, tiles_url="")
    con = connect(db)
    assert con.execute("SELECT count(*) FROM layers WHERE layer = 'streets'").fetchone()[0] > 50
    yield con, settings
    con.close()


def js_strings(page: str) -> str:
    """The page with the JSON escapes Jinja's tojson writes turned back: what the browser's strings hold."""
    for code, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'"), ('\\"', '"')):
        page = page.replace(code, char)
    return page


def point_features(page: str) -> int:
    return len(re.findall(r'"type": "Point"', page))


# ---- no CDN ------------------------------------------------------------------------------------------------


def test_every_script_and_stylesheet_of_the_maps_is_vendored(demo, officer_html, vendored):
    con, settings = demo
    _m, officer = officer_html
    public = maps.public_map(con, settings, None, "en").get_root().render()
    manifest = assets.manifest()
    assert manifest is not None
    for page in (officer, public):
        urls = EXTERNAL.findall(page)
        assert urls, "folium links its scripts in the header"
        assert [u for u in urls if u not in manifest["assets"]] == []
        local, unknown = assets.map_links(urls)
        assert unknown == [] and all(u.startswith("/app/static/vendor/") for u in local)
        for url in local:
            assert (assets.VENDOR / url.removeprefix("/app/static/vendor/")).is_file()


def test_standalone_page_has_everything_inlined(officer_html, vendored):
    m, _page = officer_html
    page = maps.standalone_html(m, title="Neighbourhood <map>")
    assert EXTERNAL.findall(page) == []
    assert not [host for host in CDN_HOSTS if host in page]
    assert "<title>Neighbourhood &lt;map&gt;</title>" in page
    assert 'L.Icon.Default.imagePath = ""' in page and "data:image/png;base64," in page
    assert len(page) < 3_000_000


def test_render_hands_streamlit_folium_only_local_links(monkeypatch, demo, vendored):
    import branca.colormap
    import streamlit_folium

    calls = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: calls.append(kw) or None)
    con, settings = demo
    m = maps.officer_map(con, settings, None, "officer", ["areas", "kde", "open:streetlights"], "en")
    branca.colormap.LinearColormap(["white", "red"], vmin=0, vmax=1).add_to(m)  # makes st_folium add d3 links
    maps.render(m, key="test-map", height=500)
    (call,) = calls
    links = call["js_links"] + call["css_links"]
    assert any("d3/4.13.0" in u for u in call["js_links"]) and any("d3/3.5.5" in u for u in call["js_links"])
    assert any("leaflet.markercluster" in u for u in links) and any("leaflet_heat" in u for u in links)
    own = [u for u in links if u.startswith("/app/static/koban/")]  # our map.js and map.css (committed)
    assert own and all((assets.OWN / u.removeprefix("/app/static/koban/")).is_file() for u in own)
    links = [u for u in links if u not in own]
    assert all(u.startswith("/app/static/vendor/") for u in links), links
    assert all((assets.VENDOR / u.removeprefix("/app/static/vendor/")).is_file() for u in links)
    assert call["returned_objects"] == ["last_object_clicked", "last_active_drawing"]
    assert "/app/static/vendor/leaflet/1.9.3/images/" in call["script"]


def test_render_without_assets_says_run_make_assets(monkeypatch, tmp_path, demo):
    import streamlit as st

    shown = []
    monkeypatch.setattr(assets, "VENDOR", tmp_path / "nothing")
    monkeypatch.setattr(st, "error", lambda text, **kw: shown.append(text))
    monkeypatch.setattr("ui.i18n.current_lang", lambda: "en")
    con, settings = demo
    assert maps.render(maps.public_map(con, settings, None, "en"), key="x") is None
    assert shown and "make assets" in shown[0]


# ---- what each tier's map holds ------------------------------------------------------------------------------


def test_public_map_has_no_points_and_no_free_text(demo, vendored):
    con, settings = demo
    m = maps.public_map(con, settings, None, "en")
    page = m.get_root().render()
    for js in ("L.marker(", "circleMarker", "L.heatLayer", "markerClusterGroup", "L.tileLayer"):
        assert js not in page
    assert point_features(page) == 0
    descriptions = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT description FROM concerns WHERE length(description) > 25 ORDER BY 1 LIMIT 300"
        ).fetchall()
    ]
    assert descriptions
    text = js_strings(page)
    assert not [d for d in descriptions if d in text or maps.esc(d) in text]
    # counts only on the areas: a few cell counts beside an area's total could be subtracted from it
    shown_areas = [p for _g, p in maps.map_data(con, settings, None, "public", ["areas"]).layers["areas"]]
    # the tooltips' strings are interned (two areas of 812 reports share one "Reports: 812"): compare the sets
    shown_counts = {int(n.replace(",", "")) for n in re.findall(r"Reports: ([\d,]+)", text)}
    assert shown_counts == {p["count"] for p in shown_areas if p["count"] is not None}
    groups = [c for c in m._children.values() if type(c).__name__ == "FeatureGroup" and c.control]  # listed
    data_groups = [
        g.layer_name for g in groups if g.layer_name != maps.esc("Streets")
    ]  # streets: the base map
    assert sorted(data_groups) == sorted([maps.esc("Reports per area"), maps.esc("Hot and cold spots (Gi*)")])


@pytest.mark.parametrize("audience", ["public", "council"])
@pytest.mark.parametrize("layer", ["kde", "crime", "open:streetlights"])
def test_public_tiers_cannot_have_point_or_density_layers(demo, audience, layer):
    con, settings = demo
    assert layer not in maps.allowed_layers(audience, OPEN_LAYERS)
    with pytest.raises(PrivacyError):
        maps.map_data(con, settings, None, audience, ["areas", layer])


def test_markers_never_exceed_the_limit(officer_html):
    m, page = officer_html
    assert 0 < point_features(page) <= maps.MAX_MARKERS  # recorded crime: one circle per published point
    import folium

    def walk(element):
        yield element
        for child in element._children.values():
            yield from walk(child)

    assert not [e for e in walk(m) if isinstance(e, (folium.Marker, folium.CircleMarker, folium.Circle))]


@pytest.mark.parametrize("n", [maps.MAX_MARKERS, maps.MAX_MARKERS + 1, 20_000])
def test_crime_above_the_limit_becomes_a_heat_layer(n, vendored):
    import folium

    rng = np.random.default_rng(1)
    crime = CrimeLocations(
        lon=24.93 + rng.random(n) * 0.02,
        lat=60.16 + rng.random(n) * 0.02,
        count=rng.integers(1, 30, n),
        crime_types=[[("Shoplifting", 1)]] * n,
    )
    m = folium.Map(tiles=None)
    group = maps.add_crime(m, crime, "en")
    kinds = [type(c).__name__ for c in group._children.values()]
    page = m.get_root().render()
    if n <= maps.MAX_MARKERS:
        assert kinds == ["GeoJson"] and point_features(page) == n
    else:
        assert kinds == ["HeatMap"] and point_features(page) == 0 and "L.heatLayer" in page


# ---- escaping --------------------------------------------------------------------------------------------------


def test_every_string_from_data_is_escaped(vendored):
    import folium

    square = shapely.box(24.93, 60.16, 24.94, 60.17)
    areas = [(square, {"area_code": "X1", "name": PAYLOAD_SCRIPT + PAYLOAD_JINJA, "count": 12,
                       "suppressed": False, "top_themes": [{"theme": PAYLOAD_IMG, "count": 7}]})]  # fmt: skip
    clusters = [(square, {"id": 1, "count": 30, "themes": f"{PAYLOAD_IMG} 50 %, noise 50 %",
                          "first_reported": "2025-01-01", "last_reported": "2025-02-01"})]  # fmt: skip
    crime = CrimeLocations(np.array([24.935]), np.array([60.165]), np.array([3]), [[(PAYLOAD_IMG + PAYLOAD_JINJA, 3)]])  # fmt: skip
    m = folium.Map(tiles=None)
    maps.add_areas(m, areas, "en")
    maps.add_clusters(m, clusters, "en")
    maps.add_crime(m, crime, "en")
    maps.add_points(
        m, PAYLOAD_SCRIPT, (np.array([24.935]), np.array([60.165]), [PAYLOAD_IMG]), "#1b9e77", "en"
    )
    folium.LayerControl().add_to(m)
    page = js_strings(m.get_root().render())
    assert "pwned" not in page  # a Jinja expression in data is never evaluated on the server
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;area&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "&#123;&#123; &#x27;pwn&#x27; ~ &#x27;ed&#x27; &#125;&#125;" in page


def test_esc_covers_html_and_template_syntax():
    assert maps.esc('<b a="1">{% x %}</b>') == "&lt;b a=&quot;1&quot;&gt;&#123;% x %&#125;&lt;/b&gt;"
    assert maps.esc(None) == ""


# ---- base map ----------------------------------------------------------------------------------------------


def test_no_tiles_draws_the_streets(with_streets, vendored):
    con, settings = with_streets
    assert settings.tiles_url is None
    n_streets = con.execute("SELECT count(*) FROM layers WHERE layer = 'streets'").fetchone()[0]
    m = maps.officer_map(con, settings, None, "officer", ["areas"], "en")
    page = m.get_root().render()
    assert "L.tileLayer" not in page
    lines = len(re.findall(r'"type": "(?:Multi)?LineString"', page))
    assert lines == n_streets
    assert f'"color": "{maps.STREET_COLOUR}"' in page
    assert '"maxZoom": 19' in page  # without tiles folium sets none, and MarkerCluster then breaks


def test_tiles_from_settings(demo, vendored):
    con, _settings = demo
    settings = Settings(db=Path("x.duckdb"), tiles_url="/tiles/{z}/{x}/{y}.png",
                        tiles_attribution="Local tiles")  # fmt: skip
    m = maps.public_map(con, settings, None, "en")
    page = m.get_root().render()
    assert "L.tileLayer" in page and '"/tiles/{z}/{x}/{y}.png"' in page and "Local tiles" in page
    assert '"maxZoom": 19' in page
    assert 'L.Icon.Default.imagePath = "/app/static/vendor/leaflet/1.9.3/images/"' in page
    assert (assets.VENDOR / "leaflet/1.9.3/images/marker-icon.png").is_file()


def test_class_breaks_are_increasing_and_cover_the_largest():
    counts = [1, 2, 3, 10, 20, 40, 80, 200]
    breaks = maps.class_breaks(counts)
    assert breaks == sorted(set(breaks)) and breaks[-1] == 200 and len(breaks) <= len(maps.AREA_COLOURS)
    assert maps.class_breaks([0, 0]) == []


def test_vendor_manifest_covers_every_link_of_the_features_we_use(vendored, monkeypatch):
    """If folium, branca or streamlit-folium change a CDN link, this fails before a map goes blank."""
    import importlib.util
    import inspect

    import folium
    import streamlit_folium
    from folium.plugins import FastMarkerCluster, HeatMap, MarkerCluster

    urls = {url for kind in (folium.Map, MarkerCluster, FastMarkerCluster, HeatMap)
            for _name, url in [*kind.default_js, *kind.default_css]}  # fmt: skip
    urls |= set(re.findall(r"\"(https://[^\"]+\.js)\"", inspect.getsource(streamlit_folium.st_folium)))
    assert any("d3" in u for u in urls)
    manifest = assets.manifest()
    assert manifest is not None
    assert sorted(urls - set(manifest["assets"])) == []
    spec = importlib.util.spec_from_file_location("vendor_assets", Path("tools/vendor_assets.py").resolve())
    vendor_assets = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "vendor_assets", vendor_assets)  # its dataclasses look themselves up
    spec.loader.exec_module(vendor_assets)  # type: ignore[union-attr]
    assert vendor_assets.up_to_date(assets.VENDOR)  # every file there and matching its sha256


def test_the_emerging_layer_finds_the_planted_pattern_with_the_default_filter(demo):
    """The default filter (last 12 months) runs to today, past the demo's last report (2026-10-31): the
    emerging layer ends its slices at the last complete month with data, so the planted emerging noise/asb
    pattern at Vanha kirkkopuisto (HEL-119, from 2026-06) shows, and the legend says which months it covers.
    'Today' is fixed at the day this was found, so the window keeps holding the demo's data."""
    from datetime import date

    from koban_geo.analysis.grid import Filter
    from ui.filters import window

    con, settings = demo
    since, until = window("12m", date(2026, 11, 24))
    flt = Filter(since=since, until=until, unit=settings.count_unit)
    for audience in ("officer", "public"):
        data = maps.map_data(con, settings, flt, audience, ["areas", "emerging"])
        rows = data.layers["emerging"]
        assert rows and all(p["category"] in maps.EMERGING_COLOURS for _g, p in rows)
        meta = data.meta["emerging"]
        assert meta["slices"][-1] == "2026-10-01" and meta["slices_end"] == "2026-11-01"
        park = next(g for g, p in data.layers["areas"] if p["area_code"] == "HEL-119")
        assert any(g.intersects(park) for g, _p in rows)
        html = maps.build_map(data, settings, "en").get_root().render()
        assert "Month: 2025-11 \\u2013 2026-10" in html


def test_the_map_holds_only_the_cells_it_draws(demo):
    """map_data asks for the significant Gi* cells only: the same cells, with the same properties, that the
    full output has with gi_bin != 0 (public: counts suppressed over every cell, as in exports)."""
    from koban_geo.analysis.hotspots import hotspots

    con, settings = demo
    for audience in ("officer", "public"):
        data = maps.map_data(con, settings, None, audience, ["gistar"])
        full, _ = hotspots(con, settings, method="gistar", audience=audience)
        assert {g.wkb: p for g, p in data.layers["gistar"]} == {g.wkb: p for g, p in full if p["gi_bin"]}
