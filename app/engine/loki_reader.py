"""The Elasticsearch side of the Loki-compatible API (DESIGN §12): lines, samples, labels.

Every query is ``bool.filter[namespace term, time range, compiled LogQL]``, so a
namespace filter is always there. Stream labels are the registry's ``stream_labels()``
(keyword and ip fields but ``id``) plus the event's ``labels.*``, named with ``.`` written
``_``; an event's log line is its JSON as the search API returns it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.engine.field_values import label_names
from app.engine.loki_metrics import (
    PAGE_SIZE,
    Evaluation,
    aggregation,
    apply_steps,
    bucket_plan,
    grouping_fields,
    present,
    window_series,
)
from app.engine.search import SearchEngine
from app.errors import InvalidInput
from app.model.fields import LABEL_PREFIX, LINE_BYTES, LINE_TEXT, REGISTRY
from app.model.timestamps import format_ns
from app.store.client import store_errors
from query_language import (
    LogSelection,
    MetricPlan,
    ResolvedGrouping,
    VectorStep,
    compile_logql,
    label_field,
    label_name,
    parse_logql,
)
from query_language.logql_ast import LogQuery, RangeFunction, VectorOp

STREAM_FIELDS: tuple[str, ...] = tuple(f.name for f in REGISTRY.stream_labels())


def _label_tree(names: Sequence[str]) -> dict[str, Any]:
    """The stream fields as nested keys: ``{"action": "action", "actor": {"id": "actor_id"}}``
    (a key's label name, or the keys under it)."""
    tree: dict[str, Any] = {}
    for name in names:
        *parents, last = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = label_name(name)
    return tree


# Worked out once: an event's labels are found by walking its own keys (a few) through it.
_STREAM_TREE = _label_tree(STREAM_FIELDS)

LINE_FIELD = LINE_TEXT
NS_FORMAT = "strict_date_optional_time_nanos"
MAX_LABEL_VALUES = 10_000
MAX_SERIES = 10_000


@dataclass(frozen=True)
class Line:
    """One log line: its stream labels, time (epoch ns) and text."""

    labels: tuple[tuple[str, str], ...]
    time_ns: int
    text: str


@dataclass
class ReadStats:
    """What a query read, for Loki's ``stats`` block."""

    lines: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.perf_counter)

    def as_loki(self, returned: int) -> dict[str, Any]:
        """Loki's ``stats`` shape (the summary Grafana shows; the rest zero)."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return {"summary": {
            "bytesProcessedPerSecond": int(self.bytes / elapsed),
            "linesProcessedPerSecond": int(self.lines / elapsed),
            "totalBytesProcessed": self.bytes,
            "totalLinesProcessed": self.lines,
            "execTime": elapsed,
            "queueTime": 0,
            "subqueries": 0,
            "totalEntriesReturned": returned,
        }}


def _tree_labels(tree: Mapping[str, Any], values: Mapping[str, Any],
                 pairs: list[tuple[str, str]]) -> None:
    for key, value in values.items():
        label = tree.get(key)
        if label is None or value is None or value == "":
            continue
        if isinstance(label, str):
            pairs.append((label, str(value)))
        elif isinstance(value, dict):
            _tree_labels(label, value, pairs)


def stream_labels(event: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An event's stream labels, sorted by name."""
    pairs: list[tuple[str, str]] = []
    _tree_labels(_STREAM_TREE, event, pairs)  # once per returned line: kept lean
    labels = event.get("labels")
    if isinstance(labels, dict):
        pairs.extend((label_name(LABEL_PREFIX + key), str(value))
                     for key, value in labels.items() if value is not None and value != "")
    pairs.sort()
    return tuple(pairs)


def time_filter(start_ns: int | None, end_ns: int | None) -> dict[str, Any] | None:
    """``start <= time < end`` (Loki's end is exclusive)."""
    bounds: dict[str, Any] = {}
    if start_ns is not None:
        bounds["gte"] = format_ns(start_ns, 9)
    if end_ns is not None:
        bounds["lt"] = format_ns(end_ns, 9)
    return {"range": {"time": {**bounds, "format": NS_FORMAT}}} if bounds else None


