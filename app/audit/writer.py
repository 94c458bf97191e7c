"""The self-audit writer: a bounded queue drained by one background thread that bulk-writes.

A request only puts a plain dict on the queue (never blocking: when the queue
is full the event is dropped and counted), so recording never fails or slows
the request it describes. The thread validates each event with the normal
event model (``load_event``: id derivation, time normalisation) and writes a
batch through ``EventStore.create_events``. Events that cannot be validated or
written are counted as dropped too. Every live writer is flushed at exit.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError

from app.model.event import Event, load_event
from app.observe import metrics
from app.store.events import EventStore

log = logging.getLogger(__name__)
BATCH_SIZE = 500
IDLE_WAIT_S = 0.5
# How long a batch waits for more events: one bulk request (and one translog sync)
# for all the events of that time rather than one per request served.
LINGER_S = 0.2

_writers: weakref.WeakSet[AuditWriter] = weakref.WeakSet()


class AuditWriter:
    """Writes events of one namespace in the background; ``flush`` waits for them."""

    def __init__(self, store: Callable[[], EventStore], namespace: str,
                 capacity: int = 10_000) -> None:
        self._store = store
        self.namespace = namespace
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max(1, capacity))
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # accepted and not yet written (or given up on)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._flush_wanted = threading.Event()  # write what is queued now, no lingering
        self.written = 0
        self.dropped = 0
        _writers.add(self)

    def put(self, raw: dict[str, Any]) -> bool:
        """Queue one raw event; False (and counted as dropped) when the queue is full."""
        with self._lock:
            if self._stopping:
                self._add_dropped(1)
                return False
            self._ensure_thread()
            try:
                self._queue.put_nowait(raw)
            except queue.Full:
                self._add_dropped(1)
                return False
            self._pending += 1
        return True

    def _add_dropped(self, n: int) -> None:
        """Count ``n`` dropped events here and in the metric (the caller holds the lock)."""
        self.dropped += n
        metrics.SELF_AUDIT_DROPS.inc(n)

    def count_dropped(self, n: int = 1) -> None:
        """Count events lost before they reached the queue."""
        with self._lock:
            self._add_dropped(n)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event is written or dropped; False on timeout."""
        self._flush_wanted.set()
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Flush, then stop the thread; later events are dropped."""
        self.flush(timeout)
        with self._lock:
            self._stopping = True

    def stats(self) -> dict[str, int]:
        """Counters for metrics: queued, written and dropped events."""
        return {"queued": self._queue.qsize(), "written": self.written, "dropped": self.dropped}

    def _ensure_thread(self) -> None:
        # Started on first use, so a process forked after create_app (gunicorn) has its own.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="auditlog-self-audit",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_WAIT_S)
            except queue.Empty:
                if self._stopping:
                    return
                continue
            if self._queue.qsize() < BATCH_SIZE - 1:
                # Linger for the events of the next LINGER_S without waking at each one
                # (a wake-up per request would take the GIL from the requests); a flush
                # ends the wait at once.
                self._flush_wanted.wait(LINGER_S)
            batch = [first]
            while len(batch) < BATCH_SIZE:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            written, dropped = self._write(batch)
            if self._queue.empty():
                self._flush_wanted.clear()
            with self._idle:
                self.written += written
                self._add_dropped(dropped)
                self._pending -= len(batch)
                self._idle.notify_all()

    def _write(self, batch: list[dict[str, Any]]) -> tuple[int, int]:
        """Validate and bulk-write a batch; (written, dropped). Never raises."""
        events: list[Event] = []
        for raw in batch:
            try:
                events.append(load_event(raw, self.namespace))
            except ValidationError as exc:
                log.warning("self-audit event dropped, invalid: %s", exc.messages)
        try:
            result = self._store().create_events(events)
        except Exception as exc:  # whatever happens, the thread goes on
            log.warning("self-audit: %d events dropped, write failed: %s", len(events), exc)
            return 0, len(batch)
        for _, _, reason in result.failed:
            log.warning("self-audit event dropped, refused: %s", reason)
        written = result.created + result.duplicates
        return written, len(batch) - written


def flush_all(timeout: float = 10.0) -> None:
    """Flush every live writer (at exit, and before tests delete their indices)."""
    for writer in list(_writers):
        writer.flush(timeout)


atexit.register(flush_all)
