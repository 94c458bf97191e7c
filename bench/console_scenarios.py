"""The console's first view after sign-in (DESIGN §11), replayed, vs raw Elasticsearch.

What ``app/console/static/js/main.js`` does when a key signs in (``signIn``):

1. ``GET /api/v1/me``, awaited before anything else;
2. then, without waiting for each other: ``loadFields()`` (``GET .../fields``, not
   awaited) and ``search()`` → ``execute()``, which sends three requests at once and
   waits for all of them: ``POST .../events/search`` (limit 500, DESCENDING),
   ``POST .../events/aggregate`` with the histogram's ``date_aggregation`` (the
   step ``chooseStep`` picks for the window) and ``POST .../events/aggregate`` with a
   ``field_aggregation`` (topk 5) for each of the sidebar's ``TOP_FIELDS``.

Nothing else is fetched for the first view: the sidebar's other fields and the
editor's completions load values only on a click or while typing, and live mode
is off. The view replayed is a shared link (``?ns=acme&from=<UTC>&to=<UTC>``, an
empty query) of 24 h inside the data's span: the console's default window
(``now-15m``) holds no bench events. Each view starts at a different minute, so
Elasticsearch's request cache does not answer its size=0 requests. The
constants (page size, top fields, topk, steps) are read from the JS files, so the
replay follows the console when they change.

One view = wall time from sending ``/me`` until the last of the four answers; the
raw side sends the equivalent Elasticsearch requests with the same parallelism,
built with the service's functions (``namespaces_with_events`` and ``label_names``
from ``app.engine.field_values`` run as they are on the bench's client: they are
the Elasticsearch calls, 1 and 2; ``event_filter``/``sort_spec``/
``parse_aggregations``/``to_elasticsearch`` for the other three).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson

from app.engine.aggregations import parse_aggregations, to_elasticsearch
from app.engine.field_values import MAX_LABELS, label_names, namespaces_with_events
from app.engine.query import compile_query
from app.engine.search import SearchEngine, event_filter, sort_spec
from app.model.time_window import search_window
from bench import dataset
from bench.loki_scenarios import shard_queries_of
from bench.scenarios import (
    RAW,
    SERVICE,
    SPAN_START_S,
    Context,
    _latency_figures,
    alternating_rounds,
)
from bench.timing import closed_loop, median, percentile, ratio

JS = Path(__file__).resolve().parent.parent / "app" / "console" / "static" / "js"
WINDOW_S = 86_400
QUERY = ""  # a shared link without a query (the view's default ``q``)
MAX_LISTED_NAMESPACES = 1000  # app.api.discovery's, for an admin key's /me
SANITY_CHECKS = 3


def _console_constants() -> dict[str, Any]:
    """PAGE_SIZE (main.js), TOP_FIELDS and TOP_K (sidebar.js), STEPS (time.js)."""
    main = (JS / "main.js").read_text()
    sidebar = (JS / "sidebar.js").read_text()
    times = (JS / "time.js").read_text()
    page = re.search(r"const PAGE_SIZE = (\d+);", main)
    fields = re.search(r"export const TOP_FIELDS = \[([^\]]*)\]", sidebar)
    topk = re.search(r"export const TOP_K = (\d+);", sidebar)
    steps = re.search(r"const STEPS = \[(.*?)\];", times, re.S)
    if not (page and fields and topk and steps):
        raise RuntimeError("the console's JS no longer has PAGE_SIZE / TOP_FIELDS / TOP_K / "
                           "STEPS where bench/console_scenarios.py reads them")
    return {
        "page_size": int(page.group(1)),
        "top_fields": re.findall(r'"([^"]+)"', fields.group(1)),
        "topk": int(topk.group(1)),
        "steps": [(name, int(ms.replace("_", "")))
                  for name, ms in re.findall(r'\["(\w+)", ([\d_]+)\]', steps.group(1))],
    }


def choose_step(steps: list[tuple[str, int]], span_ms: int, bars: int = 100) -> str:
    """time.js ``chooseStep``: the smallest step that keeps the bars at most ``bars``."""
    for name, ms in steps:
        if span_ms / ms <= bars:
            return name
    return steps[-1][0]


def _utc(seconds: int) -> str:
    """An absolute UTC time of the link as ``apiTime`` sends it: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Calls:
    """The five calls of a first view, as (name, method, path, body) per window start."""

    def __init__(self, constants: dict[str, Any]) -> None:
        self.page_size = constants["page_size"]
        self.top_fields = constants["top_fields"]
        self.topk = constants["topk"]
        self.step = choose_step(constants["steps"], WINDOW_S * 1000)
        self.histogram = {"histogram": {"date_aggregation": {"step": self.step}}}
        self.tops = {field: {"field_aggregation": {"field": field, "topk": self.topk}}
                     for field in self.top_fields}

    def bodies(self, start: int) -> dict[str, Any]:
        window = {"query": QUERY, "start_time": _utc(start), "end_time": _utc(start + WINDOW_S)}
        return {
            "search": {**window, "limit": self.page_size, "sort": "DESCENDING"},
            "histogram": {**window, "aggs": self.histogram},
            "top_values": {**window, "aggs": self.tops},
        }

    def listed(self) -> list[dict[str, Any]]:
        """The calls for the JSON: order, parallelism, endpoint and body shape."""
        ns = f"/api/v1/namespaces/{dataset.MAIN_NAMESPACE}"
        example = self.bodies(SPAN_START_S)
        return [
            {"name": "me", "stage": 1, "request": "GET /api/v1/me",
             "raw": "namespaces_with_events: terms on namespace (size 1000), size 0"},
            {"name": "fields", "stage": 2, "request": f"GET {ns}/fields",
             "raw": "label_names: GET _mapping, then a filters aggregation of exists "
                    f"queries on labels.* (at most {MAX_LABELS}) under the namespace term"},
            {"name": "search", "stage": 2, "request": f"POST {ns}/events/search",
             "body": example["search"],
             "raw": "search: event_filter, size 500, sort time desc then id desc, "
                    "track_total_hits true"},
            {"name": "histogram", "stage": 2, "request": f"POST {ns}/events/aggregate",
             "body": example["histogram"],
             "raw": "search size 0: date_histogram (to_elasticsearch), track_total_hits true"},
            {"name": "top_values", "stage": 2, "request": f"POST {ns}/events/aggregate",
             "body": example["top_values"],
             "raw": f"search size 0: {len(self.top_fields)} terms aggregations "
                    f"(to_elasticsearch), track_total_hits true"},
        ]


