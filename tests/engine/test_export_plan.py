"""Export slice planning, without a store."""

from __future__ import annotations

import pytest

from app.config import from_environment
from app.engine.export_plan import (
    TimeSlice,
    closed_bounds,
    extent_aggregation,
    histogram_aggregation,
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
