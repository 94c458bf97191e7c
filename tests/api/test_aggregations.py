"""Aggregations on a real node: field, date (empty buckets filled), cardinality, nesting."""

from __future__ import annotations

import pytest

from tests.api.test_search import ingest

WINDOW = {"start_time": "2024-06-01T00:00:00Z", "end_time": "2024-06-01T05:59:59.999Z"}
# (hour, action, actor) — hour 3 has no events.
ROWS = [(0, "login", "a"), (0, "login", "b"), (0, "logout", "a"),
        (1, "login", "c"), (2, "delete", "a"), (2, "login", "a"),
        (4, "login", "d"), (5, "logout", "e"), (5, "login", "a"), (5, "login", "b")]


@pytest.fixture(scope="module", autouse=True)
def events(app) -> None:
    from tests.conftest import ADMIN_KEY

    client = app.test_client()
    body = [{"id": f"agg-{n}", "time": f"2024-06-01T0{hour}:{n:02d}:00.5Z", "action": action,
             "actor": {"id": actor}} for n, (hour, action, actor) in enumerate(ROWS)]
    body.append({"id": "outside", "time": "2024-06-01T06:00:00Z", "action": "login",
                 "actor": {"id": "z"}})
    ingest(client, {"Authorization": f"Bearer {ADMIN_KEY}"}, "aggs", body)


def aggregate(client, headers, aggs, query="", path="/api/v1/namespaces/aggs/events/aggregate"):
    response = client.post(path, json={**WINDOW, "query": query, "aggs": aggs}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_field_aggregation_topk(client, admin) -> None:
    result = aggregate(client, admin, {"top": {"field_aggregation": {"field": "action_key",
                                                                     "topk": 2}}})
    assert result["total_hits"] == 10
    assert result["aggs"]["top"]["buckets"] == [{"key": "login", "count": 7},
                                                {"key": "logout", "count": 2}]


def test_date_aggregation_fills_empty_buckets_and_nests(client, admin) -> None:
    aggs = {"per_hour": {"date_aggregation": {"step": "1h"},
                         "aggs": {"who": {"field_aggregation": {"field": "actor.id"}}}}}
    buckets = aggregate(client, admin, aggs)["aggs"]["per_hour"]["buckets"]
    assert [b["key"] for b in buckets] == [f"2024-06-01T0{h}:00:00Z" for h in range(6)]
    assert [b["count"] for b in buckets] == [3, 1, 2, 0, 1, 3]
    assert buckets[3]["aggs"]["who"]["buckets"] == []
    assert buckets[0]["aggs"]["who"]["buckets"] == [{"key": "a", "count": 2},
                                                    {"key": "b", "count": 1}]


def test_cardinality_exact_and_query_applies(client, admin) -> None:
    aggs = {"users": {"cardinality_aggregation": {"field": "user_id"}}}
    assert aggregate(client, admin, aggs)["aggs"]["users"] == {"value": 5}
    only_login = aggregate(client, admin, aggs, query='{action="login"}')
    assert only_login["aggs"]["users"] == {"value": 4}
    assert only_login["total_hits"] == 7


def test_search_returns_aggs_beside_events(client, admin) -> None:
    response = client.post("/api/v1/namespaces/aggs/events/search", headers=admin, json={
        **WINDOW, "limit": 2,
        "aggs": {"a": {"field_aggregation": {"field": "action"}},
                 "n": {"cardinality_aggregation": {"field": "action"}}}})
    assert response.status_code == 200
    assert len(response.json["events"]) == 2
    assert response.json["aggs"]["n"] == {"value": 3}
    assert sum(b["count"] for b in response.json["aggs"]["a"]["buckets"]) == 10


def test_f5_aggregation_endpoint(client, admin) -> None:
    result = aggregate(client, admin, {"n": {"cardinality_aggregation": {"field": "action"}}},
                       path="/api/secret_management/namespaces/aggs/voltshare/audit_logs/"
                            "aggregation")
    assert result == {"aggs": {"n": {"value": 3}}, "total_hits": "10"}


def test_aggregate_needs_an_aggregation(client, admin) -> None:
    response = client.post("/api/v1/namespaces/aggs/events/aggregate", json=WINDOW,
                           headers=admin)
    assert response.status_code == 400
    assert response.json["field"] == "aggs"
