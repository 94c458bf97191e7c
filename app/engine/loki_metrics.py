"""LogQL metric queries as Elasticsearch aggregations (DESIGN §12).

A metric query (``MetricPlan``) is answered by one composite aggregation: the
grouping labels' terms and a ``date_histogram`` on ``time`` with a bucket of
``g = gcd(range, step)`` milliseconds, plus a ``sum`` of ``line_bytes`` for the
byte functions. Events are never read one by one: Python only adds the
buckets up into windows and applies the vector aggregations to the samples.

Windows follow Loki (pkg/logql/range_vector.go: the lower bound is not
inclusive): the sample at ``t`` counts the events of ``(t - range, t]``.
Elasticsearch buckets a ``date_nanos`` field on its time truncated to the
millisecond, so the window is applied to that truncated time: exact for event
times of millisecond precision or coarser; an event less than 1 ms after ``t``
counts at ``t`` where Loki counts it at the next step. The histogram's
``offset`` puts the bucket edges at ``t - range + 1 ms``, so every window is a
whole number of buckets. Evaluation times are ``start, start + step, ...`` up
to ``end``, on whole milliseconds.

Which labels the aggregation groups on: ``sum by (L)`` needs only ``L`` (a
sum of counts is the count of the union); ``sum without (L)`` every stream
label but ``L``; anything else needs the streams themselves (every stream
label). A ``by``/``without`` label that no field has groups as Loki does: no
series carries it.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput
from app.model.fields import LINE_BYTES
from query_language import MetricPlan, VectorStep, label_name
from query_language.logql_ast import RangeFunction, VectorOp

NS_PER_MS = 1_000_000
MAX_POINTS = 11_000  # Loki's limit of samples per series
MAX_BUCKETS = 1_000_000  # composite buckets one query may read
PAGE_SIZE = 10_000
BYTES = (RangeFunction.BYTES_OVER_TIME, RangeFunction.BYTES_RATE)
RATES = (RangeFunction.RATE, RangeFunction.BYTES_RATE)

Labels = tuple[tuple[str, str], ...]  # sorted (label, value) pairs


class MetricLimitError(InvalidInput):
    """The query would need more points or buckets than the limits allow (a 400)."""


@dataclass(frozen=True)
class Evaluation:
    """When a metric query is evaluated: ``count`` times from ``first_ms`` every ``step_ms``."""

    first_ms: int
    step_ms: int
    count: int

    @property
    def last_ms(self) -> int:
        """The last evaluation time."""
        return self.first_ms + (self.count - 1) * self.step_ms

    def times_ms(self) -> range:
        """Every evaluation time."""
        return range(self.first_ms, self.last_ms + 1, self.step_ms)


def evaluation(start_ns: int, end_ns: int, step_ms: int) -> Evaluation:
    """The evaluation times of a range query (one, for an instant query where start = end).

    Raises MetricLimitError beyond MAX_POINTS per series, in Loki's words.
    """
    first = -(-start_ns // NS_PER_MS)  # the first whole millisecond at or after start
    last = end_ns // NS_PER_MS
    if last < first:
        last = first
    count = (last - first) // step_ms + 1
    if count > MAX_POINTS:
        raise MetricLimitError(
            f"exceeded maximum resolution of {MAX_POINTS} points per timeseries. Try "
            "decreasing the query resolution (?step=XX)", field="step")
    return Evaluation(first, step_ms, count)


@dataclass(frozen=True)
class BucketPlan:
    """The histogram that answers every window: bucket size, edges and the time filter."""

    bucket_ms: int
    offset_ms: int
    buckets_per_window: int
    from_ns: int  # events at or after this (inclusive) ...
    to_ns: int  # ... and before this (exclusive) can count


def bucket_plan(evaluation: Evaluation, range_ms: int) -> BucketPlan:
    """Buckets of gcd(range, step) ms whose edges fall on every window's lower bound."""
    g = math.gcd(range_ms, evaluation.step_ms) if evaluation.count > 1 else range_ms
    lowest_ms = evaluation.first_ms - range_ms + 1  # first window's first millisecond
    return BucketPlan(
        bucket_ms=g,
        offset_ms=lowest_ms % g,
        buckets_per_window=range_ms // g,
        from_ns=lowest_ms * NS_PER_MS,
        to_ns=(evaluation.last_ms + 1) * NS_PER_MS,
    )


def grouping_fields(plan: MetricPlan, stream_fields: Callable[[], Sequence[str]],
                    ) -> tuple[str, ...]:
    """The fields the aggregation groups on (see the module docstring).

    ``stream_fields`` is called only when the answer depends on them: ``sum by
    (labels)`` and a bare ``sum`` need no look-up of the namespace's labels.
    """
    first = plan.steps[0] if plan.steps else None
    if first is not None and first.op is VectorOp.SUM and first.grouping is not None:
        named = [f for f in first.grouping.fields if f is not None]
        if first.grouping.without:
            return tuple(f for f in stream_fields() if f not in named)
        return tuple(dict.fromkeys(named))
    if first is not None and first.op is VectorOp.SUM:
        return ()
    return tuple(stream_fields())


