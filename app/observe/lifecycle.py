"""The worker process's lifecycle as the request handlers see it: is it stopping?

``STOPPING`` is set when the process is told to stop (SIGTERM), once
``stop_on_sigterm`` was installed (``auditlog serve`` does it in each gunicorn
worker, after gunicorn's own handler). Long requests (follow streams, long
polls) end at once instead of holding a restart for the graceful timeout;
their clients resume from their cursors.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

STOPPING = threading.Event()


def stop_on_sigterm() -> None:
    """Set ``STOPPING`` on SIGTERM, then run the handler that was there (gunicorn's)."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        STOPPING.set()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
