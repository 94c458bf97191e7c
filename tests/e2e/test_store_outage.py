"""Elasticsearch stopped while the service runs: 503 JSON, then recovery without restart.

Uses a second, throwaway local node so the shared test node keeps running.
"""

from __future__ import annotations

import shutil

import pytest

from app.store import local_node as local_es
from tests.conftest import ADMIN_KEY, make_test_app


@pytest.fixture()
def own_node():
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.fail("the outage test needs the local node launcher (Java and Maven)")
    # Beside the default data folder, which the node user can reach (pytest's tmp is 0700).
    data_dir = local_es.default_data_dir().with_name("auditlog-outage-test")
    shutil.rmtree(data_dir / "es-data", ignore_errors=True)
    state, _ = local_es.start(data_dir=data_dir, heap="512m")
    yield data_dir, state
    local_es.stop(data_dir)
    shutil.rmtree(data_dir / "es-data", ignore_errors=True)


def test_unavailable_then_recovers(own_node) -> None:
    data_dir, state = own_node
    client = make_test_app(state.url, "outage").test_client()
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = {"time": "2024-01-01T00:00:00Z", "action": "login", "id": "o-1"}
    url = "/api/v1/namespaces/o/events"
    assert client.post(f"{url}?refresh=wait_for", json=body, headers=headers).status_code == 200

    local_es.stop(data_dir)
    down = client.post(f"{url}/search", json={}, headers=headers)
    assert down.status_code == 503
    assert down.json["code"] == "elasticsearch_unavailable"
    assert int(down.headers["Retry-After"]) > 0
    assert client.get("/readyz").status_code == 503
    assert client.get(f"{url}/o-1", headers=headers).status_code == 503

    local_es.start(data_dir=data_dir, port=state.port, heap="512m")
    up = client.get(f"{url}/o-1", headers=headers)
    assert up.status_code == 200
    assert up.json["id"] == "o-1"
    assert client.get("/readyz").status_code == 200
