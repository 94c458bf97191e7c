"""The ordered merge of slice reads, without a store (the reads are stand-ins)."""

from __future__ import annotations

import threading

import pytest

from app.engine.export_plan import TimeSlice
from app.engine.ordered_merge import read_in_order


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
