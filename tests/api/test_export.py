"""Streaming export (NDJSON and CSV) on a real node: completeness, order, resume, errors, PIT."""

from __future__ import annotations

import csv
import io
import time

import orjson
import pytest
from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient

from app.api.streaming import CSV_COLUMNS, ndjson_chunks, stored_line
from app.engine.extension import current_engine
from app.engine.query import compile_query
from app.engine.search import SortValues
from app.model.time_window import TimeWindow
from app.model.timestamps import NS_PER_S, format_ns

COUNT = 20_000
BASE_NS = 1_700_000_000 * NS_PER_S
TIE_NS = BASE_NS + 5_000 * NS_PER_S
NS = "exp"
URL = f"/api/v1/namespaces/{NS}/events/export"


def _event(n: int) -> dict:
    # Every 50th event shares one instant, so ties on time are broken by id.
    ns = TIE_NS if n % 50 == 0 else BASE_NS + n * NS_PER_S + 123_456
    event = {"id": f"e{n:06d}", "time": format_ns(ns, 9), "action": ("login", "logout")[n % 2],
             "actor": {"id": f"u{n % 7}", "name": f"user {n % 7}"},
             "target": {"kind": "feature", "id": f"f{n % 3}"},
             "labels": {"env": "prod", "team": f"t{n % 4}"}}
    if n == 1:
        event["error"] = 'multi\nline, "quoted"'
        event["context"] = {"a": [1, 2]}
    return event


@pytest.fixture(scope="module")
def loaded(app: Flask) -> dict[str, int]:
    """COUNT events in ``exp`` and three in ``other``; returns the id -> time ns map."""
    client = app.test_client()
    headers = {"Authorization": "Bearer test-admin-key-0123456789"}
    times: dict[str, int] = {}
    for start in range(0, COUNT, 5_000):
        batch = [_event(n) for n in range(start, min(start + 5_000, COUNT))]
        body = b"\n".join(orjson.dumps(e) for e in batch)
        response = client.post(f"/api/v1/namespaces/{NS}/events?refresh=wait_for", data=body,
                               headers={**headers, "Content-Type": "application/x-ndjson"})
        assert response.status_code == 200, response.json
        assert response.json["created"] == len(batch)
    for n in range(COUNT):
        e = _event(n)
        times[e["id"]] = TIE_NS if n % 50 == 0 else BASE_NS + n * NS_PER_S + 123_456
    other = [{"id": f"o{n}", "time": format_ns(BASE_NS), "action": "login"} for n in range(3)]
    response = client.post("/api/v1/namespaces/other/events?refresh=wait_for", json=other,
                           headers=headers)
    assert response.status_code == 200
    return times


def _ndjson(client: FlaskClient, admin: dict, **params) -> list[dict]:
    response = client.get(URL, query_string=params, headers=admin)
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "application/x-ndjson"
    return [orjson.loads(line) for line in response.data.splitlines()]


def _expected(times: dict[str, int], descending: bool = False) -> list[str]:
    return [i for _, i in sorted(((t, i) for i, t in times.items()), reverse=descending)]


def test_ndjson_export_has_every_event_once_in_time_then_id_order(client, admin, loaded) -> None:
    events = _ndjson(client, admin)
    ids = [e["id"] for e in events]
    assert len(ids) == COUNT
    assert len(set(ids)) == COUNT
    assert ids == _expected(loaded)
    assert all(e["namespace"] == NS for e in events)


def test_ndjson_export_descending(client, admin, loaded) -> None:
    ids = [e["id"] for e in _ndjson(client, admin, sort="DESCENDING")]
    assert ids == _expected(loaded, descending=True)


def test_csv_export_has_every_event_once_with_flattened_columns(client, admin, loaded) -> None:
    response = client.post(URL, json={"format": "csv"}, headers=admin)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    ids = [r["id"] for r in records]
    assert len(ids) == COUNT
    assert len(set(ids)) == COUNT
    assert ids == _expected(loaded)
    one = next(r for r in records if r["id"] == "e000001")
    assert one["actor.id"] == "u1"
    assert one["target.kind"] == "feature"
    assert one["error"] == 'multi\nline, "quoted"'
    assert orjson.loads(one["labels"]) == {"env": "prod", "team": "t1"}
    assert orjson.loads(one["context"]) == {"a": [1, 2]}
    assert one["message"] == ""


def test_window_and_query_narrow_the_export(client, admin, loaded) -> None:
    start, end = BASE_NS + 100 * NS_PER_S, BASE_NS + 199 * NS_PER_S + 123_456
    events = _ndjson(client, admin, start_time=format_ns(start, 9), end_time=format_ns(end, 9),
                     query='{action="login", actor.id=~"u[0-3]"}')
    expected = [i for i, t in loaded.items() if start <= t <= end
                and int(i[1:]) % 2 == 0 and int(i[1:]) % 7 <= 3]
    assert sorted(e["id"] for e in events) == sorted(expected)
    assert expected


