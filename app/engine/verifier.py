"""``auditlog verify``: recompute every sealed interval of a namespace and say what differs.

1. The checkpoints (of the ``since``/``until`` window of ``ingested_at``) are
   checked as a chain: each signature, seq numbers consecutive from 1 (or from
   the checkpoint before the window), each ``prev_hash`` the hash before it.
2. Each interval's events are read again from Elasticsearch, on one
   point-in-time, several intervals at once (as the sliced export does), and
   hashed; a different hash or count means tampering. The checkpoint's leaves
   (authenticated by its hash) then name each event changed, deleted or
   inserted after sealing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.engine.checkpoint import Checkpoint, chain_problems
from app.engine.interval_hash import chained_hash, differences, leaf_line, unpack_leaves
from app.engine.signing import PublicKey
from app.engine.stream_reader import Position, StreamReader, position_of, stream_query
from app.engine.witness import witness_problems
from app.store.checkpoints import CheckpointStore
from app.store.client import store_errors


@dataclass(frozen=True)
class Finding:
    """One thing found wrong: ``kind`` is changed, deleted, inserted, checkpoint or chain."""

    seq: int | None
    kind: str
    message: str
    event_id: str | None = None

    def __str__(self) -> str:
        where = f"checkpoint {self.seq}: " if self.seq is not None else ""
        return f"{where}{self.message}"


@dataclass
class Report:
    """What a verification covered and found."""

    namespace: str
    checkpoints: int = 0
    events: int = 0
    unsealed: int | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Whether nothing was found wrong."""
        return not self.findings


@dataclass(frozen=True)
class _Interval:
    checkpoint: Checkpoint
    after: Position | None


def _position(checkpoint: Checkpoint) -> Position:
    return position_of(checkpoint.last.ingested_at, checkpoint.last.id)


