"""API keys on a real node: creation, roles, revocation, expiry, secrecy, CLI (DESIGN §8)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from app.cli.commands import main as cli
from app.model.timestamps import format_ns, parse_timestamp
from app.store.extension import store
from tests.api.api_keys import ADMIN, bearer, create_key
from tests.conftest import make_test_app

EVENT = {"time": "2024-05-01T12:00:00Z", "action": "login", "actor": {"id": "u1"}}
PUBLIC_FIELDS = {"id", "name", "role", "namespaces", "actor_id", "expires_at", "created_at",
                 "revoked", "revoked_at"}


def ingest(client: FlaskClient, headers: dict[str, str], namespace: str, event=EVENT):
    return client.post(f"/api/v1/namespaces/{namespace}/events?refresh=wait_for",
                       json=event, headers=headers)


def read(client: FlaskClient, headers: dict[str, str], namespace: str, event_id: str = "e-1"):
    return client.get(f"/api/v1/namespaces/{namespace}/events/{event_id}", headers=headers)


@pytest.fixture(scope="module", autouse=True)
def stored_event(app: Flask) -> None:
    for namespace in ("k-one", "k-two"):
        response = ingest(app.test_client(), ADMIN, namespace, {**EVENT, "id": "e-1"})
        assert response.status_code == 200, response.json


def test_create_answers_secret_once_and_never_again(app: Flask, client: FlaskClient) -> None:
    created, _ = create_key(app, "reader", "k-one", "k-two", actor_id="svc-siem",
                            expires_at="2099-01-01T00:00:00+02:00")
    secret = created["secret"]
    assert secret.startswith(f"al_{created['id']}_") and len(secret) > 50
    assert created["namespaces"] == ["k-one", "k-two"]
    assert (created["role"], created["actor_id"]) == ("reader", "svc-siem")
    assert created["expires_at"] == "2098-12-31T22:00:00Z"
    parse_timestamp(created["created_at"])

    listed = client.get("/api/v1/keys", headers=ADMIN)
    one = client.get(f"/api/v1/keys/{created['id']}", headers=ADMIN)
    revoked = client.delete(f"/api/v1/keys/{created['id']}", headers=ADMIN)
    for response in (listed, one, revoked):
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True)
        assert "secret" not in response.get_data(as_text=True)  # neither secret nor hash
    assert set(one.json) == PUBLIC_FIELDS
    assert created["id"] in {key["id"] for key in listed.json["keys"]}
    assert revoked.json["revoked"] is True


@pytest.mark.parametrize(("role", "can_read", "can_ingest"), [
    ("reader", True, False),
    ("writer", True, True),
    ("admin", True, True),
])
def test_roles(app: Flask, client: FlaskClient, role: str, can_read: bool,
               can_ingest: bool) -> None:
    _, headers = create_key(app, role, "k-one")
    assert read(client, headers, "k-one").status_code == (200 if can_read else 403)
    ingested = ingest(client, headers, "k-one")
    assert ingested.status_code == (200 if can_ingest else 403), ingested.json
    # Other namespaces: only admins use every one.
    other = 200 if role == "admin" else 403
    assert read(client, headers, "k-two").status_code == other
    assert client.get("/api/v1/keys", headers=headers).status_code == other


def test_forbidden_and_unauthenticated_are_json(app: Flask, client: FlaskClient) -> None:
    _, reader = create_key(app, "reader", "k-one")
    refused = ingest(client, reader, "k-one")
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    unknown = read(client, bearer("al_0123456789abcdef_" + "x" * 43), "k-one")
    assert unknown.status_code == 401
    assert unknown.json["code"] == "unauthenticated"
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    bearer("not-a-key"),
    bearer("al_0123456789abcdef_" + "x" * 43),
    bearer("al_zzzz_" + "x" * 43),
])
def test_missing_or_unknown_key_is_401(client: FlaskClient, headers: dict[str, str]) -> None:
    assert read(client, headers, "k-one").status_code == 401


def test_tampered_secret_of_a_real_key_is_401(app: Flask, client: FlaskClient) -> None:
    created, headers = create_key(app, "reader", "k-one")
    assert read(client, headers, "k-one").status_code == 200
    secret = created["secret"]
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert read(client, bearer(tampered), "k-one").status_code == 401
    assert read(client, {"Authorization": f"APIToken {secret}"}, "k-one").status_code == 200


def test_revoked_key_is_401_at_once(app: Flask, client: FlaskClient) -> None:
    created, headers = create_key(app, "writer", "k-one")
    assert read(client, headers, "k-one").status_code == 200  # now cached
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=ADMIN).status_code == 200
    assert read(client, headers, "k-one").status_code == 401
    assert ingest(client, headers, "k-one").status_code == 401
    again = client.delete(f"/api/v1/keys/{created['id']}", headers=ADMIN)
    assert again.status_code == 200 and again.json["revoked"] is True


def test_revocation_through_another_instance_takes_effect_within_the_ttl(
        es_url: str, index_prefix: str, app: Flask) -> None:
    other = make_test_app(es_url, index_prefix, AUDITLOG_KEY_CACHE_TTL=0.5).test_client()
    created, headers = create_key(app, "reader", "k-one")
    assert read(other, headers, "k-one").status_code == 200  # cached there
    assert app.test_client().delete(f"/api/v1/keys/{created['id']}",
                                    headers=ADMIN).status_code == 200
    deadline = time.monotonic() + 10
    while read(other, headers, "k-one").status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read(other, headers, "k-one").status_code == 401


def test_expired_key_is_401(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        expired = store.keys.create("expired", "reader", ["k-one"],
                                         expires_at=parse_timestamp("2020-01-01T00:00:00Z"))
    assert read(client, bearer(expired.secret), "k-one").status_code == 401
    soon = format_ns(time.time_ns() + 1_500_000_000, 6)
    _, headers = create_key(app, "reader", "k-one", expires_at=soon)
    assert read(client, headers, "k-one").status_code == 200
    while time.time_ns() < parse_timestamp(soon)[0]:
        time.sleep(0.1)
    assert read(client, headers, "k-one").status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"role": "reader", "namespaces": ["k-one"]}, "name"),
    ({"name": "x", "namespaces": ["k-one"]}, "role"),
    ({"name": "x", "role": "root", "namespaces": ["k-one"]}, "role"),
    ({"name": "x", "role": "reader"}, "namespaces"),
    ({"name": "x", "role": "reader", "namespaces": []}, "namespaces"),
    ({"name": "x", "role": "reader", "namespaces": ["bad ns"]}, "namespaces"),
    ({"name": "x", "role": "reader", "namespaces": ["system"]}, "namespaces"),
    ({"name": "x", "role": "reader", "namespaces": "k-one"}, "namespaces"),
    ({"name": "x", "role": "reader", "namespaces": ["k-one"], "expires_at": "soon"},
     "expires_at"),
    ({"name": "x", "role": "reader", "namespaces": ["k-one"],
      "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "x", "role": "reader", "namespaces": ["k-one"], "secret": "mine"}, "secret"),
    ({"name": "", "role": "reader", "namespaces": ["k-one"]}, "name"),
])
def test_bad_key_requests_are_400_naming_the_field(client: FlaskClient, body: dict,
                                                   field: str) -> None:
    response = client.post("/api/v1/keys", json=body, headers=ADMIN)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_key_management_needs_an_admin(app: Flask, client: FlaskClient) -> None:
    _, writer = create_key(app, "writer", "k-one")
    body = {"name": "x", "role": "admin"}
    assert client.post("/api/v1/keys", json=body).status_code == 401
    assert client.post("/api/v1/keys", json=body, headers=writer).status_code == 403
    assert client.get("/api/v1/keys", headers=writer).status_code == 403
    created, admin_key = create_key(app, "admin")
    assert created["namespaces"] == []
    made = client.post("/api/v1/keys", json={"name": "by admin key", "role": "reader",
                                             "namespaces": ["k-two"]}, headers=admin_key)
    assert made.status_code == 201


@pytest.mark.parametrize("key_id", ["0123456789abcdef", "admin-key", "nope"])
def test_unknown_key_is_404(client: FlaskClient, key_id: str) -> None:
    assert client.get(f"/api/v1/keys/{key_id}", headers=ADMIN).status_code == 404
    assert client.delete(f"/api/v1/keys/{key_id}", headers=ADMIN).status_code == 404


def test_system_namespace_read_by_admins_only_and_written_by_nobody(
        app: Flask, client: FlaskClient) -> None:
    _, writer = create_key(app, "writer", "k-one")
    _, admin_key = create_key(app, "admin")
    for headers in (writer, admin_key, ADMIN):
        refused = ingest(client, headers, "system")
        assert refused.status_code == 403, refused.json
    assert read(client, writer, "system").status_code == 403
    assert read(client, admin_key, "system").status_code == 404  # allowed; no such event


def test_secret_never_logged(app: Flask, client: FlaskClient,
                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created, headers = create_key(app, "writer", "k-one")
    secret = created["secret"]
    assert ingest(client, headers, "k-one").status_code == 200
    assert read(client, bearer(secret + "x"), "k-one").status_code == 401
    client.delete(f"/api/v1/keys/{created['id']}", headers=ADMIN)
    assert read(client, headers, "k-one").status_code == 401
    assert caplog.records, "expected some log records to inspect"
    random_part = secret.rsplit("_", 1)[1]
    assert secret not in caplog.text
    assert random_part not in caplog.text


def test_cli_create_list_revoke(es_url: str, index_prefix: str, app: Flask,
                                client: FlaskClient) -> None:
    env = {"ELASTICSEARCH_URL": es_url, "AUDITLOG_INDEX_PREFIX": index_prefix}
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--namespace", "k-one", "--namespace",
                               "k-two", "--role", "writer", "--actor-id", "ci", "--name",
                               "from cli", "--json"], env=env)
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["namespaces"] == ["k-one", "k-two"]
    assert created["actor_id"] == "ci"
    headers = bearer(created["secret"])
    assert ingest(client, headers, "k-two").status_code == 200

    listed = runner.invoke(cli, ["keys", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert created["secret"] not in listed.output
    assert created["id"] in {key["id"] for key in json.loads(listed.output)}
    plain = runner.invoke(cli, ["keys", "list"], env=env)
    assert created["id"] in plain.output and created["secret"] not in plain.output

    revoked = runner.invoke(cli, ["keys", "revoke", created["id"]], env=env)
    assert revoked.exit_code == 0, revoked.output
    app.extensions["auditlog.store"].keys.forget()  # as if this instance's TTL had passed
    assert ingest(client, headers, "k-two").status_code == 401
    missing = runner.invoke(cli, ["keys", "revoke", "0123456789abcdef"], env=env)
    assert missing.exit_code == 1


@pytest.mark.parametrize("args", [
    ["--role", "reader"],
    ["--role", "reader", "--namespace", "system"],
    ["--role", "reader", "--namespace", "k-one", "--expires-at", "2020-01-01T00:00:00Z"],
    ["--role", "root", "--namespace", "k-one"],
])
def test_cli_refuses_bad_keys(es_url: str, index_prefix: str, args: list[str]) -> None:
    env = {"ELASTICSEARCH_URL": es_url, "AUDITLOG_INDEX_PREFIX": index_prefix}
    result = CliRunner().invoke(cli, ["keys", "create", *args], env=env)
    assert result.exit_code != 0
    assert "al_" not in result.output
