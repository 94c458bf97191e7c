"""A search that meets a shard not started yet: retried briefly, then refused (503).

Elasticsearch lists a freshly created index before its primary shard is allocated;
a search in that moment answers 200 with a shard failure. The service's client waits
for such a shard a little, and never passes on the partial answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from app.engine.stream_reader import StreamReader
from app.errors import StoreUnavailable
from app.store import client as app_es
from app.store.client import make_client, only_unstarted_shards, raw_sources

_NOWHERE = {"index.routing.allocation.require._name": "no-such-node",
            "number_of_replicas": 0}


@pytest.fixture
def unallocated(es: Elasticsearch) -> Iterator[str]:
    """An index whose only shard cannot be allocated, next to a healthy one."""
    base = f"tunstarted{uuid.uuid4().hex[:8]}"
    es.indices.create(index=f"{base}-ok", settings={"number_of_replicas": 0})
    es.index(index=f"{base}-ok", id="1", document={"n": 1}, refresh=True)
    es.indices.create(index=f"{base}-new", settings=_NOWHERE, wait_for_active_shards="0")
    yield base
    es.indices.delete(index=f"{base}-*", ignore_unavailable=True, allow_no_indices=True)


def _open_scrolls(es: Elasticsearch) -> int:
    stats = es.nodes.stats(metric="indices", index_metric="search")
    return sum(n["indices"]["search"]["scroll_current"] for n in stats["nodes"].values())


def test_a_shard_that_never_starts_gives_503_and_leaves_no_scroll(
        es: Elasticsearch, es_url: str, unallocated: str) -> None:
    client = make_client({"ELASTICSEARCH_URL": es_url})
    before = _open_scrolls(es)
    with pytest.raises(StoreUnavailable, match="no_shard_available"):
        client.search(index=f"{unallocated}-*", scroll="1m", query={"match_all": {}})
    with pytest.raises(StoreUnavailable):
        client.count(index=f"{unallocated}-*")
    assert _open_scrolls(es) == before


def _allocate_at_first_pause(es: Elasticsearch, unallocated: str,
                             monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the client's retry pauses start the unallocated shard at the first one (the
    first answer failed on it); the pauses taken are recorded in the returned list."""
    pauses: list[float] = []

    def allocate_during_the_pause(seconds: float) -> None:
        if not pauses:
            es.indices.put_settings(index=f"{unallocated}-new",
                                    settings={"index.routing.allocation.require._name": None})
            es.cluster.health(index=f"{unallocated}-new", wait_for_status="yellow", timeout="30s")
        pauses.append(seconds)

    monkeypatch.setattr(app_es.time, "sleep", allocate_during_the_pause)
    return pauses


def test_a_shard_that_starts_meanwhile_is_waited_for(
        es: Elasticsearch, es_url: str, unallocated: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client({"ELASTICSEARCH_URL": es_url})
    pauses = _allocate_at_first_pause(es, unallocated, monkeypatch)
    answer = client.search(index=f"{unallocated}-*", query={"match_all": {}})
    assert len(pauses) == 1
    assert answer["_shards"]["failed"] == 0
    assert [hit["_id"] for hit in answer["hits"]["hits"]] == ["1"]


@pytest.mark.parametrize("operation", ["search", "open_point_in_time"])
def test_an_only_shard_that_starts_meanwhile_is_waited_for(
        es: Elasticsearch, es_url: str, unallocated: str, operation: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The index alone: Elasticsearch answers 503 "all shards failed", not a partial 200.
    client = make_client({"ELASTICSEARCH_URL": es_url})
    pauses = _allocate_at_first_pause(es, unallocated, monkeypatch)
    if operation == "search":
        assert client.search(index=f"{unallocated}-new", size=0)["_shards"]["failed"] == 0
    else:
        client.close_point_in_time(id=client.open_point_in_time(
            index=f"{unallocated}-new", keep_alive="10s")["id"])
    assert len(pauses) == 1


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


def test_a_stream_read_never_passes_on_a_partial_page(
        es: Elasticsearch, es_url: str, unallocated: str) -> None:
    """The checkpointer, the verifier and the follow feed ask for a trimmed answer
    (``filter_path``); the trim keeps what says a shard is missing, so the page is
    refused rather than sealed or delivered short."""
    reader = StreamReader(make_client({"ELASTICSEARCH_URL": es_url}), f"{unallocated}-*")
    with pytest.raises(StoreUnavailable, match="no_shard_available"):
        list(reader.pages({"match_all": {}}))


def test_a_page_read_with_raw_sources_is_refused_when_a_shard_is_missing(
        es: Elasticsearch, es_url: str, unallocated: str) -> None:
    """The export's pages keep each source as JSON text (``raw_sources``); the parts that
    say a shard is missing are still decoded, so a partial page is refused the same way."""
    client = make_client({"ELASTICSEARCH_URL": es_url})
    with raw_sources(), pytest.raises(StoreUnavailable, match="no_shard_available"):
        client.search(index=f"{unallocated}-*", query={"match_all": {}})
