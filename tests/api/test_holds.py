"""Legal holds on a real node: the API (admin only, self-audited) and retention keeping held
months."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient

from app.audit import notes as self_audit
from app.cli import main
from app.model.timestamps import month_of
from tests.api.api_keys import ADMIN, create_key

URL = "/api/v1/holds"


def _system_events(app: Flask, action: str) -> list[dict]:
    assert self_audit.get_writer(app).flush()
    app.extensions["auditlog.store"].events.refresh()
    response = app.test_client().post(
        "/api/v1/namespaces/system/events/search", headers=ADMIN,
        json={"query": f'{{action="{action}"}}', "sort": "ASCENDING",
              "start_time": time.time() - 600, "end_time": time.time() + 60})
    assert response.status_code == 200, response.json
    return response.json["events"]


def test_set_list_release_self_audited(app: Flask, client: FlaskClient) -> None:
    body = {"namespace": "legal", "start_time": "2020-01-10T00:00:00Z",
            "end_time": "2020-01-20T00:00:00Z", "reason": "case 42"}
    created = client.post(URL, json=body, headers=ADMIN)
    assert created.status_code == 201, created.json
    hold = created.json
    assert {hold["namespace"], hold["reason"]} == {"legal", "case 42"}
    assert hold["start_time"].startswith("2020-01-10T00:00:00")
    assert len(hold["id"]) == 16

    listed = client.get(URL, headers=ADMIN)
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json["holds"]] == [hold["id"]]

    released = client.delete(f"{URL}/{hold['id']}", headers=ADMIN)
    assert released.status_code == 200 and released.json["id"] == hold["id"]
    assert client.get(URL, headers=ADMIN).json["holds"] == []
    assert client.delete(f"{URL}/{hold['id']}", headers=ADMIN).status_code == 404

    for action in ("audit.hold.set", "audit.hold.release"):
        events = _system_events(app, action)
        assert [e["target"]["id"] for e in events] == [hold["id"]], action
        assert events[0]["context"]["reason"] == "case 42"
        assert events[0]["context"]["hold_namespace"] == "legal"


@pytest.mark.parametrize(("body", "field"), [
    ({"start_time": "2020-01-01T00:00:00Z", "reason": "r"}, "namespace"),
    ({"namespace": "n", "reason": "r"}, "start_time"),
    ({"namespace": "n", "start_time": "yesterday", "reason": "r"}, "start_time"),
    ({"namespace": "n", "start_time": 10, "end_time": 5, "reason": "r"}, "end_time"),
    ({"namespace": "n", "start_time": 10, "reason": ""}, "reason"),
    ({"namespace": "n", "start_time": 10, "reason": "r", "extra": 1}, "extra"),
])
def test_bad_holds_are_400(client: FlaskClient, body: dict, field: str) -> None:
    response = client.post(URL, json=body, headers=ADMIN)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field


def test_holds_are_admin_only(app: Flask, client: FlaskClient) -> None:
    _, reader = create_key(app, "writer", "legal")
    assert client.get(URL, headers=reader).status_code == 403
    assert client.post(URL, json={"namespace": "legal", "start_time": 0, "reason": "r"},
                       headers=reader).status_code == 403
    assert client.delete(f"{URL}/0123456789abcdef", headers=reader).status_code == 403
    assert client.get(URL).status_code == 401


def test_retention_keeps_held_months(app: Flask, client: FlaskClient, es: Elasticsearch,
                                     es_url: str, index_prefix: str, monkeypatch) -> None:
    months = ["2020.01", "2020.02", "2020.03"]
    for month in months:
        es.indices.create(index=f"{index_prefix}-events-{month}")
    current = f"{index_prefix}-events-{month_of(time.time_ns())}"
    es.options(ignore_status=400).indices.create(index=current)  # self-audit may have made it
    hold = client.post(URL, headers=ADMIN, json={
        "namespace": "legal", "start_time": "2020-02-28T00:00:00Z",
        "end_time": "2020-02-29T23:59:59Z", "reason": "litigation hold"}).json
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("AUDITLOG_INDEX_PREFIX", index_prefix)
    try:
        done = CliRunner().invoke(main, ["retention", "apply", "--older-than", "90d", "--yes"])
        assert done.exit_code == 0, done.output
        assert f"kept {index_prefix}-events-2020.02: under legal hold {hold['id']}" \
            in done.output
        assert "deleted 2 of 4" in done.output
        assert es.indices.exists(index=f"{index_prefix}-events-2020.02")
        assert es.indices.exists(index=current)
        for gone in ("2020.01", "2020.03"):
            assert not es.indices.exists(index=f"{index_prefix}-events-{gone}")
    finally:
        client.delete(f"{URL}/{hold['id']}", headers=ADMIN)
    released = CliRunner().invoke(main, ["retention", "apply", "--older-than", "90d", "--yes"])
    assert "deleted 1 of 2" in released.output, released.output
    assert not es.indices.exists(index=f"{index_prefix}-events-2020.02")
