"""An index created a moment ago: its shard is not started yet, and Elasticsearch answers a
search or a point-in-time open on it with 503 "all shards failed". The client waits briefly
for the shard instead of failing the request."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from app.store.client import make_client, only_unstarted_shards


@pytest.mark.parametrize("operation", ["search", "open_point_in_time"])
def test_a_shard_not_started_yet_is_waited_for(es: Elasticsearch, es_url: str,
                                               index_prefix: str, operation: str) -> None:
    client = make_client({"ELASTICSEARCH_URL": es_url})
    index = f"{index_prefix}-events-{operation.replace('_', '-')}"
    es.indices.create(index=index, wait_for_active_shards="0",
                      settings={"number_of_shards": 1, "number_of_replicas": 0})
    try:
        if operation == "search":
            assert client.search(index=index, size=0)["_shards"]["failed"] == 0
        else:
            pit = client.open_point_in_time(index=index, keep_alive="10s")["id"]
            client.close_point_in_time(id=pit)
    finally:
        client.close()
        es.indices.delete(index=index)


_NOT_STARTED = {"type": "no_shard_available_action_exception", "reason": "[n][open_reader]"}


@pytest.mark.parametrize(("body", "unstarted"), [
    ({"_shards": {"failed": 1, "failures": [{"reason": _NOT_STARTED}]}}, True),
    ({"_shards": {"failed": 1, "failures": [{"reason": {"type": "x"}}]}}, False),
    ({"error": {"failed_shards": [{"reason": _NOT_STARTED}]}, "status": 503}, True),
    ({"error": {"failed_shards": [], "caused_by": {
        "reason": "Search rejected due to missing shards [[i][0]]. Consider using "
                  "`allow_partial_search_results` setting to bypass this error."}}}, True),
    ({"error": {"failed_shards": [], "caused_by": {"reason": "something else"}}}, False),
    ({"_shards": {"failed": 0}}, False),
])
def test_which_answers_mean_a_shard_not_started(body: dict, unstarted: bool) -> None:
    assert only_unstarted_shards(body) is unstarted
