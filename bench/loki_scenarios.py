"""The Loki-compatible API (DESIGN §12) side by side with raw Elasticsearch.

``GET /loki/api/v1/query_range`` through the service (bearer admin key; an
admin key may read every namespace, so the namespace is named with
``X-Scope-OrgID``, as Grafana's multi-tenant data sources send it) against the
Elasticsearch request(s) that give the same answer, built with the service's
own functions: ``loki_params`` reads the parameters, ``compile_logql`` compiles
the query, ``namespace_query`` adds the namespace and the half-open window, and
for the metric query ``evaluation``/``bucket_plan``/``grouping_fields``/
``aggregation`` give the composite aggregation whose buckets are the samples.

Two queries, one client, p50/p99 over alternating rounds (``scenarios``'s helpers):

- a log query: ``{namespace="acme", action="login"}``, limit 100, a 24 h window,
  backward; raw: the same filter, 100 hits sorted by time then id, descending;
- a metric query: ``sum by (action) (count_over_time({namespace="acme"}[1h]))``
  over 24 h, step 1h; raw: the composite aggregation (action terms x hourly
  ``date_histogram`` with the service's offset), paged only while a page is full.

Every request starts its window at a different minute of the data's span, so
Elasticsearch's shard request cache (which keeps size=0 answers) never answers
a metric request, and the log query never reads the same 100 lines twice in a row.
A sanity pass compares both sides' answers (ids in order; every sample) before
anything is timed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from app.api import loki_params
from app.engine.loki_metrics import PAGE_SIZE, aggregation, bucket_plan, evaluation, grouping_fields
from app.engine.loki_reader import LINE_FIELD, STREAM_FIELDS, namespace_query
from app.model.fields import REGISTRY
from bench import dataset
from bench.scenarios import (
    RAW,
    SERVICE,
    SPAN_START_S,
    Context,
    _latency_figures,
    alternating_rounds,
)
from bench.service import ServiceError
from bench.timing import closed_loop
from query_language import LogSelection, MetricPlan, compile_logql, parse_logql

PATH = "/loki/api/v1/query_range"
WINDOW_S = 86_400
LOG_QUERY = f'{{namespace="{dataset.MAIN_NAMESPACE}", action="login"}}'
LOG_LIMIT = 100
METRIC_QUERY = f'sum by (action) (count_over_time({{namespace="{dataset.MAIN_NAMESPACE}"}}[1h]))'
METRIC_STEP = "1h"
SANITY_CHECKS = 5


def _log_args(start: int) -> dict[str, str]:
    return {"query": LOG_QUERY, "start": str(start), "end": str(start + WINDOW_S),
            "limit": str(LOG_LIMIT), "direction": "backward"}


def _metric_args(start: int) -> dict[str, str]:
    return {"query": METRIC_QUERY, "start": str(start), "end": str(start + WINDOW_S),
            "step": METRIC_STEP}


def _compiled(text: str) -> Any:
    return compile_logql(parse_logql(text), REGISTRY, line_field=LINE_FIELD)


def _service_get(ctx: Context, args: Mapping[str, str]) -> Any:
    """One query_range through the service; its ``data``. Raises ServiceError."""
    headers = {**ctx.service.headers, "X-Scope-OrgID": dataset.MAIN_NAMESPACE}
    path = f"{PATH}?{urlencode(args)}"
    response = ctx.service.send("GET", path, headers=headers)
    if response.status != 200:
        raise ServiceError(f"GET {path}: {response.status} "
                           f"{response.data[:500].decode(errors='replace')}")
    answer = orjson.loads(response.data)
    if answer.get("status") != "success":
        raise ServiceError(f"GET {path}: {answer}")
    return answer["data"]


def _raw_log_kwargs(args: Mapping[str, str]) -> dict[str, Any]:
    """The Elasticsearch search ``LokiReader.lines`` sends for these parameters."""
    compiled = _compiled(args["query"])
    assert isinstance(compiled, LogSelection)
    span = loki_params.window(args)
    order = "asc" if loki_params.forward(args) else "desc"
    return {
        "query": namespace_query(dataset.MAIN_NAMESPACE, compiled.query, span.start_ns,
                                 span.end_ns),
        "size": loki_params.limit(args),
        # LokiReader.lines' sort (written out there, not a function of its own).
        "sort": [{"time": {"order": order}}, {"id": {"order": order}}],
        "track_total_hits": False,
    }


def _metric_request(args: Mapping[str, str]) -> tuple[MetricPlan, Any, Any, dict[str, Any]]:
    """The plan, evaluation, bucket plan and the query of the composite aggregation."""
    plan = _compiled(args["query"])
    assert isinstance(plan, MetricPlan)
    span = loki_params.window(args)
    when = evaluation(span.start_ns, span.end_ns, loki_params.step_ms(args, span))
    buckets = bucket_plan(when, plan.range_ms)
    query = namespace_query(dataset.MAIN_NAMESPACE, plan.query, buckets.from_ns, buckets.to_ns)
    return plan, when, buckets, query


def _raw_metric(ctx: Context, args: Mapping[str, str]) -> tuple[Any, Any, Any, list[Any]]:
    """The composite aggregation's buckets, paged only while a page comes back full."""
    plan, when, buckets, query = _metric_request(args)
    # ``sum by (L)`` groups on L alone; the stream fields matter only for ``without``.
    fields = grouping_fields(plan, STREAM_FIELDS)
    found: list[Any] = []
    after = None
    while True:
        response = ctx.es.search(index=ctx.store.pattern, ignore_unavailable=True,
                                 allow_no_indices=True, query=query, size=0,
                                 track_total_hits=False,
                                 aggs=aggregation(plan, fields, buckets, after))
        samples = response.get("aggregations", {}).get("samples", {})
        page = samples.get("buckets", [])
        found.extend(page)
        after = samples.get("after_key")
        if len(page) < PAGE_SIZE or after is None:
            return plan, when, buckets, found


