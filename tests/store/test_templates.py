"""Index templates applied to a real node, indices made by an older template included."""

from __future__ import annotations

import copy

from elasticsearch import Elasticsearch

from app.store.templates import apply_templates, load_templates
from tests.api.api_keys import ADMIN
from tests.conftest import make_test_app

NEW_FIELDS = ("project_name", "data_source_name")


def test_fields_added_since_an_index_was_made_reach_it(es: Elasticsearch, es_url: str,
                                                       index_prefix: str) -> None:
    # An index of January 2019 as an older template made it: without the newer fields.
    template = load_templates(index_prefix)[f"{index_prefix}-events"]["template"]
    mappings = copy.deepcopy(template["mappings"])
    for name in NEW_FIELDS:
        del mappings["properties"][name]
    del mappings["properties"]["actor"]["properties"]["email"]
    index = f"{index_prefix}-events-2019.01"
    es.indices.create(index=index, mappings=mappings, settings=template["settings"])

    apply_templates(es, index_prefix)

    properties = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert all(properties[name] == {"type": "keyword"} for name in NEW_FIELDS)
    assert properties["actor"]["properties"]["email"] == {"type": "keyword"}
    event = {"time": "2019-01-15T00:00:00Z", "action": "query", "project_name": "Research",
             "data_source_name": "People", "actor": {"id": "2", "email": "k@example.com"}}
    client = make_test_app(es_url, index_prefix).test_client()
    response = client.post("/api/v1/namespaces/old/events", json=event, headers=ADMIN)
    assert response.status_code == 200, response.json
    assert response.json["created"] == 1
