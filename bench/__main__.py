"""``python -m bench``: the service side by side with raw Elasticsearch, in one run.

    python -m bench [--quick] [--json FILE] [--keep] [--reuse] [--only PHASE ...]
                    [--workers N] [--threads N] [--prefix bench] [--profile DIR]

1. Generates audit events from a fixed seed (``bench/dataset.py``: 1,000,000
   in namespace ``acme`` plus 10 % in two other tenants, over 30 days) and
   loads them with ``helpers.streaming_bulk`` into a fresh index set
   ``<prefix>-events-*`` on the node the service uses (ELASTICSEARCH_URL, else
   the local node, started when needed), with the service's own templates.
2. Starts the real service (``auditlog serve`` under gunicorn) on a free port
   with a bootstrap admin key, a fixed secret and ``AUDITLOG_INDEX_PREFIX``.
3. Measures parse+compile, search (1 and 8 clients), aggregations, export and
   ingest (on a separate 100,000-event slice, in fresh namespaces of the same
   indices), the Loki API's query_range (``bench/loki_scenarios.py``) and the
   console's first view (``bench/console_scenarios.py``), each against the same
   request sent straight to Elasticsearch.
4. Prints one JSON object (stdout, or ``--json FILE``) and a short table
   (stderr); deletes its indices and templates unless ``--keep``.

``--events N`` sets the size of the main namespace: 100,000, 1,000,000 (the
default) and 10,000,000 give the growth table of the README; above 2,000,000 a
run takes fewer rounds (``LARGE``) so it ends in about an hour after the load, and
the load streams (a 10,000,000-event load takes about 20 minutes and 5 GB of disk).
Use a prefix per size (``--prefix bench10m``) so each kept set can be reused.
``--quick`` (20,000 events, fewer rounds) is the CI smoke run. ``--reuse``
keeps a previously ``--keep``-ed data set of the same size and seed instead of
loading it again (tuning loops), less the events earlier runs' ingest phases
added. Figures under ``--profile`` (py-spy on the service's workers, speedscope
files in DIR) are perturbed by the sampling.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch, helpers

from app import config as settings
from app.store import local_node as local_es
from app.store.client import make_client
from app.store.events import EventStore
from app.store.templates import apply_templates, load_templates
from bench import console_scenarios, dataset, loki_scenarios, parse_compile, scenarios
from bench.report import judge, table
from bench.service import running_service, serve_defaults

PHASES = ("parse_compile", "search", "aggregations", "export", "ingest", "loki", "console")
GENERATOR_VERSION = 2
SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "events": 1_000_000, "ingest_events": 100_000, "ingest_reps": 7, "rounds": 9,
        "search_requests": {1: 150, 8: 240}, "aggregation_requests": 100, "export_reps": 5,
        "parse_compile_batches": 500, "loki_requests": 100, "console_views": 40,
    },
    "quick": {
        "events": 20_000, "ingest_events": 5_000, "ingest_reps": 3, "rounds": 3,
        "search_requests": {1: 40, 8: 80}, "aggregation_requests": 20, "export_reps": 2,
        "parse_compile_batches": 100, "loki_requests": 20, "console_views": 10,
    },
}
# Above LARGE_EVENTS (``--events 10000000``) a request reads ten times the data: fewer
# rounds and requests, one export each way, so a run ends in about an hour after the load.
LARGE_EVENTS = 2_000_000
LARGE = {
    "rounds": 3, "search_requests": {1: 40, 8: 64}, "aggregation_requests": 60,
    "export_reps": 1, "ingest_reps": 3, "loki_requests": 40, "console_views": 15,
}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    options = argparse.ArgumentParser(prog="python -m bench",
                                      description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true",
                         help="small data and few rounds (CI smoke run, well under 2 minutes)")
    options.add_argument("--json", type=Path, help="write the JSON here instead of stdout")
    options.add_argument("--keep", action="store_true",
                         help="keep the indices and templates at the end")
    options.add_argument("--reuse", action="store_true",
                         help="reuse a kept data set of the same size and seed")
    options.add_argument("--only", nargs="+", choices=PHASES, help="run only these phases")
    options.add_argument("--prefix", default="bench", help="index prefix (default: bench)")
    options.add_argument("--workers", type=int, help="gunicorn workers (default: auditlog serve's)")
    options.add_argument("--threads", type=int, help="threads per worker (default: serve's)")
    options.add_argument("--events", type=int, help="events in the main namespace")
    options.add_argument("--ingest-events", type=int, help="events per ingest run")
    options.add_argument("--rounds", type=int, help="rounds of each latency measurement")
    options.add_argument("--profile", type=Path, metavar="DIR",
                         help="record the service with py-spy during its runs")
    return options.parse_args(argv)


def elasticsearch_url() -> str:
    """The node the service would use: ELASTICSEARCH_URL, else the local node (started)."""
    configured = os.environ.get("ELASTICSEARCH_URL")
    if configured:
        return configured
    state = local_es.read_state()
    if state is None:
        log("no ELASTICSEARCH_URL and no local node: starting it (auditlog elasticsearch start)")
        state, _ = local_es.start()
    return state.url


def drop_index_set(es: Elasticsearch, prefix: str) -> list[str]:
    """Delete this prefix's indices (by name) and index templates."""
    names = sorted(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    for name in names:
        es.options(ignore_status=404).indices.delete(index=name)
    for template in load_templates(prefix):
        es.options(ignore_status=404).indices.delete_index_template(name=template)
    return names


def drop_ingested(es: Elasticsearch, prefix: str) -> int:
    """Delete what the ingest phases of earlier runs added to a kept index set (their own
    namespaces), so that every run that reuses it searches the same documents, not 1.4
    million more each time. By id, in bulk: the local node has no delete-by-query (a
    module it is built without)."""
    pattern = f"{prefix}-events-*"
    patient = es.options(request_timeout=3600)
    ingested = {"prefix": {"namespace": scenarios.INGEST_NAMESPACE_PREFIX}}
    hits = helpers.scan(patient, index=pattern, size=5000,
                        query={"query": ingested, "_source": False})
    deletes = ({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]}
               for hit in hits)
    deleted, _ = helpers.bulk(patient, deletes, chunk_size=5000, stats_only=True)
    if deleted:
        patient.indices.refresh(index=pattern)
        patient.indices.forcemerge(index=pattern, only_expunge_deletes=True)
    return deleted


