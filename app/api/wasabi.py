"""Wasabi AiR's audit API (seed 003) over the key's namespace.

- ``GET /api/data/audit`` -> ``{audit_events, total, page}``: filters ``user_id``,
  ``group_id``, ``target_kind``, ``target_id``, ``action_key`` (exact values,
  ANDed); ``from``/``to`` return events strictly newer / strictly older than
  the given times (the seed's words); ``order`` is one of ``user_id``,
  ``group_id``, ``target_kind``, ``action_key``, ``ctime`` (default), always
  ascending with ties broken by time then id — the seed's example lists page
  0 oldest first; ``page`` (default 0) of ``count`` (default 20, 1..1000)
  events. Paging beyond Elasticsearch's result window is a 400 pointing to
  the native search_after API.
- ``GET /api/data/audit/{id}`` -> one record.
- ``GET /api/data/audit/filters`` -> every target kind with all its action keys.

Records carry the seed's fields (``id, user_id, action_key, target_kind,
target_id, time``, ``additional_id`` when present), named by the field registry.
"""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from app.api.query_params import (
    Filter,
    Instant,
    NamespaceParams,
    exclusive_window,
)
from app.api.surface import surface_call
from app.audit.notes import note
from app.engine.distinct import kinds_with_actions
from app.engine.extension import current_engine
from app.engine.filters import exact_field
from app.errors import InvalidInput
from app.model.fields import WASABI
from app.model.records import surface_record

bp = Blueprint("wasabi", __name__, url_prefix="/api/data/audit")

ORDERS = ("user_id", "group_id", "target_kind", "action_key", "ctime")
DEFAULT_COUNT = 20
MAX_COUNT = 1_000
# Every order is ascending: the seed's example answers page 0 with its oldest events first.
SORT = "ASCENDING"


class WasabiAuditParams(NamespaceParams):
    """Parameters of ``GET /api/data/audit``."""

    user_id = Filter("the ID of the user by which to filter events")
    group_id = Filter("the ID of the group by which to filter events")
    target_kind = Filter("the target_kind by which to filter events")
    target_id = Filter("the ID of the target object by which to filter events")
    action_key = Filter("the specific action key by which to filter events")
    from_ = Instant(data_key="from", metadata={
        "description": "return events newer than this time (RFC 3339)"})
    to = Instant(metadata={"description": "return events older than this time (RFC 3339)"})
    order = fields.String(load_default="ctime", validate=validate.OneOf(ORDERS), metadata={
        "description": "the field by which to order events (ascending)"})
    page = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "the page of results to display"})
    count = fields.Integer(load_default=DEFAULT_COUNT, validate=validate.Range(1, MAX_COUNT),
                           metadata={"description": "the number of records per page"})


_LIST = WasabiAuditParams()
_NAMESPACE_ONLY = NamespaceParams()


@bp.get("")
def list_audit_events() -> ResponseReturnValue:
    """List audit records matching the filters, a page at a time.
    ---
    get:
      summary: List audit records (Wasabi AiR)
      tags: [wasabi]
      parameters:
        - {in: query, schema: WasabiAuditParams}
      responses:
        200:
          description: "`{audit_events: [records], total, page}`"
    """
    call = surface_call(_LIST)
    loaded = call.params
    try:
        result = call.search(exclusive_window(loaded["from_"], loaded["to"], "from", "to"),
                             loaded["count"], SORT, order_by=exact_field(loaded["order"]),
                             offset=loaded["page"] * loaded["count"])
    except InvalidInput as exc:
        if exc.details.get("field") != "offset":
            raise
        raise InvalidInput(exc.message, field="page") from None
    return {"audit_events": [surface_record(event, WASABI) for event in result.events],
            "total": result.total, "page": loaded["page"]}


@bp.get("/filters")
def list_filters() -> ResponseReturnValue:
    """List every target kind with the action keys seen for it.
    ---
    get:
      summary: Target kinds and their action keys (Wasabi AiR)
      tags: [wasabi]
      parameters:
        - {in: query, schema: NamespaceParams}
      responses:
        200:
          description: "`{target_kinds: [{name, action_keys: [...]}]}`"
    """
    namespace = surface_call(_NAMESPACE_ONLY).namespace
    kinds = kinds_with_actions(current_engine(), namespace, exact_field("target_kind"),
                               exact_field("action_key"))
    note("audit.aggregate", namespace, query="target kinds and action keys", count=len(kinds))
    return {"target_kinds": [{"name": kind, "action_keys": actions} for kind, actions in kinds]}


@bp.get("/<event_id>")
def get_audit_event(event_id: str) -> ResponseReturnValue:
    """Retrieve one audit record by its ID.
    ---
    get:
      summary: One audit record by id (Wasabi AiR)
      tags: [wasabi]
      parameters:
        - {in: query, schema: NamespaceParams}
      responses:
        200:
          description: "the record: `{id, user_id, action_key, target_kind, target_id, time}`"
    """
    event = surface_call(_NAMESPACE_ONLY).event(event_id, f"no audit event {event_id!r}")
    return surface_record(event, WASABI)
