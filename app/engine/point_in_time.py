"""An Elasticsearch point-in-time: a consistent view of the event indices for one long read.

Opened with a keep-alive (``AUDITLOG_EXPORT_KEEPALIVE``) that each search on it
renews; Elasticsearch may hand back a new id with any answer, which the next
search uses. Close it (or leave its ``with`` block) to free the contexts at once.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from elasticsearch import Elasticsearch

from app.store.client import store_errors


class PointInTime:
    """One open point-in-time over ``index``; searches on it are thread-safe."""

    def __init__(self, client: Elasticsearch, index: str, keep_alive: str) -> None:
        self.client = client
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        with store_errors():
            self._id: str = client.open_point_in_time(index=index, keep_alive=keep_alive,
                                                      ignore_unavailable=True)["id"]

    def search(self, **body: Any) -> Any:
        """A search on this point-in-time (no total count); Elasticsearch errors translated."""
        with self._lock:
            pit = {"id": self._id, "keep_alive": self.keep_alive}
        with store_errors():
            response = self.client.search(pit=pit, track_total_hits=False, **body)
        new_id = response.get("pit_id")
        if new_id:
            with self._lock:
                self._id = new_id
        return response

    def close(self) -> None:
        """Free the point-in-time (one already gone is not an error)."""
        with store_errors():
            self.client.options(ignore_status=404).close_point_in_time(id=self._id)

    def __enter__(self) -> PointInTime:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
