"""The follow feed (``/api/v1/namespaces/{ns}/events/follow``, DESIGN §10).

One endpoint, three ways to read the settled stream (``app.follow``):

- JSON (default): one batch ``{events, cursor, caught_up}``; ``wait`` > 0
  long-polls, answering as soon as a batch has events, or empty at the deadline;
- ``Accept: text/event-stream``: Server-Sent Events, one message per event
  (``id: <cursor after it>``, ``data: <event JSON>``); a reconnect's
  ``Last-Event-ID`` resumes; a comment line is sent when idle (heartbeat);
- ``Accept: application/x-ndjson``: one event per line and a cursor line
  ``{"cursor": "..."}`` after each batch (and when idle, as the heartbeat).

The start is a ``cursor`` (or ``Last-Event-ID``), else ``start_time``, else
``from=beginning``; with none of them the feed starts now. Everything that
can be refused is checked before a stream starts (JSON errors). A batch that
delivered events is noted in the self-audit trail (an empty poll is not).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, fields, validate

from app.access.auth import require
from app.api.body import request_json
from app.api.follow_streams import StreamSlots, client_gone
from app.api.namespaces import checked_namespace
from app.api.schemas import TimeValue, load
from app.audit.notes import note, note_now
from app.engine import thread_pool
from app.engine.extension import current_follow
from app.engine.follow import FollowBatch, FollowReader
from app.engine.follow_cursor import CursorState, FollowCursors, InvalidCursor, binding
from app.engine.query import compile_query
from app.engine.search import MAX_LIMIT
from app.errors import AuditlogError, InvalidInput
from app.model.timestamps import TimestampError, parse_timestamp
from app.observe import metrics
from app.observe.lifecycle import STOPPING

bp = Blueprint("follow", __name__, url_prefix="/api/v1")

JSON, SSE, NDJSON = "application/json", "text/event-stream", "application/x-ndjson"
MAX_WAIT_S = 60
MODE_NAMES = {SSE: "sse", NDJSON: "ndjson"}
DEFAULT_LIMIT = 100
# Events a stream reads from Elasticsearch at once, in whole batches of its ``limit``:
# fewer, larger pages keep a follower up with a faster ingest.
STREAM_READ = 2_000
POLL_S = 0.25  # how often a waiting request reads again
HEARTBEAT_S = 10.0  # an idle stream writes at least this often (proxies close silent ones)
STORE_RETRIES = 8  # failed reads in a row a stream waits out (about 9 s) before it ends
SLOTS = "auditlog.follow_slots"


class FollowParamsSchema(Schema):
    """Parameters of the follow feed: the query string of GET, or the JSON body of POST."""

    class Meta:
        unknown = RAISE

    namespace = fields.String(metadata={"description": "must equal the URL's namespace"})
    query = fields.String(load_default="", metadata={"description": "label-matcher query"})
    cursor = fields.String(load_default=None, allow_none=True, metadata={
        "description": "continue after the events a previous answer delivered"})
    start_time = TimeValue(load_default=None, allow_none=True, metadata={
        "description": "without a cursor: events ingested at or after this time "
                       "(unix seconds or RFC 3339)"})
    from_ = fields.String(data_key="from", load_default=None, allow_none=True,
                          validate=validate.OneOf(["beginning"]), metadata={
                              "description": "without a cursor: `beginning` for every event"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "events per batch, 1-500"})
    wait = fields.Float(load_default=0.0, validate=validate.Range(0, MAX_WAIT_S), metadata={
        "description": "JSON answers: seconds to wait for events (long poll), 0-60"})


_PARAMS = FollowParamsSchema()


def stream_slots() -> StreamSlots:
    """The app's count of open follow streams per key (follow streams and Loki tails)."""
    slots: StreamSlots | None = current_app.extensions.get(SLOTS)
    if slots is None:
        slots = StreamSlots(int(current_app.config["AUDITLOG_FOLLOW_STREAMS_PER_KEY"]))
        current_app.extensions[SLOTS] = slots
    return slots


def _start(params: dict[str, Any], mode: str, cursors: FollowCursors,
           context: bytes) -> CursorState:
    """Where the follower starts: its cursor, else start_time or the beginning, else now."""
    cursor = params["cursor"]
    start = params["start_time"] is not None or params["from_"] is not None
    if cursor is not None and start:
        raise InvalidInput("give a cursor or a start (start_time, from), not both",
                           field="cursor")
    if params["start_time"] is not None and params["from_"] is not None:
        raise InvalidInput("give start_time or from=beginning, not both", field="start_time")
    resumed = request.headers.get("Last-Event-ID") if mode == SSE else None
    cursor = resumed or cursor
    if cursor:
        try:
            return cursors.decode(cursor, context)
        except InvalidCursor as exc:
            raise InvalidInput(f"{exc}; no events", field="cursor") from None
    if params["start_time"] is not None:
        try:
            return CursorState.starting_at(parse_timestamp(params["start_time"])[0])
        except TimestampError as exc:
            raise InvalidInput(f"start_time: {exc}", field="start_time") from None
    if params["from_"] == "beginning":
        return CursorState.starting_at(None)
    return CursorState.starting_at(time.time_ns())


