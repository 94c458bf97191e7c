"""``GET /api/v1/me``, ``.../fields`` and ``.../fields/{field}/values`` on a real node."""

from __future__ import annotations

import pytest

from app.model.fields import REGISTRY
from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

WINDOW = {"start_time": "2024-07-01T00:00:00Z", "end_time": "2024-07-01T23:59:59Z"}
# (action, actor, ip, labels) in namespace "shop"; "bank" holds other labels and values.
SHOP = [("login", "ann", "10.0.0.1", {"team": "red"}), ("login", "ann", "10.0.0.2", {}),
        ("login", "bob", "10.0.1.1", {"team": "red"}), ("logout", "ann", "192.168.0.1", {}),
        ("Login", "cy", "10.0.0.1", {"region": "eu"}), ("delete", "bob", "10.0.0.1", {})]


@pytest.fixture(scope="module", autouse=True)
def events(app) -> None:
    client = app.test_client()
    shop = [{"time": f"2024-07-01T10:{n:02d}:00Z", "action": action, "actor": {"id": actor},
             "source_ip": ip, "labels": labels}
            for n, (action, actor, ip, labels) in enumerate(SHOP)]
    shop.append({"time": "2024-07-02T10:00:00Z", "action": "late", "actor": {"id": "zed"}})
    ingest(client, ADMIN, "shop", shop)
    ingest(client, ADMIN, "bank", [{"time": "2024-07-01T10:00:00Z", "action": "wire",
                                    "actor": {"id": "banker"}, "labels": {"vault": "9"}}])


def values(client, headers, field, namespace="shop", **params):
    response = client.get(f"/api/v1/namespaces/{namespace}/fields/{field}/values",
                          query_string={**WINDOW, **params}, headers=headers)
    assert response.status_code == 200, response.json
    return [(v["value"], v["count"]) for v in response.json["values"]]


def test_me_describes_the_key(app, client) -> None:
    created, headers = create_key(app, "reader", "shop", "bank", actor_id="u-7")
    me = client.get("/api/v1/me", headers=headers).json
    assert me == {"id": created["id"], "name": created["name"], "role": "reader",
                  "namespaces": ["bank", "shop"], "all_namespaces": False, "actor_id": "u-7"}
    admin = client.get("/api/v1/me", headers=ADMIN).json
    assert admin["role"] == "admin" and admin["all_namespaces"] is True
    assert {"shop", "bank", "system"} <= set(admin["namespaces"])
    assert client.get("/api/v1/me").status_code == 401


def test_fields_lists_the_registry_and_this_namespaces_labels(app, client) -> None:
    _, headers = create_key(app, "reader", "shop")
    answer = client.get("/api/v1/namespaces/shop/fields", headers=headers).json
    assert [f["name"] for f in answer["fields"]] == [f.name for f in REGISTRY]
    action = next(f for f in answer["fields"] if f["name"] == "actor.id")
    assert action["type"] == "keyword" and "user_id" in action["aliases"]
    assert action["aggregatable"] is True
    assert answer["labels"] == ["labels.region", "labels.team"]  # not bank's labels.vault
    bank = client.get("/api/v1/namespaces/bank/fields", headers=ADMIN).json
    assert bank["labels"] == ["labels.vault"]


def test_values_most_frequent_first_in_the_window(client) -> None:
    assert values(client, ADMIN, "action") == [("login", 3), ("Login", 1), ("delete", 1),
                                               ("logout", 1)]
    assert values(client, ADMIN, "action_key", limit=2) == [("login", 3), ("Login", 1)]
    assert values(client, ADMIN, "labels.team") == [("red", 2)]
    assert values(client, ADMIN, "source_ip") == [("10.0.0.1", 3), ("10.0.0.2", 1),
                                                  ("10.0.1.1", 1), ("192.168.0.1", 1)]


@pytest.mark.parametrize(("field", "params", "expected"), [
    ("action", {"prefix": "lo"}, [("login", 3), ("Login", 1), ("logout", 1)]),
    ("action", {"prefix": "LOGI"}, [("login", 3), ("Login", 1)]),
    ("source_ip", {"prefix": "10.0.0"}, [("10.0.0.1", 3), ("10.0.0.2", 1)]),
    ("actor.id", {"query": '{action="login"}'}, [("ann", 2), ("bob", 1)]),
    ("actor.id", {"start_time": "2024-07-02T00:00:00Z", "end_time": "2024-07-03T00:00:00Z"},
     [("zed", 1)]),
])
def test_values_prefix_query_and_window(client, field, params, expected) -> None:
    assert values(client, ADMIN, field, **params) == expected


def test_values_are_tenant_scoped(app, client) -> None:
    _, shop_only = create_key(app, "reader", "shop")
    assert ("banker", 1) not in values(client, shop_only, "actor.id")
    refused = client.get("/api/v1/namespaces/bank/fields/actor.id/values",
                         query_string=WINDOW, headers=shop_only)
    assert refused.status_code == 403
    assert client.get("/api/v1/namespaces/bank/fields", headers=shop_only).status_code == 403


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    ("fields/nope/values", {}, 404, "not_found"),
    ("fields/message/values", {}, 400, "invalid_input"),
    ("fields/action/values", {"limit": "0"}, 400, "invalid_input"),
    ("fields/action/values", {"limit": "1001"}, 400, "invalid_input"),
    ("fields/action/values", {"colour": "red"}, 400, "invalid_input"),
    ("fields/action/values", {"start_time": "yesterday"}, 400, "invalid_input"),
    ("fields/action/values", {"query": "{action="}, 400, "invalid_query"),
])
def test_values_bad_input_is_a_json_error(client, path, params, status, code) -> None:
    response = client.get(f"/api/v1/namespaces/shop/{path}", query_string=params,
                          headers=ADMIN)
    assert response.status_code == status
    assert response.json["code"] == code
