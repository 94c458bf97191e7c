"""``auditlog ingest``: stream a file of events to a running service in batches.

Layered generators, as elasticsearch-py's bulk helpers: raw events (NDJSON
lines, or the items of a JSON array decoded one at a time) -> batches bounded
in events and bytes -> POSTs (a few in flight) -> one running summary. Memory
stays at a few batches whatever the file size.

Events without an ``id`` get one derived from their content by the service, so
re-running an interrupted ingest stores nothing twice: the events already
stored come back as duplicates.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote

import orjson

from app.cli.service_client import ServiceClient, ServiceError, error_message

MAX_ERRORS_KEPT = 20
_WHITESPACE = " \t\r\n"


@dataclass
class Batch:
    """Serialised events for one request, with their positions in the input (0-based)."""

    lines: list[bytes] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    size: int = 0


@dataclass
class IngestTotals:
    """What the whole run did; ``errors`` keeps the first few failures."""

    created: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.created + self.duplicates + self.failed

    def fail(self, position: int, reason: str, event_id: str | None = None) -> None:
        """Count one failed event."""
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"index": position, "id": event_id, "reason": reason})

    def merge(self, other: IngestTotals) -> None:
        """Add another summary's counts (and errors, up to the kept few)."""
        self.created += other.created
        self.duplicates += other.duplicates
        self.failed += other.failed
        self.errors.extend(other.errors[:max(0, MAX_ERRORS_KEPT - len(self.errors))])

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "duplicates": self.duplicates, "failed": self.failed,
                "errors": self.errors}


# One parsed input item: (position, serialised event) or (position, parse error).
Item = tuple[int, bytes | None, str | None]


def _ndjson_items(stream: IO[bytes], first: bytes) -> Iterator[Item]:
    position = 0
    lines = _prepend(first, stream)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield position, None, f"line {number}: malformed JSON: {exc.msg}"
        else:
            yield position, orjson.dumps(event), None
        position += 1


def _prepend(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    rest = stream.readline()
    yield first + rest
    yield from stream


def _array_items(stream: IO[bytes], first: bytes, chunk_bytes: int = 1 << 20) -> Iterator[Item]:
    """The items of a JSON array, decoded one at a time from chunks of the stream."""
    decoder = json.JSONDecoder()
    buffer = (first + stream.read(chunk_bytes)).decode("utf-8", errors="strict")
    pos = buffer.index("[") + 1
    eof = False
    position = 0
    expect_item = True

    def more() -> bool:
        nonlocal buffer, pos, eof
        chunk = stream.read(chunk_bytes)
        if not chunk:
            eof = True
            return False
        buffer = buffer[pos:] + chunk.decode("utf-8")
        pos = 0
        return True

    while True:
        while pos < len(buffer) and buffer[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(buffer):
            if more():
                continue
            raise ValueError("the JSON array is not closed")
        char = buffer[pos]
        if char == "]":
            return
        if not expect_item:
            if char != ",":
                raise ValueError(f"expected ',' or ']' in the JSON array, found {char!r}")
            pos += 1
            expect_item = True
            continue
        try:
            value, end = decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError as exc:
            if not eof and more():
                continue
            raise ValueError(f"malformed JSON in the array: {exc.msg}") from None
        if end >= len(buffer) and not eof and more():
            continue  # a number or literal may go on in the next chunk
        yield position, orjson.dumps(value), None
        position += 1
        pos = end
        expect_item = False


def read_items(stream: IO[bytes]) -> Iterator[Item]:
    """The events of an NDJSON stream or of a JSON array (told apart by the first byte)."""
    first = stream.read(1)
    while first and first in b" \t\r\n":
        first = stream.read(1)
    if not first:
        return iter(())
    if first == b"[":
        return _array_items(stream, first)
    return _ndjson_items(stream, first)


def batches(items: Iterable[Item], totals: IngestTotals, max_events: int,
            max_bytes: int) -> Iterator[Batch]:
    """Group serialised events into batches; count parse errors as failed."""
    batch = Batch()
    for position, line, error in items:
        if line is None:
            totals.fail(position, error or "malformed")
            continue
        if batch.lines and (len(batch.lines) >= max_events or batch.size + len(line) > max_bytes):
            yield batch
            batch = Batch()
        batch.lines.append(line)
        batch.positions.append(position)
        batch.size += len(line) + 1
    if batch.lines:
        yield batch


def _halves(batch: Batch) -> list[Batch]:
    middle = len(batch.lines) // 2
    parts = []
    for lines, positions in ((batch.lines[:middle], batch.positions[:middle]),
                             (batch.lines[middle:], batch.positions[middle:])):
        parts.append(Batch(lines, positions, sum(len(line) + 1 for line in lines)))
    return parts


def send_batch(client: ServiceClient, namespace: str, batch: Batch) -> IngestTotals:
    """POST one batch; a 413 splits it in two. Raise ServiceError for a refused request."""
    result = IngestTotals()
    response = client.request(
        "POST", f"/api/v1/namespaces/{quote(namespace, safe='')}/events",
        data=b"\n".join(batch.lines), headers={"Content-Type": "application/x-ndjson"})
    status = response.status_code
    if status == 413 and len(batch.lines) > 1:
        response.close()
        for part in _halves(batch):
            result.merge(send_batch(client, namespace, part))
        return result
    try:
        body = response.json()
    except ValueError:
        body = None
    if status in (200, 207) or (status == 400 and isinstance(body, dict) and "created" in body):
        result.created = int(body["created"])
        result.duplicates = int(body["duplicates"])
        for error in body.get("errors", []):
            result.fail(batch.positions[error["index"]], error["reason"], error.get("id"))
        return result
    if status in (400, 413):
        for position in batch.positions:
            result.fail(position, error_message(response))
        return result
    raise ServiceError(error_message(response))


def ingest_stream(client: ServiceClient, namespace: str, stream: IO[bytes], *,
                  batch_size: int = 2_000, max_bytes: int = 8 << 20, concurrency: int = 2,
                  on_progress: Callable[[IngestTotals], None] | None = None) -> IngestTotals:
    """Send every event of ``stream`` with up to ``concurrency`` requests in flight.

    The running totals go to ``on_progress`` after each batch. Raises
    ServiceError when the service refuses (bad key, namespace) or stays away.
    """
    totals = IngestTotals()
    in_flight: deque[Future[IngestTotals]] = deque()

    def settle() -> None:
        totals.merge(in_flight.popleft().result())
        if on_progress is not None:
            on_progress(totals)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        try:
            for batch in batches(read_items(stream), totals, batch_size, max_bytes):
                while len(in_flight) >= max(1, concurrency):
                    settle()
                in_flight.append(pool.submit(send_batch, client, namespace, batch))
            while in_flight:
                settle()
        finally:
            for future in in_flight:
                future.cancel()
    return totals
