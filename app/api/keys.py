"""API keys over HTTP (``/api/v1/keys``, admin role): create, list, show, revoke.

The secret is in the creation answer only; no answer carries its hash.
"""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.access.auth import require
from app.api.body import request_json
from app.api.schemas import load
from app.audit.notes import note
from app.errors import NotFound
from app.model.principal import ROLES
from app.model.timestamps import TimestampError, parse_timestamp
from app.store.extension import store
from app.store.keys import MAX_NAME_CHARS, ApiKey

bp = Blueprint("keys", __name__, url_prefix="/api/v1/keys")
KEY_ID = re.compile(r"[0-9a-f]{16}")


class Expiry(fields.Field):
    """RFC 3339 (or unix seconds) in the future; loads to (epoch ns, UTC text)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            ns, text = parse_timestamp(value)
        except TimestampError as exc:
            raise ValidationError(str(exc)) from None
        if ns <= time.time_ns():
            raise ValidationError("must be in the future")
        return ns, text


class KeyCreateSchema(Schema):
    """Body of ``POST /api/v1/keys``."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, MAX_NAME_CHARS))
    namespaces = fields.List(fields.String(), load_default=list)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    actor_id = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(1, 128))
    expires_at = Expiry(load_default=None, allow_none=True)


class KeyOutSchema(Schema):
    """A key as the API shows it (OpenAPI only): never the secret nor its hash."""

    id = fields.String(metadata={"example": "3f9a0c1d2b4e5f60"})
    name = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    namespaces = fields.List(fields.String())
    actor_id = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})
    revoked = fields.Boolean()
    revoked_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class NewKeySchema(KeyOutSchema):
    """The creation answer (OpenAPI only): the key and its secret, shown this once."""

    secret = fields.String(metadata={"example": "al_3f9a0c1d2b4e5f60_..."})


class KeyListSchema(Schema):
    """``GET /api/v1/keys`` (OpenAPI only)."""

    keys = fields.List(fields.Nested(KeyOutSchema))


_CREATE = KeyCreateSchema()


def _key_or_404(key_id: str) -> ApiKey:
    key = store.keys.get(key_id) if KEY_ID.fullmatch(key_id) else None
    if key is None:
        raise NotFound(f"no API key {key_id!r}")
    return key


@bp.post("")
def create_key() -> ResponseReturnValue:
    """Create a key; the answer (201) holds its secret, shown this once.
    ---
    post:
      summary: Create an API key (admin)
      description: >
        The secret is in this answer only; the service keeps its SHA-256 hash.
        Reader and writer keys need at least one namespace; admin keys use every
        namespace. `system` (the service's own audit trail) is not a namespace a
        key can be given: admin keys read it.
      tags: [keys]
      requestBody:
        required: true
        content:
          application/json:
            schema: KeyCreateSchema
      responses:
        201:
          description: the key, with its secret
          content: {application/json: {schema: NewKeySchema}}
    """
    require("admin")
    loaded = load(_CREATE, request_json(default_empty=False))
    noted = note("audit.key.create", "", target_kind="api_key", name=loaded["name"],
                 role=loaded["role"], namespaces=loaded["namespaces"])
    new = store.keys.create(loaded["name"], loaded["role"], loaded["namespaces"],
                                 actor_id=loaded["actor_id"], expires_at=loaded["expires_at"])
    noted.namespace = new.key.id
    response = jsonify(new.as_dict())
    response.status_code = 201
    response.headers["Location"] = url_for("keys.get_key", key_id=new.key.id)
    return response


@bp.get("")
def list_keys() -> ResponseReturnValue:
    """Every key, revoked ones included (never a secret or hash).
    ---
    get:
      summary: List API keys (admin)
      tags: [keys]
      responses:
        200:
          description: every key, oldest first
          content: {application/json: {schema: KeyListSchema}}
    """
    require("admin")
    return {"keys": [key.public() for key in store.keys.list()]}


@bp.get("/<key_id>")
def get_key(key_id: str) -> ResponseReturnValue:
    """One key.
    ---
    get:
      summary: One API key (admin)
      tags: [keys]
      responses:
        200:
          description: the key
          content: {application/json: {schema: KeyOutSchema}}
    """
    require("admin")
    return _key_or_404(key_id).public()


@bp.delete("/<key_id>")
def revoke_key(key_id: str) -> ResponseReturnValue:
    """Revoke a key (idempotent); it stops working at once here, within the cache TTL elsewhere.
    ---
    delete:
      summary: Revoke an API key (admin)
      description: >
        Idempotent. The key is refused (401) at once by the instance that revoked
        it, and by the others within AUDITLOG_KEY_CACHE_TTL seconds.
      tags: [keys]
      responses:
        200:
          description: the revoked key
          content: {application/json: {schema: KeyOutSchema}}
    """
    require("admin")
    note("audit.key.revoke", key_id, target_kind="api_key")
    key = store.keys.revoke(key_id) if KEY_ID.fullmatch(key_id) else None
    if key is None:
        raise NotFound(f"no API key {key_id!r}")
    return key.public()
