"""Tenant isolation on a real node (DESIGN §8): nothing a key sends reaches another namespace.

Keys for namespaces A and B, events in both. Every B event carries the marker
``MARK-B`` in its actor, action, target and labels, and no request below
contains that text, so any B event leaking into any answer — events, F5 log
strings, aggregation buckets, exported NDJSON or CSV, compatibility records —
shows up as the marker in the response body. Each trick is one row of a table:
the request, the status it must get, and whether A's own events must be there
(so an empty answer cannot pass for a correct one).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.api_keys import ADMIN, create_key

A, B = "iso-a", "iso-b"
WINDOW = {"start_time": "2024-05-01T09:00:00Z", "end_time": "2024-05-01T12:00:00Z"}
NATIVE = "/api/v1/namespaces"
F5 = "/api/secret_management/namespaces"


def events_of(tenant: str, prefix: str) -> list[dict[str, Any]]:
    marker = f"MARK-{tenant}"
    events = [{
        "id": f"{prefix}-{n}", "time": f"2024-05-01T10:{n:02d}:00Z",
        "action": f"login-{marker}", "actor": {"id": f"{marker}-user"},
        "target": {"kind": "namespace-test", "id": f"{marker}-target"},
        "labels": {"tenant": marker}, "data_source_id": "1", "query": f"SELECT '{marker}'",
    } for n in range(1, 6)]
    # The same id in both namespaces, at the same instant.
    events.append({**events[0], "id": "same-1", "time": "2024-05-01T10:30:00Z"})
    return events


@pytest.fixture(scope="module")
def keys(app: Flask) -> dict[str, dict[str, str]]:
    client = app.test_client()
    for namespace, tenant, prefix in ((A, "A", "aid"), (B, "B", "bid")):
        response = client.post(f"{NATIVE}/{namespace}/events?refresh=wait_for",
                               json=events_of(tenant, prefix), headers=ADMIN)
        assert response.status_code == 200 and response.json["created"] == 6, response.json
    made = {"A": create_key(app, "reader", A, actor_id="MARK-A-user"),
            "B": create_key(app, "reader", B, actor_id="MARK-B-user"),
            "AB": create_key(app, "reader", A, B),
            # A key of A whose actor is B's user: "my queries" must still be A's only.
            "A as B's actor": create_key(app, "reader", A, actor_id="MARK-B-user")}
    return {name: {**headers, "X-Key-Id": created["id"]}
            for name, (created, headers) in made.items()}


@pytest.fixture(scope="module")
def from_b(app: Flask, keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What B's key gets that A's key might replay: a scroll id and sort values."""
    client = app.test_client()
    opened = client.post(f"{NATIVE}/{B}/events/search", headers=keys["B"],
                         json={**WINDOW, "limit": 1, "scroll": True})
    assert opened.status_code == 200, opened.json
    assert opened.json["scroll_id"]
    paged = client.post(f"{NATIVE}/{B}/events/search", headers=keys["B"],
                        json={**WINDOW, "limit": 2, "search_after": True, "sort": "ASCENDING"})
    assert paged.status_code == 200, paged.json
    f5 = client.post(f"{F5}/{B}/voltshare/audit_logs", headers=keys["B"],
                     json={**WINDOW, "limit": 1, "scroll": True})
    assert f5.status_code == 200, f5.json
    return {"scroll_id": opened.json["scroll_id"], "f5_scroll_id": f5.json["scroll_id"],
            "sort_values": paged.json["last_sort_values"]}


def search(namespace: str, /, **body: Any) -> tuple[str, str, dict[str, Any]]:
    return "POST", f"{NATIVE}/{namespace}/events/search", {"json": {**WINDOW, **body}}


def aggregate(namespace: str, /, **body: Any) -> tuple[str, str, dict[str, Any]]:
    return "POST", f"{NATIVE}/{namespace}/events/aggregate", {"json": {**WINDOW, **body}}


def f5_logs(namespace: str, /, **body: Any) -> tuple[str, str, dict[str, Any]]:
    return "POST", f"{F5}/{namespace}/voltshare/audit_logs", {"json": {**WINDOW, **body}}


def get(path: str, **params: Any) -> tuple[str, str, dict[str, Any]]:
    return "GET", path, {"query_string": params}


NAMESPACE_AGGS = {"ns": {"field_aggregation": {"field": "namespace"}},
                  "who": {"field_aggregation": {"field": "actor.id"}},
                  "what": {"field_aggregation": {"field": "action", "topk": 100}},
                  "tenants": {"cardinality_aggregation": {"field": "labels.tenant"}}}

