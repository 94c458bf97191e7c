"""A served instance (gunicorn, 2 workers) stops cleanly and never logs secrets or tokens
(key secrets, wrong keys, scroll tokens, follow cursors)."""

from __future__ import annotations

import json
import re

import requests

from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import serving, start_service

NS = "lifecycle"


def test_sigterm_stops_the_service_cleanly(es_url: str, index_prefix: str) -> None:
    # Several rounds: the old failure depended on when the workers' SIGCHLD reached the master.
    for _ in range(3):
        served = start_service(es_url, index_prefix, ADMIN_KEY, workers=2)
        try:
            assert requests.get(f"{served.url}/metrics", timeout=10).status_code == 200
            assert served.stop() == 0
            stderr = served.stderr_text()
        finally:
            served.stderr.unlink(missing_ok=True)
        assert "Traceback" not in stderr
        assert "Error" not in stderr
        assert "Shutting down: Master" in stderr


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_secret_nor_token_in_any_log_line(es_url: str, index_prefix: str) -> None:
    with serving(es_url, index_prefix, ADMIN_KEY, workers=2, AUDITLOG_LOG_LEVEL="DEBUG") as served:
        url, admin = served.url, _auth(ADMIN_KEY)
        created = requests.post(f"{url}/api/v1/keys", headers=admin, timeout=30, json={
            "name": "lifecycle writer", "namespaces": [NS], "role": "writer"})
        assert created.status_code == 201
        secret = created.json()["secret"]
        events = [{"time": "2024-05-01T00:00:00Z", "action": "login", "id": f"l{n}"}
                  for n in range(30)]
        ingest = requests.post(f"{url}/api/v1/namespaces/{NS}/events?refresh=wait_for",
                               json=events, headers=_auth(secret), timeout=30)
        assert ingest.status_code == 200
        search = f"{url}/api/v1/namespaces/{NS}/events/search"
        window = {"start_time": "2024-04-30T00:00:00Z", "end_time": "2024-05-02T00:00:00Z"}
        tokens = []
        page = requests.post(search, headers=_auth(secret), timeout=30,
                             json={**window, "limit": 10, "scroll": True}).json()
        while page["scroll_id"]:
            tokens.append(page["scroll_id"])
            page = requests.get(f"{search[:-len('search')]}scroll", headers=_auth(secret),
                                params={"scroll_id": page["scroll_id"]}, timeout=30).json()
        assert len(tokens) == 2  # 30 events, 10 a page: the third page ends the scroll
        f5 = (f"{url}/api/secret_management/namespaces/{NS}/voltshare/audit_logs")
        f5_page = requests.post(f5, headers=_auth(secret), timeout=30,
                                json={**window, "limit": 10, "scroll": True}).json()
        tokens.append(f5_page["scroll_id"])
        requests.post(f"{f5}/scroll", headers=_auth(secret), timeout=30,
                      json={"scroll_id": f5_page["scroll_id"]})
        follow = requests.get(f"{url}/api/v1/namespaces/{NS}/events/follow",
                              params={"from": "beginning", "limit": 10}, headers=_auth(secret),
                              timeout=30)
        assert follow.status_code == 200
        tokens.append(follow.json()["cursor"])
        requests.get(f"{url}/api/v1/namespaces/{NS}/events/follow", headers=_auth(secret),
                     params={"cursor": follow.json()["cursor"]}, timeout=30)
        export = requests.get(f"{url}/api/v1/namespaces/{NS}/events/export",
                              headers=_auth(secret), params={"format": "csv"}, timeout=30)
        assert export.status_code == 200
        wrong = secret[:-4] + "xxxx"
        for key in (wrong, "al_" + "0" * 40):
            assert requests.post(search, headers=_auth(key), json={}, timeout=30
                                 ).status_code == 401
        requests.post(search, headers={"Authorization": wrong}, json={}, timeout=30)
        key_id = created.json()["id"]
        assert requests.delete(f"{url}/api/v1/keys/{key_id}", headers=admin,
                               timeout=30).status_code in (200, 204)
        assert served.stop() == 0
        lines = served.stderr_text().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(entry.get("status") == 401 for entry in logged)  # the failures were logged...
    needles = {"admin key": ADMIN_KEY, "secret": secret, "wrong secret": wrong}
    needles.update({f"scroll token {n}": token for n, token in enumerate(tokens)})
    for line in lines:
        for what, needle in needles.items():
            assert needle not in line, f"{what} in a log line: {line[:200]}"
        # ...and no Authorization header value of any kind.
        assert not re.search(r"(?i)bearer\s+\S", line), line[:200]
