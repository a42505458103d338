"""Rate limiting of login attempts, per key (a browser session, a client address, the whole server).

The account lock-out (koban_geo.community.accounts) stops guessing one account's password; this stops one client
from trying many accounts, or many clients from trying at all, faster than `limit` failures per `window`.

    >>> t = Throttle(limit=2, window_s=60)
    >>> t.failed("s1", now=0.0); t.failed("s1", now=1.0)
    >>> t.blocked("s1", now=2.0), t.blocked("s1", now=61.5)
    (True, False)
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class Throttle:
    """Sliding-window count of failures per key; thread-safe (the server's sessions share one)."""

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a throttle needs a positive limit and window")
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def blocked(self, key: str, now: float | None = None) -> bool:
        """True while `key` has had `limit` failures within the window."""
        at = time.monotonic() if now is None else now
        with self._lock:
            return len(self._trim(key, at)) >= self.limit

    def failed(self, key: str, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._trim(key, at).append(at)

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        at = time.monotonic() if now is None else now
        with self._lock:
            events = self._trim(key, at)
            if len(events) < self.limit:
                return 0.0
            return max(0.0, events[len(events) - self.limit] + self.window_s - at)
