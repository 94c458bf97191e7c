"""The checkpointer: a background thread of the service that seals at the interval,
while it holds the sealing lease (one instance at a time).

Each tick (a third of the lease's time to live, or the interval when shorter)
it takes or renews the lease; when held and the interval has passed since the
last round, it seals every namespace (``app.engine.sealer``). Writing stops as
soon as the lease has less than a tick left and cannot be renewed, so a
holder that stalls never writes after another took over; and checkpoints are
write-once per seq anyway. A lapsed holder's lease is taken within its time to live (≤ 30 s).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from app.engine.sealer import Sealer
from app.store.lease import Lease

LEASE_NAME = "checkpointer"
log = logging.getLogger(__name__)


def holder_id() -> str:
    """This process's name as a lease holder: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Checkpointer:
    """Runs ``sealer`` every ``interval_s`` while ``lease`` is held."""

    def __init__(self, sealer: Sealer, lease: Lease, interval_s: float) -> None:
        self.sealer = sealer
        self.lease = lease
        self.interval_s = interval_s
        self.tick_s = max(0.05, min(interval_s, lease.ttl_s / 3))
        self.margin_ms = int(self.tick_s * 1000)
        sealer.may_write = self._may_write
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_round = 0.0

    def _may_write(self) -> bool:
        """Whether the lease is good for another tick; renewed first when it runs short
        (a long round keeps it)."""
        if self.lease.held(2 * self.margin_ms):
            return True
        return self.lease.acquire() and self.lease.held(self.margin_ms)

    def start(self) -> None:
        """Start the background thread (a daemon: it dies with the process)."""
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and give the lease up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.lease.release()
        except Exception:  # shutting down: the lease lapses anyway
            log.warning("could not release the checkpointer lease", exc_info=True)

    def run_once(self) -> int:
        """One tick: renew or take the lease, seal when due; return checkpoints written."""
        if not self.lease.acquire():
            return 0
        now = time.monotonic()
        if now < self._next_round:
            return 0
        self._next_round = now + self.interval_s
        return len(self.sealer.seal_all())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a failed round is retried at the next tick
                log.warning("checkpointer round failed", exc_info=True)
            self._stop.wait(self.tick_s)
