"""A local 3-node cluster (three processes of the distribution, one replica per shard) loses
a node — ``kill -9`` — during ingest and follow, during a scroll and during a sliced export.

The node killed is the one that matters each time: the primary of the events
index during ingest, the node holding the scroll's or the export's contexts
during reads. The service knows all three nodes (ELASTICSEARCH_URL lists them)
and is never restarted. After each scenario the node is started again and the
cluster waits for green.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import requests
from elasticsearch import Elasticsearch

from app.store import local_node
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import Served, start_service
from tests.e2e.test_follow_live import Follower, _settle
from tests.faults.conftest import fault_data_dir
from tests.faults.harness import RetryingIngester, make_events, report, stored_ids

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
PREFIX = "faults"
READ_NS = "reads"
READ_EVENTS = 50_000
WINDOW = {"start_time": "2024-04-30T00:00:00Z", "end_time": "2024-05-02T00:00:00Z"}


@dataclass
class Cluster:
    """The running cluster: each node's state and place, a client of all, the service."""

    base: Path
    nodes: list[tuple[local_node.NodeState, local_node.ClusterMember]]
    es: Elasticsearch
    service: Served
    expected_reads: list[str]

    def data_dir(self, name: str) -> Path:
        return self.base / name

    def kill(self, name: str) -> None:
        assert local_node.kill(self.data_dir(name))

    def restart(self, name: str) -> None:
        state, member = next((s, m) for s, m in self.nodes if m.name == name)
        local_node.start(self.data_dir(name), state.port, heap="512m", member=member,
                         wait=False)
        local_node.wait_for_nodes(self.nodes[0][0].url if name != "node-0"
                                  else self.nodes[1][0].url, len(self.nodes))
        self.es.cluster.health(wait_for_status="green", timeout="120s")


@pytest.fixture(scope="module")
def cluster(need_launcher: None) -> Iterator[Cluster]:
    base = fault_data_dir("cluster")
    for data_dir in local_node.cluster_node_dirs(base, 3):
        shutil.rmtree(data_dir / "es-data", ignore_errors=True)
    nodes = local_node.start_cluster(base, 3, heap="512m")
    urls = ",".join(state.url for state, _ in nodes)
    es = Elasticsearch(urls.split(","), request_timeout=60, max_retries=3,
                       retry_on_timeout=True)
    service = start_service(urls, PREFIX, ADMIN_KEY, workers=2,
                            AUDITLOG_SELF_AUDIT="false")
    try:
        preload = make_events("r", READ_EVENTS)
        for n in range(0, READ_EVENTS, 5000):
            loaded = requests.post(
                f"{service.url}/api/v1/namespaces/{READ_NS}/events?refresh=wait_for",
                json=preload[n:n + 5000], headers=HEADERS, timeout=300)
            assert loaded.status_code == 200, loaded.text
        es.cluster.health(wait_for_status="green", timeout="120s")
        yield Cluster(base, nodes, es, service, [event["id"] for event in preload])
    finally:
        service.stop()
        service.stderr.unlink(missing_ok=True)
        es.close()
        for data_dir in local_node.cluster_node_dirs(base, 3):
            local_node.stop(data_dir)
            shutil.rmtree(data_dir / "es-data", ignore_errors=True)


def _primary_node(es: Elasticsearch) -> str:
    shards = es.cat.shards(index=f"{PREFIX}-events-*", format="json")
    return next(s["node"] for s in shards if s["prirep"] == "p" and s["state"] == "STARTED")


