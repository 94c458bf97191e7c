"""The native API (``/api/v1``): ingest and read events by id."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.auth import require
from app.errors import InvalidInput, NotFound
from app.events import ID_PATTERN, NAMESPACE_PATTERN
from app.ingest import ingest, parse_body
from app.services import get_services

bp = Blueprint("native", __name__, url_prefix="/api/v1")

REFRESH_VALUES = {"wait_for": "wait_for", "true": True, "false": False, "": False}


def checked_namespace(namespace: str) -> str:
    """The namespace of the URL, or InvalidInput when it is not a valid name."""
    if not NAMESPACE_PATTERN.fullmatch(namespace):
        raise InvalidInput(
            "namespace must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a "
            "letter or digit",
            field="namespace",
        )
    return namespace


@bp.post("/namespaces/<namespace>/events")
def ingest_events(namespace: str) -> ResponseReturnValue:
    """Ingest one event, a JSON array of events, or NDJSON."""
    require("writer", checked_namespace(namespace))
    refresh_arg = request.args.get("refresh", "")
    if refresh_arg not in REFRESH_VALUES:
        raise InvalidInput("refresh must be wait_for, true or false", field="refresh")
    raw_events = parse_body(
        request.get_data(cache=False),
        request.content_type,
        current_app.config["AUDITLOG_MAX_BATCH_EVENTS"],
    )
    summary = ingest(get_services().store, namespace, raw_events, REFRESH_VALUES[refresh_arg])
    body = summary.as_dict()
    if summary.failed and not summary.created and not summary.duplicates:
        body = {"code": "invalid_events",
                "message": "no event was stored; see errors", **body}
        status = 400
    else:
        status = 207 if summary.failed else 200
    response = jsonify(body)
    response.status_code = status
    return response


@bp.get("/namespaces/<namespace>/events/<event_id>")
def get_event(namespace: str, event_id: str) -> ResponseReturnValue:
    """One event by id."""
    require("reader", checked_namespace(namespace))
    if not ID_PATTERN.fullmatch(event_id):
        raise NotFound(f"no event {event_id!r} in namespace {namespace!r}")
    event = get_services().store.get(namespace, event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r} in namespace {namespace!r}")
    return event
