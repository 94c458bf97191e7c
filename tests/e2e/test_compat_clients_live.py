"""Immuta, Run:ai and F5 clients' requests, sent with ``requests`` to a real gunicorn service.

The same calls as the API tests, but over the wire: the form body and bare
``Authorization`` header of Immuta's examples, 80 repeated ``recordType`` values
in one request line, Run:ai's token request and camelCase filters, and an F5
body at proto3 zero values with an int64 as a string.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
import requests

from tests.api.test_immuta_clients import RECORD_TYPES
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import live_service

NS = "live-compat"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def service(es_url: str, index_prefix: str) -> Iterator[str]:
    with live_service(es_url, index_prefix, ADMIN_KEY, workers=1) as url:
        now = time.time()
        events = [{"id": f"lc-{n}", "time": now - 60 - n, "action": "query",
                   "outcome": ("success", "failure")[n % 2],
                   "record_type": RECORD_TYPES[n % len(RECORD_TYPES)],
                   "actor": {"id": str(n), "type": "User", "email": f"u{n}@example.com"}}
                  for n in range(10)]
        response = requests.post(f"{url}/api/v1/namespaces/{NS}/events?refresh=wait_for",
                                 json=events, headers=ADMIN, timeout=30)
        assert response.status_code == 200, response.text
        yield url


@pytest.fixture(scope="module")
def key(service: str) -> dict[str, str]:
    response = requests.post(f"{service}/api/v1/keys", headers=ADMIN, timeout=30,
                             json={"name": "live", "role": "reader", "namespaces": [NS]})
    assert response.status_code == 201, response.text
    return response.json()


def test_immuta_client(service: str, key: dict[str, str]) -> None:
    # curl https://.../bim/apikey/authenticate -d apikey=<key>
    token = requests.post(f"{service}/bim/apikey/authenticate", data={"apikey": key["secret"]},
                          timeout=30)
    assert token.status_code == 200, token.text
    query = [("recordType", record_type) for record_type in RECORD_TYPES]
    for authorization in (f"Bearer {token.json()['token']}", key["secret"]):
        response = requests.get(f"{service}/audit", params=[*query, ("size", "100")],
                                headers={"Authorization": authorization,
                                         "Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 200, response.text
        assert len(response.request.url) > 2_000
        assert response.json()["count"] == 10
        record = response.json()["hits"][-1]
        assert (record["id"], record["success"], record["email"]) == (
            "lc-9", False, "u9@example.com")
    wrong = requests.post(f"{service}/bim/apikey/authenticate", data={"apikey": "nope"},
                          timeout=30)
    assert (wrong.status_code, wrong.json()["statusCode"]) == (401, 401)


def test_runai_client(service: str, key: dict[str, str]) -> None:
    yesterday = time.gmtime(time.time() - 86_400)
    token = requests.post(f"{service}/api/v1/token", timeout=30,
                          headers={"Accept": "*/*", "Content-Type": "application/json"},
                          data=orjson.dumps({"grantType": "client_credentials",
                                             "clientId": key["id"],
                                             "clientSecret": key["secret"]}))
    assert token.status_code == 200, token.text
    response = requests.get(f"{service}/v1/k8s/audit", timeout=30,
                            params={"sourceType": "User", "sourceId": "3",
                                    # unpadded, as Run:ai's clients may write it
                                    "start": f"{yesterday.tm_year}-{yesterday.tm_mon}-"
                                             f"{yesterday.tm_mday}"},
                            headers={"Authorization": f"Bearer {token.json()['accessToken']}"})
    assert response.status_code == 200, response.text
    assert [record["id"] for record in response.json()] == ["lc-3"]


def test_f5_client(service: str, key: dict[str, str]) -> None:
    body = {"aggs": {}, "end_time": "", "limit": "3", "namespace": "", "query": "",
            "scroll": False, "sort": "", "start_time": "", "search_after": False,
            "sort_values": {"last_doc_id": "", "last_timestamp": "0"}}
    for path in (f"/api/secret_management/namespaces/{NS}/voltshare/audit_logs",
                 f"/api/data/namespaces/{NS}/audit_logs"):
        response = requests.post(f"{service}{path}", data=orjson.dumps(body), timeout=30,
                                 headers={"Authorization": key["secret"],
                                          "Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json()["total_hits"] == "10"
        assert [orjson.loads(log)["id"] for log in response.json()["logs"]] == [
            "lc-0", "lc-1", "lc-2"]
