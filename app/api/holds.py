"""Legal holds over HTTP (``/api/v1/holds``, admin role): set, list, release.

Each change is recorded in the service's own audit trail (``audit.hold.set``,
``audit.hold.release``) with the hold's namespace, window and reason.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.access.auth import require
from app.api.body import request_json
from app.api.schemas import TimeNs, load
from app.audit.notes import note
from app.errors import NotFound
from app.model.event import NAMESPACE_PATTERN
from app.store.extension import store
from app.store.holds import Hold, HoldStore

bp = Blueprint("holds", __name__, url_prefix="/api/v1/holds")
HOLD_ID = re.compile(r"[0-9a-f]{16}")
MAX_REASON_CHARS = 2_000


class HoldCreateSchema(Schema):
    """Body of ``POST /api/v1/holds``."""

    class Meta:
        unknown = RAISE

    namespace = fields.String(required=True, validate=validate.Regexp(
        rf"(?:{NAMESPACE_PATTERN.pattern})\Z", error="not a namespace name"))
    start_time = TimeNs(required=True, metadata={
        "description": "unix seconds or RFC 3339: first event time held (inclusive)"})
    end_time = TimeNs(load_default=None, allow_none=True, metadata={
        "description": "last event time held (inclusive); null or missing: until released"})
    reason = fields.String(required=True, validate=validate.Length(1, MAX_REASON_CHARS))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("end_time") is not None and data["end_time"] < data["start_time"]:
            raise ValidationError("must not be before start_time", field_name="end_time")


class HoldSchema(Schema):
    """A hold as the API shows it (OpenAPI only)."""

    id = fields.String(metadata={"example": "5d1c0e9a7b3f2a64"})
    namespace = fields.String()
    start_time = fields.String(metadata={"format": "date-time"})
    end_time = fields.String(allow_none=True, metadata={"format": "date-time"})
    reason = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    created_by = fields.String(metadata={"description": "id of the key that set it"})


class HoldListSchema(Schema):
    """``GET /api/v1/holds`` (OpenAPI only)."""

    holds = fields.List(fields.Nested(HoldSchema))


_CREATE = HoldCreateSchema()


def _holds() -> HoldStore:
    return store.holds


def _noted(action: str, hold: Hold) -> None:
    document = hold.document()
    note(action, hold.id, target_kind="legal_hold", hold_namespace=hold.namespace,
         start_time=document["start_time"], end_time=document["end_time"], reason=hold.reason)


@bp.post("")
def set_hold() -> ResponseReturnValue:
    """Set a legal hold: retention keeps every month it touches.
    ---
    post:
      summary: Set a legal hold (admin)
      description: >
        Retention (`auditlog retention apply`) keeps every monthly index that
        the hold's window touches until the hold is released. Recorded in the
        service's own audit trail.
      tags: [holds]
      requestBody:
        required: true
        content:
          application/json:
            schema: HoldCreateSchema
      responses:
        201:
          description: the hold
          content: {application/json: {schema: HoldSchema}}
    """
    principal = require("admin")
    loaded = load(_CREATE, request_json(default_empty=False))
    hold = _holds().create(loaded["namespace"], loaded["start_time"], loaded["end_time"],
                           loaded["reason"], principal.key_id)
    _noted("audit.hold.set", hold)
    response = jsonify(hold.document())
    response.status_code = 201
    return response


@bp.get("")
def list_holds() -> ResponseReturnValue:
    """Every legal hold in force.
    ---
    get:
      summary: List legal holds (admin)
      tags: [holds]
      responses:
        200:
          description: every hold, oldest first
          content: {application/json: {schema: HoldListSchema}}
    """
    require("admin")
    return {"holds": [hold.document() for hold in _holds().list()]}


@bp.delete("/<hold_id>")
def release_hold(hold_id: str) -> ResponseReturnValue:
    """Release a legal hold.
    ---
    delete:
      summary: Release a legal hold (admin)
      description: Recorded in the service's own audit trail.
      tags: [holds]
      responses:
        200:
          description: the released hold
          content: {application/json: {schema: HoldSchema}}
    """
    require("admin")
    hold = _holds().release(hold_id) if HOLD_ID.fullmatch(hold_id) else None
    if hold is None:
        raise NotFound(f"no legal hold {hold_id!r}")
    _noted("audit.hold.release", hold)
    return hold.document()
