"""The metric engine's arithmetic: evaluation times, bucket plans, windows, vector steps.

Pure functions over aggregation buckets; the Elasticsearch side is covered by
tests/api/test_loki.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.engine.loki_metrics import (
    MAX_POINTS,
    Evaluation,
    MetricLimitError,
    aggregation,
    apply_steps,
    bucket_plan,
    evaluation,
    grouping_fields,
    present,
    window_series,
)
from query_language import MetricPlan, ResolvedGrouping, VectorStep
from query_language.logql_ast import RangeFunction, VectorOp

MS = 1_000_000
STREAMS = ("action", "actor.id", "namespace")


def plan(function: RangeFunction = RangeFunction.COUNT_OVER_TIME, range_ms: int = 60_000,
         *steps: VectorStep) -> MetricPlan:
    return MetricPlan({"match_all": {}}, function, range_ms, steps)


def by(*labels: str, without: bool = False) -> ResolvedGrouping:
    fields = {"action": "action", "actor_id": "actor.id", "namespace": "namespace"}
    return ResolvedGrouping(without, labels, tuple(fields.get(label) for label in labels))


@pytest.mark.parametrize(("start_ns", "end_ns", "step_ms", "expected"), [
    (0, 10_000 * MS, 5000, Evaluation(0, 5000, 3)),
    (1, 10_000 * MS, 5000, Evaluation(1, 5000, 2)),  # the first whole ms at or after start
    (7 * MS, 7 * MS, 1000, Evaluation(7, 1000, 1)),  # an instant query
    (7 * MS + 5, 7 * MS + 5, 1000, Evaluation(8, 1000, 1)),
])
def test_evaluation(start_ns: int, end_ns: int, step_ms: int, expected: Evaluation) -> None:
    assert evaluation(start_ns, end_ns, step_ms) == expected


def test_evaluation_refuses_too_many_points() -> None:
    evaluation(0, (MAX_POINTS - 1) * 1000 * MS, 1000)
    with pytest.raises(MetricLimitError, match="maximum resolution"):
        evaluation(0, MAX_POINTS * 1000 * MS, 1000)


@pytest.mark.parametrize(("when", "range_ms", "bucket", "offset", "per_window"), [
    (Evaluation(60_000, 60_000, 5), 60_000, 60_000, 1, 1),
    (Evaluation(60_000, 15_000, 5), 60_000, 15_000, 1, 4),  # range 4 steps long
    (Evaluation(100_000, 40_000, 3), 60_000, 20_000, 1, 3),  # gcd(60 s, 40 s)
    (Evaluation(123_456, 1000, 1), 300_000, 300_000, (123_456 - 300_000 + 1) % 300_000, 1),
])
def test_bucket_plan(when: Evaluation, range_ms: int, bucket: int, offset: int,
                     per_window: int) -> None:
    found = bucket_plan(when, range_ms)
    assert (found.bucket_ms, found.offset_ms, found.buckets_per_window) == (
        bucket, offset, per_window)
    # Events of (first - range, last] on the millisecond: [first - range + 1 ms, last + 1 ms).
    assert found.from_ns == (when.first_ms - range_ms + 1) * MS
    assert found.to_ns == (when.last_ms + 1) * MS


@pytest.mark.parametrize(("steps", "fields"), [
    ((), STREAMS),
    ((VectorStep(VectorOp.SUM, None, None),), ()),
    ((VectorStep(VectorOp.SUM, by("action", "nope"), None),), ("action",)),
    ((VectorStep(VectorOp.SUM, by("action", without=True), None),), ("actor.id", "namespace")),
    ((VectorStep(VectorOp.COUNT, by("action"), None),), STREAMS),
    ((VectorStep(VectorOp.TOPK, None, 2),), STREAMS),
])
def test_grouping_fields(steps: tuple[VectorStep, ...], fields: tuple[str, ...]) -> None:
    assert grouping_fields(plan(RangeFunction.RATE, 60_000, *steps), lambda: STREAMS) == fields


def test_aggregation_body() -> None:
    when = Evaluation(60_000, 60_000, 2)
    body = aggregation(plan(RangeFunction.BYTES_RATE), ["action"], bucket_plan(when, 60_000),
                       after={"l0": "a", "t": 1})
    assert body == {"samples": {
        "composite": {"size": 10_000, "after": {"l0": "a", "t": 1}, "sources": [
            {"l0": {"terms": {"field": "action", "missing_bucket": True}}},
            {"t": {"date_histogram": {"field": "time", "fixed_interval": "60000ms",
                                      "offset": "+1ms"}}}]},
        "aggs": {"bytes": {"sum": {"field": "line_bytes"}}}}}


def bucket(action: str | None, t: int, count: int, size: float = 0.0) -> dict[str, Any]:
    return {"key": {"l0": action, "t": t}, "doc_count": count, "bytes": {"value": size}}


def test_windows_add_up_buckets() -> None:
    # range 60 s, step 30 s: buckets of 30 s whose edges are at t - 60 s + 1 ms.
    when = Evaluation(60_000, 30_000, 3)  # 60 s, 90 s, 120 s
    buckets = bucket_plan(when, 60_000)
    assert buckets.offset_ms == 1
    pages = [[bucket("a", 1, 2), bucket("a", 30_001, 3), bucket("a", 60_001, 5),
              bucket(None, 90_001, 7)]]
    series = window_series(pages, plan(), ["action"], buckets, when)
    assert series == {(("action", "a"),): [5.0, 8.0, 5.0], (): [0.0, 0.0, 7.0]}
    rate = window_series(pages, plan(RangeFunction.RATE), ["action"], buckets, when)
    assert rate[(("action", "a"),)] == [5 / 60, 8 / 60, 5 / 60]
    sizes = window_series([[bucket("a", 1, 2, 100.0)]], plan(RangeFunction.BYTES_OVER_TIME),
                          ["action"], buckets, when)
    assert sizes == {(("action", "a"),): [100.0, 0.0, 0.0]}


def series(**values: list[float | None]) -> dict[tuple[tuple[str, str], ...], Any]:
    result = {}
    for name, samples in values.items():
        action, actor = name.split("_")
        result[(("action", action), ("actor_id", actor))] = samples
    return result


SERIES = series(login_u1=[1.0, None], login_u2=[3.0, 2.0], logout_u1=[5.0, None])


@pytest.mark.parametrize(("steps", "expected"), [
    ((VectorStep(VectorOp.SUM, None, None),), {(): [9.0, 2.0]}),
    ((VectorStep(VectorOp.SUM, by("action"), None),),
     {(("action", "login"),): [4.0, 2.0], (("action", "logout"),): [5.0, None]}),
    ((VectorStep(VectorOp.COUNT, by("actor_id"), None),),
     {(("actor_id", "u1"),): [2.0, None], (("actor_id", "u2"),): [1.0, 1.0]}),
    ((VectorStep(VectorOp.AVG, by("action", without=True), None),),
     {(("actor_id", "u1"),): [3.0, None], (("actor_id", "u2"),): [3.0, 2.0]}),
    ((VectorStep(VectorOp.MIN, None, None),), {(): [1.0, 2.0]}),
    ((VectorStep(VectorOp.MAX, by("nope"), None),), {(): [5.0, 2.0]}),
    ((VectorStep(VectorOp.TOPK, None, 1),),
     {(("action", "login"), ("actor_id", "u2")): [None, 2.0],
      (("action", "logout"), ("actor_id", "u1")): [5.0, None]}),
    ((VectorStep(VectorOp.BOTTOMK, by("action"), 1),),
     {(("action", "login"), ("actor_id", "u1")): [1.0, None],
      (("action", "login"), ("actor_id", "u2")): [None, 2.0],
      (("action", "logout"), ("actor_id", "u1")): [5.0, None]}),
    ((VectorStep(VectorOp.SUM, by("action"), None), VectorStep(VectorOp.TOPK, None, 1)),
     {(("action", "login"),): [None, 2.0], (("action", "logout"),): [5.0, None]}),
])
def test_vector_steps(steps: tuple[VectorStep, ...], expected: dict[Any, Any]) -> None:
    assert apply_steps(SERIES, steps, 2) == expected


def test_empty_windows_have_no_sample() -> None:
    assert present({(): [0.0, 2.0]}, plan()) == {(): [None, 2.0]}
    assert apply_steps({(): [None, None]}, (), 2) == {}
