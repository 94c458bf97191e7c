"""The search flow shared by the native and F5 surfaces: validate, authorize, run, note.

Each surface calls these and only shapes the response.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema

from app.access.auth import require
from app.api.namespaces import checked_namespace
from app.api.schemas import (
    AggregateBodySchema,
    ScrollBodySchema,
    SearchBodySchema,
    load,
    sort_values_of,
)
from app.audit.notes import note
from app.engine.aggregations import Aggregation, parse_aggregations
from app.engine.extension import current_engine
from app.engine.query import compile_query
from app.engine.search import SearchRequest, SearchResult
from app.errors import InvalidInput
from app.model.time_window import TimeWindow, search_window
from app.observe import metrics

_SEARCH = SearchBodySchema()
_AGGREGATE = AggregateBodySchema()
_SCROLL = ScrollBodySchema()


def _body_namespace(namespace: str, loaded: dict[str, Any]) -> None:
    given = loaded.get("namespace")
    if given not in (None, "", namespace):
        raise InvalidInput(
            f"namespace {given!r} in the body differs from the URL's ({namespace!r})",
            field="namespace",
        )


def _aggregations(raw: Any, window: TimeWindow) -> tuple[Aggregation, ...]:
    config = current_app.config
    return parse_aggregations(raw, window, max_aggregations=config["AUDITLOG_MAX_AGGREGATIONS"],
                              max_buckets=config["AUDITLOG_MAX_BUCKETS"])


def noted_search(request: SearchRequest, key_id: str, query: str,
                 **details: Any) -> SearchResult:
    """Run one search page for ``key_id`` and note it in the self-audit trail."""
    result = current_engine().search(request, key_id)
    note("audit.search", request.namespace, query=query, count=len(result.events),
         total=result.total, **details)
    return result


def run_search(namespace: str, body: Any, schema: Schema = _SEARCH) -> SearchResult:
    """A search page (and a scroll opened, when asked) for the caller's key; ``schema``
    (a SearchBodySchema) reads the body."""
    principal = require("reader", checked_namespace(namespace))
    loaded = load(schema, body)
    _body_namespace(namespace, loaded)
    window = search_window(loaded["start_time"], loaded["end_time"])
    request = SearchRequest(
        namespace=namespace,
        query=compile_query(loaded["query"]),
        window=window,
        limit=loaded["limit"],
        sort=loaded["sort"],
        aggs=_aggregations(loaded["aggs"], window),
        scroll=loaded["scroll"],
        search_after=sort_values_of(loaded),
    )
    result = noted_search(request, principal.key_id, loaded["query"], scroll=loaded["scroll"])
    if result.scroll_id:
        metrics.scroll_opened()
    return result


def run_scroll(namespace: str, body: Any, schema: Schema = _SCROLL) -> SearchResult:
    """The next page of a scroll opened by this key in this namespace."""
    principal = require("reader", checked_namespace(namespace))
    loaded = load(schema, body)
    _body_namespace(namespace, loaded)
    result = current_engine().scroll(loaded["scroll_id"], namespace, principal.key_id)
    if not result.scroll_id:
        metrics.scroll_ended()
    note("audit.scroll", namespace, count=len(result.events), total=result.total)
    return result


def run_aggregate(namespace: str, body: Any, schema: Schema = _AGGREGATE) -> SearchResult:
    """Aggregations (and the exact total) over the window, no events."""
    require("reader", checked_namespace(namespace))
    loaded = load(schema, body)
    _body_namespace(namespace, loaded)
    window = search_window(loaded["start_time"], loaded["end_time"])
    aggs = _aggregations(loaded["aggs"], window)
    if not aggs:
        raise InvalidInput("aggs: give at least one aggregation", field="aggs")
    request = SearchRequest(namespace=namespace, query=compile_query(loaded["query"]),
                            window=window, limit=0, aggs=aggs, with_events=False)
    result = current_engine().search(request, "")
    note("audit.aggregate", namespace, query=loaded["query"], count=result.total)
    return result
