"""One JSON log line per request: method, path, status, duration, key id; never the secret."""

from __future__ import annotations

import logging

import orjson

from app.observe.json_logs import _MARK
from tests.conftest import ADMIN_KEY


def _json_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if getattr(h, _MARK, False))


def test_each_request_is_one_json_line_without_the_secret(client, admin, caplog) -> None:
    caplog.set_level(logging.INFO, logger="auditlog.request")
    client.post("/api/v1/namespaces/logs/events/search?x=1", json={"limit": 0}, headers=admin)
    records = [r for r in caplog.records if r.name == "auditlog.request"]
    assert len(records) == 1
    line = _json_handler().format(records[0])
    entry = orjson.loads(line)
    assert entry["method"] == "POST"
    assert entry["path"] == "/api/v1/namespaces/logs/events/search"  # no query string
    assert entry["endpoint"] == "/api/v1/namespaces/<namespace>/events/search"
    assert entry["status"] == 400
    assert entry["key_id"] == "admin-key"
    assert isinstance(entry["duration_ms"], float)
    assert entry["level"] == "INFO" and entry["logger"] == "auditlog.request"
    assert ADMIN_KEY not in line and "Authorization" not in line and "Bearer" not in line


def test_unauthenticated_requests_log_no_key(client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="auditlog.request")
    client.get("/api/v1/namespaces/logs/events/e1",
               headers={"Authorization": "Bearer not-a-key-0000000000"})
    record = next(r for r in caplog.records if r.name == "auditlog.request")
    line = _json_handler().format(record)
    assert orjson.loads(line)["key_id"] is None
    assert "not-a-key" not in line


def test_log_level_comes_from_the_setting(es_url, index_prefix) -> None:
    from tests.conftest import make_test_app

    root = logging.getLogger()
    before = root.level
    try:
        make_test_app(es_url, index_prefix, AUDITLOG_LOG_LEVEL="WARNING")
        assert root.level == logging.WARNING
    finally:
        root.setLevel(before)
