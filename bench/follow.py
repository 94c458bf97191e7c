"""Follow latency: acknowledged ingest -> delivered by the follow feed, and keeping up.

    python -m bench.follow [--seconds 15] [--rates 1000 10000] [--settle S] [--keep]

Runs the real service (``auditlog serve`` under gunicorn, ``bench.service``)
on its own index prefix. For each target rate, writer threads ingest paced
batches (one every 100 ms per writer) into a fresh namespace while one
follower reads the feed as an NDJSON stream; each event's latency is the
time it was received by the follower minus the time its ingest request was
acknowledged (both on this machine's clock). The raw reference is the same
for a bare Elasticsearch poller (every 100 ms, newest ``ingested_at`` first,
no settle): how soon a write is searchable at all. Then writers ingest as fast
as they can, and the run says whether one follower keeps up: it must receive
every event, the last one within settle + 2 s of the end of ingest (a
follower falling behind ends with a backlog, its last events late). Every run also
checks exactly-once (every
acknowledged id received once).

Targets (issue 14): p50 <= settle + 0.5 s, p99 <= settle + 2 s, and keeping up.
Prints one JSON object on stdout. Deletes its indices unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

import orjson
import requests
from elasticsearch import ApiError, Elasticsearch

from app import config as settings
from app.store import local_node as local_es
from bench.service import ADMIN_KEY, running_service
from bench.timing import percentile

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
PACE_S = 0.1
WRITERS = 4


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Follower(threading.Thread):
    """An NDJSON stream of the feed; the wall time each event arrived."""

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{url}/api/v1/namespaces/{namespace}/events/follow"
        self.received: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        with requests.get(self.url, params={"limit": 500}, stream=True, timeout=(5, 30),
                          headers={**HEADERS, "Accept": "application/x-ndjson"}) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                self.ready.set()
                now = time.time()
                item = orjson.loads(line) if line else {}
                if "id" in item:
                    self.received.setdefault(item["id"], now)
                    self.counts[item["id"]] += 1
                if self.stop.is_set():
                    return


class RawPoller(threading.Thread):
    """Elasticsearch straight: the newest events every 100 ms, no settle (a lower bound)."""

    def __init__(self, es: Elasticsearch, prefix: str, namespace: str) -> None:
        super().__init__(daemon=True)
        self.es, self.index, self.namespace = es, f"{prefix}-events-*", namespace
        self.received: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        after = "1970-01-01T00:00:00Z"
        while not self.stop.is_set():
            try:
                response = self.es.search(
                    index=self.index, size=10_000, sort=[{"ingested_at": "asc"}],
                    query={"bool": {"filter": [{"term": {"namespace": self.namespace}},
                                               {"range": {"ingested_at": {"gte": after}}}]}},
                    source=False, docvalue_fields=["id"], ignore_unavailable=True)
            except ApiError:  # an index created a moment ago has no started shard yet
                time.sleep(PACE_S)
                continue
            now = time.time()
            for hit in response["hits"]["hits"]:
                self.received.setdefault(hit["fields"]["id"][0], now)
            if response["hits"]["hits"]:
                after = str(response["hits"]["hits"][-1]["sort"][0])
                after = f"{int(after) // 1_000_000_000 - 5}"  # re-read the last seconds
            time.sleep(PACE_S)


def _writer(url: str, namespace: str, name: str, per_batch: int, until: float,
            acked: dict[str, float], lock: threading.Lock) -> None:
    session = requests.Session()
    session.headers.update({**HEADERS, "Content-Type": "application/x-ndjson"})
    sequence = 0
    next_at = time.monotonic()
    while time.monotonic() < until:
        ids = [f"{name}-{sequence + n}" for n in range(per_batch)]
        sequence += per_batch
        now = time.time()
        body = b"\n".join(orjson.dumps({"id": i, "time": now, "action": "login",
                                        "actor": {"id": name}}) for i in ids)
        response = session.post(f"{url}/api/v1/namespaces/{namespace}/events", data=body,
                                timeout=60)
        response.raise_for_status()
        acknowledged = time.time()
        with lock:
            for event_id in ids:
                acked[event_id] = acknowledged
        if per_batch < 1_000:  # paced; the max-rate run sends back to back
            next_at += PACE_S
            time.sleep(max(0.0, next_at - time.monotonic()))


def _latencies(acked: dict[str, float], received: dict[str, float]) -> dict[str, Any]:
    delays = [received[i] - t for i, t in acked.items() if i in received]
    if not delays:
        return {"p50_s": None, "p99_s": None, "received": 0}
    return {"p50_s": round(percentile(delays, 0.5), 3), "p99_s": round(percentile(delays, 0.99), 3),
            "received": len(delays)}


def run_rate(url: str, es: Elasticsearch, prefix: str, rate: int | None, seconds: float,
             settle: float) -> dict[str, Any]:
    """One ingest run (paced at ``rate`` events/s, or as fast as possible) with a follower."""
    namespace = f"follow-{rate or 'max'}-{uuid.uuid4().hex[:6]}"
    follower = Follower(url, namespace)
    raw = RawPoller(es, prefix, namespace)
    follower.start()
    follower.ready.wait(10)
    raw.start()
    acked: dict[str, float] = {}
    lock = threading.Lock()
    per_batch = max(1, round((rate or 0) * PACE_S / WRITERS)) if rate else 1_000
    started = time.monotonic()
    writers = [threading.Thread(target=_writer, args=(url, namespace, f"w{n}", per_batch,
                                                      started + seconds, acked, lock))
               for n in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    ingest_seconds = time.monotonic() - started
    ingest_end = time.time()
    deadline = time.monotonic() + settle + 30
    while time.monotonic() < deadline and len(follower.received) < len(acked):
        time.sleep(0.1)
    follower.stop.set()
    raw.stop.set()
    raw.join(5)
    last = max(follower.received.values(), default=ingest_end)
    delivered_all = set(follower.received) == set(acked)
    rate_in = len(acked) / ingest_seconds
    first = min(follower.received.values(), default=ingest_end)
    rate_out = len(follower.received) / max(1e-9, last - first)
    result = {
        "target_events_per_s": rate,
        "ingested": len(acked),
        "ingest_events_per_s": round(rate_in),
        "follow": _latencies(acked, follower.received),
        "raw_elasticsearch_visible": _latencies(acked, raw.received),
        "exactly_once": delivered_all and all(n == 1 for n in follower.counts.values()),
        "last_delivered_after_ingest_end_s": round(last - ingest_end, 3),
    }
    if rate is None:
        result["follower_events_per_s"] = round(rate_out)
        # Keeping up: no backlog left behind, the last event as late as any other.
        result["keeps_up"] = delivered_all and last - ingest_end <= settle + 2
    return result


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(prog="python -m bench.follow",
                                      description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=15.0, help="ingest time per run")
    options.add_argument("--rates", type=int, nargs="+", default=[1_000, 10_000])
    options.add_argument("--settle", type=float,
                         default=settings.DEFAULTS["AUDITLOG_FOLLOW_SETTLE"])
    options.add_argument("--keep", action="store_true")
    args = options.parse_args(argv)
    es_url = os.environ.get("ELASTICSEARCH_URL") or local_es.start()[0].url
    es = Elasticsearch(es_url, request_timeout=60)
    prefix = f"benchfollow{uuid.uuid4().hex[:6]}"
    env = {"AUDITLOG_FOLLOW_SETTLE": str(args.settle), "AUDITLOG_LOG_LEVEL": "WARNING"}
    runs: list[dict[str, Any]] = []
    try:
        with running_service(es_url, prefix, None, None, extra_env=env) as service:
            for rate in [*args.rates, None]:
                log(f"ingest at {rate or 'max'} events/s for {args.seconds:g} s")
                runs.append(run_rate(service.url, es, prefix, rate, args.seconds, args.settle))
                log(orjson.dumps(runs[-1]).decode())
    finally:
        if not args.keep:
            es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True,
                              allow_no_indices=True)
            templates = es.options(ignore_status=404).indices.get_index_template(
                name=f"{prefix}-*")
            for template in templates.get("index_templates", []):
                es.indices.delete_index_template(name=template["name"])
    targets = {"p50_s": args.settle + 0.5, "p99_s": args.settle + 2.0}
    print(orjson.dumps({
        "benchmark": "follow", "settle_s": args.settle,
        "overlap_s": settings.DEFAULTS["AUDITLOG_FOLLOW_OVERLAP"], "targets": targets,
        "runs": runs,
        "met": {str(run["target_events_per_s"] or "max"): {
            "p50": run["follow"]["p50_s"] is not None
            and run["follow"]["p50_s"] <= targets["p50_s"],
            "p99": run["follow"]["p99_s"] is not None
            and run["follow"]["p99_s"] <= targets["p99_s"],
            **({"keeps_up": run["keeps_up"]} if "keeps_up" in run else {}),
        } for run in runs},
    }, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
