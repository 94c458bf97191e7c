"""Export slice planning and ordered reading, without a store (the reads are stand-ins)."""

from __future__ import annotations

import threading

import pytest

from app.config import from_environment
from app.export_slices import (
    TimeSlice,
    closed_bounds,
    extent_aggregation,
    histogram_aggregation,
    read_in_order,
    slices_from_histogram,
)


def _histogram(counts: list[int], step: int = 10) -> dict:
    return {"slices": {"buckets": [{"key": 1000 + i * step, "doc_count": c}
                                   for i, c in enumerate(counts)]}}


@pytest.mark.parametrize(("counts", "slice_events", "expected"), [
    ([5, 5, 5, 5], 10, [(None, 1020), (1020, None)]),
    ([5, 5, 5, 5], 100, [(None, None)]),
    ([30, 0, 0, 1, 1], 10, [(None, 1030), (1030, None)]),  # no cut at an empty bucket
    ([1, 1, 1], 1, [(None, 1010), (1010, 1020), (1020, None)]),
    ([], 10, [(None, None)]),
])
def test_slices_cut_at_bucket_starts_and_cover_all_time(counts, slice_events, expected) -> None:
    slices = slices_from_histogram(_histogram(counts), slice_events)
    assert slices == [TimeSlice(*e) for e in expected]


def test_descending_reads_the_slices_last_first() -> None:
    ascending = slices_from_histogram(_histogram([5, 5, 5, 5]), 5)
    assert slices_from_histogram(_histogram([5, 5, 5, 5]), 5, ascending=False) == ascending[::-1]


def test_slice_range_queries() -> None:
    assert TimeSlice(None, None).range_query() is None
    assert TimeSlice(5, None).range_query() == {
        "range": {"time": {"gte": 5, "format": "epoch_millis"}}}
    assert TimeSlice(None, 9).range_query() == {
        "range": {"time": {"lt": 9, "format": "epoch_millis"}}}


def test_no_histogram_when_everything_fits_in_one_slice() -> None:
    assert "stats" in extent_aggregation()["extent"]
    small = {"extent": {"count": 10, "min": 0.0, "max": 5000.0}}
    assert histogram_aggregation(small, slice_events=10) is None
    large = {"extent": {"count": 11, "min": 0.0, "max": 5000.0}}
    spec = histogram_aggregation(large, slice_events=10, buckets=100)
    assert spec == {"slices": {"date_histogram": {"field": "time", "fixed_interval": "51ms",
                                                  "min_doc_count": 1}}}


def _reader(pages_per_slice: dict[TimeSlice, int], calls: list[tuple[TimeSlice, int]]):
    """Slice s has pages_per_slice[s] pages, each page [(s, page number)]."""
    lock = threading.Lock()

    def read(piece, resume, most):
        with lock:
            calls.append((piece, most))
        start = resume[0] if resume else 0
        end = min(pages_per_slice[piece], start + most)
        pages = [[{"slice": piece, "page": n}] for n in range(start, end)]
        return pages, ([end] if end < pages_per_slice[piece] else None)

    return read


@pytest.mark.parametrize("readers", [1, 2, 3, 8])
def test_pages_come_slice_after_slice_whatever_the_readers(readers) -> None:
    slices = [TimeSlice(i, i + 1) for i in range(7)]
    sizes = {s: (i % 3) + 1 for i, s in enumerate(slices)}
    sizes[slices[4]] = 9  # denser than a reader buffers: read on in place
    calls: list = []
    pages = list(read_in_order(slices, _reader(sizes, calls), readers, slice_pages=3))
    assert [(p[0]["slice"], p[0]["page"]) for p in pages] == [
        (s, n) for s in slices for n in range(sizes[s])]
    assert max(most for _, most in calls) <= 3


def test_an_error_of_a_read_reaches_the_caller() -> None:
    slices = [TimeSlice(i, i + 1) for i in range(4)]

    def read(piece, resume, most):
        if piece.start_ms == 2:
            raise RuntimeError("store down")
        return [[{"slice": piece}]], None

    pages = read_in_order(slices, read, readers=2, slice_pages=2)
    assert next(pages)[0]["slice"] == slices[0]
    assert next(pages)[0]["slice"] == slices[1]
    with pytest.raises(RuntimeError, match="store down"):
        next(pages)


def test_closing_early_stops_reading_ahead() -> None:
    slices = [TimeSlice(i, i + 1) for i in range(50)]
    calls: list = []
    pages = read_in_order(slices, _reader(dict.fromkeys(slices, 1), calls), readers=2,
                          slice_pages=1)
    next(pages)
    pages.close()
    assert len(calls) <= 4


@pytest.mark.parametrize(("raw", "readers"), [("1", 1), ("4", 4), ("", 3)])
def test_export_readers_setting(raw, readers) -> None:
    assert from_environment({"AUDITLOG_EXPORT_READERS": raw})["AUDITLOG_EXPORT_READERS"] == readers


@pytest.mark.parametrize("raw", ["0", "-2", "two"])
def test_export_readers_must_be_a_positive_count(raw) -> None:
    with pytest.raises(ValueError, match="AUDITLOG_EXPORT_READERS"):
        from_environment({"AUDITLOG_EXPORT_READERS": raw})


def test_closed_bounds_close_only_the_open_ends_around_every_event() -> None:
    extent = {"extent": {"count": 3, "min": 1000.0, "max": 2000.0}}
    assert closed_bounds(extent, None, None) == (1_000_000_000, 2_000_999_999)
    assert closed_bounds(extent, 5, None) == (5, 2_000_999_999)
    assert closed_bounds(extent, None, 7) == (1_000_000_000, 7)
