"""The follow feed on a real node: ingested_at, the settled reader, cursors, long poll, streams.

The app here settles for 0.5 s and keeps a 1 s overlap; events are ingested
with ``refresh=wait_for``, so they are searchable when acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from app.audit import notes
from app.model.timestamps import format_ns, parse_timestamp
from app.store.templates import apply_templates
from tests.api.api_keys import ADMIN, create_key
from tests.conftest import make_test_app

SETTLE_S = 0.5


@pytest.fixture(scope="module")
def app(es_url: str, index_prefix: str) -> Flask:
    return make_test_app(es_url, index_prefix, AUDITLOG_FOLLOW_SETTLE=SETTLE_S,
                         AUDITLOG_FOLLOW_OVERLAP=1.0, AUDITLOG_FOLLOW_STREAMS_PER_KEY=2)


def ingest(client: FlaskClient, namespace: str, events: list[dict[str, Any]]) -> None:
    response = client.post(f"/api/v1/namespaces/{namespace}/events?refresh=wait_for",
                           json=events, headers=ADMIN)
    assert response.status_code == 200, response.json
    assert response.json["created"] == len(events)


def events(prefix: str, count: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{n:03}", "time": 1_700_000_000 + n, "action": "login", **fields}
            for n in range(count)]


def follow(client: FlaskClient, namespace: str, headers: dict[str, str] = ADMIN,
           **params: Any) -> Any:
    response = client.post(f"/api/v1/namespaces/{namespace}/events/follow", json=params,
                           headers=headers)
    return response


def drain(client: FlaskClient, namespace: str, cursor: str | None = None,
          **params: Any) -> tuple[list[str], str]:
    """Every id the feed delivers until a batch comes back empty; and the last cursor."""
    ids: list[str] = []
    start = params.pop("start", {"from": "beginning"})
    while True:
        start = {"cursor": cursor} if cursor else start
        response = follow(client, namespace, **start, **params, wait=2 * SETTLE_S)
        assert response.status_code == 200, response.json
        cursor = response.json["cursor"]
        if not response.json["events"]:
            return ids, cursor
        ids += [event["id"] for event in response.json["events"]]


def test_ingested_at_is_the_service_clock_not_the_client(client: FlaskClient) -> None:
    before = time.time_ns()
    ingest(client, "stamp", [{"id": "s1", "time": 1_700_000_000, "action": "login",
                              "ingested_at": "2001-01-01T00:00:00Z"}])
    stored = client.get("/api/v1/namespaces/stamp/events/s1", headers=ADMIN).json
    assert before <= parse_timestamp(stored["ingested_at"])[0] <= time.time_ns()
    found = client.post("/api/v1/namespaces/stamp/events/search", headers=ADMIN, json={
        "start_time": 1_699_999_999, "end_time": 1_700_000_001}).json["events"]
    assert found == [stored]


def test_ingested_at_is_a_date_field(client: FlaskClient) -> None:
    ingest(client, "stampdate", events("d", 3))
    response = client.post("/api/v1/namespaces/stampdate/events/aggregate", headers=ADMIN, json={
        "start_time": 1_699_999_999, "end_time": 1_700_000_010,
        "aggs": {"per_day": {"date_aggregation": {"step": "1d", "field": "ingested_at"}}}})
    assert response.status_code == 200, response.json
    assert sum(b["count"] for b in response.json["aggs"]["per_day"]["buckets"]) == 3
    matcher = client.post("/api/v1/namespaces/stampdate/events/search", headers=ADMIN,
                          json={"query": '{ingested_at="x"}'})
    assert matcher.status_code == 400
    assert "date" in matcher.json["message"]


def test_indices_made_before_ingested_at_take_it(app: Flask, es: Elasticsearch,
                                                  index_prefix: str) -> None:
    old = {"dynamic": "strict", "properties": {
        name: {"type": kind} for name, kind in (("id", "keyword"), ("time", "date_nanos"),
                                                 ("namespace", "keyword"),
                                                 ("action", "keyword"), ("outcome", "keyword"))}}
    es.indices.create(index=f"{index_prefix}-events-1999.01", mappings=old)
    apply_templates(es, index_prefix)
    ingest(app.test_client(), "legacy", [{"id": "l1", "time": "1999-01-15T00:00:00Z",
                                          "action": "login"}])


def test_follow_delivers_in_ingest_order_and_continues_from_the_cursor(
        client: FlaskClient) -> None:
    ingest(client, "order", events("b", 5, time="2030-01-01T00:00:00Z"))  # future event time
    ingest(client, "order", events("a", 5, time="1990-01-01T00:00:00Z"))  # past event time
    first = follow(client, "order", **{"from": "beginning"}, limit=3, wait=2)
    assert first.status_code == 200, first.json
    assert [e["id"] for e in first.json["events"]] == ["b000", "b001", "b002"]
    assert first.json["caught_up"] is False
    assert all("ingested_at" in e for e in first.json["events"])
    rest, cursor = drain(client, "order", first.json["cursor"])
    assert rest == ["b003", "b004", "a000", "a001", "a002", "a003", "a004"]
    ingest(client, "order", events("c", 2))
    later, _ = drain(client, "order", cursor)
    assert later == ["c000", "c001"]


def test_start_time_and_default_start(client: FlaskClient) -> None:
    ingest(client, "start", events("old", 2))
    time.sleep(0.01)
    middle = time.time()
    from_now = follow(client, "start").json["cursor"]
    ingest(client, "start", events("new", 2))
    assert drain(client, "start", start={"start_time": middle})[0] == ["new000", "new001"]
    assert drain(client, "start", from_now)[0] == ["new000", "new001"]


def test_query_filters_the_feed(client: FlaskClient) -> None:
    ingest(client, "query", events("x", 4) + [
        {"id": f"y{n}", "time": 1_700_000_000, "action": "logout"} for n in range(3)])
    ids, _ = drain(client, "query", query='{action="logout"}')
    assert ids == ["y0", "y1", "y2"]


def test_wait_answers_as_soon_as_events_arrive(client: FlaskClient) -> None:
    cursor = follow(client, "wait").json["cursor"]
    answers: list[Any] = []
    poller = threading.Thread(target=lambda: answers.append(
        follow(client, "wait", cursor=cursor, wait=60)))
    poller.start()
    time.sleep(1.0)
    ingest(client, "wait", events("w", 1))
    poller.join(timeout=30)
    assert not poller.is_alive(), "the long poll did not answer when the event arrived"
    assert [e["id"] for e in answers[0].json["events"]] == ["w000"]


def test_cursors_are_bound_to_namespace_key_and_query(app: Flask,
                                                      client: FlaskClient) -> None:
    ingest(client, "bound", events("k", 2))
    ingest(client, "bound2", events("k", 2))
    cursor = follow(client, "bound", **{"from": "beginning"}).json["cursor"]
    _, reader = create_key(app, "reader", "bound", "bound2")
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for namespace, headers, params in (("bound2", ADMIN, {}), ("bound", reader, {}),
                                       ("bound", ADMIN, {"query": '{action="login"}'}),
                                       ("bound", ADMIN, {"cursor": tampered})):
        response = follow(client, namespace, headers, **{"cursor": cursor, **params})
        assert response.status_code == 400, response.json
        assert "events" not in response.json
        assert response.json["field"] == "cursor"


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "x"}, "limit"),
    ({"wait": -1}, "wait"), ({"wait": 61}, "wait"), ({"wait": "soon"}, "wait"),
    ({"from": "end"}, "from"), ({"cursor": "abc", "from": "beginning"}, "cursor"),
    ({"start_time": "yesterday"}, "start_time"), ({"query": "{action=}"}, None),
    ({"namespace": "other"}, "namespace"), ({"unknown": 1}, "unknown"),
])
def test_bad_parameters_are_400(client: FlaskClient, params: dict[str, Any],
                                field: str | None) -> None:
    response = client.get("/api/v1/namespaces/params/events/follow", query_string=params,
                          headers=ADMIN)
    assert response.status_code == 400, response.json
    if field is not None:
        assert response.json.get("field") == field, response.json


def _write_raw(es: Elasticsearch, index_prefix: str, namespace: str, event_id: str,
               stamp_ns: int) -> None:
    """An event as if its write had become visible long after its stamp."""
    es.index(index=f"{index_prefix}-events-2023.11", id=f"{namespace}:{event_id}",
             refresh=True, document={"id": event_id, "namespace": namespace,
                                     "time": "2023-11-14T22:13:20Z", "action": "login",
                                     "outcome": "unknown", "ingested_at": format_ns(stamp_ns, 9)})


def test_a_write_visible_late_inside_the_overlap_is_delivered_once(
        client: FlaskClient, es: Elasticsearch, index_prefix: str) -> None:
    ingest(client, "late", events("e", 3))
    ids, cursor = drain(client, "late")
    assert ids == ["e000", "e001", "e002"]
    stamp = parse_timestamp(client.get("/api/v1/namespaces/late/events/e002",
                                       headers=ADMIN).json["ingested_at"])[0]
    for n in range(4):  # stamped before what was delivered, visible only now
        _write_raw(es, index_prefix, "late", f"late{n}", stamp - 200_000_000 + n)
    late = follow(client, "late", cursor=cursor)
    assert [e["id"] for e in late.json["events"]] == [f"late{n}" for n in range(4)]
    again, cursor = drain(client, "late", late.json["cursor"])
    assert again == []
    # Late again, now among the newest delivered stamps (the window's new generation).
    ingest(client, "late", events("f", 2))
    fresh, cursor = drain(client, "late", cursor)
    assert fresh == ["f000", "f001"]
    newest = parse_timestamp(client.get("/api/v1/namespaces/late/events/f001",
                                        headers=ADMIN).json["ingested_at"])[0]
    _write_raw(es, index_prefix, "late", "later", newest - 1_000)
    assert drain(client, "late", cursor)[0] == ["later"]


def test_more_late_writes_than_a_cursor_can_name_come_again_not_lost(
        client: FlaskClient, es: Elasticsearch, index_prefix: str) -> None:
    ingest(client, "flood", events("e", 3))
    ids, cursor = drain(client, "flood")
    stamp = parse_timestamp(client.get("/api/v1/namespaces/flood/events/e002",
                                       headers=ADMIN).json["ingested_at"])[0]
    for n in range(60):
        _write_raw(es, index_prefix, "flood", f"late{n:02}", stamp - 200_000_000 + n)
    again, cursor = drain(client, "flood", cursor, limit=7)
    # The window is read again from its start: every late write, the others at least once.
    assert set(again) == {f"late{n:02}" for n in range(60)} | set(ids)
    assert len(again) == len(set(again))
    assert drain(client, "flood", cursor)[0] == []


def _sse_messages(chunks: Iterator[bytes]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                          if b": " in line and not line.startswith(b":"))
            if b"data" in fields:
                yield fields.get(b"id", b"").decode() or None, orjson.loads(fields[b"data"])


def test_sse_resumes_with_last_event_id(client: FlaskClient) -> None:
    ingest(client, "sse", events("s", 7))
    url = "/api/v1/namespaces/sse/events/follow?from=beginning&limit=2"
    got: list[str] = []
    last_id = None
    for _ in range(3):  # three connections, each cut after two or three events
        headers = {**ADMIN, "Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        response = client.get(url, headers=headers, buffered=False)
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        for n, (event_id, event) in enumerate(_sse_messages(response.response)):
            got.append(event["id"])
            last_id = event_id
            if n == 2 or len(got) == 7:
                break
        response.close()
        if len(got) == 7:
            break
    assert got == [f"s{n:03}" for n in range(7)]


def ndjson_lines(client: FlaskClient, namespace: str, limit: int,
                 events_wanted: int) -> list[dict[str, Any]]:
    """The lines of an NDJSON stream from the beginning, up to the cursor line after the
    ``events_wanted``-th event."""
    response = client.get(f"/api/v1/namespaces/{namespace}/events/follow?from=beginning"
                          f"&limit={limit}",
                          headers={**ADMIN, "Accept": "application/x-ndjson"}, buffered=False)
    assert response.mimetype == "application/x-ndjson"
    lines: list[dict[str, Any]] = []
    for chunk in response.response:
        lines += [orjson.loads(line) for line in chunk.splitlines()]
        if sum("id" in line for line in lines) == events_wanted and "cursor" in lines[-1]:
            break
    response.close()
    return lines


def test_ndjson_writes_a_cursor_line_after_each_batch(client: FlaskClient) -> None:
    ingest(client, "nd", events("n", 5))
    lines = ndjson_lines(client, "nd", 2, 5)
    shape = ["e" if "id" in line else "c" for line in lines]
    assert "".join(shape) == "ceecceec" or "".join(shape) == "ceeceecec", shape
    assert [line["id"] for line in lines if "id" in line] == [f"n{n:03}" for n in range(5)]


def test_each_ndjson_cursor_resumes_right_after_its_own_batch(client: FlaskClient) -> None:
    """A stream reads more than one batch at once; each batch still ends with the cursor
    after its own last event, and at most ``limit`` events come between cursor lines."""
    ingest(client, "ndc", events("m", 7))
    lines = ndjson_lines(client, "ndc", 3, 7)
    every = [f"m{n:03}" for n in range(7)]
    shape = "".join("e" if "id" in line else "c" for line in lines)
    assert shape == "ceeeceeecec", shape
    delivered = 0
    for line in lines[1:]:
        if "id" in line:
            delivered += 1
            continue
        assert drain(client, "ndc", line["cursor"])[0] == every[delivered:], delivered


def test_open_streams_per_key_are_bounded(app: Flask, client: FlaskClient) -> None:
    _, reader = create_key(app, "reader", "slots")
    stream = {**reader, "Accept": "text/event-stream"}
    url = "/api/v1/namespaces/slots/events/follow"
    open_streams = [client.get(url, headers=stream, buffered=False) for _ in range(2)]
    assert [r.status_code for r in open_streams] == [200, 200]
    refused = client.get(url, headers=stream, buffered=False)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get(url, headers=reader).status_code == 200  # polling is not a stream
    open_streams[1].close()  # (the test client's streams close last opened first)
    again = client.get(url, headers=stream, buffered=False)
    assert again.status_code == 200
    again.close()
    open_streams[0].close()


def test_reads_with_events_are_audited_per_batch(app: Flask, client: FlaskClient) -> None:
    info, reader = create_key(app, "reader", "audited")
    ingest(client, "audited", events("a", 3))
    cursor = follow(client, "audited", reader, **{"from": "beginning"}, wait=2).json["cursor"]
    for _ in range(3):
        assert follow(client, "audited", reader, cursor=cursor).json["events"] == []
    writer = notes.get_writer(app)
    assert writer is not None and writer.flush()
    app.extensions["auditlog.store"].events.refresh()
    trail = client.post("/api/v1/namespaces/system/events/search", headers=ADMIN, json={
        "query": f'{{api_key_id="{info["id"]}", action="audit.follow"}}'}).json["events"]
    assert [event["labels"]["count"] for event in trail] == ["3"]


def test_follow_metrics(client: FlaskClient, es_url: str, index_prefix: str) -> None:
    text = client.get("/metrics").get_data(as_text=True)
    for name in ("auditlog_follow_late_writes_total", "auditlog_follow_delivered_events_total",
                 "auditlog_follow_open_streams", "auditlog_follow_lag_seconds_count"):
        assert name in text
    late = REGISTRY.get_sample_value("auditlog_follow_late_writes_total") or 0.0
    # No bound at all (settle and overlap 0): every write counts as late.
    strict = make_test_app(es_url, index_prefix, AUDITLOG_FOLLOW_SETTLE=0.0,
                           AUDITLOG_FOLLOW_OVERLAP=0.0)
    ingest(strict.test_client(), "latecount", events("l", 2))
    assert REGISTRY.get_sample_value("auditlog_follow_late_writes_total") == late + 1
