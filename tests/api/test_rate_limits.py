"""Rate limits per key on a real node (DESIGN §8): 429 with Retry-After, and recovery.

Small limits in apps of their own; waiting for a window to pass is fine, but
nothing asserts how long anything took.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from limits.storage import MemoryStorage

from app.access.auth import require
from app.access.ratelimit import export_limit, export_limit_if, scroll_open_limit
from app.store.extension import store
from tests.api.api_keys import ADMIN, bearer
from tests.conftest import make_test_app

LIMIT = 3


@export_limit
def _export_view() -> dict[str, str]:
    require("reader")
    return {"exported": "yes"}


@scroll_open_limit
def _search_view() -> dict[str, str]:
    require("reader")
    return {"searched": "yes"}


@export_limit_if(lambda: request.args.get("download") == "true")
def _list_view() -> dict[str, str]:
    require("reader")
    return {"listed": "yes"}


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str) -> Flask:
    return make_test_app(es_url, index_prefix, AUDITLOG_RATE_LIMIT=f"{LIMIT}/second")


@pytest.fixture(scope="module")
def export_app(es_url: str, index_prefix: str) -> Flask:
    """A roomy general budget and an export budget of one a second.

    A moving window: two requests a few ms apart are in the same window, even
    across a second boundary, where a fixed window would start afresh.
    """
    limited = make_test_app(es_url, index_prefix, AUDITLOG_RATE_LIMIT="100/second",
                            AUDITLOG_EXPORT_RATE_LIMIT="1/second",
                            AUDITLOG_RATE_LIMIT_STRATEGY="moving-window")
    # Stand-ins marked as the export and search endpoints are.
    limited.add_url_rule("/test/export", view_func=_export_view)
    limited.add_url_rule("/test/search", view_func=_search_view, methods=["POST"])
    limited.add_url_rule("/test/list", view_func=_list_view)
    return limited


def reader_key(app: Flask) -> dict[str, str]:
    """A fresh key, made without a request (the admin key has a small budget here too)."""
    with app.app_context():
        return bearer(store.keys.create("rate-limited", "reader", ["rl"]).secret)


def read(client: FlaskClient, headers: dict[str, str], **environ: str):
    return client.get("/api/v1/namespaces/rl/events/nope", headers=headers,
                      environ_base=environ)


def until_limited(send, attempts: int = 50):
    """Responses of ``send()`` up to and including the first 429."""
    answers = []
    for _ in range(attempts):
        answers.append(send())
        if answers[-1].status_code == 429:
            break
    return answers


def wait_out(response) -> None:
    time.sleep(int(response.headers["Retry-After"]))


def test_over_the_limit_is_429_json_with_retry_after_then_recovers(app: Flask,
                                                                    client: FlaskClient) -> None:
    headers = reader_key(app)
    answers = until_limited(lambda: read(client, headers))
    limited = answers[-1]
    assert limited.status_code == 429
    assert all(a.status_code == 404 for a in answers[:-1])  # allowed: no such event
    assert limited.mimetype == "application/json"
    assert limited.json["code"] == "rate_limited"
    assert limited.json["retry_after"] >= 1
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["RateLimit-Limit"] == str(LIMIT)
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert int(limited.headers["RateLimit-Reset"]) >= 1
    wait_out(limited)
    recovered = read(client, headers)
    assert recovered.status_code == 404
    assert recovered.headers["RateLimit-Limit"] == str(LIMIT)
    assert int(recovered.headers["RateLimit-Remaining"]) < LIMIT


def test_the_loki_api_answers_over_the_limit_in_its_own_shape(app: Flask,
                                                              client: FlaskClient) -> None:
    headers = reader_key(app)
    answers = until_limited(lambda: client.get("/loki/api/v1/labels", headers=headers))
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited.json["status"] == "error"
    assert limited.json["errorType"] == "too_many_requests"
    assert limited.json["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["RateLimit-Remaining"] == "0"


def test_each_key_has_its_own_budget(app: Flask, client: FlaskClient) -> None:
    first, second = reader_key(app), reader_key(app)
    assert until_limited(lambda: read(client, first))[-1].status_code == 429
    assert read(client, second).status_code == 404


def test_requests_without_a_valid_key_are_limited_by_address(client: FlaskClient) -> None:
    def anonymous(address: str):
        return read(client, {}, REMOTE_ADDR=address)

    answers = until_limited(lambda: anonymous("192.0.2.7"))
    assert [a.status_code for a in answers[:-1]] == [401] * (len(answers) - 1)
    assert answers[-1].status_code == 429
    assert anonymous("192.0.2.8").status_code == 401  # another client


def test_health_checks_are_not_limited(client: FlaskClient) -> None:
    assert all(client.get("/healthz").status_code == 200 for _ in range(4 * LIMIT))


def assert_export_budget_spent(response) -> None:
    assert response.status_code == 429
    assert response.json["code"] == "rate_limited"
    assert "export budget" in response.json["message"]


def test_exports_and_scroll_opens_have_a_lower_budget(export_app: Flask) -> None:
    client, headers = export_app.test_client(), reader_key(export_app)
    first = client.get("/test/export", headers=headers)
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "1"
    assert first.headers["RateLimit-Remaining"] == "0"
    assert_export_budget_spent(client.get("/test/export", headers=headers))
    # Searches that open no scroll spend only the general budget...
    searched = client.post("/test/search", json={"scroll": False}, headers=headers)
    assert searched.status_code == 200
    assert searched.headers["RateLimit-Limit"] == "100"
    # ...while a scroll open shares the export budget, now spent.
    opened = client.post("/test/search", json={"scroll": True}, headers=headers)
    assert_export_budget_spent(opened)
    wait_out(opened)
    assert client.post("/test/search", json={"scroll": True}, headers=headers).status_code == 200


def test_a_predicate_decides_which_requests_are_exports(export_app: Flask) -> None:
    client, headers = export_app.test_client(), reader_key(export_app)
    assert client.get("/test/list", headers=headers).status_code == 200
    assert client.get("/test/list", headers=headers).status_code == 200
    assert client.get("/test/list?download=true", headers=headers).status_code == 200
    assert_export_budget_spent(client.get("/test/list?download=true", headers=headers))


def test_admin_bootstrap_key_is_limited_too(client: FlaskClient) -> None:
    assert until_limited(lambda: read(client, ADMIN))[-1].status_code == 429


def test_limits_can_be_switched_off(es_url: str, index_prefix: str) -> None:
    unlimited = make_test_app(es_url, index_prefix, AUDITLOG_RATE_LIMIT="1/minute",
                              AUDITLOG_RATE_LIMIT_ENABLED=False).test_client()
    assert all(read(unlimited, ADMIN).status_code == 404 for _ in range(5))


class _UnreachableCounters(MemoryStorage):
    """A counter storage whose every call fails, as an unreachable Redis does."""

    STORAGE_SCHEME = ["unreachable"]

    def __getattribute__(self, name: str):
        if name in {"incr", "get", "get_expiry", "acquire_entry", "get_moving_window",
                    "acquire_sliding_window_entry", "get_sliding_window", "check"}:
            def unreachable(*_args: object, **_kwargs: object) -> None:
                raise ConnectionError("counter storage unreachable")

            return unreachable
        return super().__getattribute__(name)


@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window"])
def test_unreachable_counters_let_requests_through(es_url: str, index_prefix: str,
                                                    strategy: str) -> None:
    broken = make_test_app(es_url, index_prefix, AUDITLOG_RATE_LIMIT="1/minute",
                           AUDITLOG_RATE_LIMIT_STORAGE="unreachable://",
                           AUDITLOG_RATE_LIMIT_STRATEGY=strategy)
    client, headers = broken.test_client(), reader_key(broken)
    answers = [read(client, headers) for _ in range(3)]  # over 1/minute, were it counted
    assert [a.status_code for a in answers] == [404] * 3
    assert all("RateLimit-Limit" not in a.headers for a in answers)
    # A wrong key is still refused as one (401), not failed for the counter of failures.
    assert read(client, {"Authorization": "Bearer al_" + "0" * 40}).status_code == 401
