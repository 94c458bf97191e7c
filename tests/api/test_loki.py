"""The Loki-compatible read API on a real node (DESIGN §12).

Request shapes are the ones Grafana's Loki data source and logcli send:

- Grafana, pkg/tsdb/loki/api.go (makeDataRequest): range queries are
  ``GET /loki/api/v1/query_range?query&direction&limit&start=<ns>&end=<ns>&step=<n>ms``,
  instant queries ``GET /loki/api/v1/query?query&direction&time=<ns>``; errors are
  read from the body's ``message`` (makeLokiError).
- Grafana, pkg/tsdb/loki/healthcheck.go: "Save & test" is the instant query
  ``vector(1)+vector(1)`` over the range 1 s .. 4 s and expects one sample of 2.
- logcli, pkg/logcli/client/client.go: ``query_range`` with ``limit``,
  ``start``/``end`` in ns, ``direction=BACKWARD`` (upper case) and ``step`` in
  float seconds; ``/labels`` and ``/label/<name>/values`` with ``start``/``end``;
  ``/series`` with ``match`` (Grafana sends ``match[]``); basic auth always, a
  bearer token when given; ``X-Scope-OrgID`` with ``--org-id``.
- logcli, pkg/logcli/query/query.go: a ``--limit`` beyond one batch pages
  backward by asking again with ``end`` = the last line's time + 1 ns and
  dropping the lines it already printed at that instant.

Answers follow grafana/loki pkg/loghttp (``{"status": "success", "data": ...}``).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from app.model.timestamps import NS_PER_S, format_ns
from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "lokins"
OTHER = "lokiother"
BASE_S = 1_717_200_000  # 2024-06-01T00:00:00Z
BASE_NS = BASE_S * NS_PER_S
TIE_NS = BASE_NS + 1_800 * NS_PER_S + 250_000_000  # 30 events share this instant
ACTIONS = ("login", "logout", "delete")
HOUR = {"start": str(BASE_NS), "end": str(BASE_NS + 3600 * NS_PER_S)}


def _event(n: int) -> dict[str, Any]:
    # Off the minute: no event lies on a window boundary but those of the boundary test.
    ns = TIE_NS if n % 10 == 0 else BASE_NS + n * 11 * NS_PER_S + 123_456_789
    event: dict[str, Any] = {
        "id": f"lk-{n:04d}", "time": format_ns(ns, 9), "action": ACTIONS[n % 3],
        "outcome": "failure" if n % 4 == 0 else "success", "actor": {"id": f"u{n % 5}"},
        "purpose": str(n % 50), "message": f"request {n}" + (" denied" if n % 7 == 0 else ""),
    }
    if n % 6 == 0:
        event["labels"] = {"team": "red" if n % 12 else "blue"}
    return event


EVENTS = [_event(n) for n in range(300)]


def _parse(text: str) -> int:
    from app.model.timestamps import parse_timestamp

    return parse_timestamp(text)[0]


@pytest.fixture(scope="module")
def keys(app) -> dict[str, dict[str, str]]:
    client = app.test_client()
    ingest(client, ADMIN, NS, EVENTS)
    ingest(client, ADMIN, OTHER, [{"id": "other-1", "time": format_ns(BASE_NS + NS_PER_S),
                                   "action": "login"}])
    _, reader = create_key(app, "reader", NS)
    _, other = create_key(app, "reader", OTHER)
    answer, _ = create_key(app, "reader", NS)
    return {"reader": reader, "other": other,
            "basic": {"Authorization": "Basic " + base64.b64encode(
                f"grafana:{answer['secret']}".encode()).decode()}}


def get(client: FlaskClient, path: str, headers: dict[str, str], **args: Any) -> Any:
    response = client.get(f"/loki/api/v1{path}", query_string=args, headers=headers)
    return response


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["status"] == "success"
    return body["data"]


def native_ids(client: FlaskClient, query: str = "") -> set[str]:
    """Every event id the native search API finds in the test hour."""
    ids: set[str] = set()
    body: dict[str, Any] = {"query": query, "start_time": format_ns(BASE_NS),
                            "end_time": format_ns(BASE_NS + 3600 * NS_PER_S - 1), "limit": 500}
    response = client.post(f"/api/v1/namespaces/{NS}/events/search", json=body, headers=ADMIN)
    assert response.status_code == 200, response.json
    ids.update(e["id"] for e in response.json["events"])
    assert response.json["total_hits"] == len(ids)
    return ids


def stream_ids(data: dict[str, Any]) -> list[str]:
    assert data["resultType"] == "streams"
    return [orjson.loads(line)["id"] for s in data["result"] for _, line in s["values"]]


# --- Grafana's data source test -------------------------------------------------------


def test_grafana_save_and_test(client: FlaskClient, keys) -> None:
    # healthcheck.go: instant query, time range 1 s .. 4 s, so time=End.UnixNano().
    data = ok(get(client, "/query", keys["reader"], query="vector(1)+vector(1)",
                  direction="backward", time="4000000000"))
    assert data["resultType"] == "vector"
    # Loki reads a number of at most 10 digits as seconds (pkg/loghttp/params.go), so
    # 4000000000 is a time in 2096, as Loki itself answers; Grafana checks only the 2.
    assert data["result"] == [{"metric": {}, "value": [4_000_000_000, "2"]}]


def test_buildinfo(client: FlaskClient, keys) -> None:
    response = get(client, "/status/buildinfo", keys["reader"])
    assert response.status_code == 200
    assert response.json["version"].count(".") == 2


# --- log queries ------------------------------------------------------------------------

STREAM_CASES = [
    # (query, native query of the same events)
    ('{action="login"}', 'action="login"'),
    ('{actor_id=~"u[12]", outcome="failure"}', 'actor.id=~"u[12]", outcome="failure"'),
    ('{labels_team="red"}', 'labels.team="red"'),
    ('{} | outcome="failure"', 'outcome="failure"'),
    ('{action!="delete"} | json | logfmt', 'action!="delete"'),
]


@pytest.mark.parametrize(("logql", "native"), STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
def test_log_query_matches_native_search(client: FlaskClient, keys, logql: str,
                                         native: str) -> None:
    # Grafana's range query (api.go): direction, limit 1000, ns bounds, step in ms.
    data = ok(get(client, "/query_range", keys["reader"], query=logql, direction="backward",
                  limit="1000", step="2000ms", **HOUR))
    assert set(stream_ids(data)) == native_ids(client, native)
    assert data["stats"]["summary"]["totalEntriesReturned"] == len(stream_ids(data))


def test_streams_shape(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/query_range", keys["reader"], query='{actor_id="u0"}',
                  limit="5", **HOUR))
    entries = [(int(ts), orjson.loads(line), s["stream"]) for s in data["result"]
               for ts, line in s["values"]]
    assert len(entries) == 5
    for ts, event, stream in entries:
        assert ts == _parse(event["time"])  # the entry's time is the event's, in ns
        assert stream["actor_id"] == "u0" and stream["namespace"] == NS
        assert stream["action"] == event["action"] and "id" not in stream
        assert ("labels_team" in stream) == ("labels" in event)
    times = sorted((ts for ts, _, _ in entries), reverse=True)
    all_u0 = sorted((_parse(e["time"]) for e in EVENTS if e["actor"]["id"] == "u0"),
                    reverse=True)
    assert times == all_u0[:5]  # backward: the newest first


@pytest.mark.parametrize(("logql", "expected"), [
    ('{} |= "denied"', lambda e: "denied" in e["message"]),
    ('{} != "denied"', lambda e: "denied" not in e["message"]),
    ('{} |~ "request 1[0-9]$"', lambda e: e["message"] in {f"request {n}" for n in range(10, 20)}),
    ('{} |~ "(?i)DENIED"', lambda e: "denied" in e["message"]),
    ('{} !~ "^request"', lambda e: False),
    ('{} |= "u3"', lambda e: e["actor"]["id"] == "u3"),  # any string value of the event
    ('{action="login"} |= "denied" | outcome="failure"',
     lambda e: e["action"] == "login" and "denied" in e["message"] and e["outcome"] == "failure"),
    ("{} | purpose >= 45", lambda e: int(e["purpose"]) >= 45),
    ("{} | purpose < 2 or purpose == 30", lambda e: int(e["purpose"]) in (0, 1, 30)),
    ("{} | purpose != 3 and purpose <= 4", lambda e: int(e["purpose"]) in (0, 1, 2, 4)),
])
def test_filters(client: FlaskClient, keys, logql: str, expected: Any) -> None:
    data = ok(get(client, "/query_range", keys["reader"], query=logql, limit="5000", **HOUR))
    assert sorted(stream_ids(data)) == sorted(e["id"] for e in EVENTS if expected(e))


def _logcli_pages(client: FlaskClient, headers: dict[str, str], query: str, total: int,
                  batch: int, forward: bool) -> list[str]:
    """logcli's batching (pkg/logcli/query/query.go DoQuery), line for line."""
    start, end = BASE_NS, BASE_NS + 3600 * NS_PER_S
    printed: list[str] = []
    last: list[tuple[int, str]] = []
    while len(printed) < total:
        size = min(batch, total - len(printed) + len(last))
        data = ok(get(client, "/query_range", headers, query=query, limit=str(size),
                      start=str(start), end=str(end),
                      direction="FORWARD" if forward else "BACKWARD"))
        entries = sorted(((int(ts), line) for s in data["result"] for ts, line in s["values"]),
                         key=lambda pair: pair[0], reverse=not forward)
        fresh = [(ts, line) for ts, line in entries if (ts, line) not in last]
        if not fresh:
            break
        printed.extend(orjson.loads(line)["id"] for _, line in fresh)
        edge = entries[-1][0]
        last = [(ts, line) for ts, line in entries if ts == edge]
        if forward:
            start = edge
        else:
            end = edge + 1  # end is exclusive: ask for the edge instant again
    return printed


