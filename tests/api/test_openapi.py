"""The OpenAPI document: generated, complete (every route), valid, and rendered at /docs."""

from __future__ import annotations

import re

from flask import Flask

from app.api.openapi import UNDOCUMENTED

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def test_every_route_is_in_the_document(app: Flask, client) -> None:
    document = client.get("/openapi.json").json
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED:
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        operations = document["paths"].get(path, {})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in operations:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, ("routes without an OpenAPI operation (add a YAML section after "
                         "`---` to the view's docstring):\n" + "\n".join(missing))


def test_document_is_valid_openapi_3(client) -> None:
    from openapi_spec_validator import validate

    document = client.get("/openapi.json").json
    assert document["openapi"].startswith("3.")
    validate(document)


def test_operations_declare_errors_with_the_error_schema(client) -> None:
    document = client.get("/openapi.json").json
    search = document["paths"]["/api/v1/namespaces/{namespace}/events/search"]["post"]
    for status in ("400", "401", "403", "429", "503"):
        assert search["responses"][status] == {"$ref": "#/components/responses/Error"}
    assert document["components"]["responses"]["Error"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/Error"}
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_docs_page_serves_swagger_ui_locally(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.data.decode()
    assert "https://" not in html and "http://" not in html  # no CDN
    assert "/api/v1/namespaces/{namespace}/events/export" in html  # the no-JS listing
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js"):
        response = client.get(f"/docs/{asset}")
        assert response.status_code == 200
        assert len(response.data) > 10_000
        response.close()
