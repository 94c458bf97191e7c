"""The export read's slice reader: the pages of one time slice, in (time, id) order.

Each slice is its own ``search_after`` chain on the shared point-in-time, so
several slices can be read at once (``ordered_merge``).

When the point-in-time is lost (a node gone, ``point_in_time``), the reader has
it reopened and continues the slice strictly after the last event it read, by
a (time, id) filter rather than ``search_after``: the old sort values end in a
``_shard_doc`` tiebreaker that means nothing on the new point-in-time.

A reader made with ``raw=True`` hands on each event as the JSON text
Elasticsearch stored (``bytes``, never parsed: ``raw_sources``) instead of a dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.engine.export_plan import TimeSlice
from app.engine.point_in_time import PointInTime, PointInTimeLost
from app.store.client import raw_sources

# Events as dicts, or as their stored JSON text (a raw reader).
Page = list[dict[str, Any]] | list[bytes]
# The filter of the events strictly after the given sort values (time ns, id, ...).
AfterFilter = Callable[[list[Any]], dict[str, Any]]


class SliceReader:
    """Reads pages of the slices of one query on one point-in-time."""

    def __init__(self, pit: PointInTime, query: dict[str, Any], sort: list[dict[str, Any]],
                 page_size: int, after: AfterFilter, raw: bool = False) -> None:
        self.pit = pit
        self.query = query
        self.sort = sort
        self.page_size = page_size
        self.after = after
        self.raw = raw

    def __call__(self, piece: TimeSlice, resume: list[Any] | None,
                 most: int) -> tuple[list[Page], list[Any] | None]:
        """At most ``most`` pages of ``piece`` from ``resume`` (None: its start), and where to
        continue (None: the slice is done). ``resume`` is this reader's own: the
        point-in-time's generation, then the last hit's sort values."""
        sliced = piece.range_query()
        filters = [*self.query["bool"]["filter"], *([] if sliced is None else [sliced])]
        pages: list[Page] = []
        while len(pages) < most:
            if resume is not None and resume[0] != self.pit.generation:
                # Reopened since (here or by another reader): the old values end in a
                # _shard_doc of the lost view; go on after the last event by (time, id).
                filters = [*filters, self.after(resume[1:])]
                resume = None
            body: dict[str, Any] = {"query": {"bool": {"filter": filters}},
                                    "size": self.page_size, "sort": self.sort}
            if resume is not None:
                body["search_after"] = resume[1:]
            try:
                if self.raw:
                    with raw_sources():
                        response, generation = self.pit.search_in(**body)
                else:
                    response, generation = self.pit.search_in(**body)
            except PointInTimeLost as lost:
                self.pit.reopen(lost)
                continue
            hits = response["hits"]["hits"]
            if self.raw:
                pages.append([bytes(hit["_source"]) for hit in hits])
            else:
                pages.append([hit["_source"] for hit in hits])
            if len(hits) < self.page_size:
                return pages, None
            # With a point-in-time Elasticsearch appends a _shard_doc tiebreaker.
            resume = [generation, *hits[-1]["sort"]]
        return pages, resume