@pytest.mark.parametrize("forward", [False, True], ids=["backward", "forward"])
def test_paging_by_time_loses_nothing_at_equal_timestamps(client: FlaskClient, keys,
                                                          forward: bool) -> None:
    # 30 events share TIE_NS and batches of 40 end inside that instant.
    ids = _logcli_pages(client, keys["reader"], "{}", total=300, batch=40, forward=forward)
    assert len(ids) == len(set(ids)) == 300
    assert set(ids) == native_ids(client)
    order = [_parse(next(e for e in EVENTS if e["id"] == i)["time"]) for i in ids]
    assert order == sorted(order, reverse=not forward)


def test_end_is_exclusive_and_start_inclusive(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/query_range", keys["reader"], query="{}", limit="100",
                  start=str(TIE_NS), end=str(TIE_NS + 1)))
    assert len(stream_ids(data)) == 30
    data = ok(get(client, "/query_range", keys["reader"], query="{}", limit="100",
                  start=str(TIE_NS - 1), end=str(TIE_NS)))
    assert stream_ids(data) == []


@pytest.mark.parametrize(("args", "count"), [
    ({"start": str(BASE_S), "end": str(BASE_S + 3600)}, 300),  # seconds (<= 10 digits)
    ({"start": f"{BASE_S}.0", "end": f"{BASE_S + 3600}.0"}, 300),  # float seconds
    ({"start": "2024-06-01T00:00:00Z", "end": "2024-06-01T01:00:00Z"}, 300),  # RFC 3339
    ({"start": str(TIE_NS), "end": "2024-06-01T00:30:00.250000001Z"}, 30),
])
def test_time_parameter_forms(client: FlaskClient, keys, args: dict[str, str],
                              count: int) -> None:
    data = ok(get(client, "/query_range", keys["reader"], query="{}", limit="5000", **args))
    assert len(stream_ids(data)) == count


