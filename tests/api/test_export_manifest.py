"""The signed export manifest on a real node: the stream's last line, checked by
``auditlog verify-export``; the public-key endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from app.cli import main
from app.engine.signing import PublicKey, load_signing_key
from tests.api.api_keys import ADMIN, create_key
from tests.conftest import make_test_app

NS = "manifested"
URL = f"/api/v1/namespaces/{NS}/events/export"
EVENTS = [{"id": f"e{n:03d}", "time": f"2024-03-01T10:{n // 60:02d}:{n % 60:02d}Z",
           "action": "login", "actor": {"id": f"u{n % 5}"}} for n in range(120)]


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str, key_path: Path) -> Iterator[Flask]:
    app = make_test_app(es_url, index_prefix, AUDITLOG_SIGNING_KEY=str(key_path))
    response = app.test_client().post(f"/api/v1/namespaces/{NS}/events?refresh=wait_for",
                                      json=EVENTS, headers=ADMIN)
    assert response.json["created"] == len(EVENTS), response.json
    yield app


def _export(client: FlaskClient, path: Path, **params: str) -> bytes:
    response = client.get(URL, query_string={"manifest": "true", **params}, headers=ADMIN)
    assert response.status_code == 200, response.data
    path.write_bytes(response.data)
    return response.data


def _verify(path: Path, *extra: str):
    return CliRunner().invoke(main, ["verify-export", str(path), *extra])


def test_manifest_line_ends_the_export(client: FlaskClient, tmp_path: Path,
                                       key_path: Path) -> None:
    data = _export(client, tmp_path / "out.ndjson", query='{actor.id="u1"}')
    lines = data.splitlines()
    assert len(lines) == 25
    trailer = orjson.loads(lines[-1])
    manifest = trailer["manifest"]
    assert manifest["count"] == 24 and manifest["namespace"] == NS
    assert manifest["query"] == '{actor.id="u1"}' and manifest["format"] == "ndjson"
    assert manifest["window"] == {"start_time": None, "end_time": None}
    public = load_signing_key(str(key_path), tmp_path).public
    assert manifest["public_key"] == public.raw_base64
    plain = client.get(URL, headers=ADMIN).data
    assert b'{"manifest"' not in plain and len(plain.splitlines()) == len(EVENTS)


def test_export_verifies_and_damage_does_not(client: FlaskClient, tmp_path: Path,
                                             key_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    data = _export(client, path, start_time="2024-03-01T10:00:30Z")
    public = tmp_path / "public.pem"
    public.write_text(load_signing_key(str(key_path), tmp_path).public.pem)
    intact = _verify(path, "--public-key", str(public))
    assert intact.exit_code == 0, intact.output
    assert "OK" in intact.output and "signed by the service's key" in intact.output

    changed = data.replace(b'"u3"', b'"u4"', 1)
    assert len(changed) == len(data)
    path.write_bytes(changed)
    result = _verify(path, "--public-key", str(public))
    assert result.exit_code == 1 and "TAMPERED" in result.output and "SHA-256" in result.output

    lines = data.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:10] + lines[11:]))
    result = _verify(path, "--public-key", str(public))
    assert result.exit_code == 1 and "TAMPERED" in result.output

    assert _verify(tmp_path / "missing.ndjson").exit_code == 2


def test_csv_manifest_line(client: FlaskClient, tmp_path: Path) -> None:
    data = _export(client, tmp_path / "out.csv", format="csv")
    manifest = orjson.loads(data.splitlines()[-1])["manifest"]
    assert manifest["format"] == "csv" and manifest["count"] == len(EVENTS)


def test_public_key_endpoint(app: Flask, client: FlaskClient, key_path: Path,
                             tmp_path: Path) -> None:
    _, reader = create_key(app, "reader", NS)
    response = client.get("/api/v1/integrity/public-key", headers=reader)
    assert response.status_code == 200
    body = response.json
    assert body["algorithm"] == "ed25519"
    expected = load_signing_key(str(key_path), tmp_path).public
    assert body["public_key"] == expected.raw_base64
    assert PublicKey.from_text(body["pem"]).raw_base64 == expected.raw_base64
    assert client.get("/api/v1/integrity/public-key").status_code == 401
