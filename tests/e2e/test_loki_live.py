"""The Loki-compatible API of a real gunicorn service, read as logcli reads it.

``LogcliRequests`` sends logcli's requests byte for byte in what matters
(grafana/loki pkg/logcli/client/client.go: paths, parameters, ``User-Agent``,
basic auth always and a bearer token over it when given, ``X-Scope-OrgID``) and
pages a query as logcli's ``--limit``/``--batch`` do (pkg/logcli/query/query.go).
Its answers are compared with the native API's for the same data. ``/tail`` is
opened as a WebSocket the way logcli opens it (``LiveTailQueryConn``).

logcli itself is Loki code under the AGPL, which this project neither builds
nor downloads; when a ``logcli`` binary is installed (``LOGCLI`` names it, or
it is on ``PATH``), ``test_real_logcli`` runs it against the same service.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
import requests
import simple_websocket

from app.model.timestamps import NS_PER_S, format_ns, parse_timestamp
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import live_service

NS = "lokilive"
BASE_S = 1_717_203_600  # 2024-06-01T01:00:00Z, on a 10-minute edge like the native buckets
START_NS, END_NS = BASE_S * NS_PER_S, (BASE_S + 3600) * NS_PER_S
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _events() -> list[dict[str, Any]]:
    events = []
    for n in range(2_500):
        # 100 events share each of the instants 600 s and 1200 s in.
        offset_ns = (600 if n % 25 == 0 else 1200 if n % 25 == 1 else n) * NS_PER_S + 250_000_000
        events.append({"id": f"live-{n:05d}", "time": format_ns(START_NS + offset_ns, 9),
                       "action": ("login", "logout", "delete")[n % 3],
                       "actor": {"id": f"u{n % 7}"},
                       "message": "access denied" if n % 2 else "ok"})
    return events


@pytest.fixture(scope="module")
def service(es_url: str, index_prefix: str) -> Iterator[tuple[str, str]]:
    with live_service(es_url, index_prefix, ADMIN_KEY) as url:
        events = _events()
        for start in range(0, len(events), 1000):
            response = requests.post(f"{url}/api/v1/namespaces/{NS}/events?refresh=wait_for",
                                     json=events[start:start + 1000], headers=ADMIN,
                                     timeout=120)
            assert response.status_code == 200, response.text
        key = requests.post(f"{url}/api/v1/keys", headers=ADMIN, timeout=30, json={
            "name": "logcli", "role": "reader", "namespaces": [NS]})
        assert key.status_code == 201, key.text
        yield url, key.json()["secret"]


class LogcliRequests:
    """logcli's HTTP requests (pkg/logcli/client/client.go DefaultClient.doRequest)."""

    def __init__(self, addr: str, org_id: str = "", bearer_token: str = "",
                 password: str = "") -> None:
        self.addr, self.org_id, self.token, self.password = addr, org_id, bearer_token, password

    def get(self, path: str, params: list[tuple[str, str]]) -> Any:
        with requests.Session() as session:
            request = requests.Request("GET", f"{self.addr}{path}", params=params,
                                       auth=("", self.password),  # req.SetBasicAuth, always
                                       headers={"User-Agent": "loki-logcli/test"})
            prepared = session.prepare_request(request)
            if self.org_id:
                prepared.headers["X-Scope-OrgID"] = self.org_id
            if self.token:
                prepared.headers["Authorization"] = f"Bearer {self.token}"
            response = session.send(prepared, timeout=60)
            assert response.status_code == 200, response.text
            return response.json()

    def labels(self, name: str = "") -> list[str]:
        path = f"/loki/api/v1/label/{name}/values" if name else "/loki/api/v1/labels"
        return self.get(path, [("start", str(START_NS)), ("end", str(END_NS))])["data"]

    def series(self, *matchers: str) -> list[dict[str, str]]:
        return self.get("/loki/api/v1/series", [("start", str(START_NS)), ("end", str(END_NS)),
                                                *(("match", m) for m in matchers)])["data"]

    def query_range(self, query: str, limit: int, start: int, end: int,
                    step_s: float = 0) -> dict[str, Any]:
        params = [("query", query), ("limit", str(limit)), ("start", str(start)),
                  ("end", str(end)), ("direction", "BACKWARD")]
        if step_s:
            params.append(("step", f"{step_s:g}"))
        return self.get("/loki/api/v1/query_range", params)["data"]

    def query(self, query: str, limit: int, batch: int) -> list[dict[str, Any]]:
        """``logcli query --limit L --batch B``: backward batches, end = last time + 1 ns."""
        start, end = START_NS, END_NS
        printed: list[dict[str, Any]] = []
        last: list[tuple[int, str]] = []
        total = 0
        while total < limit:
            size = min(batch, limit - total + len(last))
            data = self.query_range(query, size, start, end)
            entries = sorted(((int(ts), line) for s in data["result"] for ts, line in s["values"]),
                             key=lambda pair: pair[0], reverse=True)
            fresh = [(ts, line) for ts, line in entries if (ts, line) not in last]
            if not fresh:
                break
            printed.extend(orjson.loads(line) for _, line in fresh)
            total += len(fresh)
            edge = entries[-1][0]
            last = [(ts, line) for ts, line in entries if ts == edge]
            end = edge + 1
        return printed