STAGE_2 = ("fields", "search", "histogram", "top_values")


def _raw_calls(ctx: Context, calls: Calls) -> dict[str, Callable[[int], Any]]:
    engine = cast(SearchEngine, SimpleNamespace(client=ctx.es, store=ctx.store))
    pattern = ctx.store.pattern
    ns = dataset.MAIN_NAMESPACE

    def search(body: dict[str, Any]) -> Any:
        window = search_window(body["start_time"], body["end_time"])
        return ctx.es.search(index=pattern, ignore_unavailable=True, allow_no_indices=True,
                             query=event_filter(ns, compile_query(body["query"]), window),
                             size=body["limit"], sort=sort_spec(body["sort"]),
                             track_total_hits=True)

    def aggregate(body: dict[str, Any]) -> Any:
        window = search_window(body["start_time"], body["end_time"])
        aggs = parse_aggregations(body["aggs"], window)
        return ctx.es.search(index=pattern, ignore_unavailable=True, allow_no_indices=True,
                             query=event_filter(ns, compile_query(body["query"]), window),
                             size=0, track_total_hits=True, aggs=to_elasticsearch(aggs, window))

    return {
        "me": lambda start: namespaces_with_events(engine, MAX_LISTED_NAMESPACES),
        "fields": lambda start: label_names(engine, ns),
        "search": lambda start: search(calls.bodies(start)["search"]),
        "histogram": lambda start: aggregate(calls.bodies(start)["histogram"]),
        "top_values": lambda start: aggregate(calls.bodies(start)["top_values"]),
    }


def _service_calls(ctx: Context, calls: Calls) -> dict[str, Callable[[int], Any]]:
    ns = f"/api/v1/namespaces/{dataset.MAIN_NAMESPACE}"
    service = ctx.service

    def post(path: str, name: str) -> Callable[[int], Any]:
        return lambda start: service.request("POST", path,
                                             orjson.dumps(calls.bodies(start)[name]))

    return {
        "me": lambda start: service.request("GET", "/api/v1/me"),
        "fields": lambda start: service.request("GET", f"{ns}/fields"),
        "search": post(f"{ns}/events/search", "search"),
        "histogram": post(f"{ns}/events/aggregate", "histogram"),
        "top_values": post(f"{ns}/events/aggregate", "top_values"),
    }


class Viewer:
    """Runs one first view: ``me``, then the four others at once; times each call."""

    def __init__(self, side_calls: dict[str, Callable[[int], Any]],
                 pool: ThreadPoolExecutor) -> None:
        self.calls = side_calls
        self.pool = pool
        self.timings: dict[str, list[float]] = {name: [] for name in ("me", *STAGE_2)}

    def _timed(self, name: str, start: int) -> Any:
        began = time.perf_counter()
        answer = self.calls[name](start)
        self.timings[name].append(time.perf_counter() - began)
        return answer

    def view(self, start: int) -> dict[str, Any]:
        answers = {"me": self._timed("me", start)}
        futures: dict[str, Future[Any]] = {
            name: self.pool.submit(self._timed, name, start) for name in STAGE_2}
        answers.update((name, future.result()) for name, future in futures.items())
        return answers

    def reset(self) -> None:
        for samples in self.timings.values():
            samples.clear()


