"""Named aggregations (DESIGN §6): validation, the Elasticsearch request, the answer.

Request form, nested aggregations beside the type as in Elasticsearch::

    {"per_hour": {"date_aggregation": {"step": "1h"},
                  "aggs": {"top": {"field_aggregation": {"field": "action", "topk": 5}}}},
     "users": {"cardinality_aggregation": {"field": "actor.id"}}}

Answers: ``{"buckets": [{"key", "count", "aggs"?}]}`` for field and date
aggregations (date keys as RFC 3339, empty buckets over the window filled in),
``{"value": n}`` for cardinality.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from app.config import default
from app.errors import InvalidInput
from app.model.fields import REGISTRY, Field
from app.model.time_window import TimeWindow
from app.model.timestamps import duration_ms, format_ns

FIELD_AGG = "field_aggregation"
DATE_AGG = "date_aggregation"
CARDINALITY_AGG = "cardinality_aggregation"
TYPES = (FIELD_AGG, DATE_AGG, CARDINALITY_AGG)
# The parameters each type takes.
PARAMETERS: dict[str, frozenset[str]] = {
    FIELD_AGG: frozenset({"field", "topk"}),
    DATE_AGG: frozenset({"field", "step"}),
    CARDINALITY_AGG: frozenset({"field"}),
}

MAX_TOPK = 1000
DEFAULT_TOPK = 10
# Exact distinct counts up to this many values (Elasticsearch's maximum).
CARDINALITY_PRECISION = 40_000

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Aggregation:
    """One validated aggregation."""

    name: str
    type: str
    field: Field | None = None
    topk: int = DEFAULT_TOPK
    step: str = ""
    step_ms: int = 0
    children: tuple[Aggregation, ...] = ()


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"aggs.{path}: {message}", field=f"aggs.{path}")


def _field(path: str, spec: dict[str, Any], *, date: bool = False) -> Field:
    name = spec.get("field", "time" if date else None)
    if not isinstance(name, str) or not name:
        raise _fail(path, "field is required")
    found = REGISTRY.lookup(name)
    if found is None:
        raise _fail(path, f"unknown field {name!r}")
    if date and found.type != "date":
        raise _fail(path, f"date_aggregation needs a date field, {name!r} is not one")
    if not date and not found.aggregatable:
        raise _fail(path, f"field {name!r} cannot be aggregated on")
    return found


def _parse_one(name: str, raw: Any, path: str, window: TimeWindow) -> Aggregation:
    if not _NAME.fullmatch(name):
        raise _fail(path, "names are 1-64 characters of A-Z a-z 0-9 _ . -")
    if not isinstance(raw, dict):
        raise _fail(path, "must be an object")
    kinds = [k for k in raw if k != "aggs"]
    if len(kinds) != 1 or kinds[0] not in TYPES:
        raise _fail(path, f"give exactly one of {', '.join(TYPES)}")
    kind = kinds[0]
    spec = raw[kind] if raw[kind] is not None else {}
    if not isinstance(spec, dict):
        raise _fail(path, f"{kind} must be an object")
    children_raw = raw.get("aggs") or {}
    if kind == CARDINALITY_AGG and children_raw:
        raise _fail(path, "cardinality_aggregation takes no nested aggs")
    unknown = set(spec) - PARAMETERS[kind]
    if kind == FIELD_AGG:
        topk = spec.get("topk", DEFAULT_TOPK)
        if isinstance(topk, bool) or not isinstance(topk, int) or not 1 <= topk <= MAX_TOPK:
            raise _fail(path, f"topk must be an integer from 1 to {MAX_TOPK}")
        agg = Aggregation(name, kind, _field(path, spec), topk=topk)
    elif kind == DATE_AGG:
        step = spec.get("step")
        step_ms = duration_ms(step)
        if step_ms is None:
            raise _fail(path, "step must be a duration such as 30s, 5m, 1h or 1d")
        agg = Aggregation(name, kind, _field(path, spec, date=True), step=step, step_ms=step_ms)
    else:
        agg = Aggregation(name, kind, _field(path, spec))
    if unknown:
        raise _fail(path, f"unknown parameter(s) {', '.join(sorted(unknown))}")
    children = parse_aggregations(children_raw, window, f"{path}.aggs")
    return Aggregation(agg.name, agg.type, agg.field, agg.topk, agg.step, agg.step_ms, children)


def parse_aggregations(raw: Any, window: TimeWindow, path: str = "", *,
                       max_aggregations: int = default("AUDITLOG_MAX_AGGREGATIONS"),
                       max_buckets: int = default("AUDITLOG_MAX_BUCKETS"),
                       ) -> tuple[Aggregation, ...]:
    """Validate the ``aggs`` of a request; raise InvalidInput naming the bad one.

    ``max_aggregations`` counts nested ones too; ``max_buckets`` is what one request may
    produce, nesting multiplied out."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InvalidInput("aggs must be an object keyed by aggregation name", field="aggs")
    parsed = tuple(
        _parse_one(name, spec, f"{path}.{name}" if path else name, window)
        for name, spec in raw.items()
    )
    if not path:
        count = _count(parsed)
        if count > max_aggregations:
            raise InvalidInput(f"at most {max_aggregations} aggregations per request "
                               f"(nested included), got {count}", field="aggs")
        buckets = _buckets(parsed, window)
        if buckets > max_buckets:
            raise InvalidInput(f"these aggregations could produce {buckets} buckets; at most "
                               f"{max_buckets} (use a larger step or a smaller topk)",
                               field="aggs")
    return parsed


