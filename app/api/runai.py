"""Run:ai's audit log API (seed 002): ``GET /v1/k8s/audit`` over the key's namespace.

Filters ``cluster_uuid, action, source_type, source_id, source_name,
entity_type, entity_id`` (exact values, ANDed), each also in camelCase as
Run:ai's clients send them (``clusterUuid``, ``sourceType``, ... : the
record's own field names, from the field registry), ``success`` (true: outcome
success, false: outcome failure, blank: all), ``start``/``end`` (inclusive;
``yyyy-MM-dd``, ``yyyy-MM-ddTHH:mm:ss`` in UTC, or RFC 3339, month to second
with one digit or two; a date alone as ``end`` means the end of that day),
``limit`` (1..500, default 50) and ``offset``. Newest first, ties by id. The
answer is a JSON array of records in the seed's names (the field registry's
``runai`` names) plus ``success``: true or false from the outcome, left out
when the outcome is unknown. As in the seed, ``id`` and ``tenantId`` are
integers when the stored value is a decimal number, strings otherwise.

``download=true`` streams every match (no limit, no offset) as the attachment
``logs.json``: one valid JSON array, written in chunks from a point-in-time
scan, so memory stays constant whatever the number of events.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from app.access.ratelimit import export_limit_if
from app.api.query_params import (
    Filter,
    Instant,
    NamespaceParams,
    window,
)
from app.api.streaming import JSON_ARRAY, stream_events
from app.api.surface import surface_call
from app.audit.notes import note
from app.engine.extension import current_engine
from app.engine.filters import filter_query
from app.engine.search import MAX_LIMIT
from app.model.fields import REGISTRY, RUNAI, SUCCESS_OF_OUTCOME
from app.model.records import surface_record

bp = Blueprint("runai", __name__, url_prefix="/v1/k8s")

DEFAULT_LIMIT = 50
# The seed's `success` filter (true/false) against the stored outcome.
OUTCOME_OF_SUCCESS = {value: key for key, value in SUCCESS_OF_OUTCOME.items()}
SORT = "DESCENDING"


class _RunaiParams(NamespaceParams):
    """The seed's parameters of ``GET /v1/k8s/audit``."""

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


def _camel_case_twins(schema: type[NamespaceParams]) -> dict[str, Filter]:
    """A filter under the record's (camelCase) name for each snake_case filter."""
    twins: dict[str, Filter] = {}
    for name, spec in schema().fields.items():
        field = REGISTRY.lookup(name)
        camel = field.surfaces.get(RUNAI) if field is not None else None
        if isinstance(spec, Filter) and camel not in (None, name):
            twins[camel] = Filter(f"{spec.metadata['description']} (= {name})")
    return twins


RunaiAuditParams = type("RunaiAuditParams", (_RunaiParams,), {
    **_camel_case_twins(_RunaiParams),
    "__doc__": "Parameters of ``GET /v1/k8s/audit``, filters in snake_case or camelCase.",
})
_PARAMS = RunaiAuditParams()


def runai_record(event: dict[str, Any]) -> dict[str, Any]:
    """One event in the seed's field names, with ``success`` from the outcome (the field
    registry's derived view)."""
    return surface_record(event, RUNAI)


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
    call = surface_call(_PARAMS)
    loaded = call.params
    filters = call.filters()
    if loaded["success"] is not None:
        filters["outcome"] = OUTCOME_OF_SUCCESS[loaded["success"]]
    time_window = window(loaded["start"], loaded["end"], "start", "end")
    if loaded["download"]:
        return _download(call.namespace, filter_query(filters), time_window, call.described())
    result = call.search(time_window, loaded["limit"], SORT, offset=loaded["offset"],
                         filters=filters)
    return [runai_record(event) for event in result.events]


def _download(namespace: str, query: dict[str, Any], time_window: Any,
              description: str) -> Response:
    noted = note("audit.export", namespace, query=description, count=0,
                 format=JSON_ARRAY.name)
    events = current_engine().iter_events(namespace, query, time_window, SORT)
    return stream_events(events, JSON_ARRAY, noted, shape=runai_record, filename="logs.json")
