"""Loki's request parameters, read as Loki reads them (grafana/loki pkg/loghttp/params.go).

- ``start``/``end``/``time``: an integer of at most 10 digits is unix seconds, a
  longer one unix nanoseconds; a number with a ``.`` is float seconds; anything
  else RFC 3339. ``end`` defaults to now, ``start`` to ``end - since`` with
  ``since`` (a duration) defaulting to one hour.
- ``limit``: default 100, at most 5,000 (Loki's ``max_entries_limit_per_query``).
- ``direction``: ``forward`` or ``backward`` in any case, default backward.
- ``step``/``interval``: float seconds or a Prometheus duration (Grafana sends
  ``"<n>ms"``, logcli float seconds); ``step`` defaults to max(range / 250, 1 s).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.errors import InvalidInput

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
DEFAULT_LIMIT = 100
MAX_LIMIT = 5_000
DEFAULT_SINCE_NS = 3600 * NS_PER_S
MAX_NS = 2**63 - 1
_DURATION = re.compile(r"(?:[0-9]+(?:ms|[ywdhms]))+")
_DURATION_PART = re.compile(r"([0-9]+)(ms|[ywdhms])")
_UNIT_NS = {"y": 365 * 86_400 * NS_PER_S, "w": 7 * 86_400 * NS_PER_S, "d": 86_400 * NS_PER_S,
            "h": 3600 * NS_PER_S, "m": 60 * NS_PER_S, "s": NS_PER_S, "ms": NS_PER_MS}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _fail(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{name}: {message}", field=name)


def timestamp_ns(value: str, name: str) -> int:
    """A Loki timestamp parameter in epoch nanoseconds. Raises InvalidInput."""
    text = value.strip()
    try:
        if "." in text and _RFC3339.fullmatch(text) is None:
            seconds = float(text)
            if not math.isfinite(seconds):
                raise ValueError(text)
            whole, fraction = divmod(seconds, 1)
            ns = int(whole) * NS_PER_S + round(fraction * 1000) * NS_PER_MS
        elif text.lstrip("-").isdigit():
            number = int(text)
            ns = number * NS_PER_S if len(text) <= 10 else number
        else:
            ns = _rfc3339_ns(text)
    except (ValueError, OverflowError):
        raise _fail(name, f"cannot parse {value!r}: give unix seconds, unix nanoseconds or "
                          "RFC 3339") from None
    if not 0 <= ns <= MAX_NS:
        raise _fail(name, f"{value!r} is outside 1970-01-01 .. 2262-04-11")
    return ns


def _rfc3339_ns(text: str) -> int:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(text)
    fraction = match.group(1) or ""
    base = text.replace(fraction, "", 1) if fraction else text
    parsed = datetime.fromisoformat(base.replace("z", "Z").replace("Z", "+00:00"))
    nanos = int((fraction[1:] + "000000000")[:9]) if fraction else 0
    return int(parsed.timestamp()) * NS_PER_S + nanos


def duration_ns(value: str, name: str) -> int:
    """A positive duration parameter: float seconds or a Prometheus duration. InvalidInput."""
    text = value.strip()
    ns: int | None = None
    try:
        seconds = float(text)
        if math.isfinite(seconds):
            ns = round(seconds * NS_PER_S)
    except ValueError:
        if _DURATION.fullmatch(text):
            ns = sum(int(n) * _UNIT_NS[u] for n, u in _DURATION_PART.findall(text))
    if ns is None:
        raise _fail(name, f"cannot parse {value!r} to a valid duration")
    if ns <= 0:
        raise _fail(name, "zero or negative query resolution step widths are not accepted. "
                          "Try a positive integer")
    return ns


@dataclass(frozen=True)
class Window:
    """A half-open ``[start, end)`` in epoch nanoseconds."""

    start_ns: int
    end_ns: int


def window(args: Mapping[str, str], now_ns: int | None = None) -> Window:
    """``start``/``end``/``since`` as Loki reads them. Raises InvalidInput."""
    now = time.time_ns() if now_ns is None else now_ns
    end = timestamp_ns(args["end"], "end") if args.get("end") else now
    if args.get("start"):
        start = timestamp_ns(args["start"], "start")
    else:
        since = duration_ns(args["since"], "since") if args.get("since") else DEFAULT_SINCE_NS
        start = max(end - since, 0)
    if end < start:
        raise _fail("end", "the query time range is invalid: end is before start")
    return Window(start, end)


def limit(args: Mapping[str, str]) -> int:
    """``limit``: 1..MAX_LIMIT, default 100. Raises InvalidInput."""
    raw = args.get("limit", "")
    if raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise _fail("limit", f"cannot parse {raw!r} as an integer") from None
    if value <= 0:
        raise _fail("limit", "limit must be a positive value")
    if value > MAX_LIMIT:
        raise _fail("limit", f"max entries limit per query exceeded, limit > max_entries_limit "
                             f"({value} > {MAX_LIMIT})")
    return value


def forward(args: Mapping[str, str]) -> bool:
    """``direction``: True for forward; backward by default. Raises InvalidInput."""
    raw = args.get("direction", "")
    if raw == "" or raw.upper() == "BACKWARD":
        return False
    if raw.upper() == "FORWARD":
        return True
    raise _fail("direction", f"invalid direction {raw!r}")


def step_ms(args: Mapping[str, str], span: Window) -> int:
    """``step`` in whole milliseconds; Loki's default when absent. Raises InvalidInput."""
    raw = args.get("step", "")
    if raw == "":
        seconds = max(math.floor((span.end_ns - span.start_ns) / NS_PER_S / 250), 1)
        return seconds * 1000
    ns = duration_ns(raw, "step")
    if ns % NS_PER_MS:
        raise _fail("step", f"{raw!r} is not a whole number of milliseconds")
    return ns // NS_PER_MS


def interval_ns(args: Mapping[str, str]) -> int:
    """``interval`` (log queries: at least this far apart per stream), 0 when absent."""
    raw = args.get("interval", "")
    return duration_ns(raw, "interval") if raw else 0