def _check_log(mine: Any, theirs: Any) -> int:
    """Same lines (time and id, in the query's order). Returns how many."""
    if mine["resultType"] != "streams":
        raise AssertionError(f"loki log query answered {mine['resultType']}")
    # The service groups lines by stream; their order across streams is time then id.
    served = sorted(((int(ts), orjson.loads(line)["id"])
                     for stream in mine["result"] for ts, line in stream["values"]),
                    reverse=True)
    raw = [(int(hit["sort"][0]), hit["_source"]["id"]) for hit in theirs["hits"]["hits"]]
    if served != raw:
        raise AssertionError(f"loki log query: service and raw lines differ "
                             f"({len(served)} vs {len(raw)} lines)")
    return len(raw)


def _check_metric(mine: Any, raw: tuple[Any, Any, Any, list[Any]]) -> int:
    """Every sample of every series equals the raw buckets added up. Returns the samples."""
    plan, when, buckets, found = raw
    if mine["resultType"] != "matrix":
        raise AssertionError(f"loki metric query answered {mine['resultType']}")
    served = {(series["metric"].get("action"), int(float(t) * 1000)): int(value)
              for series in mine["result"] for t, value in series["values"]}
    # The sample at t counts the events of (t - range, t]: the buckets [key, key + g)
    # with t - range < key and key + g - 1 <= t.
    expected: dict[tuple[str | None, int], int] = {}
    for t in when.times_ms():
        for bucket in found:
            key = int(bucket["key"]["t"])
            if t - plan.range_ms < key <= t - buckets.bucket_ms + 1:
                label = bucket["key"]["l0"]
                expected[(label, t)] = expected.get((label, t), 0) + bucket["doc_count"]
    expected = {k: v for k, v in expected.items() if v}
    if served != expected:
        raise AssertionError(f"loki metric query: service and raw samples differ "
                             f"({len(served)} vs {len(expected)} samples)")
    return len(served)


