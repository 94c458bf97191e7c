"""Timestamp parsing and formatting (no Elasticsearch)."""

from __future__ import annotations

import pytest

from app.model.timestamps import TimestampError, format_ns, month_of, parse_timestamp


@pytest.mark.parametrize(
    ("value", "ns", "text"),
    [
        ("2017-10-11T16:49:52.758191Z", 1507740592758191000, "2017-10-11T16:49:52.758191Z"),
        ("2017-10-13T20:54:43.14061Z", 1507928083140610000, "2017-10-13T20:54:43.14061Z"),
        ("2017-10-13T22:54:43.14061+02:00", 1507928083140610000, "2017-10-13T20:54:43.14061Z"),
        ("2017-10-13t20:54:43z", 1507928083000000000, "2017-10-13T20:54:43Z"),
        ("2024-01-01T00:30:00-01:30", 1704074400000000000, "2024-01-01T02:00:00Z"),
        ("2024-01-01T00:00:00.123456789Z", 1704067200123456789, "2024-01-01T00:00:00.123456789Z"),
        (0, 0, "1970-01-01T00:00:00Z"),
        (1507928083, 1507928083000000000, "2017-10-13T20:54:43Z"),
        (1507928083.5, 1507928083500000000, "2017-10-13T20:54:43.5Z"),
        ("1507928083.25", 1507928083250000000, "2017-10-13T20:54:43.25Z"),
    ],
)
def test_parse(value: object, ns: int, text: str) -> None:
    assert parse_timestamp(value) == (ns, text)


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2017-13-01T00:00:00Z", "2017-10-11T16:49:52", "2017-10-11",
     "2017-10-11T16:49:52.1234567890Z", "1969-12-31T23:59:59Z", "2263-01-01T00:00:00Z",
     -1, True, None, [], "nan", "inf", "2017-10-11T16:49:52+25:00"],
)
def test_rejects(value: object) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(value)


def test_format_and_month() -> None:
    assert format_ns(1507928083140610000) == "2017-10-13T20:54:43.14061Z"
    assert format_ns(1507928083140610000, 9) == "2017-10-13T20:54:43.140610000Z"
    assert format_ns(1507928083000000000) == "2017-10-13T20:54:43Z"
    assert month_of(1507928083140610000) == "2017.10"
