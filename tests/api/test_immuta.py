"""Immuta's audit API (seed 000) on a real node: search, one record, key activity, my queries."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.audit.notes import get_writer
from app.model.timestamps import NS_PER_S, format_ns, parse_timestamp
from app.store.extension import store
from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "immuta"
BASE_S = 1_632_754_800  # 2021-09-27T15:00:00Z
RECORD_TYPES = ("auditQuery", "nativeQuery", "authenticate", "spark", "dataSourceCreate")
OUTCOMES = ("success", "failure", "unknown")


def _event(n: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"im-{n:02d}",
        "time": format_ns((BASE_S + 60 * n) * NS_PER_S + 250_000_000 + n, 9),
        "action": ("query", "login")[n % 2],
        "outcome": OUTCOMES[(n // 3) % 3],
        "actor": {"id": str(n % 4 + 1), "name": f"user{n % 4 + 1}@example.com"},
        "data_source_id": str(200 + n % 3),
        "project_id": str(10 + n % 2),
        "record_type": RECORD_TYPES[n % 5],
    }
    if n % 2 == 0:
        event["blob_id"] = f"blob-{n % 6}"
    else:
        event["purpose"] = str(n % 7)
    return event


EVENTS = [_event(n) for n in range(30)]
FULL_EVENT = {
    "id": "29cfa243-5ca9-44a3-8600-35897e13f6fb", "time": "2021-09-27T16:00:00.123456789Z",
    "action": "query", "outcome": "success",
    "actor": {"id": "2", "name": "katie@example.com"},
    "data_source_id": "212", "project_id": "7", "record_type": "nativeQuery",
    "purpose": "3", "blob_id": "b-1", "query": "SELECT ssn FROM people",
    "context": {"component": "nativeSql", "accessType": "query"},
}
FULL_RECORD = {
    "id": "29cfa243-5ca9-44a3-8600-35897e13f6fb", "dateTime": "2021-09-27T16:00:00.123456789Z",
    "action": "query", "outcome": "success", "success": True, "profileId": 2,
    "userId": "katie@example.com", "projectId": 7, "dataSourceId": 212,
    "recordType": "nativeQuery", "purpose": 3, "purposeIds": [3],
    "blobId": "b-1", "query": "SELECT ssn FROM people",
    "extra": {"component": "nativeSql", "accessType": "query"},
}


@pytest.fixture(scope="module")
def key(app: Flask) -> dict[str, str]:
    """Headers of a reader key of namespace ``immuta`` only."""
    client = app.test_client()
    ingest(client, ADMIN, NS, EVENTS)
    ingest(client, ADMIN, "immuta-full", [FULL_EVENT])
    return create_key(app, "reader", NS)[1]


def search(client: FlaskClient, headers: dict[str, str], **params: Any) -> Any:
    return client.get("/audit", query_string=params, headers=headers)


def ids(body: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in body["hits"]]


def ordered(events: list[dict[str, Any]], descending: bool = True) -> list[str]:
    return [e["id"] for e in sorted(events, key=lambda e: (e["time"], e["id"]),
                                    reverse=descending)]


def test_search_shape_and_defaults(client: FlaskClient, key: dict[str, str]) -> None:
    response = search(client, key)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"hits", "count"}
    assert response.json["count"] == 30
    assert ids(response.json) == ordered(EVENTS)  # dateTime, newest first
    hit = response.json["hits"][-1]
    assert hit == {"id": "im-00", "dateTime": "2021-09-27T15:00:00.250000000Z",
                   "action": "query", "outcome": "success", "success": True, "profileId": 1,
                   "userId": "user1@example.com", "projectId": 10, "dataSourceId": 200,
                   "recordType": "auditQuery", "blobId": "blob-0"}


def test_record_in_immuta_names(client: FlaskClient) -> None:
    response = search(client, ADMIN, namespace="immuta-full")
    assert response.json == {"hits": [FULL_RECORD], "count": 1}
    one = client.get(f"/audit/{FULL_EVENT['id']}", query_string={"namespace": "immuta-full"},
                     headers=ADMIN)
    assert one.status_code == 200
    assert one.json == {"hits": [FULL_RECORD], "count": 1}


def test_default_size_is_50(client: FlaskClient) -> None:
    events = [{"time": f"2021-01-01T00:00:{n:02d}Z", "action": "login"} for n in range(55)]
    ingest(client, ADMIN, "immuta-55", events)
    body = search(client, ADMIN, namespace="immuta-55").json
    assert (len(body["hits"]), body["count"]) == (50, 55)


def _ids(predicate: Any) -> list[str]:
    return ordered([e for e in EVENTS if predicate(e)])


def _at(n: int) -> str:
    return EVENTS[n]["time"]


FILTER_CASES = [
    ({"dataSourceId": "201"}, _ids(lambda e: e["data_source_id"] == "201")),
    ({"dataSourceId": ["200", "202"]}, _ids(lambda e: e["data_source_id"] in ("200", "202"))),
    ({"dataSourceId": "200,202"}, _ids(lambda e: e["data_source_id"] in ("200", "202"))),
    ({"dataSourceId[]": ["200", "202"]}, _ids(lambda e: e["data_source_id"] in ("200", "202"))),
    ({"projectId": "11"}, _ids(lambda e: e["project_id"] == "11")),
    ({"profileId": ["1", "4"]}, _ids(lambda e: e["actor"]["id"] in ("1", "4"))),
    ({"recordType": "spark"}, _ids(lambda e: e["record_type"] == "spark")),
    ({"recordType": ["spark", "authenticate"]},
     _ids(lambda e: e["record_type"] in ("spark", "authenticate"))),
    ({"outcome": "failure"}, _ids(lambda e: e["outcome"] == "failure")),
    ({"outcome": ["failure", "unknown"]}, _ids(lambda e: e["outcome"] != "success")),
    ({"blobId": "blob-2"}, _ids(lambda e: e.get("blob_id") == "blob-2")),
    ({"purpose": "5"}, _ids(lambda e: e.get("purpose") == "5")),
    ({"dataSourceId": ["200", "201"], "profileId": "2", "outcome": "success"},
     _ids(lambda e: e["data_source_id"] in ("200", "201") and e["actor"]["id"] == "2"
          and e["outcome"] == "success")),
    ({"minDate": _at(20)}, _ids(lambda e: e["time"] >= _at(20))),
    ({"maxDate": _at(4)}, _ids(lambda e: e["time"] <= _at(4))),
    ({"minDate": _at(5), "maxDate": _at(7)}, ["im-07", "im-06", "im-05"]),
    # unix seconds, unix milliseconds (Immuta's dateTime form) and dates.
    ({"minDate": str(BASE_S + 60 * 28)}, ["im-29", "im-28"]),
    ({"minDate": str((BASE_S + 60 * 28) * 1000)}, ["im-29", "im-28"]),
    ({"maxDate": str((BASE_S + 60) * 1000 + 250)}, ["im-00"]),
    ({"minDate": "2021-09-27", "maxDate": "2021-09-27"}, _ids(lambda e: True)),
    ({"maxDate": "2021-09-26"}, []),
    ({"minDate": "2021-09-27T17:25:00+02:00"}, _ids(lambda e: e["time"] >= _at(25))),
    ({"profileId": "99"}, []),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_filters_narrow(client: FlaskClient, key: dict[str, str], params: dict[str, Any],
                        expected: list[str]) -> None:
    response = search(client, key, size=1000, **params)
    assert response.status_code == 200, response.json
    assert ids(response.json) == expected
    assert response.json["count"] == len(expected)


SORT_KEYS = {
    "dateTime": lambda e: (e["time"], e["id"]),
    "id": lambda e: (e["id"], e["time"], e["id"]),
    "profileId": lambda e: (e["actor"]["id"], e["time"], e["id"]),
    "recordType": lambda e: (e["record_type"], e["time"], e["id"]),
    "dataSourceId": lambda e: (e["data_source_id"], e["time"], e["id"]),
    "outcome": lambda e: (e["outcome"], e["time"], e["id"]),
    "userId": lambda e: (e["actor"]["name"], e["time"], e["id"]),
}


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("sort_field", list(SORT_KEYS))
def test_sort(client: FlaskClient, key: dict[str, str], sort_field: str,
              sort_order: str) -> None:
    body = search(client, key, sortField=sort_field, sortOrder=sort_order).json
    expected = sorted(EVENTS, key=SORT_KEYS[sort_field], reverse=sort_order == "desc")
    assert ids(body) == [e["id"] for e in expected]


def test_sort_with_missing_values_puts_them_last(client: FlaskClient,
                                                 key: dict[str, str]) -> None:
    hits = search(client, key, sortField="blobId", sortOrder="asc").json["hits"]
    assert [h.get("blobId") for h in hits[:15]] == sorted(h["blobId"] for h in hits[:15])
    assert all("blobId" not in h for h in hits[15:])


@pytest.mark.parametrize(("offset", "size"), [(0, 1), (0, 7), (7, 7), (28, 5), (30, 5),
                                              (100, 50)])
def test_offset_and_size(client: FlaskClient, key: dict[str, str], offset: int,
                         size: int) -> None:
    body = search(client, key, offset=offset, size=size, sortOrder="asc").json
    assert ids(body) == ordered(EVENTS, descending=False)[offset:offset + size]
    assert body["count"] == 30


@pytest.mark.parametrize(("params", "field"), [
    ({"sortOrder": "sideways"}, "sortOrder"),
    ({"sortField": "bogus"}, "sortField"),
    ({"sortField": "extra"}, "sortField"),
    ({"size": "0"}, "size"),
    ({"size": "1001"}, "size"),
    ({"size": "many"}, "size"),
    ({"offset": "-1"}, "offset"),
    ({"minDate": "last tuesday"}, "minDate"),
    ({"maxDate": "2021-02-30"}, "maxDate"),
    ({"minDate": "2021-09-28", "maxDate": "2021-09-27"}, "minDate"),
    ({"blobId": ["a", "b"]}, "blobId"),
    ({"dataSource": "200"}, "dataSource"),
    ({"offset": "9999", "size": "2"}, "offset"),
])
def test_bad_values_are_400_naming_the_parameter(client: FlaskClient, key: dict[str, str],
                                                 params: dict[str, Any], field: str) -> None:
    response = search(client, key, **params)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_offset_past_the_result_window_points_to_search_after(client: FlaskClient,
                                                              key: dict[str, str]) -> None:
    response = search(client, key, offset=10_000)
    assert response.status_code == 400
    assert "search_after" in response.json["message"]


def test_get_record(client: FlaskClient, key: dict[str, str]) -> None:
    response = client.get("/audit/im-03", headers=key)
    assert response.status_code == 200
    assert ids(response.json) == ["im-03"]
    assert response.json["count"] == 1
    assert client.get("/audit/nope", headers=key).status_code == 404
    # Another namespace's record is not found through this key.
    assert client.get(f"/audit/{FULL_EVENT['id']}", headers=key).status_code == 404
    assert client.get("/audit/im-03", headers=ADMIN).json["field"] == "namespace"


def _activity(app: Flask, client: FlaskClient, headers: dict[str, str], **params: Any) -> Any:
    get_writer(app).flush()
    with app.app_context():
        store.events.refresh()
    return client.get("/audit/apikey/activity", query_string=params, headers=headers)


def test_apikey_activity_is_the_calling_keys_own(app: Flask, client: FlaskClient) -> None:
    info, mine = create_key(app, "reader", NS)
    _, other = create_key(app, "reader", NS)
    assert search(client, mine, dataSourceId=["200", "201"], outcome="failure").status_code == 200
    assert search(client, mine, size=3).status_code == 200
    assert search(client, other).status_code == 200
    response = _activity(app, client, mine)
    assert response.status_code == 200
    body = response.json
    assert body["count"] == 2
    newest, oldest = body["value"]
    assert newest["action"] == oldest["action"] == "audit.search"
    assert newest["apiKeyId"] == info["id"]
    assert newest["extra"]["count"] == 3
    assert oldest["query"] == "dataSourceId=200 dataSourceId=201 outcome=failure"
    assert oldest["outcome"] == "success"
    assert parse_timestamp(newest["dateTime"])[0] >= parse_timestamp(oldest["dateTime"])[0]
    # The activity read is itself recorded; size pages it.
    again = _activity(app, client, mine, size=1).json
    assert again["count"] == 3
    assert [v["query"] for v in again["value"]] == [f"api_key_id={info['id']}"]


def test_apikey_activity_needs_a_key(client: FlaskClient) -> None:
    assert client.get("/audit/apikey/activity").status_code == 401
    response = client.get("/audit/apikey/activity", query_string={"namespace": NS},
                          headers=ADMIN)
    assert response.json["field"] == "namespace"


# Queries run on data source 212: (query, [(id, minute, target name)]) by actor 2.
MY_QUERIES = {
    "SELECT * FROM people": [("101", 1, "People"), ("102", 5, "People"), ("103", 9, "People v2")],
    "SELECT ssn FROM people": [("q-ssn", 7, "People")],
    "SELECT count(*) FROM people": [("104", 2, "People"), ("105", 3, "People")],
}


@pytest.fixture(scope="module")
def query_key(app: Flask) -> dict[str, str]:
    """A key of namespace ``immuta-q`` whose actor is profile 2, and that actor's queries."""
    events = [{"id": audit_id, "time": f"2021-10-01T10:{minute:02d}:00.5Z", "action": "query",
               "actor": {"id": "2"}, "data_source_id": "212", "query": text,
               "target": {"kind": "dataSource", "id": "212", "name": name}}
              for text, runs in MY_QUERIES.items() for audit_id, minute, name in runs]
    # Someone else's query on 212, actor 2's on another data source, a login without query.
    events += [
        {"id": "x1", "time": "2021-10-01T11:00:00Z", "action": "query", "actor": {"id": "3"},
         "data_source_id": "212", "query": "SELECT secret FROM people"},
        {"id": "x2", "time": "2021-10-01T11:00:00Z", "action": "query", "actor": {"id": "2"},
         "data_source_id": "213", "query": "SELECT * FROM cars"},
        {"id": "x3", "time": "2021-10-01T11:00:00Z", "action": "login", "actor": {"id": "2"},
         "data_source_id": "212"},
    ]
    ingest(app.test_client(), ADMIN, "immuta-q", events)
    return create_key(app, "reader", "immuta-q", actor_id="2")[1]


