"""A checkpoint: one sealed interval of a namespace's ingest stream, signed and chained.

Fields (DESIGN §13): ``seq`` (1, 2, 3, ... per namespace), ``namespace``,
``count``, ``first`` and ``last`` (``{ingested_at, id}`` of the interval's first
and last event), ``hash`` (``app.engine.interval_hash``: the interval's events
chained to ``prev_hash``), ``prev_hash`` (the previous checkpoint's ``hash``,
64 zeros for seq 1), ``sealed_at`` (RFC 3339) and ``signature``: Ed25519 over
the canonical JSON of every other field (keys sorted, no whitespace). The
stored document also keeps ``leaves`` (the interval's leaf lines, compressed),
which are covered by ``hash``.

Interval ``seq`` holds the events after the previous checkpoint's ``last`` up
to and including its own ``last``, in (``ingested_at``, ``id``) order: the
intervals of a namespace tile its stream with no gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson

from app.engine.interval_hash import GENESIS
from app.engine.signing import PublicKey, SigningKey

PUBLIC_FIELDS = ("seq", "namespace", "count", "first", "last", "hash", "prev_hash",
                 "sealed_at", "signature")


@dataclass(frozen=True)
class StreamPosition:
    """A place in a namespace's ingest stream: an event's ``ingested_at`` and ``id``."""

    ingested_at: str
    id: str

    def as_dict(self) -> dict[str, str]:
        """``{ingested_at, id}``."""
        return {"ingested_at": self.ingested_at, "id": self.id}

    @classmethod
    def from_dict(cls, data: Any) -> StreamPosition:
        """From ``{ingested_at, id}``; raise ValueError when it is not that shape."""
        if not isinstance(data, dict) or not isinstance(data.get("ingested_at"), str) \
                or not isinstance(data.get("id"), str):
            raise ValueError("a stream position is {ingested_at, id}")
        return cls(data["ingested_at"], data["id"])


@dataclass(frozen=True)
class Checkpoint:
    """One sealed interval (see the module docstring)."""

    seq: int
    namespace: str
    count: int
    first: StreamPosition
    last: StreamPosition
    hash: str
    prev_hash: str
    sealed_at: str
    signature: str = ""
    leaves: str = ""

    def payload(self) -> bytes:
        """The bytes the signature covers: canonical JSON of every public field but it."""
        body = {"seq": self.seq, "namespace": self.namespace, "count": self.count,
                "first": self.first.as_dict(), "last": self.last.as_dict(),
                "hash": self.hash, "prev_hash": self.prev_hash, "sealed_at": self.sealed_at}
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    def signed(self, key: SigningKey) -> Checkpoint:
        """This checkpoint with its signature."""
        values = asdict(self)
        values.update(first=self.first, last=self.last, signature=key.sign(self.payload()))
        return Checkpoint(**values)

    def signature_valid(self, key: PublicKey) -> bool:
        """Whether the signature is ``key``'s over the other fields."""
        return key.verify(self.payload(), self.signature)

    def public_dict(self) -> dict[str, Any]:
        """The API's and the log's shape: the public fields, no leaves."""
        return {"seq": self.seq, "namespace": self.namespace, "count": self.count,
                "first": self.first.as_dict(), "last": self.last.as_dict(),
                "hash": self.hash, "prev_hash": self.prev_hash, "sealed_at": self.sealed_at,
                "signature": self.signature}

    def document(self) -> dict[str, Any]:
        """The stored document: the public fields and the leaves."""
        return {**self.public_dict(), "leaves": self.leaves}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Checkpoint:
        """From a stored document; raise ValueError when a field is missing or mistyped."""
        try:
            values = {
                "seq": int(doc["seq"]), "namespace": str(doc["namespace"]),
                "count": int(doc["count"]),
                "first": StreamPosition.from_dict(doc["first"]),
                "last": StreamPosition.from_dict(doc["last"]),
                "hash": str(doc["hash"]), "prev_hash": str(doc["prev_hash"]),
                "sealed_at": str(doc["sealed_at"]), "signature": str(doc.get("signature", "")),
                "leaves": str(doc.get("leaves", "")),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a checkpoint document: {exc}") from exc
        return cls(**values)


@dataclass(frozen=True)
class ChainProblem:
    """Something wrong with the checkpoints themselves (not with the events)."""

    seq: int
    message: str


def chain_problems(checkpoints: list[Checkpoint], key: PublicKey,
                   previous: Checkpoint | None = None) -> list[ChainProblem]:
    """What is wrong with consecutive ``checkpoints`` (sorted by seq) of one namespace.

    Checks each signature, that ``seq`` goes up by one from ``previous`` (or
    from 1), and that each ``prev_hash`` is the hash before it.
    """
    problems: list[ChainProblem] = []
    expected_seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS if previous is None else previous.hash
    for checkpoint in checkpoints:
        if not checkpoint.signature_valid(key):
            problems.append(ChainProblem(checkpoint.seq, "signature does not verify: the "
                                         "checkpoint was edited or not signed by this key"))
        if checkpoint.seq != expected_seq:
            missing = (f"checkpoints {expected_seq}..{checkpoint.seq - 1} are missing"
                       if checkpoint.seq > expected_seq else
                       f"seq {checkpoint.seq} out of order (expected {expected_seq})")
            problems.append(ChainProblem(checkpoint.seq, f"chain break: {missing}"))
        elif checkpoint.prev_hash != prev_hash:
            problems.append(ChainProblem(checkpoint.seq, "chain break: prev_hash is not the "
                                         "previous checkpoint's hash"))
        expected_seq = checkpoint.seq + 1
        prev_hash = checkpoint.hash
    return problems
