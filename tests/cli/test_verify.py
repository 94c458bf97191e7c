"""Checkpoints and ``auditlog verify`` on a real node: clean data verifies; an event changed,
deleted or inserted with an old ``ingested_at``, or a checkpoint edited, is named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from flask import Flask

from app.cli import main
from app.engine.checkpoint import Checkpoint
from app.engine.integrity import current_integrity
from app.engine.sealer import Sealer
from app.engine.stream_reader import StreamReader
from app.model.event import load_event
from app.model.timestamps import NS_PER_S, format_ns
from app.store.checkpoints import document_id
from app.store.extension import store
from tests.api.api_keys import ADMIN, create_key
from tests.conftest import make_test_app

BASE_NS = 1_765_000_000 * NS_PER_S
PER_CHECKPOINT = 25


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str, key_path: Path, es: Elasticsearch) -> Iterator[Flask]:
    app = make_test_app(es_url, index_prefix, AUDITLOG_SIGNING_KEY=str(key_path))
    with app.app_context():
        assert store.state.templates_ready.wait(30)
    # Events written around the service carry ingested_at like the service's own.
    es.options(ignore_status=400).indices.create(
        index=f"{index_prefix}-events-2024.03",
        mappings={"properties": {"ingested_at": {"type": "date_nanos"}}})
    yield app


@pytest.fixture()
def env(monkeypatch, es_url: str, index_prefix: str, key_path: Path) -> None:
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("AUDITLOG_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("AUDITLOG_SIGNING_KEY", str(key_path))


def _write(es: Elasticsearch, prefix: str, namespace: str, numbers: range,
           ingested_ns: int) -> None:
    operations: list[dict] = []
    for n in numbers:
        event = load_event({"id": f"e{n:04d}", "time": f"2024-03-01T10:00:{n % 60:02d}Z",
                            "action": "login", "actor": {"id": f"u{n % 3}"}}, namespace)
        source = {**event.source, "ingested_at": format_ns(ingested_ns + n * 1000, 9)}
        operations += [{"create": {"_index": f"{prefix}-events-2024.03",
                                   "_id": event.doc_id}}, source]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"]


def _sealer(app: Flask) -> Sealer:
    with app.app_context():
        integrity = current_integrity()
        return Sealer(StreamReader(store.client, store.events.pattern), store.checkpoints,
                      integrity.signing_key, settle_ns=0, max_events=PER_CHECKPOINT)


def _seeded(app: Flask, es: Elasticsearch, prefix: str, namespace: str) -> list[Checkpoint]:
    """Two sealing rounds over 100 events (25+25+10, 25+15); then 10 unsealed events."""
    _write(es, prefix, namespace, range(0, 60), BASE_NS)
    sealed = _sealer(app).seal(namespace)
    es.indices.refresh(index=f"{prefix}-checkpoints")
    _write(es, prefix, namespace, range(60, 100), BASE_NS)
    sealed += _sealer(app).seal(namespace)
    _write(es, prefix, namespace, range(100, 110), BASE_NS)
    es.indices.refresh(index=f"{prefix}-checkpoints")
    return sealed


def _verify(*args: str):
    return CliRunner().invoke(main, ["verify", "--quiet", *args])


def _doc_id(namespace: str, n: int) -> str:
    return f"{namespace}:e{n:04d}"


def test_sealing_makes_a_chain_and_clean_data_verifies(app: Flask, es: Elasticsearch,
                                                       index_prefix: str, env: None) -> None:
    sealer = _sealer(app)
    _write(es, index_prefix, "clean", range(0, 60), BASE_NS)
    first = sealer.seal("clean")
    assert [c.count for c in first] == [25, 25, 10]
    assert [c.seq for c in first] == [1, 2, 3]
    es.indices.refresh(index=f"{index_prefix}-checkpoints")
    assert sealer.seal("clean") == []  # nothing new: no empty checkpoint
    _write(es, index_prefix, "clean", range(60, 70), BASE_NS)
    es.indices.refresh(index=f"{index_prefix}-checkpoints")
    second = sealer.seal("clean")
    assert [(c.seq, c.count) for c in second] == [(4, 10)]
    assert second[0].prev_hash == first[-1].hash
    assert first[0].first.id == "e0000" and second[0].last.id == "e0069"
    es.indices.refresh(index=f"{index_prefix}-checkpoints")

    result = _verify("clean")
    assert result.exit_code == 0, result.output
    assert "OK: 4 checkpoints, 70 events" in result.output
    windowed = _verify("clean", "--since", format_ns(BASE_NS + 65_000, 9))
    assert windowed.exit_code == 0 and "1 checkpoints, 10 events" in windowed.output


def test_events_ingested_through_the_api_are_sealed(app: Flask, es: Elasticsearch,
                                                    index_prefix: str, env: None) -> None:
    client = app.test_client()
    for batch in range(3):
        events = [{"id": f"a{batch}-{n:03d}", "time": f"2024-03-02T10:00:{n % 60:02d}Z",
                   "action": "login", "labels": {"batch": str(batch)}} for n in range(30)]
        response = client.post("/api/v1/namespaces/stamped/events?refresh=wait_for",
                               json=events, headers=ADMIN)
        assert response.json["created"] == 30, response.json
    sealed = _sealer(app).seal("stamped")
    assert sum(c.count for c in sealed) == 90 and sealed[0].first.id == "a0-000"
    assert sealed[-1].last.id == "a2-029"  # stamp order: batch after batch
    es.indices.refresh(index=f"{index_prefix}-checkpoints")
    result = _verify("stamped")
    assert result.exit_code == 0, result.output
    assert "90 events" in result.output
    # A client's own ingested_at is ignored: the service's stamp is the one sealed.
    forged = client.post("/api/v1/namespaces/stamped/events?refresh=wait_for", headers=ADMIN,
                         json={"id": "old", "time": "2024-03-02T10:00:00Z", "action": "login",
                               "ingested_at": "2001-01-01T00:00:00Z"})
    assert forged.json["created"] == 1
    assert _verify("stamped").exit_code == 0


def test_checkpoints_api_for_the_namespace_readers(app: Flask, es: Elasticsearch,
                                                   index_prefix: str) -> None:
    _write(es, index_prefix, "listed", range(0, 30), BASE_NS)
    _sealer(app).seal("listed")
    es.indices.refresh(index=f"{index_prefix}-checkpoints")
    client = app.test_client()
    _, reader = create_key(app, "reader", "listed")
    _, stranger = create_key(app, "reader", "elsewhere")
    url = "/api/v1/namespaces/listed/checkpoints"
    response = client.get(url, headers=reader)
    assert response.status_code == 200, response.json
    listed = response.json["checkpoints"]
    assert [c["seq"] for c in listed] == [1, 2]
    assert set(listed[0]) == {"seq", "namespace", "count", "first", "last", "hash",
                              "prev_hash", "sealed_at", "signature"}
    assert listed[0]["first"] == {"ingested_at": format_ns(BASE_NS, 9), "id": "e0000"}
    assert listed[1]["prev_hash"] == listed[0]["hash"]
    since = client.get(url, headers=reader,
                       query_string={"since": format_ns(BASE_NS + 26_000, 9)})
    assert [c["seq"] for c in since.json["checkpoints"]] == [2]
    assert client.get(url, headers=stranger).status_code == 403
    assert client.get(url, headers=reader, query_string={"since": "soon"}).status_code == 400
    assert client.get(url, headers=ADMIN, query_string={"limit": 0}).status_code == 400


@pytest.mark.parametrize("tamper", ["changed", "deleted", "inserted", "checkpoint",
                                    "chain"])
def test_tampering_is_named(app: Flask, es: Elasticsearch, index_prefix: str, env: None,
                            tamper: str) -> None:
    namespace = f"tamper-{tamper}"
    assert len(_seeded(app, es, index_prefix, namespace)) == 5
    clean = _verify(namespace)
    assert clean.exit_code == 0, clean.output
    index = f"{index_prefix}-events-2024.03"
    checkpoints = f"{index_prefix}-checkpoints"
    if tamper == "changed":
        es.update(index=index, id=_doc_id(namespace, 30), doc={"action": "logout"},
                  refresh=True)
        expected = ["checkpoint 2: event 'e0030' changed after sealing"]
    elif tamper == "deleted":
        es.delete(index=index, id=_doc_id(namespace, 70), refresh=True)
        expected = ["checkpoint 4: event 'e0070' deleted after sealing"]
    elif tamper == "inserted":
        # Between e0010 and e0011 in ingest order: inside the first sealed interval.
        event = load_event({"id": "forged", "time": "2024-03-01T10:00:00Z",
                            "action": "login"}, namespace)
        es.create(index=index, id=event.doc_id, refresh=True, document={
            **event.source, "ingested_at": format_ns(BASE_NS + 10_500, 9)})
        expected = ["checkpoint 1: event 'forged' inserted after sealing"]
    elif tamper == "checkpoint":
        es.update(index=checkpoints, id=document_id(namespace, 2), doc={"count": 24},
                  refresh=True)
        expected = ["checkpoint 2: signature does not verify"]
    else:
        es.delete(index=checkpoints, id=document_id(namespace, 3), refresh=True)
        expected = ["checkpoint 4: chain break: checkpoints 3..3 are missing"]
    result = _verify(namespace)
    assert result.exit_code == 1, result.output
    for line in expected:
        assert f"TAMPERED: {line}" in result.output, result.output


def test_witness_log_shows_deleted_newest_checkpoints(app: Flask, es: Elasticsearch,
                                                      index_prefix: str, env: None,
                                                      tmp_path: Path) -> None:
    namespace = "witnessed"
    sealed = _seeded(app, es, index_prefix, namespace)
    log = tmp_path / "service.log"
    log.write_bytes(b"[gunicorn] booting\n" + b"".join(
        orjson.dumps({"logger": "auditlog.checkpoint", "message": "checkpoint sealed",
                      "checkpoint": c.public_dict()}) + b"\n" for c in sealed))
    assert _verify(namespace, "--witness", str(log)).exit_code == 0
    es.delete(index=f"{index_prefix}-checkpoints", id=document_id(namespace, 5), refresh=True)
    assert _verify(namespace).exit_code == 0  # the chain merely ends earlier
    result = _verify(namespace, "--witness", str(log))
    assert result.exit_code == 1, result.output
    assert "TAMPERED: checkpoint 5: sealed (witness log) but missing" in result.output


def test_verify_usage_errors(env: None, tmp_path: Path, monkeypatch) -> None:
    assert _verify("clean", "--since", "whenever").exit_code == 2
    monkeypatch.setenv("ELASTICSEARCH_URL", "http://127.0.0.1:1")
    unreachable = _verify("clean")
    assert unreachable.exit_code == 2, unreachable.output
    monkeypatch.setenv("AUDITLOG_SIGNING_KEY", str(tmp_path / "none.pem"))
    assert _verify("clean").exit_code == 2
