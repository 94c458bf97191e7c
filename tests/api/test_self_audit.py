"""The service's own audit trail on a real node (DESIGN §8): one ``system`` event per request."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient

from app.audit import notes as self_audit
from app.audit.writer import AuditWriter
from app.store.events import EventStore
from tests.api.api_keys import ADMIN, create_key
from tests.conftest import make_test_app

NS = "sa"
WINDOW = {"start_time": "2024-05-01T09:00:00Z", "end_time": "2024-05-01T12:00:00Z"}
EVENTS = [{"id": f"e{n}", "time": f"2024-05-01T10:0{n}:00Z",
           "action": "login" if n < 3 else "logout", "actor": {"id": f"u{n}"}}
          for n in range(5)]


@pytest.fixture(scope="module", autouse=True)
def stored(app: Flask) -> None:
    response = app.test_client().post(f"/api/v1/namespaces/{NS}/events?refresh=wait_for",
                                      json=EVENTS, headers=ADMIN)
    assert response.json["created"] == 5, response.json


def trail(app: Flask, key_id: str, query: str = "") -> list[dict[str, Any]]:
    """The system events of one key, oldest first, after writing every queued one."""
    assert self_audit.get_writer(app).flush()
    app.extensions["auditlog.store"].events.refresh()
    matchers = f'api_key_id="{key_id}"' + (f", {query}" if query else "")
    response = app.test_client().post("/api/v1/namespaces/system/events/search", headers=ADMIN,
                                      json={"query": "{" + matchers + "}", "sort": "ASCENDING"})
    assert response.status_code == 200, response.json
    return response.json["events"]


def test_each_search_is_one_event_with_key_query_and_count(app: Flask,
                                                           client: FlaskClient) -> None:
    created, headers = create_key(app, "reader", NS, actor_id="analyst-7")
    searches = ['{action="login"}', '{action="logout"}', "", '{actor.id=~"u[34]"}']
    counts = []
    for query in searches:
        response = client.post(f"/api/v1/namespaces/{NS}/events/search", headers=headers,
                               json={**WINDOW, "query": query, "limit": 4})
        assert response.status_code == 200, response.json
        counts.append(len(response.json["events"]))
    assert counts == [3, 2, 4, 2]

    events = trail(app, created["id"])
    assert len(events) == len(searches)
    for event, query, count in zip(events, searches, counts, strict=True):
        assert event["namespace"] == "system"
        assert event["action"] == "audit.search"
        assert event["outcome"] == "success"
        assert event["api_key_id"] == created["id"]
        assert event["actor"] == {"id": "analyst-7"}
        assert event["target"] == {"kind": "namespace", "id": NS}
        assert event.get("query", "") == query
        assert event["labels"]["count"] == str(count)
        assert event["labels"]["status"] == "200"
        assert int(event["labels"]["duration_ms"]) >= 0
        assert event["context"]["count"] == count
        assert event["context"]["path"] == f"/api/v1/namespaces/{NS}/events/search"
    # The labels are queryable with the matcher language.
    assert len(trail(app, created["id"], 'labels.count="2"')) == 2


def test_scroll_aggregate_export_and_reads_are_recorded(app: Flask,
                                                        client: FlaskClient) -> None:
    created, headers = create_key(app, "reader", NS)
    base = f"/api/v1/namespaces/{NS}/events"
    opened = client.post(f"{base}/search", headers=headers,
                         json={**WINDOW, "limit": 3, "scroll": True})
    page = client.post(f"{base}/scroll", headers=headers,
                       json={"scroll_id": opened.json["scroll_id"]})
    assert len(page.json["events"]) == 2
    aggregated = client.post(f"{base}/aggregate", headers=headers, json={
        **WINDOW, "aggs": {"who": {"field_aggregation": {"field": "actor.id"}}}})
    assert aggregated.status_code == 200
    with client.get(f"{base}/export", headers=headers,
                    query_string={"query": '{action="login"}'}) as exported:
        assert exported.status_code == 200
        assert len(exported.get_data(as_text=True).splitlines()) == 3
    assert client.get(f"{base}/e1", headers=headers).status_code == 200

    by_action = {event["action"]: event for event in trail(app, created["id"])}
    assert set(by_action) == {"audit.search", "audit.scroll", "audit.aggregate",
                              "audit.export", "audit.get"}
    assert by_action["audit.search"]["labels"]["count"] == "3"
    assert by_action["audit.scroll"]["labels"]["count"] == "2"
    assert by_action["audit.export"]["labels"]["count"] == "3"
    assert by_action["audit.export"]["query"] == '{action="login"}'
    assert by_action["audit.get"]["query"] == '{id="e1"}'


def test_ingest_batches_are_recorded_failures_too(app: Flask, client: FlaskClient) -> None:
    created, headers = create_key(app, "writer", NS)
    batch = [{"id": "in-1", "time": "2024-05-01T11:00:00Z", "action": "login"},
             {"id": "in-2", "time": "2024-05-01T11:00:01Z", "action": "login"},
             {"id": "e1", "time": "2024-05-01T10:01:00Z", "action": "login",
              "actor": {"id": "u1"}}]
    assert client.post(f"/api/v1/namespaces/{NS}/events", json=batch,
                       headers=headers).json["created"] == 2
    malformed = client.post(f"/api/v1/namespaces/{NS}/events", data=b"{not json",
                            content_type="application/json", headers=headers)
    assert malformed.status_code == 400

    ok, refused = trail(app, created["id"], 'action="audit.ingest"')
    assert (ok["outcome"], ok["labels"]["count"], ok["context"]["duplicates"]) == (
        "success", "2", 1)
    assert (refused["outcome"], refused["labels"]["status"]) == ("failure", "400")


def test_key_changes_are_recorded(app: Flask, client: FlaskClient) -> None:
    created, _ = create_key(app, "reader", NS)
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=ADMIN).status_code == 200
    events = trail(app, "admin-key", f'target.id="{created["id"]}"')
    assert [event["action"] for event in events] == ["audit.key.create", "audit.key.revoke"]
    assert all(event["target"]["kind"] == "api_key" for event in events)
    assert events[0]["context"]["namespaces"] == [NS]
    assert created["secret"] not in str(events)


def test_refused_requests_without_a_note_leave_no_event(app: Flask,
                                                        client: FlaskClient) -> None:
    created, headers = create_key(app, "reader", NS)
    assert client.post("/api/v1/namespaces/other/events/search", json={},
                       headers=headers).status_code == 403
    assert client.post(f"/api/v1/namespaces/{NS}/events", json=EVENTS[0],
                       headers=headers).status_code == 403
    assert trail(app, created["id"]) == []
    assert self_audit.get_writer(app).dropped == 0


def test_self_audit_can_be_switched_off(es_url: str, index_prefix: str) -> None:
    quiet = make_test_app(es_url, index_prefix, AUDITLOG_SELF_AUDIT=False)
    assert self_audit.get_writer(quiet) is None
    response = quiet.test_client().post(f"/api/v1/namespaces/{NS}/events/search",
                                        json=WINDOW, headers=ADMIN)
    assert response.status_code == 200


def test_writer_drops_and_counts_when_full_and_never_blocks(es: Elasticsearch,
                                                            index_prefix: str) -> None:
    """A queue of one, its thread held inside a write: the third event is dropped at once."""
    entered, release = threading.Event(), threading.Event()
    store = EventStore(es, index_prefix)

    def slow_store() -> EventStore:
        entered.set()
        release.wait(10)
        return store

    writer = AuditWriter(slow_store, "system", capacity=1)
    raw = {"time": "2024-05-01T10:00:00Z", "action": "audit.test", "labels": {"n": "0"}}
    assert writer.put(raw)
    assert entered.wait(10)  # the thread holds the first event
    assert writer.put({**raw, "labels": {"n": "1"}})  # fills the queue
    assert not writer.put({**raw, "labels": {"n": "2"}})  # full: dropped, not waited on
    assert writer.stats()["dropped"] == 1
    release.set()
    assert writer.flush()
    assert writer.stats() == {"queued": 0, "written": 2, "dropped": 1}
    writer.close()
    assert not writer.put(raw)  # closed: dropped
    assert writer.dropped == 2


def test_writer_counts_events_it_cannot_write(index_prefix: str) -> None:
    def unreachable() -> EventStore:
        raise ConnectionError("Elasticsearch is down")

    writer = AuditWriter(unreachable, "system")
    for n in range(3):
        assert writer.put({"time": "2024-05-01T10:00:00Z", "action": f"audit.{n}"})
    invalid = {"time": "not a time", "action": "audit.bad"}
    assert writer.put(invalid)
    assert writer.flush()
    assert writer.stats() == {"queued": 0, "written": 0, "dropped": 4}
