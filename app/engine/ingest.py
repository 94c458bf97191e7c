"""Ingest: request body -> validated events -> bulk writes -> a per-event summary.

Bodies are one JSON object, a JSON array of objects, or NDJSON (one object per
line). A malformed body is refused whole with the line and column of the fault;
an invalid event is listed by its position while the valid ones are stored.

A large batch is written as several bulk requests of ``PIPELINE_EVENTS``
events, each sent (from a small per-process pool) as soon as its events are
validated (``app.thread_pool``), so Elasticsearch indexes one part while the
service validates the next; the answer waits for all of them and is the same
as for one bulk.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from marshmallow import ValidationError

from app.engine import thread_pool
from app.errors import InvalidInput, PayloadTooLarge, malformed_json
from app.model.event import Event, load_event
from app.observe import metrics
from app.store.events import EventStore, WriteResult

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                "application/x-jsonlines", "application/jsonlines")
# Events per bulk request of a pipelined batch; smaller batches go in one request.
PIPELINE_EVENTS = 250
log = logging.getLogger(__name__)


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


def _check_late(namespace: str, result: WriteResult, late_after_ns: int | None) -> None:
    """Count and log a write slower (stamp to acknowledgement) than the follow feed's bound."""
    took_ns = result.acknowledged_ns - result.stamped_ns
    if late_after_ns is None or not result.stamped_ns or took_ns <= late_after_ns:
        return
    metrics.FOLLOW_LATE_WRITES.inc()
    log.warning("late write: %d events in %s acknowledged %.3f s after their ingested_at, "
                "beyond the follow feed's bound of %.3f s; followers may miss them",
                result.created, namespace, took_ns / 1e9, late_after_ns / 1e9)


def ingest(
    store: EventStore, namespace: str, raw_events: list[Any], refresh: str | bool = False,
    late_after_ns: int | None = None,
) -> IngestSummary:
    """Validate and store events in ``namespace``; invalid ones are reported, not stored.

    A bulk write acknowledged more than ``late_after_ns`` after its ``ingested_at``
    stamp is counted (``auditlog_follow_late_writes_total``) and logged.
    """
    summary = IngestSummary()
    sent: list[tuple[list[int], Future[WriteResult]]] = []
    valid: list[Event] = []
    positions: list[int] = []
    last_position = len(raw_events) - 1
    pipelined = len(raw_events) > PIPELINE_EVENTS
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
        if pipelined and len(valid) == PIPELINE_EVENTS and position < last_position:
            sent.append((positions, thread_pool.submit(store.create_events, valid, refresh)))
            valid, positions = [], []
    written: list[tuple[list[int], WriteResult]] = []
    failure: Exception | None = None
    try:
        written.append((positions, store.create_events(valid, refresh=refresh)))
    except Exception as exc:
        failure = exc
    for part_positions, future in sent:  # every part finished before answering
        try:
            written.append((part_positions, future.result()))
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    for part_positions, result in written:
        _check_late(namespace, result, late_after_ns)
        summary.created += result.created
        summary.duplicates += result.duplicates
        for position_in_part, event_id, reason in result.failed:
            position = part_positions[position_in_part]
            summary.errors.append({"index": position, "id": event_id, "reason": reason})
            summary.ids[position] = None
    summary.errors.sort(key=lambda e: e["index"])
    return summary
