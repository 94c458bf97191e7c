"""``auditlog export``: download an export to a file or stdout, resumable.

The bytes of the service's stream are written as they come; records are
counted as they complete (a CSV record may span lines inside quotes, so a
record ends at a newline outside quotes: an even number of ``"`` so far).

``--resume`` reads the output file, drops a last record cut short by the
interruption, takes the ``time`` and ``id`` of the last complete one and asks
the service for the events strictly after it (``after_time``/``after_id``), in
the same order; the new records are appended (without a second CSV header).
The other parameters (query, window, sort, format) must be the same as the
first run's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import orjson
import requests

from app.cli.service_client import ServiceClient, ServiceError, error_message
from app.model.spreadsheet import original

CHUNK_BYTES = 64 * 1024


class RecordCounter:
    """Counts complete records in a byte stream (NDJSON lines or CSV rows)."""

    def __init__(self, csv_format: bool) -> None:
        self.csv_format = csv_format
        self.in_quotes = False
        self.records = 0

    def feed(self, chunk: bytes) -> int:
        """Count the records ``chunk`` completes; return how many."""
        if not self.csv_format:
            done = chunk.count(b"\n")
        else:
            done = 0
            pieces = chunk.split(b"\n")
            for piece in pieces[:-1]:
                if piece.count(b'"') % 2:
                    self.in_quotes = not self.in_quotes
                if not self.in_quotes:
                    done += 1
            if pieces[-1].count(b'"') % 2:
                self.in_quotes = not self.in_quotes
        self.records += done
        return done


@dataclass
class ResumePoint:
    """Where an output file ends: the byte offset after its last complete record, and
    that record's time and id (None when it holds no event yet)."""

    offset: int
    records: int
    after_time: str | None = None
    after_id: str | None = None


def resume_point(path: Path, csv_format: bool) -> ResumePoint:
    """Scan ``path`` for its last complete record. Raises ValueError if it cannot be read."""
    offset = end = records = 0
    last = b""
    current = bytearray()
    in_quotes = False
    header = b""
    with path.open("rb") as stream:
        for line in stream:
            end += len(line)
            current += line
            if csv_format and line.count(b'"') % 2:
                in_quotes = not in_quotes
            if not line.endswith(b"\n") or in_quotes:
                continue
            if csv_format and not header:
                header = bytes(current)
            else:
                last = bytes(current)
                records += 1
            offset = end
            current = bytearray()
    point = ResumePoint(offset, records)
    if last.strip():
        event = _csv_record(header, last) if csv_format else orjson.loads(last)
        point.after_time, point.after_id = str(event["time"]), str(event["id"])
    return point


def _csv_record(header: bytes, record: bytes) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO((header + record).decode())))
    # The service writes an id such as ``-a1`` as ``'-a1`` (formula injection); ids and
    # times never start with a quote of their own.
    return dict(zip(rows[0], [original(cell) for cell in rows[1]], strict=True))


def export_to(client: ServiceClient, namespace: str, params: dict[str, Any], out: IO[bytes],
              *, skip_header: bool = False,
              on_records: Callable[[int], None] | None = None) -> int:
    """Stream the export into ``out``; return the records written.

    Raises ServiceError when the service refuses, and ``requests``' errors when
    the stream breaks (the caller may resume).
    """
    response = client.request(
        "GET", f"/api/v1/namespaces/{quote(namespace, safe='')}/events/export",
        params={k: v for k, v in params.items() if v is not None}, stream=True)
    if response.status_code != 200:
        message = error_message(response)
        response.close()
        raise ServiceError(message)
    csv_format = params.get("format") == "csv"
    counter = RecordCounter(csv_format)
    pending_header = skip_header  # resuming a CSV file: its header is already there
    header_records = 1 if csv_format and not skip_header else 0
    written = 0
    try:
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            if pending_header:
                cut = chunk.find(b"\n")
                if cut < 0:
                    continue  # the header has no quoted newlines; it is one line
                chunk = chunk[cut + 1:]
                pending_header = False
            out.write(chunk)
            done = counter.feed(chunk)
            if header_records and done:
                done, header_records = done - 1, 0
            written += done
            if done and on_records is not None:
                on_records(done)
    finally:
        response.close()
        out.flush()
    return written


def is_broken_stream(exc: BaseException) -> bool:
    """Whether ``exc`` is a stream cut short (worth a ``--resume``)."""
    return isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.ConnectionError)