def _wait_for_merges(es: Elasticsearch, pattern: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = es.indices.stats(index=pattern, metric="merge")
        if stats["_all"]["total"]["merges"]["current"] == 0:
            return
        time.sleep(1.0)


def load_dataset(es: Elasticsearch, store: EventStore, count: int, reuse: bool
                 ) -> dict[str, Any]:
    """A fresh index set holding the fixed-seed data (or the kept one, with ``--reuse``)."""
    meta_index = f"{store.prefix}-bench-meta"
    wanted = {"seed": dataset.SEED, "events": count, "generator": GENERATOR_VERSION}
    described = {"seed": dataset.SEED, "main_namespace": dataset.MAIN_NAMESPACE,
                 "main_events": count, "other_namespaces": list(dataset.OTHER_NAMESPACES),
                 "other_events": count // (dataset.OTHER_EVERY - 1),
                 "span": [datetime.fromtimestamp(s, UTC).isoformat() for s in
                          (scenarios.SPAN_START_S, scenarios.SPAN_END_S)]}
    if reuse:
        kept = es.options(ignore_status=404).get(index=meta_index, id="dataset")
        if kept.get("found") and kept["_source"] == wanted:
            log(f"reusing the kept data set ({count:,} events)")
            apply_templates(store.client, store.prefix)
            dropped = drop_ingested(es, store.prefix)
            if dropped:
                log(f"deleted {dropped:,} events earlier runs' ingest phases had added")
            return {**described, "load": {"reused": True}}
        log("no kept data set of this size and seed: loading a fresh one")
    dropped = drop_index_set(es, store.prefix)
    if dropped:
        log(f"deleted the previous index set: {', '.join(dropped)}")
    apply_templates(store.client, store.prefix)
    # Bulk-load practice: the monthly indices created up front with refresh off.
    months = sorted({store.index_for(dataset.SPAN_START_NS + day * 86_400 * 10**9)
                     for day in range(dataset.SPAN_DAYS)} | {store.index_for(
                         dataset.SPAN_END_NS - 1)})
    for index in months:
        es.indices.create(index=index)
    es.indices.put_settings(index=",".join(months), settings={"index.refresh_interval": "-1"})
    log(f"loading {count:,} events (+{described['other_events']:,} in other namespaces) "
        f"into {', '.join(months)} with helpers.streaming_bulk")
    sample: list[dataset.Generated] = []

    def sampled() -> Iterator[dataset.Generated]:
        for item in dataset.events(count):
            if len(sample) < 1000:
                sample.append(item)
            yield item

    started = time.perf_counter()
    loaded = 0
    for ok, info in helpers.streaming_bulk(es, dataset.bulk_actions(sampled(), store),
                                           chunk_size=1000,
                                           max_chunk_bytes=1 << 30, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bulk load failed: {info}")
        loaded += 1
        if loaded % 200_000 == 0:
            log(f"  {loaded:,} loaded")
    seconds = time.perf_counter() - started
    dataset.check_documents(sample)
    es.indices.put_settings(index=",".join(months), settings={"index.refresh_interval": None})
    es.indices.refresh(index=",".join(months))
    _wait_for_merges(es, store.pattern)
    in_main = es.count(index=store.pattern, query={"term": {"namespace":
                                                             dataset.MAIN_NAMESPACE}})["count"]
    if in_main != count:
        raise RuntimeError(f"{in_main} events in {dataset.MAIN_NAMESPACE}, expected {count}")
    es.index(index=meta_index, id="dataset", document=wanted, refresh=True)
    log(f"loaded {loaded:,} events in {seconds:.0f} s ({loaded / seconds:,.0f} events/s)")
    return {**described, "indices": months,
            "load": {"events": loaded, "seconds": round(seconds, 1),
                     "events_per_s": round(loaded / seconds, 1),
                     "method": "helpers.streaming_bulk(chunk_size=1000), refresh off"}}


def create_live_indices(es: Elasticsearch, store: EventStore) -> list[str]:
    """Create this month's (and, near its end, next month's) index before the service runs.

    The service's self-audit events land there; an index created while searches
    run has a shard that is still starting, and the service refuses such partial
    answers (503), which would fail a measurement rather than slow it.
    """
    now = time.time_ns()
    names = sorted({store.index_for(now), store.index_for(now + 2 * 86_400 * 10**9)})
    for name in names:
        es.options(ignore_status=400).indices.create(index=name)  # 400: already there
    es.cluster.health(index=",".join(names), wait_for_status="yellow", timeout="60s")
    return names


def _machine(es: Elasticsearch) -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        with open("/proc/meminfo") as meminfo:
            info["memory_gib"] = round(int(meminfo.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        nodes = es.nodes.info(metric="jvm", filter_path="nodes.*.version,"
                              "nodes.*.jvm.mem.heap_max_in_bytes")["nodes"]
        node = next(iter(nodes.values()))
        info["elasticsearch"] = node.get("version")
        info["elasticsearch_heap_gib"] = round(node["jvm"]["mem"]["heap_max_in_bytes"] / 2**30, 2)
    except Exception as exc:  # informational only
        info["elasticsearch"] = f"unknown ({type(exc).__name__})"
    for package in ("elasticsearch", "flask", "gunicorn", "marshmallow", "orjson"):
        info[f"{package}_version"] = metadata.version(package)
    return info


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sizes = dict(SIZES["quick" if args.quick else "full"])
    if not args.quick and (args.events or 0) > LARGE_EVENTS:
        sizes.update(LARGE)
    for name in ("events", "ingest_events", "rounds"):
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    phases = tuple(args.only or PHASES)
    began = time.perf_counter()
    url = elasticsearch_url()
    es = make_client({**settings.from_environment(), "ELASTICSEARCH_URL": url,
                      "ELASTICSEARCH_TIMEOUT": 600.0})
    store = EventStore(es, args.prefix)
    report: dict[str, Any] = {
        "benchmark": "auditlog service vs raw Elasticsearch (issue 8)",
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "quick": args.quick,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elasticsearch_url": url,
        "index_prefix": args.prefix,
        "machine": _machine(es),
    }
    timings: dict[str, float] = {}
    notes: list[str] = []
    if args.quick:
        notes.append(f"--quick: {sizes['events']:,} events and few rounds, a smoke run; "
                     "Elasticsearch answers in about a millisecond at this size, so the "
                     "ratios are not the figures of record (run without --quick)")
    if sizes["rounds"] == LARGE["rounds"] and sizes["events"] > LARGE_EVENTS:
        notes.append(f"{sizes['events']:,} events: {LARGE['rounds']} rounds, "
                     f"{LARGE['export_reps']} export each way (the large-data sizes)")
    try:
        phase_start = time.perf_counter()
        report["dataset"] = load_dataset(es, store, sizes["events"], args.reuse)
        create_live_indices(es, store)
        timings["load"] = time.perf_counter() - phase_start
        if "parse_compile" in phases:
            log("parse+compile of a 4-matcher query")
            phase_start = time.perf_counter()
            report["parse_compile"] = parse_compile.run(sizes["parse_compile_batches"], 20)
            timings["parse_compile"] = time.perf_counter() - phase_start
        service_phases = [p for p in phases if p != "parse_compile"]
        if service_phases:
            clients = max(sizes["search_requests"])
            with running_service(url, args.prefix, args.workers, args.threads,
                                 pool_size=clients + 2) as service:
                defaults = serve_defaults()
                report["service"] = {
                    "command": "auditlog serve (gunicorn, gthread)",
                    "workers": service.workers, "threads": service.threads,
                    "serve_defaults": defaults,
                    "self_audit": os.environ.get("AUDITLOG_SELF_AUDIT", "on (default)"),
                    "rate_limits": "on, with a budget the benchmark never reaches",
                }
                log(f"service up at {service.url} ({service.workers} workers x "
                    f"{service.threads} threads)")
                ctx = scenarios.Context(
                    service=service, es=es, store=store, main_events=sizes["events"],
                    rounds=sizes["rounds"], search_requests=sizes["search_requests"],
                    aggregation_requests=sizes["aggregation_requests"],
                    ingest_events=sizes["ingest_events"], ingest_reps=sizes["ingest_reps"],
                    export_reps=sizes["export_reps"], run_token=f"{int(time.time()):x}",
                    profile_dir=args.profile, log=log, notes=notes,
                )
                # Ingest last: it adds events (in namespaces of their own) to the indices.
                measures: dict[str, Callable[[], dict[str, Any]]] = {
                    "search": lambda: scenarios.search(ctx),
                    "aggregations": lambda: scenarios.aggregations(ctx),
                    "export": lambda: scenarios.export(ctx),
                    "loki": lambda: loki_scenarios.loki(ctx, sizes["loki_requests"]),
                    "console": lambda: console_scenarios.console(ctx, sizes["console_views"]),
                    "ingest": lambda: scenarios.ingest(ctx),
                }
                for phase, measure in measures.items():
                    if phase in service_phases:
                        log(phase)
                        phase_start = time.perf_counter()
                        report[phase] = measure()
                        timings[phase] = time.perf_counter() - phase_start
                report["service"]["reconnects"] = service.reconnects
                if service.reconnects:
                    notes.append(f"{service.reconnects} requests were sent again because the "
                                 "server had closed their kept-alive connection")
    finally:
        if not args.keep:
            dropped = drop_index_set(es, args.prefix)
            log(f"deleted {len(dropped)} indices and the {args.prefix}-* templates")
        es.close()
    report["targets"] = judge(report)
    report["notes"] = notes
    report["phase_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    report["duration_s"] = round(time.perf_counter() - began, 1)
    text = orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    if args.json:
        args.json.write_bytes(text + b"\n")
        log(f"JSON written to {args.json}")
    else:
        sys.stdout.buffer.write(text + b"\n")
        sys.stdout.flush()
    print("\n" + table(report["targets"]), file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"({report['duration_s']:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
