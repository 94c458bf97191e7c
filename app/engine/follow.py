"""The follow feed's settled-stream reader (DESIGN §10): every event once, in a stable order.

Events are read in (``ingested_at``, ``id``) order, never by event ``time``,
and only up to a *watermark* of now minus the settle time: an event becomes
searchable a refresh after its write was acknowledged, and concurrent ingest
requests finish out of order, so the newest stamps are not final yet.

A write can still become visible after the watermark passed its stamp (an
ingest slower than the settle time). The cursor therefore keeps an overlap
window: the events delivered with stamps from ``window_start`` up to the last
delivered position, counted and sketched by id in two generations
(``app.follow_cursor``). Each read counts that window again; only when the
count differs are the window's ids read (on one point-in-time), the sketches
name the ids not delivered yet, and those are delivered first. The window
moves by dropping its old generation once the new one spans the overlap,
with no read. More late ids at once than the sketches can name: the cursor
goes back to its window start (those events come again: at least once).

Bound: a write acknowledged within settle + overlap - refresh interval of its
stamp is delivered exactly once; slower writes are counted and logged by the
ingest path (``late_write_bound_ns``). ``REFRESH_INTERVAL_NS`` is the index
template's refresh interval (a test holds the two together).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.engine.follow_cursor import CursorState
from app.engine.id_sketch import IdSketch, id_key
from app.engine.stream_reader import FILTER_PATH, NANOS, SORT, beyond
from app.model.event import STAMP, doc_id
from app.model.timestamps import NS_PER_S, format_ns
from app.store.client import store_errors
from app.store.events import EventStore

log = logging.getLogger(__name__)
FIELD = STAMP
# The index template's refresh_interval: a write is searchable at most this long after
# its acknowledgement (plus the refresh itself).
REFRESH_INTERVAL_NS = NS_PER_S
WINDOW_PAGE = 10_000
LOOKAHEAD_NS = NS_PER_S // 2  # the first slice of stamps a read asks for


def late_write_bound_ns(settle_s: float, overlap_s: float, refreshed: bool = False) -> int:
    """How long a write may take (stamp to acknowledgement) and still be delivered once;
    ``refreshed``: the write waited for a refresh, so it was searchable when acknowledged."""
    bound = int((settle_s + overlap_s) * NS_PER_S)
    return bound if refreshed else bound - REFRESH_INTERVAL_NS


@dataclass
class FollowBatch:
    """Events delivered by one read, the cursor after every n-th (when asked) and after all."""

    events: list[dict[str, Any]]
    state: CursorState
    states: list[CursorState] = field(default_factory=list)  # after events n, 2n, ...
    stamps: list[int] = field(default_factory=list)  # each event's ingested_at, epoch ns
    caught_up: bool = True
    late: int = 0  # events delivered from the overlap window (visible late)


def _stamp_range(**bounds: int) -> dict[str, Any]:
    return {"range": {FIELD: {op: format_ns(ns, 9) for op, ns in bounds.items()}
                      | {"format": NANOS}}}


def _settled_page(base: list[dict[str, Any]], state: CursorState,
                 upper_ns: int) -> dict[str, Any]:
    """The query (and ``search_after``) of the events after the cursor's position with
    stamps up to ``upper_ns``.

    The position is passed as ``search_after`` over a stamp range starting at it, not
    as a (stamp, id) filter: Elasticsearch then skips to it on the sorted stamp, where
    the filter's "later stamp, or the same stamp and a greater id" is a disjunction it
    evaluates over the whole range (half the read rate, measured).
    """
    if state.after_ns < 0:
        return {"query": {"bool": {"filter": [*base, _stamp_range(lte=upper_ns)]}}}
    return {"query": {"bool": {"filter": [*base, _stamp_range(gte=state.after_ns,
                                                              lte=upper_ns)]}},
            "search_after": [state.after_ns, state.after_id]}


def after(state: CursorState) -> list[dict[str, Any]]:
    """Filters for events strictly after the cursor's position (none at the beginning)."""
    if state.after_ns < 0:
        return []
    return [beyond("gt", (state.after_ns, state.after_id))]


