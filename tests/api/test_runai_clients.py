"""Run:ai audit requests as its clients send them: camelCase filters, unpadded dates."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "runai-clients"
EVENTS = [
    {"id": f"rc-{n}", "time": f"2023-01-0{3 + n // 4}T{(n % 4) * 6:02d}:00:00Z",
     "action": ("Create", "Update")[n % 2], "cluster_uuid": f"c-{n % 2}",
     "actor": {"type": ("User", "Application")[n % 3 == 0], "id": f"s-{n % 3}",
               "name": f"user{n % 2}@run.ai"},
     "target": {"kind": ("Project", "Department")[n % 2], "id": str(n % 4)}}
    for n in range(12)
]
PAIRS = [("cluster_uuid", "clusterUuid", "c-1"), ("source_type", "sourceType", "Application"),
         ("source_id", "sourceId", "s-2"), ("source_name", "sourceName", "user0@run.ai"),
         ("entity_type", "entityType", "Department"), ("entity_id", "entityId", "3")]


@pytest.fixture(scope="module")
def key(app: Flask) -> dict[str, str]:
    ingest(app.test_client(), ADMIN, NS, EVENTS)
    return {**create_key(app, "reader", NS)[1], "Accept": "application/json"}


def ids(client: FlaskClient, key: dict[str, str], **params: Any) -> list[str]:
    response = client.get("/v1/k8s/audit", query_string={"limit": 500, **params}, headers=key)
    assert response.status_code == 200, response.json
    return [str(record["id"]) for record in response.json]


def newest_first(predicate: Any) -> list[str]:
    return [e["id"] for e in sorted(EVENTS, key=lambda e: (e["time"], e["id"]), reverse=True)
            if predicate(e)]


@pytest.mark.parametrize(("snake", "camel", "value"), PAIRS)
def test_every_filter_in_camel_case(client: FlaskClient, key: dict[str, str], snake: str,
                                    camel: str, value: str) -> None:
    by_snake = ids(client, key, **{snake: value})
    assert by_snake
    assert by_snake != ids(client, key)
    assert ids(client, key, **{camel: value}) == by_snake
    assert ids(client, key, **{snake: value, camel: value}) == by_snake
    assert ids(client, key, **{snake: value, camel: "no-such-value"}) == []


def test_camel_case_filters_combine(client: FlaskClient, key: dict[str, str]) -> None:
    assert ids(client, key, clusterUuid="c-0", sourceType="User", entityType="Project") == \
        newest_first(lambda e: e["cluster_uuid"] == "c-0" and e["actor"]["type"] == "User"
                     and e["target"]["kind"] == "Project")


@pytest.mark.parametrize(("params", "expected"), [
    ({"start": "2023-1-5"}, newest_first(lambda e: e["time"] >= "2023-01-05")),
    ({"end": "2023-1-3"}, newest_first(lambda e: e["time"] < "2023-01-04")),
    ({"start": "2023-1-4", "end": "2023-1-4"},
     newest_first(lambda e: e["time"].startswith("2023-01-04"))),
    ({"start": "2023-1-4T0:00:00", "end": "2023-1-4T6:00:00"}, ["rc-5", "rc-4"]),
    ({"start": "2023-01-04T06:00:00", "end": "2023-01-04T12:00:00"}, ["rc-6", "rc-5"]),
    ({"start": "2023-1-4T8:00:00+02:00", "end": "2023-1-4T14:00:00+02:00"},
     ["rc-6", "rc-5"]),
    ({"start": "2023-01-04T06:00:00Z", "end": "2023-01-04T12:00:00.000Z"}, ["rc-6", "rc-5"]),
    ({"start": "2023-1-4T0:0:0"}, newest_first(lambda e: e["time"] >= "2023-01-04")),
])
def test_dates_padded_or_not(client: FlaskClient, key: dict[str, str], params: dict[str, str],
                             expected: list[str]) -> None:
    assert ids(client, key, **params) == expected


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2023-13-1"}, "start"),
    ({"start": "2023-2-30"}, "start"),
    ({"end": "2023-1-4T25:0:0"}, "end"),
    ({"end": "2023-1-4T1:60:00"}, "end"),
    ({"start": "23-1-4"}, "start"),
    ({"start": "2023-1-4T"}, "start"),
    ({"end": "1/4/2023"}, "end"),
    ({"sourcetype": "User"}, "sourcetype"),
    ({"sourceType": ["User", "Application"]}, "sourceType"),
])
def test_bad_values_are_400_naming_the_parameter(client: FlaskClient, key: dict[str, str],
                                                 params: dict[str, Any], field: str) -> None:
    response = client.get("/v1/k8s/audit", query_string=params, headers=key)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_download_takes_camel_case_too(client: FlaskClient, key: dict[str, str]) -> None:
    response = client.get("/v1/k8s/audit", headers=key, query_string={
        "download": "true", "sourceId": "s-1", "start": "2023-1-4"})
    assert response.status_code == 200
    assert [str(r["id"]) for r in response.json] == newest_first(
        lambda e: e["actor"]["id"] == "s-1" and e["time"] >= "2023-01-04")