def _check(mine: dict[str, Any], theirs: dict[str, Any], calls: Calls) -> dict[str, int]:
    """Both sides' answers to one view agree; the figures of the view."""
    def fail(what: str) -> AssertionError:
        return AssertionError(f"console first view: service and raw {what} differ")

    if [n for n in mine["me"]["namespaces"] if n != "system"] != \
            [n for n in theirs["me"] if n != "system"]:
        raise fail("namespaces (/me)")
    if mine["fields"]["labels"] != theirs["fields"]:
        raise fail("labels (fields)")
    found = theirs["search"]["hits"]
    if (mine["search"]["total_hits"] != found["total"]["value"]
            or [e["id"] for e in mine["search"]["events"]]
            != [h["_source"]["id"] for h in found["hits"]]):
        raise fail("search pages")
    histogram = theirs["histogram"]["aggregations"]["histogram"]["buckets"]
    if ([b["count"] for b in mine["histogram"]["aggs"]["histogram"]["buckets"]]
            != [b["doc_count"] for b in histogram]):
        raise fail("histograms")
    for field in calls.top_fields:
        served = [(b["key"], b["count"]) for b in mine["top_values"]["aggs"][field]["buckets"]]
        raw = [(b["key"], b["doc_count"])
               for b in theirs["top_values"]["aggregations"][field]["buckets"]]
        if served != raw:
            raise fail(f"top values of {field}")
    return {"total_hits": found["total"]["value"], "events": len(found["hits"]),
            "histogram_buckets": len(histogram)}


def console(ctx: Context, views: int) -> dict[str, Any]:
    """The console's first view (5 calls, 4 of them in parallel) vs raw Elasticsearch."""
    calls = Calls(_console_constants())
    warm = 5
    total = 2 * (ctx.rounds * views + warm) + SANITY_CHECKS + 20
    minutes = (dataset.SPAN_DAYS - 1) * 1440
    starts = iter(SPAN_START_S + 60 * m
                  for m in random.Random(dataset.SEED + 11).sample(range(minutes), total))
    ctx.es.indices.clear_cache(index=ctx.store.pattern, request=True)
    with ThreadPoolExecutor(max_workers=len(STAGE_2)) as service_pool, \
            ThreadPoolExecutor(max_workers=len(STAGE_2)) as raw_pool:
        viewers = {SERVICE: Viewer(_service_calls(ctx, calls), service_pool),
                   RAW: Viewer(_raw_calls(ctx, calls), raw_pool)}
        checked = []
        for _ in range(SANITY_CHECKS):
            start = next(starts)
            checked.append(_check(viewers[SERVICE].view(start), viewers[RAW].view(start),
                                  calls))
        shard_queries = {side: shard_queries_of(ctx, lambda v=viewer: v.view(next(starts)))
                         for side, viewer in viewers.items()}
        for viewer in viewers.values():
            closed_loop(viewer.view, [next(starts) for _ in range(warm)], 1)
        per_call: dict[str, dict[str, list[float]]] = {
            side: {name: [] for name in viewers[side].timings} for side in viewers}

        def record_calls(side: str) -> None:
            for name, samples in viewers[side].timings.items():
                per_call[side][name].append(round(percentile(samples, 0.5) * 1000, 3))

        loads = alternating_rounds(
            ctx, "console view", {side: viewer.view for side, viewer in viewers.items()},
            lambda: [next(starts) for _ in range(views)],
            before=lambda side: viewers[side].reset(), after=record_calls)
    calls_p50 = {}
    for name in per_call[SERVICE]:
        service_p50 = round(median(per_call[SERVICE][name]), 3)
        raw_p50 = round(median(per_call[RAW][name]), 3)
        calls_p50[name] = {"service_p50_ms": service_p50, "raw_p50_ms": raw_p50,
                           "ratio_p50": ratio(service_p50, raw_p50),
                           "rounds": {SERVICE: per_call[SERVICE][name],
                                      RAW: per_call[RAW][name]}}
    return {
        "unit": "ms",
        "clients": 1,
        "view": f"?ns={dataset.MAIN_NAMESPACE}&q=&from=<UTC>&to=<UTC + 24 h>, a different "
                "start minute per view",
        "histogram_step": calls.step,
        "calls": calls.listed(),
        "parallelism": "me alone, then fields, search, histogram and top_values at once "
                       "(4 threads per side); the view ends with the last answer",
        "checked_views": checked,
        "es_shard_queries_per_view": shard_queries,
        "first_view": _latency_figures(loads, views),
        "calls_p50": calls_p50,
    }
