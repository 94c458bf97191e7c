"""The time window of a search (DESIGN §6).

``start_time``/``end_time`` are unix seconds (number or numeric string) or RFC
3339. Neither: the last 10 minutes. Only start: end = start + 10 m. Only end:
start = end - 10 m. Both ends inclusive; start after end is an error. The
compatibility surfaces use ``open_window``, which leaves missing ends open.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput
from app.model.timestamps import NS_PER_S, TimestampError, format_ns, parse_timestamp

DEFAULT_SPAN_NS = 10 * 60 * NS_PER_S


@dataclass(frozen=True)
class TimeWindow:
    """Inclusive bounds in epoch nanoseconds; None is an open end."""

    start_ns: int | None
    end_ns: int | None

    def range_query(self) -> dict[str, Any] | None:
        """The Elasticsearch range filter on ``time``, or None when unbounded."""
        return time_range("strict_date_optional_time_nanos",
                          gte=None if self.start_ns is None else format_ns(self.start_ns, 9),
                          lte=None if self.end_ns is None else format_ns(self.end_ns, 9))


def time_range(date_format: str, **bounds: Any) -> dict[str, Any] | None:
    """A range filter on ``time`` with the given bounds (``gte=``, ``lt=``, ...; None ones
    left out), or None when no bound is given."""
    given = {op: value for op, value in bounds.items() if value is not None}
    return {"range": {"time": {**given, "format": date_format}}} if given else None


def _bound(value: Any, name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_timestamp(value)[0]
    except TimestampError as exc:
        raise InvalidInput(f"{name}: {exc}", field=name) from None


def _checked(start: int | None, end: int | None, start_name: str, end_name: str) -> TimeWindow:
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"{start_name} is after {end_name}", field=start_name)
    return TimeWindow(start, end)


def search_window(start_time: Any, end_time: Any, now_ns: int | None = None) -> TimeWindow:
    """The window of a native or F5 search, with the 10-minute defaults."""
    start = _bound(start_time, "start_time")
    end = _bound(end_time, "end_time")
    if start is None and end is None:
        end = time.time_ns() if now_ns is None else now_ns
        start = end - DEFAULT_SPAN_NS
    elif start is None:
        assert end is not None
        start = max(0, end - DEFAULT_SPAN_NS)
    elif end is None:
        end = start + DEFAULT_SPAN_NS
    return _checked(start, end, "start_time", "end_time")


def open_window(start: Any, end: Any, start_name: str = "start",
                end_name: str = "end") -> TimeWindow:
    """A window whose missing ends stay open (compatibility surfaces)."""
    return _checked(_bound(start, start_name), _bound(end, end_name), start_name, end_name)
