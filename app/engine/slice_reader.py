"""The export read's slice reader: the pages of one time slice, in (time, id) order.

Each slice is its own ``search_after`` chain on the shared point-in-time, so
several slices can be read at once (``ordered_merge``).
"""

from __future__ import annotations

from typing import Any

from app.engine.export_plan import TimeSlice
from app.engine.point_in_time import PointInTime

Page = list[dict[str, Any]]


class SliceReader:
    """Reads pages of the slices of one query on one point-in-time."""

    def __init__(self, pit: PointInTime, query: dict[str, Any], sort: list[dict[str, Any]],
                 page_size: int) -> None:
        self.pit = pit
        self.query = query
        self.sort = sort
        self.page_size = page_size

    def __call__(self, piece: TimeSlice, resume: list[Any] | None,
                 most: int) -> tuple[list[Page], list[Any] | None]:
        """At most ``most`` pages of ``piece`` from ``resume`` (None: its start), and where to
        continue (None: the slice is done)."""
        sliced = piece.range_query()
        query = self.query if sliced is None else {
            "bool": {"filter": [*self.query["bool"]["filter"], sliced]}}
        pages: list[Page] = []
        while len(pages) < most:
            body: dict[str, Any] = {"query": query, "size": self.page_size, "sort": self.sort}
            if resume is not None:
                body["search_after"] = resume
            hits = self.pit.search(**body)["hits"]["hits"]
            pages.append([hit["_source"] for hit in hits])
            if len(hits) < self.page_size:
                return pages, None
            # With a point-in-time Elasticsearch appends a _shard_doc tiebreaker.
            resume = hits[-1]["sort"]
        return pages, resume
