"""Ingest: request body -> validated events -> one bulk write -> a per-event summary.

Bodies are one JSON object, a JSON array of objects, or NDJSON (one object per
line). A malformed body is refused whole with the line and column of the fault;
an invalid event is listed by its position while the valid ones are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from marshmallow import ValidationError

from app.errors import InvalidInput, PayloadTooLarge, malformed_json
from app.events import Event, load_event
from app.store import EventStore

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                "application/x-jsonlines", "application/jsonlines")


@dataclass
class IngestSummary:
    """The answer of an ingest request (DESIGN §7)."""

    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "errors": self.errors,
            "ids": self.ids,
        }


def parse_body(body: bytes, content_type: str | None, max_events: int) -> list[Any]:
    """The raw events of a request body.

    Raises InvalidInput for malformed JSON (with line and column) and
    PayloadTooLarge for more than ``max_events`` events.
    """
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if not body.strip():
        raise InvalidInput("the request body is empty; send an event, an array or NDJSON")
    if mimetype in NDJSON_TYPES:
        raw_events: list[Any] = []
        for number, line in enumerate(body.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                raw_events.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise malformed_json(exc, line_offset=number - 1) from None
            if len(raw_events) > max_events:
                break
    else:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise malformed_json(exc) from None
        raw_events = parsed if isinstance(parsed, list) else [parsed]
    if len(raw_events) > max_events:
        raise PayloadTooLarge(
            f"more than {max_events} events in one request (AUDITLOG_MAX_BATCH_EVENTS)",
            max_events=max_events,
        )
    return raw_events


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as ``field: message`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(_flatten(value, name))
        return out
    if isinstance(messages, list):
        return [line for m in messages for line in _flatten(m, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def ingest(
    store: EventStore, namespace: str, raw_events: list[Any], refresh: str | bool = False
) -> IngestSummary:
    """Validate and store events in ``namespace``; invalid ones are reported, not stored."""
    summary = IngestSummary()
    valid: list[Event] = []
    positions: list[int] = []
    for position, raw in enumerate(raw_events):
        try:
            event = load_event(raw, namespace)
        except ValidationError as exc:
            given = raw.get("id") if isinstance(raw, dict) else None
            summary.errors.append({
                "index": position,
                "id": given if isinstance(given, str) else None,
                "reason": "; ".join(_flatten(exc.messages)),
            })
            summary.ids.append(None)
            continue
        valid.append(event)
        positions.append(position)
        summary.ids.append(event.id)
    result = store.create_events(valid, refresh=refresh)
    summary.created = result.created
    summary.duplicates = result.duplicates
    for position_in_valid, event_id, reason in result.failed:
        position = positions[position_in_valid]
        summary.errors.append({"index": position, "id": event_id, "reason": reason})
        summary.ids[position] = None
    summary.errors.sort(key=lambda e: e["index"])
    return summary
