"""Prometheus metrics (prometheus_client) and the ``GET /metrics`` endpoint.

``/metrics`` needs no API key, as is usual for a Prometheus scrape target;
keep it on a network the scraper reaches, or filter it at the proxy.

Several gunicorn workers: each worker is a process with its own counters. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder writable by the workers (``auditlog
serve`` does this by itself for more than one worker) and ``/metrics`` then
answers with the sum over every worker (prometheus_client's multi-process mode,
see ``app.multiprocess_metrics``); dead workers' live gauges are dropped by the
gunicorn ``child_exit`` hook.

Metrics (all prefixed ``auditlog_``)::

    http_requests_total{method,endpoint,status}          requests (endpoint = URL rule)
    http_request_duration_seconds{method,endpoint,status} latency histogram, body included
    elasticsearch_request_duration_seconds{operation,outcome}  every call to Elasticsearch
    ingested_events_total{result}                         created, duplicate, failed
    exported_events_total{format}                         events streamed by exports
    open_scrolls                                          scrolls handed out and not ended
    follow_open_streams                                   follow streams (SSE, NDJSON) open
    follow_delivered_events_total{mode}                   events delivered by the follow feed
    follow_lag_seconds                                    delivery time minus ingested_at
    follow_late_writes_total                              ingest writes slower than the feed's
                                                          bound (settle + overlap - refresh)
    self_audit_dropped_total                              self-audit events dropped
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "(unmatched)"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    300.0)

HTTP_REQUESTS = Counter("auditlog_http_requests", "HTTP requests answered",
                        ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("auditlog_http_request_duration_seconds",
                         "time from the request to the last byte of the response",
                         ["method", "endpoint", "status"], buckets=_LATENCY_BUCKETS)
ES_LATENCY = Histogram("auditlog_elasticsearch_request_duration_seconds",
                       "time of each Elasticsearch request", ["operation", "outcome"],
                       buckets=_LATENCY_BUCKETS)
INGESTED = Counter("auditlog_ingested_events", "events received for ingest, by result",
                   ["result"])
EXPORTED = Counter("auditlog_exported_events", "events streamed by exports", ["format"])
# "sum", not "livesum": a scroll opened in one worker may end in another.
OPEN_SCROLLS = Gauge("auditlog_open_scrolls",
                     "scrolls handed out (non-empty scroll_id) and not yet read to the end; "
                     "abandoned ones stay counted although Elasticsearch drops them after the "
                     "keep-alive", multiprocess_mode="sum")
FOLLOW_OPEN_STREAMS = Gauge("auditlog_follow_open_streams",
                            "follow streams (SSE and NDJSON) open", multiprocess_mode="livesum")
FOLLOW_DELIVERED = Counter("auditlog_follow_delivered_events",
                           "events delivered by the follow feed", ["mode"])
FOLLOW_LAG = Histogram("auditlog_follow_lag_seconds",
                       "time from an event's ingested_at to its delivery by the follow feed",
                       buckets=(0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, 300.0,
                                3600.0))
FOLLOW_LATE_WRITES = Counter("auditlog_follow_late_writes",
                             "ingest writes acknowledged later after their ingested_at stamp "
                             "than the follow feed's exactly-once bound")
SELF_AUDIT_DROPS = Counter("auditlog_self_audit_dropped",
                           "self-audit events dropped (queue full, invalid, or not writable)")

for _result in ("created", "duplicate", "failed"):
    INGESTED.labels(_result)
for _mode in ("poll", "sse", "ndjson"):
    FOLLOW_DELIVERED.labels(_mode)

bp = Blueprint("metrics", __name__)


def count_ingest(created: int, duplicates: int, failed: int) -> None:
    """Count the outcome of one ingest batch."""
    INGESTED.labels("created").inc(created)
    INGESTED.labels("duplicate").inc(duplicates)
    INGESTED.labels("failed").inc(failed)


def scroll_opened() -> None:
    """A search handed out a scroll token."""
    OPEN_SCROLLS.inc()


def scroll_ended() -> None:
    """A scroll delivered its last page (its context is released)."""
    OPEN_SCROLLS.dec()


def exposition() -> bytes:
    """The text exposition of every metric (summed over workers in multi-process mode)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics.
    ---
    get:
      summary: Prometheus metrics (text exposition format); no API key needed
      tags: [operations]
      security: []
      responses:
        200:
          description: the metrics
          content:
            text/plain:
              schema: {type: string}
    """
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Serve ``/metrics``."""
    app.register_blueprint(bp)
