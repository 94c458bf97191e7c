"""Property-based run of schemathesis against the generated /openapi.json (bounded).

Every documented operation gets a few generated requests with the admin key;
no answer may be a 5xx, have an undeclared status or content type, or break
the document's own response schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN_KEY, make_test_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(es_url: str, index_prefix: str) -> Flask:
    app = make_test_app(es_url, index_prefix)
    client = app.test_client()
    events = [{"id": f"s{n}", "time": 1_700_000_000 + n, "action": "login",
               "actor": {"id": "u1"}, "labels": {"env": "prod"}} for n in range(20)]
    for namespace in ("a", "0", "A"):
        response = client.post(f"/api/v1/namespaces/{namespace}/events?refresh=wait_for",
                               json=events, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert response.status_code == 200
    return app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Flask):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case) -> None:
    if case.path.endswith("/events/follow"):
        # A generated long poll would wait up to a minute on an empty feed; the feed's
        # waiting is tested in tests/api/test_follow.py.
        if isinstance(case.query, dict) and "wait" in case.query:
            case.query["wait"] = 0
        if isinstance(case.body, dict) and "wait" in case.body:
            case.body["wait"] = 0
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=CHECKS)
