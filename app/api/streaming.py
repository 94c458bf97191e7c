"""The streaming writers: every export-like answer (the native export, Run:ai's download)
goes through ``stream_events``, in one of ``FORMATS``, in bounded chunks.

``stream_events`` reads the first event before the response starts (so opening
the point-in-time and the first page can still fail as a JSON error), then
streams the rest; however the stream ends (done, client gone, store failure) the
event iterator is closed (freeing its point-in-time), the exported events are
counted in the metric, and the request's self-audit note gets the final count.
A failure of Elasticsearch mid-stream aborts the connection (no terminating
chunk), so a client never mistakes a cut stream for a complete one.

NDJSON: one event per line, exactly as stored: the JSON text Elasticsearch keeps
(``STORED_NDJSON``, never parsed), or the event encoded with orjson where the
writer sees it as a dict (the signed manifest reads every event).

CSV: a header row, then one row per event (RFC 4180 quoting, CRLF line ends).
The columns are fixed, so no buffering is needed to discover them: every field
of the registry (``app.fields``) in its order, nested fields flattened with
dotted names (``actor.id``, ``target.kind``), then one ``labels`` column.
Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula, and events carry attacker-chosen text (user agents, names, queries).
Such a cell is written with a leading single quote (``'=cmd|...``), which
spreadsheets show as text; ``AUDITLOG_CSV_ESCAPE_FORMULAS=false`` turns this off
for consumers that want the raw values.
Labels are free-form, so their keys are not known before the last event;
rather than buffer the export (or reveal other tenants' label keys from the
index mapping), the ``labels`` column holds the event's labels as one JSON
object (``{"env":"prod","team":"admins"}``). The not-indexed objects
``context`` and ``body`` are likewise JSON text. A missing field is an empty
cell.

JSON array (Run:ai's ``logs.json``): one valid array, a record per line.

Every writer emits chunks of about ``CHUNK_BYTES``: memory stays at one chunk
whatever the size of the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from flask import Response, stream_with_context

from app.audit.notes import AuditNote
from app.model.fields import OBJECT, REGISTRY
from app.model.spreadsheet import neutralised
from app.observe import metrics

CHUNK_BYTES = 64 * 1024
LABELS_COLUMN = "labels"
CSV_COLUMNS: tuple[str, ...] = (*(f.name for f in REGISTRY), LABELS_COLUMN)
_JSON_COLUMNS = frozenset({f.name for f in REGISTRY if f.kind == OBJECT} | {LABELS_COLUMN})
_PATHS: tuple[tuple[str, ...], ...] = tuple(tuple(c.split(".")) for c in CSV_COLUMNS)


def _cell(event: dict[str, Any], column: str, path: tuple[str, ...]) -> str:
    value: Any = event
    for part in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
        if value is None:
            return ""
    if column in _JSON_COLUMNS or isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def csv_row(event: dict[str, Any], escape_formulas: bool = True) -> list[str]:
    """The CSV cells of one event, in ``CSV_COLUMNS`` order (formula cells neutralised)."""
    cells = [_cell(event, column, path) for column, path in zip(CSV_COLUMNS, _PATHS, strict=True)]
    return [neutralised(cell) for cell in cells] if escape_formulas else cells


def _line_chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """``lines`` (each ending in a newline) joined into chunks of about CHUNK_BYTES."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


