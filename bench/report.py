"""The targets of issue 8, checked against a run's figures, and the short human table."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One target: a row of the table and the figure it judges."""

    name: str
    unit: str
    path: tuple[str, ...]  # where the section lives in the report
    service_key: str
    raw_key: str | None
    judged_key: str  # the figure compared with the limit
    compare: Callable[[float, float], bool]
    limit: float
    text: str


TARGETS = (
    Target("ingest", "events/s", ("ingest",), "service", "raw", "ratio", operator.ge, 0.7,
           "ratio >= 0.7"),
    Target("search p50, 1 client", "ms", ("search", "clients_1"), "service.p50_ms", "raw.p50_ms",
           "ratio_p50", operator.le, 1.3, "(info)"),
    Target("search p99, 1 client", "ms", ("search", "clients_1"), "service.p99_ms", "raw.p99_ms",
           "ratio_p99", operator.le, 2.0, "(info)"),
    Target("search p50, 8 clients", "ms", ("search", "clients_8"), "service.p50_ms",
           "raw.p50_ms", "ratio_p50", operator.le, 1.3, "ratio <= 1.3"),
    Target("search p99, 8 clients", "ms", ("search", "clients_8"), "service.p99_ms",
           "raw.p99_ms", "ratio_p99", operator.le, 2.0, "ratio <= 2.0"),
    Target("search own time, 1 client", "ms", ("search", "clients_1"), "own_p50_ms_paired",
           None, "own_p50_ms_paired", operator.le, 1.0, "<= 1 ms"),
    Target("aggregations p50, 1 client", "ms", ("aggregations", "clients_1"), "service.p50_ms",
           "raw.p50_ms", "ratio_p50", operator.le, 1.2, "ratio <= 1.2"),
    Target("aggregations p50, 8 clients", "ms", ("aggregations", "clients_8"),
           "service.p50_ms", "raw.p50_ms", "ratio_p50", operator.le, 1.2, "ratio <= 1.2"),
    Target("aggregations own time, 1c", "ms", ("aggregations", "clients_1"),
           "own_p50_ms_paired", None, "own_p50_ms_paired", operator.le, 0.5, "<= 0.5 ms"),
    Target("export", "events/s", ("export",), "service", "raw", "ratio", operator.ge, 0.8,
           "ratio >= 0.8"),
    Target("parse+compile, cached", "µs", ("parse_compile",), "parse_compile.median_us", None,
           "parse_compile.median_us", operator.le, 50.0, "median <= 50 µs"),
    Target("parse+compile, first use", "µs", ("parse_compile",),
           "parse_compile_uncached.median_us", None, "parse_compile_uncached.median_us",
           operator.le, 50.0, "median <= 50 µs"),
    Target("loki log query p50, 1c", "ms", ("loki", "log"), "service.p50_ms", "raw.p50_ms",
           "ratio_p50", operator.le, 0.0, "(info)"),
    Target("loki metric query p50, 1c", "ms", ("loki", "metric"), "service.p50_ms",
           "raw.p50_ms", "ratio_p50", operator.le, 0.0, "(info)"),
    Target("console first view p50, 1c", "ms", ("console", "first_view"), "service.p50_ms",
           "raw.p50_ms", "ratio_p50", operator.le, 0.0, "(info)"),
)


def _get(section: dict[str, Any] | None, dotted: str | None) -> Any:
    value: Any = section
    for key in (dotted or "").split(".") if dotted else ():
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if dotted else None


def _section(report: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    value: Any = report
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def judge(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per target: figures, limit and whether it holds (None: not measured)."""
    rows = []
    for target in TARGETS:
        section = _section(report, target.path)
        judged = _get(section, target.judged_key)
        informational = target.text == "(info)"
        rows.append({
            "name": target.name,
            "unit": target.unit,
            "service": _get(section, target.service_key),
            "raw": _get(section, target.raw_key),
            "ratio": judged if target.raw_key else None,
            "target": None if informational else target.text,
            "holds": (None if informational or judged is None
                      else bool(target.compare(judged, target.limit))),
        })
    return rows


def _number(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "events/s":
        return f"{value:,.0f}"
    return f"{value:,.1f}" if unit == "ms" else f"{value:,.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as a fixed-width table."""
    lines = [f"{'measure':28s} {'unit':>8s} {'service':>11s} {'raw ES':>11s} {'ratio':>7s}  "
             f"{'target':16s} holds"]
    lines.append("-" * len(lines[0]))
    for row in rows:
        holds = {True: "yes", False: "NO", None: ""}[row["holds"]]
        ratio_text = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        lines.append(
            f"{row['name']:28s} {row['unit']:>8s} {_number(row['service'], row['unit']):>11s} "
            f"{_number(row['raw'], row['unit']):>11s} {ratio_text:>7s}  "
            f"{row['target'] or '':16s} {holds}"
        )
    return "\n".join(lines)
