"""Timing helpers: percentiles, medians over rounds, and a closed-loop load of N clients."""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``samples``."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def ratio(service: float | None, raw: float | None) -> float | None:
    """service / raw, rounded; None when either is missing or raw is zero."""
    if service is None or raw is None or raw == 0:
        return None
    return round(service / raw, 3)


def paired_ratio(service: list[float], raw: list[float]) -> float | None:
    """The median of the per-round ratios: each round's two sides ran back to back, so
    this cancels slow drift of a shared machine (the headline ratio is of the medians)."""
    ratios = [s / r for s, r in zip(service, raw, strict=True) if r]
    return round(median(ratios), 3) if ratios else None


@dataclass
class Load:
    """What one closed-loop run measured: each request's latency and the wall time."""

    latencies_s: list[float]
    wall_s: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.wall_s if self.wall_s else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "p50_ms": round(percentile(self.latencies_s, 0.50) * 1000, 3),
            "p99_ms": round(percentile(self.latencies_s, 0.99) * 1000, 3),
            "mean_ms": round(statistics.fmean(self.latencies_s) * 1000, 3),
            "requests_per_s": round(self.throughput, 2),
            "requests": len(self.latencies_s),
        }


def closed_loop(call: Callable[[T], Any], items: Sequence[T], clients: int) -> Load:
    """Send ``items`` through ``call`` from ``clients`` threads, each starting its next request
    as soon as its previous one is answered; time every request."""
    lock = threading.Lock()
    position = 0
    start_gate = threading.Barrier(clients + 1)

    def worker() -> list[float]:
        nonlocal position
        latencies: list[float] = []
        start_gate.wait()
        while True:
            with lock:
                if position >= len(items):
                    return latencies
                item = items[position]
                position += 1
            started = time.perf_counter()
            call(item)
            latencies.append(time.perf_counter() - started)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(worker) for _ in range(clients)]
        start_gate.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
        wall = time.perf_counter() - started
    return Load([lat for result in results for lat in result], wall)
