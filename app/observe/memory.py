"""Give the memory a worker freed back to the system, every few seconds.

A worker's Python objects come and go by the megabyte (a page of hits, an export's
read-ahead, an ingest batch), from several threads. glibc keeps what they free in
its per-thread arenas for reuse instead of returning it, so a worker's RSS climbs to
the high-water mark of everything its threads ever held at once and stays there,
although the live objects stay level. ``malloc_trim(0)`` hands the free pages of
every arena back; a daemon thread calls it every ``AUDITLOG_MALLOC_TRIM_S`` seconds.
It cannot shrink Python's own small-object arenas, which one surviving object keeps
whole: after a burst of exports a worker came back from 350 to about 320 MB with it
and stayed near 360 MB without it (README, Reliability). Where the C library has no
``malloc_trim`` (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def available() -> bool:
    """Whether this C library can give freed memory back (glibc)."""
    return _TRIM is not None


def trim() -> bool:
    """Return the free pages of every malloc arena to the system now; whether any were."""
    return bool(_TRIM(0)) if _TRIM is not None else False


def trim_every(seconds: float, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start a daemon thread that calls ``trim()`` every ``seconds`` until ``stop`` is set;
    None (nothing started) when ``seconds`` is 0 or the C library cannot trim."""
    if seconds <= 0 or _TRIM is None:
        return None
    stop = stop or threading.Event()

    def run() -> None:
        while not stop.wait(seconds):
            try:
                trim()
            except Exception:  # never take the worker down for it
                log.warning("malloc_trim failed", exc_info=True)
                return

    thread = threading.Thread(target=run, name="auditlog-malloc-trim", daemon=True)
    thread.start()
    return thread
