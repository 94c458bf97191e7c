"""The export manifest: signed trailer line or sidecar, checked byte for byte (no Elasticsearch)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from app.engine.manifest import SIDECAR_SUFFIX, BodyDigest, trailer_line, verify_export
from app.engine.signing import load_signing_key


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory):
    return load_signing_key(None, tmp_path_factory.mktemp("keys"))


def _export(path: Path, key, body_lines: list[bytes], fmt: str = "ndjson",
            sidecar: bool = False) -> None:
    digest = BodyDigest()
    body = b"".join(digest.feed(body_lines))
    count = len(body_lines) - (1 if fmt == "csv" else 0)
    manifest = {"version": 1, "namespace": "ns", "query": "", "format": fmt, "count": count,
                "window": {"start_time": None, "end_time": None},
                "body_sha256": digest.hexdigest(), "checkpoints": [], "unsealed": count}
    trailer = trailer_line(manifest, key)
    if sidecar:
        path.write_bytes(body)
        path.with_name(path.name + SIDECAR_SUFFIX).write_bytes(trailer)
    else:
        path.write_bytes(body + trailer)


def _lines(n: int) -> list[bytes]:
    return [orjson.dumps({"id": f"e{i}", "action": "login"}) + b"\n" for i in range(n)]


def test_intact_export_verifies(tmp_path: Path, key) -> None:
    path = tmp_path / "out.ndjson"
    _export(path, key, _lines(5))
    check = verify_export(path, key.public)
    assert check.intact, check.problems
    assert check.manifest is not None and check.manifest["count"] == 5
    assert check.key_trusted is True


def test_empty_export_verifies(tmp_path: Path, key) -> None:
    path = tmp_path / "out.ndjson"
    _export(path, key, [])
    assert verify_export(path).intact


@pytest.mark.parametrize("damage", ["byte", "line", "manifest", "trailer-gone"])
def test_damaged_export_fails(tmp_path: Path, key, damage: str) -> None:
    path = tmp_path / "out.ndjson"
    _export(path, key, _lines(5))
    data = path.read_bytes()
    if damage == "byte":
        data = data.replace(b'"e2"', b'"e3"', 1)
    elif damage == "line":
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[:1] + lines[2:])
    elif damage == "manifest":
        data = data.replace(b'"count":5', b'"count":4', 1)
    else:
        data = b"".join(data.splitlines(keepends=True)[:-1])
    path.write_bytes(data)
    check = verify_export(path, key.public)
    assert not check.intact
    assert check.problems


def test_other_key_is_refused_when_the_service_key_is_known(tmp_path: Path, key) -> None:
    path = tmp_path / "out.ndjson"
    _export(path, load_signing_key(None, tmp_path / "other"), _lines(2))
    assert verify_export(path).intact  # self-consistent ...
    check = verify_export(path, key.public)  # ... but not the service's signature
    assert not check.intact and check.key_trusted is False


def test_csv_with_sidecar(tmp_path: Path, key) -> None:
    path = tmp_path / "out.csv"
    rows = [b"id,action\r\n", b'e1,"multi\r\nline"\r\n', b"e2,login\r\n"]
    _export(path, key, rows, fmt="csv", sidecar=True)
    assert verify_export(path, key.public).intact
    path.write_bytes(b"".join(rows[:2]))
    assert not verify_export(path, key.public).intact
