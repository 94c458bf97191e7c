"""The audit event (DESIGN §4): validation, id derivation and the stored document.

An event is stored as the JSON a client sent, validated and normalised: the
namespace set from the URL, ``time`` folded to UTC text at full precision,
``ingested_at`` left to the store (a client's value is dropped),
``outcome`` defaulted, and an ``id`` derived from the event's content when the
client gave none, so a retried payload gets the same id. The document's
Elasticsearch ``_id`` joins namespace and id, so the same id in two namespaces
never collides.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.model.fields import LABEL_KEY
from app.model.schema_loader import FastLoader
from app.model.timestamps import TimestampError, parse_timestamp

ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The service's own audit trail (DESIGN §8): admins read it, only the service writes it.
SYSTEM_NAMESPACE = "system"
OUTCOMES = ("success", "failure", "unknown")
MAX_VALUE_CHARS = 8192
# Stamped by the store when it writes the event, from the service's clock; a value a
# client sends is ignored.
STAMP = "ingested_at"


def _anchored(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """marshmallow's Regexp validator uses ``re.match``; anchor the end too."""
    return re.compile(rf"(?:{pattern.pattern})\Z")


class Timestamp(fields.Field):
    """RFC 3339 with any offset, or unix seconds; loads to (epoch ns, UTC text)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse_timestamp(value)
        except TimestampError as exc:
            raise ValidationError(str(exc)) from None


class KeywordValue(fields.Field):
    """A string attribute; integers are accepted and kept as their decimal text."""

    # For app.schema_loader: an exact str this long or shorter loads as itself.
    str_passthrough_max = MAX_VALUE_CHARS

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError("must be a string")
        text = str(value)
        if len(text) > MAX_VALUE_CHARS:
            raise ValidationError(f"longer than {MAX_VALUE_CHARS} characters")
        return text


def _keyword(**kwargs: Any) -> KeywordValue:
    return KeywordValue(**kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ActorSchema(_Strict):
    id = _keyword()
    name = _keyword()
    email = _keyword()
    type = _keyword()
    group_id = _keyword()


class TargetSchema(_Strict):
    kind = _keyword()
    id = _keyword()
    name = _keyword()
    additional_id = _keyword()


class EventSchema(_Strict):
    """One event as a client sends it (nested ``actor``/``target`` objects)."""

    id = fields.String(validate=validate.Regexp(
        _anchored(ID_PATTERN), error="must be 1-128 characters of A-Z a-z 0-9 . _ : -"))
    time = Timestamp(required=True)
    namespace = fields.String()
    action = _keyword(required=True, validate=validate.Length(min=1))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    actor = fields.Nested(ActorSchema)
    target = fields.Nested(TargetSchema)
    tenant_id = _keyword()
    cluster_uuid = _keyword()
    project_id = _keyword()
    project_name = _keyword()
    data_source_id = _keyword()
    data_source_name = _keyword()
    record_type = _keyword()
    purpose = _keyword()
    blob_id = _keyword()
    version = _keyword()
    query = fields.String(validate=validate.Length(max=MAX_VALUE_CHARS))
    error = fields.String()
    message = fields.String()
    source_ip = fields.IP()
    user_agent = _keyword()
    api_key_id = _keyword()
    labels = fields.Dict(
        keys=fields.String(validate=validate.Regexp(
            _anchored(LABEL_KEY), error="label names are 1-64 characters of A-Z a-z 0-9 _ -")),
        values=fields.String(validate=validate.Length(max=1024)),
    )
    context = fields.Dict()
    body = fields.Dict()


@dataclass(frozen=True)
class Event:
    """A validated event, ready to store."""

    doc_id: str  # Elasticsearch _id
    id: str
    time_ns: int
    source: dict[str, Any]


def derive_id(source: dict[str, Any]) -> str:
    """A UUID from the SHA-256 of the event's canonical JSON (sorted keys, no id/namespace)."""
    content = {k: v for k, v in source.items() if k not in ("id", "namespace")}
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def doc_id(namespace: str, event_id: str) -> str:
    """The Elasticsearch _id of an event: namespace and id (namespaces hold no ':')."""
    return f"{namespace}:{event_id}"


# The canonical text of an address (clients send the same few over and over).
_ip_text = functools.lru_cache(maxsize=16_384)(str)
_SCHEMA = EventSchema()
# The same load without marshmallow's bookkeeping for valid events (ingest's hot path);
# invalid ones still go through _SCHEMA, which words the errors.
_FAST = FastLoader.for_schema(_SCHEMA)


def load_event(raw: Any, namespace: str) -> Event:
    """Validate one raw event for ``namespace``; raise ValidationError with field messages."""
    if not isinstance(raw, dict):
        raise ValidationError({"_schema": ["an event must be a JSON object"]})
    if STAMP in raw:  # the service stamps it (an exported event re-ingests as it is)
        raw = {name: value for name, value in raw.items() if name != STAMP}
    data = _FAST.load(raw) if _FAST is not None else None
    if data is None:
        data = _SCHEMA.load(raw)
    given = data.pop("namespace", namespace)
    if given != namespace:
        raise ValidationError(
            {"namespace": [f"{given!r} differs from the namespace in the URL ({namespace!r})"]}
        )
    time_ns, time_text = data.pop("time")
    source: dict[str, Any] = {"time": time_text, "namespace": namespace}
    source.update(data)
    source.setdefault("outcome", "unknown")
    if "source_ip" in source:
        source["source_ip"] = _ip_text(source["source_ip"])
    for nested in ("actor", "target"):
        if nested in source and not source[nested]:
            del source[nested]
    event_id = source.get("id") or derive_id(source)
    source["id"] = event_id
    return Event(doc_id(namespace, event_id), event_id, time_ns, source)
