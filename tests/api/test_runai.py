"""Run:ai's audit log API (seed 002) on a real node: the seed's record, filters, download."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.audit.notes import get_writer
from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "runai"
ERROR = ('{"status":404,"description":"Cluster with uuid '
         "'19519f4b-e3a5-45c7-9451-0def7b931546' does not exist\",\"errorType\":\"BackendError\"}")
# The seed's example record, as ingested (canonical names; a failed action).
SEED_EVENT = {
    "id": "12", "time": "2022-06-08T11:28:24.131Z", "action": "Create", "version": "1",
    "cluster_uuid": "71f69d83-ba66-4822-adf5-55ce55efd210", "tenant_id": "1001",
    "outcome": "failure", "error": ERROR,
    "actor": {"type": "User", "id": "96a4382e-afa5-4604-9eb1-c3071aa021fc",
              "name": "test@run.ai"},
    "target": {"kind": "Department", "id": "51", "name": "MyDepartment123"},
    "context": {"user_agent": "Thunder Client (https://www.thunderclient.com)"},
    "body": {"name": "test1", "deservedGpus": 1, "allowOverQuota": False, "maxAllowedGpus": 1},
}
# The seed's example values in the seed's names; `success` is derived from the outcome.
SEED_RECORD = {
    "id": 12, "clusterUuid": "71f69d83-ba66-4822-adf5-55ce55efd210", "tenantId": 1001,
    "happenedAt": "2022-06-08T11:28:24.131Z", "action": "Create", "version": "1",
    "entityId": "51", "entityType": "Department", "entityName": "MyDepartment123",
    "sourceType": "User", "sourceId": "96a4382e-afa5-4604-9eb1-c3071aa021fc",
    "sourceName": "test@run.ai", "success": False, "error": ERROR,
    "context": {"user_agent": "Thunder Client (https://www.thunderclient.com)"},
    "body": {"name": "test1", "deservedGpus": 1, "allowOverQuota": False, "maxAllowedGpus": 1},
}
# The seed's parameter examples that fit its example record.
SEED_PARAMS = {"start": "2022-06-07T09:01:02", "action": "Create", "source_type": "User",
               "source_id": "96a4382e-afa5-4604-9eb1-c3071aa021fc",
               "source_name": "test@run.ai", "entity_type": "Department", "entity_id": "51"}


def _more_events() -> list[dict[str, Any]]:
    """24 events over 2022-06-05..07, varied in every filtered field."""
    events = []
    for n in range(24):
        events.append({
            "id": f"r-{n:02d}", "time": f"2022-06-{5 + n // 8:02d}T{n:02d}:30:00Z",
            "action": ("Create", "Update", "Delete")[n % 3],
            "cluster_uuid": f"cluster-{n % 2}", "tenant_id": "t-7" if n % 5 else "1001",
            "outcome": ("success", "failure", "unknown")[n % 3 if n % 4 else 0],
            "actor": {"type": ("User", "Application")[n % 2], "id": f"src-{n % 3}",
                      "name": f"user{n % 4}@run.ai"},
            "target": {"kind": ("Project", "Department")[n % 2], "id": str(n % 6)},
        })
    return events


EVENTS = [SEED_EVENT, *_more_events()]


@pytest.fixture(scope="module")
def key(app: Flask) -> dict[str, str]:
    """Headers of a reader key of namespace ``runai`` only."""
    ingest(app.test_client(), ADMIN, NS, EVENTS)
    return create_key(app, "reader", NS)[1]


def audit(client: FlaskClient, headers: dict[str, str], **params: Any) -> Any:
    return client.get("/v1/k8s/audit", query_string=params, headers=headers)


def newest_first(events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in sorted(events, key=lambda e: (e["time"], e["id"]), reverse=True)]


def test_seed_example_record(client: FlaskClient, key: dict[str, str]) -> None:
    response = audit(client, key, **SEED_PARAMS)
    assert response.status_code == 200, response.json
    assert response.json == [SEED_RECORD]


def test_unknown_outcome_has_no_success_and_other_ids_stay_strings(
        client: FlaskClient, key: dict[str, str]) -> None:
    records = {r["id"]: r for r in audit(client, key, limit=500).json}
    assert records["r-01"]["success"] is False
    assert records["r-04"]["success"] is True
    assert "success" not in records["r-02"]
    assert records["r-01"]["tenantId"] == "t-7"
    assert records["r-00"]["tenantId"] == 1001


def _ids(predicate: Any) -> list[str]:
    return newest_first([e for e in EVENTS if predicate(e)])


FILTER_CASES = [
    ({}, _ids(lambda e: True)),
    ({"cluster_uuid": "cluster-1"}, _ids(lambda e: e["cluster_uuid"] == "cluster-1")),
    ({"action": "Delete"}, _ids(lambda e: e["action"] == "Delete")),
    ({"source_type": "Application"}, _ids(lambda e: e["actor"]["type"] == "Application")),
    ({"source_id": "src-2"}, _ids(lambda e: e["actor"]["id"] == "src-2")),
    ({"source_name": "user3@run.ai"}, _ids(lambda e: e["actor"]["name"] == "user3@run.ai")),
    ({"entity_type": "Project"}, _ids(lambda e: e["target"]["kind"] == "Project")),
    ({"entity_id": "4"}, _ids(lambda e: e["target"]["id"] == "4")),
    ({"success": "true"}, _ids(lambda e: e["outcome"] == "success")),
    ({"success": "false"}, _ids(lambda e: e["outcome"] == "failure")),
    ({"success": ""}, _ids(lambda e: True)),
    ({"action": "Create", "source_type": "User"},
     _ids(lambda e: e["action"] == "Create" and e["actor"]["type"] == "User")),
    # start/end: inclusive; yyyy-MM-dd, yyyy-MM-ddTHH:mm:ss (UTC) or RFC 3339.
    ({"start": "2022-06-07"}, _ids(lambda e: e["time"] >= "2022-06-07")),
    ({"end": "2022-06-05"}, _ids(lambda e: e["time"] < "2022-06-06")),
    ({"start": "2022-06-06", "end": "2022-06-06"}, _ids(lambda e: e["time"][:10] == "2022-06-06")),
    ({"start": "2022-06-05T03:30:00", "end": "2022-06-05T05:30:00"},
     ["r-05", "r-04", "r-03"]),
    ({"start": "2022-06-05T05:30:00+02:00"}, _ids(lambda e: e["time"] >= "2022-06-05T03:30")),
    ({"end": "2022-06-08T11:28:24.130Z"}, _ids(lambda e: e["id"] != "12")),
    ({"source_id": "nobody"}, []),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_filters_narrow(client: FlaskClient, key: dict[str, str], params: dict[str, str],
                        expected: list[str]) -> None:
    response = audit(client, key, limit=500, **params)
    assert response.status_code == 200, response.json
    assert [r["id"] if isinstance(r["id"], str) else str(r["id"]) for r in response.json] \
        == expected


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (5, 0), (5, 5), (10, 20), (50, 24),
                                               (50, 25), (50, 100)])
def test_limit_and_offset(client: FlaskClient, key: dict[str, str], limit: int,
                          offset: int) -> None:
    records = audit(client, key, limit=limit, offset=offset).json
    assert [str(r["id"]) for r in records] == newest_first(EVENTS)[offset:offset + limit]


def test_default_limit_is_50(app: Flask, client: FlaskClient) -> None:
    events = [{"time": f"2022-01-01T00:00:{n:02d}Z", "action": "Create"} for n in range(60)]
    ingest(client, ADMIN, "runai-sixty", events)
    assert len(audit(client, ADMIN, namespace="runai-sixty").json) == 50


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "ten"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"limit": "-3"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"offset": "x"}, "offset"),
    ({"start": "not a date"}, "start"),
    ({"start": "2022-02-30"}, "start"),
    ({"end": "2022-06-07T25:00:00"}, "end"),
    ({"end": "07/06/2022"}, "end"),
    ({"start": "2022-06-08", "end": "2022-06-07"}, "start"),
    ({"success": "maybe"}, "success"),
    ({"download": "please"}, "download"),
    ({"tenant": "1"}, "tenant"),
    ({"action": ["Create", "Update"]}, "action"),
    ({"offset": "9990", "limit": "50"}, "offset"),
])
def test_bad_values_are_400_naming_the_parameter(client: FlaskClient, key: dict[str, str],
                                                 params: dict[str, Any], field: str) -> None:
    response = audit(client, key, **params)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_offset_past_the_result_window_points_to_search_after(client: FlaskClient,
                                                              key: dict[str, str]) -> None:
    response = audit(client, key, offset=10_000)
    assert response.status_code == 400
    assert "search_after" in response.json["message"]


def test_download_is_every_match_as_logs_json(client: FlaskClient, key: dict[str, str]) -> None:
    response = audit(client, key, download="true", limit=1, action="Create")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="logs.json"'
    assert response.mimetype == "application/json"
    records = orjson.loads(response.data)
    assert [str(r["id"]) for r in records] == _ids(lambda e: e["action"] == "Create")
    assert SEED_RECORD in records


def test_download_of_nothing_is_an_empty_array(client: FlaskClient, key: dict[str, str]) -> None:
    response = audit(client, key, download="true", source_id="nobody")
    assert response.status_code == 200
    assert orjson.loads(response.data) == []


def test_download_is_recorded_as_an_export(app: Flask, client: FlaskClient) -> None:
    info, headers = create_key(app, "reader", NS)
    response = audit(client, headers, download="true")
    assert len(orjson.loads(response.get_data())) == len(EVENTS)
    response.close()  # the event is recorded when the stream is closed
    get_writer(app).flush()
    app.extensions["auditlog.store"].events.refresh()
    activity = client.get("/audit/apikey/activity", headers=headers).json["value"]
    assert activity[0]["action"] == "audit.export"
    assert activity[0]["extra"]["count"] == len(EVENTS)
    assert activity[0]["apiKeyId"] == info["id"]


BULK = 20_000


def test_download_streams_twenty_thousand_records(client: FlaskClient) -> None:
    for start in range(0, BULK, 5_000):
        batch = [{"id": f"b{n:05d}", "time": f"2023-03-01T00:00:00.{n:06d}Z",
                  "action": "Create", "target": {"kind": "Job", "id": str(n)}}
                 for n in range(start, start + 5_000)]
        refresh = "?refresh=wait_for" if start + 5_000 >= BULK else ""
        response = client.post(f"/api/v1/namespaces/runai-bulk/events{refresh}", json=batch,
                               headers=ADMIN)
        assert response.status_code == 200
        assert response.json["created"] == 5_000
    response = client.get("/v1/k8s/audit", headers=ADMIN,
                          query_string={"namespace": "runai-bulk", "download": "true"})
    assert response.status_code == 200
    assert response.is_streamed
    records = orjson.loads(response.get_data())
    assert len(records) == BULK
    assert records[0]["id"] == f"b{BULK - 1:05d}"
    assert len({r["id"] for r in records}) == BULK
