"""Run:ai's dates, padded or not, with or without an offset (no Elasticsearch)."""

from __future__ import annotations

import pytest

from app.api.query_params import parse_instant
from app.model.timestamps import NS_PER_S, TimestampError

DAY_S = 1_672_790_400  # 2023-01-04T00:00:00Z


@pytest.mark.parametrize(("text", "end", "expected_ns"), [
    ("2023-1-4", False, DAY_S * NS_PER_S),
    ("2023-01-4", False, DAY_S * NS_PER_S),
    ("2023-1-04", True, (DAY_S + 86_400) * NS_PER_S - 1),
    ("2023-1-4T0:00:00", False, DAY_S * NS_PER_S),
    ("2023-1-4T0:0:0", False, DAY_S * NS_PER_S),
    ("2023-1-4T9:5:7", True, (DAY_S + 9 * 3600 + 5 * 60 + 7) * NS_PER_S),
    ("2023-1-4 9:05:07.25", False, (DAY_S + 9 * 3600 + 5 * 60 + 7) * NS_PER_S + 250_000_000),
    ("2023-1-4T2:00:00+02:00", False, DAY_S * NS_PER_S),
    ("2023-1-3T22:00:00-02:00", False, DAY_S * NS_PER_S),
    ("2023-1-4T0:00:00Z", False, DAY_S * NS_PER_S),
    ("2023-01-04T02:00:00+0200", False, DAY_S * NS_PER_S),
    ("2023-1-4T2:00:00+02", False, DAY_S * NS_PER_S),
    ("2023-1-3T23:30:00-0030", False, DAY_S * NS_PER_S),
    ("2023-01-04T00:00:00.000Z", False, DAY_S * NS_PER_S),
])
def test_unpadded_dates_and_times(text: str, end: bool, expected_ns: int) -> None:
    assert parse_instant(text, end=end) == expected_ns


@pytest.mark.parametrize("text", ["2023-13-1", "2023-2-29", "2023-1-4T24:0:0", "2023-1-4T1:60:0",
                                  "2023-1-4T1:0:60", "23-1-4", "2023-1-4T", "2023-1-4T1:00",
                                  "2023-001-4", "2023-1-4T001:00:00", "2023-1-4T1:00:00+2",
                                  "2023-1-4T1:00:00+02:0", "2023-1-4T1:00:00+2400"])
def test_unpadded_values_out_of_range_are_refused(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_instant(text)
