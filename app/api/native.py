"""The native API (``/api/v1``): ingest and read events by id."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.access.auth import require
from app.access.ratelimit import scroll_open_limit
from app.api.body import request_json
from app.api.namespaces import checked_namespace
from app.api.searching import run_aggregate, run_scroll, run_search
from app.audit.notes import note
from app.engine.extension import late_write_bound_ns
from app.engine.ingest import ingest, parse_body
from app.engine.search import SearchResult
from app.errors import InvalidEvents, InvalidInput, NotFound
from app.model.event import ID_PATTERN
from app.observe import metrics
from app.store.extension import store

bp = Blueprint("native", __name__, url_prefix="/api/v1")

REFRESH_VALUES = {"wait_for": "wait_for", "true": True, "false": False, "": False}


@bp.post("/namespaces/<namespace>/events")
def ingest_events(namespace: str) -> ResponseReturnValue:
    """Ingest one event, a JSON array of events, or NDJSON.
    ---
    post:
      summary: Ingest events (one object, a JSON array, or NDJSON)
      tags: [native]
      parameters:
        - in: query
          name: refresh
          schema: {type: string, enum: [wait_for, "true", "false"]}
          description: wait_for makes the events searchable before the answer
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - EventSchema
                - {type: array, items: EventSchema}
          application/x-ndjson:
            schema: {type: string, description: one event object per line}
      responses:
        200:
          description: every event stored or already there (duplicates)
          content: {application/json: {schema: IngestResultSchema}}
        207:
          description: some events failed (see errors); the others are stored
          content: {application/json: {schema: IngestResultSchema}}
    """
    require("writer", checked_namespace(namespace))
    noted = note("audit.ingest", namespace, count=0)  # a refused batch is recorded too
    refresh_arg = request.args.get("refresh", "")
    if refresh_arg not in REFRESH_VALUES:
        raise InvalidInput("refresh must be wait_for, true or false", field="refresh")
    raw_events = parse_body(
        request.get_data(cache=False),
        request.content_type,
        current_app.config["AUDITLOG_MAX_BATCH_EVENTS"],
    )
    refresh = REFRESH_VALUES[refresh_arg]
    summary = ingest(store.events, namespace, raw_events, refresh,
                     late_after_ns=late_write_bound_ns(bool(refresh)))
    metrics.count_ingest(summary.created, summary.duplicates, summary.failed)
    noted.count = summary.created
    noted.details.update(duplicates=summary.duplicates, failed=summary.failed)
    if summary.failed and not summary.created and not summary.duplicates:
        raise InvalidEvents("no event was stored; see errors", **summary.as_dict())
    response = jsonify(summary.as_dict())
    response.status_code = 207 if summary.failed else 200
    return response


@bp.get("/namespaces/<namespace>/events/<event_id>")
def get_event(namespace: str, event_id: str) -> ResponseReturnValue:
    """One event by id.
    ---
    get:
      summary: One event by id
      tags: [native]
      responses:
        200:
          description: the event as stored
          content: {application/json: {schema: EventOutSchema}}
    """
    require("reader", checked_namespace(namespace))
    if not ID_PATTERN.fullmatch(event_id):
        raise NotFound(f"no event {event_id!r} in namespace {namespace!r}")
    noted = note("audit.get", namespace, query=f'{{id="{event_id}"}}', count=0)
    event = store.events.get(namespace, event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r} in namespace {namespace!r}")
    noted.count = 1
    return event


def search_response(result: SearchResult) -> dict[str, Any]:
    """The native answer of a search or scroll page."""
    return {
        "events": result.events,
        "total_hits": result.total,
        "scroll_id": result.scroll_id,
        "last_sort_values": (result.last_sort_values.as_dict()
                             if result.last_sort_values else None),
        "aggs": result.aggs,
        "took_ms": result.took_ms,
    }


@bp.post("/namespaces/<namespace>/events/search")
@scroll_open_limit
def search_events(namespace: str) -> ResponseReturnValue:
    """Search with a matcher query, a time window, sort, limit, aggs, scroll or search_after.
    ---
    post:
      summary: Search events (matcher query, window, sort, limit, aggs, scroll, search_after)
      description: Without start_time and end_time the window is the last 10 minutes.
      tags: [native]
      requestBody:
        content: {application/json: {schema: SearchBodySchema}}
      responses:
        200:
          description: a page of events
          content: {application/json: {schema: SearchResponseSchema}}
    """
    return search_response(run_search(namespace, request_json()))


@bp.route("/namespaces/<namespace>/events/scroll", methods=["GET", "POST"])
def scroll_events(namespace: str) -> ResponseReturnValue:
    """The next batch of a scroll (``scroll_id`` in the body or the query string).
    ---
    get:
      summary: The next page of a scroll (scroll_id in the query string)
      tags: [native]
      parameters:
        - {in: query, name: scroll_id, required: true, schema: {type: string}}
      responses:
        200:
          description: the next page; an empty scroll_id means it was the last
          content: {application/json: {schema: SearchResponseSchema}}
    post:
      summary: The next page of a scroll
      tags: [native]
      requestBody:
        content: {application/json: {schema: ScrollBodySchema}}
      responses:
        200:
          description: the next page; an empty scroll_id means it was the last
          content: {application/json: {schema: SearchResponseSchema}}
    """
    body = request.args.to_dict() if request.method == "GET" else request_json()
    return search_response(run_scroll(namespace, body))


@bp.post("/namespaces/<namespace>/events/aggregate")
def aggregate_events(namespace: str) -> ResponseReturnValue:
    """Named aggregations over the matching events.
    ---
    post:
      summary: Named aggregations (field, date histogram, cardinality) over matching events
      tags: [native]
      requestBody:
        content: {application/json: {schema: AggregateBodySchema}}
      responses:
        200:
          description: the aggregations, keyed by their names
          content: {application/json: {schema: AggregateResponseSchema}}
    """
    result = run_aggregate(namespace, request_json())
    return {"aggs": result.aggs, "total_hits": result.total, "took_ms": result.took_ms}