def test_limit_default_and_direction(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/query_range", keys["reader"], query="{}", **HOUR))
    assert len(stream_ids(data)) == 100  # Loki's default limit
    forward = ok(get(client, "/query_range", keys["reader"], query="{}", limit="3",
                     direction="forward", **HOUR))
    assert stream_ids(forward) == ["lk-0001", "lk-0002", "lk-0003"]


# --- labels and series ----------------------------------------------------------------------


def test_labels(client: FlaskClient, keys) -> None:
    # logcli labels: /labels?start&end (ns); basic auth with the key as password.
    names = ok(get(client, "/labels", {**keys["basic"], "X-Scope-OrgID": NS}, **HOUR))
    assert names == sorted(["action", "actor_id", "labels_team", "namespace", "outcome",
                            "purpose"])


def test_label_values(client: FlaskClient, keys) -> None:
    values = ok(get(client, "/label/actor_id/values", keys["reader"], **HOUR))
    assert values == ["u0", "u1", "u2", "u3", "u4"]
    assert ok(get(client, "/label/labels_team/values", keys["reader"], **HOUR)) == [
        "blue", "red"]
    assert ok(get(client, "/label/nope/values", keys["reader"], **HOUR)) == []
    scoped = ok(get(client, "/label/actor_id/values", keys["reader"],
                    query='{purpose="0"}', **HOUR))
    assert scoped == sorted({e["actor"]["id"] for e in EVENTS if e["purpose"] == "0"})


@pytest.mark.parametrize("param", ["match[]", "match"])  # Grafana, logcli
def test_series(client: FlaskClient, keys, param: str) -> None:
    found = ok(get(client, "/series", keys["reader"], **{param: '{action="delete"}'}, **HOUR))
    expected = set(per_stream(lambda e: e["action"] == "delete"))
    assert {tuple(sorted(s.items())) for s in found} == expected
    assert len(found) == len(expected)


def test_index_stats(client: FlaskClient, keys) -> None:
    response = get(client, "/index/stats", keys["reader"], query='{action="login"}', **HOUR)
    assert response.status_code == 200
    stats = response.json
    assert stats["entries"] == 100
    assert stats["bytes"] > 100 * 100
    assert stats["streams"] >= 1


# --- metric queries -------------------------------------------------------------------------


def native_per_minute(client: FlaskClient, query: str = "") -> dict[tuple[str, str], int]:
    """(minute start RFC 3339, action) -> count, from the native aggregations API."""
    aggs = {"m": {"date_aggregation": {"step": "1m"},
                  "aggs": {"a": {"field_aggregation": {"field": "action", "topk": 10}}}}}
    body = {"query": query, "start_time": format_ns(BASE_NS),
            "end_time": format_ns(BASE_NS + 3600 * NS_PER_S - 1), "aggs": aggs}
    response = client.post(f"/api/v1/namespaces/{NS}/events/aggregate", json=body,
                           headers=ADMIN)
    assert response.status_code == 200, response.json
    return {(b["key"], a["key"]): a["count"] for b in response.json["aggs"]["m"]["buckets"]
            for a in b["aggs"]["a"]["buckets"]}


@pytest.mark.parametrize(("logql", "native", "scale"), [
    ("sum by (action) (count_over_time({}[1m]))", "", 1.0),
    ('sum by (action) (count_over_time({outcome="failure"} |= "denied" [1m]))',
     'outcome="failure", message="denied"', 1.0),
    ("sum by (action) (rate({}[1m]))", "", 1 / 60),
    ("sum without (actor_id, outcome, purpose, labels_team, namespace) "
     "(count_over_time({}[1m]))", "", 1.0),
])
def test_metric_equals_native_aggregations(client: FlaskClient, keys, logql: str,
                                           native: str, scale: float) -> None:
    # Loki's sample at t counts (t - 1m, t]; the native bucket at k counts [k, k + 1m).
    # No event of this set lies on a minute boundary, so sample t == bucket t - 1m.
    data = ok(get(client, "/query_range", keys["reader"], query=logql, step="60000ms",
                  start=str(BASE_NS), end=str(BASE_NS + 3600 * NS_PER_S)))
    assert data["resultType"] == "matrix"
    got = {(format_ns((int(t) - 60) * NS_PER_S), s["metric"]["action"]): float(v)
           for s in data["result"] for t, v in s["values"]}
    expected = {key: count * scale for key, count in native_per_minute(client, native).items()}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)