def _node_with_contexts(es: Elasticsearch, kind: str) -> str:
    """The node holding open search contexts of ``kind`` (``scroll_current`` or
    ``open_contexts``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = es.nodes.stats(metric="indices", index_metric="search")["nodes"]
        for node in stats.values():
            if node["indices"]["search"][kind] > 0:
                return str(node["name"])
        time.sleep(0.2)
    raise AssertionError(f"no node holds {kind}")


def test_node_lost_during_ingest_and_follow(cluster: Cluster) -> None:
    namespace = "ingest"
    followers = [Follower(lambda: cluster.service.url, namespace, mode)
                 for mode in ("poll", "sse", "ndjson")]
    for follower in followers:
        follower.start()
    events = make_events("c", 40 * 250)
    ingest = RetryingIngester(lambda: cluster.service.url, namespace, HEADERS,
                              [events[n:n + 250] for n in range(0, len(events), 250)],
                              pause=0.05).start()
    while ingest.done_batches < 12:
        time.sleep(0.05)
    victim = _primary_node(cluster.es)
    cluster.kill(victim)
    ingest.join()
    try:
        _settle(followers, set(ingest.acknowledged), timeout=180)
        follows = [report(f"3 nodes, primary's node kill -9 during follow ({f.mode})",
                          ingest.acknowledged, f.ids, f"{f.reconnects} requests/connections")
                   for f in followers]
        result = report("3 nodes, primary's node kill -9 during ingest", ingest.acknowledged,
                        stored_ids(cluster.es, PREFIX, namespace),
                        f"killed {victim}; answers {dict(ingest.statuses)}, "
                        f"{ingest.broken} broken requests")
    finally:
        cluster.restart(victim)
    assert result.acknowledged == len(events)
    assert (result.gaps, result.duplicates) == (0, 0)
    assert result.stored == result.acknowledged
    for follow in follows:
        assert (follow.gaps, follow.duplicates) == (0, 0), follow.scenario


def test_node_lost_during_a_scroll(cluster: Cluster) -> None:
    search = f"{cluster.service.url}/api/v1/namespaces/{READ_NS}/events/search"
    body = {**WINDOW, "sort": "ASCENDING", "limit": 500}
    page = requests.post(search, headers=HEADERS, json={**body, "scroll": True}, timeout=60)
    ids = [event["id"] for event in page.json()["events"]]
    last = page.json()
    victim = _node_with_contexts(cluster.es, "scroll_current")
    cluster.kill(victim)
    try:
        outcome = "continued"
        while last["scroll_id"]:
            answer = requests.post(f"{search[:-len('search')]}scroll", headers=HEADERS,
                                   json={"scroll_id": last["scroll_id"]}, timeout=60)
            if answer.status_code != 200:
                # The scroll died with its node: go on from the last page with search_after.
                outcome = f"scroll answered {answer.status_code} {answer.json()['code']}, " \
                          "resumed with search_after"
                sort_values = last["last_sort_values"]
                while True:
                    after = requests.post(search, headers=HEADERS, timeout=60, json={
                        **body, "search_after": True, "sort_values": sort_values})
                    assert after.status_code == 200, after.text
                    ids.extend(event["id"] for event in after.json()["events"])
                    if len(after.json()["events"]) < 500:
                        break
                    sort_values = after.json()["last_sort_values"]
                break
            last = answer.json()
            ids.extend(event["id"] for event in last["events"])
        result = report("3 nodes, scroll's node kill -9 during a scroll",
                        cluster.expected_reads, ids, f"killed {victim}; {outcome}")
    finally:
        cluster.restart(victim)
    assert (result.gaps, result.duplicates) == (0, 0)
    assert ids == cluster.expected_reads


def test_node_lost_during_a_sliced_export(cluster: Cluster) -> None:
    export = requests.get(f"{cluster.service.url}/api/v1/namespaces/{READ_NS}/events/export",
                          headers=HEADERS, stream=True, timeout=300)
    assert export.status_code == 200
    lines = export.iter_lines(chunk_size=16 * 1024)
    ids = [orjson.loads(next(lines))["id"] for _ in range(100)]
    victim = _node_with_contexts(cluster.es, "open_contexts")
    cluster.kill(victim)
    try:
        ids.extend(orjson.loads(line)["id"] for line in lines if line)
        reopened = cluster.service.stderr_text().count("export point-in-time lost")
        result = report("3 nodes, point-in-time's node kill -9 during a sliced export",
                        cluster.expected_reads, ids,
                        f"killed {victim}; the point-in-time reopened {reopened} time(s)")
    finally:
        cluster.restart(victim)
    assert reopened >= 1
    assert (result.gaps, result.duplicates) == (0, 0)
    assert ids == cluster.expected_reads
