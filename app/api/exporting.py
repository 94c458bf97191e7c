"""The export flow (DESIGN §7): validate, authorize, open the stream, note.

Everything that can be refused is checked before the response starts: the
parameters, the query (compiled), the key's role and namespace, and the store
itself (the point-in-time is opened and the first page read before the 200 is
sent). After that the events stream with point-in-time + search_after in pages
(``SearchEngine.iter_events``) through the shared writer (``streaming``), so
memory stays constant whatever the size.

No default window: a missing ``start_time`` or ``end_time`` leaves that end
open, so neither means all time. No 500-event cap. Sorted by time then id,
ascending unless ``sort=DESCENDING``; ``after_time`` (epoch ns or RFC 3339) with
``after_id`` continues strictly after that event in the same order (resuming
an interrupted export).

``manifest=true`` appends the signed manifest as one last line
(``app.engine.manifest``): the query, the window, the count, the SHA-256 of
every byte before it and the checkpoints that sealed the exported events.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.access.auth import require
from app.api.namespaces import checked_namespace
from app.api.schemas import LastTimestamp, TimeValue, load
from app.api.streaming import FORMATS, STORED_NDJSON, export_format, stream_events
from app.audit.notes import note
from app.engine.export_manifest import SignedExport, window_text
from app.engine.extension import current_engine
from app.engine.integrity import current_integrity
from app.engine.query import compile_query
from app.engine.search import SORT_ORDERS, SortValues
from app.errors import InvalidInput
from app.model.event import ID_PATTERN
from app.model.time_window import open_window
from app.model.timestamps import format_ns


class ExportParamsSchema(Schema):
    """Parameters of an export: the query string of GET or the JSON body of POST."""

    class Meta:
        unknown = RAISE

    namespace = fields.String(metadata={"description": "must equal the URL's namespace"})
    query = fields.String(load_default="", metadata={"description": "label-matcher query"})
    start_time = TimeValue(load_default=None, allow_none=True, metadata={
        "description": "unix seconds or RFC 3339, inclusive; missing: no lower bound"})
    end_time = TimeValue(load_default=None, allow_none=True, metadata={
        "description": "unix seconds or RFC 3339, inclusive; missing: no upper bound"})
    format = fields.String(load_default="ndjson", validate=validate.OneOf(list(FORMATS)),
                           metadata={"description": "ndjson (default) or csv"})
    sort = fields.String(load_default="ASCENDING", validate=validate.OneOf(list(SORT_ORDERS)),
                         metadata={"description": "on time, then id"})
    after_time = LastTimestamp(load_default=None, allow_none=True, metadata={
        "description": "resume: time of the last event received (epoch ns or RFC 3339)"})
    manifest = fields.Boolean(load_default=False, metadata={
        "description": "append the signed manifest as the last line (see README, Integrity)"})
    after_id = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        rf"(?:{ID_PATTERN.pattern})\Z"), metadata={
        "description": "resume: id of the last event received (with after_time)"})

    @validates_schema
    def _after_pair(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("after_time") is None) != (data.get("after_id") is None):
            raise ValidationError("give both after_time and after_id, or neither",
                                  field_name="after_id")


_PARAMS = ExportParamsSchema()


def export_response(namespace: str, raw: Any) -> Response:
    """The streamed export response; raises (before streaming) for anything refused."""
    require("reader", checked_namespace(namespace))
    params = load(_PARAMS, raw)
    given = params.get("namespace")
    if given not in (None, "", namespace):
        raise InvalidInput(f"namespace {given!r} in the request differs from the URL's "
                           f"({namespace!r})", field="namespace")
    window = open_window(params["start_time"], params["end_time"], "start_time", "end_time")
    query = compile_query(params["query"])
    after = None
    if params["after_time"] is not None:
        after = SortValues(params["after_time"], params["after_id"])
    chosen = export_format(params["format"], current_app.config["AUDITLOG_CSV_ESCAPE_FORMULAS"])
    noted = note("audit.export", namespace, query=params["query"], count=None,
                 format=chosen.name, resumed=after is not None)
    if not params["manifest"] and chosen is FORMATS["ndjson"]:
        # Each line is the event's stored text: never parsed, never re-encoded.
        stored = current_engine().iter_events(namespace, query, window, params["sort"], after,
                                              raw=True)
        return stream_events(stored, STORED_NDJSON, noted)
    events = current_engine().iter_events(namespace, query, window, params["sort"], after)
    if not params["manifest"]:
        return stream_events(events, chosen, noted)
    integrity = current_integrity()
    signed = SignedExport(integrity.checkpoints, integrity.signing_key, namespace, {
        "namespace": namespace, "query": params["query"], "format": chosen.name,
        "sort": params["sort"], "window": window_text(window),
        "after": None if after is None else {"time": format_ns(after.timestamp_ns),
                                             "id": after.doc_id}})
    return stream_events(events, chosen, noted, shape=signed.seen, wrap=signed.stream)