def ndjson_chunks(events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """NDJSON: one orjson line per event, yielded in chunks of about CHUNK_BYTES."""
    return _line_chunks(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
                        for event in events)


# JSON never has a raw line break inside a string (it must be escaped), so a line break
# in an event's stored text is whitespace between tokens, and a space means the same.
_LINE_BREAKS_TO_SPACES = bytes.maketrans(b"\r\n", b"  ")


def stored_line(source: bytes) -> bytes:
    """An event's stored JSON text as one NDJSON line. The events template filters the
    source (``excludes``), so Elasticsearch stores compact JSON of its own encoding and
    this is the text itself; a document kept pretty-printed (an index made without the
    template) gets its line breaks turned into spaces."""
    if b"\n" in source or b"\r" in source:
        source = source.translate(_LINE_BREAKS_TO_SPACES)
    return source + b"\n"


def stored_ndjson_chunks(sources: Iterable[bytes]) -> Iterator[bytes]:
    """NDJSON of events read as their stored JSON text (``iter_events(raw=True)``): the
    same lines as ``ndjson_chunks`` without parsing and re-encoding every event."""
    return _line_chunks(stored_line(source) for source in sources)


def csv_chunks(events: Iterable[dict[str, Any]], escape_formulas: bool = True) -> Iterator[bytes]:
    """CSV: the header row, then one row per event, in chunks of about CHUNK_BYTES; cells a
    spreadsheet would run as formulas get a leading single quote unless ``escape_formulas``
    is false."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(csv_row(event, escape_formulas))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def json_array_chunks(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array of ``records``, one per line, in chunks of about CHUNK_BYTES."""
    parts: list[bytes] = [b"["]
    size = 0
    separator = b"\n"
    for record in records:
        part = separator + orjson.dumps(record)
        separator = b",\n"
        parts.append(part)
        size += len(part)
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"\n]\n")
    yield b"".join(parts)


@dataclass(frozen=True)
class ExportFormat:
    """A named export format: its media type and its chunk writer."""

    name: str
    mimetype: str
    chunks: Callable[[Iterable[Any]], Iterator[bytes]]


FORMATS: dict[str, ExportFormat] = {
    "ndjson": ExportFormat("ndjson", "application/x-ndjson", ndjson_chunks),
    "csv": ExportFormat("csv", "text/csv", csv_chunks),
}
RAW_CSV = ExportFormat("csv", "text/csv", partial(csv_chunks, escape_formulas=False))
# NDJSON of events as stored JSON text: for a reader that never parses them (the plain export).
STORED_NDJSON = ExportFormat("ndjson", "application/x-ndjson", stored_ndjson_chunks)
JSON_ARRAY = ExportFormat("runai-json", "application/json", json_array_chunks)


def export_format(name: str, escape_formulas: bool = True) -> ExportFormat:
    """The format called ``name`` (a key of ``FORMATS``); CSV without formula escaping when
    ``escape_formulas`` is false (``AUDITLOG_CSV_ESCAPE_FORMULAS``)."""
    if name == "csv" and not escape_formulas:
        return RAW_CSV
    return FORMATS[name]

Shape = Callable[[dict[str, Any]], dict[str, Any]]


def _counted(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]],
             shape: Shape | None, done: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    """``first`` then ``rest``, shaped; ``rest`` closed and ``done(count)`` called however
    it ends."""
    count = 0
    try:
        if first is not None:
            yield shape(first) if shape else first
            count = 1
            for event in rest:
                yield shape(event) if shape else event
                count += 1
    finally:
        rest.close()
        done(count)


def stream_events(events: Iterator[dict[str, Any]], export_format: ExportFormat,
                  noted: AuditNote, shape: Shape | None = None,
                  filename: str | None = None,
                  wrap: Callable[[Iterator[bytes]], Iterator[bytes]] | None = None,
                  ) -> Response:
    """The streamed response of ``events`` in ``export_format`` (each event through ``shape``
    first, when given); ``filename`` makes it an attachment; ``wrap`` sees every chunk and
    may add its own at the end (the signed manifest). Raises (before streaming) what
    reading the first event raises."""
    first = next(events, None)

    def done(count: int) -> None:
        metrics.EXPORTED.labels(export_format.name).inc(count)
        noted.count = count

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    body = export_format.chunks(_counted(first, events, shape, done))
    if wrap is not None:
        body = wrap(body)
    return Response(stream_with_context(body), mimetype=export_format.mimetype,
                    headers=headers)
