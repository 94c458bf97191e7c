"""The derived line fields (line_text, line_bytes) on new indices and on older ones.

An index made by the current template copies every value into ``line_text`` and
keeps ``line_bytes`` out of ``_source``; an index made before those fields
existed (strict mapping, ``_source`` not changeable) still takes writes, and
its events never show ``line_bytes``.
"""

from __future__ import annotations

import copy

from elasticsearch import Elasticsearch
from flask import Flask

from app.model.fields import LINE_BYTES, LINE_TEXT
from app.store.templates import load_templates
from tests.api.api_keys import ADMIN
from tests.conftest import make_test_app


def _older_mapping(index_prefix: str) -> dict:
    """The event mapping as it was before the line fields."""
    mapping = copy.deepcopy(load_templates(index_prefix)[f"{index_prefix}-events"]["template"][
        "mappings"])
    mapping["_source"] = {"enabled": True}
    for name in (LINE_TEXT, LINE_BYTES):
        del mapping["properties"][name]

    def strip(node: dict) -> None:
        for spec in node.values():
            spec.pop("copy_to", None)
            strip(spec.get("properties", {}))

    strip(mapping["properties"])
    mapping["dynamic_templates"][0]["labels_as_keywords"]["mapping"].pop("copy_to")
    return mapping


def test_old_and_new_indices(es: Elasticsearch, es_url: str, index_prefix: str) -> None:
    old = f"{index_prefix}-events-2023.01"
    es.indices.create(index=old, mappings=_older_mapping(index_prefix))
    app: Flask = make_test_app(es_url, index_prefix)
    client = app.test_client()
    events = [{"id": "in-old", "time": "2023-01-15T10:00:00Z", "action": "login",
               "labels": {"team": "red"}},
              {"id": "in-new", "time": "2023-02-15T10:00:00Z", "action": "login",
               "labels": {"team": "red"}}]
    response = client.post("/api/v1/namespaces/lines/events?refresh=wait_for", json=events,
                           headers=ADMIN)
    assert response.status_code == 200, response.json
    assert response.json["created"] == 2

    hits = es.search(index=f"{index_prefix}-events-*", query={"match_all": {}},
                     docvalue_fields=[LINE_BYTES])["hits"]["hits"]
    by_id = {hit["_source"]["id"]: hit for hit in hits}
    assert all(LINE_BYTES not in hit["_source"] for hit in hits)
    assert "fields" not in by_id["in-old"]  # no line_bytes in the older index
    assert by_id["in-new"]["fields"][LINE_BYTES][0] > 50

    # Line filters find the event of the new index only: the older one has no line_text.
    red = es.search(index=f"{index_prefix}-events-*", query={"term": {LINE_TEXT: "red"}})
    assert [hit["_source"]["id"] for hit in red["hits"]["hits"]] == ["in-new"]
