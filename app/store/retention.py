"""Retention: delete whole monthly indices whose every event is older than a cutoff.

An index ``<prefix>-events-YYYY.MM`` holds the events of one UTC month, so it
is expired when the month ended at or before the cutoff (now minus the
retention age). Nothing else is touched: other indices, or names that do not
parse as a month, are left alone. A month that a legal hold touches
(``app.holds``) is kept whole, whatever its age.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from app.model.timestamps import NS_PER_S
from app.store.client import store_errors
from app.store.holds import Hold


@dataclass(frozen=True)
class MonthlyIndex:
    """A monthly event index and the instant its month ends (epoch ns)."""

    name: str
    month_start_ns: int
    month_end_ns: int


def _month_end_ns(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(following.timestamp()) * NS_PER_S


def monthly_indices(client: Elasticsearch, prefix: str) -> list[MonthlyIndex]:
    """The monthly event indices of ``prefix``, oldest first."""
    pattern = re.compile(rf"{re.escape(prefix)}-events-(\d{{4}})\.(\d{{2}})")
    with store_errors():
        names = client.indices.get(index=f"{prefix}-events-*", expand_wildcards="all",
                                   allow_no_indices=True, ignore_unavailable=True)
    found = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and 1 <= int(match.group(2)) <= 12:
            year, month = int(match.group(1)), int(match.group(2))
            start = int(datetime(year, month, 1, tzinfo=UTC).timestamp()) * NS_PER_S
            found.append(MonthlyIndex(name, start, _month_end_ns(year, month)))
    return sorted(found, key=lambda index: index.month_end_ns)


def expired(indices: list[MonthlyIndex], cutoff_ns: int) -> list[MonthlyIndex]:
    """The indices whose month ended at or before ``cutoff_ns``."""
    return [index for index in indices if index.month_end_ns <= cutoff_ns]


def held(indices: list[MonthlyIndex], holds: Iterable[Hold]) -> dict[str, list[Hold]]:
    """For each index a hold touches, the holds that keep it (indices no hold touches are
    left out)."""
    holds = list(holds)
    keeping: dict[str, list[Hold]] = {}
    for index in indices:
        touching = [h for h in holds if h.covers_range(index.month_start_ns, index.month_end_ns)]
        if touching:
            keeping[index.name] = touching
    return keeping


def delete(client: Elasticsearch, indices: list[MonthlyIndex]) -> None:
    """Delete the given indices (one request each, so a failure names its index)."""
    for index in indices:
        with store_errors():
            client.indices.delete(index=index.name)
