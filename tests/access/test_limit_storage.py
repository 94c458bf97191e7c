"""The in-process rate-limit storage: limits' counters, no thread per request, swept."""

from __future__ import annotations

import threading
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from app.access.limit_storage import SweptMemoryStorage, storage_uri


def _threads_started_during(action) -> set[int]:
    before = {thread.ident for thread in threading.enumerate()}
    seen: set[int] = set()
    for _ in range(30):
        action()
        seen |= {thread.ident for thread in threading.enumerate()}
        time.sleep(0.015)  # longer than MemoryStorage's 10 ms timer
    return seen - before


def test_memory_uri_selects_the_swept_storage_and_others_pass_through() -> None:
    assert isinstance(storage_from_string(storage_uri("memory://")), SweptMemoryStorage)
    assert storage_uri("redis://cache:6379/0") == "redis://cache:6379/0"


def test_hits_start_no_thread_where_the_library_storage_starts_them() -> None:
    ours = SweptMemoryStorage()
    theirs = MemoryStorage()
    assert _threads_started_during(lambda: ours.incr("k", 60)) == set()
    assert _threads_started_during(lambda: theirs.incr("k", 60)) != set()  # the cost removed


def test_limits_hold_in_both_strategies() -> None:
    storage = SweptMemoryStorage()
    three = RateLimitItemPerSecond(3)
    for limiter in (FixedWindowRateLimiter(storage), MovingWindowRateLimiter(storage)):
        assert [limiter.hit(three, "key-a") for _ in range(4)] == [True, True, True, False]
        assert limiter.hit(three, "key-b")  # another key has its own budget


def test_expired_counters_and_entries_are_swept_by_a_later_request() -> None:
    storage = SweptMemoryStorage()
    storage.SWEEP_EVERY_S = 0.05
    storage.incr("old-counter", 0.01)
    storage.acquire_entry("old-window", 5, 0.01)  # type: ignore[arg-type]
    time.sleep(0.1)  # both expired, and a sweep is due
    storage.incr("new-counter", 60)  # the request that sweeps
    assert "old-counter" not in storage.storage
    assert not storage.events.get("old-window")
    assert storage.get("new-counter") == 1