# (case, request, status, A's events expected in the answer)
CASES: list[tuple[str, tuple[str, str, dict[str, Any]], int, bool]] = [
    # The namespace in the path.
    ("search B's path", search(B), 403, False),
    ("aggregate B's path", aggregate(B, aggs=NAMESPACE_AGGS), 403, False),
    ("get B's event by B's path", get(f"{NATIVE}/{B}/events/bid-1"), 403, False),
    ("export B's path", get(f"{NATIVE}/{B}/events/export"), 403, False),
    ("F5 audit_logs B's path", f5_logs(B), 403, False),
    ("F5 aggregation B's path", ("POST", f"{F5}/{B}/voltshare/audit_logs/aggregation",
                                 {"json": {**WINDOW, "aggs": NAMESPACE_AGGS}}), 403, False),
    ("system namespace", search("system"), 403, False),
    # A namespace in the body or the query string.
    ("search with body namespace B", search(A, namespace=B), 400, False),
    ("aggregate with body namespace B", aggregate(A, namespace=B, aggs=NAMESPACE_AGGS), 400,
     False),
    ("F5 with body namespace B", f5_logs(A, namespace=B), 400, False),
    ("export with namespace=B", get(f"{NATIVE}/{A}/events/export", namespace=B), 400, False),
    ("scroll with namespace=B", get(f"{NATIVE}/{A}/events/scroll", namespace=B,
                                    scroll_id="x"), 400, False),
    # Matchers on the namespace.
    ("namespace=B", search(A, query=f'{{namespace="{B}"}}'), 200, False),
    ('namespace=~".*"', search(A, query='{namespace=~".*"}'), 200, True),
    ("namespace=~A|B", search(A, query=f'{{namespace=~"{B}|{A}"}}'), 200, True),
    ("namespace=~(?i)", search(A, query='{namespace=~"(?i)ISO-.*"}'), 200, True),
    ("namespace!=A", search(A, query=f'{{namespace!="{A}"}}'), 200, False),
    ("namespace!~A", search(A, query=f'{{namespace!~"{A}"}}'), 200, False),
    ("namespace=\"\"", search(A, query='{namespace=""}'), 200, False),
    ("labels regex over both", search(A, query='{labels.tenant=~"MARK.*"}'), 200, True),
    ("actor regex over both", search(A, query='{actor.id=~".+", namespace=~".+"}'), 200, True),
    ("F5 namespace regex", f5_logs(A, query='{namespace=~".*"}'), 200, True),
    ("export namespace regex", get(f"{NATIVE}/{A}/events/export", query='{namespace=~".*"}'),
     200, True),
    ("export csv", get(f"{NATIVE}/{A}/events/export", format="csv"), 200, True),
    # Aggregations over fields that differ between tenants.
    ("search aggs", search(A, query='{namespace=~".*"}', aggs=NAMESPACE_AGGS), 200, True),
    ("aggregate endpoint", aggregate(A, query='{namespace=~".*"}', aggs=NAMESPACE_AGGS), 200,
     True),
    ("F5 aggregation", ("POST", f"{F5}/{A}/voltshare/audit_logs/aggregation",
                        {"json": {**WINDOW, "aggs": NAMESPACE_AGGS}}), 200, True),
    # Ids of B's events looked up in A.
    ("B's id via A", get(f"{NATIVE}/{A}/events/bid-1"), 404, False),
    ("shared id via A", get(f"{NATIVE}/{A}/events/same-1"), 200, True),
    ("id matcher for B's id", search(A, query='{id="bid-1"}'), 200, False),
    # Compatibility surface that takes the key's namespace (Wasabi AiR).
    ("Wasabi list", get("/api/data/audit"), 200, True),
    ("Wasabi list namespace=B", get("/api/data/audit", namespace=B), 403, False),
    ("Wasabi B's id", get("/api/data/audit/bid-1"), 404, False),
    ("Wasabi filters", get("/api/data/audit/filters"), 200, True),
    # Immuta and Run:ai, also in the key's namespace.
    ("Immuta list", get("/audit"), 200, True),
    ("Immuta list namespace=B", get("/audit", namespace=B), 403, False),
    ("Immuta B's id", get("/audit/bid-1"), 404, False),
    ("Immuta shared id", get("/audit/same-1"), 200, True),
    ("Immuta my queries", get("/audit/queries/dataSource/1/mine"), 200, True),
    ("Run:ai list", get("/v1/k8s/audit"), 200, True),
    ("Run:ai list namespace=B", get("/v1/k8s/audit", namespace=B), 403, False),
    ("Run:ai download", get("/v1/k8s/audit", download="true"), 200, True),
]