def test_other_namespaces_never_leak(client, admin, loaded) -> None:
    events = _ndjson(client, admin, query='{id=~"o.*"}')
    assert events == []
    ids = [e["id"] for e in _ndjson(client, admin, query='{namespace="other"}')]
    assert ids == []


@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
def test_after_resumes_strictly_after_the_last_event(client, admin, loaded, sort) -> None:
    full = [e["id"] for e in _ndjson(client, admin, sort=sort)]
    cut = 4_999  # a tie group boundary lies near: e005000... share TIE_NS
    head = _ndjson(client, admin, sort=sort)[:cut]
    last = head[-1]
    rest = _ndjson(client, admin, sort=sort, after_time=str(loaded[last["id"]]),
                   after_id=last["id"])
    assert [e["id"] for e in head] + [e["id"] for e in rest] == full
    rfc = _ndjson(client, admin, sort=sort, after_time=last["time"], after_id=last["id"])
    assert [e["id"] for e in rfc] == [e["id"] for e in rest]


# Slices far smaller than the data, pages that do not divide them, and a slice that
# the 400 events of TIE_NS make denser than a reader may buffer (read on in place).
@pytest.mark.parametrize("readers", [1, 2, 3])
@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
@pytest.mark.parametrize(("page_size", "slice_events"), [(97, 700), (250, 1), (2_000, 30_000)])
def test_sliced_reads_keep_the_order_of_one_chain(app, loaded, readers, sort, page_size,
                                                  slice_events) -> None:
    with app.app_context():
        engine = current_engine()
        events = engine.iter_events(NS, compile_query(""), TimeWindow(None, None), sort,
                                    page_size=page_size, readers=readers,
                                    slice_events=slice_events)
        ids = [e["id"] for e in events]
    assert ids == _expected(loaded, descending=sort == "DESCENDING")


@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
def test_raw_reads_give_the_stored_text_of_the_same_events(app, loaded, sort) -> None:
    """``raw=True`` hands on each event's stored JSON text: the same events, in the same
    order, as the parsed read, through slices, ties and pages that do not divide them."""
    with app.app_context():
        engine = current_engine()
        parsed = list(engine.iter_events(NS, compile_query(""), TimeWindow(None, None), sort,
                                         page_size=97, readers=3, slice_events=700))
        raw = list(engine.iter_events(NS, compile_query(""), TimeWindow(None, None), sort,
                                      page_size=97, readers=3, slice_events=700, raw=True))
    assert all(isinstance(text, bytes) for text in raw)
    assert [orjson.loads(text) for text in raw] == parsed
    assert len(parsed) == COUNT


def test_ndjson_export_is_byte_for_byte_the_parsed_events_encoded(app, client, admin,
                                                                  loaded) -> None:
    """The plain NDJSON export passes stored text through; for events the service stored,
    that is exactly what encoding the parsed events gives (the manifest's path)."""
    response = client.get(URL, headers=admin)
    assert response.status_code == 200
    with app.app_context():
        encoded = b"".join(ndjson_chunks(current_engine().iter_events(
            NS, compile_query(""), TimeWindow(None, None))))
    assert response.data == encoded
    assert response.data.count(b"\n") == COUNT


def test_a_stored_text_over_several_lines_becomes_one_line() -> None:
    text = b'{\n  "id": "x",\r\n  "error": "first\\nsecond",\n\t"n": [1,\n 2]\n}'
    line = stored_line(text)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert b"\r" not in line
    assert orjson.loads(line) == orjson.loads(text)
    assert orjson.loads(line)["error"] == "first\nsecond"
    assert stored_line(b'{"id":"y"}') == b'{"id":"y"}\n'


def test_an_event_rewritten_over_several_lines_is_still_one_line(app, client, admin, es,
                                                                 index_prefix) -> None:
    """A document written into the index by other means, pretty-printed, is still one
    NDJSON line with its values (an escaped line break inside a string included)."""
    events = [{"id": f"p{n}", "time": format_ns(BASE_NS + n * NS_PER_S, 9), "action": "login",
               "error": "first\nsecond", "actor": {"id": "Zoë"}} for n in range(3)]
    response = client.post("/api/v1/namespaces/pretty/events?refresh=wait_for", json=events,
                           headers=admin)
    assert response.status_code == 200
    found = es.search(index=f"{index_prefix}-events-*", query={"term": {"id": "p1"}})
    hit = found["hits"]["hits"][0]
    pretty = orjson.dumps(hit["_source"], option=orjson.OPT_INDENT_2)
    assert pretty.count(b"\n") > 5
    es.perform_request("PUT", f"/{hit['_index']}/_doc/{hit['_id']}", body=pretty,
                       headers={"content-type": "application/json", "accept": "application/json"},
                       params={"refresh": "true"})
    response = client.get("/api/v1/namespaces/pretty/events/export", headers=admin)
    assert response.status_code == 200
    lines = response.data.splitlines()
    assert len(lines) == 3
    exported = [orjson.loads(line) for line in lines]
    assert [e["id"] for e in exported] == ["p0", "p1", "p2"]
    assert exported[1] == hit["_source"]
    assert exported[1]["error"] == "first\nsecond"
    assert exported[1]["actor"]["id"] == "Zoë"


