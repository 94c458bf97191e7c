"""Immuta audit requests as its clients send them, and Immuta's record fields.

Immuta's own examples send the API key bare (``Authorization: <key>``) with
``Content-Type: application/json`` on a GET; a client that filters by every
record type repeats ``recordType`` once per type (70 and more) in one URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.api_keys import ADMIN, create_key
from tests.api.test_search import ingest

NS = "immuta-clients"
# Immuta's legacy record types (the values of `recordType`).
RECORD_TYPES = (
    "acknowledgePurposes", "addToProject", "apiKey", "authenticate", "catalogUpdate",
    "configurationUpdate", "collectionCreated", "collectionDataSourceAdded",
    "collectionDataSourceRemoved", "collectionDataSourceUpdated", "collectionDeleted",
    "collectionPermissionGranted", "collectionPermissionRevoked", "collectionUpdated",
    "dataSourceCreate", "dataSourceDelete", "dataSourceSave", "dataSourceUpdate",
    "dataSourceTest", "dataSourceExpired", "dictionaryCreate", "dictionaryDelete",
    "dictionaryUpdate", "externalUserIdChanged", "globalPolicyApplied",
    "globalPolicyApprovalRescinded", "globalPolicyApproved", "globalPolicyChangeRequested",
    "globalPolicyConflictResolved", "globalPolicyCreate", "globalPolicyDelete",
    "globalPolicyDisabled", "globalPolicyPromoted", "globalPolicyReview",
    "globalPolicyUpdate", "groupCreate", "groupDelete", "groupMemberAdd", "groupMemberRemove",
    "groupUpdate", "licenseCreate", "licenseDelete", "logout", "nativeQuery",
    "policyAdjustmentCreate", "policyAdjustmentDelete", "policyExemptionCreated",
    "policyHandlerCreate", "policyHandlerDelete", "policyHandlerUpdate", "prestoQuery",
    "projectCreate", "projectDelete", "projectDisabled", "projectPurposeApprove",
    "projectPurposeDeny", "projectUpdate", "purposeCreate", "purposeDelete",
    "purposeUpdate", "removeFromProject", "snowflakeQuery", "databricksQuery", "spark",
    "sqlQuery", "starburstQuery", "subscription", "subscriptionDeleted",
    "subscriptionRequest", "subscriptionUpdated", "tagAdded", "tagCreated", "tagDeleted",
    "tagRemoved", "tagUpdated", "userCreated", "userDeleted", "userUpdated",
    "webhookCreate", "webhookDelete",
)
FULL_EVENT = {
    "id": "29cfa243-5ca9-44a3-8600-35897e13f6fb", "time": "2021-10-13T17:06:13.832Z",
    "action": "query", "outcome": "failure", "error": "insufficient permissions",
    "actor": {"id": "2", "name": "katie@example.com", "email": "katie@example.com"},
    "data_source_id": "212", "data_source_name": "People", "project_id": "7",
    "project_name": "Research", "purpose": "3", "record_type": "auditQuery",
    "blob_id": "b-1",
}
FULL_RECORD = {
    "id": "29cfa243-5ca9-44a3-8600-35897e13f6fb", "dateTime": "2021-10-13T17:06:13.832Z",
    "action": "query", "outcome": "failure", "success": False,
    "failureReason": "insufficient permissions", "profileId": 2,
    "userId": "katie@example.com", "email": "katie@example.com", "projectId": 7,
    "projectName": "Research", "dataSourceId": 212, "dataSourceName": "People",
    "recordType": "auditQuery", "purpose": 3, "purposeIds": [3], "blobId": "b-1",
}
OTHERS = [
    {"id": f"ic-{n:03d}", "time": f"2021-10-14T00:{n // 60:02d}:{n % 60:02d}Z",
     "action": "x", "outcome": ("success", "failure", "unknown")[n % 3],
     "record_type": RECORD_TYPES[n % len(RECORD_TYPES)] if n % 5 else "notListed",
     "actor": {"id": f"user-{n}" if n % 2 else str(n)}, "purpose": "p-x" if n % 2 else str(n)}
    for n in range(120)
]


@pytest.fixture(scope="module")
def key(app: Flask) -> dict[str, str]:
    """Immuta's headers: the key bare, as in Immuta's curl examples."""
    ingest(app.test_client(), ADMIN, NS, [FULL_EVENT, *OTHERS])
    secret = create_key(app, "reader", NS)[0]["secret"]
    return {"Authorization": secret, "Content-Type": "application/json"}


def test_a_record_carries_immutas_fields(client: FlaskClient, key: dict[str, str]) -> None:
    response = client.get("/audit", query_string={"blobId": "b-1"}, headers=key)
    assert response.status_code == 200, response.json
    assert response.json == {"hits": [FULL_RECORD], "count": 1}
    one = client.get(f"/audit/{FULL_EVENT['id']}", headers=key)
    assert one.json == {"hits": [FULL_RECORD], "count": 1}


@pytest.mark.parametrize(("event_id", "expected"), [
    ("ic-000", {"success": True, "profileId": 0, "purposeIds": [0]}),
    ("ic-001", {"success": False, "profileId": "user-1", "purposeIds": ["p-x"]}),
    ("ic-002", {"profileId": 2, "purposeIds": [2]}),  # outcome unknown: no success
])
def test_success_profile_and_purposes_typed_as_immuta_does(
        client: FlaskClient, key: dict[str, str], event_id: str,
        expected: dict[str, Any]) -> None:
    record = client.get(f"/audit/{event_id}", headers=key).json["hits"][0]
    assert {name: record.get(name) for name in ("success", "profileId", "purposeIds")
            if name in record} == expected
    assert "failureReason" not in record and "email" not in record


def test_record_type_repeated_for_every_type(client: FlaskClient, key: dict[str, str]) -> None:
    query = [("recordType", record_type) for record_type in RECORD_TYPES]
    assert len(query) >= 70
    response = client.get("/audit", query_string=[*query, ("size", "1000")], headers=key)
    assert response.status_code == 200, response.json
    expected = sorted((e["id"] for e in OTHERS if e["record_type"] != "notListed"),
                      reverse=True)
    assert [hit["id"] for hit in response.json["hits"]] == expected
    assert response.json["count"] == len(expected)


def test_record_type_repeated_in_brackets(client: FlaskClient, key: dict[str, str]) -> None:
    query = [("recordType[]", record_type) for record_type in RECORD_TYPES[:75]]
    response = client.get("/audit", query_string=[*query, ("size", "1000")], headers=key)
    assert response.status_code == 200, response.json
    chosen = set(RECORD_TYPES[:75])
    assert response.json["count"] == sum(e["record_type"] in chosen for e in OTHERS)


@pytest.mark.parametrize(("field", "value"), [
    ("dataSourceName", "People"), ("projectName", "Research"), ("email", "katie@example.com"),
])
def test_new_record_fields_sort_and_query(client: FlaskClient, key: dict[str, str], field: str,
                                          value: str) -> None:
    hits = client.get("/audit", query_string={"sortField": field, "sortOrder": "asc"},
                      headers=key).json["hits"]
    assert hits[0][field] == value  # the one record with the field, before those without
    found = client.post(f"/api/v1/namespaces/{NS}/events/search", headers=key, json={
        "query": f'{{{field}="{value}"}}', "start_time": "2021-10-01T00:00:00Z",
        "end_time": "2021-10-31T00:00:00Z"})
    assert found.status_code == 200, found.json
    assert [e["id"] for e in found.json["events"]] == [FULL_EVENT["id"]]


@pytest.mark.parametrize("field", ["success", "purposeIds", "failureReason"])
def test_derived_fields_are_not_sort_fields(client: FlaskClient, key: dict[str, str],
                                            field: str) -> None:
    response = client.get("/audit", query_string={"sortField": field}, headers=key)
    assert response.status_code == 400
    assert response.json["field"] == "sortField"