def mine(client: FlaskClient, headers: dict[str, str], source: str = "212",
         **params: Any) -> Any:
    return client.get(f"/audit/queries/dataSource/{source}/mine", query_string=params,
                      headers=headers)


def _unix(minute: int) -> int:
    return parse_timestamp(f"2021-10-01T10:{minute:02d}:00Z")[0] // NS_PER_S


def test_my_queries(client: FlaskClient, query_key: dict[str, str]) -> None:
    response = mine(client, query_key)
    assert response.status_code == 200, response.json
    assert response.json == [
        {"auditId": [103, 102, 101], "query": "SELECT * FROM people", "lastRun": _unix(9),
         "timesRun": 3, "name": "People v2"},
        {"auditId": ["q-ssn"], "query": "SELECT ssn FROM people", "lastRun": _unix(7),
         "timesRun": 1, "name": "People"},
        {"auditId": [105, 104], "query": "SELECT count(*) FROM people", "lastRun": _unix(3),
         "timesRun": 2, "name": "People"},
    ]


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["SELECT * FROM people", "SELECT ssn FROM people", "SELECT count(*) FROM people"]),
    ({"sortOrder": "asc"},
     ["SELECT count(*) FROM people", "SELECT ssn FROM people", "SELECT * FROM people"]),
    ({"sortField": "timesRun"},
     ["SELECT * FROM people", "SELECT count(*) FROM people", "SELECT ssn FROM people"]),
    ({"sortField": "query", "sortOrder": "asc"},
     ["SELECT * FROM people", "SELECT count(*) FROM people", "SELECT ssn FROM people"]),
    ({"sortField": "lastRun", "offset": 1, "size": 1}, ["SELECT ssn FROM people"]),
    ({"offset": 3}, []),
])
def test_my_queries_sort_and_page(client: FlaskClient, query_key: dict[str, str],
                                  params: dict[str, Any], expected: list[str]) -> None:
    assert [q["query"] for q in mine(client, query_key, **params).json] == expected


