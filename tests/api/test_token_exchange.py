"""Credentials traded for a bearer token, as Immuta's and Run:ai's clients do first.

Each request here is the one such a client sends: Immuta's
``POST /bim/apikey/authenticate`` with a form field ``apikey`` (curl ``-d``), then
``Authorization: Bearer <token>``; Run:ai's ``POST /api/v1/token`` with the JSON
of its docs (``grantType`` and ``AppId``/``AppSecret`` or ``clientId``/
``clientSecret``), then the ``accessToken`` as a bearer; and Immuta's bare
``Authorization: <key>`` with no scheme.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.access import tokens as access_tokens
from app.audit.notes import get_writer
from app.model.timestamps import NS_PER_S, format_ns, parse_timestamp
from app.store.extension import store
from tests.api.api_keys import ADMIN, bearer, create_key
from tests.api.test_search import ingest
from tests.conftest import ADMIN_KEY, make_test_app

NS = "tok"
SECRET = "token-test-signing-secret-0123456789"
NOW_NS = time.time_ns()
EVENT = {"id": "tok-1", "time": format_ns(NOW_NS - 60 * NS_PER_S, 6), "action": "login",
         "outcome": "success", "actor": {"id": "7", "name": "ana@example.com"},
         "record_type": "authenticate", "target": {"kind": "user", "id": "7"}}
WINDOW = {"start_time": format_ns(NOW_NS - 300 * NS_PER_S),
          "end_time": format_ns(NOW_NS + 300 * NS_PER_S)}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
RUNAI_HEADERS = {"Accept": "*/*", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str) -> Flask:
    """The signing secret is fixed so tests can forge tokens; keys are not cached, so a
    key changed in Elasticsearch is seen at the next request."""
    return make_test_app(es_url, index_prefix, AUDITLOG_SECRET=SECRET,
                         AUDITLOG_KEY_CACHE_TTL=0, AUDITLOG_TOKEN_TTL=1800)


@pytest.fixture(scope="module")
def reader(app: Flask) -> dict[str, Any]:
    """A reader key of namespace ``tok`` (its creation answer: id, secret, ...)."""
    ingest(app.test_client(), ADMIN, NS, [EVENT])
    return create_key(app, "reader", NS)[0]


def immuta_token(client: FlaskClient, apikey: str) -> Any:
    return client.post("/bim/apikey/authenticate", data={"apikey": apikey}, headers=FORM)


def runai_token(client: FlaskClient, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/token", json=body, headers=RUNAI_HEADERS)


def test_immuta_form_apikey_for_a_token(client: FlaskClient, reader: dict[str, Any]) -> None:
    response = immuta_token(client, reader["secret"])
    assert response.status_code == 200, response.json
    assert set(response.json) == {"token"}
    hits = client.get("/audit", headers={**bearer(response.json["token"]),
                                         "Content-Type": "application/json"})
    assert hits.status_code == 200, hits.json
    assert [hit["id"] for hit in hits.json["hits"]] == ["tok-1"]


def test_immuta_json_apikey_for_a_token(client: FlaskClient, reader: dict[str, Any]) -> None:
    response = client.post("/bim/apikey/authenticate", json={"apikey": reader["secret"]})
    assert response.status_code == 200, response.json
    assert client.get("/audit", headers=bearer(response.json["token"])).status_code == 200


@pytest.mark.parametrize(("data", "status", "error"), [
    ({"apikey": "al_0123456789abcdef_" + "x" * 43}, 401, "Unauthorized"),
    ({"apikey": "not-a-key"}, 401, "Unauthorized"),
    ({}, 400, "Bad Request"),
    ({"apikey": ""}, 400, "Bad Request"),
])
def test_immuta_refusals_are_in_immutas_error_style(client: FlaskClient, data: dict[str, str],
                                                    status: int, error: str) -> None:
    response = immuta_token(client, **data) if data else client.post(
        "/bim/apikey/authenticate", data={}, headers=FORM)
    assert response.status_code == status
    assert response.json["statusCode"] == status
    assert response.json["error"] == error
    assert response.json["message"]


def test_immuta_wrong_secret_of_a_real_key_is_401(client: FlaskClient,
                                                  reader: dict[str, Any]) -> None:
    secret = reader["secret"]
    response = immuta_token(client, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert response.status_code == 401
    assert response.json == {"statusCode": 401, "error": "Unauthorized",
                             "message": "the API key is not valid (unknown, revoked or expired)"}


@pytest.mark.parametrize("names", [
    ("AppId", "AppSecret", "app_token"),
    ("appID", "appSecret", "app_token"),
    ("clientId", "clientSecret", "client_credentials"),
    ("clientID", "clientSecret", "client_credentials"),
])
def test_runai_credentials_for_an_access_token(client: FlaskClient, reader: dict[str, Any],
                                               names: tuple[str, str, str]) -> None:
    id_name, secret_name, grant = names
    response = runai_token(client, {"grantType": grant, id_name: reader["id"],
                                    secret_name: reader["secret"]})
    assert response.status_code == 200, response.json
    assert set(response.json) == {"accessToken"}
    records = client.get("/v1/k8s/audit", headers=bearer(response.json["accessToken"]))
    assert records.status_code == 200, records.json
    assert [record["id"] for record in records.json] == ["tok-1"]


def test_runai_admin_bootstrap_key_trades_as_admin_key(client: FlaskClient) -> None:
    response = runai_token(client, {"grantType": "client_credentials", "clientId": "admin-key",
                                    "clientSecret": ADMIN_KEY})
    assert response.status_code == 200, response.json
    keys = client.get("/api/v1/keys", headers=bearer(response.json["accessToken"]))
    assert keys.status_code == 200


@pytest.mark.parametrize(("body", "status"), [
    ({"grantType": "app_token", "AppId": "{id}", "AppSecret": "{secret}x"}, 401),
    ({"grantType": "app_token", "AppId": "0123456789abcdef", "AppSecret": "{secret}"}, 401),
    ({"grantType": "client_credentials", "clientId": "{id}",
      "clientSecret": "al_0123456789abcdef_" + "x" * 43}, 401),
    ({"grantType": "password", "username": "u", "password": "p"}, 400),
    ({"grantType": "app_token", "AppId": "{id}"}, 400),
    ({"AppId": "{id}", "AppSecret": "{secret}"}, 400),
    ({"grantType": "app_token", "AppId": 5, "AppSecret": "{secret}"}, 400),
])
def test_runai_refusals_are_in_runais_error_style(client: FlaskClient, reader: dict[str, Any],
                                                  body: dict[str, Any], status: int) -> None:
    filled = {name: value.format(**reader) if isinstance(value, str) else value
              for name, value in body.items()}
    response = runai_token(client, filled)
    assert response.status_code == status, response.json
    assert response.json["code"] == status
    assert isinstance(response.json["message"], str) and response.json["message"]


SURFACES = [
    ("POST", f"/api/v1/namespaces/{NS}/events/search", WINDOW),
    ("POST", f"/api/secret_management/namespaces/{NS}/voltshare/audit_logs", WINDOW),
    ("POST", f"/api/data/namespaces/{NS}/audit_logs", WINDOW),
    ("POST", f"/api/data/namespaces/{NS}/audit_logs/aggregation",
     {**WINDOW, "aggs": {"n": {"cardinality_aggregation": {"field": "action"}}}}),
    ("GET", "/audit", None),
    ("GET", "/audit/tok-1", None),
    ("GET", "/audit/apikey/activity", None),
    ("GET", "/v1/k8s/audit", None),
    ("GET", "/api/data/audit", None),
    ("GET", "/api/data/audit/tok-1", None),
    ("GET", f"/api/v1/namespaces/{NS}/events/tok-1", None),
    ("POST", f"/api/v1/namespaces/{NS}/events/aggregate",
     {**WINDOW, "aggs": {"n": {"cardinality_aggregation": {"field": "action"}}}}),
]


@pytest.mark.parametrize(("method", "path", "body"), SURFACES)
def test_a_token_is_a_bearer_on_every_surface(client: FlaskClient, reader: dict[str, Any],
                                              method: str, path: str,
                                              body: dict[str, Any] | None) -> None:
    token = runai_token(client, {"grantType": "app_token", "AppId": reader["id"],
                                 "AppSecret": reader["secret"]}).json["accessToken"]
    for headers in (bearer(token), {"Authorization": f"APIToken {token}"},
                    {"Authorization": token}):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 200, (headers, response.json)


@pytest.mark.parametrize(("method", "path", "body"), SURFACES)
def test_a_bare_key_without_scheme_is_a_bearer(client: FlaskClient, reader: dict[str, Any],
                                               method: str, path: str,
                                               body: dict[str, Any] | None) -> None:
    response = client.open(path, method=method, json=body,
                           headers={"Authorization": reader["secret"],
                                    "Content-Type": "application/json"})
    assert response.status_code == 200, response.json


def test_a_token_keeps_its_keys_namespaces_and_role(app: Flask, client: FlaskClient,
                                                    reader: dict[str, Any]) -> None:
    token = immuta_token(client, reader["secret"]).json["token"]
    other = client.post("/api/v1/namespaces/elsewhere/events/search", json=WINDOW,
                        headers=bearer(token))
    assert other.status_code == 403
    write = client.post(f"/api/v1/namespaces/{NS}/events", json={"time": 1, "action": "x"},
                        headers=bearer(token))
    assert write.status_code == 403
    assert client.get("/api/v1/keys", headers=bearer(token)).status_code == 403


def test_the_token_lives_for_the_configured_ttl(client: FlaskClient,
                                                reader: dict[str, Any]) -> None:
    token = immuta_token(client, reader["secret"]).json["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["sub"] == reader["id"]
    assert reader["secret"] not in token


def test_default_ttl_is_one_hour(es_url: str, index_prefix: str) -> None:
    token = make_test_app(es_url, index_prefix).test_client().post(
        "/bim/apikey/authenticate", data={"apikey": ADMIN_KEY}, headers=FORM).json["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600


def test_expired_tampered_or_foreign_tokens_are_401(
        es_url: str, index_prefix: str, app: Flask, client: FlaskClient,
        reader: dict[str, Any]) -> None:
    token = immuta_token(client, reader["secret"]).json["token"]
    # Another instance with the same secret accepts it; one with another secret does not.
    twin = make_test_app(es_url, index_prefix, AUDITLOG_SECRET=SECRET).test_client()
    assert twin.get("/audit", headers=bearer(token)).status_code == 200
    foreign = make_test_app(es_url, index_prefix, AUDITLOG_SECRET="x" * 40).test_client()
    assert foreign.get("/audit", headers=bearer(token)).status_code == 401
    with app.app_context():
        expired = access_tokens.issue(reader["id"], "admin-key", now=time.time() - 7200)
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    other_payload = jwt.encode({**claims, "sub": "0123456789abcdef"}, "k" * 32,
                               algorithm="HS256").split(".")[1]
    for forged in (expired, f"{header}.{other_payload}.{signature}",
                   f"{header}.{payload}.{signature[:-2]}AA",
                   jwt.encode(claims, None, algorithm="none")):
        response = client.get("/audit", headers=bearer(forged))
        assert response.status_code == 401, forged
        assert response.json["code"] == "unauthenticated"


def test_the_token_dies_when_its_key_is_revoked(app: Flask, client: FlaskClient) -> None:
    created, _ = create_key(app, "reader", NS)
    token = immuta_token(client, created["secret"]).json["token"]
    assert client.get("/audit", headers=bearer(token)).status_code == 200
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=ADMIN).status_code == 200
    assert client.get("/audit", headers=bearer(token)).status_code == 401
    assert immuta_token(client, created["secret"]).status_code == 401


def test_the_token_dies_when_its_key_expires(app: Flask, client: FlaskClient) -> None:
    soon = format_ns(time.time_ns() + 1_500_000_000, 6)
    created, _ = create_key(app, "reader", NS, expires_at=soon)
    token = runai_token(client, {"grantType": "client_credentials", "clientId": created["id"],
                                 "clientSecret": created["secret"]}).json["accessToken"]
    assert client.get("/v1/k8s/audit", headers=bearer(token)).status_code == 200
    while time.time_ns() < parse_timestamp(soon)[0]:
        time.sleep(0.1)
    assert client.get("/v1/k8s/audit", headers=bearer(token)).status_code == 401


def test_the_admin_keys_token_dies_when_the_admin_key_changes(es_url: str, index_prefix: str,
                                                              app: Flask,
                                                              client: FlaskClient) -> None:
    token = immuta_token(client, ADMIN_KEY).json["token"]
    assert client.get("/api/v1/keys", headers=bearer(token)).status_code == 200
    rotated = make_test_app(es_url, index_prefix, AUDITLOG_SECRET=SECRET,
                            AUDITLOG_ADMIN_KEY="a-new-admin-key-0123456789").test_client()
    assert rotated.get("/api/v1/keys", headers=bearer(token)).status_code == 401


def test_failed_exchanges_are_throttled_per_address(es_url: str, index_prefix: str) -> None:
    client = make_test_app(es_url, index_prefix).test_client()
    wrong = "al_0123456789abcdef_" + "x" * 43
    address = {"REMOTE_ADDR": "192.0.2.77"}
    statuses = [client.post("/bim/apikey/authenticate", data={"apikey": wrong}, headers=FORM,
                            environ_base=address).status_code for _ in range(20)]
    assert statuses == [401] * 20
    throttled = client.post("/api/v1/token", json={"grantType": "client_credentials",
                                                   "clientId": "0123456789abcdef",
                                                   "clientSecret": wrong},
                            environ_base=address)
    assert throttled.status_code == 429
    assert throttled.json["code"] == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # A wrong key on any surface is throttled too; a valid key from there still works.
    assert client.get("/audit", headers={"Authorization": wrong},
                      environ_base=address).status_code == 429
    assert client.get("/api/v1/keys", headers=ADMIN, environ_base=address).status_code == 200


def test_exchanges_are_in_the_keys_activity(app: Flask, client: FlaskClient) -> None:
    created, headers = create_key(app, "reader", NS)
    assert immuta_token(client, created["secret"]).status_code == 200
    assert runai_token(client, {"grantType": "app_token", "AppId": created["id"],
                                "AppSecret": created["secret"]}).status_code == 200
    get_writer(app).flush()
    with app.app_context():
        store.events.refresh()
    activity = client.get("/audit/apikey/activity", headers=headers).json["value"]
    assert [(entry["action"], entry["apiKeyId"]) for entry in activity] == [
        ("audit.key.token", created["id"])] * 2