def namespace_query(namespace: str, query: Mapping[str, Any], start_ns: int | None,
                    end_ns: int | None) -> dict[str, Any]:
    """The full query: namespace, the half-open window and the compiled LogQL."""
    filters: list[dict[str, Any]] = [{"term": {"namespace": namespace}}]
    window = time_filter(start_ns, end_ns)
    if window is not None:
        filters.append(window)
    if query and "match_all" not in query:
        filters.append(dict(query))
    return {"bool": {"filter": filters}}


class LokiReader:
    """Answers the Loki API's reads over one engine's store."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self.client = engine.client
        self.pattern = engine.store.pattern

    def _search(self, **body: Any) -> Any:
        with store_errors():
            return self.client.search(index=self.pattern, ignore_unavailable=True,
                                      allow_no_indices=True, **body)

    def lines(self, namespace: str, query: Mapping[str, Any], start_ns: int, end_ns: int,
              limit: int, forward: bool, stats: ReadStats) -> list[Line]:
        """Up to ``limit`` lines of ``[start, end)``, oldest first when ``forward``.

        Ties on time are ordered by id, so a client that pages by time (ending
        the next page at the last line's time + 1 ns, as logcli does) gets the
        lines of that instant again in the same order.
        """
        order = "asc" if forward else "desc"
        response = self._search(
            query=namespace_query(namespace, query, start_ns, end_ns), size=limit,
            sort=[{"time": {"order": order}}, {"id": {"order": order}}],
            track_total_hits=False)
        result = []
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            text = orjson.dumps(source).decode()
            result.append(Line(stream_labels(source), int(hit["sort"][0]), text))
            stats.bytes += len(text.encode())
        stats.lines += len(result)
        return result

    def label_fields(self, namespace: str, start_ns: int | None, end_ns: int | None,
                     query: Mapping[str, Any] | None = None) -> list[str]:
        """The stream-label fields some event of the namespace has in the window."""
        candidates = self._stream_fields(namespace)
        aggs = {f"f{i}": {"filter": {"exists": {"field": name}}}
                for i, name in enumerate(candidates)}
        response = self._search(query=namespace_query(namespace, query or {}, start_ns, end_ns),
                                size=0, aggs=aggs, track_total_hits=False)
        found = response.get("aggregations", {})
        return [name for i, name in enumerate(candidates)
                if found.get(f"f{i}", {}).get("doc_count", 0) > 0]

    def _stream_fields(self, namespace: str) -> list[str]:
        """The stream-label fields of a namespace: the registry's and the ``labels.*`` its
        events hold (the console's field discovery, ``field_values.label_names``)."""
        return [*STREAM_FIELDS, *label_names(self.engine, namespace)]

    def label_values(self, namespace: str, field_name: str, start_ns: int | None,
                     end_ns: int | None, query: Mapping[str, Any] | None = None) -> list[str]:
        """The distinct values of a field in the window, sorted (at most MAX_LABEL_VALUES)."""
        values: list[str] = []
        for bucket in self._composite(namespace, query or {}, start_ns, end_ns,
                                      [field_name], MAX_LABEL_VALUES):
            value = bucket["key"]["l0"]
            if value not in (None, ""):
                values.append(str(value))
        return sorted(values)

    def series(self, namespace: str, queries: Sequence[Mapping[str, Any]],
               start_ns: int | None, end_ns: int | None) -> list[dict[str, str]]:
        """The distinct stream label sets of the events any of ``queries`` matches."""
        fields = self._stream_fields(namespace)
        query: dict[str, Any] = {"bool": {"should": [dict(q) for q in queries],
                                          "minimum_should_match": 1}} if queries else {}
        result = []
        for bucket in self._composite(namespace, query, start_ns, end_ns, fields, MAX_SERIES):
            key = bucket["key"]
            result.append({label_name(name): str(key[f"l{i}"]) for i, name in enumerate(fields)
                           if key[f"l{i}"] not in (None, "")})
        return result

    def _composite(self, namespace: str, query: Mapping[str, Any], start_ns: int | None,
                   end_ns: int | None, fields: Sequence[str], most: int,
                   ) -> Iterator[dict[str, Any]]:
        sources = [{f"l{i}": {"terms": {"field": name, "missing_bucket": True}}}
                   for i, name in enumerate(fields)]
        full = namespace_query(namespace, query, start_ns, end_ns)
        after = None
        given = 0
        while given < most:
            composite: dict[str, Any] = {"size": min(1000, most - given), "sources": sources}
            if after is not None:
                composite["after"] = after
            response = self._search(query=full, size=0, track_total_hits=False,
                                    aggs={"c": {"composite": composite}})
            found = response.get("aggregations", {}).get("c", {})
            buckets = found.get("buckets", [])
            yield from buckets
            given += len(buckets)
            after = found.get("after_key")
            if len(buckets) < composite["size"] or after is None:
                return  # a short page is the last one

    def index_stats(self, namespace: str, query: Mapping[str, Any], start_ns: int | None,
                    end_ns: int | None) -> dict[str, int]:
        """Loki's ``/index/stats``: streams, chunks (one per stream here), entries, bytes."""
        response = self._search(query=namespace_query(namespace, query, start_ns, end_ns),
                                size=0, track_total_hits=True,
                                aggs={"bytes": {"sum": {"field": LINE_BYTES}}})
        entries = int(response["hits"]["total"]["value"])
        streams = len(self.series(namespace, [query], start_ns, end_ns)) if entries else 0
        return {"streams": streams, "chunks": streams, "entries": entries,
                "bytes": int(response.get("aggregations", {}).get("bytes", {}).get("value") or 0)}

    def samples(self, namespace: str, plan: MetricPlan, evaluation: Evaluation,
                ) -> dict[tuple[tuple[str, str], ...], list[float | None]]:
        """A metric query's series: labels -> value at each evaluation time (None: none)."""
        buckets = bucket_plan(evaluation, plan.range_ms)
        fields = grouping_fields(plan, lambda: self._stream_fields(namespace))
        query = namespace_query(namespace, plan.query, buckets.from_ns, buckets.to_ns)

        def pages() -> Iterator[list[dict[str, Any]]]:
            after = None
            while True:
                response = self._search(query=query, size=0, track_total_hits=False,
                                        aggs=aggregation(plan, fields, buckets, after))
                found = response.get("aggregations", {}).get("samples", {})
                page = found.get("buckets", [])
                yield page
                after = found.get("after_key")
                # A page short of its size is the last one (Elasticsearch still gives an
                # after_key with it, and the next page would come back empty).
                if len(page) < PAGE_SIZE or after is None:
                    return

        series = window_series(pages(), plan, fields, buckets, evaluation)
        return apply_steps(present(series, plan), plan.steps, evaluation.count)


def volume_plan(text: str, target_labels: str, range_ms: int) -> MetricPlan:
    """Loki's log volume as a metric plan: ``sum by (labels) (bytes_over_time(sel[range]))``.

    The labels are ``target_labels`` (comma-separated), else the selector's own.
    Raises InvalidInput for a query that is not a stream selector, and the
    query language's errors.
    """
    expr = parse_logql(text if text.strip() else "{}")
    if not isinstance(expr, LogQuery):
        raise InvalidInput("query: a stream selector is required", field="query")
    selection = compile_logql(expr, REGISTRY, line_field=LINE_FIELD)
    assert isinstance(selection, LogSelection)
    targets = [t.strip() for t in target_labels.split(",") if t.strip()]
    names = targets or list(dict.fromkeys(m.field for m in expr.selector.matchers))
    grouping = ResolvedGrouping(False, tuple(label_name(n) for n in names),
                                tuple(label_field(n, REGISTRY) for n in names))
    return MetricPlan(selection.query, RangeFunction.BYTES_OVER_TIME, range_ms,
                      (VectorStep(VectorOp.SUM, grouping, None),))
