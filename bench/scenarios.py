"""The measured scenarios, each run against the service and against Elasticsearch directly.

Every raw-Elasticsearch request is built with the service's own functions
(``event_filter``, ``sort_spec``, ``compile_query``, ``search_window``,
``parse_aggregations``/``to_elasticsearch``), so both sides ask the same
question; a sanity pass compares their answers before anything is timed.
Rounds alternate which side goes first, so drift (merges, caches warming)
does not favour one side; figures are medians over the rounds.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch, helpers

from app.engine.aggregations import parse_aggregations, to_elasticsearch
from app.engine.query import compile_query
from app.engine.search import EXPORT_PAGE, event_filter, sort_spec
from app.model.time_window import search_window
from app.model.timestamps import NS_PER_S
from app.store.events import EventStore
from bench import dataset
from bench.service import Service, ServiceError
from bench.timing import Load, closed_loop, median, paired_ratio, ratio

SERVICE, RAW = "service", "raw"
INGEST_BATCH = 1000
# The ingest phase writes into fresh namespaces named with this prefix.
INGEST_NAMESPACE_PREFIX = "ingest-"
SEARCH_LIMIT = 100
SPAN_START_S = dataset.SPAN_START_NS // NS_PER_S
SPAN_END_S = dataset.SPAN_END_NS // NS_PER_S
# Three matchers: a regex, a label equality, a negation or an equality; 20 variants
# of similar shape so Elasticsearch's caches do not turn the test into a cache test.
ACTION_GROUPS = ("login|logout", "read|list", "Create|Update|Delete", "export|share|download",
                 "grant|revoke|update-password")
SEARCH_QUERIES = tuple(
    f'{{action=~"{actions}", labels.env="{env}", {third}}}'
    for actions in ACTION_GROUPS
    for env in ("prod", "staging")
    for third in ('actor.id!="svc-backup"', 'outcome="success"')
)
AGGREGATIONS = {
    "per_hour": {"date_aggregation": {"step": "1h"}},
    "top_users": {"field_aggregation": {"field": "actor.id", "topk": 10}},
}
AGGREGATION_WINDOW_S = 86_400


@dataclass
class Context:
    """What every scenario needs: both clients, the store and the sizes of this run."""

    service: Service
    es: Elasticsearch
    store: EventStore
    main_events: int
    rounds: int
    search_requests: dict[int, int]  # clients -> requests per round and side
    aggregation_requests: int
    ingest_events: int
    ingest_reps: int
    export_reps: int
    run_token: str
    profile_dir: Path | None = None
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr)
    notes: list[str] = field(default_factory=list)


def _order(round_number: int) -> tuple[str, str]:
    return (SERVICE, RAW) if round_number % 2 == 0 else (RAW, SERVICE)


@contextlib.contextmanager
def profiled(ctx: Context, name: str) -> Iterator[None]:
    """With ``--profile``: py-spy records the service's workers meanwhile (speedscope JSON)."""
    if ctx.profile_dir is None:
        yield
        return
    ctx.profile_dir.mkdir(parents=True, exist_ok=True)
    output = ctx.profile_dir / f"{name}.speedscope.json"
    py_spy = Path(sys.executable).with_name("py-spy")
    proc = subprocess.Popen(
        [str(py_spy), "record", "--pid", str(ctx.service.proc.pid), "--subprocesses",
         "--rate", "250", "--gil", "--nonblocking",
         "--format", "speedscope", "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # let py-spy attach before the load starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode not in (0, -signal.SIGINT) and not output.exists():
            ctx.log(f"  py-spy failed: {err.decode(errors='replace').strip()[-300:]}")
        else:
            ctx.log(f"  profile: {output}")


def alternating_rounds(ctx: Context, label: str, calls: dict[str, Callable[[Any], Any]],
                       items: Callable[[], Sequence[Any]], clients: int = 1,
                       before: Callable[[str], None] | None = None,
                       after: Callable[[str], None] | None = None) -> dict[str, list[Load]]:
    """``ctx.rounds`` rounds of a closed-loop load on each side (``calls[side]`` over
    ``items()``, ``clients`` at once), alternating which side goes first; the service's
    side recorded under ``--profile``; one log line per round. ``before(side)`` and
    ``after(side)`` run around each side's load."""
    loads: dict[str, list[Load]] = {SERVICE: [], RAW: []}
    for round_number in range(ctx.rounds):
        for side in _order(round_number):
            if before is not None:
                before(side)
            batch = items()
            recording = (profiled(ctx, f"{label.replace(' ', '-')}-{round_number}")
                         if side == SERVICE else contextlib.nullcontext())
            with recording:
                loads[side].append(closed_loop(calls[side], batch, clients))
            if after is not None:
                after(side)
            summary = loads[side][-1].summary()
            ctx.log(f"  {label} {side:7s} round {round_number}: "
                    f"p50 {summary['p50_ms']:.1f} ms  p99 {summary['p99_ms']:.1f} ms  "
                    f"{summary['requests_per_s']:.0f} req/s")
    return loads


# --- ingest -------------------------------------------------------------------------------


def ingest(ctx: Context) -> dict[str, Any]:
    """events/s through POST .../events (NDJSON, 1,000 a batch, one client) vs streaming_bulk
    of the same documents (op_type=create, same monthly indices, same chunk size)."""
    items = list(dataset.events(ctx.ingest_events, seed=dataset.SEED + 1, with_others=False,
                                id_share=0.5))
    dataset.check_documents(items[:1000])
    batches = [
        (len(chunk), b"".join(orjson.dumps(i.raw) + b"\n" for i in chunk))
        for chunk in (items[k:k + INGEST_BATCH] for k in range(0, len(items), INGEST_BATCH))
    ]
    runs: dict[str, list[float]] = {SERVICE: [], RAW: []}
    for rep in range(ctx.ingest_reps):
        for side in _order(rep):
            namespace = f"{INGEST_NAMESPACE_PREFIX}{ctx.run_token}-{side}-{rep}"
            if side == SERVICE:
                with profiled(ctx, f"ingest-{rep}"):
                    seconds = _ingest_service(ctx, namespace, batches)
            else:
                actions = list(dataset.bulk_actions(iter(items), ctx.store, namespace))
                seconds = _ingest_raw(ctx, actions)
            runs[side].append(round(len(items) / seconds, 1))
            ctx.log(f"  ingest {side:7s} rep {rep}: {runs[side][-1]:,.0f} events/s")
    service, raw = median(runs[SERVICE]), median(runs[RAW])
    return {
        "unit": "events/s",
        "events_per_run": len(items),
        "batch_events": INGEST_BATCH,
        "clients": 1,
        "body": "NDJSON (application/x-ndjson); half the events carry a client id, "
                "half get the derived one",
        "raw_method": f"helpers.streaming_bulk(chunk_size={INGEST_BATCH}), op_type=create",
        "service": service,
        "raw": raw,
        "ratio": ratio(service, raw),
        "ratio_paired": paired_ratio(runs[SERVICE], runs[RAW]),
        "runs": runs,
    }


def _ingest_service(ctx: Context, namespace: str, batches: list[tuple[int, bytes]]) -> float:
    path = f"/api/v1/namespaces/{namespace}/events"
    started = time.perf_counter()
    for count, body in batches:
        answer = ctx.service.request("POST", path, body, "application/x-ndjson")
        if answer["created"] != count:
            raise ServiceError(f"ingest created {answer['created']} of {count}: "
                               f"{answer['errors'][:3]}")
    return time.perf_counter() - started


def _ingest_raw(ctx: Context, actions: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    created = 0
    for ok, info in helpers.streaming_bulk(ctx.es, actions, chunk_size=INGEST_BATCH,
                                           max_chunk_bytes=1 << 30, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"raw bulk failed: {info}")
        created += 1
    seconds = time.perf_counter() - started
    if created != len(actions):
        raise RuntimeError(f"raw bulk created {created} of {len(actions)}")
    return seconds


# --- search -------------------------------------------------------------------------------


def _search_body(query: str) -> bytes:
    return orjson.dumps({"query": query, "start_time": SPAN_START_S, "end_time": SPAN_END_S,
                         "limit": SEARCH_LIMIT, "sort": "DESCENDING"})


def _raw_search_kwargs(query: str) -> dict[str, Any]:
    window = search_window(SPAN_START_S, SPAN_END_S)
    return {
        "query": event_filter(dataset.MAIN_NAMESPACE, compile_query(query), window),
        "size": SEARCH_LIMIT,
        "sort": sort_spec("DESCENDING"),
        "track_total_hits": True,
    }


def search(ctx: Context) -> dict[str, Any]:
    """Latency of a 3-matcher search (limit 100, whole 30 days) at 1 and 8 clients."""
    path = f"/api/v1/namespaces/{dataset.MAIN_NAMESPACE}/events/search"
    service_bodies = {q: _search_body(q) for q in SEARCH_QUERIES}
    raw_kwargs = {q: _raw_search_kwargs(q) for q in SEARCH_QUERIES}
    pattern = ctx.store.pattern

    def via_service(query: str) -> Any:
        return ctx.service.request("POST", path, service_bodies[query])["events"]

    def via_raw(query: str) -> Any:
        response = ctx.es.search(index=pattern, ignore_unavailable=True,
                                 allow_no_indices=True, **raw_kwargs[query])
        return [hit["_source"] for hit in response["hits"]["hits"]]

    totals = []
    for query in SEARCH_QUERIES:  # same answers, and everything warmed once
        mine = ctx.service.request("POST", path, service_bodies[query])
        theirs = ctx.es.search(index=pattern, ignore_unavailable=True, allow_no_indices=True,
                               **raw_kwargs[query])
        if (mine["total_hits"] != theirs["hits"]["total"]["value"]
                or [e["id"] for e in mine["events"]]
                != [h["_source"]["id"] for h in theirs["hits"]["hits"]]):
            raise AssertionError(f"service and raw answers differ for {query}")
        totals.append(mine["total_hits"])
    out: dict[str, Any] = {
        "unit": "ms",
        "limit": SEARCH_LIMIT,
        "window": "30 days (all events)",
        "events_in_namespace": ctx.main_events,
        "queries": list(SEARCH_QUERIES),
        "total_hits_range": [min(totals), max(totals)],
    }
    for clients, requests in ctx.search_requests.items():
        items = [SEARCH_QUERIES[i % len(SEARCH_QUERIES)] for i in range(requests)]
        warm = items[: max(clients * 2, 10)]
        closed_loop(via_service, warm, clients)
        closed_loop(via_raw, warm, clients)
        loads = alternating_rounds(ctx, f"search {clients}c",
                                   {SERVICE: via_service, RAW: via_raw},
                                   lambda same=items: same, clients)
        out[f"clients_{clients}"] = _latency_figures(loads, requests)
    return out


def _latency_figures(loads: dict[str, list[Load]], requests: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"requests_per_round": requests, "rounds": len(loads[SERVICE])}
    for side in (SERVICE, RAW):
        summaries = [load.summary() for load in loads[side]]
        figures[side] = {
            key: round(median(s[key] for s in summaries), 3)
            for key in ("p50_ms", "p99_ms", "mean_ms", "requests_per_s")
        }
        figures[side]["rounds"] = summaries
    figures["ratio_p50"] = ratio(figures[SERVICE]["p50_ms"], figures[RAW]["p50_ms"])
    # The service's own time per request: what it adds to Elasticsearch's answer.
    figures["own_p50_ms"] = round(figures[SERVICE]["p50_ms"] - figures[RAW]["p50_ms"], 3)
    figures["own_p50_ms_paired"] = round(median(
        s["p50_ms"] - r["p50_ms"]
        for s, r in zip(figures[SERVICE]["rounds"], figures[RAW]["rounds"], strict=True)), 3)
    figures["ratio_p99"] = ratio(figures[SERVICE]["p99_ms"], figures[RAW]["p99_ms"])
    for key in ("p50_ms", "p99_ms"):
        figures[f"ratio_{key[:3]}_paired"] = paired_ratio(
            [s[key] for s in figures[SERVICE]["rounds"]], [s[key] for s in figures[RAW]["rounds"]])
    figures["ratio_throughput"] = ratio(figures[SERVICE]["requests_per_s"],
                                        figures[RAW]["requests_per_s"])
    return figures


# --- aggregations -------------------------------------------------------------------------


def aggregations(ctx: Context) -> dict[str, Any]:
    """Latency of date_aggregation(1h) + field_aggregation(actor.id, topk 10) over 24 h, at
    1 and 8 clients.

    Every request uses a window starting at a different minute (the same
    sequence shape on both sides), so Elasticsearch's shard request cache,
    which keeps size=0 answers, never answers one of them from memory.
    """
    path = f"/api/v1/namespaces/{dataset.MAIN_NAMESPACE}/events/aggregate"
    pattern = ctx.store.pattern
    per_side = ctx.aggregation_requests
    client_counts = (1, 8)
    warm = 16
    total = len(client_counts) * 2 * (ctx.rounds * per_side + warm) + 20
    minutes = (dataset.SPAN_DAYS - 1) * 1440
    starts = iter(SPAN_START_S + 60 * m
                  for m in random.Random(dataset.SEED).sample(range(minutes), total))

    def via_service(start: int) -> Any:
        body = orjson.dumps({"query": "", "start_time": start,
                             "end_time": start + AGGREGATION_WINDOW_S, "aggs": AGGREGATIONS})
        return ctx.service.request("POST", path, body)["aggs"]

    def via_raw(start: int) -> Any:
        window = search_window(start, start + AGGREGATION_WINDOW_S)
        parsed = parse_aggregations(AGGREGATIONS, window)
        response = ctx.es.search(
            index=pattern, ignore_unavailable=True, allow_no_indices=True,
            query=event_filter(dataset.MAIN_NAMESPACE, compile_query(""), window),
            size=0, track_total_hits=True, aggs=to_elasticsearch(parsed, window),
        )
        return response["aggregations"]

    # A kept data set (--reuse) may have these answers cached from an earlier run.
    ctx.es.indices.clear_cache(index=pattern, request=True)
    for _ in range(10):  # same answers
        start = next(starts)
        mine, theirs = via_service(start), via_raw(start)
        if ([b["count"] for b in mine["per_hour"]["buckets"]]
                != [b["doc_count"] for b in theirs["per_hour"]["buckets"]]
                or [b["key"] for b in mine["top_users"]["buckets"]]
                != [b["key"] for b in theirs["top_users"]["buckets"]]):
            raise AssertionError("service and raw aggregation answers differ")
    out: dict[str, Any] = {
        "unit": "ms",
        "aggs": AGGREGATIONS,
        "window": "24 h, a different start minute per request",
    }
    for clients in client_counts:
        closed_loop(via_service, [next(starts) for _ in range(warm)], clients)
        closed_loop(via_raw, [next(starts) for _ in range(warm)], clients)
        loads = alternating_rounds(ctx, f"aggregations {clients}c",
                                   {SERVICE: via_service, RAW: via_raw},
                                   lambda: [next(starts) for _ in range(per_side)], clients)
        out[f"clients_{clients}"] = _latency_figures(loads, per_side)
    return out


# --- export -------------------------------------------------------------------------------


def export_available(ctx: Context) -> bool:
    """Whether the service has the NDJSON export endpoint."""
    path = (f"/api/v1/namespaces/{dataset.MAIN_NAMESPACE}/events/export"
            f"?query=&start_time=0&end_time=1&format=ndjson")
    return ctx.service.send("GET", path).status == 200


def export(ctx: Context) -> dict[str, Any]:
    """events/s of the NDJSON export of the whole namespace vs helpers.scan of the same query."""
    if not export_available(ctx):
        ctx.notes.append("export: GET /api/v1/namespaces/{ns}/events/export is not in the "
                         "service yet; not measured")
        return {"unit": "events/s", "available": False}
    path = (f"/api/v1/namespaces/{dataset.MAIN_NAMESPACE}/events/export"
            f"?query=&start_time={SPAN_START_S}&end_time={SPAN_END_S}&format=ndjson")
    window = search_window(SPAN_START_S, SPAN_END_S)
    query = event_filter(dataset.MAIN_NAMESPACE, compile_query(""), window)
    expected = ctx.main_events

    def via_service() -> int:
        count = 0
        for line in ctx.service.stream_lines(path):
            if line:
                orjson.loads(line)  # the client reads each event, as scan's caller does
                count += 1
        return count

    def via_raw() -> int:
        return sum(1 for _ in helpers.scan(ctx.es, query={"query": query},
                                           index=ctx.store.pattern, size=EXPORT_PAGE,
                                           scroll="2m", ignore_unavailable=True))

    runs: dict[str, list[float]] = {SERVICE: [], RAW: []}
    for rep in range(ctx.export_reps):
        for side in _order(rep):
            started = time.perf_counter()
            if side == SERVICE:
                with profiled(ctx, f"export-{rep}"):
                    count = via_service()
            else:
                count = via_raw()
            seconds = time.perf_counter() - started
            if count != expected:
                raise AssertionError(f"export {side} returned {count} events, not {expected}")
            runs[side].append(round(count / seconds, 1))
            ctx.log(f"  export {side:7s} rep {rep}: {runs[side][-1]:,.0f} events/s "
                    f"({seconds:.1f} s)")
    sorted_pit = _raw_sorted_pit(ctx, query, expected)
    service, raw = median(runs[SERVICE]), median(runs[RAW])
    return {
        "unit": "events/s",
        "available": True,
        "events": expected,
        "format": "ndjson",
        "raw_method": f"helpers.scan(size={EXPORT_PAGE}, scroll=2m), unordered (_doc)",
        "service": service,
        "raw": raw,
        "ratio": ratio(service, raw),
        "ratio_paired": paired_ratio(runs[SERVICE], runs[RAW]),
        "runs": runs,
        "raw_sorted_pit_events_per_s": sorted_pit,
        "raw_sorted_pit_method": "diagnostic, one run: point-in-time + search_after sorted on "
                                 "time then id, as the export must deliver them",
    }


def _raw_sorted_pit(ctx: Context, query: dict[str, Any], expected: int) -> float:
    """One run of the ordered read the export does, straight on Elasticsearch."""
    started = time.perf_counter()
    pit = ctx.es.open_point_in_time(index=ctx.store.pattern, keep_alive="2m")["id"]
    count = 0
    after = None
    try:
        while True:
            kwargs: dict[str, Any] = {"search_after": after} if after else {}
            response = ctx.es.search(query=query, size=EXPORT_PAGE, sort=sort_spec("ASCENDING"),
                                     pit={"id": pit, "keep_alive": "2m"},
                                     track_total_hits=False, **kwargs)
            pit = response.get("pit_id", pit)
            hits = response["hits"]["hits"]
            count += len(hits)
            if len(hits) < EXPORT_PAGE:
                break
            after = hits[-1]["sort"]
    finally:
        ctx.es.options(ignore_status=404).close_point_in_time(id=pit)
    if count != expected:
        raise AssertionError(f"sorted read returned {count} events, not {expected}")
    return round(count / (time.perf_counter() - started), 1)
