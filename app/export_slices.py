"""An ordered point-in-time read in time slices, several slices at once (the export's read).

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
2. ``read_in_order``: up to ``readers`` slices are read at once on worker
   threads, each in (time, id) order with its own ``search_after`` chain, and
   their pages are handed on strictly in slice order. A worker reads at most
   ``slice_pages`` pages of its slice; the rest of an unusually dense slice is
   read in place by the caller, so at most ``readers * slice_pages`` pages are
   held whatever the size of the export.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from app.time_window import time_range

# Buckets of the planning histogram.
PLAN_BUCKETS = 500

Page = list[dict[str, Any]]
# (slice, search_after to continue from or None, most pages) -> (pages, where to continue)
SliceReader = Callable[["TimeSlice", "list[Any] | None", int],
                       tuple[list[Page], "list[Any] | None"]]


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
                    aggs=extent_aggregation())["aggregations"]
    histogram = histogram_aggregation(extent, slice_events)
    if histogram is None:
        return [WHOLE]
    planned = search(query=matching(*closed_bounds(extent, start_ns, end_ns)), size=0,
                     aggs=histogram)
    return slices_from_histogram(planned["aggregations"], slice_events, ascending)


def read_in_order(slices: Sequence[TimeSlice], read: SliceReader, readers: int,
                  slice_pages: int) -> Iterator[Page]:
    """Every page of every slice, slice after slice, with ``readers`` slices read ahead.

    An error of a read is raised here, in the caller's thread. Closing the
    iterator cancels the reads not started and waits for the running ones.
    """
    if readers <= 1 or len(slices) <= 1:
        for piece in slices:
            yield from _read_on(read, piece, None)
        return
    upcoming = iter(slices)
    pending: deque[tuple[TimeSlice, Future[tuple[list[Page], list[Any] | None]]]] = deque()
    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="export-read") as pool:
        try:
            for piece in itertools.islice(upcoming, readers):
                pending.append((piece, pool.submit(read, piece, None, slice_pages)))
            while pending:
                piece, future = pending.popleft()
                following = next(upcoming, None)
                if following is not None:
                    pending.append((following, pool.submit(read, following, None, slice_pages)))
                pages, resume = future.result()
                yield from pages
                if resume is not None:  # a dense slice: the rest in place, in order
                    yield from _read_on(read, piece, resume)
        finally:
            for _, future in pending:
                future.cancel()


def _read_on(read: SliceReader, piece: TimeSlice, resume: list[Any] | None) -> Iterator[Page]:
    """The pages of ``piece`` from ``resume`` (None: its start) to its end, one read each."""
    while True:
        pages, resume = read(piece, resume, 1)
        yield from pages
        if resume is None:
            return
