"""What a key may see, for the console and other clients: ``GET /api/v1/me``, the fields
of a namespace (``.../fields``) and the most frequent values of one (``.../fields/{f}/values``).

Field names, types and aliases come from the one field registry; the labels and the
values are read from the namespace's own events (``app.engine.field_values``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, fields, validate

from app.access.auth import require
from app.api.namespaces import checked_namespace
from app.api.schemas import TimeValue, load
from app.audit.notes import note
from app.engine.extension import current_engine
from app.engine.field_values import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    label_names,
    namespaces_with_events,
    top_values,
)
from app.engine.query import compile_query
from app.errors import InvalidInput, NotFound
from app.model.event import SYSTEM_NAMESPACE
from app.model.fields import REGISTRY
from app.model.time_window import search_window

bp = Blueprint("discovery", __name__, url_prefix="/api/v1")

MAX_LISTED_NAMESPACES = 1000


class MeSchema(Schema):
    """The calling key."""

    id = fields.String(required=True, metadata={"description": "the key's id"})
    name = fields.String(allow_none=True)
    role = fields.String(required=True, metadata={"enum": ["reader", "writer", "admin"]})
    namespaces = fields.List(fields.String(), required=True, metadata={
        "description": "the namespaces the key may use; for a key of every namespace, those "
                       "that hold events"})
    all_namespaces = fields.Boolean(required=True, metadata={
        "description": "true when the key may use every namespace (admin)"})
    actor_id = fields.String(allow_none=True)


class FieldInfoSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True, metadata={"enum": ["keyword", "text", "ip", "date",
                                                           "object"]})
    aliases = fields.List(fields.String(), required=True)
    aggregatable = fields.Boolean(required=True, metadata={
        "description": "whether .../fields/{field}/values lists its values"})


class FieldsResponseSchema(Schema):
    fields_ = fields.List(fields.Nested(FieldInfoSchema), required=True, data_key="fields")
    labels = fields.List(fields.String(), required=True, metadata={
        "description": "labels.<key> names that hold a value in this namespace's events"})


class FieldValuesParams(Schema):
    class Meta:
        unknown = RAISE

    query = fields.String(load_default="", metadata={
        "description": "only events matching this label-matcher query"})
    prefix = fields.String(load_default="", metadata={
        "description": "only values starting with this text (case-insensitive)"})
    start_time = TimeValue(load_default=None, allow_none=True)
    end_time = TimeValue(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))


class _ValueCountSchema(Schema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)


class FieldValuesResponseSchema(Schema):
    values = fields.List(fields.Nested(_ValueCountSchema), required=True)


_VALUES = FieldValuesParams()


@bp.get("/me")
def me() -> ResponseReturnValue:
    """The calling key: id, name, role and the namespaces it may use.
    ---
    get:
      summary: The calling key (id, name, role, namespaces)
      tags: [native]
      responses:
        200:
          description: the key
          content: {application/json: {schema: MeSchema}}
    """
    principal = require("reader")
    if principal.namespaces is None:
        namespaces = namespaces_with_events(current_engine(), MAX_LISTED_NAMESPACES)
        if SYSTEM_NAMESPACE not in namespaces:
            namespaces.append(SYSTEM_NAMESPACE)
    else:
        namespaces = sorted(principal.namespaces)
    body: dict[str, Any] = {
        "id": principal.key_id, "name": principal.name, "role": principal.role,
        "namespaces": namespaces, "all_namespaces": principal.namespaces is None,
        "actor_id": principal.actor_id,
    }
    return body


@bp.get("/namespaces/<namespace>/fields")
def list_fields(namespace: str) -> ResponseReturnValue:
    """The fields a query may use here, and the labels this namespace's events carry.
    ---
    get:
      summary: Fields (names, types, aliases) and the labels seen in the namespace
      tags: [native]
      responses:
        200:
          description: the fields and labels
          content: {application/json: {schema: FieldsResponseSchema}}
    """
    require("reader", checked_namespace(namespace))
    listed = [{"name": f.name, "type": f.type, "aliases": list(f.aliases),
               "aggregatable": f.aggregatable} for f in REGISTRY]
    return {"fields": listed, "labels": label_names(current_engine(), namespace)}


@bp.get("/namespaces/<namespace>/fields/<field>/values")
def field_values(namespace: str, field: str) -> ResponseReturnValue:
    """The most frequent values of a field among the matching events of a window.
    ---
    get:
      summary: Top values of a field (most frequent first) in a window
      description: Without start_time and end_time the window is the last 10 minutes.
      tags: [native]
      parameters:
        - {in: query, schema: FieldValuesParams}
      responses:
        200:
          description: the values with their counts
          content: {application/json: {schema: FieldValuesResponseSchema}}
    """
    require("reader", checked_namespace(namespace))
    found = REGISTRY.lookup(field)
    if found is None:
        raise NotFound(f"no field {field!r}; GET /api/v1/namespaces/{namespace}/fields lists them")
    if not found.aggregatable:
        raise InvalidInput(f"field {found.name!r} ({found.type}) has no values to list",
                           field="field")
    params = load(_VALUES, request.args.to_dict())
    window = search_window(params["start_time"], params["end_time"])
    values = top_values(current_engine(), namespace, found, compile_query(params["query"]),
                        window, params["prefix"], params["limit"])
    note("audit.values", namespace, query=params["query"], count=len(values), field=found.name)
    return {"values": [{"value": v.value, "count": v.count} for v in values]}