def native_events(url: str, query: str = "") -> list[dict[str, Any]]:
    """Every matching event of the hour through the native search API (search_after)."""
    events: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": query, "start_time": format_ns(START_NS),
                            "end_time": format_ns(END_NS - 1), "limit": 500}
    while True:
        response = requests.post(f"{url}/api/v1/namespaces/{NS}/events/search", json=body,
                                 headers=ADMIN, timeout=60)
        assert response.status_code == 200, response.text
        page = response.json()
        events.extend(page["events"])
        if len(page["events"]) < 500:
            return events
        body["search_after"] = True
        body["sort_values"] = page["last_sort_values"]


@pytest.mark.parametrize("auth", ["bearer", "password"])
def test_labels_and_values(service, auth: str) -> None:
    url, key = service
    logcli = LogcliRequests(url, org_id=NS, **{"bearer_token" if auth == "bearer" else
                                                "password": key})
    events = native_events(url)
    assert logcli.labels() == ["action", "actor_id", "namespace", "outcome"]
    assert logcli.labels("actor_id") == sorted({e["actor"]["id"] for e in events})


def test_series(service) -> None:
    url, key = service
    found = LogcliRequests(url, org_id=NS, bearer_token=key).series('{action="delete"}')
    expected = {(("action", "delete"), ("actor_id", e["actor"]["id"]), ("namespace", NS),
                 ("outcome", e["outcome"]))
                for e in native_events(url, 'action="delete"')}
    assert {tuple(sorted(s.items())) for s in found} == expected


def test_query_with_a_line_filter_pages_beyond_one_batch(service) -> None:
    url, key = service
    logcli = LogcliRequests(url, org_id=NS, bearer_token=key)
    # 1,250 matching lines, batches of 200 that end inside the 100-event instants.
    lines = logcli.query('{action=~"login|delete"} |= "denied"', limit=5000, batch=200)
    expected = native_events(url, 'action=~"login|delete", message="denied"')
    assert len(lines) == len({e["id"] for e in lines})
    assert sorted(e["id"] for e in lines) == sorted(e["id"] for e in expected)
    times = [parse_timestamp(e["time"])[0] for e in lines]
    assert times == sorted(times, reverse=True)  # backward, as logcli prints them


