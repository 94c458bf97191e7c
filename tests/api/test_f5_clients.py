"""F5 audit-log requests as protobuf-generated clients send them, on both F5 paths.

Such clients write every field of the request message, zero values included
(``"limit": 0``, ``"start_time": ""``, an empty ``sort_values``), may write
int64 values as JSON strings, and may send fields this service does not know.
The voltshare path and the tenant-wide ``/api/data/namespaces/{ns}/audit_logs``
answer alike.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.model.timestamps import NS_PER_S, format_ns
from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "f5proto"
NOW_NS = time.time_ns()
RECENT = [{"id": f"f5p-{n}", "time": format_ns(NOW_NS - (60 + n) * NS_PER_S, 6),
           "action": ("login", "logout")[n % 2], "actor": {"id": f"u{n % 3}"}}
          for n in range(5)]
OLD = {"id": "f5p-old", "time": format_ns(NOW_NS - 20 * 60 * NS_PER_S, 6), "action": "login"}
# 510 events an hour ago, one second apart: more than the default limit.
MANY = [{"id": f"f5m-{n:03d}", "time": format_ns(NOW_NS - (3600 + n) * NS_PER_S, 6),
         "action": "read"} for n in range(510)]
MANY_WINDOW = {"start_time": str((NOW_NS // NS_PER_S) - 3600 - 600),
               "end_time": str((NOW_NS // NS_PER_S) - 3500)}
BASES = ["/api/secret_management/namespaces/{ns}/voltshare", "/api/data/namespaces/{ns}"]
# Every field of AuditLogRequest at its proto3 zero value.
ZERO_REQUEST = {"aggs": {}, "end_time": "", "limit": 0, "namespace": "", "query": "",
                "scroll": False, "sort": "", "start_time": "", "search_after": False,
                "sort_values": {"last_doc_id": "", "last_timestamp": 0}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.fixture(scope="module")
def key(app: Flask) -> dict[str, str]:
    client = app.test_client()
    ingest(client, ADMIN, NS, [*RECENT, OLD, *MANY])
    return {**create_key(app, "reader", NS)[1], **HEADERS}


def post(client: FlaskClient, headers: dict[str, str], base: str, suffix: str,
         body: Any) -> Any:
    return client.post(base.format(ns=NS) + "/audit_logs" + suffix,
                       data=orjson.dumps(body), headers=headers)


def log_ids(body: dict[str, Any]) -> list[str]:
    return [orjson.loads(log)["id"] for log in body["logs"]]


@pytest.mark.parametrize("base", BASES)
def test_all_zero_request_is_the_default_search(client: FlaskClient, key: dict[str, str],
                                                base: str) -> None:
    response = post(client, key, base, "", ZERO_REQUEST)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"aggs", "logs", "scroll_id", "total_hits", "last_sort_values"}
    # the last 10 minutes, newest first, no scroll
    assert log_ids(response.json) == [e["id"] for e in RECENT]
    assert response.json["total_hits"] == "5"
    assert response.json["scroll_id"] == ""


@pytest.mark.parametrize("base", BASES)
def test_limit_zero_is_the_default_500(client: FlaskClient, key: dict[str, str],
                                       base: str) -> None:
    body = {**ZERO_REQUEST, **MANY_WINDOW}
    response = post(client, key, base, "", body)
    assert response.status_code == 200, response.json
    assert len(response.json["logs"]) == 500
    assert response.json["total_hits"] == "510"


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(("zeros", "expected"), [
    ({"start_time": "", "end_time": ""}, [e["id"] for e in RECENT]),
    ({"sort": ""}, [e["id"] for e in RECENT]),
    ({"query": ""}, [e["id"] for e in RECENT]),
    ({"sort_values": {"last_doc_id": "", "last_timestamp": 0}},
     [e["id"] for e in RECENT]),
    ({"sort_values": {"last_doc_id": "", "last_timestamp": "0"}},
     [e["id"] for e in RECENT]),
    ({"sort_values": {}}, [e["id"] for e in RECENT]),
    ({"sort": "", "query": '{action="login"}'}, ["f5p-0", "f5p-2", "f5p-4"]),
    ({"sort": "ASCENDING", "query": ""}, [e["id"] for e in reversed(RECENT)]),
])
def test_empty_values_mean_unset(client: FlaskClient, key: dict[str, str], base: str,
                                 zeros: dict[str, Any], expected: list[str]) -> None:
    response = post(client, key, base, "", zeros)
    assert response.status_code == 200, response.json
    assert log_ids(response.json) == expected


@pytest.mark.parametrize("base", BASES)
def test_int64_values_as_strings_or_numbers(client: FlaskClient, key: dict[str, str],
                                            base: str) -> None:
    first = post(client, key, base, "", {**ZERO_REQUEST, "limit": "2", "search_after": True})
    assert first.status_code == 200, first.json
    assert log_ids(first.json) == ["f5p-0", "f5p-1"]
    last = first.json["last_sort_values"]
    for timestamp in (str(last["last_timestamp"]), int(last["last_timestamp"])):
        after = post(client, key, base, "", {
            **ZERO_REQUEST, "limit": 2, "search_after": True,
            "sort_values": {"last_doc_id": last["last_doc_id"], "last_timestamp": timestamp}})
        assert after.status_code == 200, after.json
        assert log_ids(after.json) == ["f5p-2", "f5p-3"]
    topk = post(client, key, base, "/aggregation", {
        "aggs": {"top": {"field_aggregation": {"field": "actor.id", "topk": "2"}}},
        "start_time": "", "end_time": "", "namespace": "", "query": ""})
    assert topk.status_code == 200, topk.json
    assert len(topk.json["aggs"]["top"]["buckets"]) == 2


@pytest.mark.parametrize("base", BASES)
def test_unknown_fields_are_ignored(client: FlaskClient, key: dict[str, str], base: str) -> None:
    body = {**ZERO_REQUEST, "limit": 1, "tenant": "acme", "labels": {"a": "b"},
            "sort_values": {"last_doc_id": "", "last_timestamp": 0, "shard": 3},
            "aggs": {"n": {"cardinality_aggregation": {"field": "action", "precision": 0}}}}
    response = post(client, key, base, "", body)
    assert response.status_code == 200, response.json
    assert log_ids(response.json) == ["f5p-0"]
    assert response.json["aggs"] == {"n": {"value": 2}}


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(("body", "field"), [
    ({"limit": "many"}, "limit"),
    ({"limit": 501}, "limit"),
    ({"limit": -1}, "limit"),
    ({"scroll": "perhaps"}, "scroll"),
    ({"sort": "SIDEWAYS"}, "sort"),
    ({"sort": 1}, "sort"),
    ({"query": 5}, "query"),
    ({"start_time": True}, "start_time"),
    ({"start_time": "yesterday"}, "start_time"),
    ({"sort_values": "x"}, "sort_values"),
    ({"sort_values": {"last_doc_id": "x", "last_timestamp": "soon"}},
     "sort_values.last_timestamp"),
    ({"aggs": {"top": {"field_aggregation": {"field": "action", "topk": "ten"}}}}, "aggs.top"),
    ({"namespace": "elsewhere"}, "namespace"),
])
def test_wrong_types_are_still_400(client: FlaskClient, key: dict[str, str], base: str,
                                   body: dict[str, Any], field: str) -> None:
    response = post(client, key, base, "", body)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


@pytest.mark.parametrize("base", BASES)
def test_zero_values_in_aggregations_mean_defaults(client: FlaskClient, key: dict[str, str],
                                                  base: str) -> None:
    body = {"aggs": {"top": {"field_aggregation": {"field": "actor.id", "topk": 0}},
                     "per_min": {"date_aggregation": {"step": "1m", "field": ""}}},
            "start_time": "", "end_time": "", "namespace": "", "query": ""}
    response = post(client, key, base, "/aggregation", body)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"aggs", "total_hits"}
    assert response.json["total_hits"] == "5"
    assert {b["key"] for b in response.json["aggs"]["top"]["buckets"]} == {"u0", "u1", "u2"}
    assert sum(b["count"] for b in response.json["aggs"]["per_min"]["buckets"]) == 5


@pytest.mark.parametrize("base", BASES)
def test_scroll_with_zero_values_and_unknown_fields(client: FlaskClient, key: dict[str, str],
                                                    base: str) -> None:
    first = post(client, key, base, "", {**ZERO_REQUEST, "limit": "3", "scroll": True})
    assert first.status_code == 200, first.json
    assert log_ids(first.json) == ["f5p-0", "f5p-1", "f5p-2"]
    second = post(client, key, base, "/scroll", {"namespace": "", "trace": "x",
                                                 "scroll_id": first.json["scroll_id"]})
    assert second.status_code == 200, second.json
    assert log_ids(second.json) == ["f5p-3", "f5p-4"]
    assert second.json["scroll_id"] == ""
    missing = post(client, key, base, "/scroll", {"namespace": "", "scroll_id": ""})
    assert missing.status_code == 400
    assert missing.json["field"] == "scroll_id"


def test_tenant_wide_path_answers_like_voltshare(client: FlaskClient,
                                                 key: dict[str, str]) -> None:
    body = {**ZERO_REQUEST, "query": '{action="logout"}', "aggs": {
        "top": {"field_aggregation": {"field": "actor.id"}}}}
    volt, tenant = (post(client, key, base, "", body).json for base in BASES)
    assert volt == tenant
    assert log_ids(tenant) == ["f5p-1", "f5p-3"]


def test_the_native_search_stays_strict(client: FlaskClient, key: dict[str, str]) -> None:
    for body, field in (({"limit": 0}, "limit"), ({"tenant": "acme"}, "tenant"),
                        ({"sort": ""}, "sort")):
        response = client.post(f"/api/v1/namespaces/{NS}/events/search", json=body, headers=key)
        assert response.status_code == 400, response.json
        assert response.json["field"] == field
