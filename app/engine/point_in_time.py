"""An Elasticsearch point-in-time: a consistent view of the event indices for one long read.

Opened with a keep-alive (``AUDITLOG_EXPORT_KEEPALIVE``) that each search on it
renews; Elasticsearch may hand back a new id with any answer, which the next
search uses. Close it (or leave its ``with`` block) to free the contexts at once.

A point-in-time does not survive the loss of a node that holds one of its shard
contexts: searches on it then fail (a missing context, or shards that cannot be
searched). ``search`` raises ``PointInTimeLost`` for these, and ``reopen`` opens
a new point-in-time on the same indices, waiting a little while the cluster
promotes replicas. The reader then continues after the last event it delivered
(``slice_reader``), so the export neither repeats nor skips an event; the new
view holds the events of the moment it was opened.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any

import elasticsearch
from elasticsearch import Elasticsearch

from app.errors import StoreUnavailable
from app.store.client import store_errors

log = logging.getLogger("auditlog.export")
# Pauses between attempts to open a new point-in-time after a loss (about 30 s in all),
# while the cluster notices the node is gone and promotes the replicas of its shards.
REOPEN_PAUSES = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0)
#: Most reopens in one read: a cluster that keeps losing nodes ends the export with a 503.
MAX_REOPENS = 5


class PointInTimeLost(Exception):
    """A search failed because the point-in-time (generation ``generation``) lost shards."""

    def __init__(self, generation: int, cause: BaseException) -> None:
        super().__init__(f"point-in-time {generation} lost: {cause}")
        self.generation = generation
        self.cause = cause


class PointInTime:
    """One open point-in-time over ``index``; searches on it are thread-safe."""

    def __init__(self, client: Elasticsearch, index: str, keep_alive: str) -> None:
        self.client = client
        self.index = index
        self.keep_alive = keep_alive
        self.generation = 0
        self.reopens = 0
        self._lock = threading.Lock()
        self._id: str = self._open()

    def _open(self) -> str:
        with store_errors():
            return str(self.client.open_point_in_time(index=self.index,
                                                      keep_alive=self.keep_alive,
                                                      ignore_unavailable=True)["id"])

    def search(self, **body: Any) -> Any:
        """A search on this point-in-time (no total count); Elasticsearch errors translated.

        Raises PointInTimeLost when its contexts are gone or its shards cannot be searched.
        """
        return self.search_in(**body)[0]

    def search_in(self, **body: Any) -> tuple[Any, int]:
        """``search``, and the generation of the point-in-time that answered (sort values
        are meaningful only on that generation)."""
        with self._lock:
            pit = {"id": self._id, "keep_alive": self.keep_alive}
            generation = self.generation
        try:
            with store_errors():
                response = self.client.search(pit=pit, track_total_hits=False, **body)
        except (StoreUnavailable, elasticsearch.NotFoundError) as exc:
            raise PointInTimeLost(generation, exc) from exc
        new_id = response.get("pit_id")
        if new_id:
            with self._lock:
                if self.generation == generation:  # not an answer of a lost generation
                    self._id = new_id
        return response, generation

    def reopen(self, lost: PointInTimeLost) -> None:
        """Open a new point-in-time in place of generation ``lost.generation`` (once, whatever
        the number of readers that saw it fail). Raises the loss's cause as a service error
        after MAX_REOPENS, or StoreUnavailable when no new one opens within the pauses."""
        with self._lock:
            if self.generation != lost.generation:
                return  # another reader reopened it already
            if self.reopens >= MAX_REOPENS:
                raise StoreUnavailable(f"the export lost its point-in-time {self.reopens + 1} "
                                       "times; Elasticsearch keeps losing shards") from lost
            old = self._id
            for pause in (*REOPEN_PAUSES, None):
                try:
                    self._id = self._open()
                    break
                except StoreUnavailable:
                    if pause is None:
                        raise
                    time.sleep(pause)
            self.generation += 1
            self.reopens += 1
        # The cause's class only: its text may quote the point-in-time id.
        log.warning("export point-in-time lost (%s); reopened, reading on after the last "
                    "event", type(lost.cause).__name__)
        self._close(old)

    def search_anew(self, **body: Any) -> Any:
        """``search``, repeated on a reopened point-in-time when it is lost: for requests that
        give the same answer on any view (the export plan's aggregations)."""
        while True:
            try:
                return self.search(**body)
            except PointInTimeLost as lost:
                self.reopen(lost)

    def _close(self, pit_id: str) -> None:
        try:
            with store_errors():
                self.client.options(ignore_status=404).close_point_in_time(id=pit_id)
        except StoreUnavailable:
            pass  # its contexts died with their node, or expire with the keep-alive

    def close(self) -> None:
        """Free the point-in-time (one already gone is not an error)."""
        with store_errors():
            self.client.options(ignore_status=404).close_point_in_time(id=self._id)

    def __enter__(self) -> PointInTime:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