def test_window_boundary_follows_loki(client: FlaskClient, keys) -> None:
    # TIE_NS is 00:30:00.25: with step 250 ms, the sample at 00:30:00.25 counts the
    # 30 events there ((t - range, t]), the one at 00:30:00.50 no longer does.
    data = ok(get(client, "/query_range", keys["reader"],
                  query="sum(count_over_time({}[250ms]))",
                  start=str(TIE_NS - 250_000_000), end=str(TIE_NS + 250_000_000),
                  step="250ms"))
    (series,) = data["result"]
    assert series["values"] == [[TIE_NS / NS_PER_S, "30"]]


def test_instant_vector_and_topk(client: FlaskClient, keys) -> None:
    at = str(BASE_NS + 3600 * NS_PER_S)
    data = ok(get(client, "/query", keys["reader"], time=at,
                  query="topk(2, sum by (actor_id) (count_over_time({}[1h])))"))
    assert data["resultType"] == "vector"
    counts: dict[str, int] = {}
    for e in EVENTS:
        counts[e["actor"]["id"]] = counts.get(e["actor"]["id"], 0) + 1
    top = sorted(counts.values(), reverse=True)[:2]
    assert sorted((float(r["value"][1]) for r in data["result"]), reverse=True) == top
    assert all(r["value"][0] == BASE_S + 3600 for r in data["result"])


