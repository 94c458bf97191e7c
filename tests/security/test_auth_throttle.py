"""Failed authentication is throttled per client address (DESIGN §8): after 20 failures
within 60 s, further attempts without a valid key get 429 with Retry-After <= 60."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import ADMIN_KEY, make_test_app

PATH = "/api/v1/namespaces/thr/events/search"


def _attempt(client: FlaskClient, key: str | None, address: str = "10.0.0.1"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(PATH, json={}, headers=headers,
                       environ_base={"REMOTE_ADDR": address})


def test_twenty_failures_then_429_for_wrong_keys_only(es_url: str, index_prefix: str) -> None:
    # The general per-address budget is far above 21 requests, so only this one can refuse.
    client = make_test_app(es_url, index_prefix).test_client()
    statuses = [_attempt(client, f"guess-{n}").status_code for n in range(20)]
    assert statuses == [401] * 20
    refused = _attempt(client, "guess-20")
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert "failed authentications" in refused.json["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Pages that take no key still answer.
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
    # A guess at the Immuta token exchange is refused too.
    exchange = client.post("/bim/apikey/authenticate", data={"apikey": "guess"},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert exchange.status_code == 429
    # A valid key from the same address still works; another address is not affected.
    assert _attempt(client, ADMIN_KEY).status_code == 200
    assert _attempt(client, "guess", address="10.0.0.2").status_code == 401


def test_successes_do_not_count(es_url: str, index_prefix: str) -> None:
    client = make_test_app(es_url, index_prefix).test_client()
    for _ in range(30):
        assert _attempt(client, ADMIN_KEY, address="10.0.0.3").status_code == 200
    assert _attempt(client, "guess", address="10.0.0.3").status_code == 401
