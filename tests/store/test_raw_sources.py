"""Search answers whose hits keep their stored JSON text (``raw_sources``), on a real node."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import elasticsearch
import msgspec
import orjson
import pytest
from elasticsearch import Elasticsearch

from app.store.client import make_client, raw_sources

# Stored as written: pretty-printed, keys in no particular order, non-ASCII text and an
# escaped line break inside a string.
_STORED = {
    "a": b'{\n  "n": 1,\n  "name": "Zo\xc3\xab",\n  "note": "two\\nlines"\n}',
    "b": b'{"n":2,"name":"b","nested":{"x":[1.5,2.5,null],"y":true}}',
}


@pytest.fixture
def index(es: Elasticsearch) -> Iterator[str]:
    name = f"trawsources{uuid.uuid4().hex[:8]}"
    es.indices.create(index=name, settings={"number_of_replicas": 0})
    for doc_id, text in _STORED.items():
        es.perform_request("PUT", f"/{name}/_doc/{doc_id}", body=text,
                           headers={"content-type": "application/json",
                                    "accept": "application/json"})
    es.indices.refresh(index=name)
    yield name
    es.indices.delete(index=name)


def test_hits_keep_the_text_elasticsearch_stored(es_url: str, index: str) -> None:
    client = make_client({"ELASTICSEARCH_URL": es_url})
    with raw_sources():
        answer = client.search(index=index, sort=[{"n": "asc"}], size=10)
    hits = answer["hits"]["hits"]
    assert [bytes(hit["_source"]) for hit in hits] == [_STORED["a"], _STORED["b"]]
    assert all(isinstance(hit["_source"], msgspec.Raw) for hit in hits)
    assert [hit["sort"] for hit in hits] == [[1], [2]]
    assert answer["_shards"]["failed"] == 0
    assert answer["timed_out"] is False
    # Outside the block the same client parses as ever.
    parsed = client.search(index=index, sort=[{"n": "asc"}], size=10)["hits"]["hits"]
    assert [hit["_source"] for hit in parsed] == [orjson.loads(t) for t in _STORED.values()]


def test_an_error_answer_keeps_its_error(es_url: str) -> None:
    client = make_client({"ELASTICSEARCH_URL": es_url})
    with raw_sources(), pytest.raises(elasticsearch.NotFoundError) as caught:
        client.search(index=f"tnosuchindex{uuid.uuid4().hex[:8]}")
    assert caught.value.body["error"]["type"] == "index_not_found_exception"
    assert caught.value.body["status"] == 404


def test_other_threads_are_not_affected(es_url: str, index: str) -> None:
    client = make_client({"ELASTICSEARCH_URL": es_url})
    seen: list[object] = []
    with raw_sources():
        reader = threading.Thread(target=lambda: seen.extend(
            hit["_source"] for hit in client.search(index=index)["hits"]["hits"]))
        reader.start()
        reader.join()
    assert len(seen) == 2
    assert all(isinstance(source, dict) for source in seen)
