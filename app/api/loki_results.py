"""Loki's answer shapes (grafana/loki pkg/loghttp): streams, matrix, vector, scalar.

Sample timestamps are float unix seconds and values strings, as Prometheus
writes them; a log entry is ``[<unix ns as a string>, <line>]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.engine.loki_metrics import Evaluation, iter_points
from app.engine.loki_reader import Line
from query_language import LiteralValue


def seconds(ms: int) -> int | float:
    """Milliseconds as unix seconds, whole where they are."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


_INFINITIES = (float("inf"), float("-inf"))


def value_text(value: float) -> str:
    """A sample value as Prometheus writes it (strconv 'f', -1)."""
    if value != value:
        return "NaN"
    if value in _INFINITIES:
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def streams(lines: Sequence[Line], interval_ns: int, forward: bool) -> list[dict[str, Any]]:
    """Lines grouped by stream, in the order read; ``interval`` thins each stream."""
    streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
    last: dict[tuple[tuple[str, str], ...], int] = {}
    for line in lines:
        if interval_ns and line.labels in last:
            gap = line.time_ns - last[line.labels] if forward else last[line.labels] - line.time_ns
            if gap < interval_ns:
                continue
        last[line.labels] = line.time_ns
        streams.setdefault(line.labels, []).append([str(line.time_ns), line.text])
    return [{"stream": dict(labels), "values": values} for labels, values in streams.items()]


def matrix(series: Mapping[Any, list[float | None]], when: Evaluation) -> list[dict[str, Any]]:
    """A range query's series, each with the samples it has."""
    return [{"metric": dict(labels),
             "values": [[seconds(t), value_text(v)] for t, v in iter_points(values, when)]}
            for labels, values in sorted(series.items())]


def literal(value: LiteralValue, when: Evaluation, instant: bool) -> dict[str, Any]:
    """A literal's answer: a scalar or a one-sample vector (instant), else a matrix."""
    text = value_text(value.value)
    if instant:
        at = seconds(when.first_ms)
        if not value.vector:
            return {"resultType": "scalar", "result": [at, text]}
        return {"resultType": "vector", "result": [{"metric": {}, "value": [at, text]}]}
    return {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[seconds(t), text] for t in when.times_ms()]}]}




def vector(series: Mapping[Any, list[float | None]], when: Evaluation) -> list[dict[str, Any]]:
    """An instant query's samples: one per series that has one."""
    return [{"metric": dict(labels), "value": [seconds(t), value_text(v)]}
            for labels, values in sorted(series.items()) for t, v in iter_points(values, when)]
