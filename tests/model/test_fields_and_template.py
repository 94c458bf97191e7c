"""The field registry agrees with the index template (no Elasticsearch)."""

from __future__ import annotations

from app.model.event import STAMP
from app.model.fields import LINE_BYTES, LINE_TEXT, REGISTRY
from app.store.templates import load_templates

MAPPING_TYPES = {"keyword": "keyword", "text": "text", "text_keyword": "text",
                 "date": "date_nanos", "ip": "ip"}


def _mapping_of(properties: dict, dotted: str) -> dict:
    head, _, rest = dotted.partition(".")
    node = properties[head]
    return _mapping_of(node["properties"], rest) if rest else node


def test_every_registry_field_is_mapped_with_its_type() -> None:
    properties = load_templates("audit")["audit-events"]["template"]["mappings"]["properties"]
    for field in REGISTRY:
        mapping = _mapping_of(properties, field.name)
        if field.kind == "object":
            assert mapping == {"type": "object", "enabled": False}
        else:
            assert mapping["type"] == MAPPING_TYPES[field.kind], field.name
        if field.kind == "text_keyword":
            assert mapping["fields"]["keyword"]["type"] == "keyword"


def test_template_aliases_point_at_registry_fields() -> None:
    properties = load_templates("audit")["audit-events"]["template"]["mappings"]["properties"]
    for name, mapping in properties.items():
        if mapping.get("type") == "alias":
            field = REGISTRY.lookup(name)
            assert field is not None and field.name == mapping["path"], name


def test_prefix_renames_templates() -> None:
    templates = load_templates("acme")
    assert templates["acme-events"]["index_patterns"] == ["acme-events-*"]


def test_lookup_aliases_and_labels() -> None:
    assert REGISTRY.lookup("action_key").name == "action"
    assert REGISTRY.lookup("user_id").name == "actor.id"
    assert REGISTRY.lookup("labels.team").type == "keyword"
    assert REGISTRY.lookup("labels.") is None
    assert REGISTRY.lookup("nope") is None
    assert REGISTRY.lookup("query").exact_field == "query.keyword"
    assert REGISTRY.lookup("message").regex_field is None
    assert REGISTRY.for_surface("wasabi")["action_key"].name == "action"


def test_every_indexed_value_is_copied_into_the_line_field() -> None:
    mappings = load_templates("audit")["audit-events"]["template"]["mappings"]
    properties = mappings["properties"]
    for field in REGISTRY:
        mapping = _mapping_of(properties, field.name)
        # ingested_at is the service's stamp, not a value of the event the client sent.
        if field.kind == "object" or field.name == STAMP:
            assert "copy_to" not in mapping
        else:
            assert mapping["copy_to"] == LINE_TEXT, field.name
    labels = mappings["dynamic_templates"][0]["labels_as_keywords"]["mapping"]
    assert labels["copy_to"] == LINE_TEXT
    assert properties[LINE_TEXT] == {"type": "keyword", "ignore_above": 8191}
    assert properties[LINE_BYTES] == {"type": "long"}
    assert mappings["_source"]["excludes"] == [LINE_BYTES]
    assert REGISTRY.lookup(LINE_TEXT) is None and REGISTRY.lookup(LINE_BYTES) is None


def test_stream_labels_are_keyword_and_ip_fields_but_the_id() -> None:
    names = {f.name for f in REGISTRY.stream_labels()}
    assert {"namespace", "action", "actor.id", "source_ip", "api_key_id"} <= names
    assert not names & {"id", "time", "message", "query", "error", "context"}
