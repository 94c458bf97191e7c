"""``kill -9`` of the (only) Elasticsearch node under a running service, then a restart.

The node is the test's own (its own port and data folder). While it is down the
service answers 503 with Retry-After; once it is back the same service process
answers again. Each read surface is followed across the outage:

- ingest: every acknowledged event is stored exactly once (the client retries the
  rest with the same ids);
- search_after: the page asked during the outage is a 503, the same request after
  it continues exactly where it stopped;
- scroll: its context died with the node, so continuing it is a 404 "expired"
  (a 503 while the node is down); the client starts again from the last page's
  ``last_sort_values`` with search_after, without repeat or gap;
- export: the stream either resumes on a new point-in-time (the node came back
  while the service was retrying) or is cut without its terminating chunk (never
  a short stream that looks complete); the test reports which;
- follow (long poll, SSE, NDJSON): the feed answers 503 or cuts the stream while
  the node is down, and the follower carries on from its last cursor: every
  acknowledged event exactly once.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import orjson
import pytest
import requests
from elasticsearch import Elasticsearch

from app.store import local_node
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import start_service
from tests.e2e.test_follow_live import Follower, _settle
from tests.faults.conftest import fault_data_dir
from tests.faults.harness import RetryingIngester, make_events, report, stored_ids

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
INGEST_NS, READ_NS = "ingest", "reads"
READ_EVENTS = 30_000
WINDOW = {"start_time": "2024-04-30T00:00:00Z", "end_time": "2024-05-02T00:00:00Z"}


@pytest.fixture(scope="module")
def node(need_launcher: None) -> Iterator[tuple]:
    data_dir = fault_data_dir("single")
    shutil.rmtree(data_dir / "es-data", ignore_errors=True)
    state, _ = local_node.start(data_dir=data_dir, heap="512m")
    yield data_dir, state
    local_node.stop(data_dir)
    shutil.rmtree(data_dir / "es-data", ignore_errors=True)


def _page(url: str, body: dict) -> requests.Response:
    return requests.post(f"{url}/api/v1/namespaces/{READ_NS}/events/search", headers=HEADERS,
                         json={**WINDOW, "sort": "ASCENDING", "limit": 500, **body}, timeout=60)


def _continue(url: str, scroll_id: str) -> requests.Response:
    return requests.post(f"{url}/api/v1/namespaces/{READ_NS}/events/scroll", headers=HEADERS,
                         json={"scroll_id": scroll_id}, timeout=60)


def _read_on(url: str, ids: list[str], sort_values: dict | None) -> None:
    """search_after pages from ``sort_values`` to the end, appended to ``ids``."""
    while True:
        body = {"search_after": True}
        if sort_values:
            body["sort_values"] = sort_values
        page = _page(url, body)
        assert page.status_code == 200, page.text
        events = page.json()["events"]
        ids.extend(event["id"] for event in events)
        if len(events) < 500:
            return
        sort_values = page.json()["last_sort_values"]


def test_node_killed_and_restarted(node, es_url: str) -> None:
    data_dir, state = node
    es = Elasticsearch(state.url, request_timeout=60)
    prefix = "faults"
    # One export reader: the export reads page by page as the client consumes it, so most of
    # it is still to be read from Elasticsearch when the node dies (sliced reads are killed
    # under in the 3-node test).
    served = start_service(state.url, prefix, ADMIN_KEY, workers=2,
                           AUDITLOG_EXPORT_READERS="1")
    url = served.url
    try:
        preload = make_events("r", READ_EVENTS)
        for n in range(0, READ_EVENTS, 5000):
            loaded = requests.post(f"{url}/api/v1/namespaces/{READ_NS}/events?refresh=wait_for",
                                   json=preload[n:n + 5000], headers=HEADERS, timeout=120)
            assert loaded.status_code == 200, loaded.text
        followers = [Follower(lambda: url, INGEST_NS, mode) for mode in ("poll", "sse", "ndjson")]
        for follower in followers:
            follower.start()
        events = make_events("i", 40 * 250)
        ingest = RetryingIngester(lambda: url, INGEST_NS, HEADERS,
                                  [events[n:n + 250] for n in range(0, len(events), 250)],
                                  pause=0.1).start()

        export = requests.get(f"{url}/api/v1/namespaces/{READ_NS}/events/export",
                              headers=HEADERS, stream=True, timeout=120)
        assert export.status_code == 200
        lines = export.iter_lines(chunk_size=16 * 1024)
        exported = [orjson.loads(next(lines))["id"] for _ in range(100)]

        after_ids: list[str] = []
        first = _page(url, {"search_after": True}).json()
        after_ids.extend(event["id"] for event in first["events"])
        scroll_ids: list[str] = []
        scroll = _page(url, {"scroll": True}).json()
        scroll_ids.extend(event["id"] for event in scroll["events"])

        while ingest.done_batches < 10:
            time.sleep(0.05)
        master_pid = served.process.pid
        assert local_node.kill(data_dir)
        down_search = _page(url, {"search_after": True, "sort_values": first["last_sort_values"]})
        down_scroll = _continue(url, scroll["scroll_id"])
        for answer in (down_search, down_scroll):
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "elasticsearch_unavailable"
            assert 0 < int(answer.headers["Retry-After"]) <= 60
        while ingest.statuses[503] == 0:
            time.sleep(0.1)
        local_node.start(data_dir=data_dir, port=state.port, heap="512m")
        ingest.join()
        _settle(followers, set(ingest.acknowledged), timeout=180)

        # search_after: the same request again continues where it stopped.
        _read_on(url, after_ids, first["last_sort_values"])
        # scroll: its context is gone; start again from its last page's sort values.
        expired = _continue(url, scroll["scroll_id"])
        assert expired.status_code == 404, expired.text
        assert "expired" in expired.json()["message"]
        _read_on(url, scroll_ids, scroll["last_sort_values"])
        # export: resumed or cut, never silently short.
        try:
            exported.extend(orjson.loads(line)["id"] for line in lines if line)
            reopened = served.stderr_text().count("export point-in-time lost")
            export_outcome = (f"resumed on a new point-in-time (reopened {reopened} time(s))"
                              if reopened else "complete: read before the outage reached it")
        except requests.exceptions.ChunkedEncodingError:
            export_outcome = "cut without its terminating chunk (client resumes)"
            resumed = requests.get(f"{url}/api/v1/namespaces/{READ_NS}/events/export",
                                   headers=HEADERS, timeout=300, params={
                                       "after_time": _time_of(preload, exported[-1]),
                                       "after_id": exported[-1]})
            exported.extend(orjson.loads(line)["id"] for line in resumed.content.splitlines())
        assert served.process.pid == master_pid and served.process.poll() is None
    finally:
        served.stop()
        served.stderr.unlink(missing_ok=True)

    expected = [event["id"] for event in preload]
    ingest_result = report(
        "single node kill -9 during ingest", ingest.acknowledged,
        stored_ids(es, prefix, INGEST_NS),
        f"{ingest.statuses[503]} answers 503 with Retry-After {sorted(set(ingest.retry_after))}, "
        "service not restarted")
    es.close()
    reads = {
        "single node kill -9: search_after read": (after_ids, "503 during, same page after"),
        "single node kill -9: scroll read": (scroll_ids, "404 expired after, resumed "
                                             "with search_after from last_sort_values"),
        "single node kill -9: export": (exported, export_outcome),
    }
    for follower in followers:
        result = report(f"single node kill -9: follow ({follower.mode})", ingest.acknowledged,
                        follower.ids, f"{follower.reconnects} requests/connections")
        assert (result.gaps, result.duplicates) == (0, 0), follower.mode
    for scenario, (ids, notes) in reads.items():
        result = report(scenario, expected, ids, notes)
        assert (result.gaps, result.duplicates) == (0, 0), scenario
        assert ids == expected, f"{scenario}: order"
    assert ingest.statuses[503] > 0 and ingest.retry_after
    assert ingest_result.acknowledged == 40 * 250
    assert (ingest_result.gaps, ingest_result.duplicates) == (0, 0)


def _time_of(events: list[dict], event_id: str) -> str:
    return next(event["time"] for event in events if event["id"] == event_id)