def stream_of(event: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    labels = {"namespace": NS, "action": event["action"], "outcome": event["outcome"],
              "actor_id": event["actor"]["id"], "purpose": event["purpose"]}
    if "labels" in event:
        labels["labels_team"] = event["labels"]["team"]
    return tuple(sorted(labels.items()))


def per_stream(select: Any = lambda e: True) -> dict[tuple[tuple[str, str], ...], int]:
    counts: dict[tuple[tuple[str, str], ...], int] = {}
    for e in EVENTS:
        if select(e):
            counts[stream_of(e)] = counts.get(stream_of(e), 0) + 1
    return counts


@pytest.mark.parametrize(("logql", "expected"), [
    ("sum(count_over_time({}[1h]))", lambda: 300.0),
    ('count(count_over_time({action="login"}[1h]))',
     lambda: float(len(per_stream(lambda e: e["action"] == "login")))),
    ("max(count_over_time({}[1h]))", lambda: float(max(per_stream().values()))),
    ("min(count_over_time({}[1h]))", lambda: float(min(per_stream().values()))),
    ("avg(count_over_time({}[1h]))", lambda: 300 / len(per_stream())),
])
def test_vector_aggregations(client: FlaskClient, keys, logql: str, expected: Any) -> None:
    at = str(BASE_NS + 3600 * NS_PER_S)
    data = ok(get(client, "/query", keys["reader"], time=at, query=logql))
    (sample,) = data["result"]
    assert sample["metric"] == {}
    assert float(sample["value"][1]) == pytest.approx(expected())


def test_per_stream_samples(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/query", keys["reader"], time=str(BASE_NS + 3600 * NS_PER_S),
                  query='count_over_time({outcome="failure"}[1h])'))
    got = {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}
    assert got == {k: float(v) for k, v in per_stream(lambda e: e["outcome"] == "failure").items()}


def test_by_a_label_no_event_has_is_one_series_without_it(client: FlaskClient, keys) -> None:
    at = str(BASE_NS + 3600 * NS_PER_S)
    for query in ("sum by (no_such_label) (count_over_time({}[1h]))",
                  "sum without (no_such_label) (count_over_time({action=\"login\"}[1h]))"):
        data = ok(get(client, "/query", keys["reader"], time=at, query=query))
        assert data["result"], query
        if "by (" in query:
            assert data["result"] == [{"metric": {}, "value": [BASE_S + 3600, "300"]}]
        else:
            assert sum(float(r["value"][1]) for r in data["result"]) == 100


def test_bytes_over_time_counts_the_lines(client: FlaskClient, keys) -> None:
    lines = ok(get(client, "/query_range", keys["reader"], query='{actor_id="u1"}',
                   limit="5000", **HOUR))
    size = sum(len(line.encode()) for s in lines["result"] for _, line in s["values"])
    data = ok(get(client, "/query", keys["reader"], time=str(BASE_NS + 3600 * NS_PER_S),
                  query='sum(bytes_over_time({actor_id="u1"}[1h]))'))
    assert float(data["result"][0]["value"][1]) == pytest.approx(size, rel=0.02)


def test_volume_range(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/index/volume_range", keys["reader"], query='{action=~".+"}',
                  step="600s", targetLabels="action", **HOUR))
    assert data["resultType"] == "matrix"
    assert {s["metric"]["action"] for s in data["result"]} == set(ACTIONS)


# --- tenancy and errors ------------------------------------------------------------------


