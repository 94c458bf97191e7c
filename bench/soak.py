"""``python -m bench.soak``: mixed load on a served instance for a while; not a test.

    python -m bench.soak [--duration 600] [--workers N] [--threads N] [--json FILE]

Starts ``auditlog serve`` (as ``bench/service.py`` does) on Elasticsearch
(ELASTICSEARCH_URL, else the local node) with a fresh index prefix, and runs at
once, until ``--duration`` seconds have passed:

- 1 ingester: batches of 200 events, one after the other;
- 8 searchers: matcher searches, two search_after pages, scrolls read to the end;
- 1 aggregator: top values and a date histogram;
- 2 exporters: streamed exports of the last minutes, read to the end;
- 4 followers: the follow feed's long poll (``wait`` 5 s) from the beginning, each
  with its cursor; the report counts what each received and its duplicates;
- 1 key churner: create a reader key, search with it, revoke it.

It prints one JSON object: requests, 5xx answers and p50/p99 latency per
endpoint; the gunicorn workers' RSS 10 s in, after the warm-up (``WARM_UP_S``), every
30 s and at the end; and Elasticsearch's search contexts (scrolls and points-in-time) still open
on its indices once the load has stopped (target 0). Its indices are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import psutil
import urllib3

from app import config as settings
from app.store.client import make_client
from bench.service import Service, running_service
from bench.timing import percentile

NS = "soak"
ACTIONS = ("login", "logout", "read", "write", "delete")
# The workers' memory grows for the first minute or two of load (allocator arenas
# sized by the largest export pages, bounded caches filling), then stays level: the
# "start" of the flatness check is after WARM_UP_S (or a tenth of a short run).
WARM_UP_S = 60.0
RSS_EVERY_S = 30.0


class Recorder:
    """Latency and status of every request, per endpoint; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: dict[str, int] = defaultdict(int)

    def record(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.latency[endpoint].append(seconds)
            self.statuses[endpoint][status] += 1

    def failed(self, endpoint: str) -> None:
        with self._lock:
            self.errors[endpoint] += 1

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {endpoint: {
                "requests": len(samples),
                "5xx": sum(n for s, n in self.statuses[endpoint].items() if s >= 500),
                "statuses": {str(s): n for s, n in sorted(self.statuses[endpoint].items())},
                "transport_errors": self.errors[endpoint],
                "p50_ms": round(percentile(samples, 0.50) * 1000, 1),
                "p99_ms": round(percentile(samples, 0.99) * 1000, 1),
            } for endpoint, samples in sorted(self.latency.items()) if samples}


class Load:
    """The soak's clients, sharing one service, one recorder and one stop flag."""

    def __init__(self, service: Service, recorder: Recorder, until: float) -> None:
        self.service = service
        self.recorder = recorder
        self.until = until
        self.base = f"/api/v1/namespaces/{NS}/events"
        self.ingested = 0

    def call(self, endpoint: str, method: str, path: str, body: Any = None,
             key: str | None = None, stream: bool = False) -> tuple[int, Any]:
        headers = dict(self.service.headers)
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self.service.send(method, path, data, headers,
                                         preload_content=not stream)
            if stream:
                for _ in response.stream(1 << 16):
                    pass
                response.release_conn()
                payload = None
            else:
                payload = orjson.loads(response.data) if response.data else None
        except (urllib3.exceptions.HTTPError, orjson.JSONDecodeError):
            self.recorder.failed(endpoint)
            return 0, None
        self.recorder.record(endpoint, response.status, time.perf_counter() - started)
        return response.status, payload

    def loop(self, step: Callable[[random.Random], None], seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < self.until:
            step(rng)

    def ingest(self, rng: random.Random) -> None:
        now = datetime.now(UTC).isoformat()
        batch = [{"id": uuid.uuid4().hex, "time": now, "action": rng.choice(ACTIONS),
                  "actor": {"id": f"u{rng.randrange(500)}", "name": f"user {rng.randrange(500)}"},
                  "target": {"kind": "doc", "id": f"d{rng.randrange(10_000)}"},
                  "user_agent": f"agent/{rng.randrange(20)}"} for _ in range(200)]
        status, _ = self.call("ingest", "POST", self.base, batch)
        if status == 200:
            self.ingested += len(batch)

    def search(self, rng: random.Random) -> None:
        window = {"start_time": int(time.time()) - 600, "end_time": int(time.time())}
        query = f'{{action="{rng.choice(ACTIONS)}", actor.id=~"u{rng.randrange(10)}.*"}}'
        mode = rng.randrange(3)
        if mode == 0:
            self.call("search", "POST", f"{self.base}/search",
                      {**window, "query": query, "limit": 100})
        elif mode == 1:
            status, page = self.call("search_after", "POST", f"{self.base}/search",
                                     {**window, "query": query, "limit": 100,
                                      "search_after": True})
            if status == 200 and page["last_sort_values"]:
                self.call("search_after", "POST", f"{self.base}/search", {
                    **window, "query": query, "limit": 100, "search_after": True,
                    "sort_values": page["last_sort_values"]})
        else:
            narrow = f'{{actor.id="u{rng.randrange(500)}"}}'
            status, page = self.call("search(scroll)", "POST", f"{self.base}/search",
                                     {**window, "query": narrow, "limit": 50, "scroll": True})
            while status == 200 and page["scroll_id"]:
                status, page = self.call("scroll", "POST", f"{self.base}/scroll",
                                         {"scroll_id": page["scroll_id"]})

    def aggregate(self, rng: random.Random) -> None:
        self.call("aggregate", "POST", f"{self.base}/aggregate", {
            "start_time": int(time.time()) - 600, "end_time": int(time.time()),
            "aggs": {"top": {"field_aggregation": {"field": rng.choice(["action", "actor.id"]),
                                                   "topk": 10}},
                     "per_minute": {"date_aggregation": {"step": "1m"}}}})
        time.sleep(0.2)

    def export(self, rng: random.Random) -> None:
        start = int(time.time()) - rng.choice((60, 120, 300))
        self.call("export", "GET", f"{self.base}/export?start_time={start}", stream=True)

    def follower(self) -> Follower:
        """A new follower of the namespace, from the beginning."""
        return Follower(self)

    def churn_keys(self, rng: random.Random) -> None:
        status, key = self.call("keys(create)", "POST", "/api/v1/keys", {
            "name": f"soak {rng.randrange(1 << 30)}", "namespaces": [NS], "role": "reader"})
        if status != 201:
            time.sleep(1)
            return
        self.call("search(new key)", "POST", f"{self.base}/search", {"limit": 10},
                  key=key["secret"])
        self.call("keys(revoke)", "DELETE", f"/api/v1/keys/{key['id']}")
        time.sleep(0.5)


class Follower:
    """One follow-feed client: long polls from the beginning, keeps its cursor."""

    def __init__(self, load: Load) -> None:
        self.load = load
        self.cursor: str | None = None
        self.ids: list[str] = []

    def __call__(self, rng: random.Random) -> None:
        body: dict[str, Any] = {"cursor": self.cursor} if self.cursor else {"from": "beginning"}
        status, page = self.load.call("follow", "POST", f"{self.load.base}/follow",
                                      {**body, "wait": 5, "limit": 500})
        if status != 200:
            time.sleep(0.5)
            return
        self.ids.extend(event["id"] for event in page["events"])
        self.cursor = page["cursor"]


def _rss_mb(service: Service) -> dict[str, float]:
    rss: dict[str, float] = {}
    for pid in service.worker_pids():
        try:
            rss[str(pid)] = round(psutil.Process(pid).memory_info().rss / 2**20, 1)
        except psutil.Error:
            continue
    return rss


def _change_pct(before: float | None, after: float) -> float | None:
    return round((after / before - 1) * 100, 1) if before else None


def _at(timeline: list[tuple[float, float]], seconds: float) -> float | None:
    """The total RSS of the first sample at or after ``seconds`` into the run."""
    return next((total for at, total in timeline if at >= seconds), None)


def _open_contexts(es: Any, prefix: str) -> dict[str, int]:
    """Search contexts open on the soak's own indices (points-in-time and scrolls)."""
    stats = es.indices.stats(index=f"{prefix}-*", metric="search")["_all"]["total"]["search"]
    return {"open_contexts": int(stats["open_contexts"]),
            "scroll_current": int(stats["scroll_current"])}


def run(duration: float, workers: int | None, threads: int | None) -> dict[str, Any]:
    """Run the soak; return its report."""
    config = settings.from_environment()
    prefix = f"soak{uuid.uuid4().hex[:8]}"
    es = make_client(config)
    es_url = ",".join(str(node.base_url) for node in es.transport.node_pool.all())
    recorder = Recorder()
    try:
        with running_service(es_url, prefix, workers, threads, pool_size=32) as service:
            until = time.monotonic() + duration
            load = Load(service, recorder, until)
            followers = [load.follower() for _ in range(4)]
            steps = [load.ingest, *[load.search] * 8, load.aggregate, load.export, load.export,
                     *followers, load.churn_keys]
            threads_ = [threading.Thread(target=load.loop, args=(step, n), daemon=True)
                        for n, step in enumerate(steps)]
            for thread in threads_:
                thread.start()
            started = time.monotonic()
            time.sleep(10.0)
            rss_first = _rss_mb(service)
            time.sleep(max(0.0, min(WARM_UP_S, duration / 10) - 10.0))
            rss_start = _rss_mb(service)
            timeline: list[tuple[float, float]] = []  # (seconds into the run, total MB)
            while any(thread.is_alive() for thread in threads_):
                timeline.append((round(time.monotonic() - started),
                                 round(sum(_rss_mb(service).values()), 1)))
                for thread in threads_:
                    thread.join(max(0.0, RSS_EVERY_S / len(threads_)))
            rss_end = _rss_mb(service)
            ingested = load.ingested
            reconnects = service.reconnects
            time.sleep(2.0)  # closes in flight land
            contexts_after = _open_contexts(es, prefix)
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-*",
                                                     allow_no_indices=True)
        for template in es.options(ignore_status=404).indices.get_index_template(
                name=f"{prefix}-*").get("index_templates", []):
            es.indices.delete_index_template(name=template["name"])
        es.close()
    endpoints = recorder.summary()
    start_total, end_total = sum(rss_start.values()), sum(rss_end.values())
    return {
        "duration_s": duration,
        "clients": {"ingest": 1, "searchers": 8, "aggregations": 1, "exports": 2,
                    "followers": 4, "key_churn": 1},
        "ingested_events": ingested,
        "followers": [{"received": len(f.ids), "duplicates": len(f.ids) - len(set(f.ids))}
                      for f in followers],
        "total_requests": sum(e["requests"] for e in endpoints.values()),
        "total_5xx": sum(e["5xx"] for e in endpoints.values()),
        # Requests sent again because the server had closed their kept-alive connection.
        "keep_alive_resends": reconnects,
        "endpoints": endpoints,
        "worker_rss_mb": {"at_10_s": rss_first, "start": rss_start, "end": rss_end,
                          "warm_up_s": min(WARM_UP_S, duration / 10),
                          "change_pct": _change_pct(start_total, end_total),
                          "change_from_10_s_pct": _change_pct(sum(rss_first.values()),
                                                              end_total),
                          # Growth over the second half: a leak keeps growing, a warm-up
                          # (allocator arenas, bounded caches filling) levels off.
                          "second_half_change_pct": _change_pct(
                              _at(timeline, duration / 2), end_total),
                          "timeline": timeline},
        "elasticsearch_contexts_at_end": contexts_after,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the report to this file too")
    args = parser.parse_args(argv)
    report = run(args.duration, args.workers, args.threads)
    text = orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    sys.exit(0 if report["total_5xx"] == 0 else 1)


if __name__ == "__main__":
    os.environ.setdefault("AUDITLOG_LOG_LEVEL", "WARNING")
    main()