def send(client: FlaskClient, request: tuple[str, str, dict[str, Any]],
         headers: dict[str, str]):
    method, path, kwargs = request
    return client.open(path, method=method, headers=headers, **kwargs)


def assert_no_b(response, expect_a: bool) -> None:
    text = response.get_data(as_text=True)
    assert "MARK-B" not in text, text[:2000]
    if expect_a:
        assert "MARK-A" in text, text[:2000]


@pytest.mark.parametrize(("request_", "status", "expect_a"),
                         [pytest.param(r, s, a, id=name) for name, r, s, a in CASES])
def test_a_key_never_sees_b(client: FlaskClient, keys, request_, status: int,
                            expect_a: bool) -> None:
    response = send(client, request_, keys["A"])
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert_no_b(response, expect_a)


def test_my_queries_of_b_actor_through_a_key(client: FlaskClient, keys) -> None:
    response = client.get("/audit/queries/dataSource/1/mine", headers=keys["A as B's actor"])
    assert response.status_code == 200
    assert response.json == []


def test_b_events_are_there_for_b_and_admin(client: FlaskClient, keys) -> None:
    """The control: the same requests do find B's events with a key that may see them."""
    for headers in (keys["B"], ADMIN):
        response = send(client, search(B, query='{namespace=~".*"}'), headers)
        assert response.status_code == 200
        assert response.json["total_hits"] == 6
        assert "MARK-B" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [f"{NATIVE}/{A}/events/scroll",
                                  f"{F5}/{A}/voltshare/audit_logs/scroll"])
@pytest.mark.parametrize("token", ["scroll_id", "f5_scroll_id"])
def test_b_scroll_id_replayed_by_a(client: FlaskClient, keys, from_b, path: str,
                                   token: str) -> None:
    for method in ("POST", "GET"):
        kwargs = ({"json": {"scroll_id": from_b[token]}} if method == "POST"
                  else {"query_string": {"scroll_id": from_b[token]}})
        response = client.open(path, method=method, headers=keys["A"], **kwargs)
        assert response.status_code == 404, response.json
        assert_no_b(response, expect_a=False)
    # In B's path, A's key is refused before the token is looked at.
    b_path = path.replace(f"/{A}/", f"/{B}/")
    response = client.post(b_path, json={"scroll_id": from_b[token]}, headers=keys["A"])
    assert response.status_code == 403
    assert_no_b(response, expect_a=False)


def test_b_scroll_id_replayed_by_a_key_that_may_read_b(client: FlaskClient, keys,
                                                       from_b) -> None:
    """A scroll id is bound to the key that opened it, not only to the namespace."""
    for namespace in (A, B):
        response = client.post(f"{NATIVE}/{namespace}/events/scroll",
                               json={"scroll_id": from_b["scroll_id"]}, headers=keys["AB"])
        assert response.status_code == 404, response.json