def test_the_keys_only_namespace_without_header(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/query_range", keys["other"], query="{}", **HOUR))
    assert stream_ids(data) == ["other-1"]


@pytest.mark.parametrize(("who", "org", "status"), [
    ("reader", OTHER, 403),  # another namespace
    ("other", NS, 403),
    ("reader", "a|b", 400),  # Loki's multi-tenant form
    ("reader", "not a namespace!", 400),
])
def test_tenancy_in_lokis_error_shape(client: FlaskClient, keys, who: str, org: str,
                                      status: int) -> None:
    for path, args in (("/query_range", {"query": "{}"}), ("/labels", {}),
                       ("/series", {"match[]": "{}"}), ("/label/action/values", {})):
        response = get(client, path, {**keys[who], "X-Scope-OrgID": org}, **args)
        assert response.status_code == status, (path, response.json)
        assert response.json["status"] == "error"
        assert response.json["message"] == response.json["error"]


def test_admin_without_header_must_name_the_namespace(client: FlaskClient, keys) -> None:
    response = get(client, "/labels", ADMIN)
    assert response.status_code == 400
    assert "X-Scope-OrgID" in response.json["message"]
    assert ok(get(client, "/labels", {**ADMIN, "X-Scope-OrgID": NS}, **HOUR))


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"},
    {"Authorization": "Basic " + base64.b64encode(b"user:").decode()},
])
def test_unauthenticated(client: FlaskClient, headers: dict[str, str]) -> None:
    response = get(client, "/labels", headers)
    assert response.status_code == 401
    assert response.json["status"] == "error"


@pytest.mark.parametrize(("args", "message"), [
    ({"query": '{a="b"} | line_format "x"'}, "line_format is not supported"),
    ({"query": "sum(rate({}[1m])) / 2"}, "binary operator / between queries"),
    ({"query": '{nope="x"}'}, "unknown field"),
    ({"query": '{action="login"'}, "expected"),
    ({"query": ""}, "query is required"),
    ({"query": "{}", "limit": "5001"}, "max entries limit"),
    ({"query": "{}", "limit": "0"}, "positive"),
    ({"query": "{}", "direction": "sideways"}, "invalid direction"),
    ({"query": "{}", "start": "yesterday"}, "cannot parse"),
    ({"query": "{}", "start": "2", "end": "1"}, "end is before start"),
    ({"query": "rate({}[1m])", "step": "0"}, "positive"),
    ({"query": "rate({}[1m])", "step": "1s", "start": "0", "end": "100000"},
     "maximum resolution"),
])
def test_bad_requests_in_lokis_error_shape(client: FlaskClient, keys, args: dict[str, str],
                                           message: str) -> None:
    response = get(client, "/query_range", keys["reader"], **args)
    assert response.status_code == 400
    assert response.json["status"] == "error"
    assert message in response.json["message"]


def test_instant_log_query_is_refused_as_loki_does(client: FlaskClient, keys) -> None:
    response = get(client, "/query", keys["reader"], query='{action="login"}')
    assert response.status_code == 400
    assert "range query" in response.json["message"]


def test_basic_auth_is_for_the_loki_surface_only(client: FlaskClient, keys) -> None:
    assert ok(get(client, "/labels", {**keys["basic"], "X-Scope-OrgID": NS}, **HOUR))
    response = client.post(f"/api/v1/namespaces/{NS}/events/search", json={},
                           headers=keys["basic"])
    assert response.status_code == 401


def test_interval_thins_each_stream(client: FlaskClient, keys) -> None:
    # Loki's interval: lines of a stream at least this far apart (backward: newest first).
    events = [{"id": f"iv-{n}", "time": format_ns(BASE_NS + n * 60 * NS_PER_S), "action": "tick"}
              for n in range(10)]
    ingest(client, ADMIN, "lokiinterval", events)
    headers = {**ADMIN, "X-Scope-OrgID": "lokiinterval"}
    thinned = ok(get(client, "/query_range", headers, query="{}", interval="150", **HOUR))
    assert stream_ids(thinned) == ["iv-9", "iv-6", "iv-3", "iv-0"]
    forward = ok(get(client, "/query_range", headers, query="{}", interval="2m30s",
                     direction="forward", **HOUR))
    assert stream_ids(forward) == ["iv-0", "iv-3", "iv-6", "iv-9"]


def test_volume_is_bytes_by_label(client: FlaskClient, keys) -> None:
    data = ok(get(client, "/index/volume", keys["reader"], query='{actor_id=~"u[01]"}', **HOUR))
    assert data["resultType"] == "vector"
    got = {r["metric"]["actor_id"]: float(r["value"][1]) for r in data["result"]}
    assert set(got) == {"u0", "u1"}
    lines = ok(get(client, "/query_range", keys["reader"], query='{actor_id="u0"}',
                   limit="5000", **HOUR))
    size = sum(len(line.encode()) for s in lines["result"] for _, line in s["values"])
    assert got["u0"] == pytest.approx(size, rel=0.02)
