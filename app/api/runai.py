"""Run:ai's audit log API (seed 002): ``GET /v1/k8s/audit`` over the key's namespace.

Filters ``cluster_uuid, action, source_type, source_id, source_name,
entity_type, entity_id`` (exact values, ANDed), ``success`` (true: outcome
success, false: outcome failure, blank: all), ``start``/``end`` (inclusive;
``yyyy-MM-dd``, ``yyyy-MM-ddTHH:mm:ss`` in UTC, or RFC 3339; a date alone as
``end`` means the end of that day), ``limit`` (1..500, default 50) and
``offset``. Newest first, ties by id. The answer is a JSON array of records in
the seed's names (the field registry's ``runai`` names) plus ``success``: true
or false from the outcome, left out when the outcome is unknown. As in the
seed, ``id`` and ``tenantId`` are integers when the stored value is a decimal
number, strings otherwise.

``download=true`` streams every match (no limit, no offset) as the attachment
``logs.json``: one valid JSON array, written in chunks from a point-in-time
scan, so memory stays constant whatever the number of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from flask import Blueprint, Response, request, stream_with_context
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from app import metrics
from app.api.key_namespace import key_namespace
from app.api.searching import noted_search
from app.export_formats import CHUNK_BYTES
from app.fields import RUNAI
from app.filters import filter_query
from app.query_params import (
    Filter,
    Instant,
    NamespaceParams,
    described,
    filters_of,
    load_args,
    window,
)
from app.ratelimit import export_limit_if
from app.records import surface_record
from app.search import SearchRequest
from app.self_audit import note
from app.services import get_services

bp = Blueprint("runai", __name__, url_prefix="/v1/k8s")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# The seed's `success` (true/false) against the stored outcome; any other outcome has none.
SUCCESS_OF_OUTCOME = {"success": True, "failure": False}
OUTCOME_OF_SUCCESS = {value: key for key, value in SUCCESS_OF_OUTCOME.items()}
SORT = "DESCENDING"


class RunaiAuditParams(NamespaceParams):
    """Parameters of ``GET /v1/k8s/audit``."""

    start = Instant(metadata={"description": "starting date: yyyy-MM-dd or "
                                             "yyyy-MM-ddTHH:mm:ss (UTC), or RFC 3339"})
    end = Instant(end=True, metadata={"description": "ending date, inclusive (a date alone: "
                                                     "the whole day)"})
    cluster_uuid = Filter("the cluster uuid of the logged operation")
    action = Filter("the action of the logged operation")
    source_type = Filter("the type of the source of the action")
    source_id = Filter("the id of the source of the action")
    source_name = Filter("the name of the source of the action")
    entity_type = Filter("the type of the action related entity")
    entity_id = Filter("the id of the action related entity")
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "the maximum number of entries to return"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "the offset of the first item returned"})
    success = fields.Boolean(load_default=None, metadata={
        "description": "true for successes, false for failures, blank for all"})
    download = fields.Boolean(load_default=False, metadata={
        "description": "true: every match (no limit) as the attachment logs.json"})


_PARAMS = RunaiAuditParams()


def runai_record(event: dict[str, Any]) -> dict[str, Any]:
    """One event in the seed's field names, with ``success`` from the outcome."""
    record = surface_record(event, RUNAI)
    success = SUCCESS_OF_OUTCOME.get(event.get("outcome", ""))
    if success is not None:
        record["success"] = success
    return record


def json_array_chunks(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array of ``records``, one per line, in chunks of about CHUNK_BYTES."""
    parts: list[bytes] = [b"["]
    size = 0
    separator = b"\n"
    for record in records:
        part = separator + orjson.dumps(record)
        separator = b",\n"
        parts.append(part)
        size += len(part)
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"\n]\n")
    yield b"".join(parts)


@bp.get("/audit")
@export_limit_if(lambda: request.args.get("download", "") in fields.Boolean.truthy)
def get_audit_logs() -> ResponseReturnValue:
    """Retrieve audit logs using the query parameters.
    ---
    get:
      summary: Retrieve audit logs (Run:ai)
      description: >
        Run:ai-compatible search in the key's namespace. Answers a JSON array of
        records (newest first); with `download=true`, every match streamed as the
        attachment `logs.json`.
      tags: [runai]
      parameters:
        - {in: query, schema: RunaiAuditParams}
      responses:
        200:
          description: the matching audit logs (a JSON array)
          content:
            application/json:
              schema: {type: array, items: {type: object}}
    """
    loaded = load_args(_PARAMS, request.args)
    principal, namespace = key_namespace(loaded["namespace"])
    filters = filters_of(_PARAMS, loaded)
    if loaded["success"] is not None:
        filters["outcome"] = OUTCOME_OF_SUCCESS[loaded["success"]]
    query = filter_query(filters)
    time_window = window(loaded["start"], loaded["end"], "start", "end")
    if loaded["download"]:
        return _download(namespace, query, time_window, described(request.args))
    search = SearchRequest(namespace=namespace, query=query, window=time_window,
                           limit=loaded["limit"], sort=SORT, offset=loaded["offset"])
    result = noted_search(search, principal.key_id, described(request.args))
    return [runai_record(event) for event in result.events]


def _download(namespace: str, query: dict[str, Any], time_window: Any,
              description: str) -> Response:
    noted = note("audit.export", namespace, query=description, count=0, format="runai-json")
    events = get_services().engine.iter_events(namespace, query, time_window, SORT)
    # Opens the point-in-time and reads the first page now: a store failure is a JSON error.
    first = next(events, None)

    def records() -> Iterator[dict[str, Any]]:
        count = 0
        try:
            if first is not None:
                yield runai_record(first)
                count = 1
                for event in events:
                    yield runai_record(event)
                    count += 1
        finally:
            events.close()
            noted.count = count
            metrics.EXPORTED.labels("runai-json").inc(count)

    return Response(stream_with_context(json_array_chunks(records())),
                    mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="logs.json"',
                             "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
