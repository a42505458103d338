"""State that lives as long as the server process and that no client message can reach.

Streamlit lets any browser session send "clear cache", which empties every `st.cache_data` and
`st.cache_resource`; a login throttle or a signing key kept there could be reset by an anonymous visitor. What
must hold for the whole process is kept here instead, in plain module state behind a lock: the store
connection, the settings, the key that signs session cookies and the login throttles. The HTTP routes (`web`)
and the Streamlit pages (`ui`) both ask this module, so they share one connection and one set of throttles.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from koban_geo.community.throttle import Throttle
from koban_geo.store.settings import Settings, get_settings

__all__ = ["LoginThrottles", "connection", "reset_for_tests", "session_key", "settings", "throttles"]

_lock = threading.Lock()
_settings: dict[str | None, Settings] = {}
_connections: dict[str, duckdb.DuckDBPyConnection] = {}
_random_key = secrets.token_bytes(32)  # used when KOBAN_SESSION_SECRET is unset: a restart ends every login


@dataclass
class LoginThrottles:
    """Failed logins per browser (its form cookie), per client address and for the whole server."""

    browser: Throttle = field(default_factory=lambda: Throttle(limit=5, window_s=60))
    client: Throttle = field(default_factory=lambda: Throttle(limit=20, window_s=300))
    server: Throttle = field(default_factory=lambda: Throttle(limit=100, window_s=60))

    def blocked(self, browser: str, client: str) -> bool:
        return self.browser.blocked(browser) or self.client.blocked(client) or self.server.blocked("all")

    def failed(self, browser: str, client: str) -> None:
        self.browser.failed(browser)
        self.client.failed(client)
        self.server.failed("all")


_throttles = LoginThrottles()


def settings() -> Settings:
    """The typed settings for the store named by KOBAN_DB (read once per store path)."""
    db = os.environ.get("KOBAN_DB")
    with _lock:
        if db not in _settings:
            _settings[db] = get_settings(db=db)
        return _settings[db]


def connection(db: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The process's one read-write connection to the store (opened at first use; StoreError if missing)."""
    from koban_geo.store.db import StoreError, connect

    path = Path(db) if db is not None else settings().db
    known = _connections.get(str(path))  # the path as given: no file-system look-up per phone request
    if known is not None:
        return known
    key = str(path.resolve())
    with _lock:
        con = _connections.get(key)
        if con is None:
            if not path.exists():
                raise StoreError(f"No KOBAN store at {path}: run `koban-geo init` or `koban-geo demo` first.")
            con = _connections[key] = connect(path)
        _connections[str(path)] = con
        return con


def close_connection(db: Path) -> None:
    """Close and forget the connection to store `db` (a server's shutdown, or a test that opened one)."""
    with _lock:
        con = _connections.pop(str(Path(db).resolve()), None)
        for name in [name for name, known in _connections.items() if known is con]:
            del _connections[name]
    if con is not None:
        con.close()


def session_key() -> bytes:
    """The key that signs session cookies: KOBAN_SESSION_SECRET, else this process's random key."""
    secret = settings().session_secret
    return secret.get_secret_value().encode("utf-8") if secret is not None else _random_key


def throttles() -> LoginThrottles:
    return _throttles


def reset_for_tests() -> None:
    """Forget throttles and settings (tests only: a real server never resets them)."""
    global _throttles
    with _lock:
        _throttles = LoginThrottles()
        _settings.clear()
