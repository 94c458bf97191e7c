"""Surface records and parameter filters, both read from the field registry (no Elasticsearch)."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine.filters import exact_field, filter_query, value_filter
from app.model.fields import IMMUTA, RUNAI, WASABI
from app.model.records import surface_record, surface_value

EVENT = {
    "id": "12", "time": "2022-06-08T11:28:24.131Z", "namespace": "ns", "action": "Create",
    "outcome": "failure", "tenant_id": "1001", "version": "1",
    "actor": {"id": "96a4", "name": "test@run.ai", "type": "User"},
    "target": {"kind": "Department", "id": "51", "name": "MyDepartment123"},
    "labels": {"team": "x"}, "context": {"user_agent": "curl"},
}


@pytest.mark.parametrize(("surface", "expected"), [
    (RUNAI, {"id": 12, "happenedAt": "2022-06-08T11:28:24.131Z", "action": "Create",
             "sourceId": "96a4", "sourceName": "test@run.ai", "sourceType": "User",
             "entityType": "Department", "entityId": "51", "entityName": "MyDepartment123",
             "tenantId": 1001, "version": "1", "context": {"user_agent": "curl"},
             "success": False}),
    (WASABI, {"id": "12", "time": "2022-06-08T11:28:24.131Z", "action_key": "Create",
              "user_id": "96a4", "target_kind": "Department", "target_id": "51"}),
    (IMMUTA, {"id": 12, "dateTime": "2022-06-08T11:28:24.131Z", "action": "Create",
              "outcome": "failure", "success": False, "profileId": "96a4",
              "userId": "test@run.ai", "extra": {"user_agent": "curl"}}),
])
def test_surface_record(surface: str, expected: dict[str, Any]) -> None:
    assert surface_record(EVENT, surface) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0), ("1001", 1001), ("999999999999999999", 999_999_999_999_999_999),
    ("007", "007"), ("-1", "-1"), ("1e3", "1e3"), ("1234567890123456789", "1234567890123456789"),
    ("abc", "abc"), ("", ""),
])
def test_numeric_fields_show_decimal_strings_as_integers(value: str, expected: Any) -> None:
    assert surface_value(RUNAI, "tenant_id", value) == expected
    assert surface_value(WASABI, "id", value) == value  # Wasabi's ids are strings


@pytest.mark.parametrize(("name", "field"), [
    ("dataSourceId", "data_source_id"), ("profileId", "actor.id"), ("source_type", "actor.type"),
    ("entity_id", "target.id"), ("action_key", "action"), ("ctime", "time"),
    ("query", "query.keyword"), ("blobId", "blob_id"),
])
def test_parameter_names_resolve_through_the_registry(name: str, field: str) -> None:
    assert exact_field(name) == field


def test_value_filters() -> None:
    assert value_filter("user_id", ["u1"]) == {"term": {"actor.id": "u1"}}
    assert value_filter("user_id", ["u1", "u2", "u1"]) == {"terms": {"actor.id": ["u1", "u2"]}}
    assert filter_query({"user_id": None, "recordType": []}) == {}
    assert filter_query({"user_id": "u1", "recordType": ["a", "b"]}) == {"bool": {"filter": [
        {"term": {"actor.id": "u1"}}, {"terms": {"record_type": ["a", "b"]}}]}}


def test_unknown_or_unfilterable_names_are_programming_errors() -> None:
    with pytest.raises(KeyError):
        exact_field("no_such_field")
    with pytest.raises(KeyError):
        exact_field("context")
