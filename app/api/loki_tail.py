"""Loki's live tail (``/loki/api/v1/tail``): a WebSocket over the follow feed (DESIGN §10, §12).

logcli (pkg/logcli/client/client.go LiveTailQueryConn) and Grafana's live mode
connect with ``query``, ``limit`` (lines per frame, default 100), ``start``
(Loki's forms; default an hour ago) and ``delay_for`` (0..5 s; accepted, the
feed already waits for writes to settle). Each text frame is Loki's
TailResponse (pkg/loghttp/tail.go): ``{"streams": [{"stream": {...}, "values":
[["<ns>", "<line>"], ...]}]}``.

The feed delivers every matching event once, in the order the service stored
them (``ingested_at``, then id): ``start`` picks the events *stored* at or after
it (the follow feed's ``start_time``), not event times; entries carry each
event's own time. The request is checked before the WebSocket handshake, so a
refusal is a plain HTTP answer in Loki's error shape (a 429 when the key holds
its ``AUDITLOG_FOLLOW_STREAMS_PER_KEY`` follow streams already: a tail is one).
A tail ends when the client closes it or the worker stops.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from app.api import loki_params as params
from app.api import loki_results as results
from app.api.follow import stream_slots
from app.audit.notes import note_now
from app.engine.extension import current_follow
from app.engine.follow_cursor import CursorState
from app.engine.loki_reader import Line, stream_labels
from app.errors import InvalidInput
from app.model.timestamps import parse_timestamp
from app.observe.lifecycle import STOPPING

MAX_DELAY_S = 5  # Loki's maxDelayForInTailing
POLL_S = 1.0  # how long a caught-up tail waits before reading again


@dataclass(frozen=True)
class TailRequest:
    """A checked tail request."""

    namespace: str
    key_id: str
    text: str
    query: dict[str, Any]
    limit: int
    start_ns: int


def tail_request(namespace: str, key_id: str, text: str, query: dict[str, Any],
                 args: Mapping[str, str]) -> TailRequest:
    """Check a tail request's parameters. Raises InvalidInput."""
    delay = args.get("delay_for", "") or "0"
    if not delay.isdigit() or int(delay) > MAX_DELAY_S:
        raise InvalidInput(f"delay_for: a whole number of seconds from 0 to {MAX_DELAY_S}",
                           field="delay_for")
    start = (params.timestamp_ns(args["start"], "start") if args.get("start")
             else time.time_ns() - params.DEFAULT_SINCE_NS)
    return TailRequest(namespace, key_id, text, query, params.limit(args), start)


def frame(events: list[dict[str, Any]]) -> str:
    """One TailResponse frame of events, in the order given."""
    lines = [Line(stream_labels(e), parse_timestamp(e["time"])[0], orjson.dumps(e).decode())
             for e in events]
    return orjson.dumps({"streams": results.streams(lines, 0, True)}).decode()


def run_tail(ws: Any, job: TailRequest) -> None:
    """Send frames until the client closes the socket or the worker stops.

    ``ws`` is a flask-sock (simple-websocket) server connection: ``send`` and
    ``receive`` raise ConnectionClosed once the client is gone, which ends the tail.
    """
    reader, _ = current_follow()
    cursor = CursorState.starting_at(job.start_ns)
    while not STOPPING.is_set():
        batch = reader.read(job.namespace, job.query, cursor, job.limit)
        cursor = batch.state
        if batch.events:
            ws.send(frame(batch.events))
            note_now("audit.follow", job.namespace, query=job.text, count=len(batch.events),
                     mode="loki-tail", late=batch.late)
        if batch.caught_up:
            ws.receive(timeout=POLL_S)  # what the client sends is ignored


def hold_slot(job: TailRequest) -> None:
    """Take one of the key's follow streams for this tail. Raises RateLimited (a 429)."""
    stream_slots().acquire(job.key_id)


def release_slot(job: TailRequest) -> None:
    """Give the tail's stream back."""
    stream_slots().release(job.key_id)
