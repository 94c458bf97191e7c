"""``auditlog export -o`` + ``verify-export`` and ``auditlog holds`` against a real gunicorn
service."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from elasticsearch import Elasticsearch

from app.engine.manifest import SIDECAR_SUFFIX
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import BIN, live_service

NS = "signed"


@pytest.fixture(scope="module")
def service(es_url: str, index_prefix: str, key_path: Path, es: Elasticsearch,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_service(es_url, index_prefix, ADMIN_KEY,
                      AUDITLOG_SIGNING_KEY=str(key_path)) as url:
        events = tmp_path_factory.mktemp("events") / "events.ndjson"
        events.write_bytes(b"".join(
            orjson.dumps({"time": 1_714_000_000 + n, "action": "login",
                          "actor": {"id": f"u{n % 7}"}, "error": 'a "quoted",\nline'}) + b"\n"
            for n in range(3_000)))
        assert _cli(key_path, "ingest", str(events), "-n", NS, "--url", url).returncode == 0
        es.indices.refresh(index=f"{index_prefix}-events-*")
        yield url


def _cli(key_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUDITLOG_KEY": ADMIN_KEY, "AUDITLOG_SIGNING_KEY": str(key_path)}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, timeout=300,
                          check=False)


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_file_verifies_until_changed(service: str, key_path: Path, tmp_path: Path,
                                            fmt: str) -> None:
    out = tmp_path / f"export.{fmt}"
    exported = _cli(key_path, "export", "-n", NS, "--url", service, "--format", fmt,
                    "-o", str(out), "--quiet")
    assert exported.returncode == 0, exported.stderr
    assert b"exported 3000 events" in exported.stderr
    if fmt == "csv":
        assert out.with_name(out.name + SIDECAR_SUFFIX).exists()
        assert b"manifest" not in out.read_bytes()
    else:
        assert len(out.read_bytes().splitlines()) == 3001
    verified = _cli(key_path, "verify-export", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert b"OK" in verified.stdout and b"signed by the service's key" in verified.stdout

    data = out.read_bytes()
    middle = len(data) // 2
    out.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:])
    assert _cli(key_path, "verify-export", str(out)).returncode == 1
    lines = data.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:5] + lines[6:]))
    removed = _cli(key_path, "verify-export", str(out))
    assert removed.returncode == 1 and b"TAMPERED" in removed.stdout


def test_holds_commands(service: str, key_path: Path) -> None:
    made = _cli(key_path, "holds", "set", "-n", NS, "--start-time", "2024-04-01T00:00:00Z",
                "--end-time", "2024-04-30T00:00:00Z", "--reason", "case 7", "--json",
                "--url", service)
    assert made.returncode == 0, made.stderr
    hold = orjson.loads(made.stdout)
    listed = _cli(key_path, "holds", "list", "--url", service)
    assert hold["id"].encode() in listed.stdout and b"case 7" in listed.stdout
    released = _cli(key_path, "holds", "release", hold["id"], "--url", service)
    assert released.returncode == 0 and b"released" in released.stdout
    assert b"no legal holds" in _cli(key_path, "holds", "list", "--url", service).stdout
    again = _cli(key_path, "holds", "release", hold["id"], "--url", service)
    assert again.returncode == 1 and b"no legal hold" in again.stderr