def _count(aggs: tuple[Aggregation, ...]) -> int:
    return sum(1 + _count(a.children) for a in aggs)


def _date_bucket_count(agg: Aggregation, window: TimeWindow) -> int:
    if window.start_ns is None or window.end_ns is None:
        return 0
    start_ms, end_ms = window.start_ns // 1_000_000, window.end_ns // 1_000_000
    return end_ms // agg.step_ms - start_ms // agg.step_ms + 1


def _buckets(aggs: tuple[Aggregation, ...], window: TimeWindow) -> int:
    total = 0
    for agg in aggs:
        own = {FIELD_AGG: agg.topk, CARDINALITY_AGG: 1}.get(agg.type) or max(
            1, _date_bucket_count(agg, window))
        total += own * max(1, _buckets(agg.children, window))
    return total


def to_elasticsearch(aggs: tuple[Aggregation, ...], window: TimeWindow) -> dict[str, Any]:
    """The ``aggs`` section of the Elasticsearch request."""
    out: dict[str, Any] = {}
    for agg in aggs:
        assert agg.field is not None
        body: dict[str, Any]
        if agg.type == FIELD_AGG:
            body = {"terms": {"field": agg.field.exact_field, "size": agg.topk,
                              "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        elif agg.type == CARDINALITY_AGG:
            body = {"cardinality": {"field": agg.field.exact_field,
                                    "precision_threshold": CARDINALITY_PRECISION}}
        else:
            histogram: dict[str, Any] = {"field": agg.field.name, "fixed_interval": agg.step,
                                         "min_doc_count": 0}
            if window.start_ns is not None and window.end_ns is not None:
                # The query's time range already bounds the documents; extended_bounds adds
                # the empty buckets at both ends (hard_bounds miscounts on date_nanos).
                histogram["extended_bounds"] = {"min": window.start_ns // 1_000_000,
                                                "max": window.end_ns // 1_000_000}
            body = {"date_histogram": histogram}
        if agg.children:
            body["aggs"] = to_elasticsearch(agg.children, window)
        out[agg.name] = body
    return out


@functools.lru_cache(maxsize=16_384)
def date_key(epoch_ms: int) -> str:
    """A date bucket's key, epoch milliseconds as RFC 3339 text. Remembered: the same
    step boundaries recur in request after request (a dashboard's moving window), and
    formatting them was the largest cost of an aggregation's answer."""
    return format_ns(epoch_ms * 1_000_000)


def from_elasticsearch(aggs: tuple[Aggregation, ...], result: dict[str, Any]) -> dict[str, Any]:
    """The answer under the caller's names, from Elasticsearch's ``aggregations``."""
    out: dict[str, Any] = {}
    for agg in aggs:
        raw = result.get(agg.name, {})
        if agg.type == CARDINALITY_AGG:
            out[agg.name] = {"value": int(raw.get("value", 0))}
            continue
        buckets = []
        for bucket in raw.get("buckets", []):
            key = bucket["key"]
            if agg.type == DATE_AGG:
                key = date_key(int(key))
            entry: dict[str, Any] = {"key": key, "count": bucket["doc_count"]}
            if agg.children:
                entry["aggs"] = from_elasticsearch(agg.children, bucket)
            buckets.append(entry)
        out[agg.name] = {"buckets": buckets}
    return out