class FollowReader:
    """Reads the settled stream of one namespace and query from a cursor."""

    def __init__(self, store: EventStore, settle_s: float, overlap_s: float,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.store = store
        self.client = store.client
        self.settle_ns = int(settle_s * NS_PER_S)
        self.overlap_ns = int(overlap_s * NS_PER_S)
        self.clock = clock

    def read(self, namespace: str, query: dict[str, Any], cursor: CursorState, limit: int,
             states_every: int = 0, check_window: bool = True) -> FollowBatch:
        """Up to ``limit`` events after ``cursor``: late ones of its window first, then the
        settled ones in order. ``states_every=n`` adds the cursor after every n-th event
        (1: after each); ``check_window=False`` skips the late-write check (a stream
        reading a backlog checks between reads at most every poll interval)."""
        state = cursor.snapshot()
        base: list[dict[str, Any]] = [{"term": {"namespace": namespace}}]
        if query and "match_all" not in query:
            base.append(query)
        batch = FollowBatch([], state)

        def deliver(event: dict[str, Any], stamp_ns: int) -> None:
            generation = state.generation_of(stamp_ns)
            if generation is not None:
                generation.add(event["id"])
            batch.events.append(event)
            batch.stamps.append(stamp_ns)
            if states_every and len(batch.events) % states_every == 0:
                batch.states.append(state.snapshot())

        if check_window and state.after_ns >= state.window_start_ns:
            window = {"bool": {"filter": [*base, _stamp_range(gte=state.window_start_ns)],
                               "must_not": after(state)}}
            pending = 0
            if self._count(window) != state.delivered_in_window:
                # Late writes are mostly recent: when the old generation still counts what
                # was delivered in it, only the new one is read again.
                old_range = [_stamp_range(gte=state.window_start_ns, lt=state.split_ns)]
                old_too = state.old.count != self._count(
                    {"bool": {"filter": [*base, *old_range]}})
                if not old_too:
                    window = {"bool": {"filter": [*base, _stamp_range(gte=state.split_ns)],
                                       "must_not": after(state)}}
                reconciled = self._reconcile(namespace, base, window, state, limit, old_too)
                if reconciled is None:
                    state.rewind()
                else:
                    late, pending = reconciled
                    for stamp_ns, event in late:
                        deliver(event, stamp_ns)
                    batch.late = len(late)
            if not pending and state.after_ns - state.split_ns > self.overlap_ns:
                state.rotate()
        remaining = limit - len(batch.events)
        if remaining <= 0:
            batch.caught_up = False
            return batch
        watermark = self.clock() - self.settle_ns
        # The range is widened step by step from the position (LOOKAHEAD_NS, then four times
        # more each time it holds too few): sorted reads of a follower that is behind then
        # sort a slice of its backlog, not all of it.
        span = LOOKAHEAD_NS
        upper = watermark if state.after_ns < 0 else min(watermark, state.after_ns + span)
        while True:
            with store_errors():
                response = self.client.search(index=self.store.pattern, sort=SORT,
                                              **_settled_page(base, state, upper), size=remaining,
                                              filter_path=FILTER_PATH,
                                              track_total_hits=False, ignore_unavailable=True,
                                              allow_no_indices=True)
            hits = response.get("hits", {}).get("hits", [])
            for hit in hits:
                state.after_ns, state.after_id = int(hit["sort"][0]), str(hit["sort"][1])
                deliver(hit["_source"], state.after_ns)
            remaining -= len(hits)
            if remaining <= 0 or upper >= watermark:
                break
            span *= 4
            upper = min(watermark, upper + span)
        batch.caught_up = remaining > 0
        return batch

    def _count(self, query: dict[str, Any]) -> int:
        with store_errors():
            response = self.client.count(index=self.store.pattern, query=query,
                                         ignore_unavailable=True, allow_no_indices=True)
        return int(response["count"])

    def _window_items(self, window: dict[str, Any]) -> list[tuple[int, str]]:
        """(stamp, id) of every event in the window, read on one point-in-time."""
        with store_errors():
            pit_id = self.client.open_point_in_time(index=self.store.pattern, keep_alive="1m",
                                                    ignore_unavailable=True)["id"]
        items: list[tuple[int, str]] = []
        try:
            resume: list[Any] | None = None
            while True:
                body: dict[str, Any] = {"query": window, "size": WINDOW_PAGE, "sort": SORT,
                                        "_source": False, "track_total_hits": False}
                if resume is not None:
                    body["search_after"] = resume
                with store_errors():
                    response = self.client.search(pit={"id": pit_id, "keep_alive": "1m"},
                                                  **body)
                pit_id = response.get("pit_id", pit_id)
                hits = response["hits"]["hits"]
                items.extend((int(hit["sort"][0]), str(hit["sort"][1])) for hit in hits)
                if len(hits) < WINDOW_PAGE:
                    return items
                resume = hits[-1]["sort"]
        finally:
            with store_errors():
                self.client.options(ignore_status=404).close_point_in_time(id=pit_id)

    def _reconcile(self, namespace: str, base: list[dict[str, Any]], window: dict[str, Any],
                   state: CursorState, limit: int, old_too: bool = True,
                   ) -> tuple[list[tuple[int, dict[str, Any]]], int] | None:
        """The window's events not delivered yet (up to ``limit``, as (stamp, event) in
        order) and how many more remain; ``state``'s generations then hold the rest.
        ``window`` covers the new generation, and the old one too when ``old_too``.
        None when more late writes arrived at once than the sketches can name."""
        items = self._window_items(window)
        fresh: list[tuple[int, str]] = []
        parts = [(state.new, [i for i in items if i[0] >= state.split_ns])]
        if old_too:
            parts.append((state.old, [i for i in items if i[0] < state.split_ns]))
        for generation, part in parts:
            now = IdSketch()
            for _, event_id in part:
                now.add(event_id)
            difference = now.minus(generation.sketch).decode()
            if difference is None:
                # Rather than lose any: the caller reads the window again from its start
                # (delivered at least once).
                log.warning("follow: %d late events at once in the overlap window of %s, "
                            "more than the cursor can name; delivering the window's %d "
                            "events again", len(part) - generation.count, namespace,
                            len(items))
                return None
            added, removed = difference
            for key in removed:  # gone since delivered (retention)
                generation.sketch.add_key(key, -1)
                generation.count -= 1
            fresh += [item for item in part if id_key(item[1]) in added]
        if not fresh:
            return [], 0
        fresh.sort()
        wanted = fresh[:limit]
        with store_errors():
            response = self.client.search(
                index=self.store.pattern, size=len(wanted), sort=SORT, track_total_hits=False,
                query={"bool": {"filter": [*base, {"ids": {"values": [
                    doc_id(namespace, event_id) for _, event_id in wanted]}}]}},
                ignore_unavailable=True, allow_no_indices=True)
        late = [(int(hit["sort"][0]), hit["_source"]) for hit in response["hits"]["hits"]]
        return late, len(fresh) - len(wanted)
