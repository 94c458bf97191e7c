"""Retention: delete whole monthly indices whose every event is older than a cutoff.

An index ``<prefix>-events-YYYY.MM`` holds the events of one UTC month, so it
is expired when the month ended at or before the cutoff (now minus the
retention age). Nothing else is touched: other indices, or names that do not
parse as a month, are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from app.model.timestamps import NS_PER_S
from app.store.client import store_errors


@dataclass(frozen=True)
class MonthlyIndex:
    """A monthly event index and the instant its month ends (epoch ns)."""

    name: str
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
            found.append(MonthlyIndex(name, _month_end_ns(int(match.group(1)),
                                                          int(match.group(2)))))
    return sorted(found, key=lambda index: index.month_end_ns)


def expired(indices: list[MonthlyIndex], cutoff_ns: int) -> list[MonthlyIndex]:
    """The indices whose month ended at or before ``cutoff_ns``."""
    return [index for index in indices if index.month_end_ns <= cutoff_ns]


def delete(client: Elasticsearch, indices: list[MonthlyIndex]) -> None:
    """Delete the given indices (one request each, so a failure names its index)."""
    for index in indices:
        with store_errors():
            client.indices.delete(index=index.name)
