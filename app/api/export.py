"""The native streaming export (``/api/v1/namespaces/{ns}/events/export``)."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from app.access.ratelimit import export_limit
from app.api.body import request_json
from app.api.exporting import export_response

bp = Blueprint("export", __name__, url_prefix="/api/v1")


@bp.route("/namespaces/<namespace>/events/export", methods=["GET", "POST"])
@export_limit
def export_events(namespace: str) -> ResponseReturnValue:
    """Every matching event, streamed as NDJSON or CSV (no window default: all time).
    ---
    get:
      summary: Export every matching event (streamed NDJSON or CSV)
      description: >
        Streams every event of the namespace that matches `query` between
        `start_time` and `end_time` (both inclusive; a missing end is open, so
        neither means all time), with no cap, sorted on time then id. NDJSON
        (default) has one event per line as stored; CSV has a header row, nested
        fields flattened with dotted names, and labels as one JSON column. The
        parameters are checked before the stream starts (400 as JSON). Resume an
        interrupted export with `after_time` and `after_id` of the last event received.
      tags: [native]
      parameters:
        - {in: query, schema: ExportParamsSchema}
      responses:
        200: {$ref: "#/components/responses/ExportStream"}
    post:
      summary: Export every matching event, parameters in a JSON body
      tags: [native]
      requestBody:
        content:
          application/json:
            schema: ExportParamsSchema
      responses:
        200: {$ref: "#/components/responses/ExportStream"}
    """
    raw = request.args.to_dict() if request.method == "GET" else request_json()
    return export_response(namespace, raw)
