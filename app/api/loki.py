"""The Loki-compatible read API (``/loki/api/v1``, DESIGN §12) for Grafana and logcli.

Requests and answers follow Loki's HTTP API (grafana/loki docs "Loki HTTP API";
pkg/loghttp): ``{"status": "success", "data": ...}``, with ``resultType``
``streams``, ``matrix``, ``vector`` or ``scalar`` for queries. Errors are
``{"status": "error", "errorType": ..., "error": message, "message": message}``
(Grafana's Loki data source shows ``message``, pkg/tsdb/loki/api.go).

Auth: an API key as ``Authorization: Bearer <key>`` or as the password of HTTP
basic auth (the user name is ignored), as Grafana's data source settings and
logcli's ``--password`` send it. The namespace is ``X-Scope-OrgID`` or, when
that header is absent, the key's only namespace.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_sock import Sock
from werkzeug.exceptions import HTTPException

from app.access.auth import require
from app.api import loki_params as params
from app.api import loki_results as results
from app.api import loki_tail
from app.api.namespaces import checked_namespace
from app.audit.notes import note
from app.engine.extension import current_engine
from app.engine.loki_metrics import evaluation
from app.engine.loki_reader import LINE_FIELD, LokiReader, ReadStats, volume_plan
from app.errors import AuditlogError, InvalidInput, retry_after_headers, status_of
from app.model.fields import REGISTRY
from query_language import (
    LiteralValue,
    LogSelection,
    MetricPlan,
    QueryError,
    compile_logql,
    label_field,
    label_name,
    parse_logql,
)

bp = Blueprint("loki", __name__, url_prefix="/loki/api/v1")
sock = Sock()  # WebSocket routes (flask-sock over simple-websocket; gunicorn's gthread workers)

BUILD_VERSION = "3.0.0"  # the Loki API level these endpoints follow
_ERROR_TYPES = {400: "bad_data", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "bad_data", 429: "too_many_requests", 503: "unavailable", 504: "timeout"}


def _loki_error(status: int, code: str, message: str) -> ResponseReturnValue:
    # Loki's fields, plus the service's error ``code`` (the OpenAPI Error schema's).
    body = {"status": "error", "errorType": _ERROR_TYPES.get(status, "internal"),
            "error": message, "message": message, "code": code}
    return jsonify(body), status


@bp.errorhandler(AuditlogError)
def _service_error(exc: AuditlogError) -> ResponseReturnValue:
    body, status = _loki_error(status_of(exc), str(exc.body().get("code", "error")),
                               exc.message)
    return body, status, retry_after_headers(exc)


@bp.errorhandler(QueryError)
def _query_error(exc: QueryError) -> ResponseReturnValue:
    return _loki_error(400, "invalid_query", f"parse error: {exc}")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return _loki_error(exc.code or 500, "http_error", exc.description or exc.name)


def _args() -> Mapping[str, str]:
    return request.values


def _namespace() -> str:
    """The namespace of the request: X-Scope-OrgID, or the key's only one. Raises 400/401/403."""
    principal = require("reader", None)
    header = request.headers.get("X-Scope-OrgID", "").strip()
    if header:
        if "|" in header:
            raise InvalidInput("multi-tenant queries (X-Scope-OrgID with '|') are not "
                               "supported; name one namespace", field="X-Scope-OrgID")
        namespace = checked_namespace(header)
    elif principal.namespaces is not None and len(principal.namespaces) == 1:
        (namespace,) = principal.namespaces
    else:
        raise InvalidInput("this key may read several namespaces: send the X-Scope-OrgID "
                           "header with the one to read", field="X-Scope-OrgID")
    require("reader", namespace)
    return namespace


def _reader() -> LokiReader:
    return LokiReader(current_engine())


def _compiled(text: str) -> LogSelection | MetricPlan | LiteralValue:
    if not text.strip():
        raise InvalidInput("query: a LogQL query is required", field="query")
    return compile_logql(parse_logql(text), REGISTRY, line_field=LINE_FIELD)


def _selector_query(text: str) -> dict[str, Any]:
    """A stream selector (``match[]``, label values' ``query``) compiled to a query."""
    compiled = _compiled(text)
    if not isinstance(compiled, LogSelection):
        raise InvalidInput(f"{text!r} is not a stream selector", field="match[]")
    return compiled.query


def _success(data: Any) -> ResponseReturnValue:
    return jsonify({"status": "success", "data": data})


