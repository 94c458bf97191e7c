"""``auditlog ingest``/``export`` and ``/metrics`` against a real gunicorn service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests
from elasticsearch import Elasticsearch
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import BIN, live_service


@pytest.fixture(scope="module")
def service(es_url: str, index_prefix: str) -> Iterator[str]:
    with live_service(es_url, index_prefix, ADMIN_KEY) as url:
        yield url


def _cli(url: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUDITLOG_KEY": ADMIN_KEY}
    return subprocess.run([str(BIN), *args, "--url", url], env=env, capture_output=True,
                          input=stdin, timeout=300, check=False)


def _events(count: int, start: int = 0) -> list[dict]:
    # No ids: the service derives them from the content, which makes reruns idempotent.
    return [{"time": 1_714_000_000 + n * 0.25, "action": ("login", "logout")[n % 2],
             "actor": {"id": f"u{n % 13}"}, "labels": {"seq": str(n)}}
            for n in range(start, start + count)]


def _write_ndjson(path: Path, events: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def _count(es: Elasticsearch, prefix: str, namespace: str) -> int:
    es.indices.refresh(index=f"{prefix}-events-*", allow_no_indices=True,
                       ignore_unavailable=True)
    return int(es.count(index=f"{prefix}-events-*", allow_no_indices=True,
                        ignore_unavailable=True,
                        query={"term": {"namespace": namespace}})["count"])


def test_ingest_shows_progress_and_counts(service, tmp_path, es, index_prefix) -> None:
    path = _write_ndjson(tmp_path / "events.ndjson", _events(6_000))
    result = _cli(service, "ingest", str(path), "-n", "cli", "--batch-size", "1000")
    assert result.returncode == 0, result.stderr
    assert b"created 6000, duplicates 0, failed 0" in result.stdout
    progress = result.stderr.decode()
    assert "ev/s" in progress and "6.00k/6.00k" in progress
    again = _cli(service, "ingest", str(path), "-n", "cli", "--json")
    assert orjson.loads(again.stdout)["duplicates"] == 6_000
    assert _count(es, index_prefix, "cli") == 6_000


def test_killed_ingest_rerun_creates_no_duplicates(service, tmp_path, es, index_prefix) -> None:
    total = 20_000
    path = _write_ndjson(tmp_path / "big.ndjson", _events(total, start=100_000))
    env = {**os.environ, "AUDITLOG_KEY": ADMIN_KEY}
    process = subprocess.Popen(
        [str(BIN), "ingest", str(path), "-n", "killed", "--url", service, "--batch-size",
         "200", "--concurrency", "1"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _count(es, index_prefix, "killed") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stored = _count(es, index_prefix, "killed")
    assert 0 < stored < total, "the kill should land mid-way"
    result = _cli(service, "ingest", str(path), "-n", "killed", "--json")
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["failed"] == 0
    assert summary["created"] + summary["duplicates"] == total
    assert summary["duplicates"] >= stored
    assert _count(es, index_prefix, "killed") == total


def test_ingest_reads_a_json_array_from_stdin_and_reports_bad_events(service) -> None:
    events = _events(300, start=500_000)
    result = _cli(service, "ingest", "-", "-n", "arr", "--json", stdin=orjson.dumps(events))
    assert orjson.loads(result.stdout)["created"] == 300
    body = orjson.dumps(events[0]) + b"\n{not json\n" + orjson.dumps({"action": "x"}) + b"\n"
    result = _cli(service, "ingest", "-", "-n", "arr", "--json", stdin=body)
    summary = orjson.loads(result.stdout)
    assert result.returncode == 1
    assert (summary["created"], summary["duplicates"], summary["failed"]) == (0, 1, 2)
    assert [e["index"] for e in summary["errors"]] == [1, 2]


def test_refused_key_is_an_error(service, tmp_path) -> None:
    path = _write_ndjson(tmp_path / "one.ndjson", _events(1))
    result = subprocess.run([str(BIN), "ingest", str(path), "-n", "x", "--url", service,
                             "--key", "wrong-key-000000000"], capture_output=True, check=False,
                            timeout=60)
    assert result.returncode == 1
    assert b"401" in result.stderr


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_resumes_after_an_interruption(service, tmp_path, fmt) -> None:
    full = tmp_path / f"full.{fmt}"
    result = _cli(service, "export", "-n", "cli", "--format", fmt, "-o", str(full))
    assert result.returncode == 0, result.stderr
    assert b"exported 6000 events" in result.stderr
    data = full.read_bytes()
    if fmt == "ndjson":  # the signed manifest ends a complete export; a resumed one has none
        assert b'{"manifest"' in data.splitlines()[-1]
        data = data[:data.rindex(b"\n", 0, len(data) - 1) + 1]
    part = tmp_path / f"part.{fmt}"
    part.write_bytes(data[: len(data) * 2 // 5 + 17])  # cut inside a record
    result = _cli(service, "export", "-n", "cli", "--format", fmt, "-o", str(part), "--resume")
    assert result.returncode == 0, result.stderr
    assert part.read_bytes() == data
    again = _cli(service, "export", "-n", "cli", "--format", fmt, "-o", str(full), "--resume")
    assert again.returncode == 1 and b"is complete" in again.stderr


def _open_contexts(es: Elasticsearch, prefix: str) -> int:
    stats = es.indices.stats(index=f"{prefix}-events-*", metric="search")
    return int(stats["_all"]["total"]["search"]["open_contexts"])


def test_client_disconnect_closes_the_point_in_time(service, es, index_prefix) -> None:
    deadline = time.monotonic() + 10
    while _open_contexts(es, index_prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    baseline = _open_contexts(es, index_prefix)
    host, port = service.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET /api/v1/namespaces/killed/events/export HTTP/1.1\r\n"
                     b"Host: x\r\nAuthorization: Bearer " + ADMIN_KEY.encode() + b"\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert _open_contexts(es, index_prefix) > baseline
    # The client went away mid-stream (20,000 events are more than the socket buffers).
    deadline = time.monotonic() + 30
    while _open_contexts(es, index_prefix) > baseline and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _open_contexts(es, index_prefix) == baseline


def test_metrics_sum_over_gunicorn_workers(service) -> None:
    def healthz_count() -> float:
        text = requests.get(f"{service}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (sample.name == "auditlog_http_requests_total"
                        and sample.labels.get("endpoint") == "/healthz"):
                    return sample.value
        return 0.0

    before = healthz_count()
    for _ in range(20):  # spread over both workers by the kernel
        requests.get(f"{service}/healthz", timeout=10)
    assert healthz_count() - before == 20


def test_ingest_waits_out_rate_limits(es_url, index_prefix, tmp_path, es) -> None:
    path = _write_ndjson(tmp_path / "limited.ndjson", _events(600, start=900_000))
    with live_service(es_url, index_prefix, ADMIN_KEY, workers=1,
                      AUDITLOG_RATE_LIMIT="4/second") as url:
        result = _cli(url, "ingest", str(path), "-n", "limited", "--batch-size", "40",
                      "--concurrency", "2", "--json")
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert (summary["created"], summary["duplicates"], summary["failed"]) == (600, 0, 0)
    assert summary["retried_requests"] > 0  # 15 requests at 4/s: some were answered 429
    assert _count(es, index_prefix, "limited") == 600
