"""Timestamps at nanosecond precision: RFC 3339 or unix seconds in, UTC strings out.

Events keep the fractional digits they were sent with (``.14061Z`` stays
``.14061Z``); an offset is folded into UTC. Elasticsearch's ``date_nanos``
covers 1970-01-01 to 2262-04-11, so times outside that range are refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

NS_PER_S = 1_000_000_000
MAX_NS = 9_223_372_036_854_775_807  # 2262-04-11T23:47:16.854775807Z, date_nanos' end
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"([Zz]|[+-]\d{2}:\d{2})"
)


class TimestampError(ValueError):
    """The value is not a timestamp this service accepts; the message says why."""


def parse_timestamp(value: object) -> tuple[int, str]:
    """Parse RFC 3339 (any offset) or unix seconds; return (epoch ns, UTC RFC 3339 text).

    Numbers and numeric strings are unix seconds. Raises TimestampError.
    """
    if isinstance(value, bool):
        raise TimestampError("expected an RFC 3339 timestamp or unix seconds, got a boolean")
    if isinstance(value, int | float):
        return _from_seconds(Decimal(str(value)))
    if not isinstance(value, str):
        raise TimestampError("expected an RFC 3339 timestamp or unix seconds")
    text = value.strip()
    match = _RFC3339.fullmatch(text)
    if match is None:
        try:
            return _from_seconds(Decimal(text))
        except (InvalidOperation, ValueError):
            raise TimestampError(
                f"{value!r} is neither RFC 3339 (e.g. 2024-05-01T12:00:00.123456Z) "
                "nor unix seconds"
            ) from None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise TimestampError(f"{value!r} is not a valid date-time: {exc}") from None
    if offset == "Z" and text[10] == "T":
        # Already canonical UTC text (what most clients send): nothing to convert or
        # reformat, the answer is the text itself (ingest's hot path).
        ns = (local - _NAIVE_EPOCH) // _SECOND * NS_PER_S + (
            int(fraction.ljust(9, "0")) if fraction else 0)
        _check_range(ns, value)
        return ns, text
    if offset in ("Z", "z"):
        delta = timedelta(0)
    else:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise TimestampError(f"{value!r} has an invalid UTC offset")
        delta = sign * timedelta(hours=hours, minutes=minutes)
    utc = (local - delta).replace(tzinfo=UTC)
    fraction = fraction or ""
    seconds = (utc - _EPOCH) // timedelta(seconds=1)
    ns = seconds * NS_PER_S + (int(fraction.ljust(9, "0")) if fraction else 0)
    _check_range(ns, value)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
    return ns, text


def _from_seconds(seconds: Decimal) -> tuple[int, str]:
    if not seconds.is_finite():
        raise TimestampError("unix seconds must be a finite number")
    ns = int(seconds * NS_PER_S)
    _check_range(ns, seconds)
    digits = format(seconds, "f").partition(".")[2].rstrip("0")[:9]
    return ns, format_ns(ns, len(digits))


def _check_range(ns: int, value: object) -> None:
    if ns < 0 or ns > MAX_NS:
        raise TimestampError(
            f"{value!r} is outside the supported range 1970-01-01 .. 2262-04-11"
        )


def format_ns(ns: int, digits: int | None = None) -> str:
    """RFC 3339 UTC text of epoch nanoseconds.

    ``digits`` fixes the number of fractional digits; None trims trailing zeros.
    """
    seconds, rem = divmod(ns, NS_PER_S)
    base = (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat()  # no fraction: C-fast
    fraction = f"{rem:09d}"
    fraction = fraction[:digits] if digits is not None else fraction.rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def month_of(ns: int) -> str:
    """``YYYY.MM`` of epoch nanoseconds (UTC), the suffix of the monthly index."""
    return (_EPOCH + timedelta(seconds=ns // NS_PER_S)).strftime("%Y.%m")


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: object) -> int | None:
    """Milliseconds of a duration such as ``500ms``, ``30s``, ``5m``, ``1h``, ``1d``; None if
    it is not one (or is zero)."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    value = int(match.group(1)) * _UNIT_MS[match.group(2)]
    return value or None
