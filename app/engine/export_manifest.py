"""An export stream with its signed manifest line (``manifest=true``).

``SignedExport.seen`` watches each event as it is serialised: how many were
sealed by a checkpoint and the span of their stream positions. ``stream``
passes the body's chunks on while hashing them, then appends the manifest
line (``app.engine.manifest``) naming the checkpoints of that span.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from app.engine.manifest import VERSION, BodyDigest, trailer_line
from app.engine.signing import SigningKey
from app.model.event import STAMP
from app.model.time_window import TimeWindow
from app.model.timestamps import TimestampError, format_ns, parse_timestamp
from app.store.checkpoints import CheckpointStore


def window_text(window: TimeWindow) -> dict[str, str | None]:
    """The window as the manifest states it: RFC 3339 bounds, null when open."""
    return {"start_time": None if window.start_ns is None else format_ns(window.start_ns),
            "end_time": None if window.end_ns is None else format_ns(window.end_ns)}


def _position(event: dict[str, Any]) -> tuple[int, str] | None:
    ingested = event.get(STAMP)
    if not isinstance(ingested, str):
        return None
    try:
        return parse_timestamp(ingested)[0], str(event.get("id", ""))
    except TimestampError:
        return None


class SignedExport:
    """The manifest of one export, gathered while it streams."""

    def __init__(self, checkpoints: CheckpointStore, key: SigningKey, namespace: str,
                 manifest: dict[str, Any]) -> None:
        self.checkpoints = checkpoints
        self.key = key
        self.namespace = namespace
        self.manifest = manifest
        latest = checkpoints.latest(namespace)
        last = None if latest is None else latest.get("last")
        self.sealed_to = _position(last) if isinstance(last, dict) else None
        self.latest_seq = 0 if latest is None else int(latest.get("seq", 0))
        self.count = 0
        self.unsealed = 0
        self.low: tuple[int, str] | None = None
        self.high: tuple[int, str] | None = None

    def seen(self, event: dict[str, Any]) -> dict[str, Any]:
        """Note one exported event; return it unchanged."""
        self.count += 1
        position = _position(event)
        if position is None or self.sealed_to is None or position > self.sealed_to:
            self.unsealed += 1
            return event
        if self.low is None or position < self.low:
            self.low = position
        if self.high is None or position > self.high:
            self.high = position
        return event

    def covering(self) -> list[dict[str, Any]]:
        """``seq`` and ``hash`` of each checkpoint whose interval holds an exported event."""
        if self.low is None or self.high is None:
            return []
        found = []
        for doc in self.checkpoints.documents(self.namespace, self.low[0], self.high[0]):
            if doc.get("seq", 0) > self.latest_seq:
                break
            found.append({"seq": doc.get("seq"), "hash": doc.get("hash")})
        return found

    def stream(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The body's chunks, then the manifest line."""
        digest = BodyDigest()
        yield from digest.feed(chunks)
        manifest = {"version": VERSION, **self.manifest, "count": self.count,
                    "body_sha256": digest.hexdigest(), "exported_at": format_ns(time.time_ns()),
                    "checkpoints": self.covering(), "unsealed": self.unsealed}
        yield trailer_line(manifest, self.key)
