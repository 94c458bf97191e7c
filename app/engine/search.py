"""The search engine (DESIGN §6): one place that turns a parsed request into Elasticsearch calls.

It knows Elasticsearch and the event model, not HTTP. Every query it sends is
``bool.filter[namespace term, time range, compiled matchers]``: the namespace
filter is added here, so nothing a client sends can remove it.

Paging modes, all sorted on ``time`` then ``id`` (a total order, so pages never
repeat or skip an event, ties on ``time`` included):

- offset/limit (compatibility surfaces), bounded by the index's result window;
- ``search_after`` with ``SortValues`` (time in epoch ns, id);
- scroll: an Elasticsearch scroll behind a signed token (``scroll_token``);
  the page that delivers the last events carries an empty token and the
  context is released;
- ``iter_events``: point-in-time + search_after, for streaming exports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import elasticsearch

from app.engine.aggregations import Aggregation, from_elasticsearch, to_elasticsearch
from app.engine.export_plan import WHOLE, plan_slices
from app.engine.ordered_merge import read_in_order
from app.engine.point_in_time import PointInTime
from app.engine.scroll_token import ExpiredToken, InvalidToken, ScrollState, ScrollTokens
from app.engine.slice_reader import SliceReader
from app.errors import InvalidInput, NotFound, ScrollExpired
from app.model.time_window import TimeWindow
from app.model.timestamps import duration_ms, format_ns
from app.store.client import store_errors
from app.store.events import EventStore

SORT_ORDERS = {"DESCENDING": "desc", "ASCENDING": "asc"}
MAX_LIMIT = 500
RESULT_WINDOW = 10_000  # index.max_result_window in the template
EXPORT_PAGE = 2_000
EXPORT_SLICE_EVENTS = 4_000  # events per time slice of a parallel export read
_EXPIRED = ("the scroll expired (its keep-alive passed since the last use) or was closed; "
            "start a new search")


@dataclass(frozen=True)
class SortValues:
    """Where a search_after page ends: the last event's time (epoch ns) and id."""

    timestamp_ns: int
    doc_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"last_timestamp": self.timestamp_ns, "last_doc_id": self.doc_id}


@dataclass(frozen=True)
class SearchRequest:
    """A parsed search: every field already validated."""

    namespace: str
    query: dict[str, Any]
    window: TimeWindow
    limit: int = MAX_LIMIT
    sort: str = "DESCENDING"
    order_by: str = "time"  # another keyword field sorts first, then time and id
    aggs: tuple[Aggregation, ...] = ()
    scroll: bool = False
    search_after: SortValues | None = None
    offset: int = 0
    with_events: bool = True


@dataclass
class SearchResult:
    """Events (as stored), exact total, continuation state and aggregation answers."""

    events: list[dict[str, Any]]
    total: int
    scroll_id: str = ""
    last_sort_values: SortValues | None = None
    aggs: dict[str, Any] = field(default_factory=dict)
    took_ms: int = 0


def event_filter(namespace: str, query: dict[str, Any], window: TimeWindow) -> dict[str, Any]:
    """The full Elasticsearch query: namespace, window and the compiled matchers."""
    filters: list[dict[str, Any]] = [{"term": {"namespace": namespace}}]
    time_range = window.range_query()
    if time_range is not None:
        filters.append(time_range)
    if query and "match_all" not in query:
        filters.append(query)
    return {"bool": {"filter": filters}}


def sort_spec(sort: str, order_by: str = "time") -> list[dict[str, Any]]:
    """Sort on ``order_by`` (if not time), then time, then id: a total order."""
    order = SORT_ORDERS[sort]
    spec: list[dict[str, Any]] = []
    if order_by != "time":
        spec.append({order_by: {"order": order, "missing": "_last"}})
    spec.append({"time": {"order": order}})
    spec.append({"id": {"order": order}})
    return spec


def after_filter(after: SortValues, sort: str) -> dict[str, Any]:
    """Events strictly after ``after`` in the (time, id) order of ``sort``."""
    beyond = "gt" if SORT_ORDERS[sort] == "asc" else "lt"
    instant = format_ns(after.timestamp_ns, 9)
    fmt = "strict_date_optional_time_nanos"
    return {"bool": {"minimum_should_match": 1, "should": [
        {"range": {"time": {beyond: instant, "format": fmt}}},
        {"bool": {"filter": [
            {"range": {"time": {"gte": instant, "lte": instant, "format": fmt}}},
            {"range": {"id": {beyond: after.doc_id}}},
        ]}},
    ]}}


