"""The OpenAPI 3 document, generated, and a docs page that needs no internet.

``/openapi.json`` is built by apispec: paths from the YAML section (after
``---``) of each view's docstring (FlaskPlugin), schemas from the marshmallow
classes they name (MarshmallowPlugin). Path parameters, the bearer security
scheme and the error responses every authenticated operation can give (400,
401, 403, 404, 413, 429, 503, 504 with the ``Error`` schema) are added here,
so views declare only what is theirs. ``/docs`` renders the document with
Swagger UI served from the ``swagger-ui-bundle`` package (no CDN), with a plain
HTML list of the operations for readers without JavaScript.
"""

from __future__ import annotations

from html import escape
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.routing import Rule

from app.api import response_schemas
from app.api.schemas import LastTimestamp, TimeValue
from app.model.event import ID_PATTERN, NAMESPACE_PATTERN, KeywordValue, Timestamp

EXTENSION = "auditlog.openapi"
# Routes that serve the document itself, and the console's page and assets, are not part
# of it.
UNDOCUMENTED = frozenset({"static", "openapi.document", "openapi.docs", "openapi.docs_asset",
                          "console.index", "console.static"})
ERROR_STATUSES = ("400", "401", "403", "404", "413", "429", "503", "504")
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "namespace": {"type": "string", "pattern": f"^{NAMESPACE_PATTERN.pattern}$"},
    "event_id": {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
}

bp = Blueprint("openapi", __name__)


def _custom_fields(_converter: Any, field: Any, **_kwargs: Any) -> dict[str, Any]:
    """OpenAPI types of the project's own marshmallow fields."""
    if isinstance(field, TimeValue | LastTimestamp | Timestamp):
        return {"oneOf": [{"type": "string"}, {"type": "number"}]}
    if isinstance(field, KeywordValue):
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    return {}


def _version() -> str:
    try:
        return version("auditlog")
    except PackageNotFoundError:
        return "0"


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    return [{"in": "path", "name": name, "required": True,
             "schema": dict(PATH_PARAMETERS.get(name, {"type": "string"}))}
            for name in sorted(rule.arguments)]


def _ecma_patterns(node: Any) -> None:
    """marshmallow's ``Regexp`` matches from the start (``re.match``) and the project's
    validators end in ``\\Z``; JSON Schema patterns search unanchored in ECMA syntax."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            if pattern.endswith("\\Z"):
                pattern = pattern[:-2] + "$"
            node["pattern"] = pattern if pattern.startswith("^") else f"^{pattern}"
        for value in node.values():
            _ecma_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _ecma_patterns(value)


def _complete(document: dict[str, Any]) -> None:
    """Add the error responses and string status keys to every operation."""
    _ecma_patterns(document)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            public = operation.get("security") == []
            for status in ("404",) if public else ERROR_STATUSES:
                responses.setdefault(status, {"$ref": "#/components/responses/Error"})
            operation["responses"] = responses


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3 document of every documented route of ``app``."""
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title="auditlog", version=_version(), openapi_version="3.0.3",
        plugins=[FlaskPlugin(), marshmallow],
        info={"description": "Audit-log search service over Elasticsearch: a native API and "
                             "the F5, Immuta, Run:ai and Wasabi AiR compatible surfaces."},
        security=[{"bearer": []}],
    )
    marshmallow.converter.add_attribute_function(_custom_fields)  # type: ignore[union-attr]
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "`Authorization: Bearer <key>` (`APIToken <key>`, or the key alone "
                       "with no scheme, is also accepted); in place of the key, a token from "
                       "`POST /bim/apikey/authenticate` or `POST /api/v1/token`"})
    spec.components.schema("Error", schema=response_schemas.ErrorSchema)
    spec.components.response("Error", {
        "description": "error: JSON `{code, message, ...}`",
        "content": {"application/json": {"schema": "Error"}}})
    spec.components.response("ImmutaError", {
        "description": "error in Immuta's style: `{statusCode, error, message}`",
        "content": {"application/json": {"schema": response_schemas.ImmutaErrorSchema}}})
    spec.components.response("RunaiError", {
        "description": "error in Run:ai's style: `{code, message}`",
        "content": {"application/json": {"schema": response_schemas.RunaiErrorSchema}}})
    spec.components.response("ExportStream", {
        "description": "every matching event, streamed",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}}}})
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
            if rule.endpoint in UNDOCUMENTED:
                continue
            view = app.view_functions[rule.endpoint]
            if "---" not in (view.__doc__ or ""):
                continue  # tests/api/test_openapi.py names every such route
            spec.path(view=view, app=app, parameters=_path_parameters(rule))
    document = spec.to_dict()
    _complete(document)
    return document


def document_of(app: Flask) -> dict[str, Any]:
    """The app's document, built once (routes do not change after start)."""
    cached: dict[str, Any] | None = app.extensions.get(EXTENSION)
    if cached is None:
        cached = build_document(app)
        app.extensions[EXTENSION] = cached
    return cached


@bp.get("/openapi.json")
def document() -> Response:
    """The OpenAPI 3 document."""
    return jsonify(document_of(current_app))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>auditlog API</title>
<link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<noscript><h1>auditlog API {version}</h1><p>Machine-readable:
<a href="openapi.json">openapi.json</a></p><table>{rows}</table></noscript>
<script src="docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>
"""


@bp.get("/docs")
def docs() -> Response:
    """Swagger UI over /openapi.json (assets from the swagger-ui-bundle package)."""
    doc = document_of(current_app)
    rows = "".join(
        f"<tr><td>{escape(method.upper())}</td><td><code>{escape(path)}</code></td>"
        f"<td>{escape(op.get('summary', ''))}</td></tr>"
        for path, operations in doc["paths"].items()
        for method, op in operations.items() if isinstance(op, dict) and method != "parameters"
    )
    page = _PAGE.format(version=escape(doc["info"]["version"]), rows=rows)
    return Response(page, mimetype="text/html")


@bp.get("/docs/<path:filename>")
def docs_asset(filename: str) -> Response:
    """A static file of Swagger UI."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


def init_app(app: Flask) -> None:
    """Serve /openapi.json and /docs."""
    app.register_blueprint(bp)
