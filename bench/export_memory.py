"""Export memory: the service's RSS while streaming 20,000 and 200,000 events.

    python -m bench.export_memory [--events 200000] [--small 20000] [--keep]

Runs the real service (``auditlog serve``, gunicorn, one worker) as a
subprocess on its own index prefix, ingests the events through the service's
ingest API, then exports the first ``--small`` events (a time window) and all
of them, as NDJSON and as CSV, checking that each export holds exactly the
expected number of unique ids. The worker's RSS is sampled every 20 ms during
each export (psutil), and its peak (VmHWM) read after. If memory is constant,
the peaks at 20k and at 200k are the same within noise. A raw Elasticsearch
point-in-time scan of the same events gives the reference throughput.

Prints one JSON object on stdout. Deletes its indices unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psutil
import requests
from elasticsearch import Elasticsearch

from app.store import local_node as local_es

ADMIN_KEY = "bench-export-memory-admin-key"
NAMESPACE = "mem"
BASE_S = 1_700_000_000
STEP_S = 0.01  # event n happens at BASE_S + n * STEP_S
MB = 1024 * 1024


def _es_url() -> str:
    if os.environ.get("ELASTICSEARCH_URL"):
        return os.environ["ELASTICSEARCH_URL"]
    state, _ = local_es.start()
    return state.url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_service(es_url: str, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "ELASTICSEARCH_URL": es_url, "AUDITLOG_INDEX_PREFIX": prefix,
           "AUDITLOG_ADMIN_KEY": ADMIN_KEY, "AUDITLOG_RATE_LIMIT": "100000/second",
           "AUDITLOG_EXPORT_RATE_LIMIT": "100000/second", "AUDITLOG_LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    binary = Path(sys.executable).parent / "auditlog"
    process = subprocess.Popen([str(binary), "serve", "--port", str(port), "--workers", "1",
                                "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the service did not start")


def _worker(master: subprocess.Popen[bytes]) -> psutil.Process:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = psutil.Process(master.pid).children()
        if children:
            return children[0]
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def _hwm_mb(process: psutil.Process) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return process.memory_info().rss / MB


def _ingest(url: str, count: int) -> float:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {ADMIN_KEY}",
                            "Content-Type": "application/x-ndjson"})
    started = time.perf_counter()
    for start in range(0, count, 5_000):
        lines = [orjson.dumps({
            "id": f"m{n:07d}", "time": round(BASE_S + n * STEP_S, 2),
            "action": ("login", "logout", "Create", "Delete")[n % 4],
            "actor": {"id": f"u{n % 97}", "name": f"user {n % 97}", "type": "User"},
            "target": {"kind": "feature", "id": f"f{n % 31}"},
            "source_ip": "10.1.2.3", "user_agent": "bench/1.0",
            "labels": {"env": "prod", "team": f"t{n % 5}"},
        }) for n in range(start, min(start + 5_000, count))]
        last = start + 5_000 >= count
        response = session.post(f"{url}/api/v1/namespaces/{NAMESPACE}/events"
                                + ("?refresh=wait_for" if last else ""),
                                data=b"\n".join(lines), timeout=300)
        response.raise_for_status()
        assert response.json()["failed"] == 0, response.text[:300]
    return time.perf_counter() - started


class _Sampler(threading.Thread):
    """The highest RSS of a process, sampled every 20 ms until stopped."""

    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)


def _export(url: str, worker: psutil.Process, fmt: str, count: int) -> dict[str, Any]:
    params = {"format": fmt}
    if count is not None:
        params["end_time"] = f"{BASE_S + (count - 1) * STEP_S:.2f}"
    sampler = _Sampler(worker)
    sampler.start()
    started = time.perf_counter()
    ids: set[str] = set()
    rows = 0
    nbytes = 0
    with requests.get(f"{url}/api/v1/namespaces/{NAMESPACE}/events/export", params=params,
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}, stream=True,
                      timeout=600) as response:
        if response.status_code != 200:
            raise RuntimeError(f"export answered {response.status_code}: {response.text[:500]}")
        lines = response.iter_lines(chunk_size=256 * 1024)
        if fmt == "csv":
            reader = csv.reader(io.TextIOWrapper(_LineReader(lines), encoding="utf-8",
                                                 newline=""))
            id_column = next(reader).index("id")
            for row in reader:
                rows += 1
                ids.add(row[id_column])
        else:
            for line in lines:
                nbytes += len(line) + 1
                rows += 1
                ids.add(orjson.loads(line)["id"])
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    return {"format": fmt, "expected": count, "events": rows, "unique_ids": len(ids),
            "seconds": round(seconds, 2), "events_per_second": round(rows / seconds),
            "peak_rss_mb_during": round(sampler.peak / MB, 1),
            "vm_hwm_mb_after": round(_hwm_mb(worker), 1)}


class _LineReader(io.RawIOBase):
    """A raw binary stream over an iterator of lines (the line ends put back)."""

    def __init__(self, lines: Any) -> None:
        self.lines = lines
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            line = next(self.lines, None)
            if line is None:
                return 0
            self.pending = line + b"\n"
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def _raw_scan(es: Elasticsearch, prefix: str) -> dict[str, Any]:
    started = time.perf_counter()
    pit = es.open_point_in_time(index=f"{prefix}-events-*", keep_alive="2m")["id"]
    count, after = 0, None
    try:
        while True:
            body: dict[str, Any] = {
                "size": 2_000, "query": {"term": {"namespace": NAMESPACE}},
                "sort": [{"time": "asc"}, {"id": "asc"}], "track_total_hits": False,
                "pit": {"id": pit, "keep_alive": "2m"}}
            if after:
                body["search_after"] = after
            hits = es.search(**body)["hits"]["hits"]
            count += len(hits)
            if len(hits) < 2_000:
                break
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)
    seconds = time.perf_counter() - started
    return {"events": count, "seconds": round(seconds, 2),
            "events_per_second": round(count / seconds)}


def main(argv: list[str] | None = None) -> None:
    """Run the measurement and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    es_url = _es_url()
    prefix = f"benchmem{uuid.uuid4().hex[:8]}"
    es = Elasticsearch(es_url, request_timeout=300)
    process, url = _start_service(es_url, prefix)
    result: dict[str, Any] = {"benchmark": "export_memory", "events": args.events}
    try:
        worker = _worker(process)
        result["ingest_seconds"] = round(_ingest(url, args.events), 2)
        result["rss_mb_before_exports"] = round(worker.memory_info().rss / MB, 1)
        result["vm_hwm_mb_before_exports"] = round(_hwm_mb(worker), 1)
        exports = [_export(url, worker, fmt, size) for size in (args.small, args.events)
                   for fmt in ("ndjson", "csv")]
        result["exports"] = exports
        result["raw_elasticsearch_pit_scan"] = _raw_scan(es, prefix)
        small = max(e["peak_rss_mb_during"] for e in exports if e["expected"] == args.small)
        large = max(e["peak_rss_mb_during"] for e in exports if e["expected"] == args.events)
        result["peak_rss_mb"] = {str(args.small): small, str(args.events): large,
                                 "growth_mb": round(large - small, 1)}
        result["complete"] = all(e["events"] == e["unique_ids"] == e["expected"]
                                 for e in exports)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if not args.keep:
            es.indices.delete(index=f"{prefix}-*", allow_no_indices=True,
                              ignore_unavailable=True)
            templates = es.options(ignore_status=404).indices.get_index_template(
                name=f"{prefix}-*")
            for template in templates.get("index_templates", []):
                es.indices.delete_index_template(name=template["name"])
        es.close()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