class Verifier:
    """Verifies namespaces against their checkpoints."""

    def __init__(self, reader: StreamReader, checkpoints: CheckpointStore, key: PublicKey,
                 readers: int = 4) -> None:
        self.reader = reader
        self.checkpoints = checkpoints
        self.key = key
        self.readers = max(1, readers)

    def plan(self, namespace: str, since_ns: int | None = None,
             until_ns: int | None = None) -> tuple[list[Checkpoint], Checkpoint | None,
                                                   list[Finding]]:
        """The checkpoints of the window, the one before it, and unreadable documents."""
        found: list[Checkpoint] = []
        problems: list[Finding] = []
        for document in self.checkpoints.documents(namespace, since_ns, until_ns):
            try:
                found.append(Checkpoint.from_document(document))
            except ValueError as exc:
                problems.append(Finding(document.get("seq"), "checkpoint", str(exc)))
        previous = None
        if found and found[0].seq > 1:
            document = self.checkpoints.before(namespace, found[0].seq)
            if document is not None:
                try:
                    previous = Checkpoint.from_document(document)
                except ValueError as exc:
                    problems.append(Finding(document.get("seq"), "checkpoint", str(exc)))
        return found, previous, problems

    def verify(self, namespace: str, since_ns: int | None = None, until_ns: int | None = None,
               on_events: Callable[[int], None] | None = None,
               on_plan: Callable[[int], None] | None = None,
               witness: dict[int, dict[str, Any]] | None = None) -> Report:
        """Verify ``namespace``; ``on_plan(total events)`` then ``on_events(n)`` report
        progress. ``witness``: checkpoints from the log kept outside (``app.engine.witness``),
        compared with the stored ones of the window."""
        report = Report(namespace)
        checkpoints, previous, problems = self.plan(namespace, since_ns, until_ns)
        report.findings.extend(problems)
        report.checkpoints = len(checkpoints)
        for problem in chain_problems(checkpoints, self.key, previous):
            report.findings.append(Finding(problem.seq, "chain" if "chain" in problem.message
                                           else "checkpoint", problem.message))
        if witness is not None and (checkpoints or since_ns is None):
            low = checkpoints[0].seq if since_ns is not None else 1
            high = checkpoints[-1].seq if until_ns is not None and checkpoints else None
            stored = {c.seq: c for c in checkpoints}
            for problem in witness_problems(witness, stored, self.key, low, high):
                report.findings.append(Finding(problem.seq, "witness", problem.message))
        if on_plan is not None:
            on_plan(sum(c.count for c in checkpoints))
        intervals: list[_Interval] = []
        after = None if previous is None else _position(previous)
        for checkpoint in checkpoints:
            intervals.append(_Interval(checkpoint, after))
            after = _position(checkpoint)
        pit = self.reader.open_pit()
        try:
            for interval, lines in self._read(namespace, intervals, pit):
                report.events += len(lines)
                report.findings.extend(self._compare(interval.checkpoint, lines))
                if on_events is not None:
                    on_events(len(lines))
            if until_ns is None:
                report.unsealed = self._count(namespace, after, pit)
        finally:
            self.reader.close_pit(pit)
        return report

    def _lines(self, namespace: str, interval: _Interval, pit: dict[str, Any]) -> list[bytes]:
        query = stream_query(namespace, interval.after, _position(interval.checkpoint))
        return [leaf_line(event) for page in self.reader.pages(query, pit) for event in page]

    def _read(self, namespace: str, intervals: list[_Interval], pit: dict[str, Any],
              ) -> Iterator[tuple[_Interval, list[bytes]]]:
        """Each interval's leaf lines, in order, ``readers`` intervals read at once."""
        if self.readers == 1:
            for interval in intervals:
                yield interval, self._lines(namespace, interval, pit)
            return
        upcoming = iter(intervals)
        pending: deque[tuple[_Interval, Future[list[bytes]]]] = deque()
        with ThreadPoolExecutor(self.readers, thread_name_prefix="verify-read") as pool:
            try:
                for interval in upcoming:
                    pending.append((interval, pool.submit(self._lines, namespace, interval,
                                                          dict(pit))))
                    if len(pending) >= 2 * self.readers:
                        break
                while pending:
                    interval, future = pending.popleft()
                    following = next(upcoming, None)
                    if following is not None:
                        pending.append((following, pool.submit(self._lines, namespace,
                                                               following, dict(pit))))
                    yield interval, future.result()
            finally:
                for _, future in pending:
                    future.cancel()

    def _compare(self, checkpoint: Checkpoint, lines: list[bytes]) -> list[Finding]:
        if len(lines) == checkpoint.count and \
                chained_hash(checkpoint.prev_hash, lines) == checkpoint.hash:
            return []
        seq = checkpoint.seq
        packed = self.checkpoints.leaves(checkpoint.namespace, seq)
        try:
            sealed = unpack_leaves(packed or "")
        except ValueError:
            sealed = None
        if sealed is None or chained_hash(checkpoint.prev_hash, sealed) != checkpoint.hash:
            return [Finding(seq, "checkpoint", f"the events differ from what was sealed "
                            f"({len(lines)} now, {checkpoint.count} sealed) and the "
                            "checkpoint's leaves do not match its hash, so the events "
                            "cannot be named")]
        found = [Finding(seq, d.kind, f"event {d.event_id!r} {d.kind} after sealing",
                         d.event_id) for d in differences(sealed, lines)]
        if not found:
            found.append(Finding(seq, "checkpoint", "the events hash differently from what "
                                 "was sealed"))
        return found

    def _count(self, namespace: str, after: Position | None, pit: dict[str, Any]) -> int:
        """Events of the stream after the last checkpoint (not sealed yet)."""
        with store_errors():
            response = self.reader.client.search(
                pit=dict(pit), size=0, track_total_hits=True,
                query=stream_query(namespace, after, None))
        return int(response["hits"]["total"]["value"])