def test_metric_query(service) -> None:
    url, key = service
    data = LogcliRequests(url, org_id=NS, bearer_token=key).query_range(
        "sum by (action) (count_over_time({}[10m]))", 1000, START_NS, END_NS, step_s=600)
    assert data["resultType"] == "matrix"
    got = {(s["metric"]["action"], int(t)): int(v) for s in data["result"]
           for t, v in s["values"]}
    aggs = {"m": {"date_aggregation": {"step": "10m"},
                  "aggs": {"a": {"field_aggregation": {"field": "action"}}}}}
    response = requests.post(f"{url}/api/v1/namespaces/{NS}/events/aggregate", headers=ADMIN,
                             timeout=60, json={"start_time": format_ns(START_NS),
                                               "end_time": format_ns(END_NS - 1), "aggs": aggs})
    assert response.status_code == 200, response.text
    # No event sits on a 10-minute edge (all are 250 ms past a second): Loki's
    # (t - 10m, t] is the native bucket starting at t - 10m.
    expected = {(a["key"], parse_timestamp(b["key"])[0] // NS_PER_S + 600): a["count"]
                for b in response.json()["aggs"]["m"]["buckets"] for a in b["aggs"]["a"]["buckets"]}
    assert got == expected


def _logcli() -> str | None:
    return os.environ.get("LOGCLI") or shutil.which("logcli")


@pytest.mark.skipif(_logcli() is None, reason=(
    "logcli is not installed: it is Loki code under the AGPL, which this project neither "
    "builds nor downloads; set LOGCLI=/path/to/logcli to run logcli itself"))
def test_real_logcli(service) -> None:
    url, key = service
    binary = _logcli()
    assert binary is not None
    base = [binary, "--addr", url, "--org-id", NS, "--bearer-token", key, "--quiet"]
    window = ["--from", format_ns(START_NS), "--to", format_ns(END_NS)]

    def run(*args: str) -> str:
        result = subprocess.run([*base, *args], capture_output=True, text=True, timeout=300,
                                check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    events = native_events(url)
    assert set(run("labels", *window).split()) == {"action", "actor_id", "namespace",
                                                   "outcome"}
    assert set(run("labels", "actor_id", *window).split()) == {e["actor"]["id"]
                                                               for e in events}
    series = run("series", '{action="delete"}', *window)
    assert len(re.findall(r"^\{.*\}$", series, re.M)) == len(
        {(e["actor"]["id"], e["outcome"]) for e in events if e["action"] == "delete"})
    raw = run("query", '{action=~"login|delete"} |= "denied"', "--limit", "5000",
              "--batch", "200", "--output", "raw", *window)
    ids = [orjson.loads(line)["id"] for line in raw.splitlines() if line.strip()]
    expected = native_events(url, 'action=~"login|delete", message="denied"')
    assert sorted(ids) == sorted(e["id"] for e in expected)
    matrix = run("query", "sum by (action) (count_over_time({}[10m]))", "--step", "10m",
                 "--output", "jsonl", *window)
    assert "login" in matrix and "logout" in matrix


def _tail(url: str, key: str, query: str, headers: dict[str, str] | None = None,
          **params: str) -> Any:
    """A WebSocket to /tail as logcli opens it (client.go LiveTailQueryConn)."""
    target = url.replace("http://", "ws://") + "/loki/api/v1/tail?" + urlencode(
        {"query": query, **params})
    return simple_websocket.Client.connect(target, headers={
        "Authorization": f"Bearer {key}", "X-Scope-OrgID": NS, **(headers or {})})


def _frames(ws: Any, want: int, seconds: float = 60) -> list[dict[str, Any]]:
    """Entries of the frames received until ``want`` lines came (or the time ran out)."""
    entries: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while len(entries) < want and time.monotonic() < deadline:
        message = ws.receive(timeout=1)
        if message is None:
            continue
        body = orjson.loads(message)
        assert set(body) == {"streams"}
        for stream in body["streams"]:
            for ts, line in stream["values"]:
                event = orjson.loads(line)
                assert int(ts) == parse_timestamp(event["time"])[0]
                assert stream["stream"]["action"] == event["action"]
                entries.append(event)
    return entries


def test_tail_streams_stored_and_new_lines(service) -> None:
    url, key = service
    # Everything stored since the module began (start: unix seconds), then a new write.
    ws = _tail(url, key, '{action="delete"} |= "denied"', start="1", limit="50")
    try:
        expected = native_events(url, 'action="delete", message="denied"')
        first = _frames(ws, len(expected))
        assert sorted(e["id"] for e in first) == sorted(e["id"] for e in expected)
        fresh = [{"id": f"tail-{n}", "time": format_ns(START_NS + n * NS_PER_S),
                  "action": "delete", "message": "denied again"} for n in range(3)]
        fresh.append({"id": "tail-other", "time": format_ns(START_NS), "action": "login",
                      "message": "denied"})
        response = requests.post(f"{url}/api/v1/namespaces/{NS}/events", json=fresh,
                                 headers=ADMIN, timeout=60)
        assert response.status_code == 200, response.text
        later = _frames(ws, 3)
        assert sorted(e["id"] for e in later) == ["tail-0", "tail-1", "tail-2"]
    finally:
        ws.close()


@pytest.mark.parametrize(("query", "headers", "status"), [
    ("{}", {"X-Scope-OrgID": "someone-else"}, 403),
    ("sum(rate({}[1m]))", {}, 400),
    ("{", {}, 400),
])
def test_tail_refusals_are_http_answers(service, query: str, headers: dict[str, str],
                                        status: int) -> None:
    url, key = service
    # The handshake request a WebSocket client sends; the answer comes before any upgrade.
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Authorization": f"Bearer {key}", "X-Scope-OrgID": NS, **headers}
    response = requests.get(f"{url}/loki/api/v1/tail", params={"query": query},
                            headers=upgrade, timeout=30)
    assert response.status_code == status
    assert response.json()["status"] == "error" and response.json()["message"]
