"""Integrity checkpoints in Elasticsearch: ``<prefix>-checkpoints``, write-once.

A checkpoint's ``_id`` is its namespace and seq, and it is written with
``op_type=create``: a seq is sealed once, and a second writer of the same seq
gets a conflict instead of replacing it. Writes do not wait for a refresh: a
sealer that reads a stale "latest" tries a seq that exists, gets the conflict,
and reads again at its next round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import elasticsearch
from elasticsearch import Elasticsearch

from app.model.timestamps import format_ns
from app.store.client import store_errors
from app.store.namespaces import namespaces_in

PAGE = 500
NANOS_FORMAT = "strict_date_optional_time_nanos"


class SealConflict(Exception):
    """Another writer sealed this seq first."""


def document_id(namespace: str, seq: int) -> str:
    """The ``_id`` of a checkpoint: one per namespace and seq, so a seq is written once."""
    return f"{namespace}:{seq:012d}"


class CheckpointStore:
    """The checkpoints of one index prefix."""

    def __init__(self, client: Elasticsearch, prefix: str,
                 writable: Callable[[], None] | None = None) -> None:
        self.client = client
        self._writable = writable
        self.index = f"{prefix}-checkpoints"

    def create(self, namespace: str, seq: int, document: dict[str, Any]) -> None:
        """Write a new checkpoint document; raise SealConflict when its seq exists already."""
        if self._writable is not None:
            self._writable()  # no index without its mapping
        try:
            with store_errors():
                self.client.create(index=self.index,
                                   id=document_id(namespace, seq), document=document)
        except elasticsearch.ConflictError as exc:
            raise SealConflict(f"{namespace} seq {seq}") from exc

    def latest(self, namespace: str) -> dict[str, Any] | None:
        """The namespace's checkpoint document with the highest seq (no leaves), or None."""
        with store_errors():
            response = self.client.search(
                index=self.index, ignore_unavailable=True, allow_no_indices=True, size=1,
                query={"term": {"namespace": namespace}}, sort=[{"seq": "desc"}],
                source_excludes=["leaves"])
        hits = response["hits"]["hits"]
        return hits[0]["_source"] if hits else None

    def namespaces(self) -> list[str]:
        """Every namespace that has a checkpoint."""
        return namespaces_in(self.client, self.index)

    def documents(self, namespace: str, since_ns: int | None = None,
                  until_ns: int | None = None,
                  with_leaves: bool = False) -> Iterator[dict[str, Any]]:
        """The stored documents of ``namespace`` in seq order, as they are (a verifier
        checks them): those whose interval ends at or after ``since_ns`` and begins at or
        before ``until_ns`` (``ingested_at``, epoch ns; None: open). The leaves are left out
        unless asked for."""
        filters: list[dict[str, Any]] = [{"term": {"namespace": namespace}}]
        if since_ns is not None:
            filters.append({"range": {"last.ingested_at": {
                "gte": format_ns(since_ns), "format": NANOS_FORMAT}}})
        if until_ns is not None:
            filters.append({"range": {"first.ingested_at": {
                "lte": format_ns(until_ns), "format": NANOS_FORMAT}}})
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": {"bool": {"filter": filters}}, "size": PAGE,
                                    "sort": [{"seq": "asc"}]}
            if not with_leaves:
                body["source_excludes"] = ["leaves"]
            if after is not None:
                body["search_after"] = after
            with store_errors():
                response = self.client.search(index=self.index, ignore_unavailable=True,
                                              allow_no_indices=True, **body)
            hits = response["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]

    def leaves(self, namespace: str, seq: int) -> str | None:
        """The stored leaves of one checkpoint, or None when there is no such document."""
        with store_errors():
            response = self.client.options(ignore_status=404).get(
                index=self.index, id=document_id(namespace, seq), source_includes=["leaves"])
        if not response.get("found"):
            return None
        return str(response["_source"].get("leaves", ""))

    def before(self, namespace: str, seq: int) -> dict[str, Any] | None:
        """The stored document with the highest seq below ``seq`` (as it is), or None."""
        with store_errors():
            response = self.client.search(
                index=self.index, ignore_unavailable=True, allow_no_indices=True, size=1,
                query={"bool": {"filter": [{"term": {"namespace": namespace}},
                                           {"range": {"seq": {"lt": seq}}}]}},
                sort=[{"seq": "desc"}], source_excludes=["leaves"])
        hits = response["hits"]["hits"]
        return hits[0]["_source"] if hits else None