def test_tampered_scroll_id(client: FlaskClient, keys, from_b) -> None:
    token = from_b["scroll_id"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = client.post(f"{NATIVE}/{A}/events/scroll", json={"scroll_id": tampered},
                           headers=keys["A"])
    assert response.status_code in (400, 404)
    assert_no_b(response, expect_a=False)


@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
def test_b_sort_values_continue_in_a_only(client: FlaskClient, keys, from_b,
                                          sort: str) -> None:
    response = send(client, search(A, query='{namespace=~".*"}', search_after=True,
                                   sort_values=from_b["sort_values"], sort=sort), keys["A"])
    assert response.status_code == 200, response.json
    assert all(event["namespace"] == A for event in response.json["events"])
    assert_no_b(response, expect_a=bool(response.json["events"]))


def test_b_sort_values_resume_an_export_in_a_only(client: FlaskClient, keys, from_b) -> None:
    after = from_b["sort_values"]
    response = client.get(f"{NATIVE}/{A}/events/export", headers=keys["A"], query_string={
        "after_time": after["last_timestamp"], "after_id": after["last_doc_id"]})
    assert response.status_code == 200
    assert_no_b(response, expect_a=True)


def test_key_for_both_sees_one_namespace_per_request(client: FlaskClient, keys) -> None:
    response = send(client, search(A, query='{namespace=~".*"}'), keys["AB"])
    assert response.status_code == 200
    assert {event["namespace"] for event in response.json["events"]} == {A}
    assert response.json["total_hits"] == 6


def test_a_key_activity_holds_only_its_own_requests(app: Flask, client: FlaskClient, keys,
                                                    from_b) -> None:
    """Immuta's ``/audit/apikey/activity`` reads namespace ``system``, filtered to the key."""
    from app.audit import notes as self_audit

    assert send(client, search(A), keys["A"]).status_code == 200
    assert self_audit.get_writer(app).flush()
    app.extensions["auditlog.store"].events.refresh()
    response = client.get("/audit/apikey/activity", headers=keys["A"])
    assert response.status_code == 200, response.json
    records = response.json["value"]
    assert records
    key_ids = {record.get("apiKeyId", record.get("api_key_id")) for record in records}
    assert key_ids == {keys["A"]["X-Key-Id"]}, records[:3]


LOKI = "/loki/api/v1"
LOKI_WINDOW = {"start": WINDOW["start_time"], "end": WINDOW["end_time"]}
# The Loki-compatible surface (DESIGN §12): (case, path, params, X-Scope-OrgID, status, A's)
LOKI_CASES: list[tuple[str, str, dict[str, str], str | None, int, bool]] = [
    ("query_range, the key's namespace", f"{LOKI}/query_range", {"query": "{}"}, None, 200,
     True),
    ("query_range org B", f"{LOKI}/query_range", {"query": "{}"}, B, 403, False),
    ("query_range org system", f"{LOKI}/query_range", {"query": "{}"}, "system", 403, False),
    ("query_range org A|B", f"{LOKI}/query_range", {"query": "{}"}, f"{A}|{B}", 400, False),
    ("namespace matcher B", f"{LOKI}/query_range", {"query": f'{{namespace="{B}"}}'}, A, 200,
     False),
    ("namespace regex", f"{LOKI}/query_range", {"query": '{namespace=~".+"}'}, A, 200, True),
    ("line filter on B's marker", f"{LOKI}/query_range", {"query": '{} |~ "MARK.*"'}, A, 200,
     True),
    ("metric by namespace", f"{LOKI}/query_range",
     {"query": "sum by (namespace, actor_id, labels_tenant) (count_over_time({}[1h]))",
      "step": "3600"}, A, 200, True),
    ("instant topk", f"{LOKI}/query", {"query": "topk(5, count_over_time({}[3h]))",
                                       "time": WINDOW["end_time"]}, A, 200, True),
    ("labels", f"{LOKI}/labels", {}, A, 200, False),
    ("label values", f"{LOKI}/label/actor_id/values", {}, A, 200, True),
    ("label values of labels_tenant", f"{LOKI}/label/labels_tenant/values", {}, A, 200, True),
    ("series", f"{LOKI}/series", {"match[]": '{namespace=~".+"}'}, A, 200, True),
    ("series org B", f"{LOKI}/series", {"match[]": "{}"}, B, 403, False),
    ("index stats", f"{LOKI}/index/stats", {"query": "{}"}, A, 200, False),
    ("volume by actor", f"{LOKI}/index/volume_range",
     {"query": "{}", "targetLabels": "actor_id", "step": "3600"}, A, 200, True),
]


@pytest.mark.parametrize(("path", "params", "org", "status", "expect_a"),
                         [pytest.param(p, q, o, s, a, id=name)
                          for name, p, q, o, s, a in LOKI_CASES])
def test_a_key_never_sees_b_through_loki(client: FlaskClient, keys, path: str,
                                         params: dict[str, str], org: str | None, status: int,
                                         expect_a: bool) -> None:
    headers = dict(keys["A"])
    if org is not None:
        headers["X-Scope-OrgID"] = org
    response = client.get(path, query_string={**LOKI_WINDOW, **params}, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert_no_b(response, expect_a)


def test_a_key_of_two_namespaces_names_one_for_loki(client: FlaskClient, keys) -> None:
    response = client.get(f"{LOKI}/query_range", query_string={**LOKI_WINDOW, "query": "{}"},
                          headers=keys["AB"])
    assert response.status_code == 400
    both = client.get(f"{LOKI}/query_range", query_string={**LOKI_WINDOW, "query": "{}"},
                      headers={**keys["AB"], "X-Scope-OrgID": B})
    assert both.status_code == 200 and "MARK-B" in both.get_data(as_text=True)
