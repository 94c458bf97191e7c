"""The service audits itself (DESIGN §8): each search, scroll page, aggregation,
export, key change and ingest batch becomes an event in the ``system`` namespace.

Endpoints call ``note(...)`` once per request with what they did (calling it
again updates the note); the recorder installed by ``init_app`` turns the note
into an event when the response is done — after the body for a streamed
response, so an export may raise ``count`` on the returned note as it streams.
The event carries the action, ``api_key_id``, the key's ``actor_id`` as
``actor.id``, the query text, ``target`` (the namespace, by default), the
request's outcome, and ``labels.status``/``labels.count``/``labels.duration_ms``
(strings, so the matcher language can select them; ``context`` has them as
numbers with the note's other details). Recording never fails or slows the
request: events go through a bounded background writer (``app.audit_writer``).
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import Flask, Response, current_app, g, request

from app.audit.writer import AuditWriter
from app.model.event import MAX_VALUE_CHARS, SYSTEM_NAMESPACE, load_event
from app.model.principal import Principal
from app.model.timestamps import format_ns
from app.store.events import EventStore
from app.store.extension import store

EXTENSION = "auditlog.self_audit"
log = logging.getLogger(__name__)


@dataclass
class AuditNote:
    """What one request did; becomes one event in namespace ``system``."""

    action: str
    namespace: str
    query: str = ""
    count: int | None = None
    target_kind: str = "namespace"
    details: dict[str, Any] = field(default_factory=dict)


def note(action: str, namespace: str, *, query: str = "", count: int | None = None,
         target_kind: str = "namespace", **details: Any) -> AuditNote:
    """Record what this request did (e.g. ``audit.search`` in ``ns`` with ``query``, ``count``).

    ``namespace`` is the target's id (``target_kind`` says what it is, e.g.
    ``api_key`` for key changes); ``details`` go to the event's ``context``.
    A second call in the same request updates the first note.
    """
    current: AuditNote | None = g.get("audit_note")
    if current is None:
        current = AuditNote(action, namespace, query, count, target_kind, dict(details))
        g.audit_note = current
        return current
    current.action, current.namespace, current.target_kind = action, namespace, target_kind
    current.query = query or current.query
    current.count = count if count is not None else current.count
    current.details.update(details)
    return current


def build_event(noted: AuditNote, principal: Principal | None, status: int, duration_ms: int,
                request_info: dict[str, Any], now_ns: int) -> dict[str, Any]:
    """The raw ``system`` event of a note (validated later by the writer)."""
    labels = {"status": str(status), "duration_ms": str(duration_ms)}
    context: dict[str, Any] = {"status": status, "duration_ms": duration_ms,
                               "request_id": uuid.uuid4().hex, **request_info}
    if noted.count is not None:
        labels["count"] = str(noted.count)
        context["count"] = noted.count
    context.update(noted.details)
    # Whatever a caller put in the details, the bulk body must serialise.
    context = orjson.loads(orjson.dumps(context, default=str))
    event: dict[str, Any] = {
        "time": format_ns(now_ns, 9),
        "action": noted.action,
        "outcome": "success" if status < 400 else "failure",
        "target": {"kind": noted.target_kind, "id": noted.namespace},
        "labels": labels,
        "context": context,
    }
    if principal is not None:
        event["api_key_id"] = principal.key_id
        context["key_name"] = principal.name
        if principal.actor_id:
            event["actor"] = {"id": principal.actor_id}
    if noted.query:
        event["query"] = noted.query[:MAX_VALUE_CHARS]
    return event


def _source_ip() -> str | None:
    try:
        return str(ipaddress.ip_address(request.remote_addr or ""))
    except ValueError:
        return None


def _started() -> None:
    g.audit_started = time.perf_counter()


def _recorder(noted: AuditNote) -> Callable[[int], None]:
    """A function that puts the event of ``noted`` for a response status (reads the
    request now, so it may run after the request)."""
    writer: AuditWriter = current_app.extensions[EXTENSION]
    principal = g.get("principal")
    started = g.get("audit_started") or time.perf_counter()
    info = {"method": request.method, "path": request.path}
    agent = request.headers.get("User-Agent")
    source_ip = _source_ip()

    def put(status: int) -> None:
        try:
            duration_ms = int((time.perf_counter() - started) * 1000)
            event = build_event(noted, principal, status, duration_ms, info, time.time_ns())
            if source_ip:
                event["source_ip"] = source_ip
            if agent:
                event["user_agent"] = agent[:1024]
            writer.put(event)
        except Exception:  # recording must never fail the request
            log.exception("self-audit event dropped")
            writer.count_dropped()

    return put


def _record(response: Response) -> Response:
    noted: AuditNote | None = g.get("audit_note")
    if noted is None:
        return response
    put = _recorder(noted)
    status = response.status_code
    if response.is_streamed:
        response.call_on_close(lambda: put(status))  # after the body: count, duration final
    else:
        put(status)
    return response


def note_now(action: str, namespace: str, *, query: str = "", count: int | None = None,
             **details: Any) -> None:
    """Record one part of a long request now (e.g. a batch a stream delivered), as its own
    event; needs the request context (streams keep it)."""
    if EXTENSION not in current_app.extensions:
        return
    _recorder(AuditNote(action, namespace, query, count, "namespace", dict(details)))(200)


def get_writer(app: Flask) -> AuditWriter | None:
    """The app's self-audit writer (None when AUDITLOG_SELF_AUDIT is off)."""
    return app.extensions.get(EXTENSION)


def init_app(app: Flask) -> None:
    """Record a ``system`` event after each request that called ``note``."""
    if not app.config.get("AUDITLOG_SELF_AUDIT", True):
        return
    with app.app_context():
        state = store.state
    app.extensions[EXTENSION] = AuditWriter(lambda: state.events, SYSTEM_NAMESPACE,
                                            int(app.config["AUDITLOG_SELF_AUDIT_QUEUE"]))
    app.before_request(_started)
    app.after_request(_record)


def write_now(store: EventStore, noted: AuditNote, status: int = 200) -> None:
    """Write the event of a change made outside a request (the CLI) synchronously."""
    raw = build_event(noted, None, status, 0, {"via": "cli"}, time.time_ns())
    store.create_events([load_event(raw, SYSTEM_NAMESPACE)], refresh="wait_for")