def aggregation(plan: MetricPlan, fields: Sequence[str], buckets: BucketPlan,
                after: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The composite aggregation of one page."""
    sources: list[dict[str, Any]] = [
        {f"l{i}": {"terms": {"field": field, "missing_bucket": True}}}
        for i, field in enumerate(fields)
    ]
    sources.append({"t": {"date_histogram": {
        "field": "time", "fixed_interval": f"{buckets.bucket_ms}ms",
        "offset": f"+{buckets.offset_ms}ms"}}})
    composite: dict[str, Any] = {"size": PAGE_SIZE, "sources": sources}
    if after is not None:
        composite["after"] = dict(after)
    body: dict[str, Any] = {"composite": composite}
    if plan.function in BYTES:
        body["aggs"] = {"bytes": {"sum": {"field": LINE_BYTES}}}
    return {"samples": body}


def window_series(pages: Iterable[Sequence[Mapping[str, Any]]], plan: MetricPlan,
                  fields: Sequence[str], buckets: BucketPlan,
                  evaluation: Evaluation) -> dict[Labels, list[float]]:
    """Per series, the range function's value at every evaluation time (0 where empty).

    ``pages`` are the composite aggregation's bucket lists. Raises
    MetricLimitError beyond MAX_BUCKETS.
    """
    per_bucket: dict[Labels, dict[int, float]] = defaultdict(dict)
    names = [(f"l{i}", label_name(field)) for i, field in enumerate(fields)]
    labels_of: dict[tuple[Any, ...], Labels] = {}  # the buckets of a series share its labels
    seen = 0
    for page in pages:
        seen += len(page)
        if seen > MAX_BUCKETS:
            raise MetricLimitError(
                f"the query needs more than {MAX_BUCKETS} buckets; narrow it, shorten the "
                "range or increase the step", field="query")
        for bucket in page:
            key = bucket["key"]
            values = tuple(key[source] for source, _ in names)
            labels = labels_of.get(values)
            if labels is None:
                labels = labels_of[values] = tuple(sorted(
                    (name, str(value)) for (_, name), value in zip(names, values, strict=True)
                    if value not in (None, "")))
            value = (bucket["bytes"]["value"] or 0.0) if plan.function in BYTES \
                else float(bucket["doc_count"])
            per_bucket[labels][int(key["t"])] = value
    scale = 1000.0 / plan.range_ms if plan.function in RATES else 1.0
    series: dict[Labels, list[float]] = {}
    for labels, values in per_bucket.items():
        # Prefix sums over the sorted bucket starts: each window is one subtraction.
        starts = sorted(values)
        sums = [0.0, *itertools.accumulate(values[k] for k in starts)]
        samples = []
        for t in evaluation.times_ms():
            low = bisect.bisect_left(starts, t - plan.range_ms + 1)
            high = bisect.bisect_left(starts, t + 1)
            total = sums[high] - sums[low]
            samples.append(total * scale if total else 0.0)
        series[labels] = samples
    return series


def present(series: Mapping[Labels, list[float]], plan: MetricPlan,
            ) -> dict[Labels, list[float | None]]:
    """Windows without events have no sample (None), as in Loki."""
    del plan  # every supported range function is 0 exactly when the window is empty
    return {labels: [v if v else None for v in values] for labels, values in series.items()}


def apply_steps(series: Mapping[Labels, list[float | None]], steps: Sequence[VectorStep],
                count: int) -> dict[Labels, list[float | None]]:
    """The vector aggregations, innermost first, at every evaluation time."""
    current = dict(series)
    for step in steps:
        current = _apply(current, step, count)
    return {labels: values for labels, values in current.items()
            if any(v is not None for v in values)}


def _group_key(labels: Labels, step: VectorStep) -> Labels:
    grouping = step.grouping
    if grouping is None:
        return ()
    names = set(grouping.labels)
    if grouping.without:
        return tuple(pair for pair in labels if pair[0] not in names)
    return tuple(pair for pair in labels if pair[0] in names)


def _apply(series: Mapping[Labels, list[float | None]], step: VectorStep,
           count: int) -> dict[Labels, list[float | None]]:
    groups: dict[Labels, list[Labels]] = defaultdict(list)
    for labels in sorted(series):
        groups[_group_key(labels, step)].append(labels)
    out: dict[Labels, list[float | None]] = {}
    if step.op in (VectorOp.TOPK, VectorOp.BOTTOMK):
        k = step.parameter or 1
        for members in groups.values():
            for labels in members:
                out.setdefault(labels, [None] * count)
            for i in range(count):
                present_here = [(series[m][i], m) for m in members if series[m][i] is not None]
                present_here.sort(key=lambda pair: pair[0],  # type: ignore[arg-type,return-value]
                                  reverse=step.op is VectorOp.TOPK)
                for value, labels in present_here[:k]:
                    out[labels][i] = value
        return out
    for key, members in groups.items():
        values: list[float | None] = []
        for i in range(count):
            here = [v for m in members if (v := series[m][i]) is not None]
            values.append(_combine(step.op, here) if here else None)
        out[key] = values
    return out


def _combine(op: VectorOp, values: list[float]) -> float:
    if op is VectorOp.SUM:
        return math.fsum(values)
    if op is VectorOp.COUNT:
        return float(len(values))
    if op is VectorOp.AVG:
        return math.fsum(values) / len(values)
    if op is VectorOp.MIN:
        return min(values)
    return max(values)


def iter_points(values: Sequence[float | None], evaluation: Evaluation,
                ) -> Iterator[tuple[int, float]]:
    """(time in ms, value) of the samples that exist."""
    for t, value in zip(evaluation.times_ms(), values, strict=True):
        if value is not None:
            yield t, value
