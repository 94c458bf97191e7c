"""Per-request telemetry: one JSON log line and the HTTP metrics, when the response ends.

The line is written after the response is built, or for a streamed response
(an export) when the server closes it, so an export is logged with its real
duration. It holds method, path (no query string),
endpoint (URL rule), status, duration_ms and the key id; never the key's secret
nor the Authorization header.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from app.observe import json_logs, metrics

log = logging.getLogger("auditlog.request")


def _start() -> None:
    g.telemetry_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("telemetry_started", time.perf_counter())
    principal = g.get("principal")
    rule = request.url_rule.rule if request.url_rule is not None else metrics.UNMATCHED
    method, path, status = request.method, request.path, response.status_code
    key_id = getattr(principal, "key_id", None)

    def done() -> None:
        elapsed = time.perf_counter() - started
        metrics.HTTP_REQUESTS.labels(method, rule, str(status)).inc()
        metrics.HTTP_LATENCY.labels(method, rule, str(status)).observe(elapsed)
        log.info("request", extra={
            "method": method, "path": path, "endpoint": rule, "status": status,
            "duration_ms": round(elapsed * 1000, 3), "key_id": key_id,
        })

    if response.is_streamed:
        response.call_on_close(done)  # after the last byte: the real duration of an export
    else:
        done()
    return response


def init_app(app: Flask) -> None:
    """JSON logs at AUDITLOG_LOG_LEVEL; time, count and log every request."""
    json_logs.configure(app.config["AUDITLOG_LOG_LEVEL"])
    app.before_request(_start)
    app.after_request(_finish)
