"""What a long follow request needs from the server: stream slots and disconnects.

- ``StreamSlots``: open streams per key in this worker process, bounded
  (``AUDITLOG_FOLLOW_STREAMS_PER_KEY``); beyond, ``RateLimited`` (429 with
  Retry-After). Each open stream holds one gunicorn thread until it ends.
- ``client_gone``: whether the client closed its connection, checked between
  polls with a non-blocking peek on the request's socket (gunicorn and
  Werkzeug put it in the WSGI environ), so an idle stream frees its thread
  within a poll interval rather than at the next heartbeat write.

(A stopping worker ends streams too: ``app.observe.lifecycle``.)
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from app.errors import RateLimited

_SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")


class StreamSlots:
    """Counts open streams per key; ``acquire`` refuses beyond ``per_key``."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def acquire(self, key_id: str) -> None:
        """Take a slot for ``key_id``; raise RateLimited when it holds ``per_key`` already."""
        with self._lock:
            if self._open[key_id] >= self.per_key:
                raise RateLimited(
                    f"this key holds {self.per_key} open follow streams already "
                    "(AUDITLOG_FOLLOW_STREAMS_PER_KEY); close one or poll without streaming",
                    retry_after=5, limit=self.per_key)
            self._open[key_id] += 1

    def release(self, key_id: str) -> None:
        """Give a slot back."""
        with self._lock:
            self._open[key_id] -= 1
            if self._open[key_id] <= 0:
                del self._open[key_id]


def client_gone(environ: Mapping[str, Any]) -> bool:
    """Whether the client of this request closed its connection (False when unknown)."""
    sock = next((environ[key] for key in _SOCKET_KEYS if key in environ), None)
    if not isinstance(sock, socket.socket):
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # open, nothing sent
    except OSError:
        return True
