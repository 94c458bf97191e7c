"""The export read's plan: time slices of about the same number of events.

The export read has three layers over one point-in-time (``point_in_time``):
this plan, the slice reader (``slice_reader``) and the ordered merge
(``ordered_merge``); ``SearchEngine.iter_events`` puts them together.

A point-in-time read with ``search_after`` is a chain: page n+1 can be asked
for only once page n has arrived and been parsed, so Elasticsearch, the
service and the client take turns and each waits most of the time. This module
breaks the chain without giving up the order or the bounded memory:

1. ``plan_slices``: on the same point-in-time and query, a ``stats``
   aggregation finds how many events there are and when, then a
   ``date_histogram`` of about ``PLAN_BUCKETS`` buckets counts them per bucket,
   and consecutive buckets are grouped into slices of about ``slice_events``
   events, cut at bucket starts. The first
   slice is open below and the last open above, so every event falls in exactly
   one slice whatever the histogram said, and all events of one instant fall in
   the same slice (ties stay ordered by id).
2. ``ordered_merge.read_in_order`` reads several slices at once and hands
   their pages on strictly in slice order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.model.time_window import time_range

# Buckets of the planning histogram.
PLAN_BUCKETS = 500

@dataclass(frozen=True)
class TimeSlice:
    """Events with ``start_ms <= time < end_ms`` (epoch milliseconds; None is open)."""

    start_ms: int | None
    end_ms: int | None

    def range_query(self) -> dict[str, Any] | None:
        """The range filter on ``time`` of this slice, or None when it is open at both ends."""
        return time_range("epoch_millis", gte=self.start_ms, lt=self.end_ms)


WHOLE = TimeSlice(None, None)


def extent_aggregation() -> dict[str, Any]:
    """The aggregation that tells how many events there are, and their first and last time."""
    return {"extent": {"stats": {"field": "time"}}}


def histogram_aggregation(aggregations: dict[str, Any], slice_events: int,
                          buckets: int = PLAN_BUCKETS) -> dict[str, Any] | None:
    """The histogram ``plan_slices`` reads, given ``extent_aggregation``'s answer; None when
    the events fit in one slice (nothing to plan)."""
    extent = aggregations["extent"]
    if extent["count"] <= slice_events:
        return None
    step_ms = max(1, int((extent["max"] - extent["min"]) // buckets) + 1)
    return {"slices": {"date_histogram": {"field": "time", "fixed_interval": f"{step_ms}ms",
                                          "min_doc_count": 1}}}


def closed_bounds(aggregations: dict[str, Any], start_ns: int | None,
                  end_ns: int | None) -> tuple[int, int]:
    """The window's bounds, an open end closed at the first or last event (``extent``).

    The histogram needs both: Elasticsearch 8.19 fails a ``date_histogram`` on a
    ``date_nanos`` field when the query's range on it has no lower bound
    ("nanoseconds are [-9223372036854775808] are before the epoch").
    """
    extent = aggregations["extent"]
    first_ns = math.floor(extent["min"]) * 1_000_000
    last_ns = (math.ceil(extent["max"]) + 1) * 1_000_000 - 1
    return (first_ns if start_ns is None else start_ns, last_ns if end_ns is None else end_ns)


def slices_from_histogram(aggregations: dict[str, Any], slice_events: int,
                          ascending: bool = True) -> list[TimeSlice]:
    """Slices of about ``slice_events`` events covering all time, in reading order."""
    cuts: list[int] = []
    gathered = 0
    for bucket in aggregations["slices"]["buckets"]:
        if gathered >= slice_events and bucket["doc_count"]:
            cuts.append(int(bucket["key"]))
            gathered = 0
        gathered += int(bucket["doc_count"])
    edges: list[int | None] = [None, *cuts, None]
    slices = [TimeSlice(start, end) for start, end in itertools.pairwise(edges)]
    return slices if ascending else slices[::-1]


def plan_slices(search: Callable[..., Any], matching: Callable[[int | None, int | None], Any],
                start_ns: int | None, end_ns: int | None, slice_events: int,
                ascending: bool = True) -> list[TimeSlice]:
    """The slices of a read, in reading order: ``[WHOLE]`` when all fits in one.

    ``search(query=, size=, aggs=)`` runs on the read's point-in-time;
    ``matching(start_ns, end_ns)`` is the read's query over that window.
    """
    extent = search(query=matching(start_ns, end_ns), size=0,
                    aggs=extent_aggregation()).get("aggregations")
    if not extent:
        return [WHOLE]  # a point-in-time over no index yet: Elasticsearch answers no aggs
    histogram = histogram_aggregation(extent, slice_events)
    if histogram is None:
        return [WHOLE]
    planned = search(query=matching(*closed_bounds(extent, start_ns, end_ns)), size=0,
                     aggs=histogram)
    return slices_from_histogram(planned["aggregations"], slice_events, ascending)
