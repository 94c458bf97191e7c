"""Security headers on every surface: nosniff everywhere, no-store on keyed answers, CORS off
unless an allow-list is configured."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import ADMIN_KEY, make_test_app

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
NS = "hdr"
# (method, path, json body or None): one request per surface, errors included.
KEYED = [
    ("POST", f"/api/v1/namespaces/{NS}/events/search", {}),
    ("POST", f"/api/v1/namespaces/{NS}/events/aggregate", {}),
    ("GET", f"/api/v1/namespaces/{NS}/events/export", None),
    ("GET", f"/api/v1/namespaces/{NS}/events/nope", None),
    ("GET", f"/api/v1/namespaces/{NS}/fields", None),
    ("GET", "/api/v1/keys", None),
    ("POST", f"/api/secret_management/namespaces/{NS}/voltshare/audit_logs", {}),
    ("GET", f"/audit?namespace={NS}", None),
    ("GET", f"/v1/k8s/audit?namespace={NS}", None),
    ("GET", f"/api/data/audit?namespace={NS}", None),
    ("GET", f"/api/data/audit?namespace={NS}&count=-1", None),
    ("GET", "/loki/api/v1/labels", None),
    ("GET", "/no/such/path", None),
]
PUBLIC = ["/healthz", "/metrics", "/openapi.json", "/"]


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str) -> Flask:
    return make_test_app(es_url, index_prefix)


@pytest.mark.parametrize(("method", "path", "body"), KEYED)
@pytest.mark.parametrize("key", [ADMIN_KEY, "wrong-key"])
def test_keyed_answers_are_not_sniffed_nor_cached(app: Flask, method: str, path: str,
                                                   body: dict | None, key: str) -> None:
    response = app.test_client().open(path, method=method, json=body,
                                      headers={"Authorization": f"Bearer {key}"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert not any(name.startswith("Access-Control-") for name, _ in response.headers.items())


@pytest.mark.parametrize("path", PUBLIC)
def test_public_answers_are_not_sniffed(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_cors_by_default(app: Flask) -> None:
    client = app.test_client()
    origin = {"Origin": "https://evil.example"}
    preflight = client.options(f"/api/v1/namespaces/{NS}/events/search", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    answer = client.post(f"/api/v1/namespaces/{NS}/events/search", json={},
                         headers={**HEADERS, **origin})
    for response in (preflight, answer):
        assert not any(name.startswith("Access-Control-") for name, _ in response.headers.items())


def test_cors_allows_only_the_listed_origins(es_url: str, index_prefix: str) -> None:
    allowed = "https://soc.example.com"
    client = make_test_app(es_url, index_prefix, AUDITLOG_CORS_ORIGINS=allowed).test_client()
    path = f"/api/v1/namespaces/{NS}/events/search"
    preflight = client.options(path, headers={
        "Origin": allowed, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.headers["Access-Control-Allow-Origin"] == allowed
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    answer = client.post(path, json={}, headers={**HEADERS, "Origin": allowed})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == allowed
    assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]
    foreign = client.post(path, json={}, headers={**HEADERS, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


@pytest.mark.parametrize("setting", ["soc.example.com", "https://a.example, b"])
def test_origins_must_be_origins(setting: str) -> None:
    from app.config import from_environment

    with pytest.raises(ValueError, match="AUDITLOG_CORS_ORIGINS"):
        from_environment({"AUDITLOG_CORS_ORIGINS": setting})
