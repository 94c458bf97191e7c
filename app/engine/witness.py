"""The witness log: checkpoints as the service wrote them to its log, kept outside.

Each sealed checkpoint is one JSON line on the service's stderr (logger
``auditlog.checkpoint``, the checkpoint under ``checkpoint``). Someone who can
write to Elasticsearch can delete the newest checkpoints, or, holding the
signing key, rewrite a whole chain; a copy of those lines kept elsewhere shows
both: ``auditlog verify --witness FILE`` compares them with the stored ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from app.engine.checkpoint import ChainProblem, Checkpoint
from app.engine.signing import PublicKey

WITNESS_LOGGER = "auditlog.checkpoint"


def witnessed(lines: Iterable[bytes], namespace: str) -> dict[int, dict[str, Any]]:
    """The checkpoints of ``namespace`` in log lines, by seq (other lines are skipped)."""
    found: dict[int, dict[str, Any]] = {}
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(record, dict) or record.get("logger") != WITNESS_LOGGER:
            continue
        checkpoint = record.get("checkpoint")
        if isinstance(checkpoint, dict) and checkpoint.get("namespace") == namespace \
                and isinstance(checkpoint.get("seq"), int):
            found[checkpoint["seq"]] = checkpoint
    return found


def witness_problems(witness: dict[int, dict[str, Any]], stored: dict[int, Checkpoint],
                     key: PublicKey, low: int = 1, high: int | None = None,
                     ) -> list[ChainProblem]:
    """Witnessed checkpoints (seq ``low``..``high``) that are missing from, or differ
    from, the stored ones. Lines not signed by ``key`` are not evidence and are named."""
    problems: list[ChainProblem] = []
    for seq in sorted(witness):
        if seq < low or (high is not None and seq > high):
            continue
        try:
            seen = Checkpoint.from_document(witness[seq])
        except ValueError:
            problems.append(ChainProblem(seq, "the witness line is not a checkpoint"))
            continue
        if not seen.signature_valid(key):
            problems.append(ChainProblem(seq, "the witness line is not signed by this key"))
            continue
        kept = stored.get(seq)
        if kept is None:
            problems.append(ChainProblem(seq, "sealed (witness log) but missing from "
                                              "Elasticsearch: the checkpoint was deleted"))
        elif (kept.hash, kept.count, kept.last) != (seen.hash, seen.count, seen.last):
            problems.append(ChainProblem(seq, "differs from the witness log: the chain was "
                                              "rewritten"))
    return problems
