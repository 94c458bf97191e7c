"""Ingest and read-by-id on a real node (issue: foundation)."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.conftest import make_test_app

# Seed 003 (Wasabi AiR): the two listed events and a third from its filters example.
WASABI_EVENTS = [
    {"id": "59de4bb09221034b071d83db64950d34",
     "actor": {"id": "59790c0f1ab46239e59188bed540bfc7"},
     "action": "login",
     "target": {"kind": "authenticate", "id": "59790c0f1ab46239e59188bed540bfc7"},
     "time": "2017-10-11T16:49:52.758191Z"},
    {"id": "59e12813db0201953dfe7214c4750e88", "actor": {"id": "59790c0f1ab46239e59188bed540bfc7"},
     "action": "enable", "target": {"kind": "feature", "id": "disabled_live_harvesting"},
     "time": "2017-10-13T20:54:43.14061Z"},
    {"id": "59e1281a0000000000000000000000aa", "actor": {"id": "59790c0f1ab46239e59188bed540bfc7"},
     "action": "create", "target": {"kind": "group", "id": "g-42", "additional_id": "loc-7"},
     "time": "2017-10-14T08:00:00.000001Z"},
]
# Seed 002 (Run:ai): the example record mapped to the event model.
RUNAI_EVENT = {
    "id": "12", "cluster_uuid": "71f69d83-ba66-4822-adf5-55ce55efd210", "tenant_id": 1001,
    "time": "2022-06-08T11:28:24.131Z", "action": "Create", "version": "1",
    "target": {"id": "51", "kind": "Department", "name": "MyDepartment123"},
    "actor": {"type": "User", "id": "96a4382e-afa5-4604-9eb1-c3071aa021fc", "name": "test@run.ai"},
    "outcome": "failure",
    "error": '{"status":404,"description":"Cluster with uuid \'19519f4b-e3a5-45c7-9451-'
             '0def7b931546\' does not exist","errorType":"BackendError"}',
    "context": {"user_agent": "Thunder Client (https://www.thunderclient.com)"},
    "body": {"name": "test1", "deservedGpus": 1, "allowOverQuota": False, "maxAllowedGpus": 1},
}


def post(client: FlaskClient, headers: dict[str, str], namespace: str, body: object,
         **kwargs: object):
    return client.post(f"/api/v1/namespaces/{namespace}/events?refresh=wait_for",
                       json=body, headers=headers, **kwargs)


def test_health_and_ready(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["templates"] is True


def test_seed_events_created_then_duplicates_and_read_back(client, admin) -> None:
    body = [*WASABI_EVENTS, RUNAI_EVENT]
    first = post(client, admin, "seeds", body)
    assert first.status_code == 200, first.json
    assert first.json["created"] == 4
    assert first.json["duplicates"] == 0
    assert first.json["failed"] == 0
    assert first.json["ids"] == [e["id"] for e in body]

    again = post(client, admin, "seeds", body)
    assert again.status_code == 200
    assert (again.json["created"], again.json["duplicates"]) == (0, 4)

    for sent in body:
        got = client.get(f"/api/v1/namespaces/seeds/events/{sent['id']}", headers=admin)
        assert got.status_code == 200
        assert got.json["time"] == sent["time"]  # fractional digits exactly as sent
        assert got.json["namespace"] == "seeds"
        assert got.json["action"] == sent["action"]
    runai = client.get("/api/v1/namespaces/seeds/events/12", headers=admin).json
    assert runai["tenant_id"] == "1001"
    assert runai["body"] == RUNAI_EVENT["body"]
    assert runai["context"] == RUNAI_EVENT["context"]
    assert runai["target"] == RUNAI_EVENT["target"]


def test_same_id_in_two_namespaces_gives_two_events(client, admin) -> None:
    event = {"id": "shared-1", "time": "2024-01-01T00:00:00Z", "action": "login"}
    assert post(client, admin, "ns-a", event).json["created"] == 1
    assert post(client, admin, "ns-b", {**event, "action": "logout"}).json["created"] == 1
    a = client.get("/api/v1/namespaces/ns-a/events/shared-1", headers=admin).json
    b = client.get("/api/v1/namespaces/ns-b/events/shared-1", headers=admin).json
    assert (a["action"], b["action"]) == ("login", "logout")
    assert client.get("/api/v1/namespaces/ns-c/events/shared-1", headers=admin).status_code == 404


def test_derived_id_is_stable_across_retries_and_offsets(client, admin) -> None:
    event = {"time": "2024-03-01T12:00:00.5+02:00", "action": "login", "actor": {"id": "u9"}}
    first = post(client, admin, "derived", event).json
    same_instant = {**event, "time": "2024-03-01T10:00:00.5Z"}
    second = post(client, admin, "derived", same_instant).json
    assert first["created"] == 1
    assert second["duplicates"] == 1
    assert first["ids"] == second["ids"]
    stored = client.get(f"/api/v1/namespaces/derived/events/{first['ids'][0]}",
                        headers=admin).json
    assert stored["time"] == "2024-03-01T10:00:00.5Z"
    assert stored["outcome"] == "unknown"


def test_unix_seconds_time_is_accepted(client, admin) -> None:
    result = post(client, admin, "unix", {"id": "u1", "time": 1507928083.140610,
                                          "action": "login"}).json
    assert result["created"] == 1
    stored = client.get("/api/v1/namespaces/unix/events/u1", headers=admin).json
    assert stored["time"] == "2017-10-13T20:54:43.14061Z"


def test_body_namespace_differs_from_url_is_400(client, admin) -> None:
    response = post(client, admin, "mine",
                    {"time": "2024-01-01T00:00:00Z", "action": "x", "namespace": "theirs"})
    assert response.status_code == 400
    assert "namespace" in response.json["errors"][0]["reason"]
    same = post(client, admin, "mine",
                {"time": "2024-01-01T00:00:00Z", "action": "x", "namespace": "mine"})
    assert same.status_code == 200


def test_invalid_events_listed_while_valid_ones_stored(client, admin) -> None:
    body = [
        {"id": "ok-1", "time": "2024-01-01T00:00:00Z", "action": "a"},
        {"id": "bad-1", "action": "missing time"},
        {"id": "bad-2", "time": "yesterday", "action": "a"},
        {"id": "ok-2", "time": "2024-01-01T00:00:01Z", "action": "a"},
        "not an object",
        {"id": "bad id with spaces", "time": "2024-01-01T00:00:00Z", "action": "a"},
        {"id": "bad-4", "time": "2024-01-01T00:00:00Z", "action": "a", "colour": "red"},
        {"id": "bad-5", "time": "2024-01-01T00:00:00Z", "action": "a", "outcome": "maybe"},
        {"id": "bad-6", "time": "2024-01-01T00:00:00Z", "action": "a", "source_ip": "999.1.1.1"},
    ]
    response = post(client, admin, "partial", body)
    assert response.status_code == 207
    assert response.json["created"] == 2
    assert response.json["failed"] == 7
    errors = {e["index"]: e for e in response.json["errors"]}
    assert sorted(errors) == [1, 2, 4, 5, 6, 7, 8]
    assert "time" in errors[1]["reason"]
    assert "yesterday" in errors[2]["reason"]
    assert "colour" in errors[6]["reason"]
    assert errors[1]["id"] == "bad-1"
    assert response.json["ids"][0] == "ok-1" and response.json["ids"][1] is None
    for event_id in ("ok-1", "ok-2"):
        assert client.get(f"/api/v1/namespaces/partial/events/{event_id}",
                          headers=admin).status_code == 200


def test_ndjson_body(client, admin) -> None:
    lines = "\n".join(json.dumps({"id": f"nd-{i}", "time": f"2024-02-0{i}T00:00:00Z",
                                  "action": "login"}) for i in range(1, 4))
    response = client.post("/api/v1/namespaces/nd/events?refresh=wait_for", data=lines + "\n",
                           headers={**admin, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200
    assert response.json["created"] == 3


@pytest.mark.parametrize(
    ("body", "content_type", "line", "column"),
    [
        ('{"time": "2024-01-01T00:00:00Z", "action": }', "application/json", 1, 44),
        ('[\n  {"action": "a"},\n  {"action" "b"}\n]', "application/json", 3, 13),
        ('{"time": 1, "action": "a"}\n{"oops"\n', "application/x-ndjson", 2, 8),
    ],
)
def test_malformed_json_is_400_with_position(client, admin, body, content_type, line,
                                             column) -> None:
    response = client.post("/api/v1/namespaces/bad/events", data=body,
                           headers={**admin, "Content-Type": content_type})
    assert response.status_code == 400
    assert response.json["code"] == "invalid_input"
    assert (response.json["line"], response.json["column"]) == (line, column)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-key"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ({"Authorization": "Bearer"}, 401),
    ],
)
def test_authentication_required(client, headers, status) -> None:
    response = post(client, headers, "auth", {"time": 1, "action": "a"})
    assert response.status_code == status
    assert response.json["code"] == "unauthenticated"
    assert client.get("/api/v1/namespaces/auth/events/x", headers=headers).status_code == 401


def test_apitoken_scheme_accepted(client, admin) -> None:
    token = {"Authorization": admin["Authorization"].replace("Bearer", "APIToken")}
    assert post(client, token, "auth", {"time": 1, "action": "a"}).status_code == 200


def test_limits_give_413(es_url, index_prefix, admin) -> None:
    small = make_test_app(es_url, index_prefix, AUDITLOG_MAX_BODY_BYTES=2000,
                          AUDITLOG_MAX_BATCH_EVENTS=5).test_client()
    events = [{"time": 1, "action": "a", "id": f"l{i}"} for i in range(6)]
    too_many = small.post("/api/v1/namespaces/lim/events", json=events, headers=admin)
    assert too_many.status_code == 413
    assert too_many.json["code"] == "payload_too_large"
    big = [{"time": 1, "action": "a" * 3000}]
    too_big = small.post("/api/v1/namespaces/lim/events", json=big, headers=admin)
    assert too_big.status_code == 413
    assert too_big.json["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/no/such/route", 404, "not_found"),
        ("delete", "/healthz", 405, "method_not_allowed"),
        ("get", "/api/v1/namespaces/-bad-/events/x", 400, "invalid_input"),
        ("post", "/api/v1/namespaces/ok/events?refresh=later", 400, "invalid_input"),
    ],
)
def test_errors_are_json(client, admin, method, path, status, code) -> None:
    response = getattr(client, method)(path, headers=admin, json={"time": 1, "action": "a"})
    assert response.status_code == status
    assert response.is_json
    assert response.json["code"] == code


def test_empty_body_is_400(client, admin) -> None:
    response = client.post("/api/v1/namespaces/e/events", data=b"",
                           headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400
