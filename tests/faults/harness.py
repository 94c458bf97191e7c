"""What the fault scenarios share: a retrying ingest client, the count of what is stored,
and the per-scenario report (acknowledged, stored, duplicates, gaps)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from elasticsearch import Elasticsearch, helpers

from app.model.timestamps import NS_PER_S, format_ns

BASE_NS = 1_714_521_600 * NS_PER_S  # 2024-05-01T00:00:00Z: every event in one monthly index


def make_events(prefix: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    """``count`` events with ids ``<prefix>-<n>``, one millisecond apart, some ties on time."""
    return [{"id": f"{prefix}-{n:07d}", "time": format_ns(BASE_NS + (n - n % 3) * 1_000_000, 9),
             "action": ("login", "logout", "read")[n % 3], "actor": {"id": f"u{n % 11}"}}
            for n in range(start, start + count)]


@dataclass
class FaultReport:
    """One scenario's figures, as the README and the closing note quote them."""

    scenario: str
    acknowledged: int
    stored: int
    duplicates: int
    gaps: int
    notes: str = ""

    def line(self) -> str:
        return (f"{self.scenario}: acknowledged={self.acknowledged} stored={self.stored} "
                f"duplicates={self.duplicates} gaps={self.gaps}"
                + (f" ({self.notes})" if self.notes else ""))


REPORTS: list[FaultReport] = []


def report(scenario: str, acknowledged: Iterable[str], stored: Iterable[str],
           notes: str = "") -> FaultReport:
    """Compare the acknowledged ids with the stored (or read) ones; remember the figures."""
    acked = set(acknowledged)
    counts = Counter(stored)
    result = FaultReport(scenario, len(acked), sum(counts.values()),
                         sum(n - 1 for n in counts.values() if n > 1),
                         len(acked - counts.keys()), notes)
    REPORTS.append(result)
    print(result.line())
    return result


def stored_ids(es: Elasticsearch, prefix: str, namespace: str) -> list[str]:
    """The id of every stored event of ``namespace`` (one entry per document)."""
    es.indices.refresh(index=f"{prefix}-events-*", ignore_unavailable=True,
                       allow_no_indices=True)
    return [hit["_source"]["id"] for hit in helpers.scan(
        es, index=f"{prefix}-events-*", query={"query": {"term": {"namespace": namespace}}},
        _source=["id"], size=5000)]


@dataclass
class RetryingIngester:
    """Posts batches in a thread; a batch not acknowledged (an error status, a broken
    connection) is sent again, the same ids, until it is. Records what it saw."""

    url: Callable[[], str]
    namespace: str
    headers: dict[str, str]
    batches: list[list[dict[str, Any]]]
    pause: float = 0.0
    acknowledged: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: list[str] = field(default_factory=list)
    broken: int = 0
    done_batches: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.deadline = time.monotonic() + 600

    def start(self) -> RetryingIngester:
        self._thread.start()
        return self

    def join(self, timeout: float = 600) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the ingest client did not finish"
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            for batch in self.batches:
                self._send(batch)
                self.done_batches += 1
                time.sleep(self.pause)
        except BaseException as exc:  # handed to join()
            self.error = exc

    def _send(self, batch: list[dict[str, Any]]) -> None:
        while time.monotonic() < self.deadline:
            try:
                response = requests.post(
                    f"{self.url()}/api/v1/namespaces/{self.namespace}/events", json=batch,
                    headers=self.headers, timeout=60)
            except requests.RequestException:
                self.broken += 1
                time.sleep(0.3)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                body = response.json()
                assert body["failed"] == 0, body
                self.acknowledged.extend(event["id"] for event in batch)
                return
            if "Retry-After" in response.headers:
                self.retry_after.append(response.headers["Retry-After"])
            time.sleep(min(1.0, float(response.headers.get("Retry-After", 0.5))))
        raise AssertionError("a batch was never acknowledged")
