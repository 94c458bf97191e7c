"""Immuta's audit API (seed 000) over the key's namespace.

- ``GET /audit`` -> ``{hits, count}``: ``dataSourceId, projectId, profileId,
  recordType, outcome`` are repeatable (values ORed, parameters ANDed; also
  ``name=1,2`` or ``name[]=1``), ``blobId`` and ``purpose`` exact values,
  ``minDate``/``maxDate`` inclusive bounds (RFC 3339, ``yyyy-MM-dd``, unix
  seconds, or unix milliseconds — Immuta's own ``dateTime`` form — see
  ``app.query_params``), ``offset``, ``size`` (default 50, 1..1000),
  ``sortField`` (any Immuta record field that is indexed, default ``dateTime``;
  ties by time, then id) and ``sortOrder`` (``asc``/``desc``, default ``desc``).
  The seed types the ids as integers and outcome as "Array[integer]"; the store
  keeps them as strings, so any value is accepted and matched exactly.
- ``GET /audit/{recordId}`` -> ``{hits: [record], count: 1}`` (the seed's
  ``hits``, in the same envelope as the search).
- ``GET /audit/apikey/activity`` -> ``{value, count}``: the calling key's own
  recent requests, read from the service's self-audit trail (namespace
  ``system``, ``api_key_id`` = the key), newest first.
- ``GET /audit/queries/dataSource/{dataSourceId}/mine`` -> a JSON array of the
  distinct ``query`` texts that the key's actor (``actor_id``) ran on that data
  source: ``auditId`` (ids of the latest 100 runs, newest first), ``query``,
  ``lastRun`` (unix seconds), ``timesRun``, and ``name`` (the ``target.name`` of
  the latest run, e.g. the data source's name).

Records carry the field registry's ``immuta`` names (``dateTime`` as stored,
RFC 3339 at full precision); integer-typed ids are numbers when the stored
value is a decimal number.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from app.access.auth import require
from app.api.query_params import (
    Filter,
    Instant,
    NamespaceParams,
    Repeated,
    load_args,
    window,
)
from app.api.searching import noted_search
from app.api.surface import surface_call
from app.audit.notes import SYSTEM_NAMESPACE, note
from app.engine.distinct import QUERY_SORTS, distinct_queries
from app.engine.extension import current_engine
from app.engine.filters import exact_field, filter_query
from app.engine.search import SearchRequest
from app.errors import Forbidden
from app.model.fields import IMMUTA, REGISTRY
from app.model.records import surface_record, surface_value
from app.model.time_window import TimeWindow

bp = Blueprint("immuta", __name__, url_prefix="/audit")

DEFAULT_SIZE = 50
MAX_SIZE = 1_000
SORT_ORDERS = {"asc": "ASCENDING", "desc": "DESCENDING"}
# Every Immuta record field with an indexed form can order the search: name -> indexed field.
SORT_FIELDS = {name: field.exact_field for name, field in REGISTRY.for_surface(IMMUTA).items()
               if field.exact_field is not None}
# ``mine`` orders its summaries by lastRun (dateTime is its seed name), timesRun or query.
MINE_SORT_FIELDS = ("dateTime", *QUERY_SORTS)


def _offset() -> fields.Integer:
    return fields.Integer(load_default=0, validate=validate.Range(min=0),
                          metadata={"description": "used with size to fetch pages"})


def _size() -> fields.Integer:
    return fields.Integer(load_default=DEFAULT_SIZE, validate=validate.Range(1, MAX_SIZE),
                          metadata={"description": "results per page (default 50)"})


def _sort_field(choices: tuple[str, ...]) -> fields.String:
    return fields.String(load_default="dateTime", validate=validate.OneOf(choices),
                         metadata={"description": "sorts results by field (default dateTime)"})


def _sort_order() -> fields.String:
    return fields.String(load_default="desc", validate=validate.OneOf(list(SORT_ORDERS)),
                         metadata={"description": "asc or desc (default desc)"})


class ImmutaAuditParams(NamespaceParams):
    """Parameters of ``GET /audit``."""

    dataSourceId = Repeated("the data source ID")
    projectId = Repeated("the project ID")
    profileId = Repeated("the user profile ID")
    recordType = Repeated("the type of audit event")
    outcome = Repeated("the outcome: success, failure or unknown")
    minDate = Instant(metadata={"description": "the minimum date (inclusive)"})
    maxDate = Instant(end=True, metadata={
        "description": "the maximum date (inclusive; a date alone: the whole day)"})
    blobId = Filter("the blob ID")
    purpose = Filter("the purpose ID")
    offset = _offset()
    size = _size()
    sortField = _sort_field(tuple(SORT_FIELDS))
    sortOrder = _sort_order()


class ImmutaMineParams(NamespaceParams):
    """Parameters of ``GET /audit/queries/dataSource/{dataSourceId}/mine``."""

    offset = _offset()
    size = _size()
    sortField = _sort_field(MINE_SORT_FIELDS)
    sortOrder = _sort_order()


class ImmutaActivityParams(NamespaceParams):
    """Parameters of ``GET /audit/apikey/activity``."""

    class Meta(NamespaceParams.Meta):
        exclude = ("namespace",)

    offset = _offset()
    size = _size()


_SEARCH = ImmutaAuditParams()
_MINE = ImmutaMineParams()
_ACTIVITY = ImmutaActivityParams()
_NAMESPACE_ONLY = NamespaceParams()


@bp.get("")
def search_audit() -> ResponseReturnValue:
    """Search for audit records.
    ---
    get:
      summary: Search for audit records (Immuta)
      tags: [immuta]
      parameters:
        - {in: query, schema: ImmutaAuditParams}
      responses:
        200:
          description: "`{hits: [records], count: total}`"
    """
    call = surface_call(_SEARCH)
    loaded = call.params
    result = call.search(window(loaded["minDate"], loaded["maxDate"], "minDate", "maxDate"),
                         loaded["size"], SORT_ORDERS[loaded["sortOrder"]],
                         order_by=SORT_FIELDS[loaded["sortField"]], offset=loaded["offset"])
    return {"hits": [surface_record(event, IMMUTA) for event in result.events],
            "count": result.total}


@bp.get("/apikey/activity")
def apikey_activity() -> ResponseReturnValue:
    """Query for the recent activity using the API key.
    ---
    get:
      summary: Recent activity of the calling API key (Immuta)
      tags: [immuta]
      parameters:
        - {in: query, schema: ImmutaActivityParams}
      responses:
        200:
          description: "`{value: [records, newest first], count: total}`"
    """
    loaded = load_args(_ACTIVITY, request.args)
    principal = require("reader")
    search = SearchRequest(
        namespace=SYSTEM_NAMESPACE,
        query=filter_query({"api_key_id": principal.key_id}),
        window=TimeWindow(None, None),  # recent activity: newest first, no window
        limit=loaded["size"],
        sort="DESCENDING",
        offset=loaded["offset"],
    )
    result = noted_search(search, principal.key_id, f"api_key_id={principal.key_id}")
    return {"value": [surface_record(event, IMMUTA) for event in result.events],
            "count": result.total}


@bp.get("/queries/dataSource/<data_source_id>/mine")
def my_queries(data_source_id: str) -> ResponseReturnValue:
    """Return the current user's distinct queries for the data source.
    ---
    get:
      summary: The calling key's user's distinct queries on a data source (Immuta)
      tags: [immuta]
      parameters:
        - {in: query, schema: ImmutaMineParams}
      responses:
        200:
          description: "`[{auditId, query, lastRun, timesRun, name}]`"
    """
    call = surface_call(_MINE)
    loaded, principal, namespace = call.params, call.principal, call.namespace
    if not principal.actor_id:
        raise Forbidden("this key has no actor_id, so it has no queries of its own; "
                        "create the key with an actor_id")
    sort = loaded["sortField"]
    runs = distinct_queries(
        current_engine(), namespace,
        filter_query({"profileId": principal.actor_id, "dataSourceId": data_source_id}),
        text_field=exact_field("query"), id_field="id", name_field="target.name",
        sort="lastRun" if sort == "dateTime" else sort,
        descending=loaded["sortOrder"] == "desc", offset=loaded["offset"], size=loaded["size"],
    )
    note("audit.aggregate", namespace,
         query=f"distinct queries of profileId={principal.actor_id} "
               f"dataSourceId={data_source_id} {call.described()}".strip(),
         count=len(runs))
    return [{"auditId": [surface_value(IMMUTA, "id", audit_id) for audit_id in run.ids],
             "query": run.text,
             "lastRun": run.last_run_ms // 1000,
             "timesRun": run.times_run,
             "name": run.name} for run in runs]


@bp.get("/<record_id>")
def get_audit_record(record_id: str) -> ResponseReturnValue:
    """Retrieve a specific audit record.
    ---
    get:
      summary: One audit record by id (Immuta)
      tags: [immuta]
      parameters:
        - {in: query, schema: NamespaceParams}
      responses:
        200:
          description: "`{hits: [record], count: 1}`"
    """
    event = surface_call(_NAMESPACE_ONLY).event(record_id, f"no audit record {record_id!r}")
    return {"hits": [surface_record(event, IMMUTA)], "count": 1}

