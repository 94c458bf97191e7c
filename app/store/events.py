"""The event store on Elasticsearch: monthly indices, writes and reads by id.

Indices are ``<prefix>-events-YYYY.MM``, chosen from each event's own time (a
retry lands in the same index, where ``op_type=create`` finds the duplicate),
and searched through the pattern ``<prefix>-events-*``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from app.config import default
from app.model.event import STAMP, Event, doc_id
from app.model.fields import LINE_BYTES
from app.model.timestamps import NS_PER_S, format_ns, month_of
from app.store.client import store_errors

DEFAULT_PREFIX = default("AUDITLOG_INDEX_PREFIX")
NS_PER_DAY = 86_400 * NS_PER_S
_BULK_FILTER = "errors,items.*.status,items.*.error"


@dataclass
class WriteResult:
    """What one bulk write did, per event in the order given."""

    created: int = 0
    duplicates: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (position, id, reason)
    stamped_ns: int = 0  # the events' ingested_at
    acknowledged_ns: int = 0  # when Elasticsearch answered the write


@functools.lru_cache(maxsize=4096)
def _month_of_day(day: int) -> str:
    """``month_of`` per UTC day (every event of a batch asks; days repeat)."""
    return month_of(day * NS_PER_DAY)


class EventStore:
    """Reads and writes events of every namespace; callers pass the namespace explicitly."""

    def __init__(self, client: Elasticsearch, prefix: str = DEFAULT_PREFIX,
                 writable: Callable[[], None] | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.pattern = f"{prefix}-events-*"
        # Raises when writing must wait (the service's templates not applied yet).
        self._writable = writable
        # Index -> whether its mapping keeps LINE_BYTES out of _source (see _line_bytes_kept).
        self._line_bytes: dict[str, bool] = {}

    def index_for(self, time_ns: int) -> str:
        """The monthly index of an event time."""
        return f"{self.prefix}-events-{_month_of_day(time_ns // NS_PER_DAY)}"

    def create_events(self, events: Sequence[Event], refresh: str | bool = False) -> WriteResult:
        """Write events with ``op_type=create``, stamped with ``ingested_at`` (now, this
        process's clock); existing ids count as duplicates (and keep their first stamp)."""
        result = WriteResult()
        if not events:
            return result
        if self._writable is not None:
            self._writable()
        result.stamped_ns = time.time_ns()
        stamp = format_ns(result.stamped_ns, 9)
        operations: list[Any] = []
        for event in events:
            event.source[STAMP] = stamp
            index = self.index_for(event.time_ns)
            operations.append({"create": {"_index": index, "_id": event.doc_id}})
            # LINE_BYTES (indexed, kept out of _source by the template) is the size of the
            # event's JSON, the log line of the Loki-compatible API's bytes_over_time.
            operations.append({**event.source, LINE_BYTES: len(orjson.dumps(event.source))}
                              if self._line_bytes_kept(index) else event.source)
        with store_errors():
            # Only what is read below: an answer a tenth the size to parse.
            response = self.client.bulk(operations=operations, refresh=refresh,
                                        filter_path=_BULK_FILTER)
        result.acknowledged_ns = time.time_ns()
        if not response.get("errors"):
            result.created = len(events)
            return result
        for position, (event, item) in enumerate(zip(events, response["items"], strict=True)):
            outcome = item["create"]
            status = outcome.get("status", 500)
            if status < 300:
                result.created += 1
            elif status == 409:
                result.duplicates += 1
            else:
                error = outcome.get("error") or {}
                reason = error.get("reason") or error.get("type") or f"status {status}"
                result.failed.append((position, event.id, str(reason)))
        return result

    def _line_bytes_kept(self, index: str) -> bool:
        """Whether ``index`` maps LINE_BYTES and keeps it out of _source: true of indices
        made by the current template (or not made yet), false of older ones, whose strict
        mapping would refuse the field and whose _source cannot be changed."""
        kept = self._line_bytes.get(index)
        if kept is None:
            with store_errors():
                found = self.client.options(ignore_status=404).indices.get_mapping(index=index)
            mapping = found.get(index, {}).get("mappings") if index in found else None
            kept = mapping is None or LINE_BYTES in mapping.get("_source", {}).get("excludes", [])
            self._line_bytes[index] = kept
        return kept

    def get(self, namespace: str, event_id: str) -> dict[str, Any] | None:
        """The event with this id in this namespace, or None."""
        with store_errors():
            response = self.client.search(
                index=self.pattern,
                query={"ids": {"values": [doc_id(namespace, event_id)]}},
                size=1,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
        hits = response["hits"]["hits"]
        if not hits:
            return None
        source: dict[str, Any] = hits[0]["_source"]
        # The _id already binds the namespace; this guards against any other writer.
        return source if source.get("namespace") == namespace else None

    def refresh(self, indices: Iterable[str] | None = None) -> None:
        """Make recent writes searchable (tests and CLI use this)."""
        with store_errors():
            self.client.indices.refresh(
                index=",".join(indices) if indices else self.pattern,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