# Windows open at one end (the planning histogram needs both ends), ties inside.
@pytest.mark.parametrize(("start", "end"), [
    (None, TIE_NS + 3 * NS_PER_S), (TIE_NS - 3 * NS_PER_S, None),
    (BASE_NS + 100 * NS_PER_S, BASE_NS + 9_000 * NS_PER_S)])
@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
def test_sliced_reads_of_half_open_windows(app, loaded, start, end, sort) -> None:
    inside = {i: t for i, t in loaded.items()
              if (start is None or t >= start) and (end is None or t <= end)}
    with app.app_context():
        events = current_engine().iter_events(
            NS, compile_query(""), TimeWindow(start, end), sort, page_size=100, readers=3,
            slice_events=300)
        assert [e["id"] for e in events] == _expected(inside, descending=sort == "DESCENDING")


@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
def test_sliced_reads_resume_strictly_after(app, loaded, sort) -> None:
    expected = _expected(loaded, descending=sort == "DESCENDING")
    last = expected[4_999]
    with app.app_context():
        events = current_engine().iter_events(
            NS, compile_query(""), TimeWindow(None, None), sort,
            SortValues(loaded[last], last), page_size=100, readers=3, slice_events=300)
        assert [e["id"] for e in events] == expected[5_000:]


def test_empty_export(client, admin, loaded) -> None:
    assert _ndjson(client, admin, query='{action="nothing"}') == []
    response = client.get(URL, query_string={"format": "csv", "query": '{action="nothing"}'},
                          headers=admin)
    assert response.data.decode().splitlines() == [",".join(CSV_COLUMNS)]


@pytest.mark.parametrize(("params", "field"), [
    ({"format": "xml"}, "format"),
    ({"sort": "UP"}, "sort"),
    ({"query": '{action=~"(?=x)"}'}, "query"),
    ({"query": "{nofield=\"x\"}"}, "query"),
    ({"start_time": "2024-01-02T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"}, "start_time"),
    ({"start_time": "yesterday"}, "start_time"),
    ({"after_time": "1700000000000000000"}, "after_id"),
    ({"after_id": "e1"}, "after_id"),
    ({"after_id": "bad id!", "after_time": "1"}, "after_id"),
    ({"limit": "5"}, "limit"),
    ({"namespace": "other"}, "namespace"),
])
def test_bad_input_is_a_json_400_before_streaming(client, admin, loaded, params, field) -> None:
    for response in (client.get(URL, query_string=params, headers=admin),
                     client.post(URL, json=params, headers=admin)):
        assert response.status_code == 400, response.data[:300]
        assert response.is_json
        assert response.json["field"] == field


def test_export_needs_a_key(client, loaded) -> None:
    response = client.get(URL)
    assert response.status_code == 401
    assert response.is_json


def _open_contexts(es: Elasticsearch, prefix: str) -> int:
    stats = es.indices.stats(index=f"{prefix}-events-*", metric="search")
    return int(stats["_all"]["total"]["search"]["open_contexts"])


def _wait_for_contexts(es: Elasticsearch, prefix: str, expected: int) -> int:
    deadline = time.monotonic() + 10
    while (current := _open_contexts(es, prefix)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return current


def test_closing_the_stream_early_closes_the_point_in_time(app, admin, es, index_prefix,
                                                          loaded) -> None:
    baseline = _wait_for_contexts(es, index_prefix, 0)
    client = app.test_client()
    response = client.get(URL, headers=admin, buffered=False)
    assert response.status_code == 200
    chunks = iter(response.response)
    first = next(chunks)
    assert first.startswith(b"{")
    assert _open_contexts(es, index_prefix) > baseline  # the point-in-time is open
    response.close()  # what the server does when the client goes away
    assert _wait_for_contexts(es, index_prefix, baseline) == baseline


def test_a_finished_export_leaves_no_open_context(client, admin, es, index_prefix,
                                                  loaded) -> None:
    _ndjson(client, admin, format="ndjson")
    assert _wait_for_contexts(es, index_prefix, 0) == 0
