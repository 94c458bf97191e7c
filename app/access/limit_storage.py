"""The in-process rate-limit counters: limits' memory storage without a thread per request.

``limits.storage.MemoryStorage`` removes expired counters in a
``threading.Timer`` that it starts again, 10 ms later, whenever the last one
has ended: under steady traffic that is a new thread for nearly every request,
and starting a thread (and handing it the GIL) was the largest single cost of
the limiter in the service's profile. Reads never depend on that clean-up (a
counter past its expiry reads as zero and restarts), so this storage does the
same clean-up in the request that finds it due, at most once per
``SWEEP_EVERY_S``. ``memory://`` in ``AUDITLOG_RATE_LIMIT_STORAGE`` selects it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from flask import Flask
from limits.storage import MemoryStorage, Storage, storage_from_string

SCHEME = "auditlog+memory"


class SweptMemoryStorage(MemoryStorage):
    """``memory://`` counters, swept of expired keys by the requests themselves."""

    STORAGE_SCHEME = [SCHEME]
    SWEEP_EVERY_S = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._sweep_lock = threading.Lock()
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY_S

    # Replaces MemoryStorage's private scheduler, which starts a Timer thread.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_EVERY_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()


def storage_uri(configured: str) -> str:
    """The storage URI for ``limits``: ``memory://`` becomes this module's storage."""
    if configured.split("://", 1)[0] == "memory":
        return f"{SCHEME}://"
    return configured


_EXTENSION = "auditlog.limit_storage"


def counters(app: Flask) -> Storage:
    """The app's one counter storage (``AUDITLOG_RATE_LIMIT_STORAGE``), made at first use:
    the rate limits and the failed-authentication throttle count in it together."""
    if _EXTENSION not in app.extensions:
        app.extensions[_EXTENSION] = storage_from_string(
            storage_uri(app.config["AUDITLOG_RATE_LIMIT_STORAGE"]))
    return cast(Storage, app.extensions[_EXTENSION])
