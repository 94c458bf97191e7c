"""F5 Distributed Cloud voltshare "Audit Log Query" (seed 001), same field names.

``logs`` holds each event as a JSON string and ``total_hits`` is a string, as
in the seed's response.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from app.access.ratelimit import scroll_open_limit
from app.api.body import request_json
from app.api.searching import run_aggregate, run_scroll, run_search
from app.engine.search import SearchResult

bp = Blueprint("f5", __name__, url_prefix="/api/secret_management/namespaces/<namespace>")


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


@bp.post("/voltshare/audit_logs")
@scroll_open_limit
def audit_logs(namespace: str) -> ResponseReturnValue:
    """Audit logs matching the request's query and window.
    ---
    post:
      summary: F5 voltshare audit logs (seed 001 AuditLogRequest)
      tags: [f5]
      requestBody:
        content: {application/json: {schema: SearchBodySchema}}
      responses:
        200:
          description: AuditLogResponse
          content: {application/json: {schema: F5AuditLogResponseSchema}}
    """
    return audit_log_response(run_search(namespace, request_json()))


@bp.route("/voltshare/audit_logs/scroll", methods=["GET", "POST"])
def audit_logs_scroll(namespace: str) -> ResponseReturnValue:
    """The next batch of a scroll.
    ---
    get:
      summary: F5 voltshare scroll (scroll_id in the query string)
      tags: [f5]
      parameters:
        - {in: query, name: scroll_id, required: true, schema: {type: string}}
      responses:
        200:
          description: AuditLogResponse
          content: {application/json: {schema: F5AuditLogResponseSchema}}
    post:
      summary: F5 voltshare scroll
      tags: [f5]
      requestBody:
        content: {application/json: {schema: ScrollBodySchema}}
      responses:
        200:
          description: AuditLogResponse
          content: {application/json: {schema: F5AuditLogResponseSchema}}
    """
    body = request.args.to_dict() if request.method == "GET" else request_json()
    return audit_log_response(run_scroll(namespace, body))


@bp.post("/voltshare/audit_logs/aggregation")
def audit_logs_aggregation(namespace: str) -> ResponseReturnValue:
    """Aggregations over the matching audit logs.
    ---
    post:
      summary: F5 voltshare aggregations
      tags: [f5]
      requestBody:
        content: {application/json: {schema: AggregateBodySchema}}
      responses:
        200:
          description: AuditLogAggregationResponse
          content: {application/json: {schema: F5AggregationResponseSchema}}
    """
    result = run_aggregate(namespace, request_json())
    return {"aggs": result.aggs, "total_hits": str(result.total)}
