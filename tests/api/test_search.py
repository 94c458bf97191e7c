"""Search, scroll, search_after and time windows on a real node (native and F5)."""

from __future__ import annotations

import time

import orjson
import pytest
from flask.testing import FlaskClient

from app.model.timestamps import NS_PER_S, format_ns
from tests.conftest import make_test_app

BASE_NS = 1_714_560_000 * NS_PER_S  # 2024-05-01T10:40:00Z
TIE_NS = BASE_NS + 600 * NS_PER_S
WINDOW = {"start_time": format_ns(BASE_NS - NS_PER_S),
          "end_time": format_ns(BASE_NS + 7200 * NS_PER_S)}


def ingest(client: FlaskClient, headers: dict[str, str], namespace: str, events: list) -> None:
    for start in range(0, len(events), 1000):
        response = client.post(f"/api/v1/namespaces/{namespace}/events?refresh=wait_for",
                               json=events[start:start + 1000], headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["failed"] == 0


@pytest.fixture(scope="module")
def completeness_ids(app, admin_headers) -> list[tuple[int, str]]:
    """1,200 events, 200 of them at one instant; returns (time ns, id) pairs."""
    client = app.test_client()
    events, keys = [], []
    for n in range(1200):
        ns = TIE_NS if n % 6 == 0 else BASE_NS + n * 3 * NS_PER_S + n * 1000
        event_id = f"ev-{(n * 7919) % 1200:05d}"
        events.append({"id": event_id, "time": format_ns(ns, 9), "action": "login",
                       "actor": {"id": f"u{n % 5}"}})
        keys.append((ns, event_id))
    ingest(client, admin_headers, "complete", events)
    return keys


@pytest.fixture(scope="module")
def admin_headers() -> dict[str, str]:
    from tests.conftest import ADMIN_KEY

    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def expected_order(keys: list[tuple[int, str]], sort: str) -> list[str]:
    ordered = sorted(keys, reverse=(sort == "DESCENDING"))
    return [event_id for _, event_id in ordered]


def search(client, headers, namespace="complete", **body):
    response = client.post(f"/api/v1/namespaces/{namespace}/events/search", json=body,
                           headers=headers)
    return response


@pytest.mark.parametrize("sort", ["DESCENDING", "ASCENDING"])
@pytest.mark.parametrize("limit", [1, 7, 500])
def test_search_after_pages_every_event_once_in_order(client, admin, completeness_ids, sort,
                                                      limit) -> None:
    seen: list[str] = []
    sort_values = None
    while True:
        body = {**WINDOW, "limit": limit, "sort": sort, "search_after": True}
        if sort_values:
            body["sort_values"] = sort_values
        page = search(client, admin, **body).json
        assert page["total_hits"] == (1200 if sort_values is None else page["total_hits"])
        if not page["events"]:
            break
        seen.extend(e["id"] for e in page["events"])
        sort_values = page["last_sort_values"]
        assert sort_values["last_doc_id"] == page["events"][-1]["id"]
    assert seen == expected_order(completeness_ids, sort)


@pytest.mark.parametrize("sort", ["DESCENDING", "ASCENDING"])
@pytest.mark.parametrize("limit", [1, 7, 500])
def test_scroll_pages_every_event_once_and_ends_with_empty_id(client, admin, completeness_ids,
                                                              sort, limit) -> None:
    page = search(client, admin, **WINDOW, limit=limit, sort=sort, scroll=True).json
    assert page["total_hits"] == 1200
    seen = [e["id"] for e in page["events"]]
    while page["scroll_id"]:
        page = client.post("/api/v1/namespaces/complete/events/scroll",
                           json={"scroll_id": page["scroll_id"]}, headers=admin).json
        assert page["events"], "a non-empty scroll_id must lead to more events"
        seen.extend(e["id"] for e in page["events"])
    assert seen == expected_order(completeness_ids, sort)


def test_sort_values_accept_string_timestamp(client, admin, completeness_ids) -> None:
    first = search(client, admin, **WINDOW, limit=3, sort="ASCENDING").json
    last = first["last_sort_values"]
    as_string = {"last_doc_id": last["last_doc_id"], "last_timestamp": str(last["last_timestamp"])}
    nxt = search(client, admin, **WINDOW, limit=3, sort="ASCENDING", search_after=True,
                 sort_values=as_string).json
    assert [e["id"] for e in nxt["events"]] == expected_order(completeness_ids, "ASCENDING")[3:6]


def test_scroll_get_form_and_f5_scroll(client, admin, completeness_ids) -> None:
    page = search(client, admin, **WINDOW, limit=500, scroll=True).json
    second = client.get("/api/v1/namespaces/complete/events/scroll",
                        query_string={"scroll_id": page["scroll_id"]}, headers=admin).json
    assert len(second["events"]) == 500
    f5 = client.get("/api/secret_management/namespaces/complete/voltshare/audit_logs/scroll",
                    query_string={"scroll_id": second["scroll_id"]}, headers=admin).json
    assert len(f5["logs"]) == 200
    assert f5["scroll_id"] == ""
    assert f5["total_hits"] == "1200"


def test_tampered_and_foreign_scroll_tokens_return_no_events(client, admin,
                                                             completeness_ids) -> None:
    token = search(client, admin, **WINDOW, limit=10, scroll=True).json["scroll_id"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for namespace, scroll_id in (("complete", tampered), ("other", token),
                                 ("complete", "not-a-token"), ("complete", "")):
        response = client.post(f"/api/v1/namespaces/{namespace}/events/scroll",
                               json={"scroll_id": scroll_id}, headers=admin)
        assert response.status_code in (400, 404)
        assert "events" not in response.json
    # The genuine token still works.
    ok = client.post("/api/v1/namespaces/complete/events/scroll", json={"scroll_id": token},
                     headers=admin)
    assert ok.status_code == 200 and len(ok.json["events"]) == 10


def test_scroll_expires_after_keepalive(es_url, index_prefix, admin, completeness_ids) -> None:
    quick = make_test_app(es_url, index_prefix, AUDITLOG_SCROLL_KEEPALIVE="1s").test_client()
    page = search(quick, admin, **WINDOW, limit=10, scroll=True).json
    time.sleep(1.5)
    response = quick.post("/api/v1/namespaces/complete/events/scroll",
                          json={"scroll_id": page["scroll_id"]}, headers=admin)
    assert response.status_code == 404
    assert response.json["code"] == "scroll_expired"


def test_first_page_with_everything_closes_scroll(client, admin, completeness_ids) -> None:
    page = search(client, admin, query='{actor.id="u1"}', **WINDOW, limit=500, scroll=True).json
    assert page["total_hits"] == 240
    assert len(page["events"]) == 240
    assert page["scroll_id"] == ""


def test_f5_seed_example_body(client, admin) -> None:
    now = time.time_ns()
    events = [
        {"id": "f5-1", "time": format_ns(now - 60 * NS_PER_S, 6), "action": "login",
         "actor": {"id": "alice"}, "target": {"kind": "feature"}},
        {"id": "f5-2", "time": format_ns(now - 120 * NS_PER_S, 6), "action": "login",
         "actor": {"id": "bob"}, "target": {"kind": "group"}},
        {"id": "f5-3", "time": format_ns(now - 180 * NS_PER_S, 6), "action": "logout",
         "actor": {"id": "alice"}},
    ]
    ingest(client, admin, "f5ns", events)
    body = {"aggs": {}, "end_time": str(now // NS_PER_S + 1), "limit": 1, "namespace": "f5ns",
            "query": '{action="login"}', "scroll": True, "sort": "DESCENDING",
            "start_time": format_ns(now - 600 * NS_PER_S), "search_after": True,
            "sort_values": {"last_doc_id": "f5-0", "last_timestamp": now}}
    url = "/api/secret_management/namespaces/f5ns/voltshare/audit_logs"
    first = client.post(url, json=body, headers=admin)
    assert first.status_code == 200, first.json
    assert set(first.json) == {"aggs", "logs", "scroll_id", "total_hits", "last_sort_values"}
    assert first.json["total_hits"] == "2"
    assert [orjson.loads(log)["id"] for log in first.json["logs"]] == ["f5-1"]
    assert first.json["last_sort_values"]["last_doc_id"] == "f5-1"
    assert first.json["scroll_id"]
    second = client.post(f"{url}/scroll", json={"namespace": "f5ns",
                                                "scroll_id": first.json["scroll_id"]},
                         headers=admin).json
    assert [orjson.loads(log)["id"] for log in second["logs"]] == ["f5-2"]
    assert second["scroll_id"] == ""
    # search_after continuation with the returned sort values
    body.update(scroll=False, sort_values=first.json["last_sort_values"])
    after = client.post(url, json=body, headers=admin).json
    assert [orjson.loads(log)["id"] for log in after["logs"]] == ["f5-2"]
    mismatch = client.post(url, json={**body, "namespace": "elsewhere"}, headers=admin)
    assert mismatch.status_code == 400
    assert mismatch.json["field"] == "namespace"


def test_default_windows(client, admin) -> None:
    now = time.time_ns()
    recent = {"id": "w-recent", "time": format_ns(now - 5 * 60 * NS_PER_S, 6), "action": "w"}
    old = {"id": "w-old", "time": format_ns(now - 15 * 60 * NS_PER_S, 6), "action": "w"}
    ingest(client, admin, "windows", [recent, old])

    def ids(**body):
        response = search(client, admin, "windows", **body)
        assert response.status_code == 200, response.json
        return {e["id"] for e in response.json["events"]}

    assert ids() == {"w-recent"}
    start_old = (now - 16 * 60 * NS_PER_S) // NS_PER_S
    assert ids(start_time=start_old) == {"w-old"}  # end = start + 10 m
    assert ids(start_time=str(start_old)) == {"w-old"}
    end = format_ns(now - 4 * 60 * NS_PER_S)
    assert ids(end_time=end) == {"w-recent"}  # start = end - 10 m
    assert ids(end_time=format_ns(now - 10 * 60 * NS_PER_S)) == {"w-old"}
    # inclusive ends
    exact = format_ns(now - 5 * 60 * NS_PER_S, 6)
    assert ids(start_time=exact, end_time=exact) == {"w-recent"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_time": 200, "end_time": 100}, "start_time"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"sort": "SIDEWAYS"}, "sort"),
        ({"query": '{action="x"'}, "query"),
        ({"query": '{nosuchfield="x"}'}, "query"),
        ({"scroll": "perhaps"}, "scroll"),
        ({"sort_values": {"last_doc_id": "x"}}, "sort_values.last_timestamp"),
        ({"colour": "red"}, "colour"),
        ({"aggs": {"a": {"field_aggregation": {"field": "nope"}}}}, "aggs.a"),
        ({"aggs": {"a": {"bogus_aggregation": {}}}}, "aggs.a"),
        ({"aggs": {"a": {"field_aggregation": {"field": "action", "topk": 1001}}}}, "aggs.a"),
        ({"aggs": {f"a{i}": {"cardinality_aggregation": {"field": "action"}}
                   for i in range(11)}}, "aggs"),
        ({"aggs": {"h": {"date_aggregation": {"step": "1ms"}}}}, "aggs"),
        ({"aggs": {"h": {"date_aggregation": {"step": "soon"}}}}, "aggs.h"),
    ],
)
def test_bad_search_input_is_400_naming_the_field(client, admin, body, field) -> None:
    response = search(client, admin, "complete", **body)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_malformed_search_body_is_400(client, admin) -> None:
    response = client.post("/api/v1/namespaces/x/events/search", data="{nope",
                           headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["line"] == 1
    response = client.post("/api/v1/namespaces/x/events/search", json=[1, 2], headers=admin)
    assert response.status_code == 400


def test_configured_limits_apply(es_url, index_prefix, admin) -> None:
    tight = make_test_app(es_url, index_prefix, AUDITLOG_MAX_REGEX_LENGTH=5,
                          AUDITLOG_MAX_AGGREGATIONS=1, AUDITLOG_MAX_BUCKETS=3).test_client()
    long_regex = search(tight, admin, query='{action=~"login|logout"}')
    assert long_regex.status_code == 400
    assert long_regex.json["field"] == "query"
    assert search(tight, admin, query='{action=~"lo.*"}').status_code == 200
    two = {"a": {"cardinality_aggregation": {"field": "action"}},
           "b": {"cardinality_aggregation": {"field": "actor.id"}}}
    assert search(tight, admin, aggs=two).json["field"] == "aggs"
    many = {"a": {"field_aggregation": {"field": "action", "topk": 4}}}
    assert search(tight, admin, aggs=many).json["field"] == "aggs"


def test_too_many_open_scrolls_is_429(client, admin, es, completeness_ids) -> None:
    # Room for exactly one more scroll than the node holds now (earlier tests' scrolls
    # may still be open until their keep-alive passes).
    stats = es.nodes.stats(metric="indices", index_metric="search")["nodes"]
    open_now = sum(n["indices"]["search"]["scroll_current"] for n in stats.values())
    es.cluster.put_settings(persistent={"search.max_open_scroll_context": open_now + 1})
    try:
        first = search(client, admin, **WINDOW, limit=1, scroll=True)
        assert first.status_code == 200 and first.json["scroll_id"]
        second = search(client, admin, **WINDOW, limit=1, scroll=True)
        assert second.status_code == 429
        assert second.json["code"] == "rate_limited"
        assert "Retry-After" in second.headers
    finally:
        es.cluster.put_settings(persistent={"search.max_open_scroll_context": None})
