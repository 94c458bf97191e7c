"""F5 Distributed Cloud audit-log queries (seed 001), same field names, on two paths.

- voltshare: ``/api/secret_management/namespaces/{ns}/voltshare/audit_logs``;
- the tenant-wide audit API: ``/api/data/namespaces/{ns}/audit_logs``;

each with ``/scroll`` (GET or POST) and ``/aggregation``, with the same request
and response shapes. ``logs`` holds each event as a JSON string and
``total_hits`` is a string, as in the seed's response. Bodies are read as F5's
protobuf-generated clients write them (``app.api.proto3_json``): zero values
unset, integers as strings or numbers, unknown fields ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from app.access.ratelimit import scroll_open_limit
from app.api.body import request_json
from app.api.proto3_json import F5AggregateBodySchema, F5ScrollBodySchema, F5SearchBodySchema
from app.api.searching import run_aggregate, run_scroll, run_search
from app.engine.search import SearchResult

voltshare_bp = Blueprint("f5", __name__,
                         url_prefix="/api/secret_management/namespaces/<namespace>/voltshare")
tenant_bp = Blueprint("f5_tenant", __name__, url_prefix="/api/data/namespaces/<namespace>")

_SEARCH = F5SearchBodySchema()
_AGGREGATE = F5AggregateBodySchema()
_SCROLL = F5ScrollBodySchema()


def audit_log_response(result: SearchResult) -> dict[str, Any]:
    """The seed's AuditLogResponse."""
    return {
        "aggs": result.aggs,
        "logs": [orjson.dumps(event).decode() for event in result.events],
        "scroll_id": result.scroll_id,
        "total_hits": str(result.total),
        "last_sort_values": (result.last_sort_values.as_dict()
                             if result.last_sort_values else {}),
    }


def _documented(view: Callable[..., ResponseReturnValue], api: str,
                doc: str) -> Callable[..., ResponseReturnValue]:
    """``view`` with its OpenAPI docstring; ``{api}`` in it names the path's API."""
    view.__doc__ = doc.replace("{api}", api)
    return view


_SEARCH_DOC = """Audit logs matching the request's query and window.
    ---
    post:
      summary: F5 {api} audit logs (seed 001 AuditLogRequest)
      tags: [f5]
      requestBody:
        content: {application/json: {schema: SearchBodySchema}}
      responses:
        200:
          description: AuditLogResponse
          content: {application/json: {schema: F5AuditLogResponseSchema}}
    """
_SCROLL_DOC = """The next batch of a scroll.
    ---
    get:
      summary: F5 {api} scroll (scroll_id in the query string)
      tags: [f5]
      parameters:
        - {in: query, name: scroll_id, required: true, schema: {type: string}}
      responses:
        200:
          description: AuditLogResponse
          content: {application/json: {schema: F5AuditLogResponseSchema}}
    post:
      summary: F5 {api} scroll
      tags: [f5]
      requestBody:
        content: {application/json: {schema: ScrollBodySchema}}
      responses:
        200:
          description: AuditLogResponse
          content: {application/json: {schema: F5AuditLogResponseSchema}}
    """
_AGGREGATION_DOC = """Aggregations over the matching audit logs.
    ---
    post:
      summary: F5 {api} aggregations
      tags: [f5]
      requestBody:
        content: {application/json: {schema: AggregateBodySchema}}
      responses:
        200:
          description: AuditLogAggregationResponse
          content: {application/json: {schema: F5AggregationResponseSchema}}
    """


def _register(bp: Blueprint, api: str) -> None:
    """The three F5 routes on ``bp`` (one view function per route, as OpenAPI needs)."""

    def audit_logs(namespace: str) -> ResponseReturnValue:
        return audit_log_response(run_search(namespace, request_json(), _SEARCH))

    def audit_logs_scroll(namespace: str) -> ResponseReturnValue:
        body = request.args.to_dict() if request.method == "GET" else request_json()
        return audit_log_response(run_scroll(namespace, body, _SCROLL))

    def audit_logs_aggregation(namespace: str) -> ResponseReturnValue:
        result = run_aggregate(namespace, request_json(), _AGGREGATE)
        return {"aggs": result.aggs, "total_hits": str(result.total)}

    bp.post("/audit_logs")(scroll_open_limit(_documented(audit_logs, api, _SEARCH_DOC)))
    bp.route("/audit_logs/scroll", methods=["GET", "POST"])(
        _documented(audit_logs_scroll, api, _SCROLL_DOC))
    bp.post("/audit_logs/aggregation")(
        _documented(audit_logs_aggregation, api, _AGGREGATION_DOC))


_register(voltshare_bp, "voltshare")
_register(tenant_bp, "tenant-wide")