def _shard_queries(ctx: Context) -> int:
    stats = ctx.es.indices.stats(index=ctx.store.pattern, metric="search")
    return int(stats["_all"]["total"]["search"]["query_total"])


def shard_queries_of(ctx: Context, call: Callable[[], Any], times: int = 3) -> int:
    """Diagnostic: the fewest shard-level queries Elasticsearch counted for one ``call``
    (the index set is this run's own; the fewest of a few tries hides a background read)."""
    counts = []
    for _ in range(times):
        before = _shard_queries(ctx)
        call()
        counts.append(_shard_queries(ctx) - before)
    return min(counts)


def loki(ctx: Context, requests: int) -> dict[str, Any]:
    """p50/p99 of a Loki log query and a Loki metric query (1 client) vs raw Elasticsearch."""
    pattern = ctx.store.pattern
    warm = 10
    total = 2 * (2 * (ctx.rounds * requests + warm) + 3 * SANITY_CHECKS + 10)
    minutes = (dataset.SPAN_DAYS - 1) * 1440
    starts = iter(SPAN_START_S + 60 * m
                  for m in random.Random(dataset.SEED + 8).sample(range(minutes), total))

    kinds: dict[str, dict[str, Callable[[int], Any]]] = {
        "log": {
            SERVICE: lambda start: _service_get(ctx, _log_args(start))["result"],
            RAW: lambda start: ctx.es.search(index=pattern, ignore_unavailable=True,
                                             allow_no_indices=True,
                                             **_raw_log_kwargs(_log_args(start)))["hits"],
        },
        "metric": {
            SERVICE: lambda start: _service_get(ctx, _metric_args(start))["result"],
            RAW: lambda start: _raw_metric(ctx, _metric_args(start))[3],
        },
    }

    # A kept data set (--reuse) may have these answers cached from an earlier run.
    ctx.es.indices.clear_cache(index=pattern, request=True)
    lines, samples = [], []
    for _ in range(SANITY_CHECKS):
        start = next(starts)
        theirs = ctx.es.search(index=pattern, ignore_unavailable=True, allow_no_indices=True,
                               **_raw_log_kwargs(_log_args(start)))
        lines.append(_check_log(_service_get(ctx, _log_args(start)), theirs))
        start = next(starts)
        samples.append(_check_metric(_service_get(ctx, _metric_args(start)),
                                     _raw_metric(ctx, _metric_args(start))))
    shard_queries = {
        kind: {side: shard_queries_of(ctx, lambda call=call: call(next(starts)))
               for side, call in calls.items()}
        for kind, calls in kinds.items()
    }
    out: dict[str, Any] = {
        "unit": "ms",
        "clients": 1,
        "namespace": f"X-Scope-OrgID: {dataset.MAIN_NAMESPACE} (bearer admin key)",
        "window": "24 h, a different start minute per request",
        "log_query": {"query": LOG_QUERY, "limit": LOG_LIMIT, "direction": "backward",
                      "raw": "search: the same filter (namespace_query), size 100, sort "
                             "time desc then id desc, track_total_hits false",
                      "lines_checked": lines},
        "metric_query": {"query": METRIC_QUERY, "step": METRIC_STEP,
                         "raw": "search size 0: composite aggregation (terms action x "
                                "date_histogram 1h with the service's offset), paged while "
                                "a page is full",
                         "samples_checked": samples},
        "es_shard_queries_per_request": shard_queries,
    }
    for kind, calls in kinds.items():
        closed_loop(calls[SERVICE], [next(starts) for _ in range(warm)], 1)
        closed_loop(calls[RAW], [next(starts) for _ in range(warm)], 1)
        loads = alternating_rounds(ctx, f"loki {kind}", calls,
                                   lambda: [next(starts) for _ in range(requests)])
        out[kind] = _latency_figures(loads, requests)
    return out
