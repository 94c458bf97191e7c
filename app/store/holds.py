"""Legal holds (DESIGN §13): a namespace and a time range that retention must keep.

One document per hold in ``<prefix>-holds``. A hold covers events of its
namespace whose ``time`` lies in ``[start_time, end_time]`` (no end: until
released). Retention deletes whole monthly indices, which hold every
namespace's events of that month, so a month that a hold touches is kept
whole. Releasing a hold deletes its document; the service's own audit trail
keeps who set and released it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from app.model.timestamps import format_ns, parse_timestamp
from app.store.client import store_errors

MAX_HOLDS = 10_000


@dataclass(frozen=True)
class Hold:
    """One legal hold."""

    id: str
    namespace: str
    start_ns: int
    end_ns: int | None
    reason: str
    created_at: str
    created_by: str

    def covers_range(self, start_ns: int, end_ns: int) -> bool:
        """Whether the hold touches ``[start_ns, end_ns)`` (e.g. a month)."""
        return self.start_ns < end_ns and (self.end_ns is None or self.end_ns >= start_ns)

    def document(self) -> dict[str, Any]:
        """The stored document and the API's shape."""
        return {"id": self.id, "namespace": self.namespace,
                "start_time": format_ns(self.start_ns),
                "end_time": None if self.end_ns is None else format_ns(self.end_ns),
                "reason": self.reason, "created_at": self.created_at,
                "created_by": self.created_by}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Hold:
        end = doc.get("end_time")
        return cls(str(doc["id"]), str(doc["namespace"]), parse_timestamp(doc["start_time"])[0],
                   None if end is None else parse_timestamp(end)[0], str(doc.get("reason", "")),
                   str(doc.get("created_at", "")), str(doc.get("created_by", "")))


class HoldStore:
    """The holds of one index prefix."""

    def __init__(self, client: Elasticsearch, prefix: str,
                 writable: Callable[[], None] | None = None) -> None:
        self.client = client
        self._writable = writable
        self.index = f"{prefix}-holds"

    def create(self, namespace: str, start_ns: int, end_ns: int | None, reason: str,
               created_by: str) -> Hold:
        """Store a new hold (visible to ``list`` at once)."""
        if self._writable is not None:
            self._writable()  # no index without its mapping
        hold = Hold(secrets.token_hex(8), namespace, start_ns, end_ns, reason,
                    format_ns(time.time_ns()), created_by)
        with store_errors():
            self.client.create(index=self.index, id=hold.id, document=hold.document(),
                               refresh="wait_for")
        return hold

    def list(self) -> list[Hold]:
        """Every hold, oldest first."""
        with store_errors():
            response = self.client.search(
                index=self.index, ignore_unavailable=True, allow_no_indices=True,
                size=MAX_HOLDS, sort=[{"created_at": "asc"}, {"id": "asc"}],
                query={"match_all": {}})
        return [Hold.from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def get(self, hold_id: str) -> Hold | None:
        """One hold, or None."""
        with store_errors():
            response = self.client.options(ignore_status=404).get(index=self.index, id=hold_id)
        return Hold.from_document(response["_source"]) if response.get("found") else None

    def release(self, hold_id: str) -> Hold | None:
        """Delete a hold; return it, or None when there was none."""
        hold = self.get(hold_id)
        if hold is None:
            return None
        with store_errors():
            self.client.options(ignore_status=404).delete(index=self.index, id=hold_id,
                                                          refresh="wait_for")
        return hold
