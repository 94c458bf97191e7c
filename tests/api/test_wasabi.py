"""Wasabi AiR's audit API (seed 003) on a real node: the seed's examples, filters, order, paging."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "wasabi"
USER = "59790c0f1ab46239e59188bed540bfc7"
# The seed's two listed events, as ingested (nested canonical fields).
SEED_EVENTS = [
    {"id": "59de4bb09221034b071d83db64950d34", "time": "2017-10-11T16:49:52.758191Z",
     "action": "login", "actor": {"id": USER},
     "target": {"kind": "authenticate", "id": USER}},
    {"id": "59e12813db0201953dfe7214c4750e88", "time": "2017-10-13T20:54:43.14061Z",
     "action": "enable", "actor": {"id": USER},
     "target": {"kind": "feature", "id": "disabled_live_harvesting"}},
]
# The seed's answers, verbatim.
SEED_RECORDS = [
    {"id": "59de4bb09221034b071d83db64950d34", "user_id": USER, "action_key": "login",
     "target_kind": "authenticate", "target_id": USER, "time": "2017-10-11T16:49:52.758191Z"},
    {"id": "59e12813db0201953dfe7214c4750e88", "user_id": USER, "action_key": "enable",
     "target_kind": "feature", "target_id": "disabled_live_harvesting",
     "time": "2017-10-13T20:54:43.14061Z"},
]
SEED_FILTERS = {"target_kinds": [
    {"name": "authenticate", "action_keys": ["login", "update-password"]},
    {"name": "feature", "action_keys": ["enable"]},
    {"name": "group", "action_keys": ["create"]},
]}
KINDS = [("authenticate", "login"), ("authenticate", "update-password"), ("group", "create")]


def _more_events() -> list[dict[str, Any]]:
    """69 later events of the seed's kinds, so the namespace totals the seed's 71."""
    events = []
    for n in range(69):
        kind, action = KINDS[n % 3]
        event: dict[str, Any] = {
            "id": f"ev{n:03d}", "time": f"2017-10-14T{n // 60:02d}:{n % 60:02d}:00.5Z",
            "action": action, "actor": {"id": f"user{n % 4}", "group_id": f"grp{n % 2}"},
            "target": {"kind": kind, "id": f"obj{n % 5}"},
        }
        if kind == "group":
            event["target"]["additional_id"] = f"loc{n}"
        events.append(event)
    return events


EVENTS = SEED_EVENTS + _more_events()


@pytest.fixture(scope="module")
def key(app: Flask) -> dict[str, str]:
    """Headers of a reader key of namespace ``wasabi`` only."""
    client = app.test_client()
    ingest(client, ADMIN, NS, EVENTS)
    ingest(client, ADMIN, "wasabi-other", [{**SEED_EVENTS[0], "id": "other-1"}])
    return create_key(app, "reader", NS)[1]


def listing(client: FlaskClient, headers: dict[str, str], **params: Any) -> Any:
    return client.get("/api/data/audit", query_string=params, headers=headers)


def test_seed_list_example(client: FlaskClient, key: dict[str, str]) -> None:
    response = listing(client, key)
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"audit_events", "total", "page"}
    assert body["total"] == 71
    assert body["page"] == 0
    assert len(body["audit_events"]) == 20
    assert body["audit_events"][:2] == SEED_RECORDS


def test_seed_get_example(client: FlaskClient, key: dict[str, str]) -> None:
    response = client.get("/api/data/audit/59e12813db0201953dfe7214c4750e88", headers=key)
    assert response.status_code == 200
    assert response.json == SEED_RECORDS[1]


def test_seed_filters_example(client: FlaskClient, key: dict[str, str]) -> None:
    response = client.get("/api/data/audit/filters", headers=key)
    assert response.status_code == 200
    assert response.json == SEED_FILTERS


def test_additional_id_only_when_present(client: FlaskClient, key: dict[str, str]) -> None:
    events = listing(client, key, count=100).json["audit_events"]
    with_extra = [e for e in events if "additional_id" in e]
    assert {e["target_kind"] for e in with_extra} == {"group"}
    assert len(with_extra) == 23
    assert all(set(e) <= {*SEED_RECORDS[0], "additional_id", "group_id"} for e in events)


def _ids(predicate: Any) -> set[str]:
    return {e["id"] for e in EVENTS if predicate(e)}


FILTER_CASES = [
    ({"user_id": "user1"}, _ids(lambda e: e["actor"]["id"] == "user1")),
    ({"user_id": USER}, {SEED_EVENTS[0]["id"], SEED_EVENTS[1]["id"]}),
    ({"group_id": "grp0"}, _ids(lambda e: e["actor"].get("group_id") == "grp0")),
    ({"target_kind": "group"}, _ids(lambda e: e["target"]["kind"] == "group")),
    ({"target_id": "obj3"}, _ids(lambda e: e["target"]["id"] == "obj3")),
    ({"action_key": "update-password"}, _ids(lambda e: e["action"] == "update-password")),
    ({"target_kind": "authenticate", "user_id": "user2"},
     _ids(lambda e: e["target"]["kind"] == "authenticate" and e["actor"]["id"] == "user2")),
    # from/to are exclusive: "newer than" / "older than" the given time.
    ({"from": "2017-10-11T16:49:52.758191Z"}, _ids(lambda e: e["id"] != SEED_EVENTS[0]["id"])),
    ({"to": "2017-10-13T20:54:43.14061Z"}, {SEED_EVENTS[0]["id"]}),
    ({"from": "2017-10-11T16:49:52.758190Z", "to": "2017-10-13T20:54:43.140611Z"},
     {SEED_EVENTS[0]["id"], SEED_EVENTS[1]["id"]}),
    ({"from": "2017-10-14T00:59:00+00:00"}, _ids(lambda e: e["time"] > "2017-10-14T00:59")),
    ({"to": "2017-10-14T02:00:00.5+02:00"}, _ids(lambda e: e["time"] < "2017-10-14T00:00:00.5")),
    ({"user_id": "nobody"}, set()),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_filters_narrow(client: FlaskClient, key: dict[str, str], params: dict[str, str],
                        expected: set[str]) -> None:
    body = listing(client, key, count=1000, **params).json
    assert {e["id"] for e in body["audit_events"]} == expected
    assert body["total"] == len(expected)


ORDER_KEYS = {
    "ctime": lambda e: (e["time"], e["id"]),
    "user_id": lambda e: (e["actor"]["id"], e["time"], e["id"]),
    "group_id": lambda e: (e["actor"].get("group_id", "\uffff"), e["time"], e["id"]),
    "target_kind": lambda e: (e["target"]["kind"], e["time"], e["id"]),
    "action_key": lambda e: (e["action"], e["time"], e["id"]),
}


@pytest.mark.parametrize("order", list(ORDER_KEYS))
def test_order_is_ascending_with_time_then_id_ties(client: FlaskClient, key: dict[str, str],
                                                   order: str) -> None:
    events = listing(client, key, count=1000, order=order).json["audit_events"]
    assert [e["id"] for e in events] == [e["id"] for e in sorted(EVENTS, key=ORDER_KEYS[order])]


@pytest.mark.parametrize(("page", "count", "expected"), [
    (0, 20, slice(0, 20)), (1, 20, slice(20, 40)), (3, 20, slice(60, 71)),
    (4, 20, slice(71, 71)), (2, 7, slice(14, 21)), (0, 1000, slice(0, 71)),
])
def test_pages(client: FlaskClient, key: dict[str, str], page: int, count: int,
               expected: slice) -> None:
    body = listing(client, key, page=page, count=count).json
    ordered = [e["id"] for e in sorted(EVENTS, key=ORDER_KEYS["ctime"])]
    assert [e["id"] for e in body["audit_events"]] == ordered[expected]
    assert (body["total"], body["page"]) == (71, page)


@pytest.mark.parametrize(("params", "field"), [
    ({"order": "bogus"}, "order"),
    ({"order": "time"}, "order"),
    ({"page": "-1"}, "page"),
    ({"page": "first"}, "page"),
    ({"count": "0"}, "count"),
    ({"count": "1001"}, "count"),
    ({"count": "1.5"}, "count"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2017-13-01T00:00:00Z"}, "to"),
    ({"from": "2017-10-14T00:00:00Z", "to": "2017-10-13T00:00:00Z"}, "from"),
    ({"from": "2017-10-14T00:00:00Z", "to": "2017-10-14T00:00:00Z"}, "from"),
    ({"user": "u1"}, "user"),
    ({"user_id": ["a", "b"]}, "user_id"),
    ({"page": "600", "count": "20"}, "page"),
])
def test_bad_values_are_400_naming_the_parameter(client: FlaskClient, key: dict[str, str],
                                                 params: dict[str, Any], field: str) -> None:
    response = listing(client, key, **params)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_paging_past_the_result_window_points_to_search_after(client: FlaskClient,
                                                              key: dict[str, str]) -> None:
    response = listing(client, key, page=500, count=20)
    assert response.status_code == 400
    assert "search_after" in response.json["message"]


def test_get_unknown_and_foreign_ids_are_404(client: FlaskClient, key: dict[str, str]) -> None:
    assert client.get("/api/data/audit/other-1", headers=key).status_code == 404
    assert client.get("/api/data/audit/no-such-id", headers=key).status_code == 404
    assert client.get("/api/data/audit/bad%20id", headers=key).status_code == 404


def test_namespace_choice(app: Flask, client: FlaskClient, key: dict[str, str]) -> None:
    # An admin key (all namespaces) or a key with several must name one.
    assert listing(client, ADMIN).status_code == 400
    assert listing(client, ADMIN).json["field"] == "namespace"
    assert listing(client, ADMIN, namespace=NS).json["total"] == 71
    assert listing(client, ADMIN, namespace="wasabi-other").json["total"] == 1
    both = create_key(app, "reader", NS, "wasabi-other")[1]
    assert listing(client, both).json["field"] == "namespace"
    assert listing(client, both, namespace="wasabi-other").json["total"] == 1
    # A namespace the key lacks is forbidden, with or without the key's own.
    assert listing(client, key, namespace="wasabi-other").status_code == 403
    assert listing(client, key, namespace=NS).json["total"] == 71
    assert client.get("/api/data/audit").status_code == 401


def test_filters_lists_every_kind_and_action_past_one_composite_page(
        app: Flask, client: FlaskClient) -> None:
    # 40 kinds x 30 actions = 1,200 pairs: more than one composite page (1,000 buckets).
    events = [{"time": "2024-05-01T00:00:00Z", "action": f"act{a:02d}",
               "target": {"kind": f"kind{k:02d}"}} for k in range(40) for a in range(30)]
    ingest(client, ADMIN, "wasabi-many", events)
    body = client.get("/api/data/audit/filters", query_string={"namespace": "wasabi-many"},
                      headers=ADMIN).json
    assert [kind["name"] for kind in body["target_kinds"]] == [f"kind{k:02d}" for k in range(40)]
    assert all(kind["action_keys"] == [f"act{a:02d}" for a in range(30)]
               for kind in body["target_kinds"])


def test_filters_of_an_empty_namespace(client: FlaskClient) -> None:
    body = client.get("/api/data/audit/filters", query_string={"namespace": "wasabi-none"},
                      headers=ADMIN).json
    assert body == {"target_kinds": []}
