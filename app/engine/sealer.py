"""Sealing: each namespace's settled ingest stream cut into signed, chained checkpoints.

``Sealer.seal(namespace)`` reads the events after the namespace's last
checkpoint up to the watermark (now minus the settle time: later events may
still be in flight), in (``ingested_at``, ``id``) order, and writes one
checkpoint per ``max_events`` of them (``app.engine.checkpoint``). Each is
written with ``op_type=create`` under its namespace and seq, so if another
sealer got there first the write fails and this one stops: a seq is never
sealed twice, and the next round starts from whatever checkpoint is last.
Every new checkpoint is also logged as one JSON line (logger
``auditlog.checkpoint``) for an outside witness.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from app.engine.checkpoint import Checkpoint, StreamPosition
from app.engine.interval_hash import GENESIS, IntervalHash
from app.engine.signing import SigningKey
from app.engine.stream_reader import Position, StreamReader, position_of, stream_query
from app.model.event import STAMP
from app.model.timestamps import format_ns
from app.store.checkpoints import CheckpointStore, SealConflict
from app.store.namespaces import namespaces_in

MAX_EVENTS = 20_000  # events per checkpoint at most: bounded documents, parallel verify
witness = logging.getLogger("auditlog.checkpoint")
witness.setLevel(logging.INFO)  # the witness lines are written whatever the log level


def namespaces_with_events(client: Elasticsearch, pattern: str) -> list[str]:
    """Every namespace that has an event with ``ingested_at``."""
    return namespaces_in(client, pattern, {"exists": {"field": STAMP}})


@dataclass
class Sealer:
    """Seals namespaces; ``may_write`` says whether this instance still holds the lease."""

    reader: StreamReader
    checkpoints: CheckpointStore
    key: SigningKey
    settle_ns: int
    sealer_id: str = ""
    max_events: int = MAX_EVENTS
    may_write: Callable[[], bool] = field(default=lambda: True)

    def seal_all(self, now_ns: int | None = None) -> list[Checkpoint]:
        """Seal every namespace up to the watermark; return the new checkpoints."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        sealed: list[Checkpoint] = []
        for namespace in namespaces_with_events(self.reader.client, self.reader.pattern):
            if not self.may_write():
                break
            sealed.extend(self.seal(namespace, now_ns))
        return sealed

    def seal(self, namespace: str, now_ns: int | None = None) -> list[Checkpoint]:
        """Seal ``namespace``'s events after its last checkpoint up to the watermark."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        latest = self.checkpoints.latest(namespace)
        previous = None if latest is None else Checkpoint.from_document(latest)
        after: Position | None = None
        if previous is not None:
            after = position_of(previous.last.ingested_at, previous.last.id)
        query = stream_query(namespace, after, None, now_ns - self.settle_ns)
        sealed: list[Checkpoint] = []
        for chunk in self._chunks(self.reader.pages(query)):
            checkpoint = self._checkpoint(namespace, previous, chunk)
            if not self.may_write():
                break
            try:
                self.checkpoints.create(namespace, checkpoint.seq, checkpoint.document())
            except SealConflict:
                break  # another sealer wrote this seq: it goes on from there
            witness.info("checkpoint sealed", extra={"checkpoint": checkpoint.public_dict(),
                                                     "sealer": self.sealer_id})
            sealed.append(checkpoint)
            previous = checkpoint
        return sealed

    def _chunks(self, pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        chunk: list[dict[str, Any]] = []
        for page in pages:
            for event in page:
                chunk.append(event)
                if len(chunk) == self.max_events:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def _checkpoint(self, namespace: str, previous: Checkpoint | None,
                    events: list[dict[str, Any]]) -> Checkpoint:
        interval = IntervalHash(GENESIS if previous is None else previous.hash)
        for event in events:
            interval.add(event)
        first, last = events[0], events[-1]
        return Checkpoint(
            seq=1 if previous is None else previous.seq + 1, namespace=namespace,
            count=interval.count,
            first=StreamPosition(str(first[STAMP]), str(first["id"])),
            last=StreamPosition(str(last[STAMP]), str(last["id"])),
            hash=interval.hexdigest(), prev_hash=interval.prev_hash,
            sealed_at=format_ns(time.time_ns()), leaves=interval.packed(),
        ).signed(self.key)
