"""Serialising a stream of events for export: NDJSON and CSV, in bounded chunks.

NDJSON: one event per line, exactly as stored (orjson).

CSV: a header row, then one row per event (RFC 4180 quoting, CRLF line ends).
The columns are fixed, so no buffering is needed to discover them: every field
of the registry (``app.fields``) in its order, nested fields flattened with
dotted names (``actor.id``, ``target.kind``), then one ``labels`` column.
Labels are free-form, so their keys are not known before the last event;
rather than buffer the export (or reveal other tenants' label keys from the
index mapping), the ``labels`` column holds the event's labels as one JSON
object (``{"env":"prod","team":"admins"}``). The not-indexed objects
``context`` and ``body`` are likewise JSON text. A missing field is an empty
cell.

Both writers emit chunks of about ``CHUNK_BYTES``: memory stays at one chunk
whatever the size of the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from app.fields import OBJECT, REGISTRY

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


def csv_row(event: dict[str, Any]) -> list[str]:
    """The CSV cells of one event, in ``CSV_COLUMNS`` order."""
    return [_cell(event, column, path) for column, path in zip(CSV_COLUMNS, _PATHS, strict=True)]


def ndjson_chunks(events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """NDJSON: one orjson line per event, yielded in chunks of about CHUNK_BYTES."""
    lines: list[bytes] = []
    size = 0
    for event in events:
        line = orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
        lines.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(lines)
            lines, size = [], 0
    if lines:
        yield b"".join(lines)


def csv_chunks(events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """CSV: the header row, then one row per event, in chunks of about CHUNK_BYTES."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(csv_row(event))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


@dataclass(frozen=True)
class ExportFormat:
    """A named export format: its media type and its chunk writer."""

    name: str
    mimetype: str
    chunks: Callable[[Iterable[dict[str, Any]]], Iterator[bytes]]


FORMATS: dict[str, ExportFormat] = {
    "ndjson": ExportFormat("ndjson", "application/x-ndjson", ndjson_chunks),
    "csv": ExportFormat("csv", "text/csv", csv_chunks),
}