def _delivered(batch: FollowBatch, mode: str) -> None:
    if not batch.events:
        return
    metrics.FOLLOW_DELIVERED.labels(mode).inc(len(batch.events))
    # One observation per batch, of its oldest event (late ones come first).
    metrics.FOLLOW_LAG.observe(max(0, time.time_ns() - min(batch.stamps)) / 1e9)


@bp.route("/namespaces/<namespace>/events/follow", methods=["GET", "POST"])
def follow_events(namespace: str) -> ResponseReturnValue:
    """Every new event exactly once: a batch (long poll), or a stream (SSE, NDJSON).
    ---
    get:
      summary: Follow the namespace's events in ingest order (long poll, SSE or NDJSON)
      description: >
        Events in (ingested_at, id) order up to now minus AUDITLOG_FOLLOW_SETTLE,
        each exactly once across reconnects, restarts and instances. Send the
        answer's cursor back to continue. `Accept: text/event-stream` streams
        Server-Sent Events (each `id:` is the cursor after that event;
        Last-Event-ID resumes); `Accept: application/x-ndjson` streams one event
        per line and a `{"cursor": ...}` line after each batch.
      tags: [native]
      parameters:
        - {in: query, schema: FollowParamsSchema}
      responses:
        200:
          description: a batch (JSON), or a stream
          content:
            application/json: {schema: FollowResponseSchema}
            text/event-stream: {schema: {type: string}}
            application/x-ndjson: {schema: {type: string}}
    post:
      summary: Follow the namespace's events, parameters in a JSON body
      tags: [native]
      requestBody:
        content: {application/json: {schema: FollowParamsSchema}}
      responses:
        200:
          description: a batch (JSON), or a stream
          content:
            application/json: {schema: FollowResponseSchema}
            text/event-stream: {schema: {type: string}}
            application/x-ndjson: {schema: {type: string}}
    """
    principal = require("reader", checked_namespace(namespace))
    raw = request.args.to_dict() if request.method == "GET" else request_json()
    params = load(_PARAMS, raw)
    if params.get("namespace") not in (None, "", namespace):
        raise InvalidInput(f"namespace {params['namespace']!r} in the request differs from "
                           f"the URL's ({namespace!r})", field="namespace")
    mode = request.accept_mimetypes.best_match([JSON, SSE, NDJSON], default=JSON)
    query = compile_query(params["query"])
    reader, cursors = current_follow()
    context = binding(namespace, principal.key_id, query)
    state = _start(params, mode, cursors, context)
    follow = _Follow(reader, cursors, namespace, query, params, context)
    if mode == JSON:
        return follow.poll(state)
    return follow.stream(state, mode, principal.key_id)


