"""``auditlog elasticsearch start --nodes 3`` gives a working local cluster (three nodes on
127.0.0.1, the service's indices with one replica on another node), and
``auditlog elasticsearch stop --nodes 3`` stops all three."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import requests
from elasticsearch import Elasticsearch

from app.store import local_node
from tests.conftest import ADMIN_KEY
from tests.e2e.live_service import serving
from tests.faults.conftest import fault_data_dir
from tests.faults.harness import make_events

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
PREFIX = "clicluster"


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli.commands", "elasticsearch", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
    except requests.ConnectionError:
        return False
    return True


def test_start_and_stop_a_three_node_cluster(need_launcher: None) -> None:
    base = fault_data_dir("cli-cluster")
    for data_dir in local_node.cluster_node_dirs(base, 3):
        shutil.rmtree(data_dir / "es-data", ignore_errors=True)
    started = _cli("start", "--nodes", "3", "--heap", "512m", "--data-dir", str(base))
    try:
        assert started.returncode == 0, started.stderr
        urls = re.search(r"ELASTICSEARCH_URL=(\S+)", started.stdout).group(1).split(",")
        assert len(urls) == 3 and all(url.startswith("http://127.0.0.1:") for url in urls)
        for url in urls:  # every node answers for the same cluster of three
            health = requests.get(f"{url}/_cluster/health", timeout=10).json()
            assert health["number_of_nodes"] == 3
            assert health["cluster_name"] == f"auditlog-{base.name}"
        es = Elasticsearch(urls, request_timeout=60)
        names = sorted(node["name"] for node in es.nodes.info()["nodes"].values())
        assert names == ["node-0", "node-1", "node-2"]

        events = make_events("n", 500)
        with serving(",".join(urls), PREFIX, ADMIN_KEY, workers=1,
                     AUDITLOG_SELF_AUDIT="false") as served:
            stored = requests.post(f"{served.url}/api/v1/namespaces/nodes/events"
                                   "?refresh=wait_for", json=events, headers=HEADERS,
                                   timeout=120)
            assert stored.status_code == 200, stored.text
            es.cluster.health(index=f"{PREFIX}-events-*", wait_for_status="green",
                              timeout="120s")
            shards = es.cat.shards(index=f"{PREFIX}-events-*", format="json")
            found = requests.post(f"{served.url}/api/v1/namespaces/nodes/events/search",
                                  json={"start_time": "2024-04-30T00:00:00Z",
                                        "end_time": "2024-05-02T00:00:00Z", "limit": 1},
                                  headers=HEADERS, timeout=60).json()
        es.close()
        assert found["total_hits"] == len(events)
        copies = {(s["index"], s["shard"]): [] for s in shards}
        for shard in shards:
            assert shard["state"] == "STARTED"
            copies[(shard["index"], shard["shard"])].append((shard["prirep"], shard["node"]))
        for placed in copies.values():  # a primary and its replica, on two nodes
            assert sorted(kind for kind, _ in placed) == ["p", "r"]
            assert len({node for _, node in placed}) == 2
    finally:
        stopped = _cli("stop", "--nodes", "3", "--data-dir", str(base), timeout=300)
        for data_dir in local_node.cluster_node_dirs(base, 3):
            shutil.rmtree(data_dir / "es-data", ignore_errors=True)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped 3 of 3 nodes" in stopped.stdout
    assert not any(_answers(url) for url in urls)

