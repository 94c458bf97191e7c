"""Reads of one namespace's ingest stream in (``ingested_at``, ``id``) order between two
stream positions: what the checkpointer seals and what ``auditlog verify`` recomputes.

A position is ``(ingested_at as epoch ns, id)``. A read returns the events
strictly after ``after`` (None: from the start) and up to ``upto`` inclusive
(None: no end) or up to an ``ingested_at`` watermark, page by page with
``search_after``, on a point-in-time when one is given (a verifier reads one
consistent snapshot with several threads).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from app.model.event import STAMP
from app.model.timestamps import format_ns, parse_timestamp
from app.store.client import COMPLETENESS_PATHS, store_errors

NANOS = "strict_date_optional_time_nanos"
PAGE = 5_000
SORT = [{STAMP: {"order": "asc", "unmapped_type": "date_nanos"}},
        {"id": {"order": "asc", "unmapped_type": "keyword"}}]
# A page: its events, their sort values and whether every shard answered.
FILTER_PATH = f"pit_id,hits.hits._source,hits.hits.sort,{COMPLETENESS_PATHS}"

Position = tuple[int, str]


def position_of(ingested_at: str, event_id: str) -> Position:
    """The position of an event from its ``ingested_at`` text and id."""
    return parse_timestamp(ingested_at)[0], event_id


def beyond(field_op: str, position: Position) -> dict[str, Any]:
    """Events after (``gt``) or up to (``lt`` plus equal) ``position``."""
    instant = format_ns(position[0], 9)
    id_op = "gt" if field_op == "gt" else "lte"
    return {"bool": {"minimum_should_match": 1, "should": [
        {"range": {STAMP: {field_op: instant, "format": NANOS}}},
        {"bool": {"filter": [
            {"range": {STAMP: {"gte": instant, "lte": instant, "format": NANOS}}},
            {"range": {"id": {id_op: position[1]}}},
        ]}},
    ]}}


def stream_query(namespace: str, after: Position | None, upto: Position | None,
                 watermark_ns: int | None = None) -> dict[str, Any]:
    """The query of the events of ``namespace`` after ``after`` and up to ``upto`` (or
    up to ``watermark_ns`` of ``ingested_at``, inclusive)."""
    filters: list[dict[str, Any]] = [{"term": {"namespace": namespace}},
                                     {"exists": {"field": STAMP}}]
    if after is not None:
        filters.append(beyond("gt", after))
    if upto is not None:
        filters.append(beyond("lt", upto))
    if watermark_ns is not None:
        filters.append({"range": {STAMP: {"lte": format_ns(watermark_ns, 9),
                                                  "format": NANOS}}})
    return {"bool": {"filter": filters}}


@dataclass
class StreamReader:
    """Reads stream ranges from the event indices ``pattern``."""

    client: Elasticsearch
    pattern: str
    page: int = PAGE

    def pages(self, query: dict[str, Any], pit: dict[str, Any] | None = None,
              ) -> Iterator[list[dict[str, Any]]]:
        """The matching events in stream order, a page at a time."""
        resume: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "size": self.page, "sort": SORT,
                                    "track_total_hits": False}
            if resume is not None:
                body["search_after"] = resume
            with store_errors():
                if pit is not None:
                    response = self.client.search(pit=dict(pit), filter_path=FILTER_PATH,
                                                  **body)
                    pit["id"] = response.get("pit_id", pit["id"])
                else:
                    response = self.client.search(index=self.pattern, ignore_unavailable=True,
                                                  allow_no_indices=True,
                                                  filter_path=FILTER_PATH, **body)
            hits = response.get("hits", {}).get("hits", [])
            if hits:
                yield [hit["_source"] for hit in hits]
            if len(hits) < self.page:
                return
            resume = hits[-1]["sort"]

    def open_pit(self, keep_alive: str = "5m") -> dict[str, Any]:
        """A point-in-time over the event indices (close it with ``close_pit``); an index
        whose shard has not started yet is waited for by the client's transport."""
        with store_errors():
            pit_id = self.client.open_point_in_time(
                index=self.pattern, keep_alive=keep_alive, ignore_unavailable=True)["id"]
        return {"id": pit_id, "keep_alive": keep_alive}

    def close_pit(self, pit: dict[str, Any]) -> None:
        """Release a point-in-time."""
        with store_errors():
            self.client.options(ignore_status=404).close_point_in_time(id=pit["id"])
