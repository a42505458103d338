"""The staff's default maps computed in a background thread once per server process, into the cache the
pages read (ui.map.cache): the first officer after a start then waits for a cached map, not for the grid,
the weights and a scan of the store (on 1,000,000 concerns about 2.5 s of a fresh server's first map)."""

from __future__ import annotations

import logging
import threading

from koban_geo.analysis.grid import Filter
from koban_geo.outputs.maplayers import DEFAULT_LAYERS
from koban_geo.privacy.audience import Audience
from ui.map.cache import _CACHED, LOCK, _cached_data_fn

log = logging.getLogger(__name__)

WARM_TIERS = (Audience.OFFICER, Audience.ANALYST, Audience.COUNCIL)  # the staff tiers' own default maps


def warm_default_maps() -> threading.Thread | None:
    """Compute the default maps (last 12 months, every non-sensitive theme, areas and Gi* cells, for each
    staff tier) in a background thread, once per process. Returns the thread (None when it was started
    before). A failure is logged; the pages then compute the map as they would anyway."""
    with LOCK:
        if "warm" in _CACHED:
            return None
        thread = threading.Thread(target=_warm, name="koban-warm-maps", daemon=True)
        _CACHED["warm"] = thread
    thread.start()
    return thread


def _warm() -> None:
    from datetime import date

    from ui import store
    from ui.filters import window

    try:
        if store.site() is None:  # several sites and none configured: each session's site is warmed on demand
            return
        settings = store.settings()
        since, until = window("12m", date.today())
        flt = Filter(since=since, until=until, unit=settings.count_unit)
        version = store.data_version()
        for tier in WARM_TIERS:
            _cached_data_fn()(version, flt, str(tier), tuple(sorted(DEFAULT_LAYERS)))
    except Exception:  # noqa: BLE001 - a warm-up must never take the server down
        log.exception("warming the default maps failed; pages will compute them on demand")