@bp.route("/query_range", methods=["GET", "POST"])
def query_range() -> ResponseReturnValue:
    """A LogQL query over a time range: log lines (streams) or samples (matrix).
    ---
    get:
      summary: Loki query_range (Grafana's Loki data source, logcli query)
      tags: [loki]
      parameters:
        - {in: query, name: query, required: true, schema: {type: string}}
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
        - {in: query, name: since, schema: {type: string}}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 5000}}
        - {in: query, name: direction, schema: {type: string, enum: [forward, backward]}}
        - {in: query, name: step, schema: {type: string}}
        - {in: query, name: interval, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": {"resultType", "result", "stats"}}'}
    post:
      summary: Loki query_range with form parameters
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    text = args.get("query", "")
    compiled = _compiled(text)
    span = params.window(args)
    stats = ReadStats()
    if isinstance(compiled, LogSelection):
        limit, forward = params.limit(args), params.forward(args)
        interval = params.interval_ns(args)
        lines = _reader().lines(namespace, compiled.query, span.start_ns, span.end_ns, limit,
                                forward, stats)
        note("audit.search", namespace, query=text, count=len(lines), surface="loki")
        result = results.streams(lines, interval, forward)
        return _success({"resultType": "streams", "result": result,
                         "stats": stats.as_loki(len(lines))})
    when = evaluation(span.start_ns, span.end_ns, params.step_ms(args, span))
    if isinstance(compiled, LiteralValue):
        literal = results.literal(compiled, when, instant=False)
        return _success({**literal, "stats": stats.as_loki(0)})
    series = _reader().samples(namespace, compiled, when)
    note("audit.aggregate", namespace, query=text, count=len(series), surface="loki")
    return _success({"resultType": "matrix", "result": results.matrix(series, when),
                     "stats": stats.as_loki(len(series))})


@bp.route("/query", methods=["GET", "POST"])
def query() -> ResponseReturnValue:
    """A LogQL metric query at one instant (``time``, default now): a vector.
    ---
    get:
      summary: Loki instant query (Grafana's data source test sends vector(1)+vector(1))
      tags: [loki]
      parameters:
        - {in: query, name: query, required: true, schema: {type: string}}
        - {in: query, name: time, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": {"resultType": "vector", ...}}'}
    post:
      summary: Loki instant query with form parameters
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    text = args.get("query", "")
    compiled = _compiled(text)
    at = params.timestamp_ns(args["time"], "time") if args.get("time") else time.time_ns()
    when = evaluation(at, at, 1000)
    stats = ReadStats()
    if isinstance(compiled, LogSelection):
        raise InvalidInput("log queries are not supported as an instant query type, please "
                           "change your query to a range query type", field="query")
    if isinstance(compiled, LiteralValue):
        literal = results.literal(compiled, when, instant=True)
        return _success({**literal, "stats": stats.as_loki(0)})
    series = _reader().samples(namespace, compiled, when)
    note("audit.aggregate", namespace, query=text, count=len(series), surface="loki")
    result = results.vector(series, when)
    return _success({"resultType": "vector", "result": result,
                     "stats": stats.as_loki(len(result))})


@bp.route("/labels", methods=["GET", "POST"])
def labels() -> ResponseReturnValue:
    """The label names of the namespace's events in the window (default the last hour).
    ---
    get:
      summary: Loki label names
      tags: [loki]
      parameters:
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
        - {in: query, name: query, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": ["action", ...]}'}
    post:
      summary: Loki label names (form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    span = params.window(args)
    query = _selector_query(args["query"]) if args.get("query") else None
    fields = _reader().label_fields(namespace, span.start_ns, span.end_ns, query)
    return _success(sorted(label_name(f) for f in fields))


@bp.route("/label", methods=["GET", "POST"])
def label() -> ResponseReturnValue:
    """The label names: Loki's older path of ``/labels``.
    ---
    get:
      summary: Loki label names (older path)
      tags: [loki]
      responses:
        200: {description: '{"status": "success", "data": ["action", ...]}'}
    post:
      summary: Loki label names (older path, form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    return labels()


@bp.route("/label/<name>/values", methods=["GET", "POST"])
def label_values(name: str) -> ResponseReturnValue:
    """The values of one label in the window; an unknown label has none.
    ---
    get:
      summary: Loki label values
      tags: [loki]
      parameters:
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
        - {in: query, name: query, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": ["login", ...]}'}
    post:
      summary: Loki label values (form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    span = params.window(args)
    field = label_field(name, REGISTRY)
    info = REGISTRY.lookup(field) if field is not None else None
    if info is None or info.exact_field is None or not info.aggregatable:
        return _success([])
    query = _selector_query(args["query"]) if args.get("query") else None
    values = _reader().label_values(namespace, info.exact_field, span.start_ns, span.end_ns,
                                    query)
    return _success(values)


@bp.route("/series", methods=["GET", "POST"])
def series() -> ResponseReturnValue:
    """The distinct label sets of the events the ``match[]`` selectors select.
    ---
    get:
      summary: Loki series
      tags: [loki]
      parameters:
        - {in: query, name: "match[]", schema: {type: array, items: {type: string}}}
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": [{"action": "login", ...}]}'}
    post:
      summary: Loki series (form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = request.values
    # Grafana sends match[]; logcli (pkg/logcli/client/client.go) sends match.
    selectors = [*args.getlist("match[]"), *args.getlist("match")]
    queries = [_selector_query(text) for text in selectors if text.strip()]
    span = params.window(args)
    found = _reader().series(namespace, queries, span.start_ns, span.end_ns)
    return _success(found)


@bp.route("/index/stats", methods=["GET", "POST"])
def index_stats() -> ResponseReturnValue:
    """How many streams, entries and bytes a selector covers in the window.
    ---
    get:
      summary: Loki index stats
      tags: [loki]
      parameters:
        - {in: query, name: query, schema: {type: string}}
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
      responses:
        200: {description: '{"streams": n, "chunks": n, "entries": n, "bytes": n}'}
    post:
      summary: Loki index stats (form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    span = params.window(args)
    query = _selector_query(args["query"]) if args.get("query") else {}
    return jsonify(_reader().index_stats(namespace, query, span.start_ns, span.end_ns))


@bp.route("/index/volume_range", methods=["GET", "POST"])
def volume_range() -> ResponseReturnValue:
    """Bytes per step, grouped by ``targetLabels`` or the selector's labels: a matrix.
    ---
    get:
      summary: Loki log volume over time (Grafana's log volume histogram)
      tags: [loki]
      parameters:
        - {in: query, name: query, schema: {type: string}}
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
        - {in: query, name: step, schema: {type: string}}
        - {in: query, name: targetLabels, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": {"resultType": "matrix", ...}}'}
    post:
      summary: Loki log volume over time (form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    span = params.window(args)
    step = params.step_ms(args, span)
    plan = volume_plan(args.get("query", ""), args.get("targetLabels", ""), step)
    when = evaluation(span.start_ns, span.end_ns, step)
    found = _reader().samples(namespace, plan, when)
    return _success({"resultType": "matrix", "result": results.matrix(found, when),
                     "stats": ReadStats().as_loki(len(found))})


@bp.route("/index/volume", methods=["GET", "POST"])
def volume() -> ResponseReturnValue:
    """Bytes in the window, grouped by ``targetLabels`` or the selector's labels: a vector.
    ---
    get:
      summary: Loki log volume
      tags: [loki]
      parameters:
        - {in: query, name: query, schema: {type: string}}
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: end, schema: {type: string}}
      responses:
        200: {description: '{"status": "success", "data": {"resultType": "vector", ...}}'}
    post:
      summary: Loki log volume (form parameters)
      tags: [loki]
      responses:
        200: {description: the same as GET}
    """
    namespace = _namespace()
    args = _args()
    span = params.window(args)
    range_ms = max((span.end_ns - span.start_ns) // params.NS_PER_MS, 1)
    plan = volume_plan(args.get("query", ""), args.get("targetLabels", ""), range_ms)
    when = evaluation(span.end_ns, span.end_ns, 1000)
    found = _reader().samples(namespace, plan, when)
    result = results.vector(found, when)
    return _success({"resultType": "vector", "result": result,
                     "stats": ReadStats().as_loki(len(result))})


@bp.get("/status/buildinfo")
def buildinfo() -> ResponseReturnValue:
    """The Loki API level served (Grafana reads it to pick features).
    ---
    get:
      summary: Loki build information
      tags: [loki]
      responses:
        200: {description: '{"version": "3.0.0", ...}'}
    """
    require("reader", None)
    return jsonify({"version": BUILD_VERSION, "revision": "", "branch": "", "buildUser": "",
                    "buildDate": "", "goVersion": "", "application": "auditlog"})


@bp.before_request
def _prepare_tail() -> None:
    """A tail is checked (and takes its stream slot) before the WebSocket handshake."""
    if request.endpoint != "loki.tail":
        return
    namespace = _namespace()
    text = request.args.get("query", "")
    query = _selector_query(text) if text.strip() else None
    if query is None:
        raise InvalidInput("query: a LogQL log query is required", field="query")
    job = loki_tail.tail_request(namespace, require("reader", namespace).key_id, text, query,
                                 request.args)
    loki_tail.hold_slot(job)
    g.loki_tail = job


@bp.teardown_request
def _end_tail(_exc: BaseException | None) -> None:
    job = g.pop("loki_tail", None)
    if job is not None:
        loki_tail.release_slot(job)


@sock.route("/tail", bp=bp)
def tail(ws: Any) -> None:
    """Live tail: new lines as WebSocket text frames, each a Loki TailResponse.
    ---
    get:
      summary: Loki live tail (WebSocket; logcli query --tail, Grafana live)
      tags: [loki]
      parameters:
        - {in: query, name: query, required: true, schema: {type: string}}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 5000}}
        - {in: query, name: start, schema: {type: string}}
        - {in: query, name: delay_for, schema: {type: integer, minimum: 0, maximum: 5}}
      responses:
        101: {description: 'WebSocket; frames {"streams": [{"stream", "values"}]}'}
    """
    loki_tail.run_tail(ws, g.loki_tail)