class SearchEngine:
    """Searches, scrolls and streams events of one namespace at a time."""

    def __init__(self, store: EventStore, tokens: ScrollTokens,
                 scroll_keepalive: str = "2m", export_readers: int = 3,
                 export_keepalive: str = "2m") -> None:
        self.store = store
        self.export_readers = export_readers
        self.export_keepalive = export_keepalive
        self.client = store.client
        self.tokens = tokens
        self.scroll_keepalive = scroll_keepalive
        keepalive_ms = duration_ms(scroll_keepalive)
        if keepalive_ms is None:
            raise ValueError(f"scroll keep-alive {scroll_keepalive!r} is not a duration")
        self._keepalive_ns = keepalive_ms * 1_000_000

    def search(self, request: SearchRequest, key_id: str) -> SearchResult:
        """Run one search page; open a scroll when asked. Raises InvalidInput for bad paging."""
        if request.offset + request.limit > RESULT_WINDOW and request.with_events:
            raise InvalidInput(
                f"offset + limit may not exceed {RESULT_WINDOW}; page further with the native "
                "search API's search_after (POST /api/v1/namespaces/{ns}/events/search)",
                field="offset",
            )
        query = event_filter(request.namespace, request.query, request.window)
        if request.search_after is not None:
            # A filter rather than Elasticsearch's search_after, so it also works in a scroll.
            query["bool"]["filter"].append(after_filter(request.search_after, request.sort))
        body: dict[str, Any] = {
            "query": query,
            "size": request.limit if request.with_events else 0,
            "track_total_hits": True,
        }
        if request.with_events:
            body["sort"] = sort_spec(request.sort, request.order_by)
        if request.offset:
            body["from"] = request.offset
        if request.aggs:
            body["aggs"] = to_elasticsearch(request.aggs, request.window)
        started = time.perf_counter()
        scroll = self.scroll_keepalive if request.scroll else None
        with store_errors():
            response = self.client.search(
                index=self.store.pattern, ignore_unavailable=True, allow_no_indices=True,
                scroll=scroll, **body,
            )
        result = self._result(response, started)
        if request.aggs:
            result.aggs = from_elasticsearch(request.aggs, response.get("aggregations", {}))
        if request.scroll:
            state = ScrollState(response.get("_scroll_id", ""), request.namespace, key_id,
                                request.limit, len(result.events), result.total, 0)
            result.scroll_id = self._continue_or_close(state)
        return result

    def scroll(self, token: str, namespace: str, key_id: str) -> SearchResult:
        """The next page of a scroll. Raises NotFound for a foreign or tampered token and
        ScrollExpired when Elasticsearch no longer has the context."""
        try:
            state = self.tokens.decode(token, namespace, key_id)
        except InvalidToken as exc:
            raise NotFound(f"{exc}; no events") from None
        except ExpiredToken:
            raise ScrollExpired(_EXPIRED) from None
        started = time.perf_counter()
        try:
            with store_errors():
                response = self.client.scroll(scroll_id=state.scroll_id,
                                              scroll=self.scroll_keepalive)
        except elasticsearch.NotFoundError:
            raise ScrollExpired(_EXPIRED) from None
        result = self._result(response, started)
        state = replace(state, scroll_id=response.get("_scroll_id", state.scroll_id),
                        delivered=state.delivered + len(result.events))
        result.scroll_id = self._continue_or_close(state)
        result.total = state.total
        return result

    def _continue_or_close(self, state: ScrollState) -> str:
        """A token for the next page, or "" (EOF) after releasing the context."""
        if state.delivered < state.total and state.delivered > 0:
            return self.tokens.encode(replace(state,
                                              expires_ns=time.time_ns() + self._keepalive_ns))
        if state.scroll_id:
            with store_errors():
                self.client.options(ignore_status=404).clear_scroll(scroll_id=state.scroll_id)
        return ""

    @staticmethod
    def _result(response: Any, started: float) -> SearchResult:
        hits = response["hits"]["hits"]
        last = None
        if hits and "sort" in hits[-1]:
            sort_values = hits[-1]["sort"]
            last = SortValues(int(sort_values[-2]), str(sort_values[-1]))
        return SearchResult(
            events=[hit["_source"] for hit in hits],
            total=int(response["hits"]["total"]["value"]),
            last_sort_values=last,
            took_ms=int((time.perf_counter() - started) * 1000),
        )

    def iter_events(self, namespace: str, query: dict[str, Any], window: TimeWindow,
                    sort: str = "ASCENDING", after: SortValues | None = None,
                    page_size: int = EXPORT_PAGE, readers: int | None = None,
                    slice_events: int = EXPORT_SLICE_EVENTS,
                    raw: bool = False) -> Iterator[dict[str, Any]] | Iterator[bytes]:
        """Every matching event, streamed with point-in-time + search_after; with ``raw``
        each as the JSON text Elasticsearch stored (``bytes``, never parsed), not a dict.

        Three layers on one point-in-time: the plan cuts the window into time
        slices of about ``slice_events`` events (``export_plan``), a slice reader
        reads each in (time, id) order (``slice_reader``), and the ordered merge
        reads ``readers`` slices ahead at once and hands their pages on in order
        (``ordered_merge``). Memory stays bounded whatever the size; the
        point-in-time is closed when the iterator ends or is closed (client gone).
        A point-in-time lost with a node is reopened and each slice continues after
        its last event (``point_in_time``, ``slice_reader``): no repeat, no gap.
        """
        readers = self.export_readers if readers is None else readers

        def matching(start_ns: int | None, end_ns: int | None) -> dict[str, Any]:
            full = event_filter(namespace, query, TimeWindow(start_ns, end_ns))
            if after is not None:
                full["bool"]["filter"].append(after_filter(after, sort))
            return full

        with PointInTime(self.client, self.store.pattern, self.export_keepalive) as pit:
            slices = [WHOLE]
            if readers > 1:
                slices = plan_slices(pit.search_anew, matching, window.start_ns, window.end_ns,
                                     slice_events, ascending=SORT_ORDERS[sort] == "asc")

            def after_values(values: list[Any]) -> dict[str, Any]:
                # An export's sort values: time (epoch ns), id, then the _shard_doc tiebreaker.
                return after_filter(SortValues(int(values[0]), str(values[1])), sort)

            reader = SliceReader(pit, matching(window.start_ns, window.end_ns),
                                 sort_spec(sort), page_size, after_values, raw)
            # A reader holds a slice's pages, and one more where the histogram undercounted.
            slice_pages = math.ceil(slice_events / page_size) + 1
            pages = read_in_order(slices, reader, readers, slice_pages)
            try:
                for page in pages:
                    yield from page
            finally:
                pages.close()
