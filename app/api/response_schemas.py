"""marshmallow schemas of the JSON answers, for the OpenAPI document only.

Responses are built as dicts by the views; these schemas describe them so that
the document (``app.openapi``) is generated, not written by hand. Where a
surface adds fields later, ``unknown = INCLUDE`` keeps the description open.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class _Open(Schema):
    class Meta:
        unknown = INCLUDE


class ErrorSchema(_Open):
    """Every error: a stable code, a message, and details such as ``field``."""

    code = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True)
    field = fields.String(metadata={"description": "the request parameter at fault"})
    retry_after = fields.Integer(metadata={"description": "seconds (429, 503)"})


class _ActorOut(_Open):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    type = fields.String()
    group_id = fields.String()


class _TargetOut(_Open):
    kind = fields.String()
    id = fields.String()
    name = fields.String()
    additional_id = fields.String()


class EventOutSchema(_Open):
    """An event as stored and returned (DESIGN §4)."""

    id = fields.String(required=True)
    time = fields.String(required=True, metadata={"description": "RFC 3339, UTC, full precision"})
    namespace = fields.String(required=True)
    action = fields.String()
    outcome = fields.String()
    actor = fields.Nested(_ActorOut)
    target = fields.Nested(_TargetOut)
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    ingested_at = fields.String(metadata={
        "description": "RFC 3339, UTC: when the service stored it (its own clock)"})


class LastSortValuesSchema(Schema):
    last_timestamp = fields.Integer(required=True, metadata={"description": "epoch ns"})
    last_doc_id = fields.String(required=True)


class SearchResponseSchema(Schema):
    """The native answer of a search or scroll page."""

    events = fields.List(fields.Nested(EventOutSchema), required=True)
    total_hits = fields.Integer(required=True)
    scroll_id = fields.String(required=True, metadata={"description": "empty: no more pages"})
    last_sort_values = fields.Nested(LastSortValuesSchema, allow_none=True, required=True)
    aggs = fields.Dict(required=True)
    took_ms = fields.Integer(required=True)


class FollowResponseSchema(Schema):
    """A batch of the follow feed."""

    events = fields.List(fields.Nested(EventOutSchema), required=True)
    cursor = fields.String(required=True, metadata={
        "description": "opaque; send it back to continue after these events"})
    caught_up = fields.Boolean(required=True, metadata={
        "description": "true when the batch reached the settled watermark (no more now)"})


class AggregateResponseSchema(Schema):
    aggs = fields.Dict(required=True)
    total_hits = fields.Integer(required=True)
    took_ms = fields.Integer(required=True)


class _IngestError(Schema):
    index = fields.Integer(required=True)
    id = fields.String(allow_none=True, required=True)
    reason = fields.String(required=True)


class IngestResultSchema(_Open):
    """What an ingest request stored (200: all, 207: some failed)."""

    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    errors = fields.List(fields.Nested(_IngestError), required=True)
    ids = fields.List(fields.String(allow_none=True), required=True)


class F5AuditLogResponseSchema(Schema):
    """F5 voltshare AuditLogResponse: events as JSON strings, total_hits as a string."""

    aggs = fields.Dict(required=True)
    logs = fields.List(fields.String(), required=True)
    scroll_id = fields.String(required=True)
    total_hits = fields.String(required=True)
    last_sort_values = fields.Dict(required=True)


class F5AggregationResponseSchema(Schema):
    aggs = fields.Dict(required=True)
    total_hits = fields.String(required=True)


class HealthSchema(_Open):
    status = fields.String(required=True)
    elasticsearch = fields.String()
    templates = fields.Boolean()
    reason = fields.String()


class ImmutaApiKeySchema(Schema):
    """Immuta's ``POST /bim/apikey/authenticate`` body (a form field or JSON)."""

    apikey = fields.String(required=True, metadata={"description": "an API key's secret"})


class ImmutaTokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "a bearer token"})


class ImmutaErrorSchema(_Open):
    """An error in Immuta's style."""

    statusCode = fields.Integer(required=True)
    error = fields.String(required=True, metadata={"example": "Unauthorized"})
    message = fields.String(required=True)


class RunaiTokenRequestSchema(_Open):
    """Run:ai's ``POST /api/v1/token`` body (field names matched without regard to case)."""

    grantType = fields.String(required=True, metadata={"enum": ["app_token",
                                                                "client_credentials"]})
    AppId = fields.String(metadata={"description": "app_token: the key's id"})
    AppSecret = fields.String(metadata={"description": "app_token: the key's secret"})
    clientId = fields.String(metadata={"description": "client_credentials: the key's id"})
    clientSecret = fields.String(metadata={
        "description": "client_credentials: the key's secret"})


class RunaiTokenSchema(Schema):
    accessToken = fields.String(required=True, metadata={"description": "a bearer token"})


class RunaiErrorSchema(_Open):
    """An error in Run:ai's style."""

    code = fields.Integer(required=True, metadata={"example": 401})
    message = fields.String(required=True)
