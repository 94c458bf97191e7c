"""Distinct values over a namespace's events, paged through composite aggregations.

Composite aggregations return every bucket, page by page (``after_key``), with
exact counts whatever the number of shards or monthly indices; a ``terms``
aggregation would cut at its size. Used by Wasabi's ``/filters`` (every target
kind with every action key) and Immuta's ``.../mine`` (a user's distinct
queries). Like the engine, every query here goes through ``event_filter``, so
it carries the namespace term.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from app.engine.search import SearchEngine, event_filter
from app.model.records import stored_value
from app.model.time_window import TimeWindow
from app.store.client import store_errors

COMPOSITE_PAGE = 1_000
IDS_PER_QUERY = 100  # auditId[] lists the most recent runs' ids, not every run's
_ALL_TIME = TimeWindow(None, None)


def iter_buckets(engine: SearchEngine, namespace: str, query: dict[str, Any],
                 sources: Sequence[tuple[str, str]], aggs: dict[str, Any] | None = None,
                 page_size: int = COMPOSITE_PAGE) -> Iterator[dict[str, Any]]:
    """Every bucket of a composite aggregation over ``sources`` (name, indexed field), in key
    order; events lacking a source field are in no bucket."""
    composite: dict[str, Any] = {
        "size": page_size,
        "sources": [{name: {"terms": {"field": path}}} for name, path in sources],
    }
    grouping: dict[str, Any] = {"composite": composite}
    if aggs:
        grouping["aggs"] = aggs
    full_query = event_filter(namespace, query, _ALL_TIME)
    while True:
        with store_errors():
            response = engine.client.search(
                index=engine.store.pattern, ignore_unavailable=True, allow_no_indices=True,
                size=0, track_total_hits=False, query=full_query, aggs={"groups": grouping},
            )
        answer = response.get("aggregations", {}).get("groups", {})
        buckets = answer.get("buckets", [])
        yield from buckets
        after = answer.get("after_key")
        if len(buckets) < page_size or after is None:
            return
        composite["after"] = after


def kinds_with_actions(engine: SearchEngine, namespace: str, kind_field: str,
                       action_field: str) -> list[tuple[str, list[str]]]:
    """Every (kind, [its actions]) pair of the namespace, both sorted."""
    buckets = iter_buckets(engine, namespace, {}, [("kind", kind_field),
                                                   ("action", action_field)])
    return [(kind, [b["key"]["action"] for b in group])
            for kind, group in groupby(buckets, key=lambda b: b["key"]["kind"])]


@dataclass
class QueryRuns:
    """One distinct query text: when it last ran, how often, and its latest runs."""

    text: str
    last_run_ms: int
    times_run: int
    ids: list[str] = field(default_factory=list)
    name: str | None = None


QUERY_SORTS = ("lastRun", "timesRun", "query")


def distinct_queries(engine: SearchEngine, namespace: str, query: dict[str, Any],
                     text_field: str, id_field: str, name_field: str, *,
                     sort: str = "lastRun", descending: bool = True, offset: int = 0,
                     size: int = 50) -> list[QueryRuns]:
    """One page of the distinct values of ``text_field`` among the matching events.

    All distinct texts are summarised (composite buckets: text, max time,
    count; memory grows with distinct texts, never with events), sorted by
    ``sort`` (ties by text) and cut to the page; a second request fetches the
    page's ids (most recent first) and name (``name_field`` of the latest run).
    """
    runs = [QueryRuns(b["key"]["text"], int(b["last"]["value"] or 0), int(b["doc_count"]))
            for b in iter_buckets(engine, namespace, query, [("text", text_field)],
                                  {"last": {"max": {"field": "time"}}})]
    key = {"lastRun": lambda r: (r.last_run_ms, r.text),
           "timesRun": lambda r: (r.times_run, r.text),
           "query": lambda r: (r.text, 0)}[sort]
    page = sorted(runs, key=key, reverse=descending)[offset:offset + size]
    if page:
        _add_latest_runs(engine, namespace, query, page, text_field, id_field, name_field)
    return page


def _add_latest_runs(engine: SearchEngine, namespace: str, query: dict[str, Any],
                     page: list[QueryRuns], text_field: str, id_field: str,
                     name_field: str) -> None:
    by_text = {run.text: run for run in page}
    full_query = event_filter(namespace, query, _ALL_TIME)
    full_query["bool"]["filter"].append({"terms": {text_field: list(by_text)}})
    latest = {"top_hits": {"size": IDS_PER_QUERY, "sort": [{"time": "desc"}, {"id": "desc"}],
                           "_source": [id_field, name_field]}}
    with store_errors():
        response = engine.client.search(
            index=engine.store.pattern, ignore_unavailable=True, allow_no_indices=True,
            size=0, track_total_hits=False, query=full_query,
            aggs={"texts": {"terms": {"field": text_field, "size": len(by_text)},
                            "aggs": {"latest": latest}}},
        )
    for bucket in response.get("aggregations", {}).get("texts", {}).get("buckets", []):
        run = by_text.get(bucket["key"])
        if run is None:
            continue
        sources = [hit["_source"] for hit in bucket["latest"]["hits"]["hits"]]
        run.ids = [str(stored_value(source, _path(id_field))) for source in sources]
        run.name = stored_value(sources[0], _path(name_field)) if sources else None


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))

