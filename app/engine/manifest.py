"""The signed manifest of an export: what was asked, what was sent, and its SHA-256.

How it travels (asked for with ``manifest=true`` on the native export): the
service appends it to the stream as one last line, after the body::

    {"manifest": {...}, "signature": "<base64 Ed25519 over the manifest's canonical JSON>"}

``auditlog export -o FILE`` keeps that line as the last line of an NDJSON file
(still valid NDJSON; every line above it is an event), and writes it to the
sidecar ``FILE.manifest.json`` for CSV (so the CSV stays plain CSV).
``auditlog verify-export FILE`` finds it in either place.

The manifest holds: ``version``, ``namespace``, ``query``, ``window``
(``start_time``/``end_time`` as given, null for an open end), ``sort``,
``format``, ``count`` (events), ``body_sha256`` (hex SHA-256 of every byte of
the body before the manifest line), ``exported_at``, ``checkpoints`` (``seq``
and ``hash`` of each checkpoint whose interval holds an exported event; events
not sealed yet are counted in ``unsealed``), ``algorithm`` and ``public_key``
(the signer's, base64 of the raw 32 bytes).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.engine.signing import ALGORITHM, PublicKey, SigningKey

VERSION = 1
SIDECAR_SUFFIX = ".manifest.json"
_READ_BYTES = 1 << 20


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes a manifest's signature covers: keys sorted at every level, no whitespace."""
    return orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)


def trailer_line(manifest: dict[str, Any], key: SigningKey) -> bytes:
    """The manifest line appended to an export: the manifest and its signature."""
    manifest = {**manifest, "algorithm": ALGORITHM, "public_key": key.public.raw_base64}
    signature = key.sign(canonical(manifest))
    return orjson.dumps({"manifest": manifest, "signature": signature},
                        option=orjson.OPT_APPEND_NEWLINE)


@dataclass
class BodyDigest:
    """SHA-256 and size of a body, fed chunk by chunk as it is sent."""

    sha256: Any = field(default_factory=hashlib.sha256)
    size: int = 0

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass ``chunks`` on, hashing them."""
        for chunk in chunks:
            self.sha256.update(chunk)
            self.size += len(chunk)
            yield chunk

    def hexdigest(self) -> str:
        """The SHA-256 of everything fed, hex."""
        return str(self.sha256.hexdigest())


@dataclass
class ExportCheck:
    """What ``verify_export`` found: ``problems`` is empty when the file is intact."""

    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    key_trusted: bool | None = None  # None: no trusted key to compare with

    @property
    def intact(self) -> bool:
        """Whether nothing was found wrong."""
        return not self.problems


def _split_trailer(path: Path) -> tuple[int, bytes]:
    """Where the file's last line starts, and that line (without reading the whole file)."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        end = size
        stream.seek(max(0, size - 1))
        if size and stream.read(1) == b"\n":
            end = size - 1
        start = end
        while start > 0:
            step = min(65_536, start)
            stream.seek(start - step)
            block = stream.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                start = start - step + cut + 1
                break
            start -= step
        stream.seek(start)
        return start, stream.read(size - start)


def move_to_sidecar(path: Path) -> Path:
    """Cut the manifest line off the end of ``path`` into ``FILE.manifest.json`` (a CSV
    export stays plain CSV); return the sidecar's path."""
    start, line = _split_trailer(path)
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    sidecar.write_bytes(line)
    with path.open("r+b") as stream:
        stream.truncate(start)
    return sidecar


def _parse_trailer(line: bytes) -> tuple[dict[str, Any], str] | None:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("manifest"), dict):
        return None
    return data["manifest"], str(data.get("signature", ""))


def locate(path: Path) -> tuple[dict[str, Any], str, int] | None:
    """The manifest, its signature and the body's length in bytes, from the sidecar
    ``FILE.manifest.json`` when there is one, else from the file's last line; None
    when neither holds a manifest."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.exists():
        parsed = _parse_trailer(sidecar.read_bytes())
        return None if parsed is None else (*parsed, path.stat().st_size)
    start, line = _split_trailer(path)
    parsed = _parse_trailer(line)
    return None if parsed is None else (*parsed, start)


def _count_records(path: Path, body_bytes: int, csv_format: bool) -> int:
    with path.open("rb") as stream:
        if not csv_format:
            count, left = 0, body_bytes
            while left > 0:
                block = stream.read(min(_READ_BYTES, left))
                if not block:
                    break
                count += block.count(b"\n")
                left -= len(block)
            return count
        text = io.TextIOWrapper(io.BytesIO(stream.read(body_bytes)), encoding="utf-8",
                                newline="")
        return max(0, sum(1 for _ in csv.reader(text)) - 1)  # minus the header row


def _body_sha256(path: Path, body_bytes: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        left = body_bytes
        while left > 0:
            block = stream.read(min(_READ_BYTES, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def verify_export(path: Path, trusted: PublicKey | None = None) -> ExportCheck:
    """Check an exported file against its manifest: signature, SHA-256 and count.

    ``trusted`` is the service's public key when known: the manifest's key must be
    it. Raises OSError when the file cannot be read.
    """
    check = ExportCheck()
    found = locate(path)
    if found is None:
        check.problems.append(f"no manifest: neither a manifest line at the end of {path.name} "
                              f"nor {path.name}{SIDECAR_SUFFIX}")
        return check
    manifest, signature, body_bytes = found
    check.manifest = manifest
    try:
        signer = PublicKey.from_text(str(manifest.get("public_key", "")))
    except ValueError as exc:
        check.problems.append(f"the manifest's public key is not usable: {exc}")
        return check
    if not signer.verify(canonical(manifest), signature):
        check.problems.append("the manifest's signature does not verify: the manifest was "
                              "edited")
    if trusted is not None:
        check.key_trusted = trusted.raw_base64 == signer.raw_base64
        if not check.key_trusted:
            check.problems.append("the manifest is signed by another key than the service's")
    sha = _body_sha256(path, body_bytes)
    if sha != manifest.get("body_sha256"):
        check.problems.append(f"SHA-256 of the body is {sha}, the manifest says "
                              f"{manifest.get('body_sha256')}: the file was changed")
    count = _count_records(path, body_bytes, manifest.get("format") == "csv")
    if count != manifest.get("count"):
        check.problems.append(f"the file holds {count} events, the manifest says "
                              f"{manifest.get('count')}")
    return check
