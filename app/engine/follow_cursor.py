"""Follow cursors: where a follower stands in a namespace's (``ingested_at``, ``id``) stream.

A cursor holds the last delivered position ``after`` (stamp in epoch ns and
id; everything after it in that order is still to come) and what was
delivered inside the overlap window behind it, as two generations split by
stamp: ``old`` covers stamps in [``window_start``, ``split``), ``new`` those
from ``split`` on. Each generation is a count and an ``IdSketch`` of the ids,
so a cursor has a constant size whatever the ingest rate. When ``new`` spans
more than the overlap, the reader drops ``old`` and starts an empty ``new``
(no read needed), so the window always reaches at least the overlap back.

It is sealed by ``app.signed_token`` with the namespace, the key id and the
compiled query as signed context: a cursor presented in another namespace, by
another key or with another query fails like a tampered one.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import orjson

from app.engine.id_sketch import ENCODED_BYTES, IdSketch
from app.engine.signed_token import InvalidToken, TokenSigner

PURPOSE = b"follow"
VERSION = 1
# version, window start, split, after stamp, old count, new count, sketches present, id length
_HEAD = struct.Struct(">BqqqIIBB")
# ``after`` of a cursor that starts at the beginning: before every stamp.
BEGINNING_NS = -1
# Sorts after every id character ([A-Za-z0-9._:-]): "after (t, AFTER_ALL)" is "from t + 1 ns".
AFTER_ALL = "~"


class InvalidCursor(ValueError):
    """The cursor is malformed, tampered, or bound to another namespace, key or query."""


@dataclass
class Generation:
    """The events delivered with stamps in one part of the window: how many, and which."""

    count: int = 0
    sketch: IdSketch = field(default_factory=IdSketch)

    def add(self, event_id: str) -> None:
        self.count += 1
        self.sketch.add(event_id)

    def copy(self) -> Generation:
        return Generation(self.count, self.sketch.copy())


@dataclass
class CursorState:
    """What a cursor holds (see the module docstring)."""

    window_start_ns: int
    split_ns: int
    after_ns: int
    after_id: str
    old: Generation = field(default_factory=Generation)
    new: Generation = field(default_factory=Generation)

    @classmethod
    def starting_at(cls, start_ns: int | None) -> CursorState:
        """A cursor before the first event stamped at or after ``start_ns`` (None: all)."""
        if start_ns is None:
            return cls(0, 0, BEGINNING_NS, AFTER_ALL)
        return cls(start_ns, start_ns, start_ns - 1, AFTER_ALL)

    @property
    def delivered_in_window(self) -> int:
        return self.old.count + self.new.count

    def generation_of(self, stamp_ns: int) -> Generation | None:
        """The generation an event stamped ``stamp_ns`` belongs to (None: before the window)."""
        if stamp_ns >= self.split_ns:
            return self.new
        return self.old if stamp_ns >= self.window_start_ns else None

    def rotate(self) -> None:
        """Drop the old generation: the window now starts at the split, and a new one at
        the next stamp after the position."""
        self.window_start_ns = self.split_ns
        self.split_ns = self.after_ns + 1
        self.old, self.new = self.new, Generation()

    def snapshot(self) -> CursorState:
        """An independent copy (the sketches are mutable)."""
        return CursorState(self.window_start_ns, self.split_ns, self.after_ns, self.after_id,
                           self.old.copy(), self.new.copy())


def binding(namespace: str, key_id: str, compiled_query: dict[str, object]) -> bytes:
    """The signed context of a cursor: namespace, key and the query's canonical form."""
    query = hashlib.sha256(orjson.dumps(compiled_query, option=orjson.OPT_SORT_KEYS)).digest()
    return b"\0".join((namespace.encode(), key_id.encode(), query))


class FollowCursors:
    """Encodes and verifies follow cursors with the service's token signer."""

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def encode(self, state: CursorState, context: bytes) -> str:
        """The opaque cursor of ``state`` for ``context`` (see ``binding``)."""
        after_id = state.after_id.encode()
        old, new = state.old.sketch.to_bytes(), state.new.sketch.to_bytes()
        present = (1 if old else 0) | (2 if new else 0)
        payload = (_HEAD.pack(VERSION, state.window_start_ns, state.split_ns, state.after_ns,
                              state.old.count, state.new.count, present, len(after_id))
                   + after_id + old + new)
        return self._signer.seal(PURPOSE, payload, context)

    def decode(self, cursor: str, context: bytes) -> CursorState:
        """The state of a cursor presented under ``context``; raise InvalidCursor."""
        try:
            payload = self._signer.open(PURPOSE, cursor, context)
        except InvalidToken:
            raise InvalidCursor("the cursor is not valid for this namespace, key and query "
                                "(tampered, or issued for another)") from None
        try:
            (version, window_start, split, after_ns, old_count, new_count, present,
             id_length) = _HEAD.unpack_from(payload)
            if version != VERSION:
                raise ValueError("unknown cursor version")
            rest = payload[_HEAD.size:]
            after_id = rest[:id_length].decode()
            rest = rest[id_length:]
            sketches = []
            for bit in (1, 2):
                size = ENCODED_BYTES if present & bit else 0
                sketches.append(IdSketch.from_bytes(rest[:size]))
                rest = rest[size:]
            if rest:
                raise ValueError("trailing bytes")
        except (struct.error, ValueError, UnicodeDecodeError):
            raise InvalidCursor("the cursor is not valid") from None
        return CursorState(window_start, split, after_ns, after_id,
                           Generation(old_count, sketches[0]), Generation(new_count, sketches[1]))