class _Follow:
    """One follow request: the reader, the cursor codec and what the request asked."""

    def __init__(self, reader: FollowReader, cursors: FollowCursors, namespace: str,
                 query: dict[str, Any], params: dict[str, Any], context: bytes) -> None:
        self.reader = reader
        self.cursors = cursors
        self.namespace = namespace
        self.query = query
        self.text = params["query"]
        self.limit = params["limit"]
        self.wait = params["wait"]
        self.context = context
        self.environ = request.environ

    def read(self, state: CursorState, check_window: bool = True) -> FollowBatch:
        """One poll's batch: up to ``limit`` events."""
        return self.reader.read(self.namespace, self.query, state, self.limit,
                                check_window=check_window)

    def read_stream(self, state: CursorState, mode: str,
                    check_window: bool = True) -> FollowBatch:
        """A stream's read: up to STREAM_READ events (whole batches of ``limit``), with the
        cursor after each event (SSE) or after each batch (NDJSON)."""
        size = max(self.limit, STREAM_READ // self.limit * self.limit)
        return self.reader.read(self.namespace, self.query, state, size,
                                1 if mode == SSE else self.limit, check_window)

    def poll(self, state: CursorState) -> dict[str, Any]:
        """One batch, waiting up to ``wait`` seconds for events."""
        deadline = time.monotonic() + self.wait
        while True:
            batch = self.read(state)
            state = batch.state
            left = deadline - time.monotonic()
            if batch.events or left <= 0 or STOPPING.is_set() or client_gone(self.environ):
                break
            time.sleep(min(POLL_S, left))
        _delivered(batch, "poll")
        if batch.events:
            note("audit.follow", self.namespace, query=self.text, count=len(batch.events),
                 mode="poll", late=batch.late)
        return {"events": batch.events, "cursor": self.cursors.encode(state, self.context),
                "caught_up": batch.caught_up}

    def stream(self, state: CursorState, mode: str, key_id: str) -> Response:
        """The SSE or NDJSON stream; the first batch is read before the response starts."""
        slots = stream_slots()
        slots.acquire(key_id)
        try:
            first = self.read_stream(state, mode)
        except BaseException:
            slots.release(key_id)
            raise
        metrics.FOLLOW_OPEN_STREAMS.inc()
        body = self._sse(first) if mode == SSE else self._ndjson(state, first)
        response = Response(stream_with_context(body), mimetype=mode,
                            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        def closed() -> None:
            metrics.FOLLOW_OPEN_STREAMS.dec()
            slots.release(key_id)

        response.call_on_close(closed)
        return response

    def _batches(self, first: FollowBatch, mode: str) -> Iterator[FollowBatch | None]:
        """Reads as they come; None when a heartbeat is due. Ends when the client goes,
        the worker stops, or the store stays away (the client resumes from its cursor).

        Through a backlog the next batch is read (on the engine's thread pool) while the
        current one is written, and the window is re-checked for late writes once per
        poll interval, not before every batch.
        """
        batch = first
        last_write = last_check = time.monotonic()
        failures = 0
        while True:
            ahead: Future[FollowBatch] | None = None
            check = time.monotonic() - last_check >= POLL_S
            if batch.events and not batch.caught_up:
                ahead = thread_pool.submit(self.read_stream, batch.state, mode, check)
            if batch.events:
                _delivered(batch, MODE_NAMES[mode])
                note_now("audit.follow", self.namespace, query=self.text,
                         count=len(batch.events), mode=MODE_NAMES[mode], late=batch.late)
                yield batch
                last_write = time.monotonic()
            elif time.monotonic() - last_write >= HEARTBEAT_S:
                yield None
                last_write = time.monotonic()
            if STOPPING.is_set():
                return
            if ahead is None and batch.caught_up:
                time.sleep(POLL_S)
                if client_gone(self.environ) or STOPPING.is_set():
                    return
                check = True
            try:
                batch = (ahead.result() if ahead is not None
                         else self.read_stream(batch.state, mode, check))
            except AuditlogError as exc:
                # Passing trouble (an index created a moment ago, a busy node) is waited
                # out; a store that stays away ends the stream, its client resumes later.
                failures += 1
                if failures > STORE_RETRIES or STOPPING.is_set():
                    current_app.logger.warning("follow stream of %s ended: %s",
                                               self.namespace, exc.message)
                    return
                time.sleep(POLL_S * failures)
                batch = FollowBatch([], batch.state)
                continue
            failures = 0
            if check:
                last_check = time.monotonic()

    def _sse(self, first: FollowBatch) -> Iterator[bytes]:
        yield b"retry: 1000\n: auditlog follow\n\n"  # the headers go out now
        for batch in self._batches(first, SSE):
            if batch is None:
                yield b": heartbeat\n\n"
                continue
            yield b"".join(
                b"id: " + self.cursors.encode(state, self.context).encode()
                + b"\ndata: " + orjson.dumps(event) + b"\n\n"
                for event, state in zip(batch.events, batch.states, strict=True))

    def _ndjson(self, state: CursorState, first: FollowBatch) -> Iterator[bytes]:
        cursor = self.cursors.encode(state, self.context)
        yield orjson.dumps({"cursor": cursor}, option=orjson.OPT_APPEND_NEWLINE)
        for batch in self._batches(first, NDJSON):
            if batch is None:  # a heartbeat: the cursor again
                yield orjson.dumps({"cursor": cursor}, option=orjson.OPT_APPEND_NEWLINE)
                continue
            # Batches of ``limit`` events, each followed by the cursor after it.
            lines: list[bytes] = []
            ends = [*batch.states[:(len(batch.events) - 1) // self.limit], batch.state]
            for i, end in enumerate(ends):
                lines.extend(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
                             for event in batch.events[i * self.limit:(i + 1) * self.limit])
                cursor = self.cursors.encode(end, self.context)
                lines.append(orjson.dumps({"cursor": cursor}, option=orjson.OPT_APPEND_NEWLINE))
            yield b"".join(lines)
