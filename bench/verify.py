"""Verify throughput: ``auditlog verify``'s reads and hashes against a raw export read.

    python -m bench.verify [--events 200000] [--readers 4] [--keep]

Loads ``--events`` events of the fixed-seed data set (``bench/dataset.py``,
namespace ``acme`` and the other tenants' share) into a fresh index set
``bench-verify-*`` with an ``ingested_at`` stamped in arrival order, seals the
namespace (``app.engine.sealer``, checkpoints of 20,000 events), then reads the
namespace three ways on the same node, each timed end to end:

- ``raw_export``: a point-in-time + ``search_after`` read of every event of the
  namespace straight from Elasticsearch, pages of 5,000, nothing done with the
  events (the reference rate, one reader as an export without slicing);
- ``service_export``: the service's export read (``SearchEngine.iter_events``,
  time slices read by ``AUDITLOG_EXPORT_READERS`` threads), in process;
- ``verify``: ``Verifier.verify`` (intervals read on one point-in-time by
  ``--readers`` threads, each event's canonical JSON hashed, the chain and
  signatures checked).

Prints one JSON object on stdout. Deletes its indices unless ``--keep``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch, helpers

from app import config as settings
from app.engine.scroll_token import ScrollTokens
from app.engine.sealer import Sealer
from app.engine.search import SearchEngine
from app.engine.signing import load_signing_key
from app.engine.stream_reader import SORT, StreamReader
from app.engine.verifier import Verifier
from app.model.time_window import TimeWindow
from app.model.timestamps import format_ns
from app.store.checkpoints import CheckpointStore
from app.store.client import make_client
from app.store.events import EventStore
from app.store.templates import apply_templates, load_templates
from bench import dataset

PREFIX = "bench-verify"
PAGE = 5_000


def log(message: str) -> None:
    print(f"[bench.verify] {message}", file=sys.stderr, flush=True)


def _drop(es: Elasticsearch) -> None:
    es.options(ignore_status=404).indices.delete(index=f"{PREFIX}-*", expand_wildcards="all")
    for name in load_templates(PREFIX):
        es.options(ignore_status=404).indices.delete_index_template(name=name)


def load(es: Elasticsearch, store: EventStore, count: int) -> int:
    """The data set with ``ingested_at`` in arrival order; returns the main namespace's count."""
    _drop(es)
    apply_templates(es, PREFIX)
    months = sorted({store.index_for(dataset.SPAN_START_NS + day * 86_400 * 10**9)
                     for day in range(dataset.SPAN_DAYS + 1)})
    for index in months:
        es.indices.create(index=index, settings={"index.refresh_interval": "-1"},
                          mappings={"properties": {"ingested_at": {"type": "date_nanos"}}})
    base = time.time_ns() - 86_400 * 10**9

    def actions():
        for n, item in enumerate(dataset.events(count)):
            document = {**item.document, "ingested_at": format_ns(base + n * 1_000, 9)}
            yield {"_op_type": "create", "_index": store.index_for(item.time_ns),
                   "_id": f"{document['namespace']}:{document['id']}", "_source": document}

    started = time.perf_counter()
    for ok, info in helpers.streaming_bulk(es, actions(), chunk_size=2_000,
                                           raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bulk load failed: {info}")
    es.indices.put_settings(index=",".join(months), settings={"index.refresh_interval": None})
    es.indices.refresh(index=",".join(months))
    log(f"loaded in {time.perf_counter() - started:.0f} s")
    return int(es.count(index=store.pattern,
                        query={"term": {"namespace": dataset.MAIN_NAMESPACE}})["count"])


def raw_export(es: Elasticsearch, pattern: str) -> int:
    """Every event of the namespace by point-in-time + search_after; returns the count."""
    pit = {"id": es.open_point_in_time(index=pattern, keep_alive="2m")["id"],
           "keep_alive": "2m"}
    query = {"term": {"namespace": dataset.MAIN_NAMESPACE}}
    count, after = 0, None
    try:
        while True:
            body: dict[str, Any] = {"query": query, "size": PAGE, "sort": SORT,
                                    "track_total_hits": False}
            if after is not None:
                body["search_after"] = after
            response = es.search(pit=pit, **body)
            pit["id"] = response.get("pit_id", pit["id"])
            hits = response["hits"]["hits"]
            count += len(hits)
            if len(hits) < PAGE:
                return count
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit["id"])


def _timed(what: str, run) -> dict[str, Any]:
    started = time.perf_counter()
    events = run()
    seconds = time.perf_counter() - started
    log(f"{what}: {events:,} events in {seconds:.1f} s ({events / seconds:,.0f} events/s)")
    return {"events": events, "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds)}


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__)
    options.add_argument("--events", type=int, default=200_000)
    options.add_argument("--readers", type=int, default=4)
    options.add_argument("--keep", action="store_true", help="keep the indices")
    args = options.parse_args(argv)
    values = settings.from_environment()
    client = make_client(values)
    store = EventStore(client, PREFIX)
    try:
        count = load(client, store, args.events)
        key = load_signing_key(None, Path(tempfile.mkdtemp(prefix="bench-verify-")))
        checkpoints = CheckpointStore(client, PREFIX)
        reader = StreamReader(client, store.pattern)
        sealer = Sealer(reader, checkpoints, key, settle_ns=0)
        seal = _timed("seal", lambda: sum(c.count for c in
                                          sealer.seal(dataset.MAIN_NAMESPACE)))
        client.indices.refresh(index=f"{PREFIX}-checkpoints")
        raw = _timed("raw export", lambda: raw_export(client, store.pattern))
        engine = SearchEngine(store, ScrollTokens(b"bench-verify"), "2m",
                              values["AUDITLOG_EXPORT_READERS"])
        service = _timed("service export", lambda: sum(1 for _ in engine.iter_events(
            dataset.MAIN_NAMESPACE, {"match_all": {}}, TimeWindow(None, None))))
        verifier = Verifier(reader, checkpoints, key.public, args.readers)
        report: dict[str, Any] = {}

        def verify() -> int:
            result = verifier.verify(dataset.MAIN_NAMESPACE)
            if not result.intact:
                raise RuntimeError(f"verify found problems: {result.findings[:3]}")
            report["checkpoints"] = result.checkpoints
            return result.events

        verified = _timed("verify", verify)
    finally:
        if not args.keep:
            _drop(client)
    result = {"events": count, "checkpoints": report.get("checkpoints"),
              "readers": args.readers, "seal": seal, "raw_export": raw,
              "service_export": service, "verify": verified,
              "verify_vs_raw_export": round(verified["events_per_s"] / raw["events_per_s"], 2)}
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
