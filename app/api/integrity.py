"""Integrity over HTTP: the signing key's public half and a namespace's checkpoints.

``GET /api/v1/integrity/public-key`` needs any valid key; ``GET
/api/v1/namespaces/{ns}/checkpoints`` needs a key that may read ``ns``.
"""

from __future__ import annotations

import itertools

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, fields, validate

from app.access.auth import authenticate, require
from app.api.namespaces import checked_namespace
from app.api.schemas import TimeNs, load
from app.engine.checkpoint import PUBLIC_FIELDS
from app.engine.integrity import current_integrity
from app.store.extension import store

bp = Blueprint("integrity", __name__, url_prefix="/api/v1")
MAX_CHECKPOINTS = 10_000


class CheckpointQuerySchema(Schema):
    """Query string of the checkpoint listing."""

    class Meta:
        unknown = RAISE

    since = TimeNs(load_default=None, allow_none=True, metadata={
        "description": "unix seconds or RFC 3339: checkpoints whose interval ends at or "
                       "after this ingest time"})
    until = TimeNs(load_default=None, allow_none=True, metadata={
        "description": "checkpoints whose interval begins at or before this ingest time"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, MAX_CHECKPOINTS),
                           metadata={"description": "most checkpoints answered, lowest seq "
                                                    "first (default 1000)"})


class PositionSchema(Schema):
    """A place in the ingest stream (OpenAPI only)."""

    ingested_at = fields.String(metadata={"format": "date-time"})
    id = fields.String()


class CheckpointSchema(Schema):
    """One checkpoint (OpenAPI only)."""

    seq = fields.Integer()
    namespace = fields.String()
    count = fields.Integer()
    first = fields.Nested(PositionSchema)
    last = fields.Nested(PositionSchema)
    hash = fields.String(metadata={"description": "SHA-256, hex"})
    prev_hash = fields.String(metadata={"description": "the previous checkpoint's hash"})
    sealed_at = fields.String(metadata={"format": "date-time"})
    signature = fields.String(metadata={"description": "Ed25519, base64"})


class CheckpointListSchema(Schema):
    """``GET /api/v1/namespaces/{ns}/checkpoints`` (OpenAPI only)."""

    checkpoints = fields.List(fields.Nested(CheckpointSchema))


class PublicKeySchema(Schema):
    """``GET /api/v1/integrity/public-key`` (OpenAPI only)."""

    algorithm = fields.String(metadata={"example": "ed25519"})
    public_key = fields.String(metadata={"description": "the raw 32 bytes, base64"})
    pem = fields.String(metadata={"description": "SubjectPublicKeyInfo PEM"})


_QUERY = CheckpointQuerySchema()


@bp.get("/integrity/public-key")
def public_key() -> ResponseReturnValue:
    """The public key that checks checkpoint and export-manifest signatures.
    ---
    get:
      summary: The service's Ed25519 public key
      tags: [integrity]
      responses:
        200:
          description: the key, raw (base64) and PEM
          content: {application/json: {schema: PublicKeySchema}}
    """
    authenticate()
    return current_integrity().signing_key.public.as_dict()


@bp.get("/namespaces/<namespace>/checkpoints")
def list_checkpoints(namespace: str) -> ResponseReturnValue:
    """The namespace's integrity checkpoints, in seq order.
    ---
    get:
      summary: List a namespace's integrity checkpoints
      description: >
        Each checkpoint seals the events ingested after the previous one's `last`
        up to its own `last`, in (`ingested_at`, `id`) order: a hash of their
        canonical JSON chained to `prev_hash`, signed with Ed25519 (see
        `/api/v1/integrity/public-key`).
      tags: [integrity]
      parameters:
        - {in: query, schema: CheckpointQuerySchema}
      responses:
        200:
          description: the checkpoints, lowest seq first
          content: {application/json: {schema: CheckpointListSchema}}
    """
    require("reader", checked_namespace(namespace))
    params = load(_QUERY, request.args.to_dict())
    documents = store.checkpoints.documents(namespace, params["since"],
                                                     params["until"])
    listed = [{name: doc.get(name) for name in PUBLIC_FIELDS}
              for doc in itertools.islice(documents, params["limit"])]
    return {"checkpoints": listed}
