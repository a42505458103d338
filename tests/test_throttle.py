"""Login rate limiting: a sliding window per key, shared safely by the server's threads."""

from __future__ import annotations

import threading

import pytest

from koban_geo.community.throttle import Throttle


def test_blocks_after_the_limit_and_frees_after_the_window():
    t = Throttle(limit=3, window_s=60)
    for i in range(3):
        assert not t.blocked("a", now=float(i))
        t.failed("a", now=float(i))
    assert t.blocked("a", now=3.0)
    assert t.retry_after("a", now=3.0) == pytest.approx(57.0)
    assert not t.blocked("b", now=3.0)  # keys are independent
    assert not t.blocked("a", now=60.5)
    assert t.retry_after("a", now=60.5) == 0.0


def test_threads_do_not_lose_failures():
    t = Throttle(limit=10_000, window_s=3600)
    threads = [
        threading.Thread(target=lambda: [t.failed("k", now=1.0) for _ in range(200)]) for _ in range(20)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(t._events["k"]) == 4000


def test_rejects_a_meaningless_throttle():
    with pytest.raises(ValueError):
        Throttle(limit=0, window_s=10)
