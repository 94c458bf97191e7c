"""The export read's ordered merge: several time slices read at once, handed on in order.

Up to ``readers`` slices are read at once on worker threads, each in (time, id)
order with its own ``search_after`` chain (``slice_reader``), and their pages
are handed on strictly in slice order. A worker reads at most ``slice_pages``
pages of its slice; the rest of an unusually dense slice is read in place by
the caller, so at most ``readers * slice_pages`` pages are held whatever the
size of the export.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from app.engine.export_plan import TimeSlice
from app.engine.slice_reader import Page

# (slice, search_after to continue from or None, most pages) -> (pages, where to continue)
SliceRead = Callable[[TimeSlice, "list[Any] | None", int], tuple[list[Page], "list[Any] | None"]]


def read_in_order(slices: Sequence[TimeSlice], read: SliceRead, readers: int,
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


def _read_on(read: SliceRead, piece: TimeSlice, resume: list[Any] | None) -> Iterator[Page]:
    """The pages of ``piece`` from ``resume`` (None: its start) to its end, one read each."""
    while True:
        pages, resume = read(piece, resume, 1)
        yield from pages
        if resume is None:
            return
