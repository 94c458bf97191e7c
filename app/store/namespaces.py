"""Which namespaces an index (pattern) holds documents of: a paged composite aggregation."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from app.store.client import store_errors

PAGE = 1000


def namespaces_in(client: Elasticsearch, index: str,
                  query: dict[str, Any] | None = None) -> list[str]:
    """Every ``namespace`` value of the documents of ``index`` matching ``query`` (all: None),
    in order, read a page of ``PAGE`` at a time."""
    found: list[str] = []
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": PAGE,
                                     "sources": [{"ns": {"terms": {"field": "namespace"}}}]}
        if after:
            composite["after"] = after
        body: dict[str, Any] = {"aggs": {"ns": {"composite": composite}}}
        if query is not None:
            body["query"] = query
        with store_errors():
            response = client.search(index=index, ignore_unavailable=True,
                                     allow_no_indices=True, size=0, **body)
        aggregation = response.get("aggregations", {}).get("ns")
        if not aggregation or not aggregation["buckets"]:
            return found
        found.extend(bucket["key"]["ns"] for bucket in aggregation["buckets"])
        after = aggregation.get("after_key")
        if after is None:
            return found
