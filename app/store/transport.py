"""An Elasticsearch transport that times every request into the metrics.

The operation label is the request path's ``_``-prefixed parts (``_search``,
``_bulk``, ``_pit``, ``_search/scroll``), so index names and ids never become
label values.
"""

from __future__ import annotations

import time
from typing import Any

from elastic_transport import Transport

from app.observe.metrics import ES_LATENCY


def operation_of(method: str, target: str) -> str:
    """A low-cardinality name of an Elasticsearch request: method and API parts of the path."""
    path = target.split("?", 1)[0]
    parts = [p for p in path.split("/") if p.startswith("_")]
    if parts:
        return f"{method} {'/'.join(parts)}"
    return f"{method} {'/' if path in ('', '/') else 'index'}"


class TimedTransport(Transport):
    """``Transport`` whose ``perform_request`` observes its duration and outcome."""

    def perform_request(self, method: str, target: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = super().perform_request(method, target, *args, **kwargs)
            outcome = "ok" if response.meta.status < 400 else "error"
            return response
        finally:
            ES_LATENCY.labels(operation_of(method, target), outcome).observe(
                time.perf_counter() - started)