def test_my_queries_of_another_data_source_and_bad_values(client: FlaskClient,
                                                          query_key: dict[str, str]) -> None:
    assert [q["query"] for q in mine(client, query_key, "213").json] == ["SELECT * FROM cars"]
    assert mine(client, query_key, "999").json == []
    for params, field in [({"sortOrder": "sideways"}, "sortOrder"),
                          ({"sortField": "profileId"}, "sortField"),
                          ({"size": "0"}, "size"), ({"offset": "-2"}, "offset")]:
        response = mine(client, query_key, **params)
        assert (response.status_code, response.json["field"]) == (400, field)


def test_my_queries_need_a_key_with_an_actor(app: Flask, client: FlaskClient,
                                             query_key: dict[str, str]) -> None:
    _, no_actor = create_key(app, "reader", "immuta-q")
    assert mine(client, no_actor).status_code == 403


def test_my_queries_page_through_more_than_one_composite_page(app: Flask,
                                                              client: FlaskClient) -> None:
    events = [{"time": f"2021-10-02T00:00:{n % 60:02d}Z", "action": "query",
               "actor": {"id": "9"}, "data_source_id": "1", "query": f"q{n:04d}"}
              for n in range(1_050)]
    ingest(client, ADMIN, "immuta-many", events)
    headers = create_key(app, "reader", "immuta-many", actor_id="9")[1]
    page = mine(client, headers, "1", sortField="query", sortOrder="asc", offset=1_000,
                size=1_000).json
    assert [q["query"] for q in page] == [f"q{n:04d}" for n in range(1_000, 1_050)]
    assert all(q["timesRun"] == 1 for q in page)
