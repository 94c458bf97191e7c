"""The hash of one sealed interval of a namespace's ingest stream, and what differs from it.

Each event is reduced to a *leaf*: the first 16 bytes of the SHA-256 of its
canonical JSON (the stored document, UTF-8, object keys sorted at every level,
no whitespace: ``orjson`` with ``OPT_SORT_KEYS``). The interval's leaf list is
one line per event in (``ingested_at``, ``id``) order::

    <leaf as 32 hex digits> <id>\\n

and the interval's hash chains it to the previous checkpoint::

    hash = SHA-256( prev_hash (64 hex digits) + "\\n" + the leaf lines )

so the hash covers every event's full content, the ids, their order, the count
and the whole chain before it. The leaf lines are kept with the checkpoint
(compressed): when a recomputed hash differs, they name each event changed,
deleted or inserted, and they are authentic because they hash to the signed hash.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

GENESIS = "0" * 64  # prev_hash of a namespace's first checkpoint
LEAF_BYTES = 16


def canonical_json(event: dict[str, Any]) -> bytes:
    """The canonical JSON of a stored event: keys sorted at every level, no whitespace."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def leaf_line(event: dict[str, Any]) -> bytes:
    """The leaf line of one event: ``<leaf hex> <id>\\n``."""
    digest = hashlib.sha256(canonical_json(event)).digest()[:LEAF_BYTES]
    return b"%s %s\n" % (digest.hex().encode(), str(event.get("id", "")).encode())


@dataclass
class IntervalHash:
    """The leaf lines of an interval, fed event after event in stream order."""

    prev_hash: str
    lines: list[bytes] = field(default_factory=list)

    def add(self, event: dict[str, Any]) -> None:
        """Append one event (the next in (``ingested_at``, ``id``) order)."""
        self.lines.append(leaf_line(event))

    @property
    def count(self) -> int:
        """Events added so far."""
        return len(self.lines)

    def hexdigest(self) -> str:
        """The interval's chained hash."""
        return chained_hash(self.prev_hash, self.lines)

    def packed(self) -> str:
        """The leaf lines, zlib-compressed and base64 (the checkpoint's ``leaves``)."""
        return pack_leaves(self.lines)


def chained_hash(prev_hash: str, lines: Iterable[bytes]) -> str:
    """SHA-256 of ``prev_hash``, a newline and the leaf lines, hex."""
    digest = hashlib.sha256(prev_hash.encode() + b"\n")
    for line in lines:
        digest.update(line)
    return digest.hexdigest()


def pack_leaves(lines: Iterable[bytes]) -> str:
    """Leaf lines as stored: zlib, then base64."""
    return base64.b64encode(zlib.compress(b"".join(lines), 6)).decode()


def unpack_leaves(packed: str) -> list[bytes]:
    """The leaf lines of a stored ``leaves``; raise ValueError when it does not decode."""
    try:
        raw = zlib.decompress(base64.b64decode(packed, validate=True))
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"the leaves do not decode: {exc}") from exc
    return raw.splitlines(keepends=True)


@dataclass(frozen=True)
class EventDifference:
    """One event that differs from what was sealed: ``changed``, ``deleted`` or ``inserted``."""

    kind: str
    event_id: str


def _parse(line: bytes) -> tuple[str, str]:
    leaf, _, event_id = line.rstrip(b"\n").partition(b" ")
    return event_id.decode(errors="replace"), leaf.decode(errors="replace")


def differences(sealed: list[bytes], current: list[bytes]) -> list[EventDifference]:
    """Each event changed, deleted or inserted in ``current`` against ``sealed`` leaf lines.

    An id in both lists with another leaf is ``changed``; an id only sealed is
    ``deleted``; an id only current (or present more often than sealed) is
    ``inserted``. Two events that only swapped places are ``changed`` both.
    """
    sealed_leaves: dict[str, Counter[str]] = {}
    for line in sealed:
        event_id, leaf = _parse(line)
        sealed_leaves.setdefault(event_id, Counter())[leaf] += 1
    current_leaves: dict[str, Counter[str]] = {}
    for line in current:
        event_id, leaf = _parse(line)
        current_leaves.setdefault(event_id, Counter())[leaf] += 1
    found: list[EventDifference] = []
    for event_id in dict.fromkeys([*(_parse(x)[0] for x in sealed),
                                   *(_parse(x)[0] for x in current)]):
        before = sealed_leaves.get(event_id, Counter())
        after = current_leaves.get(event_id, Counter())
        if before == after:
            continue
        matched = sum((before & after).values())
        changed = min(before.total(), after.total()) - matched
        found.extend(EventDifference("changed", event_id) for _ in range(changed))
        extra = before.total() - after.total()
        kind = "deleted" if extra > 0 else "inserted"
        found.extend(EventDifference(kind, event_id) for _ in range(abs(extra)))
    if not found and sealed != current:
        # Same events, other order: every displaced event is named as changed.
        found = [EventDifference("changed", _parse(after)[0])
                 for before, after in zip(sealed, current, strict=True) if before != after]
    return found
