"""Two service instances and one sealing lease, on a real node: exactly one seals at a time;
killing the sealer hands the lease over; no interval is sealed twice or skipped."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from app.cli import main
from app.engine.signing import KEY_FILE, load_signing_key
from app.model.event import load_event
from app.model.timestamps import format_ns, month_of
from app.store.templates import apply_templates
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import live_process

NS = "leased"
LEASE_S = 3
SETTLE_S = 1


class Witness:
    """Reads a service's stderr and keeps its checkpoint lines."""

    def __init__(self, stream) -> None:
        self.lines: list[dict] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if record.get("logger") == "auditlog.checkpoint":
                self.lines.append(record)


class Writer:
    """Writes a few events every 100 ms with ingested_at = now, until stopped."""

    def __init__(self, es: Elasticsearch, prefix: str) -> None:
        self.es, self.prefix, self.written = es, prefix, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            now = time.time_ns()
            operations: list[dict] = []
            for n in range(5):
                event = load_event({"id": f"w{self.written + n:06d}", "time": format_ns(now),
                                    "action": "write"}, NS)
                operations += [{"create": {"_index": f"{self.prefix}-events-{month_of(now)}",
                                           "_id": event.doc_id}},
                               {**event.source, "ingested_at": format_ns(time.time_ns(), 9)}]
            assert not self.es.bulk(operations=operations, refresh=True)["errors"]
            self.written += 5
            self.stop.wait(0.1)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_one_sealer_and_a_handover(es: Elasticsearch, es_url: str, index_prefix: str,
                                   tmp_path: Path, monkeypatch) -> None:
    load_signing_key(None, tmp_path)
    key = str(tmp_path / KEY_FILE)
    apply_templates(es, index_prefix)
    es.options(ignore_status=400).indices.create(
        index=f"{index_prefix}-events-{month_of(time.time_ns())}",
        mappings={"properties": {"ingested_at": {"type": "date_nanos"}}})
    env = {"AUDITLOG_CHECKPOINT_INTERVAL": "0.5", "AUDITLOG_CHECKPOINT_LEASE": str(LEASE_S),
           "AUDITLOG_SIGNING_KEY": key, "AUDITLOG_FOLLOW_SETTLE": str(SETTLE_S),
           "AUDITLOG_FOLLOW_OVERLAP": "0"}
    with live_process(es_url, index_prefix, ADMIN_KEY, workers=1, **env) as (_, first), \
            live_process(es_url, index_prefix, ADMIN_KEY, workers=1, **env) as (_, second):
        witnesses = {first.pid: Witness(first.stderr), second.pid: Witness(second.stderr)}
        writer = Writer(es, index_prefix)
        try:
            _wait_for(lambda: sum(len(w.lines) for w in witnesses.values()) >= 3, 60,
                      "three checkpoints")
            sealing = [pid for pid, w in witnesses.items() if w.lines]
            assert len(sealing) == 1, "both instances sealed"
            process = first if sealing[0] == first.pid else second
            survivor = witnesses[second.pid if process is first else first.pid]
            worker_pid = int(witnesses[process.pid].lines[0]["sealer"].split(":")[1])
            process.send_signal(signal.SIGKILL)  # the instance, then its worker: no respawn
            process.wait()
            os.kill(worker_pid, signal.SIGKILL)
            killed_at = time.monotonic()
            _wait_for(lambda: len(survivor.lines) >= 2, 60, "the survivor to seal")
            assert time.monotonic() - killed_at < 30 + 5  # the lease lapsed within 30 s
        finally:
            writer.stop.set()
            writer.thread.join()
        written = writer.written
        _wait_for(lambda: sum(line["checkpoint"]["count"] for w in witnesses.values()
                              for line in w.lines) >= written, 30, "every event sealed")

    lines = sorted((line for w in witnesses.values() for line in w.lines),
                   key=lambda line: line["checkpoint"]["seq"])
    seqs = [line["checkpoint"]["seq"] for line in lines]
    assert seqs == list(range(1, len(seqs) + 1))  # none twice, none skipped
    sealers = [line["sealer"] for line in lines]
    changes = sum(1 for a, b in itertools.pairwise(sealers) if a != b)
    assert changes == 1 and len(set(sealers)) == 2  # one sealer, then the other
    assert sum(line["checkpoint"]["count"] for line in lines) == written
    es.indices.refresh(index=f"{index_prefix}-checkpoints")
    stored = es.search(index=f"{index_prefix}-checkpoints", size=1000,
                       query={"term": {"namespace": NS}}, sort=[{"seq": "asc"}],
                       source_excludes=["leaves"])["hits"]["hits"]
    assert [hit["_source"]["seq"] for hit in stored] == seqs
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("AUDITLOG_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("AUDITLOG_SIGNING_KEY", key)
    result = CliRunner().invoke(main, ["verify", "--quiet", NS])
    assert result.exit_code == 0, result.output
    assert f"{written} events" in result.output
